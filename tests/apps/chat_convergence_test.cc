// The chat's projection converges: three members write concurrently (edits, deletes by the
// author and by an admin, edits by someone else, reactions added and removed, renames by
// someone not allowed to), exchange everything, and every replica's tables come out the
// same, also for copies of a device that receive all vertices in reverse or shuffled order
// (content then waits for keys and applies out of causal order). The shown state follows
// the rules in apps/chat/projector.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "apps/chat/chat.h"
#include "apps/chat/projector.h"
#include "object/replica.h"
#include "chat_fixture.h"
#include "testing/temp_dir.h"
#include "util/encoding.h"

namespace topo::apps::chat {
namespace {

class ChatConvergence : public ChatTeam {
 protected:
  void SetUp() override {
    ChatTeam::SetUp();
    auto general = alice.chat().EnsureGeneral(group);
    ASSERT_TRUE(general.ok()) << general.status().ToString();
    channel = *general;
    Everyone();
  }

  codec::VertexId Write(Device& d, const Entry& e) {
    auto v = d.chat().Write(channel, e);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : codec::VertexId{};
  }

  Message Find(Device& d, const codec::VertexId& id) {
    auto m = d.chat().MessageById(id);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : Message{};
  }

  codec::ObjectId channel;
};

TEST_F(ChatConvergence, ConcurrentEditsDeletesAndReactionsConvergeInAnyOrder) {
  auto m1 = Write(alice, Post{"plan v1", std::nullopt, {}, {}});
  auto m2 = Write(alice, Post{"to be removed by an admin", std::nullopt, {}, {}});
  auto m3 = Write(bob, Post{"bob's typo", std::nullopt, {}, {}});
  Everyone();
  // Concurrent: nobody sees the others' writes until the end.
  Write(alice, Edit{m1, "plan v2"});
  Write(alice, Edit{m1, "plan v3"});
  Write(bob, Edit{m1, "bob rewrites alice"});  // not the author: never shown
  Write(alice, Edit{m2, "edited while an admin deletes it"});
  Write(carol, Delete{m2});                // an admin deletes alice's message
  Write(bob, Delete{m3});                  // the author deletes his own
  Write(bob, Delete{m1});                  // neither author nor admin: no effect
  Write(carol, React{m1, "👍", true});
  Write(bob, React{m1, "👍", true});
  Write(bob, React{m1, "👍", false});
  Write(bob, React{m1, "🎉", true});
  Write(bob, Meta{MetaAttr::kName, "bobs-channel"});  // not creator nor admin: ignored
  Write(carol, Meta{MetaAttr::kTopic, "planning"});    // anyone sets the topic
  auto reply = Write(carol, Post{"a reply", m1, {}, {}});
  Everyone();

  std::string want = Dump(*alice);
  EXPECT_EQ(Dump(*bob), want);
  EXPECT_EQ(Dump(*carol), want);
  EXPECT_EQ(*alice->Fingerprint(), *bob->Fingerprint());

  // What is shown.
  Message one = Find(bob, m1);
  EXPECT_EQ(one.text, "plan v3");
  EXPECT_TRUE(one.edited_at.has_value());
  EXPECT_FALSE(one.deleted);
  EXPECT_EQ(one.replies, 1u);
  ASSERT_EQ(one.reactions.size(), 2u);  // 🎉 by bob, 👍 by carol (bob took his back)
  for (const auto& r : one.reactions) EXPECT_EQ(r.users.size(), 1u) << r.emoji;
  Message two = Find(carol, m2);
  EXPECT_TRUE(two.deleted);
  EXPECT_EQ(two.text, "");
  Message three = Find(alice, m3);
  EXPECT_TRUE(three.deleted);
  EXPECT_EQ(Find(alice, reply).thread, std::optional<codec::VertexId>(m1));
  auto ch = alice.chat().ChannelById(channel);
  ASSERT_TRUE(ch.ok());
  EXPECT_EQ(ch->name, "general");
  EXPECT_EQ(ch->topic, "planning");
  // A deleted message's content is gone from the tables: no text, no edits, no search hit.
  EXPECT_EQ(want.find("edited while an admin"), std::string::npos);
  EXPECT_EQ(want.find("bob's typo"), std::string::npos);
  auto found = alice.chat().Search(group, SearchQuery{"typo", {}, {}, 0, 0, 10});
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->empty());
  auto plan = alice.chat().Search(group, SearchQuery{"plan", {}, {}, 0, 0, 10});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->size(), 1u);
  EXPECT_EQ(plan->front().text, "plan v3");

  // Copies of bob's device that get every vertex in other orders end up the same.
  std::vector<Bytes> all = AllVertices(*alice);
  std::mt19937 rng(7);
  for (int order = 0; order < 8; ++order) {
    std::vector<Bytes> raws = all;
    if (order == 0) std::reverse(raws.begin(), raws.end());
    if (order > 0) std::shuffle(raws.begin(), raws.end(), rng);
    if (order == 5) raws.insert(raws.end(), all.begin(), all.end());  // duplicates too
    auto copy = bob.Open();
    ASSERT_NE(copy, nullptr);
    if (order < 6) {
      // One vertex at a time, so each arrives in its own transaction in this order.
      for (auto& raw : raws) ASSERT_TRUE(copy->Ingest({raw}).ok());
    } else {
      // All in one transaction: posts, edits and deletes of the same messages together
      // (the index of what edits and deletes change is written once, at the commit).
      ASSERT_TRUE(copy->Ingest(raws).ok());
    }
    EXPECT_EQ(Dump(*copy), want) << "order " << order;
    // The search index agrees with the messages, whatever came first: rank 1 compares it
    // with the message rows too (the text of each, and how many there are), not only with
    // itself.
    EXPECT_TRUE(copy->database()
                    .Exec("INSERT INTO chat_fts(chat_fts, rank) VALUES('integrity-check', 1)")
                    .ok())
        << "order " << order;
    Chat reader(*copy, bob.user.public_key());
    auto hits = reader.Search(group, SearchQuery{"plan", {}, {}, 0, 0, 10});
    ASSERT_TRUE(hits.ok());
    ASSERT_EQ(hits->size(), 1u) << "order " << order;
    EXPECT_EQ(hits->front().text, "plan v3");
    auto typo = reader.Search(group, SearchQuery{"typo", {}, {}, 0, 0, 10});
    ASSERT_TRUE(typo.ok());
    EXPECT_TRUE(typo->empty()) << "order " << order;
  }
}

TEST_F(ChatConvergence, ANonMemberStoresTheChannelButReadsNothing) {
  Write(alice, Post{"members only", std::nullopt, {}, {}});
  Device outsider{"outsider"};
  Send(dir, *alice, *outsider);
  std::string dump = Dump(*outsider);
  EXPECT_EQ(dump.find("members only"), std::string::npos);
  auto messages = outsider.chat().Messages(channel, 50, std::nullopt);
  ASSERT_TRUE(messages.ok());
  EXPECT_TRUE(messages->empty());
  // The member's replica does read it.
  Send(dir, *alice, *bob);
  auto theirs = bob.chat().Messages(channel, 50, std::nullopt);
  ASSERT_TRUE(theirs.ok());
  ASSERT_EQ(theirs->size(), 1u);
  EXPECT_EQ(theirs->front().text, "members only");
}

TEST_F(ChatConvergence, AnEntryThatDoesNotDecodeIsSkippedEverywhere) {
  // Written through the engine directly, as a buggy or hostile client could.
  auto v = alice->Submit(channel, kEventsField, codec::CrdtOp{codec::LogAppend{Bytes{99, 1, 2}}});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  Write(alice, Post{"after the bad one", std::nullopt, {}, {}});
  Everyone();
  EXPECT_EQ(Dump(*bob), Dump(*alice));
  auto messages = bob.chat().Messages(channel, 50, std::nullopt);
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_EQ(messages->front().text, "after the bad one");
}

TEST(ChatMentions, NamesAndChannelsAreFoundAndTheRestIsText) {
  crypto::PublicKey bob = crypto::SigningKey::Generate().public_key();
  Channel design;
  design.id = crypto::SigningKey::Generate().public_key();
  design.name = "design";
  auto m = ParseMentions("hi @bob, see #design. mail bob@example.com @nobody #nothing",
                         {{bob, "bob"}}, {design});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], (Mention{MentionKind::kUser, bob}));
  EXPECT_EQ(m[1], (Mention{MentionKind::kChannel, design.id}));
}

}  // namespace
}  // namespace topo::apps::chat
