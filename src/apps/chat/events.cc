#include "apps/chat/events.h"

#include <map>

#include "util/encoding.h"

namespace topo::apps::chat {
namespace {

using store::ProjectionWrite;
using store::SqlValue;

Bytes Blob(ByteView v) { return Bytes(v.begin(), v.end()); }
SqlValue I(uint64_t v) { return static_cast<int64_t>(v); }

// A plain insert: the engine runs OnCreate and OnEntry once per vertex (object/app.h), so
// nothing needs vid to be unique, and an index on it (random 32-byte keys) would cost a page
// read and a page write per entry once the journal outgrows the page cache.
constexpr const char* kInsert =
    "INSERT INTO chat_feed(vid, channel, kind, user, target, detail, flag, at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

SqlValue KindValue(EventKind k) { return static_cast<int64_t>(k); }

// The row for one entry: kind, target, detail, flag.
struct Row {
  EventKind kind;
  SqlValue target;
  std::string detail;
  bool flag = false;
};

// A message event's target is its own vertex: stored as NULL (ReadEvents reads vid).
Row RowOf(const object::AppContext&, const Post&) {
  return {EventKind::kMessage, SqlValue(), "", false};
}
Row RowOf(const object::AppContext&, const Edit& e) {
  return {EventKind::kEdit, Blob(e.message.view()), "", false};
}
Row RowOf(const object::AppContext&, const Delete& e) {
  return {EventKind::kDelete, Blob(e.message.view()), "", false};
}
Row RowOf(const object::AppContext&, const React& e) {
  return {EventKind::kReaction, Blob(e.message.view()), e.emoji, e.on};
}
Row RowOf(const object::AppContext&, const Meta& e) {
  ChannelChange c = e.attr == MetaAttr::kName    ? ChannelChange::kName
                    : e.attr == MetaAttr::kTopic ? ChannelChange::kTopic
                                                 : ChannelChange::kArchived;
  return {EventKind::kChannel, SqlValue(), std::string(ChannelChangeName(c)), false};
}
Row RowOf(const object::AppContext&, const Member& e) {
  return {EventKind::kMember, Blob(e.user.view()), "", e.joined};
}

std::optional<EventKind> KindFromValue(int64_t v) {
  for (EventKind k : {EventKind::kMessage, EventKind::kEdit, EventKind::kDelete,
                      EventKind::kReaction, EventKind::kMember, EventKind::kChannel})
    if (static_cast<int64_t>(k) == v) return k;
  return std::nullopt;
}

std::optional<ChannelChange> ChangeFromName(std::string_view s) {
  for (ChannelChange c : {ChannelChange::kCreated, ChannelChange::kName, ChannelChange::kTopic,
                          ChannelChange::kArchived})
    if (ChannelChangeName(c) == s) return c;
  return std::nullopt;
}

Status BadRow(std::string_view what) {
  return Status::Corruption("chat_feed: " + std::string(what));
}

}  // namespace

const char* const kJournalSchema[kJournalSchemaSize] = {
    // No AUTOINCREMENT: seq is the rowid, max(seq) + 1 for each new row, and never reused
    // because nothing deletes a row of this table. AUTOINCREMENT read and rewrote
    // sqlite_sequence on every insert (PERFORMANCE.md, chat). kind is EventKind's number;
    // a message event's target is NULL (its vid). No index on channel: ReadEvents reads by
    // seq (the channel filter cannot use one).
    "CREATE TABLE IF NOT EXISTS chat_feed(seq INTEGER PRIMARY KEY, vid BLOB NOT NULL, "
    "channel BLOB NOT NULL, kind INTEGER NOT NULL, user BLOB, target BLOB, "
    "detail TEXT NOT NULL DEFAULT '', flag INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL)",
    // The journals from before, chat_journal (vid UNIQUE) and then chat_events (seq
    // AUTOINCREMENT, kind as text, a message's vid again in target). Their rows move to
    // chat_feed, seq kept, at the first open, and they stay, empty: a database made since
    // gets them empty, so the move is a few statements on any database and copies nothing
    // after the first time. chat_journal's rows are older than chat_events' (a replica
    // moved them into chat_events at the open that made it), so the order is kept.
    "CREATE TABLE IF NOT EXISTS chat_events(seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "vid BLOB NOT NULL, channel BLOB NOT NULL, kind TEXT NOT NULL, user BLOB, "
    "target BLOB, detail TEXT NOT NULL DEFAULT '', flag INTEGER NOT NULL DEFAULT 0, "
    "at INTEGER NOT NULL)",
    "DROP INDEX IF EXISTS chat_events_by_channel",
    "CREATE TABLE IF NOT EXISTS chat_journal(seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "vid BLOB NOT NULL UNIQUE, channel BLOB NOT NULL, kind TEXT NOT NULL, user BLOB, "
    "target BLOB, detail TEXT NOT NULL DEFAULT '', flag INTEGER NOT NULL DEFAULT 0, "
    "at INTEGER NOT NULL)",
    "DROP INDEX IF EXISTS chat_journal_by_channel",
    "SAVEPOINT chat_journal_move; "
    "INSERT INTO chat_feed(seq, vid, channel, kind, user, target, detail, flag, at) "
    "SELECT seq, vid, channel, CASE kind WHEN 'message' THEN 0 WHEN 'edit' THEN 1 "
    "WHEN 'delete' THEN 2 WHEN 'reaction' THEN 3 WHEN 'member' THEN 4 WHEN 'channel' THEN 5 "
    "ELSE -1 END, user, CASE WHEN kind = 'message' THEN NULL ELSE target END, detail, flag, "
    "at FROM (SELECT * FROM chat_journal UNION ALL SELECT * FROM chat_events) ORDER BY seq; "
    "DELETE FROM chat_journal; DELETE FROM chat_events; RELEASE chat_journal_move",
};

std::string_view EventKindName(EventKind k) {
  switch (k) {
    case EventKind::kMessage:
      return "message";
    case EventKind::kEdit:
      return "edit";
    case EventKind::kDelete:
      return "delete";
    case EventKind::kReaction:
      return "reaction";
    case EventKind::kMember:
      return "member";
    case EventKind::kChannel:
      return "channel";
  }
  return "unknown";
}

std::string_view ChannelChangeName(ChannelChange c) {
  switch (c) {
    case ChannelChange::kCreated:
      return "created";
    case ChannelChange::kName:
      return "name";
    case ChannelChange::kTopic:
      return "topic";
    case ChannelChange::kArchived:
      return "archived";
  }
  return "unknown";
}

std::optional<ProjectionWrite> JournalEntry(const object::AppContext& ctx, const Entry& e) {
  // The projector's rule for joins and leaves (a user's own, or an admin's): any other has
  // no effect, so it is no event. The other rules are decided in SQL from facts that may
  // arrive later; ReadEvents applies them when it reads.
  if (const auto* m = std::get_if<Member>(&e);
      m && ctx.user && m->user != *ctx.user && ctx.role == codec::Role::kMember)
    return std::nullopt;
  Row row = std::visit([&](const auto& o) { return RowOf(ctx, o); }, e);
  return ProjectionWrite{kInsert,
                         {Blob(ctx.vertex.view()), Blob(ctx.object.view()), KindValue(row.kind),
                          ctx.user ? SqlValue(Blob(ctx.user->view())) : SqlValue(), row.target,
                          row.detail, I(row.flag ? 1 : 0), I(ctx.created_at)}};
}

ProjectionWrite JournalCreate(const object::AppContext& ctx) {
  return ProjectionWrite{
      kInsert,
      {Blob(ctx.vertex.view()), Blob(ctx.object.view()), KindValue(EventKind::kChannel),
       ctx.user ? SqlValue(Blob(ctx.user->view())) : SqlValue(), SqlValue(),
       std::string(ChannelChangeName(ChannelChange::kCreated)), I(0), I(ctx.created_at)}};
}

Status JournalGroupMember(object::Replica& r, const codec::VertexId& vid,
                          const codec::ObjectId& channel,
                          const std::optional<crypto::PublicKey>& author,
                          const crypto::PublicKey& member, bool joined, uint64_t at) {
  auto& st = r.database().Prepare(kInsert);
  st.Bind(1, vid).Bind(2, channel).Bind(3, static_cast<int64_t>(EventKind::kMember));
  if (author)
    st.Bind(4, *author);
  else
    st.BindNull(4);
  st.Bind(5, member).Bind(6, std::string_view("")).Bind(7, int64_t{joined ? 1 : 0});
  st.Bind(8, static_cast<int64_t>(at));
  auto done = st.Step();
  st.Reset();
  return done.status();
}

Result<int64_t> JournalEnd(object::Replica& r) {
  auto& st = r.database().Prepare("SELECT COALESCE(MAX(seq), 0) FROM chat_feed");
  TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
  int64_t end = row ? st.Int64(0) : 0;
  st.Reset();
  return end;
}

Result<EventPage> ReadEvents(object::Replica& r, Chat& chat, const EventQuery& q) {
  EventPage page;
  page.last = q.after;
  if (q.limit == 0) return page;
  struct Raw {
    Event e;
    std::optional<codec::VertexId> target;
    std::string detail;
  };
  std::vector<Raw> raws;
  {
    auto& st = r.database().Prepare(
        "SELECT j.seq, j.vid, j.channel, j.kind, j.user, j.target, j.detail, j.flag, j.at "
        "FROM chat_feed j JOIN proj_chat_channels c ON c.id = j.channel "
        "WHERE j.seq > ?1 AND (?2 IS NULL OR c.workspace = ?2) AND (?3 IS NULL OR "
        "j.channel = ?3) ORDER BY j.seq LIMIT ?4");
    st.Bind(1, q.after);
    if (q.workspace)
      st.Bind(2, *q.workspace);
    else
      st.BindNull(2);
    if (q.channel)
      st.Bind(3, *q.channel);
    else
      st.BindNull(3);
    st.Bind(4, static_cast<int64_t>(q.limit));
    for (;;) {
      TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      Raw raw;
      Event& e = raw.e;
      e.seq = st.Int64(0);
      TOPO_ASSIGN_OR_RETURN(e.vertex, st.Fixed<32>(1));
      TOPO_ASSIGN_OR_RETURN(e.channel, st.Fixed<32>(2));
      auto kind = KindFromValue(st.Int64(3));
      if (!kind) return BadRow("unknown kind " + std::to_string(st.Int64(3)));
      e.kind = *kind;
      if (!st.IsNull(4)) {
        TOPO_ASSIGN_OR_RETURN(auto user, st.Fixed<32>(4));
        e.author = user;
      }
      if (!st.IsNull(5)) {
        TOPO_ASSIGN_OR_RETURN(auto target, st.Fixed<32>(5));
        raw.target = target;
      } else if (e.kind == EventKind::kMessage) {
        raw.target = e.vertex;  // a message event's target is its own vertex
      }
      raw.detail = std::string(st.Text(6));
      e.added = e.joined = st.Int64(7) != 0;
      e.at = static_cast<uint64_t>(st.Int64(8));
      raws.push_back(std::move(raw));
    }
  }
  // Every row was looked at when the page is not full: the next read starts at the end.
  if (raws.size() < q.limit) {
    TOPO_ASSIGN_OR_RETURN(int64_t end, JournalEnd(r));
    page.last = std::max(q.after, end);
  } else {
    page.last = raws.back().e.seq;
  }

  std::map<codec::ObjectId, std::string> names;
  for (auto& raw : raws) {
    Event& e = raw.e;
    switch (e.kind) {
      case EventKind::kMessage:
      case EventKind::kEdit:
      case EventKind::kDelete:
      case EventKind::kReaction: {
        if (!raw.target) return BadRow("a message event without its message");
        auto m = chat.MessageById(*raw.target);
        if (!m.ok() && m.status().code() == Code::kNotFound) continue;  // not arrived yet
        if (!m.ok()) return m.status();
        if (m->channel != e.channel) continue;  // an entry naming another channel's message
        if (e.kind == EventKind::kEdit && (!e.author || *e.author != m->author)) continue;
        if (e.kind == EventKind::kDelete && !m->deleted) continue;  // not theirs to delete
        if (e.kind == EventKind::kReaction) e.emoji = raw.detail;
        e.message = std::move(*m);
        break;
      }
      case EventKind::kMember:
        if (!raw.target) return BadRow("a member event without its member");
        e.member = *raw.target;
        break;
      case EventKind::kChannel: {
        auto change = ChangeFromName(raw.detail);
        if (!change) return BadRow("unknown channel change " + raw.detail);
        e.change = *change;
        if (e.change == ChannelChange::kCreated) break;
        // Its author may not have been allowed to (proj_chat_meta has the allowed ones).
        auto& st = r.database().Prepare("SELECT value FROM proj_chat_meta WHERE vid = ?1");
        st.Bind(1, e.vertex);
        TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
        if (row) e.value = std::string(st.Text(0));
        st.Reset();
        if (!row) continue;
        break;
      }
    }
    auto name = names.find(e.channel);
    if (name == names.end()) {
      auto c = chat.ChannelById(e.channel);
      if (!c.ok()) return c.status();
      name = names.emplace(e.channel, c->name).first;
    }
    e.channel_name = name->second;
    page.events.push_back(std::move(e));
  }
  return page;
}

}  // namespace topo::apps::chat
