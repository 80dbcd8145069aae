// Rebuilding the chat's tables from the vertices (Replica::RebuildProjections, and the
// migration a newer schema version runs at open: object/app.h): everything a user sees comes
// back the same, message numbers and read markers included, and the local tables (the
// event journal, the read markers) are left as they were.
#include <gtest/gtest.h>

#include <sstream>

#include "apps/chat/events.h"
#include "chat_fixture.h"
#include "util/encoding.h"

namespace topo::apps::chat {
namespace {

int64_t Count(object::Replica& r, const std::string& sql) {
  auto& st = r.database().Prepare(sql);
  auto row = st.Step();
  EXPECT_TRUE(row.ok() && *row) << sql;
  int64_t n = row.ok() && *row ? st.Int64(0) : -1;
  st.Reset();
  return n;
}

class ChatRebuild : public ChatTeam {
 protected:
  void SetUp() override {
    ChatTeam::SetUp();
    auto general = alice.chat().EnsureGeneral(group);
    ASSERT_TRUE(general.ok()) << general.status().ToString();
    this->general = *general;
    auto random = alice.chat().CreateChannel(group, "random", "anything");
    ASSERT_TRUE(random.ok()) << random.status().ToString();
    this->random = *random;
    auto plans = alice.chat().CreatePrivate(group, ChannelKind::kPrivate, "plans", "the launch",
                                            {bob.user.public_key()}, alice.cert);
    ASSERT_TRUE(plans.ok()) << plans.status().ToString();
    this->plans = *plans;
    Everyone();

    auto m1 = Write(alice, this->general, Post{"hello team", std::nullopt, {}, {}});
    auto m2 = Write(bob, this->general, Post{"hi alice, typo here", std::nullopt, {}, {}});
    Write(bob, this->general, Edit{m2, "hi alice, fixed the launch plan"});
    Write(carol, this->general, Post{"a reply in the thread", m1, {}, {}});
    auto gone = Write(bob, this->random, Post{"something to delete", std::nullopt, {}, {}});
    Write(carol, this->random, Delete{gone});  // an admin's delete
    Write(alice, this->general, React{m1, "👍", true});
    Write(bob, this->general, React{m1, "🎉", true});
    Write(bob, this->general, React{m1, "🎉", false});
    Write(alice, this->plans, Post{"we launch on friday", std::nullopt, {}, {}});
    Everyone();
    // Read markers on bob's device, then more to read.
    ASSERT_TRUE(bob.chat().MarkRead(this->general).ok());
    Write(alice, this->general, Post{"one more for bob", std::nullopt, {}, {}});
    Write(bob, this->plans, Post{"friday it is", std::nullopt, {}, {}});
    Write(bob, this->general, Meta{MetaAttr::kTopic, "launch week"});
    Everyone();
  }

  codec::VertexId Write(Device& d, const codec::ObjectId& channel, const Entry& e) {
    auto v = d.chat().Write(channel, e);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : codec::VertexId{};
  }

  // What a user of `d` sees, as text: every channel with its messages (numbers, ids, text,
  // edits, reactions, replies), threads, unread counts, searches, the event journal, and the
  // converging tables with the fingerprint.
  std::string Seen(Device& d, object::Replica& r) {
    Chat chat(r, d.user.public_key());
    std::ostringstream o;
    auto channels = chat.Channels(group);
    EXPECT_TRUE(channels.ok()) << channels.status().ToString();
    if (!channels.ok()) return "";
    for (const auto& c : *channels) {
      o << "channel " << c.name << " topic " << c.topic << " messages " << c.messages << " members "
        << c.members.size() << "\n";
      auto unread = chat.Unread(c.id);
      EXPECT_TRUE(unread.ok());
      o << " unread " << (unread.ok() ? *unread : 999) << "\n";
      auto ms = chat.Messages(c.id, 100, std::nullopt);
      EXPECT_TRUE(ms.ok());
      for (const auto& m : ms.ok() ? *ms : std::vector<Message>{}) {
        o << " #" << m.number << " " << HexEncodeShort(m.id) << " " << m.text << " deleted "
          << m.deleted << " edited " << m.edited_at.value_or(0) << " replies " << m.replies;
        for (const auto& re : m.reactions) o << " " << re.emoji << re.users.size();
        o << "\n";
        auto thread = chat.Messages(c.id, 100, m.id);
        EXPECT_TRUE(thread.ok());
        for (const auto& t : thread.ok() ? *thread : std::vector<Message>{})
          o << "  thread #" << t.number << " " << t.text << "\n";
      }
    }
    for (const char* word : {"launch", "alice", "delete", "friday", "thread"}) {
      auto hits = chat.Search(group, SearchQuery{word, {}, {}, 0, 0, 10});
      EXPECT_TRUE(hits.ok()) << hits.status().ToString();
      o << "search " << word << ":";
      for (const auto& m : hits.ok() ? *hits : std::vector<Message>{}) o << " #" << m.number;
      o << "\n";
    }
    EventQuery q;
    q.workspace = group;
    q.limit = 1000;
    auto events = ReadEvents(r, chat, q);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    for (const auto& e : events.ok() ? events->events : std::vector<Event>{})
      o << "event " << e.seq << " " << EventKindName(e.kind) << " "
        << (e.message ? e.message->text + " #" + std::to_string(e.message->number) : "") << "\n";
    o << Dump(r);
    auto fp = r.Fingerprint();
    EXPECT_TRUE(fp.ok());
    o << "fingerprint " << (fp.ok() ? *fp : "") << "\n";
    return o.str();
  }

  codec::ObjectId general, random, plans;
};

TEST_F(ChatRebuild, EverythingShownIsTheSameAfterARebuildNumbersIncluded) {
  std::string before = Seen(bob, *bob);
  // The fixture made what the snapshot must cover.
  EXPECT_NE(before.find("we launch on friday"), std::string::npos);  // private, readable
  EXPECT_NE(before.find("fixed the launch plan"), std::string::npos);
  EXPECT_NE(before.find(" unread 1\n"), std::string::npos);
  EXPECT_NE(before.find("deleted 1"), std::string::npos);
  EXPECT_NE(before.find("👍1"), std::string::npos);
  const int64_t journal = Count(*bob, "SELECT COUNT(*) FROM chat_feed");
  const int64_t marker = Count(*bob, "SELECT seq FROM chat_read");

  auto report = bob->RebuildProjections();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->apps, std::vector<std::string>{std::string(kChannelBlueprint)});
  EXPECT_GT(report->vertices, 20u);
  EXPECT_EQ(Seen(bob, *bob), before);
  EXPECT_EQ(Count(*bob, "SELECT COUNT(*) FROM chat_feed"), journal);
  EXPECT_EQ(Count(*bob, "SELECT seq FROM chat_read"), marker);
  // The FTS5 index holds one document per message row, as the incremental path leaves it.
  EXPECT_TRUE(bob->database()
                  .Exec("INSERT INTO chat_fts(chat_fts, rank) VALUES ('integrity-check', 1)")
                  .ok());

  // The tables converge with a replica that applied the same vertices incrementally.
  auto fresh = bob.Open();
  Send(dir, *bob, *fresh);
  EXPECT_EQ(Dump(*fresh), Dump(*bob));
}

// Numbers follow arrival, and an entry that waited for a key applies later than its vertex
// arrived: the rebuild, which reads vertices in arrival order, would number some messages
// otherwise. Each keeps the number it had (here moved by hand, the way such an arrival
// leaves it), and the search index follows it.
TEST_F(ChatRebuild, AMessageKeepsItsNumberWhenArrivalOrderWouldGiveAnother) {
  ASSERT_TRUE(bob->database()
                  .Exec("UPDATE proj_chat_messages SET rowid = 500 WHERE rowid = 2; "
                        "UPDATE proj_chat_messages SET rowid = 2 WHERE rowid = 3; "
                        "UPDATE proj_chat_messages SET rowid = 3 WHERE rowid = 500; "
                        "INSERT INTO chat_fts(chat_fts) VALUES ('rebuild')")
                  .ok());
  std::string before = Seen(bob, *bob);
  auto report = bob->RebuildProjections();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(Seen(bob, *bob), before);
  EXPECT_TRUE(bob->database()
                  .Exec("INSERT INTO chat_fts(chat_fts, rank) VALUES ('integrity-check', 1)")
                  .ok());
  // The next message is numbered after every kept one.
  auto next = bob.chat().Write(general, Post{"after the rebuild", std::nullopt, {}, {}});
  ASSERT_TRUE(next.ok());
  auto m = bob.chat().MessageById(*next);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->number, Count(*bob, "SELECT MAX(rowid) FROM proj_chat_messages"));
  EXPECT_EQ(m->number, Count(*bob, "SELECT COUNT(*) FROM proj_chat_messages"));
}

// Without this device's box key the sealed content cannot be opened: the apps' tables are
// left alone rather than rebuilt without it.
TEST_F(ChatRebuild, WithoutTheBoxKeyTheChatTablesAreLeftAlone) {
  const std::string path = dir.File("nobox.db");
  std::string before;
  {
    auto r = object::Replica::Open(path, bob.key.Clone(), [&] {
      object::ReplicaOptions o;
      o.box = &bob.box;
      return o;
    }());
    ASSERT_TRUE(r.ok());
    Send(dir, *bob, **r);
    before = Dump(**r);
  }
  auto r = object::Replica::Open(path, bob.key.Clone(), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto report = (*r)->RebuildProjections();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->apps.empty());
  EXPECT_EQ(Dump(**r), before);
  EXPECT_NE(before.find("we launch on friday"), std::string::npos);
}

// A database whose recorded chat schema is older than the app's is rebuilt once, at open,
// and answers the same; a brand-new one only records the version.
TEST_F(ChatRebuild, AnOlderSchemaMigratesOnceAtOpen) {
  const std::string path = dir.File("old.db");
  object::ReplicaOptions o;
  o.box = &bob.box;
  std::string before;
  {
    auto r = object::Replica::Open(path, bob.key.Clone(), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE((*r)->migrated_apps().empty());  // new: nothing to rebuild
    EXPECT_GE(Count(**r, "SELECT value FROM meta WHERE key = 'app_schema:chat-channel'"), 1);
    Send(dir, *bob, **r);
    Chat chat(**r, bob.user.public_key());
    ASSERT_TRUE(chat.MarkRead(general).ok());
    auto more = alice.chat().Write(general, Post{"unread on the copy", std::nullopt, {}, {}});
    ASSERT_TRUE(more.ok());
    Send(dir, *alice, **r);
    before = Seen(bob, **r);
    EXPECT_NE(before.find(" unread 1\n"), std::string::npos);
    // The database as a replica made before versions left it: no version recorded, and the
    // message table with a UNIQUE id (as the first versions made it).
    ASSERT_TRUE((*r)->database()
                    .Exec("DELETE FROM meta WHERE key = 'app_schema:chat-channel'; "
                          "ALTER TABLE proj_chat_messages RENAME TO old_messages; "
                          "CREATE TABLE proj_chat_messages(id BLOB NOT NULL UNIQUE, "
                          "channel BLOB NOT NULL, author BLOB NOT NULL, device BLOB NOT NULL, "
                          "created_at INTEGER NOT NULL, thread BLOB, text TEXT, mentions BLOB, "
                          "files TEXT, edited_at INTEGER, edit_vid BLOB, deleted INTEGER NOT "
                          "NULL DEFAULT 0); "
                          "INSERT INTO proj_chat_messages(rowid, id, channel, author, device, "
                          "created_at, thread, text, mentions, files, edited_at, edit_vid, "
                          "deleted) SELECT rowid, id, channel, author, device, created_at, "
                          "thread, text, mentions, files, edited_at, edit_vid, deleted FROM "
                          "old_messages; DROP TABLE old_messages")
                    .ok());
  }
  {
    auto r = object::Replica::Open(path, bob.key.Clone(), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)->migrated_apps(), std::vector<std::string>{std::string(kChannelBlueprint)});
    EXPECT_EQ(Seen(bob, **r), before);
    // Version 2: the id is found through its first 8 bytes, without the UNIQUE index.
    EXPECT_EQ(Count(**r, "SELECT COUNT(*) FROM sqlite_master WHERE name = "
                         "'sqlite_autoindex_proj_chat_messages_1'"),
              0);
    EXPECT_EQ(Count(**r, "SELECT COUNT(*) FROM sqlite_master WHERE name = "
                         "'proj_chat_messages_by_id'"),
              1);
  }
  auto r = object::Replica::Open(path, bob.key.Clone(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)->migrated_apps().empty());  // once
  EXPECT_EQ(Seen(bob, **r), before);
}

// The message id has no UNIQUE index: a lookup by id must be written so that SQLite reads
// proj_chat_messages_by_id (the id's first 8 bytes), never the whole table.
TEST_F(ChatRebuild, ALookupByIdUsesTheIndexOnItsFirstEightBytes) {
  auto& st = bob->database().Prepare(
      "EXPLAIN QUERY PLAN SELECT m.rowid FROM proj_chat_messages m WHERE substr(m.id, 1, 8) = "
      "substr(?1, 1, 8) AND m.id = ?1");
  std::string plan;
  for (;;) {
    auto row = st.Step();
    ASSERT_TRUE(row.ok());
    if (!*row) break;
    plan += std::string(st.Text(3)) + "\n";
  }
  st.Reset();
  EXPECT_NE(plan.find("USING INDEX proj_chat_messages_by_id"), std::string::npos) << plan;
  // And it finds each message, edits and deletes applied through it.
  auto m = bob.chat().FindMessage("1");
  ASSERT_TRUE(m.ok());
  auto again = bob.chat().MessageById(m->id);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->number, 1);
  EXPECT_EQ(Count(*bob, "SELECT COUNT(*) FROM proj_chat_messages WHERE deleted = 1"), 1);
  EXPECT_EQ(Count(*bob, "SELECT COUNT(*) FROM proj_chat_messages WHERE edited_at IS NOT NULL"), 1);
}

}  // namespace
}  // namespace topo::apps::chat
