#include "apps/chat/chat.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "apps/chat/projector.h"
#include "util/encoding.h"

namespace topo::apps::chat {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

constexpr const char* kChannelColumns =
    "SELECT c.id, c.workspace, c.creator, c.created_at, "
    "(SELECT value FROM proj_chat_meta m WHERE m.channel = c.id AND m.attr = 1 "
    "ORDER BY m.at DESC, m.vid DESC LIMIT 1), "
    "(SELECT value FROM proj_chat_meta m WHERE m.channel = c.id AND m.attr = 2 "
    "ORDER BY m.at DESC, m.vid DESC LIMIT 1), "
    "(SELECT value FROM proj_chat_meta m WHERE m.channel = c.id AND m.attr = 3 "
    "ORDER BY m.at DESC, m.vid DESC LIMIT 1), "
    "(SELECT COUNT(*) FROM proj_chat_messages x WHERE x.channel = c.id), c.grp, c.kind "
    "FROM proj_chat_channels c ";

constexpr const char* kMessageColumns =
    "SELECT m.rowid, m.id, m.channel, m.author, m.created_at, m.thread, m.text, m.deleted, "
    "m.edited_at, m.mentions, m.files FROM proj_chat_messages m ";

Status BadRow(std::string_view what) { return Status::Corruption("chat table: " + std::string(what)); }

}  // namespace

Result<std::vector<Channel>> Chat::Channels(const codec::ObjectId& workspace) {
  return Channels(workspace, nullptr);
}

Result<std::vector<Channel>> Chat::Channels(const codec::ObjectId& workspace,
                                            std::vector<Channel>* former) {
  auto& st = r_.database().Prepare(std::string(kChannelColumns) + "WHERE c.workspace = ?1");
  st.Bind(1, workspace);
  std::vector<Channel> out;
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Channel c;
    TOPO_ASSIGN_OR_RETURN(c.id, st.Fixed<32>(0));
    TOPO_ASSIGN_OR_RETURN(c.workspace, st.Fixed<32>(1));
    if (!st.IsNull(2)) {
      TOPO_ASSIGN_OR_RETURN(auto creator, st.Fixed<32>(2));
      c.creator = creator;
    }
    c.created_at = static_cast<uint64_t>(st.Int64(3));
    if (!st.IsNull(4)) c.name = std::string(st.Text(4));
    if (!st.IsNull(5)) c.topic = std::string(st.Text(5));
    c.archived = !st.IsNull(6) && st.Text(6) == "1";
    c.messages = static_cast<uint64_t>(st.Int64(7));
    if (!st.IsNull(8)) {
      TOPO_ASSIGN_OR_RETURN(c.group, st.Fixed<32>(8));
    } else {
      c.group = c.workspace;
    }
    const int64_t kind = st.Int64(9);
    if (kind < 0 || kind > static_cast<int64_t>(ChannelKind::kDirect)) return BadRow("kind");
    c.kind = static_cast<ChannelKind>(kind);
    out.push_back(std::move(c));
  }
  // A private channel's members are its group's; one this user is not in (any more) is not
  // listed (a removed member keeps what it read, and sees no more). This replica holds such
  // a channel only because this user was in it: peers serve a private channel to its
  // members alone, and its group's membership operations, the removal too, to its former
  // member devices (Replica::MayReadAsFormerMember).
  std::erase_if(out, [&](Channel& c) {
    if (c.kind == ChannelKind::kPublic) return false;
    auto st = r_.GroupStateOf(c.group);
    if (!st.ok()) return true;
    for (const auto& [user, _] : st->members()) c.members.push_back(user);
    if (st->members().count(me_)) return false;
    if (former) former->push_back(c);
    return true;
  });
  for (auto& c : out) {
    if (c.kind != ChannelKind::kPublic) continue;
    auto& m = r_.database().Prepare(
        "SELECT user FROM proj_chat_members WHERE channel = ?1 AND joined = 1 ORDER BY user");
    m.Bind(1, c.id);
    for (;;) {
      TOPO_ASSIGN_OR_RETURN(bool row, m.Step());
      if (!row) break;
      TOPO_ASSIGN_OR_RETURN(auto user, m.Fixed<32>(0));
      c.members.push_back(user);
    }
  }
  // By name; of equal names the older first (the one a name resolves to); unnamed last.
  std::sort(out.begin(), out.end(), [](const Channel& a, const Channel& b) {
    if (a.name.empty() != b.name.empty()) return b.name.empty();
    return std::tie(a.name, a.created_at, a.id) < std::tie(b.name, b.created_at, b.id);
  });
  return out;
}

Result<Channel> Chat::ChannelById(const codec::ObjectId& channel) {
  auto& st = r_.database().Prepare(std::string(kChannelColumns) + "WHERE c.id = ?1");
  st.Bind(1, channel);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no channel " + HexEncodeShort(channel));
  TOPO_ASSIGN_OR_RETURN(auto workspace, st.Fixed<32>(1));
  st.Reset();
  std::vector<Channel> former;
  TOPO_ASSIGN_OR_RETURN(auto all, Channels(workspace, &former));
  for (auto& c : all)
    if (c.id == channel) return c;
  // One this user was removed from (or left): its events and messages stay readable here.
  for (auto& c : former)
    if (c.id == channel) return c;
  return BadRow("channel vanished");
}

Result<Channel> Chat::FindChannel(const codec::ObjectId& workspace, std::string_view text) {
  std::string_view name = text;
  if (!name.empty() && name[0] == '#') name.remove_prefix(1);
  if (name.empty()) return Status::InvalidArgument("no channel named");
  std::vector<Channel> former;
  TOPO_ASSIGN_OR_RETURN(auto all, Channels(workspace, &former));
  for (const auto& c : all)
    if (c.name == name) return c;  // the older of equal names comes first
  if (name.size() >= 4 && IsHex(name)) {
    std::string lower = Lower(name);
    std::vector<const Channel*> hits;
    for (const auto& c : all)
      if (HexEncode(c.id.view()).rfind(lower, 0) == 0) hits.push_back(&c);
    if (hits.size() == 1) return *hits[0];
    if (hits.size() > 1)
      return Status::InvalidArgument("\"" + std::string(text) + "\" names several channels");
  }
  // A private channel or direct conversation this user was taken out of (or left): say so,
  // rather than that there is no such channel.
  for (const auto& c : former)
    if ((!c.name.empty() && c.name == name) ||
        (name.size() >= 4 && IsHex(name) && HexEncode(c.id.view()).rfind(Lower(name), 0) == 0))
      return Status::PermissionDenied("you were removed from #" + c.name +
                                      " (or left it): you keep what you read there, and can "
                                      "neither read nor write anything new");
  std::string names;
  for (const auto& c : all)
    if (!c.name.empty()) names += (names.empty() ? "#" : ", #") + c.name;
  return Status::NotFound("no channel \"" + std::string(text) + "\" in this workspace" +
                          (names.empty() ? "" : " (channels: " + names + ")"));
}

Result<std::string_view> Chat::NewChannelName(const codec::ObjectId& workspace,
                                              std::string_view name, std::string_view topic) {
  if (!name.empty() && name[0] == '#') name.remove_prefix(1);
  TOPO_RETURN_IF_ERROR(CheckChannelName(name));
  if (topic.size() > kMaxTopic)
    return Status::InvalidArgument("the topic is longer than " + std::to_string(kMaxTopic) +
                                   " bytes");
  auto existing = FindChannel(workspace, name);
  if (existing.ok() && existing->name == name)
    return Status::AlreadyExists("the workspace has a channel #" + std::string(name));
  return name;
}

Result<codec::ObjectId> Chat::CreateChannel(const codec::ObjectId& workspace,
                                            std::string_view name, std::string_view topic) {
  TOPO_ASSIGN_OR_RETURN(name, NewChannelName(workspace, name, topic));
  TOPO_ASSIGN_OR_RETURN(auto channel, r_.CreateObject(kChannelBlueprint, workspace));
  TOPO_RETURN_IF_ERROR(Write(channel, Meta{MetaAttr::kName, std::string(name)}).status());
  if (!topic.empty())
    TOPO_RETURN_IF_ERROR(Write(channel, Meta{MetaAttr::kTopic, std::string(topic)}).status());
  TOPO_RETURN_IF_ERROR(Write(channel, Member{me_, true}).status());
  return channel;
}

namespace {
// The certificates of `user`'s certified devices in the workspace.
Result<std::vector<codec::DeviceCertificate>> CertsOf(const object::GroupState& ws,
                                                       const crypto::PublicKey& user) {
  std::vector<codec::DeviceCertificate> certs;
  for (const auto& [device, d] : ws.devices())
    if (d.user == user && d.cert && certs.size() < codec::kMaxMemberDevices)
      certs.push_back(*d.cert);
  if (certs.empty())
    return Status::NotFound("user " + HexEncodeShort(user) +
                            " has no certified device in the workspace");
  return certs;
}
}  // namespace

Result<codec::ObjectId> Chat::CreatePrivate(const codec::ObjectId& workspace, ChannelKind kind,
                                            std::string_view name, std::string_view topic,
                                            const std::vector<crypto::PublicKey>& users,
                                            const codec::DeviceCertificate& self) {
  if (kind == ChannelKind::kPublic)
    return Status::InvalidArgument("a public channel is made by CreateChannel");
  TOPO_ASSIGN_OR_RETURN(name, NewChannelName(workspace, name, topic));
  TOPO_ASSIGN_OR_RETURN(object::GroupState ws, r_.GroupStateOf(workspace));
  if (!ws.members().count(me_))
    return Status::PermissionDenied("this user is not a member of the workspace");
  // Everyone must be reachable before anything is written.
  std::vector<std::vector<codec::DeviceCertificate>> certs;
  for (const auto& u : users) {
    if (u == me_) continue;
    if (!ws.members().count(u))
      return Status::NotFound("user " + HexEncodeShort(u) + " is not a member of the workspace");
    TOPO_ASSIGN_OR_RETURN(auto c, CertsOf(ws, u));
    certs.push_back(std::move(c));
  }
  TOPO_ASSIGN_OR_RETURN(auto group, r_.CreateGroup(self, /*history_visible=*/true));
  TOPO_ASSIGN_OR_RETURN(auto channel,
                        r_.CreateObject(kChannelBlueprint, group,
                                        EncodeChannelParams(ChannelParams{kind, workspace})));
  TOPO_RETURN_IF_ERROR(Write(channel, Meta{MetaAttr::kName, std::string(name)}).status());
  if (!topic.empty())
    TOPO_RETURN_IF_ERROR(Write(channel, Meta{MetaAttr::kTopic, std::string(topic)}).status());
  for (auto& c : certs)
    TOPO_RETURN_IF_ERROR(r_.AddMember(group, std::move(c), codec::Role::kMember).status());
  return channel;
}

Result<std::optional<Channel>> Chat::FindDirect(const codec::ObjectId& workspace,
                                                std::vector<crypto::PublicKey> users) {
  users.push_back(me_);
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  TOPO_ASSIGN_OR_RETURN(auto all, Channels(workspace));
  std::optional<Channel> found;
  for (auto& c : all) {
    if (c.kind != ChannelKind::kDirect) continue;
    std::vector<crypto::PublicKey> members = c.members;
    std::sort(members.begin(), members.end());
    // The oldest of equal conversations (two made concurrently) is the one.
    if (members == users && (!found || std::tie(c.created_at, c.id) <
                                           std::tie(found->created_at, found->id)))
      found = std::move(c);
  }
  return found;
}

Result<codec::VertexId> Chat::Invite(const Channel& c, const crypto::PublicKey& user) {
  if (c.kind == ChannelKind::kPublic)
    return Status::InvalidArgument("#" + c.name +
                                   " is public: every member of the workspace can join it");
  if (c.kind == ChannelKind::kDirect)
    return Status::InvalidArgument(
        "a direct conversation keeps its members (start another one with dm)");
  TOPO_ASSIGN_OR_RETURN(object::GroupState st, r_.GroupStateOf(c.group));
  if (st.members().count(user))
    return Status::AlreadyExists("already a member of #" + c.name);
  auto role = st.RoleOf(me_);
  if (!role || *role == codec::Role::kMember)
    return Status::PermissionDenied("only #" + c.name + "'s owner or its admins invite");
  TOPO_ASSIGN_OR_RETURN(object::GroupState ws, r_.GroupStateOf(c.workspace));
  if (!ws.members().count(user))
    return Status::NotFound("user " + HexEncodeShort(user) + " is not a member of the workspace");
  TOPO_ASSIGN_OR_RETURN(auto certs, CertsOf(ws, user));
  return r_.AddMember(c.group, std::move(certs), codec::Role::kMember);
}

Result<codec::VertexId> Chat::Remove(const Channel& c, const crypto::PublicKey& user) {
  if (c.kind == ChannelKind::kPublic)
    return Status::InvalidArgument("#" + c.name + " is public: members leave it themselves");
  if (user == me_) return LeavePrivate(c);
  TOPO_ASSIGN_OR_RETURN(object::GroupState st, r_.GroupStateOf(c.group));
  if (!st.members().count(user)) return Status::NotFound("not a member of #" + c.name);
  auto role = st.RoleOf(me_);
  if (!role || *role == codec::Role::kMember)
    return Status::PermissionDenied("only #" + c.name + "'s owner or its admins remove members");
  return r_.RemoveMember(c.group, user, /*bar=*/false);
}

Result<codec::VertexId> Chat::LeavePrivate(const Channel& c) {
  TOPO_ASSIGN_OR_RETURN(object::GroupState st, r_.GroupStateOf(c.group));
  if (!st.members().count(me_)) return Status::NotFound("not a member of #" + c.name);
  if (st.RoleOf(me_) == codec::Role::kOwner) {
    // Ownership goes to another member first (an admin if there is one).
    std::optional<crypto::PublicKey> heir;
    for (const auto& [user, m] : st.members()) {
      if (user == me_) continue;
      if (!heir || m.role == codec::Role::kAdmin) heir = user;
      if (m.role == codec::Role::kAdmin) break;
    }
    if (heir) TOPO_RETURN_IF_ERROR(r_.TransferOwnership(c.group, *heir).status());
    if (!heir) return Status::InvalidArgument("the last member of #" + c.name + " stays");
  }
  return r_.Leave(c.group);
}

Result<codec::ObjectId> Chat::EnsureGeneral(const codec::ObjectId& workspace) {
  auto existing = FindChannel(workspace, "general");
  if (existing.ok() && existing->name == "general") return existing->id;
  return CreateChannel(workspace, "general", "Everyone in the workspace");
}

Result<codec::VertexId> Chat::Write(const codec::ObjectId& channel, const Entry& e) {
  TOPO_RETURN_IF_ERROR(CheckEntry(e));
  TOPO_ASSIGN_OR_RETURN(const object::Blueprint* bp, r_.BlueprintOf(channel));
  if (bp->name != kChannelBlueprint)
    return Status::InvalidArgument(HexEncodeShort(channel) + " is not a chat channel");
  auto written = r_.Submit(channel, kEventsField, codec::CrdtOp{codec::LogAppend{EncodeEntry(e)}});
  if (!written.ok()) {
    // Refused because this user is no longer in the channel's group: say that.
    auto c = ChannelById(channel);
    if (c.ok() && c->kind != ChannelKind::kPublic) {
      auto st = r_.GroupStateOf(c->group);
      if (st.ok() && !st->members().count(me_))
        return Status::PermissionDenied("you were removed from #" + c->name +
                                        " (or left it): you can no longer write there");
    }
  }
  return written;
}

Status Chat::Fill(Message& m) {
  auto& st = r_.database().Prepare(
      "SELECT emoji, user FROM proj_chat_reactions WHERE target = ?1 AND channel = ?2 AND "
      "present = 1 ORDER BY emoji, at, vid");
  st.Bind(1, m.id).Bind(2, m.channel);
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    std::string emoji(st.Text(0));
    TOPO_ASSIGN_OR_RETURN(auto user, st.Fixed<32>(1));
    if (m.reactions.empty() || m.reactions.back().emoji != emoji)
      m.reactions.push_back(Reaction{emoji, {}});
    m.reactions.back().users.push_back(user);
  }
  if (!m.thread) {
    auto& n = r_.database().Prepare(
        "SELECT COUNT(*) FROM proj_chat_messages WHERE thread = ?1 AND channel = ?2");
    n.Bind(1, m.id).Bind(2, m.channel);
    TOPO_ASSIGN_OR_RETURN(bool row, n.Step());
    if (row) m.replies = static_cast<uint64_t>(n.Int64(0));
    n.Reset();
  }
  return Status::Ok();
}

Result<std::vector<Message>> Chat::Load(store::Statement& st) {
  std::vector<Message> out;
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Message m;
    m.number = st.Int64(0);
    TOPO_ASSIGN_OR_RETURN(m.id, st.Fixed<32>(1));
    TOPO_ASSIGN_OR_RETURN(m.channel, st.Fixed<32>(2));
    TOPO_ASSIGN_OR_RETURN(m.author, st.Fixed<32>(3));
    m.created_at = static_cast<uint64_t>(st.Int64(4));
    if (!st.IsNull(5)) {
      TOPO_ASSIGN_OR_RETURN(auto root, st.Fixed<32>(5));
      m.thread = root;
    }
    if (!st.IsNull(6)) m.text = std::string(st.Text(6));
    m.deleted = st.Int64(7) != 0;
    if (!st.IsNull(8)) m.edited_at = static_cast<uint64_t>(st.Int64(8));
    if (!st.IsNull(9)) {
      ByteView b = st.Blob(9);
      if (b.size() % 33 != 0) return BadRow("mentions");
      for (size_t i = 0; i < b.size(); i += 33)
        m.mentions.push_back(Mention{static_cast<MentionKind>(b[i]),
                                     FixedBytes<32>::FromView(b.subspan(i + 1, 32))});
    }
    if (!st.IsNull(10)) {
      auto files = nlohmann::json::parse(st.Text(10), nullptr, false);
      if (!files.is_array()) return BadRow("files");
      for (const auto& f : files)
        m.files.push_back(FileAttachment{f.value("ref", ""), f.value("name", ""),
                                         f.value("size", uint64_t{0})});
    }
    out.push_back(std::move(m));
  }
  for (auto& m : out) TOPO_RETURN_IF_ERROR(Fill(m));
  return out;
}

Result<Message> Chat::FindMessage(std::string_view text) {
  std::string_view t = text;
  if (!t.empty() && t[0] == '#') t.remove_prefix(1);
  bool digits = !t.empty() && t.size() <= 18 &&
                std::all_of(t.begin(), t.end(), [](unsigned char c) { return std::isdigit(c); });
  std::vector<Message> hits;
  if (digits) {
    auto& st = r_.database().Prepare(std::string(kMessageColumns) + "WHERE m.rowid = ?1");
    st.Bind(1, static_cast<int64_t>(std::stoll(std::string(t))));
    TOPO_ASSIGN_OR_RETURN(hits, Load(st));
  } else if (t.size() >= 4 && t.size() <= 64 && IsHex(t)) {
    std::string pattern(t);  // hex() writes uppercase
    std::transform(pattern.begin(), pattern.end(), pattern.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    auto& st = r_.database().Prepare(std::string(kMessageColumns) +
                                     "WHERE hex(m.id) LIKE ?1 || '%' LIMIT 2");
    st.Bind(1, std::string_view(pattern));
    TOPO_ASSIGN_OR_RETURN(hits, Load(st));
  } else {
    return Status::InvalidArgument("\"" + std::string(text) +
                                   "\" is not a message number (as `view` shows) or id");
  }
  if (hits.empty()) return Status::NotFound("no message " + std::string(text));
  if (hits.size() > 1)
    return Status::InvalidArgument("\"" + std::string(text) + "\" names several messages");
  return hits[0];
}

Result<Message> Chat::MessageById(const codec::VertexId& id) {
  auto& st = r_.database().Prepare(std::string(kMessageColumns) +
                                     "WHERE substr(m.id, 1, 8) = substr(?1, 1, 8) AND m.id = ?1");
  st.Bind(1, id);
  TOPO_ASSIGN_OR_RETURN(auto hits, Load(st));
  if (hits.empty()) return Status::NotFound("no message " + HexEncodeShort(id));
  return hits[0];
}

Result<std::vector<Message>> Chat::Messages(const codec::ObjectId& channel, size_t limit,
                                            const std::optional<codec::VertexId>& thread) {
  std::vector<Message> out;
  if (thread) {
    auto& st = r_.database().Prepare(std::string(kMessageColumns) +
                                     "WHERE ((substr(m.id, 1, 8) = substr(?1, 1, 8) AND m.id = ?1) OR "
                                     "m.thread = ?1) AND m.channel = ?2 "
                                     "ORDER BY m.created_at DESC, m.id DESC LIMIT ?3");
    st.Bind(1, *thread).Bind(2, channel).Bind(3, static_cast<int64_t>(limit));
    TOPO_ASSIGN_OR_RETURN(out, Load(st));
  } else {
    auto& st = r_.database().Prepare(std::string(kMessageColumns) +
                                     "WHERE m.channel = ?1 AND m.thread IS NULL "
                                     "ORDER BY m.created_at DESC, m.id DESC LIMIT ?2");
    st.Bind(1, channel).Bind(2, static_cast<int64_t>(limit));
    TOPO_ASSIGN_OR_RETURN(out, Load(st));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

namespace {

// The FTS5 query for `text`: each word quoted, so FTS5's operators in the text are searched
// for, not obeyed; every word must match.
std::string MatchExpression(std::string_view text) {
  std::string match;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    std::string quoted = "\"";
    for (char c : word) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    match += (match.empty() ? "" : " ") + quoted + "\"";
    word.clear();
  };
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)))
      flush();
    else
      word += c;
  }
  flush();
  return match;
}

// The filters both plans apply: ?2 workspace, ?3 channel or NULL, ?4 author or NULL; the
// time bounds ?5 and ?6 are each plan's own (see Search).
constexpr const char* kSearchFilters =
    "c.workspace = ?2 AND (?3 IS NULL OR m.channel = ?3) AND (?4 IS NULL OR m.author = ?4) AND "
    "m.deleted = 0 ";

// Binds a key, or NULL when there is none (the queries' "?N IS NULL OR ..." filters).
template <size_t N>
void BindOptional(store::Statement& st, int index, const std::optional<FixedBytes<N>>& key) {
  if (key)
    st.Bind(index, *key);
  else
    st.BindNull(index);
}

void BindSearch(store::Statement& st, std::string_view match, const codec::ObjectId& workspace,
                const SearchQuery& q, uint64_t since, uint64_t until) {
  st.Bind(1, match).Bind(2, workspace);
  BindOptional(st, 3, q.channel);
  BindOptional(st, 4, q.author);
  st.Bind(5, static_cast<int64_t>(since)).Bind(6, static_cast<int64_t>(until));
}

}  // namespace

Result<std::vector<Message>> Chat::Search(const codec::ObjectId& workspace, const SearchQuery& q,
                                          SearchPlan plan) {
  const std::string match = MatchExpression(q.text);
  if (match.empty()) return Status::InvalidArgument("nothing to search for");
  if (q.limit == 0) return std::vector<Message>();
  auto& db = r_.database();
  auto index_first = [&](uint64_t until, size_t limit) {
    auto& st = db.Prepare(std::string(kMessageColumns) +
                          "JOIN chat_fts f ON f.rowid = m.rowid JOIN proj_chat_channels c ON "
                          "c.id = m.channel WHERE chat_fts MATCH ?1 AND " + kSearchFilters +
                          "AND (?5 = 0 OR m.created_at >= ?5) AND (?6 = 0 OR m.created_at < ?6) "
                          "ORDER BY m.created_at DESC, m.id DESC LIMIT ?7");
    BindSearch(st, match, workspace, q, q.since, until);
    st.Bind(7, static_cast<int64_t>(limit));
    return Load(st);
  };
  if (plan == SearchPlan::kAuto) {
    // How many messages the words match, counted up to common_matches_ in the index alone.
    auto& st = db.Prepare(
        "SELECT COUNT(*) FROM (SELECT 1 FROM chat_fts WHERE chat_fts MATCH ?1 LIMIT ?2)");
    st.Bind(1, std::string_view(match)).Bind(2, static_cast<int64_t>(common_matches_));
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    const uint64_t matches = row ? static_cast<uint64_t>(st.Int64(0)) : 0;
    st.Reset();
    plan = matches < common_matches_ ? SearchPlan::kIndexFirst : SearchPlan::kNewestFirst;
  }
  if (plan == SearchPlan::kIndexFirst) return index_first(q.until, q.limit);

  // The time span to walk (the channels' oldest and newest message), and the first window:
  // back to where some channel holds `limit` messages (one index probe and a short walk per
  // channel), so it holds at least `limit` messages.
  auto& span = db.Prepare(
      "SELECT MIN(lo), MAX(hi), MAX(nth) FROM (SELECT (SELECT MIN(created_at) FROM "
      "proj_chat_messages WHERE channel = c.id) AS lo, (SELECT MAX(created_at) FROM "
      "proj_chat_messages WHERE channel = c.id) AS hi, (SELECT created_at FROM "
      "proj_chat_messages WHERE channel = c.id ORDER BY created_at DESC LIMIT 1 OFFSET ?3) AS "
      "nth FROM proj_chat_channels c WHERE c.workspace = ?1 AND (?2 IS NULL OR c.id = ?2))");
  span.Bind(1, workspace);
  BindOptional(span, 2, q.channel);
  span.Bind(3, static_cast<int64_t>(q.limit - 1));
  TOPO_ASSIGN_OR_RETURN(bool row, span.Step());
  if (!row || span.IsNull(0)) {
    span.Reset();
    return std::vector<Message>();
  }
  const uint64_t oldest = static_cast<uint64_t>(span.Int64(0));
  const uint64_t newest = static_cast<uint64_t>(span.Int64(1));
  const uint64_t nth = span.IsNull(2) ? oldest : static_cast<uint64_t>(span.Int64(2));
  span.Reset();
  const uint64_t floor = std::max(oldest, q.since);
  uint64_t hi = q.until ? std::min(newest + 1, q.until) : newest + 1;
  uint64_t width = std::max<uint64_t>(1, newest + 1 - nth);

  // A window's messages: how many, and the span of their rowids (the index on (channel,
  // created_at) holds the rowid, so this reads no row).
  auto& rows = db.Prepare(
      "SELECT COUNT(*), MIN(m.rowid), MAX(m.rowid) FROM proj_chat_messages m JOIN "
      "proj_chat_channels c ON c.id = m.channel WHERE c.workspace = ?1 AND (?2 IS NULL OR "
      "m.channel = ?2) AND m.created_at >= ?3 AND m.created_at < ?4");
  // Its matches: the index is read for that rowid span only, in one pass (looking each row up
  // in the index cost a seek per segment per row, ~100 µs at 1M messages).
  auto& window = db.Prepare(
      std::string(kMessageColumns) + "JOIN proj_chat_channels c ON c.id = m.channel WHERE " +
      kSearchFilters +
      "AND m.created_at >= ?5 AND m.created_at < ?6 AND m.rowid IN (SELECT rowid FROM chat_fts "
      "WHERE chat_fts MATCH ?1 AND rowid >= ?8 AND rowid <= ?9) "
      "ORDER BY m.created_at DESC, m.id DESC LIMIT ?7");
  std::vector<Message> out;
  uint64_t walked = 0;  // messages in the windows so far
  while (out.size() < q.limit && hi > floor) {
    if (walked >= walk_budget_) {
      // Rare in what the filters leave: the rest from the index.
      TOPO_ASSIGN_OR_RETURN(auto rest, index_first(hi, q.limit - out.size()));
      for (auto& m : rest) out.push_back(std::move(m));
      break;
    }
    const uint64_t lo = hi - std::min(width, hi - floor);
    rows.Bind(1, workspace);
    BindOptional(rows, 2, q.channel);
    rows.Bind(3, static_cast<int64_t>(lo)).Bind(4, static_cast<int64_t>(hi));
    TOPO_ASSIGN_OR_RETURN(bool counted, rows.Step());
    const uint64_t n = counted ? static_cast<uint64_t>(rows.Int64(0)) : 0;
    const int64_t first = n ? rows.Int64(1) : 0, last = n ? rows.Int64(2) : 0;
    rows.Reset();
    if (n > 0) {
      BindSearch(window, match, workspace, q, lo, hi);
      window.Bind(7, static_cast<int64_t>(q.limit - out.size()));
      window.Bind(8, first).Bind(9, last);
      TOPO_ASSIGN_OR_RETURN(auto found, Load(window));
      for (auto& m : found) out.push_back(std::move(m));
    }
    walked += n;
    hi = lo;
    width = width > (uint64_t{1} << 62) ? width : width * 2;
  }
  return out;
}

Result<std::vector<Message>> Chat::WithFiles(const codec::ObjectId& workspace,
                                             const std::optional<codec::ObjectId>& channel,
                                             size_t limit) {
  auto& st = r_.database().Prepare(
      std::string(kMessageColumns) +
      "JOIN proj_chat_channels c ON c.id = m.channel WHERE c.workspace = ?1 AND "
      "(?2 IS NULL OR m.channel = ?2) AND m.files IS NOT NULL AND m.deleted = 0 "
      "ORDER BY m.created_at DESC, m.id DESC LIMIT ?3");
  st.Bind(1, workspace);
  BindOptional(st, 2, channel);
  st.Bind(3, static_cast<int64_t>(limit));
  return Load(st);
}

Result<uint64_t> Chat::Unread(const codec::ObjectId& channel) {
  auto& st = r_.database().Prepare(
      "SELECT COUNT(*) FROM proj_chat_messages WHERE channel = ?1 AND deleted = 0 AND "
      "author != ?2 AND rowid > COALESCE((SELECT seq FROM chat_read WHERE channel = ?1), 0)");
  st.Bind(1, channel).Bind(2, me_);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
  uint64_t n = row ? static_cast<uint64_t>(st.Int64(0)) : 0;
  st.Reset();
  return n;
}

Result<uint64_t> Chat::MarkRead(const codec::ObjectId& channel) {
  TOPO_ASSIGN_OR_RETURN(uint64_t unread, Unread(channel));
  auto& st = r_.database().Prepare(
      "INSERT OR REPLACE INTO chat_read(channel, seq) VALUES (?1, (SELECT COALESCE(MAX(rowid), 0) "
      "FROM proj_chat_messages WHERE channel = ?1))");
  st.Bind(1, channel);
  TOPO_RETURN_IF_ERROR(st.Run());
  return unread;
}

std::vector<Mention> ParseMentions(
    std::string_view text, const std::vector<std::pair<crypto::PublicKey, std::string>>& names,
    const std::vector<Channel>& channels) {
  std::vector<Mention> out;
  auto add = [&out](Mention m) {
    if (std::find(out.begin(), out.end(), m) == out.end() && out.size() < kMaxMentions)
      out.push_back(m);
  };
  auto word_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           (static_cast<unsigned char>(c) >= 0x80);
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char sigil = text[i];
    if (sigil != '@' && sigil != '#') continue;
    if (i > 0 && word_char(text[i - 1])) continue;  // an e-mail address, a URL fragment
    size_t j = i + 1;
    while (j < text.size() && word_char(text[j])) ++j;
    std::string_view word = text.substr(i + 1, j - i - 1);
    while (!word.empty() && word.back() == '.') word.remove_suffix(1);  // end of a sentence
    if (word.empty()) continue;
    if (sigil == '@') {
      for (const auto& [user, name] : names)
        if (name == word) add(Mention{MentionKind::kUser, user});
    } else {
      for (const auto& c : channels)
        if (c.name == word) {
          add(Mention{MentionKind::kChannel, c.id});
          break;
        }
    }
  }
  return out;
}

}  // namespace topo::apps::chat
