// Replica, the group operations: each writes one signed vertex on the group's heads, in its
// own transaction, after checking it the way every replica will (GroupState::Check), so a
// local write that would be rejected fails here with the same reason and writes nothing.
#include <algorithm>
#include <map>

#include "codec/object_payload.h"
#include "object/replica.h"
#include "util/encoding.h"

namespace topo::object {

Status Replica::SealForGroup(codec::Vertex& v, const codec::ObjectId& group, ByteView plaintext) {
  TOPO_ASSIGN_OR_RETURN(GroupIndex * index, engine_.GroupIndexOf(group));
  std::vector<codec::VertexId> frontier;
  if (v.object_id == group) {
    frontier = v.parents;
  } else {
    frontier = index->Heads();
    if (frontier.size() > codec::kMaxRefs)
      return Status::InvalidArgument(
          "the group has more than 16 concurrent heads; any group "
          "operation (topo rotate) merges them");
    v.refs = frontier;
  }
  TOPO_ASSIGN_OR_RETURN(const GroupIndex::Snapshot* snap, index->At(frontier));
  const GroupState& st = snap->state;
  if (!st.devices().count(key_.public_key()))
    return Status::PermissionDenied("this device is not a member of group " +
                                    HexEncodeShort(group));
  if (!st.has_current_epoch())
    return Status::PermissionDenied("group " + HexEncodeShort(group) +
                                    " needs a new key epoch after concurrent removals (topo "
                                    "rotate, or importing, makes one)");
  const crypto::SecretBytes* key = engine_.KeyringOf(group).KeyFor(st.current_epoch());
  if (!key)
    return Status::PermissionDenied("this device does not hold the current key of group " +
                                    HexEncodeShort(group) +
                                    " yet (a member shares it after importing this device's join)");
  TOPO_ASSIGN_OR_RETURN(v.payload, SealContent(v, st.current_epoch(), *key, plaintext));
  return Status::Ok();
}

Result<codec::ObjectId> Replica::CreateGroup(const codec::DeviceCertificate& self,
                                             bool history_visible) {
  if (self.device_key != key_.public_key())
    return Status::InvalidArgument("the certificate is not this device's");
  TOPO_RETURN_IF_ERROR(codec::VerifyDeviceCertificate(self));
  auto key = crypto::SecretBytes::Random(codec::kEpochKeyBytes);
  Bytes sealed = crypto::Seal(self.device_box_key, key.view());
  codec::GroupParams params{
      history_visible, self, {{self.device_key, codec::SealedKey::FromView(sealed)}}};
  codec::Vertex v;
  v.type = codec::kGenesisType;
  v.created_at = options_.clock->NowMs();
  v.payload = codec::EncodeGenesisPayload(
      {GroupBlueprint().name, GenesisNonce(), std::nullopt, codec::EncodeGroupParams(params)});
  TOPO_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*db_));
  TOPO_ASSIGN_OR_RETURN(auto id, ApplyLocal(std::move(v)));
  TOPO_RETURN_IF_ERROR(txn.Commit());
  return id;
}

Result<codec::VertexId> Replica::WriteGroupOp(
    const codec::ObjectId& group, codec::GroupOp op,
    const std::function<Result<std::vector<codec::DeviceKeyShare>>(
        const GroupState&, const GroupVertex&)>& make_keys) {
  TOPO_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*db_));
  TOPO_ASSIGN_OR_RETURN(GroupIndex * index, engine_.GroupIndexOf(group));
  codec::Vertex v;
  v.type = codec::kGroupOpType;
  TOPO_RETURN_IF_ERROR(FillHeader(v, group));
  TOPO_ASSIGN_OR_RETURN(const GroupIndex::Snapshot* snap, index->At(v.parents));
  GroupState st = snap->state;
  GroupVertex gv{v, std::nullopt, op};
  if (make_keys) {
    TOPO_ASSIGN_OR_RETURN(auto keys, make_keys(st, gv));
    std::visit(
        [&](auto& o) {
          if constexpr (requires { o.keys = std::move(keys); }) o.keys = std::move(keys);
        },
        op);
    gv.op = op;
  }
  // Same check every replica will make: fail here, with its reason, rather than write a
  // vertex that is rejected.
  Status allowed = st.Check(gv);
  if (!allowed.ok()) return Status::PermissionDenied(allowed.message());
  v.payload = codec::EncodeGroupOp(op);
  TOPO_ASSIGN_OR_RETURN(auto id, ApplyLocal(std::move(v)));
  TOPO_RETURN_IF_ERROR(txn.Commit());
  return id;
}

namespace {
// New epoch keys sealed to the devices that remain after the op.
Result<std::vector<codec::DeviceKeyShare>> NewEpochFor(const GroupState& st,
                                                       const GroupVertex& gv) {
  TOPO_ASSIGN_OR_RETURN(auto e, MakeEpochKey(st, st.DevicesAfter(gv)));
  return std::move(e.shares);
}
}  // namespace

Result<codec::InviteLink> Replica::Invite(const codec::ObjectId& group,
                                          const InviteOptions& options) {
  auto secret = crypto::SecretBytes::Random(32);
  codec::InviteOp op{options.role, options.purpose, options.max_uses, options.expires_at,
                     codec::InviteSigningKey(secret).public_key()};
  TOPO_ASSIGN_OR_RETURN(auto id, WriteGroupOp(group, op));
  TOPO_ASSIGN_OR_RETURN(auto meta, graph_.GetMeta(id));
  if (!meta) return Status::Internal("the invite just written is not stored");
  codec::InviteLink link;
  link.group = group;
  link.secret = FixedBytes<32>::FromView(secret.view());
  link.invite = id;
  link.invite_depth = meta->depth;
  link.invite_created_at = meta->created_at;
  link.inviter_device = key_.public_key();
  link.addresses = options.addresses;
  return link;
}

Result<codec::VertexId> Replica::AcceptInvite(const codec::InviteLink& link,
                                              const codec::DeviceCertificate& self) {
  if (self.device_key != key_.public_key())
    return Status::InvalidArgument("the certificate is not this device's");
  codec::JoinOp join = codec::MakeJoinOp(link, self);
  codec::Vertex v;
  v.type = codec::kGroupOpType;
  TOPO_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*db_));
  auto index = engine_.GroupIndexOf(link.group);
  if (index.ok() && (*index)->Contains(link.invite)) {
    // The group is here: join on its current heads, so the join is checked against
    // everything known (a revoked or used-up invite fails now, with its reason).
    TOPO_RETURN_IF_ERROR(FillHeader(v, link.group));
  } else {
    // Not yet: the link says where the invite sits; the join waits for the group.
    v.object_id = link.group;
    v.parents = {link.invite};
    v.depth = link.invite_depth + 1;
    v.created_at = std::max(options_.clock->NowMs(), link.invite_created_at + 1);
  }
  v.payload = codec::EncodeGroupOp(join);
  TOPO_RETURN_IF_ERROR(codec::SignVertex(v, key_));
  graph::Prepared p;
  p.raw = codec::EncodeVertex(v);
  p.vertex = v;
  TOPO_ASSIGN_OR_RETURN(auto r, ingestor_.Ingest(std::move(p)));
  if (r.outcome != graph::Outcome::kApplied && r.outcome != graph::Outcome::kBlocked)
    return Status::Rejected(std::string("the join was ") + graph::OutcomeName(r.outcome) +
                            (r.reason.empty() ? "" : ": " + r.reason));
  TOPO_RETURN_IF_ERROR(FlushBlocked());
  TOPO_RETURN_IF_ERROR(txn.Commit());
  return v.id;
}

Result<codec::VertexId> Replica::RevokeInvite(const codec::ObjectId& group,
                                              const codec::VertexId& invite) {
  return WriteGroupOp(group, codec::RevokeInviteOp{invite});
}

Result<codec::VertexId> Replica::SetRole(const codec::ObjectId& group,
                                         const crypto::PublicKey& user, codec::Role role) {
  return WriteGroupOp(group, codec::SetRoleOp{user, role});
}

Result<codec::VertexId> Replica::TransferOwnership(const codec::ObjectId& group,
                                                   const crypto::PublicKey& user) {
  return WriteGroupOp(group, codec::TransferOp{user});
}

Result<codec::VertexId> Replica::RemoveMember(const codec::ObjectId& group,
                                              const crypto::PublicKey& user, bool bar) {
  return WriteGroupOp(group, codec::RemoveOp{user, bar, {}}, NewEpochFor);
}

Result<codec::VertexId> Replica::Leave(const codec::ObjectId& group) {
  return WriteGroupOp(group, codec::LeaveOp{}, NewEpochFor);
}

Result<codec::VertexId> Replica::AddMember(const codec::ObjectId& group,
                                           std::vector<codec::DeviceCertificate> certs,
                                           codec::Role role) {
  if (certs.empty() || certs.size() > codec::kMaxMemberDevices)
    return Status::InvalidArgument("add-member: 1 to " +
                                   std::to_string(codec::kMaxMemberDevices) + " devices");
  std::sort(certs.begin(), certs.end(),
            [](const auto& a, const auto& b) { return a.device_key < b.device_key; });
  TOPO_ASSIGN_OR_RETURN(GroupState st, GroupStateOf(group));
  codec::AddMemberOp op{role, std::move(certs), {}};
  const Keyring& ring = engine_.KeyringOf(group);
  for (const auto& epoch : st.epoch_order()) {
    if (epoch != st.current_epoch() && !st.history_visible()) continue;
    const crypto::SecretBytes* key = ring.KeyFor(epoch);
    if (!key) continue;
    for (const auto& c : op.certs) {
      if (op.keys.size() >= codec::kMaxSealedKeys) break;
      op.keys.push_back(
          {epoch,
           {c.device_key, codec::SealedKey::FromView(crypto::Seal(c.device_box_key, key->view()))}});
    }
  }
  std::sort(op.keys.begin(), op.keys.end(), [](const auto& a, const auto& b) {
    return std::tie(a.epoch, a.share.device) < std::tie(b.epoch, b.share.device);
  });
  return WriteGroupOp(group, std::move(op));
}

Result<codec::VertexId> Replica::RemoveDevice(const codec::ObjectId& group,
                                              const crypto::PublicKey& device) {
  return WriteGroupOp(group, codec::RemoveDeviceOp{device, {}}, NewEpochFor);
}

Result<codec::VertexId> Replica::Rotate(const codec::ObjectId& group) {
  return WriteGroupOp(group, codec::RotateOp{}, NewEpochFor);
}

Result<GroupState> Replica::GroupStateOf(const codec::ObjectId& group) {
  TOPO_ASSIGN_OR_RETURN(GroupIndex * index, engine_.GroupIndexOf(group));
  TOPO_ASSIGN_OR_RETURN(const GroupIndex::Snapshot* snap, index->At(index->Heads()));
  return snap->state;
}

Result<std::optional<codec::VertexId>> Replica::HealKeys(const codec::ObjectId& group) {
  TOPO_ASSIGN_OR_RETURN(GroupState st, GroupStateOf(group));
  if (!st.devices().count(key_.public_key())) return std::optional<codec::VertexId>();
  if (!st.has_current_epoch()) {
    TOPO_ASSIGN_OR_RETURN(auto id, Rotate(group));
    return std::optional<codec::VertexId>(id);
  }
  const Keyring& ring = engine_.KeyringOf(group);
  codec::ShareKeysOp op;
  for (const auto& [epoch, e] : st.epochs()) {
    if (epoch != st.current_epoch() && !st.history_visible()) continue;
    const crypto::SecretBytes* key = ring.KeyFor(epoch);
    if (!key) continue;
    for (const auto& [device, _] : st.devices()) {
      if (e.shares.count(device)) continue;
      if (op.shares.size() >= codec::kMaxSealedKeys) break;
      TOPO_ASSIGN_OR_RETURN(auto share, ShareKey(st, device, *key));
      op.shares.push_back({epoch, share});
    }
  }
  if (op.shares.empty()) return std::optional<codec::VertexId>();
  std::sort(op.shares.begin(), op.shares.end(), [](const auto& a, const auto& b) {
    return std::tie(a.epoch, a.share.device) < std::tie(b.epoch, b.share.device);
  });
  TOPO_ASSIGN_OR_RETURN(auto id, WriteGroupOp(group, std::move(op)));
  return std::optional<codec::VertexId>(id);
}

Result<std::vector<codec::VertexId>> Replica::CertifyLinkedDevices(const crypto::SigningKey& user) {
  const PublicKey& me = key_.public_key();
  TOPO_ASSIGN_OR_RETURN(auto groups, ListGroups());
  // The groups this device is a member of, and the user's devices that wait for a
  // certificate in any of them.
  std::vector<std::pair<codec::ObjectId, GroupState>> mine;
  std::map<PublicKey, GroupDevice> waiting;
  for (const auto& g : groups) {
    TOPO_ASSIGN_OR_RETURN(GroupState st, GroupStateOf(g));
    auto my_user = st.UserOf(me);
    // Not a member, or a member for another user (a linked device that has not taken over
    // its user's key yet): nothing to certify here with this key.
    if (!my_user || *my_user != user.public_key()) continue;
    for (const auto& [device, d] : st.devices())
      if (d.user == *my_user && !d.certified) waiting.emplace(device, d);
    mine.emplace_back(g, std::move(st));
  }
  std::vector<codec::VertexId> written;
  if (waiting.empty()) return written;
  for (const auto& [device, d] : waiting) {
    TOPO_ASSIGN_OR_RETURN(auto cert, codec::MakeDeviceCertificate(user, device, d.box, d.name,
                                                                  options_.clock->NowMs()));
    auto seed = user.Seed();
    auto sealed_seed = codec::SealedKey::FromView(crypto::Seal(d.box, seed.view()));
    for (const auto& [g, st] : mine) {
      if (st.removed_devices().count(device)) continue;
      auto it = st.devices().find(device);
      if (it != st.devices().end() && it->second.certified) continue;
      if (it != st.devices().end() && it->second.user != user.public_key()) continue;
      codec::AddDeviceOp op{cert, sealed_seed, {}};
      const Keyring& ring = engine_.KeyringOf(g);
      for (const auto& epoch : st.epoch_order()) {
        const crypto::SecretBytes* key = ring.KeyFor(epoch);
        if (!key || op.keys.size() >= codec::kMaxSealedKeys) continue;
        op.keys.push_back({epoch, codec::SealedKey::FromView(crypto::Seal(d.box, key->view()))});
      }
      std::sort(op.keys.begin(), op.keys.end(),
                [](const auto& a, const auto& b) { return a.epoch < b.epoch; });
      TOPO_ASSIGN_OR_RETURN(auto id, WriteGroupOp(g, std::move(op)));
      written.push_back(id);
    }
  }
  return written;
}

Result<std::optional<Replica::UserHandover>> Replica::FindUserHandover(
    const crypto::BoxKey& box, const crypto::PublicKey& current_user) {
  TOPO_ASSIGN_OR_RETURN(auto groups, ListGroups());
  std::optional<UserHandover> found;
  for (const auto& g : groups) {
    // Only a group where an add-device made this device another user's holds a handover:
    // the others are not read.
    TOPO_ASSIGN_OR_RETURN(GroupState st, GroupStateOf(g));
    auto user = st.UserOf(key_.public_key());
    if (!user || *user == current_user) continue;
    Status walk = ForEachInOrder(g, [&](const graph::VertexMeta&, ByteView raw) {
      auto v = codec::DecodeVertex(raw);
      if (!v.ok() || v->type != codec::kGroupOpType) return true;
      auto op = codec::DecodeGroupOp(v->payload);
      if (!op.ok()) return true;
      const auto* add = std::get_if<codec::AddDeviceOp>(&*op);
      if (!add || add->cert.device_key != key_.public_key() || add->cert.user_key == current_user)
        return true;
      auto seed = box.Open(add->sealed_user_seed.view());
      if (!seed.ok()) return true;
      auto user = crypto::SigningKey::FromSeed(seed->view());
      if (!user.ok() || user->public_key() != add->cert.user_key) return true;
      if (!codec::VerifyDeviceCertificate(add->cert).ok()) return true;
      found = UserHandover{std::move(user).value(), add->cert};
      return false;
    });
    TOPO_RETURN_IF_ERROR(walk);
    if (found) break;
  }
  return found;
}

Result<std::vector<codec::ObjectId>> Replica::ListGroups() {
  TOPO_ASSIGN_OR_RETURN(auto ids, graph_.ListObjects());
  std::vector<codec::ObjectId> groups;
  for (const auto& id : ids) {
    TOPO_ASSIGN_OR_RETURN(const Blueprint* bp, engine_.BlueprintOf(id));
    if (bp == &GroupBlueprint()) groups.push_back(id);
  }
  return groups;
}

Result<bool> Replica::MayRead(const crypto::PublicKey& device, const codec::ObjectId& object) {
  TOPO_ASSIGN_OR_RETURN(std::optional<codec::ObjectId> group, engine_.GroupOf(object));
  if (!group) return true;  // an open object
  TOPO_ASSIGN_OR_RETURN(GroupIndex * index, engine_.GroupIndexOf(*group));
  TOPO_ASSIGN_OR_RETURN(const GroupIndex::Snapshot* snap, index->At(index->Heads()));
  return snap->state.devices().count(device) > 0;
}

Result<bool> Replica::MayReadAsJoiner(const crypto::PublicKey& device, const codec::ObjectId& group,
                                      const codec::JoinOp& join) {
  auto index = engine_.GroupIndexOf(group);
  if (!index.ok()) {
    if (index.status().code() == Code::kNotFound) return false;
    return index.status();
  }
  TOPO_ASSIGN_OR_RETURN(const GroupIndex::Snapshot* snap, (*index)->At((*index)->Heads()));
  // The join's own rule, as if `device` wrote it now on the heads here.
  GroupVertex v;
  v.vertex.object_id = group;
  v.vertex.type = codec::kGroupOpType;
  v.vertex.author = device;
  v.vertex.created_at = options_.clock->NowMs();
  v.op = join;
  return snap->state.Check(v).ok();
}

Result<bool> Replica::MayReadAsFormerMember(const crypto::PublicKey& device,
                                            const codec::ObjectId& group) {
  auto bp = engine_.BlueprintOf(group);
  if (!bp.ok()) {
    if (bp.status().code() == Code::kNotFound) return false;
    return bp.status();
  }
  if (*bp != &GroupBlueprint()) return false;
  TOPO_ASSIGN_OR_RETURN(GroupIndex * index, engine_.GroupIndexOf(group));
  TOPO_ASSIGN_OR_RETURN(const GroupIndex::Snapshot* snap, index->At(index->Heads()));
  const GroupState& st = snap->state;
  if (st.devices().count(device) || st.removed_devices().count(device)) return false;
  for (const auto& [id, epoch] : st.epochs())
    if (epoch.shares.count(device)) return true;
  return false;
}

Result<std::vector<codec::VertexId>> Replica::HealAllGroups() {
  std::vector<codec::VertexId> written;
  TOPO_ASSIGN_OR_RETURN(auto groups, ListGroups());
  for (const auto& g : groups) {
    TOPO_ASSIGN_OR_RETURN(auto id, HealKeys(g));
    if (id) written.push_back(*id);
  }
  return written;
}

}  // namespace topo::object
