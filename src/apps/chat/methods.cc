#include "apps/chat/methods.h"

#include <algorithm>

#include "api/methods.h"
#include "api/service.h"
#include "apps/chat/chat.h"
#include "apps/chat/method_ctx.h"
#include "apps/chat/projector.h"
#include "util/clock.h"
#include "util/encoding.h"

namespace topo::apps::chat {
namespace {

json ChannelJson(Ctx& x, const Channel& c) {
  json members = json::array();
  bool joined = false;
  for (const auto& u : c.members) {
    members.push_back(x.Name(u));
    joined = joined || u == x.me();
  }
  return {{"channel", HexEncode(c.id.view())},
          {"name", c.name},
          {"kind", ChannelKindName(c.kind)},
          {"topic", c.topic},
          {"archived", c.archived},
          {"creator", c.creator ? x.Name(*c.creator) : ""},
          {"created_at", c.created_at},
          {"members", members},
          {"joined", joined},
          {"messages", c.messages},
          {"unread", Check(x.chat.Unread(c.id))}};
}

json MessageJson(Ctx& x, const Message& m) {
  json reactions = json::array();
  for (const auto& r : m.reactions) {
    json users = json::array();
    bool mine = false;
    for (const auto& u : r.users) {
      users.push_back(x.Name(u));
      mine = mine || u == x.me();
    }
    reactions.push_back({{"emoji", r.emoji}, {"count", r.users.size()}, {"users", users},
                         {"you", mine}});
  }
  json mentions = json::array();
  for (const auto& mt : m.mentions)
    mentions.push_back({{"kind", mt.kind == MentionKind::kUser ? "user" : "channel"},
                        {"key", HexEncode(mt.key.view())},
                        {"you", mt.kind == MentionKind::kUser && mt.key == x.me()}});
  json files = json::array();
  for (size_t i = 0; i < m.files.size(); ++i)
    files.push_back({{"file", FileId(m.number, i + 1)},
                     {"ref", m.files[i].ref},
                     {"name", m.files[i].name},
                     {"size", m.files[i].size}});
  json thread = nullptr;
  if (m.thread) {
    auto root = x.chat.MessageById(*m.thread);
    thread = root.ok() ? json(root->number) : json(HexEncode(m.thread->view()));
  }
  return {{"number", m.number},
          {"message", HexEncode(m.id.view())},
          {"channel", HexEncode(m.channel.view())},
          {"author", HexEncode(m.author.view())},
          {"author_name", x.Name(m.author)},
          {"you", m.author == x.me()},
          {"created_at", m.created_at},
          {"text", m.text},
          {"deleted", m.deleted},
          {"edited", m.edited_at.has_value()},
          {"thread", thread},
          {"replies", m.replies},
          {"reactions", reactions},
          {"mentions", mentions},
          {"files", files}};
}

json MessagesJson(Ctx& x, const std::vector<Message>& ms) {
  json out = json::array();
  for (const auto& m : ms) out.push_back(MessageJson(x, m));
  return out;
}

void RequireWritable(const Channel& c) {
  if (c.archived)
    throw Failure{Status::Rejected("#" + c.name +
                                             " is archived (channel archive --undo reopens it)")};
}

// A channel change only its creator or an admin may make.
void RequireCreatorOrAdmin(Ctx& x, const Channel& c, std::string_view what) {
  if ((c.creator && *c.creator == x.me()) || x.IsAdminOf(c)) return;
  throw Failure{Status::PermissionDenied("only #" + c.name + "'s creator or an admin may " +
                                         std::string(what))};
}

json Written(Ctx& x, const codec::VertexId& v) {
  auto m = x.chat.MessageById(v);
  json out{{"vertex", HexEncode(v.view())}};
  if (m.ok()) out["number"] = m->number;
  return out;
}

}  // namespace

void AddMethods(api::MethodTable& t, node::Node& n) {
  // create-workspace makes #general too.
  if (api::Handler create = t.HandlerOf("workspace.create")) {
    const api::MethodSpec* spec = t.Find("workspace.create");
    api::MethodSpec wrapped = *spec;
    wrapped.summary += "; with a #general channel";
    wrapped.result = "{workspace, name, general}";
    api::AddMethod(t, wrapped, [&n, create](const json& params) {
      json out = Check(create(params));
      json p{{"workspace", out["workspace"]}};
      Ctx x(n, p);
      out["general"] = HexEncode(Check(x.chat.EnsureGeneral(x.workspace)).view());
      return out;
    });
  }

  api::AddMethod(t, {"chat.channels", "The workspace's channels", {kWorkspace},
                     "[{channel, name, topic, archived, creator, created_at, members, joined, "
                     "messages, unread}]",
                     json::object()},
                 [&n](const json& params) {
                   Ctx x(n, params);
                   json out = json::array();
                   for (const auto& c : Check(x.chat.Channels(x.workspace)))
                     out.push_back(ChannelJson(x, c));
                   return out;
                 });

  api::AddMethod(
      t,
      {"chat.channel.create",
       "Creates a channel: public (everyone may join; you join it), or private (its own "
       "members and key epochs; you own it)",
       {kWorkspace, {"name", "string, required: lowercase letters, digits, . _ -"},
        {"topic", "string, optional: what it is for"},
        {"private", "bool, optional: a private channel"},
        {"members", "array or comma-separated string, optional: users to add to a private one"}},
       "{channel, name, kind, members, ...}",
       {{"name", "design"}, {"topic", "mockups and reviews"}}},
      [&n](const json& params) {
        Ctx x(n, params);
        std::string name = Str(params, "name");
        std::string topic = api::OptionalString(params, "topic").value_or("");
        bool priv = Check(api::BoolParam(params, "private", false));
        std::vector<crypto::PublicKey> members = x.Users(params, "members");
        if (!priv && !members.empty())
          throw Failure{Status::InvalidArgument(
              "members are added to private channels only: everyone may join a public one")};
        auto id = priv ? Check(x.chat.CreatePrivate(x.workspace, ChannelKind::kPrivate, name,
                                                    topic, members, x.o.id.cert))
                       : Check(x.chat.CreateChannel(x.workspace, name, topic));
        return ChannelJson(x, Check(x.chat.ChannelById(id)));
      });

  for (bool invite : {true, false}) {
    api::AddMethod(
        t,
        {invite ? "chat.channel.invite" : "chat.channel.remove",
         invite ? "Adds a workspace member to a private channel (its owner or admins)"
                : "Removes a member from a private channel (its owner or admins); a new key "
                  "epoch starts, so they read nothing written after",
         {kWorkspace, kChannelRequired, {"user", "string, required: a member's name or key"}},
         "{channel, name, kind, members, ...}",
         {{"channel", "plans"}, {"user", "carol"}}},
        [&n, invite](const json& params) {
          Ctx x(n, params);
          Channel c = x.ChannelParam(params, true);
          std::string u = Str(params, "user");
          if (!u.empty() && u[0] == '@') u.erase(0, 1);
          crypto::PublicKey user = x.User(u);
          Check(invite ? x.chat.Invite(c, user) : x.chat.Remove(c, user));
          if (!invite && user == x.me())
            return json{{"channel", HexEncode(c.id.view())}, {"name", c.name}, {"left", true}};
          return ChannelJson(x, Check(x.chat.ChannelById(c.id)));
        });
  }

  api::AddMethod(
      t,
      {"chat.dm",
       "Opens the direct conversation with these members (one is made the first time): a "
       "private conversation of its own members and key epochs",
       {kWorkspace, {"users", "array or comma-separated string, required: names or keys"}},
       "{channel, name, kind, members, ...}",
       {{"users", "bob"}}},
      [&n](const json& params) {
        Ctx x(n, params);
        std::vector<crypto::PublicKey> users = x.Users(params, "users");
        std::erase(users, x.me());
        if (users.empty())
          throw Failure{Status::InvalidArgument("name at least one other member (\"users\")")};
        if (auto found = Check(x.chat.FindDirect(x.workspace, users)))
          return ChannelJson(x, *found);
        // Named after its members: dm-alice-bob (names made fit for a channel name).
        std::vector<std::string> names{x.Name(x.me())};
        for (const auto& u : users) names.push_back(x.Name(u));
        std::sort(names.begin(), names.end());
        std::string name = "dm";
        for (const auto& nm : names) {
          name += '-';
          for (unsigned char ch : nm) {
            char c = static_cast<char>(std::tolower(ch));
            name += ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_')
                        ? c
                        : '_';
          }
        }
        if (name.size() > kMaxChannelName) name.resize(kMaxChannelName);
        // Two conversations may share a name (another member set with the same names):
        // the id tells them apart.
        auto clash = x.chat.FindChannel(x.workspace, name);
        if (clash.ok() && clash->name == name) {
          name.resize(std::min(name.size(), kMaxChannelName - 5));
          name += "-" + HexEncode(crypto::RandomFixed<2>().view());
        }
        auto id = Check(x.chat.CreatePrivate(x.workspace, ChannelKind::kDirect, name, "", users,
                                             x.o.id.cert));
        return ChannelJson(x, Check(x.chat.ChannelById(id)));
      });

  api::AddMethod(t, {"chat.channel.rename", "Renames a channel (its creator or an admin)",
                     {kWorkspace, kChannelRequired, {"name", "string, required: the new name"}},
                     "{channel, name}", {{"channel", "design"}, {"name", "design-team"}}},
                 [&n](const json& params) {
                   Ctx x(n, params);
                   Channel c = x.ChannelParam(params, true);
                   std::string name = Str(params, "name");
                   if (!name.empty() && name[0] == '#') name.erase(0, 1);
                   Check(CheckChannelName(name));
                   RequireCreatorOrAdmin(x, c, "rename it");
                   auto other = x.chat.FindChannel(x.workspace, name);
                   if (other.ok() && other->name == name && other->id != c.id)
                     throw Failure{Status::AlreadyExists("the workspace has a channel #" + name)};
                   Check(x.chat.Write(c.id, Meta{MetaAttr::kName, name}));
                   return ChannelJson(x, Check(x.chat.ChannelById(c.id)));
                 });

  api::AddMethod(t, {"chat.channel.topic", "Sets a channel's topic",
                     {kWorkspace, kChannelRequired, {"topic", "string, required: \"\" clears it"}},
                     "{channel, topic}", {{"channel", "design"}, {"topic", "mockups"}}},
                 [&n](const json& params) {
                   Ctx x(n, params);
                   Channel c = x.ChannelParam(params, true);
                   Check(x.chat.Write(c.id, Meta{MetaAttr::kTopic, Str(params, "topic")}));
                   return ChannelJson(x, Check(x.chat.ChannelById(c.id)));
                 });

  api::AddMethod(t, {"chat.channel.archive", "Archives a channel, or reopens it (undo)",
                     {kWorkspace, kChannelRequired,
                      {"undo", "bool, optional: reopen an archived channel"}},
                     "{channel, archived}", {{"channel", "design"}}},
                 [&n](const json& params) {
                   Ctx x(n, params);
                   Channel c = x.ChannelParam(params, true);
                   bool undo = Check(api::BoolParam(params, "undo", false));
                   RequireCreatorOrAdmin(x, c, undo ? "reopen it" : "archive it");
                   Check(x.chat.Write(c.id, Meta{MetaAttr::kArchived, undo ? "0" : "1"}));
                   return ChannelJson(x, Check(x.chat.ChannelById(c.id)));
                 });

  for (bool join : {true, false}) {
    api::AddMethod(
        t,
        {join ? "chat.channel.join" : "chat.channel.leave",
         join ? "Joins a public channel" : "Leaves a channel",
         {kWorkspace, kChannelRequired},
         "{channel, joined}",
         {{"channel", "design"}}},
        [&n, join](const json& params) {
          Ctx x(n, params);
          Channel c = x.ChannelParam(params, true);
          if (c.kind != ChannelKind::kPublic) {
            if (join)
              throw Failure{Status::PermissionDenied(
                  "#" + c.name + " is private: its owner or an admin invites members")};
            Check(x.chat.LeavePrivate(c));
            return json{{"channel", HexEncode(c.id.view())}, {"name", c.name}, {"left", true}};
          }
          Check(x.chat.Write(c.id, Member{x.me(), join}));
          return ChannelJson(x, Check(x.chat.ChannelById(c.id)));
        });
  }

  api::AddMethod(
      t,
      {"chat.send",
       "Sends a message (or a reply in a thread)",
       {kWorkspace, kChannel, {"text", "string, required: UTF-8, at most 16 KiB"},
        {"thread", "string, optional: the thread's root message (number or id)"},
        {"files", "array, optional: [{ref, name, size}] from file.add"}},
       "{vertex, number}",
       {{"channel", "general"}, {"text", "hello @bob, see #design"}}},
      [&n](const json& params) {
        Ctx x(n, params);
        Post p;
        p.text = Str(params, "text");
        std::optional<Channel> channel;
        if (auto root_text = api::OptionalString(params, "thread")) {
          json q{{"message", *root_text}};
          Message root = x.MessageParam(q);
          if (root.thread) root = Check(x.chat.MessageById(*root.thread));
          p.thread = root.id;
          channel = Check(x.chat.ChannelById(root.channel));
          if (params.contains("channel") && x.ChannelParam(params).id != channel->id)
            throw Failure{Status::InvalidArgument("message " + *root_text + " is in #" +
                                                  channel->name + ", not in " +
                                                  Str(params, "channel"))};
        } else {
          channel = x.ChannelParam(params);
        }
        RequireWritable(*channel);
        if (params.contains("files")) {
          if (!params["files"].is_array())
            throw Failure{Status::InvalidArgument("\"files\" must be an array")};
          for (const auto& f : params["files"]) {
            if (!f.is_object() || !f.contains("ref") || !f["ref"].is_string())
              throw Failure{Status::InvalidArgument("each file needs a \"ref\" string")};
            p.files.push_back(FileAttachment{f["ref"], f.value("name", ""),
                                             f.value("size", uint64_t{0})});
          }
        }
        p.mentions = ParseMentions(p.text, x.Names(), Check(x.chat.Channels(x.workspace)));
        auto v = Check(x.chat.Write(channel->id, p));
        return Written(x, v);
      });

  api::AddMethod(t, {"chat.edit", "Edits one of your messages (the history is kept)",
                     {kWorkspace, kMessage, {"text", "string, required: the new text"}},
                     "{vertex, number}", {{"message", "12"}, {"text", "hello, fixed"}}},
                 [&n](const json& params) {
                   Ctx x(n, params);
                   Message m = x.MessageParam(params);
                   if (m.deleted) throw Failure{Status::NotFound("message " + Str(params, "message") + " was deleted")};
                   if (m.author != x.me())
                     throw Failure{Status::PermissionDenied("only its author edits a message")};
                   Check(x.chat.Write(m.channel, Edit{m.id, Str(params, "text")}));
                   return json{{"message", HexEncode(m.id.view())}, {"number", m.number}};
                 });

  api::AddMethod(t, {"chat.delete", "Deletes a message (its author or an admin)",
                     {kWorkspace, kMessage}, "{message, number}", {{"message", "12"}}},
                 [&n](const json& params) {
                   Ctx x(n, params);
                   Message m = x.MessageParam(params);
                   if (m.deleted) throw Failure{Status::NotFound("message " + Str(params, "message") + " was deleted already")};
                   if (m.author != x.me() && !x.IsAdminOf(Check(x.chat.ChannelById(m.channel))))
                     throw Failure{Status::PermissionDenied(
                         "only its author or an admin deletes a message")};
                   Check(x.chat.Write(m.channel, Delete{m.id}));
                   return json{{"message", HexEncode(m.id.view())}, {"number", m.number}};
                 });

  api::AddMethod(t, {"chat.react", "Adds (or removes) a reaction to a message",
                     {kWorkspace, kMessage, {"emoji", "string, required: e.g. 👍 or :+1:"},
                      {"remove", "bool, optional: take your reaction back"}},
                     "{message, reactions}", {{"message", "12"}, {"emoji", "👍"}}},
                 [&n](const json& params) {
                   Ctx x(n, params);
                   Message m = x.MessageParam(params);
                   if (m.deleted) throw Failure{Status::NotFound("message " + Str(params, "message") + " was deleted")};
                   bool remove = Check(api::BoolParam(params, "remove", false));
                   Check(x.chat.Write(m.channel, React{m.id, Str(params, "emoji"), !remove}));
                   return MessageJson(x, Check(x.chat.MessageById(m.id)));
                 });

  api::AddMethod(t, {"chat.messages", "A channel's latest messages, or a thread",
                     {kWorkspace, kChannel, {"limit", "integer, optional: how many (default 50)"},
                      {"thread", "string, optional: a thread's root message: the thread"}},
                     "[{number, message, author_name, created_at, text, deleted, edited, "
                     "thread, replies, reactions, mentions, files: [{file, ref, name, size}]}] "
                     "oldest first",
                     {{"channel", "general"}, {"limit", 20}}},
                 [&n](const json& params) {
                   Ctx x(n, params);
                   size_t limit = Check(api::UintParam(params, "limit", 50));
                   std::optional<codec::VertexId> thread;
                   codec::ObjectId channel;
                   if (auto root_text = api::OptionalString(params, "thread")) {
                     json q{{"message", *root_text}};
                     Message root = x.MessageParam(q);
                     thread = root.thread ? *root.thread : root.id;
                     channel = root.channel;
                   } else {
                     channel = x.ChannelParam(params).id;
                   }
                   return MessagesJson(x, Check(x.chat.Messages(channel, limit, thread)));
                 });

  api::AddMethod(
      t,
      {"chat.view", "What `topo view` shows: workspace, channel, members, latest messages",
       {kWorkspace, kChannel, {"limit", "integer, optional: how many messages (default 20)"}},
       "{workspace: {id, name}, channel, members: [{user, name, you}], messages, now}",
       {{"channel", "general"}}},
      [&n](const json& params) {
        Ctx x(n, params);
        Channel c = x.ChannelParam(params);
        size_t limit = Check(api::UintParam(params, "limit", 20));
        auto shown = x.o.r.Show(x.workspace);
        std::string ws_name = shown.ok() && (*shown)["name"].is_string() ? (*shown)["name"].get<std::string>() : "";
        json members = json::array();
        const object::GroupState st = x.State();
        for (const auto& [user, _] : st.members())
          members.push_back({{"user", HexEncode(user.view())}, {"name", x.Name(user)},
                             {"you", user == x.me()}});
        return json{{"workspace", {{"id", HexEncode(x.workspace.view())}, {"name", ws_name}}},
                    {"channel", ChannelJson(x, c)},
                    {"members", members},
                    {"messages", MessagesJson(x, Check(x.chat.Messages(c.id, limit, std::nullopt)))},
                    {"now", SystemClock::Instance().NowMs()}};
      });

  api::AddMethod(t, {"chat.search", "Searches the messages this device can read",
                     {kWorkspace, {"query", "string, required: words that must all appear"},
                      {"channel", "string, optional: only this channel"},
                      {"author", "string, optional: only this member (name or key)"},
                      {"since", "string, optional: only newer than this (e.g. 7d, 12h)"},
                      {"until", "string, optional: only older than this (e.g. 1d)"},
                      {"limit", "integer, optional: at most this many (default 20)"}},
                     "[message] newest first", {{"query", "release plan"}}},
                 [&n](const json& params) {
                   Ctx x(n, params);
                   SearchQuery q;
                   q.text = Str(params, "query");
                   if (params.contains("channel")) q.channel = x.ChannelParam(params).id;
                   if (auto a = api::OptionalString(params, "author"))
                     q.author = api::ResolveUser(x.o.r, x.workspace, x.State(), *a);
                   uint64_t now = SystemClock::Instance().NowMs();
                   if (auto s = api::OptionalString(params, "since"))
                     q.since = now - std::min(now, api::ParseDuration(*s));
                   if (auto u = api::OptionalString(params, "until"))
                     q.until = now - std::min(now, api::ParseDuration(*u));
                   q.limit = Check(api::UintParam(params, "limit", 20));
                   return MessagesJson(x, Check(x.chat.Search(x.workspace, q)));
                 });

  api::AddMethod(t, {"chat.unread", "Unread messages per channel", {kWorkspace},
                     "[{channel, name, unread}] (channels with unread messages)", json::object()},
                 [&n](const json& params) {
                   Ctx x(n, params);
                   json out = json::array();
                   for (const auto& c : Check(x.chat.Channels(x.workspace))) {
                     uint64_t unread = Check(x.chat.Unread(c.id));
                     if (unread > 0)
                       out.push_back({{"channel", HexEncode(c.id.view())}, {"name", c.name},
                                      {"unread", unread}});
                   }
                   return out;
                 });

  api::AddMethod(t, {"chat.mark_read", "Marks a channel read (or every channel)",
                     {kWorkspace, kChannel, {"all", "bool, optional: every channel"}},
                     "{marked: [{channel, name, was_unread}]}", {{"channel", "general"}}},
                 [&n](const json& params) {
                   Ctx x(n, params);
                   std::vector<Channel> channels;
                   if (Check(api::BoolParam(params, "all", false)))
                     channels = Check(x.chat.Channels(x.workspace));
                   else
                     channels.push_back(x.ChannelParam(params));
                   json marked = json::array();
                   for (const auto& c : channels)
                     marked.push_back({{"channel", HexEncode(c.id.view())}, {"name", c.name},
                                       {"was_unread", Check(x.chat.MarkRead(c.id))}});
                   return json{{"marked", marked}};
                 });

  AddChatFileMethods(t, n);  // after chat.send: they reuse it
  AddEventMethods(t, n);
}

Status RegisterApp() {
  TOPO_RETURN_IF_ERROR(Register());
  static bool methods_added = false;
  if (!methods_added) {
    api::RegisterMethodExtension(AddMethods);
    methods_added = true;
  }
  return Status::Ok();
}

}  // namespace topo::apps::chat
