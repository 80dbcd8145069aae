#include "apps/chat/projector.h"

#include <initializer_list>
#include <memory>

#include <nlohmann/json.hpp>

#include "apps/chat/entry.h"
#include "apps/chat/events.h"
#include "object/blueprint.h"

namespace topo::apps::chat {
namespace {

using store::ProjectionSink;
using store::ProjectionWrite;
using store::SqlValue;

Bytes Blob(ByteView v) { return Bytes(v.begin(), v.end()); }
SqlValue I(uint64_t v) { return static_cast<int64_t>(v); }

bool IsAdmin(const object::AppContext& ctx) { return ctx.role != codec::Role::kMember; }

class ChatProjector final : public object::AppProjector {
 public:
  std::vector<std::string> Schema() const override {
    std::vector<std::string> schema = {
        "CREATE TABLE IF NOT EXISTS proj_chat_channels(id BLOB PRIMARY KEY, workspace BLOB, "
        "creator BLOB, created_at INTEGER NOT NULL, grp BLOB, kind INTEGER NOT NULL DEFAULT 0) "
        "WITHOUT ROWID",
        "CREATE TABLE IF NOT EXISTS proj_chat_meta(vid BLOB PRIMARY KEY, channel BLOB NOT NULL, "
        "attr INTEGER NOT NULL, value TEXT NOT NULL, at INTEGER NOT NULL, user BLOB) "
        "WITHOUT ROWID",
        "CREATE INDEX IF NOT EXISTS proj_chat_meta_latest ON proj_chat_meta(channel, attr, at, "
        "vid)",
        "CREATE TABLE IF NOT EXISTS proj_chat_members(channel BLOB NOT NULL, user BLOB NOT NULL, "
        "joined INTEGER NOT NULL, at INTEGER NOT NULL, vid BLOB NOT NULL, "
        "PRIMARY KEY(channel, user)) WITHOUT ROWID",
        // No UNIQUE on id: an index on random 32-byte keys costs a page read and write per
        // post once it outgrows the page cache; its first 8 bytes (a quarter of the size)
        // find a message as well (kById). The engine applies each vertex once (object/app.h),
        // a rebuild too, so nothing needs the index to keep a post from going in twice.
        "CREATE TABLE IF NOT EXISTS proj_chat_messages(id BLOB NOT NULL, "
        "channel BLOB NOT NULL, author BLOB NOT NULL, device BLOB NOT NULL, "
        "created_at INTEGER NOT NULL, thread BLOB, text TEXT, mentions BLOB, files TEXT, "
        "edited_at INTEGER, edit_vid BLOB, deleted INTEGER NOT NULL DEFAULT 0)",
        "CREATE INDEX IF NOT EXISTS proj_chat_messages_by_id ON proj_chat_messages(substr(id, 1, "
        "8))",
        "CREATE INDEX IF NOT EXISTS proj_chat_messages_by_time ON proj_chat_messages(channel, "
        "created_at, id)",
        "CREATE INDEX IF NOT EXISTS proj_chat_messages_by_thread ON proj_chat_messages(thread) "
        "WHERE thread IS NOT NULL",
        "CREATE TABLE IF NOT EXISTS proj_chat_edits(vid BLOB PRIMARY KEY, target BLOB NOT NULL, "
        "channel BLOB NOT NULL, user BLOB NOT NULL, at INTEGER NOT NULL, text TEXT NOT NULL) "
        "WITHOUT ROWID",
        // The post's projection reads the author's latest edit of a message straight from
        // this index, with no sort (a temporary B-tree per post otherwise).
        "CREATE INDEX IF NOT EXISTS proj_chat_edits_latest ON proj_chat_edits(target, channel, "
        "user, at, vid)",
        "DROP INDEX IF EXISTS proj_chat_edits_by_target",  // a prefix of the one above
        "CREATE TABLE IF NOT EXISTS proj_chat_deletes(vid BLOB PRIMARY KEY, target BLOB NOT NULL, "
        "channel BLOB NOT NULL, user BLOB NOT NULL, admin INTEGER NOT NULL, at INTEGER NOT NULL) "
        "WITHOUT ROWID",
        "CREATE INDEX IF NOT EXISTS proj_chat_deletes_by_target ON proj_chat_deletes(target)",
        "CREATE TABLE IF NOT EXISTS proj_chat_reactions(target BLOB NOT NULL, "
        "channel BLOB NOT NULL, user BLOB NOT NULL, emoji TEXT NOT NULL, present INTEGER NOT "
        "NULL, at INTEGER NOT NULL, vid BLOB NOT NULL, PRIMARY KEY(target, user, emoji)) "
        "WITHOUT ROWID",
        // Search: an external-content FTS5 index over the current text, kept by the
        // projections of posts, edits and deletes (see kIndexPost). Databases made before
        // had triggers for this; they are dropped, as the projections do the same.
        "CREATE VIRTUAL TABLE IF NOT EXISTS chat_fts USING fts5(text, "
        "content='proj_chat_messages', content_rowid='rowid')",
        "DROP TRIGGER IF EXISTS chat_fts_insert",
        "DROP TRIGGER IF EXISTS chat_fts_update",
        // Messages whose indexed text an edit or a delete changed in the current
        // transaction, with the text indexed before (see BeforeCommit). Empty between
        // transactions.
        "CREATE TABLE IF NOT EXISTS chat_fts_stale(row INTEGER PRIMARY KEY, text TEXT)",
        "CREATE TABLE IF NOT EXISTS chat_read(channel BLOB PRIMARY KEY, seq INTEGER NOT NULL) "
        "WITHOUT ROWID",
    };
    // Local: apps/chat/events.h.
    schema.insert(schema.end(), std::begin(kJournalSchema), std::end(kJournalSchema));
    return schema;
  }

  // 1: the tables as they were before versions. 2: proj_chat_messages.id not UNIQUE, found
  // through proj_chat_messages_by_id (kById).
  int SchemaVersion() const override { return 2; }

  // The derived tables go and are made again from the vertices; chat_read and chat_feed
  // stay. What users see of the order of arrival is the message numbers (rowids of
  // proj_chat_messages: `view`, `#12`, and the read markers in chat_read, which hold the
  // highest number read): each message's number is set aside here and given back by
  // RebuildEnd.
  std::vector<std::string> RebuildBegin() const override {
    return {
        // So that the copy below runs on a database made before the chat.
        "CREATE TABLE IF NOT EXISTS proj_chat_messages(id BLOB)",
        "DROP TABLE IF EXISTS temp.chat_rebuild_numbers",
        "CREATE TEMP TABLE chat_rebuild_numbers(id BLOB PRIMARY KEY, number INTEGER NOT NULL) "
        "WITHOUT ROWID",
        "INSERT OR IGNORE INTO temp.chat_rebuild_numbers(id, number) SELECT id, rowid FROM "
        "proj_chat_messages ORDER BY rowid",
        "DROP TABLE IF EXISTS chat_fts",  // FTS5 drops its shadow tables with it
        "DROP TABLE IF EXISTS chat_fts_stale",
        "DROP TABLE IF EXISTS proj_chat_channels",
        "DROP TABLE IF EXISTS proj_chat_meta",
        "DROP TABLE IF EXISTS proj_chat_members",
        "DROP TABLE IF EXISTS proj_chat_messages",
        "DROP TABLE IF EXISTS proj_chat_edits",
        "DROP TABLE IF EXISTS proj_chat_deletes",
        "DROP TABLE IF EXISTS proj_chat_reactions",
    };
  }

  // The entries were applied again in arrival order (the vertices table's), which gives
  // each message the number it had unless its content waited for a key the first time (it
  // comes earlier now) or the old tables lacked it. Such rows move: out of the way first
  // (negative rowids), then to their old number, or after the highest old number when they
  // had none; their index documents move with them.
  std::vector<std::string> RebuildEnd() const override {
    return {
        "DROP TABLE IF EXISTS temp.chat_rebuild_moved",
        "CREATE TEMP TABLE chat_rebuild_moved(row INTEGER PRIMARY KEY, id BLOB NOT NULL)",
        "INSERT INTO temp.chat_rebuild_moved(row, id) SELECT m.rowid, m.id FROM "
        "proj_chat_messages m WHERE NOT EXISTS (SELECT 1 FROM temp.chat_rebuild_numbers n "
        "WHERE n.id = m.id AND n.number = m.rowid)",
        "INSERT INTO chat_fts(chat_fts, rowid, text) SELECT 'delete', m.rowid, m.text FROM "
        "temp.chat_rebuild_moved x JOIN proj_chat_messages m ON m.rowid = x.row ORDER BY x.row",
        "UPDATE proj_chat_messages SET rowid = -rowid WHERE rowid IN (SELECT row FROM "
        "temp.chat_rebuild_moved)",
        "UPDATE proj_chat_messages SET rowid = COALESCE((SELECT n.number FROM "
        "temp.chat_rebuild_numbers n WHERE n.id = proj_chat_messages.id), (SELECT "
        "COALESCE(MAX(number), 0) FROM temp.chat_rebuild_numbers) - rowid) WHERE rowid < 0",
        "INSERT INTO chat_fts(rowid, text) SELECT m.rowid, m.text FROM temp.chat_rebuild_moved x "
        "CROSS JOIN proj_chat_messages m ON substr(m.id, 1, 8) = substr(x.id, 1, 8) AND m.id = x.id "
        "ORDER BY m.rowid",
        "DROP TABLE temp.chat_rebuild_moved",
        "DROP TABLE temp.chat_rebuild_numbers",
    };
  }

  Status CheckEntry(uint32_t field, ByteView entry) const override {
    if (field != kEventsField)
      return Status::Rejected("chat: no log field " + std::to_string(field));
    auto e = DecodeEntry(entry);
    if (!e.ok()) return Status::Rejected(e.status().message());
    return Status::Ok();
  }

  Status CheckParams(ByteView params) const override {
    if (params.empty()) return Status::Ok();  // a public channel
    auto p = DecodeChannelParams(params);
    return p.ok() ? Status::Ok() : Status::Rejected(p.status().message());
  }

  Status OnCreate(const object::AppContext& ctx, ProjectionSink& sink) const override {
    // apps/chat/events.h; a rebuild leaves the journal as it is.
    if (!ctx.rebuild) TOPO_RETURN_IF_ERROR(sink.Execute(JournalCreate(ctx)));
    // A public channel belongs to the workspace it lives in; a private one names it.
    SqlValue group = ctx.group ? SqlValue(Blob(ctx.group->view())) : SqlValue();
    SqlValue workspace = group;
    ChannelKind kind = ChannelKind::kPublic;
    if (!ctx.params.empty()) {
      auto p = DecodeChannelParams(ctx.params);
      if (!p.ok()) return Status::Internal("chat params applied unchecked");
      kind = p->kind;
      workspace = Blob(p->workspace.view());
    }
    return sink.Execute(
        {"INSERT OR IGNORE INTO proj_chat_channels(id, workspace, creator, created_at, grp, kind) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
         {Blob(ctx.object.view()), workspace,
          ctx.user ? SqlValue(Blob(ctx.user->view())) : SqlValue(), I(ctx.created_at), group,
          I(static_cast<uint8_t>(kind))}});
  }

  Status OnEntry(const object::AppContext& ctx, ByteView bytes,
                 ProjectionSink& sink) const override {
    auto e = DecodeEntry(bytes);
    if (!e.ok()) return Status::Internal("chat entry applied unchecked: " + e.status().message());
    // Entries of a channel outside any group have no user: every rule below needs one.
    if (!ctx.user) return Status::Ok();
    TOPO_RETURN_IF_ERROR(std::visit([&](const auto& o) { return Project(ctx, o, sink); }, *e));
    if (ctx.rebuild) return Status::Ok();  // journaled when it was first applied
    auto journal = JournalEntry(ctx, *e);  // apps/chat/events.h: what `topo sub` streams
    return journal ? sink.Execute(*journal) : Status::Ok();
  }

  // The index of the messages that edits and deletes changed, once per transaction (see
  // kIndexPost for why not one by one): each one's old document out, then its current
  // text in, in rowid order, so FTS5 flushes its pending terms about twice a transaction
  // instead of once per edit.
  Status BeforeCommit(ProjectionSink& sink) const override {
    return Run(sink,
               {{"INSERT INTO chat_fts(chat_fts, rowid, text) SELECT 'delete', row, text FROM "
                 "chat_fts_stale ORDER BY row",
                 {}},
                {"INSERT INTO chat_fts(rowid, text) SELECT s.row, m.text FROM chat_fts_stale s "
                 "JOIN proj_chat_messages m ON m.rowid = s.row ORDER BY s.row",
                 {}},
                {"DELETE FROM chat_fts_stale", {}}});
  }

 private:
  // In order; the list's writes are run where they are, not copied into a vector first.
  static Status Run(ProjectionSink& sink, std::initializer_list<ProjectionWrite> ws) {
    for (const auto& w : ws) TOPO_RETURN_IF_ERROR(sink.Execute(w));
    return Status::Ok();
  }

  // How chat_fts is kept. FTS5 flushes its pending terms to a new index segment (merged
  // again and again later) whenever a write's rowid is not above the last one's, and at
  // every statement savepoint: a statement that fires a trigger writing chat_fts, or an
  // INSERT ... SELECT into it, runs in a statement journal. Once per entry, either made
  // each message an index segment of its own. So per entry the index takes only posts,
  // whose rowids grow, by single-row INSERT ... VALUES; edits and deletes note the rows
  // they change in chat_fts_stale, and BeforeCommit reindexes those once per transaction.
  //
  // The post's insert is made conditional with two facts of FTS5 and SQLite: a 'delete'
  // command with a NULL rowid does nothing, and changes() is the number of rows the
  // statement just before (the projection's write) changed.
  //
  // After the post's insert: index the row it inserted, as it ended up (with an edit, or no
  // text when a delete came first: such a message matches nothing). Nothing when the insert
  // was ignored (the message was there already, so it is indexed).
  static constexpr const char* kIndexPost =
      "INSERT INTO chat_fts(chat_fts, rowid, text) VALUES (CASE WHEN changes() = 1 THEN NULL "
      "ELSE 'delete' END, CASE WHEN changes() = 1 THEN last_insert_rowid() END, (SELECT text "
      "FROM proj_chat_messages WHERE rowid = last_insert_rowid()))";

  // The message row `m` whose id is ?1, written so that SQLite finds it through
  // proj_chat_messages_by_id (the id's first 8 bytes), the only index on it.
  static constexpr const char* kById = "substr(m.id, 1, 8) = substr(?1, 1, 8) AND m.id = ?1";

  // The clause that is true when message ?1 of channel ?2 has a delete that counts: by an
  // admin, or by the message's author (needs the message row `m`).
  static constexpr const char* kDeleted =
      "EXISTS (SELECT 1 FROM proj_chat_deletes d WHERE d.target = m.id AND d.channel = m.channel "
      "AND (d.admin = 1 OR d.user = m.author))";

  // kDeleted and the author's latest edit for a message not inserted yet: ?1 its id, ?2 its
  // channel, ?3 its author; LatestEdit(c) is `c` of that edit (`x`), NULL when there is none.
  static constexpr const char* kPostDeleted =
      "EXISTS (SELECT 1 FROM proj_chat_deletes d WHERE d.target = ?1 AND d.channel = ?2 "
      "AND (d.admin = 1 OR d.user = ?3))";
  static std::string LatestEdit(const std::string& column) {
    return "(SELECT " + column +
           " FROM proj_chat_edits x WHERE x.target = ?1 AND x.channel = ?2 AND x.user = ?3 "
           "ORDER BY x.at DESC, x.vid DESC LIMIT 1)";
  }

  // The post's row as it ends up, in one single-row INSERT ... VALUES: with the author's
  // latest edit, or deleted, when an edit or a delete arrived first (content waiting for a
  // key applies late). Written as VALUES with scalar subqueries, not INSERT ... SELECT:
  // a multi-row write to proj_chat_messages (an INSERT ... SELECT, or a statement that
  // reads proj_chat_messages_by_id, whose expression may raise an error) runs in a
  // statement savepoint, and FTS5 flushes its pending terms at every savepoint (see
  // kIndexPost), which made each post an index segment of its own. A single-row VALUES
  // has no statement savepoint. The subqueries are uncorrelated (each runs at most once)
  // and laid out so that a post with no edit and no delete (nearly all) costs five index
  // seeks that find nothing: the latest edit for text, edited_at and edit_vid, the delete
  // for text and deleted; mentions and files look for the delete only when they are set.
  static const std::string& InsertPost() {
    static const std::string sql = [] {
      const std::string gone = kPostDeleted;
      auto unless_gone = [&](const std::string& v) {
        return "CASE WHEN " + gone + " THEN NULL ELSE " + v + " END";
      };
      return "INSERT INTO proj_chat_messages(id, channel, author, device, created_at, thread, "
             "text, mentions, files, edited_at, edit_vid, deleted) VALUES (?1, ?2, ?3, ?4, ?5, "
             "?6, COALESCE(" +
             LatestEdit(unless_gone("x.text")) + ", " + unless_gone("?7") +
             "), CASE WHEN ?8 IS NULL THEN NULL ELSE " + unless_gone("?8") +
             " END, CASE WHEN ?9 IS NULL THEN NULL ELSE " + unless_gone("?9") + " END, " +
             LatestEdit(unless_gone("x.at")) + ", " + LatestEdit(unless_gone("x.vid")) + ", " +
             gone + ")";
    }();
    return sql;
  }

  // After the post's insert: the edits go when it went in deleted (the same delete test as
  // the insert's: a lookup in proj_chat_messages_by_id here would run in a statement
  // savepoint, as above).
  static const std::string& DropPostEdits() {
    static const std::string sql =
        std::string("DELETE FROM proj_chat_edits WHERE target = ?1 AND ") + kPostDeleted;
    return sql;
  }

  Status Project(const object::AppContext& ctx, const Post& p, ProjectionSink& sink) const {
    Bytes mentions;
    for (const auto& m : p.mentions) {
      mentions.push_back(static_cast<uint8_t>(m.kind));
      Append(mentions, m.key.view());
    }
    std::string files;
    if (!p.files.empty()) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& f : p.files)
        a.push_back({{"ref", f.ref}, {"name", f.name}, {"size", f.size}});
      files = a.dump();
    }
    Bytes id = Blob(ctx.vertex.view());
    Bytes channel = Blob(ctx.object.view());
    Bytes user = Blob(ctx.user->view());
    return Run(sink,
               {{InsertPost(),
                 {id, channel, user, Blob(ctx.device.view()), I(ctx.created_at),
                  p.thread ? SqlValue(Blob(p.thread->view())) : SqlValue(), p.text,
                  mentions.empty() ? SqlValue() : SqlValue(mentions),
                  files.empty() ? SqlValue() : SqlValue(files)}},
                {kIndexPost, {}},  // right after the insert: it reads changes()
                {DropPostEdits(), {id, channel, user}}});
  }

  Status Project(const object::AppContext& ctx, const Edit& p, ProjectionSink& sink) const {
    Bytes target = Blob(p.message.view());
    Bytes channel = Blob(ctx.object.view());
    Bytes user = Blob(ctx.user->view());
    Bytes vid = Blob(ctx.vertex.view());
    // The message row this edit replaces the text of: the author's, not deleted, and no
    // later edit shown. ?1 target, ?2 channel, ?3 user, ?5 at, ?6 the edit's vertex.
    static const std::string kShown =
        std::string("FROM proj_chat_messages AS m WHERE ") + kById +
        " AND channel = ?2 AND author = ?3 AND deleted = 0 AND (edited_at IS NULL OR "
        "(edited_at, edit_vid) < (?5, ?6))";
    return Run(
        sink,
        {// Kept unless the message is known deleted (then its content is gone for good).
         {std::string("INSERT OR IGNORE INTO proj_chat_edits(vid, target, channel, user, at, "
                      "text) SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (SELECT 1 FROM "
                      "proj_chat_messages m WHERE substr(m.id, 1, 8) = substr(?2, 1, 8) AND "
                      "m.id = ?2 AND m.deleted = 1) AND NOT EXISTS "
                      "(SELECT 1 FROM proj_chat_deletes d WHERE d.target = ?2 AND d.channel = ?3 "
                      "AND d.admin = 1)"),
          {vid, target, channel, user, I(ctx.created_at), p.text}},
         // The row's indexed text, unless this transaction noted it already (see kIndexPost).
         {"INSERT OR IGNORE INTO chat_fts_stale(row, text) SELECT rowid, text " + kShown,
          {target, channel, user, SqlValue(), I(ctx.created_at), vid}},
         {"UPDATE proj_chat_messages AS m SET text = ?4, edited_at = ?5, edit_vid = ?6 WHERE " +
              std::string(kById) +
              " AND channel = ?2 AND author = ?3 AND deleted = 0 AND "
              "(edited_at IS NULL OR (edited_at, edit_vid) < (?5, ?6))",
          {target, channel, user, p.text, I(ctx.created_at), vid}}});
  }

  Status Project(const object::AppContext& ctx, const Delete& p, ProjectionSink& sink) const {
    Bytes target = Blob(p.message.view());
    // The message row this delete takes the content of (needs the delete's row in).
    static const std::string kGoes = std::string("FROM proj_chat_messages AS m WHERE ") + kById +
                                     " AND m.deleted = 0 AND " + kDeleted;
    return Run(sink,
               {{"INSERT OR IGNORE INTO proj_chat_deletes(vid, target, channel, user, admin, at) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                 {Blob(ctx.vertex.view()), target, Blob(ctx.object.view()), Blob(ctx.user->view()),
                  I(IsAdmin(ctx) ? 1 : 0), I(ctx.created_at)}},
                // The row's indexed text before it goes (see kIndexPost). In again with no text at
                // the commit, as when the delete came before the post: the index then holds one
                // document per message row in every order (its row count and lengths too, which
                // 'integrity-check' with rank 1 compares).
                {"INSERT OR IGNORE INTO chat_fts_stale(row, text) SELECT m.rowid, m.text " + kGoes,
                 {target}},
                {"UPDATE proj_chat_messages AS m SET text = NULL, mentions = NULL, files = NULL, "
                 "edited_at = NULL, edit_vid = NULL, deleted = 1 WHERE " +
                     std::string(kById) + " AND m.deleted = 0 AND " + kDeleted,
                 {target}},
                // The edits go with the content: when the message is known deleted, or the delete
                // is an admin's (it counts whoever wrote the message).
                {"DELETE FROM proj_chat_edits WHERE target = ?1 AND ((?2 = 1 AND channel = ?3) OR "
                 "EXISTS (SELECT 1 FROM proj_chat_messages m WHERE " +
                     std::string(kById) + " AND m.deleted = 1))",
                 {target, I(IsAdmin(ctx) ? 1 : 0), Blob(ctx.object.view())}}});
  }

  Status Project(const object::AppContext& ctx, const React& p, ProjectionSink& sink) const {
    return sink.Execute(
        {"INSERT INTO proj_chat_reactions(target, channel, user, emoji, present, at, vid) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(target, user, emoji) DO UPDATE SET "
         "channel = excluded.channel, present = excluded.present, at = excluded.at, "
         "vid = excluded.vid WHERE (excluded.at, excluded.vid) > (at, vid)",
         {Blob(p.message.view()), Blob(ctx.object.view()), Blob(ctx.user->view()), p.emoji,
          I(p.on ? 1 : 0), I(ctx.created_at), Blob(ctx.vertex.view())}});
  }

  Status Project(const object::AppContext& ctx, const Meta& p, ProjectionSink& sink) const {
    // The channel row is there: its genesis is in every entry's causal past and is never
    // queued for a key.
    std::string allowed = p.attr == MetaAttr::kTopic
                              ? "1"
                              : "(?6 = 1 OR EXISTS (SELECT 1 FROM proj_chat_channels c "
                                "WHERE c.id = ?2 AND c.creator = ?5))";
    return sink.Execute(
        {"INSERT OR IGNORE INTO proj_chat_meta(vid, channel, attr, value, at, user) "
         "SELECT ?1, ?2, ?3, ?4, ?7, ?5 WHERE " +
             allowed,
         {Blob(ctx.vertex.view()), Blob(ctx.object.view()), I(static_cast<uint8_t>(p.attr)),
          p.value, Blob(ctx.user->view()), I(IsAdmin(ctx) ? 1 : 0), I(ctx.created_at)}});
  }

  Status Project(const object::AppContext& ctx, const Member& p, ProjectionSink& sink) const {
    if (p.user != *ctx.user && !IsAdmin(ctx)) return Status::Ok();  // not theirs to say
    return sink.Execute(
        {"INSERT INTO proj_chat_members(channel, user, joined, at, vid) VALUES (?1, ?2, ?3, ?4, "
         "?5) ON CONFLICT(channel, user) DO UPDATE SET joined = excluded.joined, at = excluded.at, "
         "vid = excluded.vid WHERE (excluded.at, excluded.vid) > (at, vid)",
         {Blob(ctx.object.view()), Blob(p.user.view()), I(p.joined ? 1 : 0), I(ctx.created_at),
          Blob(ctx.vertex.view())}});
  }
};

}  // namespace

Status Register() {
  object::Blueprint bp;
  bp.name = std::string(kChannelBlueprint);
  bp.description = "a team-chat channel: messages, edits, deletes, reactions, names, members";
  bp.fields.push_back({"events", codec::FieldType::Log()});
  static const auto projector = std::make_shared<const ChatProjector>();
  bp.app = projector;
  return object::RegisterBlueprint(bp);
}

}  // namespace topo::apps::chat
