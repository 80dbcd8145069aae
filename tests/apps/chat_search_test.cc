// Search's two plans (Chat::SearchPlan) give the same messages in the same order: the index
// first (every match, sorted) and the newest messages first (time windows looked up in the
// index, with its fall-back to the index for what is older). Three members write into two
// channels with a small vocabulary, so words range from common to rare, times tie, and
// deletes and edits change what matches.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>

#include "apps/chat/chat.h"
#include "chat_fixture.h"

namespace topo::apps::chat {
namespace {

using Plan = Chat::SearchPlan;

class ChatSearch : public ChatTeam {
 protected:
  void SetUp() override {
    ChatTeam::SetUp();
    auto general = alice.chat().EnsureGeneral(group);
    ASSERT_TRUE(general.ok()) << general.status().ToString();
    auto other = alice.chat().CreateChannel(group, "other", "");
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    channels = {*general, *other};
    Everyone();
    std::mt19937_64 rng(7);
    const char* words[] = {"alpha", "beta", "gamma", "delta", "omega"};
    Device* writers[] = {&alice, &bob, &carol};
    for (int i = 0; i < 240; ++i) {
      // "alpha" in nearly every message, "omega" in few.
      std::string text;
      for (int w = 0; w < 5; ++w)
        if (rng() % 100 < std::array<uint64_t, 5>{95, 50, 20, 8, 2}[w])
          text += std::string(words[w]) + " ";
      text += "n" + std::to_string(i);
      Device& d = *writers[rng() % 3];
      auto v = d.chat().Write(channels[rng() % 2], Post{text, std::nullopt, {}, {}});
      ASSERT_TRUE(v.ok()) << v.status().ToString();
      posts.push_back({&d, *v});
      if (i % 40 == 39) Everyone();
    }
    // Some deleted, some edited (an edit changes what the message matches).
    for (size_t i = 3; i < posts.size(); i += 17) {
      auto [d, id] = posts[i];
      ASSERT_TRUE(d->chat().Write(Find(*d, id).channel, Delete{id}).ok());
    }
    for (size_t i = 5; i < posts.size(); i += 13) {
      auto [d, id] = posts[i];
      ASSERT_TRUE(d->chat().Write(Find(*d, id).channel, Edit{id, "omega edited"}).ok());
    }
    Everyone();
  }

  static Message Find(Device& d, const codec::VertexId& id) {
    auto m = d.chat().MessageById(id);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : Message{};
  }

  static std::vector<codec::VertexId> Ids(const Result<std::vector<Message>>& r) {
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<codec::VertexId> out;
    if (r.ok())
      for (const auto& m : *r) out.push_back(m.id);
    return out;
  }

  std::vector<codec::ObjectId> channels;
  std::vector<std::pair<Device*, codec::VertexId>> posts;
};

TEST_F(ChatSearch, BothPlansGiveTheSameMessagesInTheSameOrder) {
  Chat reader = bob.chat();
  // Times the messages carry, for since/until bounds that fall between them.
  std::vector<uint64_t> times;
  for (const auto& p : posts) times.push_back(Find(bob, p.second).created_at);
  std::sort(times.begin(), times.end());
  ASSERT_LT(times.front(), times.back()) << "the messages' times must spread for the windows";

  size_t compared = 0, nonempty = 0, partial = 0;
  for (const char* text : {"alpha", "beta", "gamma", "delta", "omega", "alpha beta",
                           "omega edited", "nothing", "n7", "\"alpha\""}) {
    for (size_t limit : {1u, 5u, 20u, 500u}) {
      for (int filter = 0; filter < 5; ++filter) {
        SearchQuery q{text, {}, {}, 0, 0, limit};
        if (filter == 1) q.channel = channels[1];
        if (filter == 2) q.author = carol.user.public_key();
        if (filter == 3) q.since = times[times.size() / 2];
        if (filter == 4) {
          q.since = times[times.size() / 4];
          q.until = times[times.size() * 3 / 4];
          q.channel = channels[0];
        }
        auto index = Ids(reader.Search(group, q, Plan::kIndexFirst));
        auto newest = Ids(reader.Search(group, q, Plan::kNewestFirst));
        auto chosen = Ids(reader.Search(group, q));
        EXPECT_EQ(newest, index) << text << " limit " << limit << " filter " << filter;
        EXPECT_EQ(chosen, index) << text << " limit " << limit << " filter " << filter;
        // kAuto with a threshold this small takes the walk for the commoner words.
        Chat low = bob.chat();
        low.set_search_common_matches(10);
        EXPECT_EQ(Ids(low.Search(group, q)), index) << text << " limit " << limit;
        ++compared;
        nonempty += !index.empty();
        partial += !index.empty() && index.size() == limit && limit < 500;
      }
    }
  }
  // The comparisons were not all of empty answers, and many stopped at their limit (the
  // newest-first walk stopped early).
  EXPECT_GT(nonempty, compared / 2);
  EXPECT_GT(partial, compared / 4);
}

TEST_F(ChatSearch, TheWalkFallsBackToTheIndexForWhatIsOlder) {
  Chat reader = bob.chat();
  // A tiny budget: the walk gives up after its first windows and the index finds the rest.
  reader.set_search_walk_budget(1);
  for (const char* text : {"omega", "delta", "alpha"}) {
    SearchQuery q{text, {}, {}, 0, 0, 50};
    auto index = Ids(reader.Search(group, q, Plan::kIndexFirst));
    EXPECT_EQ(Ids(reader.Search(group, q, Plan::kNewestFirst)), index) << text;
    EXPECT_FALSE(index.empty()) << text;
  }
}

TEST_F(ChatSearch, DeletedMessagesAndOldTextDoNotMatch) {
  Chat reader = carol.chat();
  for (Plan plan : {Plan::kIndexFirst, Plan::kNewestFirst}) {
    auto found = reader.Search(group, SearchQuery{"n3", {}, {}, 0, 0, 10}, plan);
    ASSERT_TRUE(found.ok());
    EXPECT_TRUE(found->empty()) << "message 3 was deleted";
    auto edited = reader.Search(group, SearchQuery{"n5", {}, {}, 0, 0, 10}, plan);
    ASSERT_TRUE(edited.ok());
    EXPECT_TRUE(edited->empty()) << "message 5's text was replaced";
    auto now = reader.Search(group, SearchQuery{"edited", {}, {}, 0, 0, 100}, plan);
    ASSERT_TRUE(now.ok());
    EXPECT_FALSE(now->empty());
    for (const auto& m : *now) EXPECT_EQ(m.text, "omega edited");
  }
}

}  // namespace
}  // namespace topo::apps::chat
