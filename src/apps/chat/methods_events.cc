// chat.events: the event journal (apps/chat/events.h) over JSON-RPC, for `topo sub`, bots
// and UIs. A subscriber passes the `last` of one answer as the `after` of the next; with
// `wait_ms` it long-polls: when nothing is past `after`, the reply is deferred
// (api/jsonrpc.h, DeferReply) and the handler runs again whenever the node applies vertices
// (node::Node's applied listener wakes the RPC server) until an event is there or the wait
// ends. The daemon's loop is never blocked.
#include <algorithm>

#include "api/methods.h"
#include "apps/chat/events.h"
#include "apps/chat/group_events.h"
#include "apps/chat/methods.h"
#include "util/encoding.h"

namespace topo::apps::chat {
namespace {

using api::Check;
using api::Failure;
using api::json;

constexpr uint64_t kDefaultLimit = 100;
constexpr uint64_t kMaxLimit = 1000;

struct Names {
  json profiles;
  crypto::PublicKey me;
  std::string Of(const crypto::PublicKey& user) const {
    std::string name = api::DisplayName(profiles, user);
    return name.empty() ? HexEncodeShort(user) : name;
  }
};

json EventJson(const Names& names, Chat& chat, const Event& e) {
  json j{{"seq", e.seq},
         {"kind", EventKindName(e.kind)},
         {"at", e.at},
         {"vertex", HexEncode(e.vertex.view())},
         {"channel", HexEncode(e.channel.view())},
         {"channel_name", e.channel_name},
         {"author", e.author ? json(HexEncode(e.author->view())) : json(nullptr)},
         {"author_name", e.author ? json(names.Of(*e.author)) : json(nullptr)},
         {"you", e.author && *e.author == names.me}};
  if (e.message) {
    const Message& m = *e.message;
    json thread = nullptr;
    if (m.thread) {
      auto root = chat.MessageById(*m.thread);
      thread = root.ok() ? json(root->number) : json(HexEncode(m.thread->view()));
    }
    j["number"] = m.number;
    j["message"] = HexEncode(m.id.view());
    j["message_author"] = HexEncode(m.author.view());
    j["message_author_name"] = names.Of(m.author);
    j["text"] = m.text;
    j["deleted"] = m.deleted;
    j["edited"] = m.edited_at.has_value();
    j["thread"] = thread;
    bool mentions_you = false;
    for (const auto& mt : m.mentions)
      mentions_you = mentions_you || (mt.kind == MentionKind::kUser && mt.key == names.me);
    j["mentions_you"] = mentions_you;
  }
  switch (e.kind) {
    case EventKind::kReaction:
      j["emoji"] = e.emoji;
      j["added"] = e.added;
      break;
    case EventKind::kMember:
      if (e.member) {
        j["member"] = HexEncode(e.member->view());
        j["member_name"] = names.Of(*e.member);
      }
      j["joined"] = e.joined;
      break;
    case EventKind::kChannel:
      j["change"] = ChannelChangeName(e.change);
      if (e.change == ChannelChange::kArchived)
        j["value"] = e.value == "1";
      else if (e.change != ChannelChange::kCreated)
        j["value"] = e.value;
      break;
    case EventKind::kMessage:
    case EventKind::kEdit:
    case EventKind::kDelete:
      break;
  }
  return j;
}

}  // namespace

void AddEventMethods(api::MethodTable& t, node::Node& n) {
  // Member events of private channels (their groups' operations), journaled after commit.
  n.SetAppliedListener("chat.group-events", [&n](std::span<const object::AppliedVertex> applied) {
    auto r = n.replica();
    if (!r.ok()) return;
    if (auto s = JournalGroupChanges(**r, applied); !s.ok())
      n.log().Warn("chat: cannot journal a membership change: " + s.message());
  });
  api::AddMethod(
      t,
      {"chat.events",
       "New messages, edits, deletes, reactions, joins and channel changes, in the order "
       "this device applied them (what `topo sub` streams)",
       {{"workspace", "string, optional: workspace id or prefix (default: the current one)"},
        {"after",
         "integer, optional: only events with a larger seq (default: the journal's "
         "end, so only what comes next)"},
        {"channel", "string, optional: only this channel (#name, name or id prefix)"},
        {"limit", "integer, optional: at most this many (default 100, at most 1000)"},
        {"wait_ms",
         "integer, optional: a long poll (with after): when there is no event after `after`, "
         "hold the reply until one is applied or this many ms have passed (at most 30000), "
         "then answer (events empty when the wait ended first); default 0: answer at once"}},
       "{events: [{seq, kind, at, vertex, channel, channel_name, author, author_name, you, "
       "...}], last, more} where kind is message|edit|delete|reaction|member|channel; message "
       "kinds add number, message, message_author, message_author_name, text (as shown "
       "now: \"\" once deleted), deleted, edited, thread, mentions_you; reaction adds "
       "emoji, added; member adds member, member_name, joined; channel adds change "
       "(created|name|topic|archived) and value. Pass last as the next call's after; more "
       "is true when the journal has events past last (the page was full)",
       {{"after", 0}, {"channel", "general"}, {"wait_ms", 30000}}},
      [&n](const json& params) {
        api::Open o = api::OpenNode(n);
        codec::ObjectId workspace = api::ResolveWorkspace(o.r, params);
        const crypto::PublicKey me = o.id.user.public_key();
        Chat chat(o.r, me);
        EventQuery q;
        q.workspace = workspace;
        if (auto text = api::OptionalString(params, "channel"))
          q.channel = Check(chat.FindChannel(workspace, *text)).id;
        uint64_t limit = Check(api::UintParam(params, "limit", kDefaultLimit));
        q.limit = static_cast<size_t>(std::min(limit, kMaxLimit));
        uint64_t wait_ms = Check(api::UintParam(params, "wait_ms", 0));
        if (wait_ms > api::kMaxDeferMs)
          throw Failure{Status::InvalidArgument("\"wait_ms\" is at most " +
                                                std::to_string(api::kMaxDeferMs))};
        if (!params.contains("after"))
          return json{{"events", json::array()}, {"last", Check(JournalEnd(o.r))}, {"more", false}};
        uint64_t after = Check(api::UintParam(params, "after", 0));
        if (after > static_cast<uint64_t>(INT64_MAX))
          throw Failure{Status::InvalidArgument("\"after\" is out of range")};
        q.after = static_cast<int64_t>(after);
        EventPage page = Check(ReadEvents(o.r, chat, q));
        // Nothing to tell yet: hold the reply (when the transport can) and look again when
        // something is applied, or answer empty at the end of the wait.
        if (page.events.empty() && wait_ms > 0 && api::DeferReply(wait_ms)) return json::object();
        Names names{api::Profiles(o.r, workspace), me};
        json events = json::array();
        for (const auto& e : page.events) events.push_back(EventJson(names, chat, e));
        bool more = page.last < Check(JournalEnd(o.r));
        return json{{"events", events}, {"last", page.last}, {"more", more}};
      });
}

}  // namespace topo::apps::chat
