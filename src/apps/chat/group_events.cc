#include "apps/chat/group_events.h"

#include <map>
#include <vector>

#include "apps/chat/events.h"
#include "codec/vertex.h"
#include "object/group_state.h"

namespace topo::apps::chat {
namespace {

struct ChannelOfGroup {
  codec::ObjectId channel;
  codec::ObjectId workspace;
};

// The chat channels that live in `group` (a private channel's or direct conversation's own
// group; public channels have none).
Result<std::vector<ChannelOfGroup>> ChannelsIn(object::Replica& r, const codec::ObjectId& group) {
  auto& st = r.database().Prepare("SELECT id, workspace FROM proj_chat_channels WHERE grp = ?1");
  st.Bind(1, group);
  std::vector<ChannelOfGroup> out;
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ChannelOfGroup c;
    TOPO_ASSIGN_OR_RETURN(c.channel, st.Fixed<32>(0));
    TOPO_ASSIGN_OR_RETURN(c.workspace, st.Fixed<32>(1));
    out.push_back(c);
  }
  return out;
}

// The user a device acts for: in the channel's group, or (a device that left it) in the
// workspace.
std::optional<crypto::PublicKey> UserOf(const object::GroupState& group,
                                        const std::optional<object::GroupState>& workspace,
                                        const crypto::PublicKey& device) {
  if (auto u = group.UserOf(device)) return u;
  if (workspace) return workspace->UserOf(device);
  return std::nullopt;
}

}  // namespace

Status JournalGroupChanges(object::Replica& r, std::span<const object::AppliedVertex> applied) {
  std::map<codec::ObjectId, std::vector<const object::AppliedVertex*>> by_object;
  for (const auto& a : applied) by_object[a.object].push_back(&a);
  for (const auto& [object, vertices] : by_object) {
    TOPO_ASSIGN_OR_RETURN(auto channels, ChannelsIn(r, object));
    if (channels.empty()) continue;
    TOPO_ASSIGN_OR_RETURN(object::GroupState st, r.GroupStateOf(object));
    std::optional<object::GroupState> ws;
    if (auto w = r.GroupStateOf(channels.front().workspace); w.ok()) ws = std::move(w).value();
    for (const object::AppliedVertex* a : vertices) {
      TOPO_ASSIGN_OR_RETURN(Bytes raw, r.graph_store().GetRaw(a->id));
      TOPO_ASSIGN_OR_RETURN(codec::Vertex v, codec::DecodeVertex(raw));
      auto gv = object::DecodeGroupVertex(v);
      if (!gv.ok() || !gv->op) continue;
      const std::optional<crypto::PublicKey> author = UserOf(st, ws, v.author);
      std::vector<std::pair<crypto::PublicKey, bool>> changes;  // member, joined
      if (const auto* add = std::get_if<codec::AddMemberOp>(&*gv->op)) {
        if (!add->certs.empty() && st.members().count(add->certs.front().user_key))
          changes.emplace_back(add->certs.front().user_key, true);
      } else if (const auto* rm = std::get_if<codec::RemoveOp>(&*gv->op)) {
        if (!st.members().count(rm->user)) changes.emplace_back(rm->user, false);
      } else if (std::holds_alternative<codec::LeaveOp>(*gv->op)) {
        if (author && !st.members().count(*author)) changes.emplace_back(*author, false);
      }
      for (const auto& [member, joined] : changes)
        for (const auto& c : channels)
          TOPO_RETURN_IF_ERROR(
              JournalGroupMember(r, a->id, c.channel, author, member, joined, a->created_at));
    }
  }
  return Status::Ok();
}

}  // namespace topo::apps::chat
