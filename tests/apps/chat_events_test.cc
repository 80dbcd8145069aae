// The chat's event journal (apps/chat/events.h): one event per applied entry, in apply
// order, joined with what is shown now; resuming after a seq; the channel filter; entries
// that change nothing shown are left out; an entry applied late (out of order, or after its
// key) is journaled once; the journal stays out of the converging projection; and a journal
// from before (chat_journal, then chat_events) moves to chat_feed at open.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "apps/chat/chat.h"
#include "apps/chat/events.h"
#include "chat_fixture.h"
#include "apps/chat/projector.h"
#include "object/replica.h"
#include "testing/temp_dir.h"
#include "util/encoding.h"

namespace topo::apps::chat {
namespace {

// The journal's vertex ids, in seq order, straight from the table.
std::vector<codec::VertexId> JournalVertices(object::Replica& r) {
  std::vector<codec::VertexId> out;
  auto& st = r.database().Prepare("SELECT vid FROM chat_feed ORDER BY seq");
  for (;;) {
    auto row = st.Step();
    EXPECT_TRUE(row.ok());
    if (!row.ok() || !*row) break;
    auto v = st.Fixed<32>(0);
    EXPECT_TRUE(v.ok());
    if (v.ok()) out.push_back(*v);
  }
  st.Reset();
  return out;
}

// "kind" or "kind:detail" per event, for compact comparisons.
std::vector<std::string> Kinds(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    std::string s(EventKindName(e.kind));
    if (e.kind == EventKind::kChannel) s += ":" + std::string(ChannelChangeName(e.change));
    if (e.kind == EventKind::kReaction) s += std::string(":") + (e.added ? "+" : "-") + e.emoji;
    if (e.kind == EventKind::kMember) s += e.joined ? ":joined" : ":left";
    out.push_back(s);
  }
  return out;
}

class ChatEvents : public ::testing::Test {
 protected:
  void SetUp() override {
    auto g = alice->CreateGroup(alice.cert, /*history_visible=*/true);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    group = *g;
    object::InviteOptions o;
    o.role = codec::Role::kMember;
    auto link = alice->Invite(group, o);
    ASSERT_TRUE(link.ok()) << link.status().ToString();
    Send(dir, *alice, *bob);
    ASSERT_TRUE(bob->AcceptInvite(*link, bob.cert).ok());
    Send(dir, *bob, *alice);
    ASSERT_TRUE(alice->HealAllGroups().ok());
    Send(dir, *alice, *bob);
    auto general = alice.chat().EnsureGeneral(group);
    ASSERT_TRUE(general.ok()) << general.status().ToString();
    channel = *general;
  }

  codec::VertexId Write(Device& d, const Entry& e, const codec::ObjectId* on = nullptr) {
    auto v = d.chat().Write(on ? *on : channel, e);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : codec::VertexId{};
  }

  EventPage Read(Device& d, int64_t after, size_t limit = 100,
                 std::optional<codec::ObjectId> only = std::nullopt) {
    Chat chat = d.chat();
    EventQuery q;
    q.after = after;
    q.workspace = group;
    q.channel = only;
    q.limit = limit;
    auto page = ReadEvents(*d, chat, q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? *page : EventPage{};
  }

  TempDir dir;
  Device alice{"alice"}, bob{"bob"};
  codec::ObjectId group, channel;
};

TEST_F(ChatEvents, EachAppliedEntryIsOneEventJoinedWithWhatIsShownNow) {
  auto m1 = Write(alice, Post{"hello", std::nullopt, {}, {}});
  Write(alice, Edit{m1, "hello, edited"});
  Write(alice, React{m1, "👍", true});
  auto m2 = Write(alice, Post{"to be deleted", std::nullopt, {}, {}});
  Write(alice, Delete{m2});
  Write(alice, Meta{MetaAttr::kTopic, "plans"});
  Write(alice, Member{alice.user.public_key(), false});

  EventPage page = Read(alice, 0);
  EXPECT_EQ(Kinds(page.events),
            (std::vector<std::string>{"channel:created", "channel:name", "channel:topic",
                                      "member:joined", "message", "edit", "reaction:+👍", "message",
                                      "delete", "channel:topic", "member:left"}));
  for (size_t i = 1; i < page.events.size(); ++i)
    EXPECT_LT(page.events[i - 1].seq, page.events[i].seq) << "at " << i;
  for (const auto& e : page.events) {
    EXPECT_EQ(e.channel, channel);
    EXPECT_EQ(e.channel_name, "general");
    ASSERT_TRUE(e.author.has_value());
    EXPECT_EQ(*e.author, alice.user.public_key());
  }
  // The message and its edit show the text as it is now; the deleted one shows none.
  ASSERT_TRUE(page.events[4].message.has_value());
  EXPECT_EQ(page.events[4].message->id, m1);
  EXPECT_EQ(page.events[4].message->text, "hello, edited");
  EXPECT_EQ(page.events[5].message->text, "hello, edited");
  EXPECT_EQ(page.events[6].emoji, "👍");
  ASSERT_TRUE(page.events[7].message.has_value());
  EXPECT_TRUE(page.events[7].message->deleted);
  EXPECT_EQ(page.events[7].message->text, "");
  EXPECT_EQ(page.events[9].value, "plans");
  ASSERT_TRUE(page.events[10].member.has_value());
  EXPECT_EQ(*page.events[10].member, alice.user.public_key());
  auto end = JournalEnd(*alice);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(page.last, *end);
  EXPECT_EQ(page.last, page.events.back().seq);

  // Nothing new: an empty page that stays where it was.
  EventPage again = Read(alice, page.last);
  EXPECT_TRUE(again.events.empty());
  EXPECT_EQ(again.last, page.last);
}

TEST_F(ChatEvents, ResumingAfterASeqGivesEveryEventOnce) {
  for (int i = 0; i < 7; ++i) Write(alice, Post{"m" + std::to_string(i), std::nullopt, {}, {}});
  std::vector<int64_t> all;
  for (const auto& e : Read(alice, 0).events) all.push_back(e.seq);
  ASSERT_EQ(all.size(), 11u);  // 4 from the channel's creation, 7 messages

  std::vector<int64_t> paged;
  int64_t after = 0;
  for (int pages = 0; pages < 20; ++pages) {
    EventPage p = Read(alice, after, /*limit=*/3);
    for (const auto& e : p.events) paged.push_back(e.seq);
    if (p.events.empty()) break;
    EXPECT_GT(p.last, after);
    after = p.last;
  }
  EXPECT_EQ(paged, all);
  // From the middle: exactly the later ones.
  EventPage tail = Read(alice, all[5]);
  ASSERT_EQ(tail.events.size(), 5u);
  EXPECT_EQ(tail.events.front().seq, all[6]);
  EXPECT_EQ(tail.events.front().message->text, "m2");
}

TEST_F(ChatEvents, TheChannelFilterKeepsOneChannelAndTheCursorStillMoves) {
  auto design = alice.chat().CreateChannel(group, "design", "mockups");
  ASSERT_TRUE(design.ok()) << design.status().ToString();
  Write(alice, Post{"in design", std::nullopt, {}, {}}, &*design);
  Write(alice, Post{"in general", std::nullopt, {}, {}});
  EventPage only = Read(alice, 0, 100, *design);
  EXPECT_EQ(Kinds(only.events),
            (std::vector<std::string>{"channel:created", "channel:name", "channel:topic",
                                      "member:joined", "message"}));
  for (const auto& e : only.events) {
    EXPECT_EQ(e.channel, *design);
    EXPECT_EQ(e.channel_name, "design");
  }
  EXPECT_EQ(only.events.back().message->text, "in design");
  // The general message is the newest row: the filtered read still ends past it.
  auto end = JournalEnd(*alice);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(only.last, *end);
  EXPECT_GT(only.last, only.events.back().seq);
  // Another workspace's reader sees none of them.
  Chat chat = alice.chat();
  EventQuery q;
  q.workspace = codec::ObjectId{};
  auto none = ReadEvents(*alice, chat, q);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->events.empty());
}

TEST_F(ChatEvents, EntriesThatChangeNothingShownAreNoEvents) {
  auto m1 = Write(alice, Post{"alice's", std::nullopt, {}, {}});
  Send(dir, *alice, *bob);
  int64_t after = Read(bob, 0).last;
  Write(bob, Edit{m1, "bob rewrites alice"});          // not the author: never shown
  Write(bob, Delete{m1});                              // neither author nor admin
  Write(bob, Meta{MetaAttr::kName, "bobs"});           // not the creator nor an admin
  Write(bob, Member{alice.user.public_key(), false});  // removes someone else
  Write(bob, React{m1, "🎉", true});                    // this one counts
  EventPage page = Read(bob, after);
  EXPECT_EQ(Kinds(page.events), (std::vector<std::string>{"reaction:+🎉"}));
  EXPECT_EQ(page.events[0].message->text, "alice's");
  // The cursor moved past the ones left out.
  auto end = JournalEnd(*bob);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(page.last, *end);
  // On alice's side too, once they arrive.
  int64_t alice_after = Read(alice, 0).last;
  Send(dir, *bob, *alice);
  EXPECT_EQ(Kinds(Read(alice, alice_after).events), (std::vector<std::string>{"reaction:+🎉"}));
}

TEST_F(ChatEvents, AnEntryAppliedLateOrOutOfOrderIsJournaledOnce) {
  auto m1 = Write(alice, Post{"first", std::nullopt, {}, {}});
  Write(alice, Edit{m1, "first, edited"});
  Send(dir, *alice, *bob);
  auto m2 = Write(bob, Post{"bob's", std::nullopt, {}, {}});
  Send(dir, *bob, *alice);
  Write(alice, React{m2, "👍", true});
  Write(alice, Post{"a reply", m1, {}, {}});

  std::vector<codec::VertexId> want = JournalVertices(*alice);
  std::set<codec::VertexId> want_set(want.begin(), want.end());
  ASSERT_EQ(want_set.size(), want.size());
  // The journal is local: the converging projection leaves it out.
  auto dump = alice->ProjectionDump();
  ASSERT_TRUE(dump.ok());
  EXPECT_EQ(dump->find("chat_feed"), std::string::npos);
  EXPECT_EQ(dump->find("chat_events"), std::string::npos);
  EXPECT_EQ(dump->find("chat_journal"), std::string::npos);

  // Copies of bob's device get every vertex one by one in other orders (content waits for
  // parents and for the epoch key, and applies when they come), some twice.
  std::vector<Bytes> all;
  auto objects = alice->ListObjects();
  ASSERT_TRUE(objects.ok());
  for (const auto& o : *objects)
    ASSERT_TRUE(alice
                    ->ForEachInOrder(o.id,
                                     [&](const graph::VertexMeta&, ByteView raw) {
                                       all.emplace_back(raw.begin(), raw.end());
                                       return true;
                                     })
                    .ok());
  std::mt19937 rng(11);
  std::string want_dump = *dump;
  for (int order = 0; order < 4; ++order) {
    std::vector<Bytes> raws = all;
    if (order == 0) std::reverse(raws.begin(), raws.end());
    if (order > 0) std::shuffle(raws.begin(), raws.end(), rng);
    if (order == 3) raws.insert(raws.end(), all.begin(), all.end());
    auto copy = bob.Open();
    ASSERT_NE(copy, nullptr);
    for (auto& raw : raws) ASSERT_TRUE(copy->Ingest({raw}).ok());
    std::vector<codec::VertexId> got = JournalVertices(*copy);
    EXPECT_EQ(got.size(), want.size()) << "order " << order;
    EXPECT_EQ(std::set<codec::VertexId>(got.begin(), got.end()), want_set) << "order " << order;
    auto copy_dump = copy->ProjectionDump();
    ASSERT_TRUE(copy_dump.ok());
    EXPECT_EQ(*copy_dump, want_dump) << "order " << order;
    // Read back: both messages, the edit, the reaction and the reply, each once.
    Chat chat(*copy, bob.user.public_key());
    EventQuery q;
    q.workspace = group;
    auto page = ReadEvents(*copy, chat, q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    std::multiset<std::string> kinds;
    for (const auto& e : page->events)
      if (e.kind != EventKind::kChannel && e.kind != EventKind::kMember)
        kinds.insert(std::string(EventKindName(e.kind)) + ":" + e.message->text);
    EXPECT_EQ(kinds,
              (std::multiset<std::string>{"message:first, edited", "edit:first, edited",
                                          "message:bob's", "reaction:bob's", "message:a reply"}))
        << "order " << order;
  }
}

// A replica made before the journal was chat_feed kept it in chat_journal (vid UNIQUE) or,
// later, chat_events (seq AUTOINCREMENT, kind as text, a message's vid in target): at its next
// open the rows move to chat_feed, seqs kept, so a subscriber's cursor resumes where it was
// and new events count on from the last seq.
class ChatEventsFromBefore : public ChatEvents,
                             public ::testing::WithParamInterface<const char*> {};

TEST_P(ChatEventsFromBefore, AJournalFromBeforeMovesAtOpenWithItsSeqs) {
  const std::string old = GetParam();
  auto m1 = Write(alice, Post{"first", std::nullopt, {}, {}});
  Write(alice, React{m1, "👍", true});
  const std::string path = dir.File("before.db");
  object::ReplicaOptions o;
  o.box = &alice.box;
  std::vector<codec::VertexId> want;
  std::vector<std::string> want_kinds;
  int64_t cursor = 0;
  {
    auto r = object::Replica::Open(path, alice.key.Clone(), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    Send(dir, *alice, **r);
    want = JournalVertices(**r);
    ASSERT_GE(want.size(), 4u);
    Chat chat(**r, alice.user.public_key());
    EventQuery q;
    q.workspace = group;
    auto all = ReadEvents(**r, chat, q);
    ASSERT_TRUE(all.ok());
    want_kinds = Kinds(all->events);
    cursor = all->events[1].seq;  // a subscriber that has seen two events
    // The tables as a replica from before had them: the rows in the old table, in its shape,
    // its index on channel, and no chat_feed.
    ASSERT_TRUE((*r)->database()
                    .Exec("INSERT INTO " + old +
                          " SELECT seq, vid, channel, CASE kind WHEN 0 THEN 'message' WHEN 1 "
                          "THEN 'edit' WHEN 2 THEN 'delete' WHEN 3 THEN 'reaction' WHEN 4 THEN "
                          "'member' WHEN 5 THEN 'channel' END, user, CASE WHEN kind = 0 THEN vid "
                          "ELSE target END, detail, flag, at FROM chat_feed; DROP TABLE chat_feed; "
                          "CREATE INDEX " + old + "_by_channel ON " + old + "(channel, seq)")
                    .ok());
  }
  auto r = object::Replica::Open(path, alice.key.Clone(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(JournalVertices(**r), want);
  for (const char* table : {"chat_journal", "chat_events"}) {
    auto& old_rows = (*r)->database().Prepare(std::string("SELECT COUNT(*) FROM ") + table);
    ASSERT_TRUE(*old_rows.Step());
    EXPECT_EQ(old_rows.Int64(0), 0) << table;
    old_rows.Reset();
  }

  Chat chat(**r, alice.user.public_key());
  EventQuery q;
  q.workspace = group;
  q.after = cursor;
  auto rest = ReadEvents(**r, chat, q);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(Kinds(rest->events),
            std::vector<std::string>(want_kinds.begin() + 2, want_kinds.end()));
  auto end = JournalEnd(**r);
  ASSERT_TRUE(end.ok());
  auto m2 = chat.Write(channel, Post{"after the move", std::nullopt, {}, {}});
  ASSERT_TRUE(m2.ok()) << m2.status().ToString();
  q.after = *end;
  auto next = ReadEvents(**r, chat, q);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->events.size(), 1u);
  EXPECT_EQ(next->events[0].seq, *end + 1);
  EXPECT_EQ(next->events[0].vertex, *m2);
  // Opened again: nothing moves twice.
  r->reset();
  r = object::Replica::Open(path, alice.key.Clone(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<codec::VertexId> after = want;
  after.push_back(*m2);
  EXPECT_EQ(JournalVertices(**r), after);
}

INSTANTIATE_TEST_SUITE_P(Tables, ChatEventsFromBefore,
                         ::testing::Values("chat_journal", "chat_events"));

}  // namespace
}  // namespace topo::apps::chat
