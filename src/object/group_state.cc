#include "object/group_state.h"

#include <algorithm>

#include "codec/object_payload.h"
#include "util/encoding.h"

namespace topo::object {
namespace {

using codec::GroupOp;
using codec::VertexId;

Status Deny(std::string reason) { return Status::Rejected(std::move(reason)); }

std::string Short(const FixedBytes<32>& k) { return HexEncodeShort(k); }

bool AtLeastAdmin(Role r) { return r == Role::kAdmin || r == Role::kOwner; }

std::set<PublicKey> DevicesOf(const std::vector<codec::DeviceKeyShare>& keys) {
  std::set<PublicKey> out;
  for (const auto& k : keys) out.insert(k.device);
  return out;
}

}  // namespace

Result<GroupVertex> DecodeGroupVertex(const codec::Vertex& v) {
  GroupVertex g;
  g.vertex = v;
  if (v.is_genesis()) {
    auto gp = codec::DecodeGenesisPayload(v.payload);
    if (!gp.ok()) return Status::Rejected(gp.status().message());
    if (gp->blueprint != "group") return Status::Rejected("genesis is not a group's");
    if (gp->group) return Status::Rejected("a group cannot belong to another group");
    auto params = codec::DecodeGroupParams(gp->params);
    if (!params.ok()) return Status::Rejected(params.status().message());
    g.params = std::move(params).value();
    return g;
  }
  if (v.type != codec::kGroupOpType)
    return Status::Rejected("vertex type " + std::to_string(v.type) + " is not a group op");
  auto op = codec::DecodeGroupOp(v.payload);
  if (!op.ok()) return Status::Rejected(op.status().message());
  g.op = std::move(op).value();
  return g;
}

Result<GroupState> GroupState::FromGenesis(const GroupVertex& genesis) {
  if (!genesis.params) return Status::Rejected("not a group genesis");
  const codec::GroupParams& p = *genesis.params;
  if (p.creator.device_key != genesis.vertex.author)
    return Deny("group genesis: the creator's certificate is not the author's");
  if (Status s = codec::VerifyDeviceCertificate(p.creator); !s.ok())
    return Deny("group genesis: creator certificate: " + s.message());
  GroupState st;
  st.group_ = genesis.vertex.id;
  st.history_visible_ = p.history_visible;
  st.members_[p.creator.user_key] = GroupMember{Role::kOwner, {p.creator.device_key}};
  st.devices_[p.creator.device_key] =
      GroupDevice{p.creator.user_key, p.creator.device_box_key, p.creator.device_name, true,
                  p.creator};
  TOPO_RETURN_IF_ERROR(st.CheckKeys(p.keys, {p.creator.device_key}, "group genesis"));
  st.StartEpoch(genesis.vertex.id, p.keys);
  st.ChooseCurrentEpoch();
  return st;
}

std::optional<Role> GroupState::RoleOf(const PublicKey& user) const {
  auto it = members_.find(user);
  if (it == members_.end()) return std::nullopt;
  return it->second.role;
}

std::optional<PublicKey> GroupState::UserOf(const PublicKey& device) const {
  auto it = devices_.find(device);
  if (it == devices_.end()) return std::nullopt;
  return it->second.user;
}

Status GroupState::CheckKeys(const std::vector<codec::DeviceKeyShare>& keys,
                             const std::set<PublicKey>& devices, std::string_view what) const {
  std::set<PublicKey> sealed_to = DevicesOf(keys);
  if (sealed_to == devices) return Status::Ok();
  for (const auto& d : devices)
    if (!sealed_to.count(d))
      return Deny(std::string(what) + ": new epoch key not sealed to member device " + Short(d));
  for (const auto& d : sealed_to)
    if (!devices.count(d))
      return Deny(std::string(what) + ": new epoch key sealed to " + Short(d) +
                  ", which is not a remaining member device");
  return Status::Ok();
}

std::set<PublicKey> GroupState::DevicesAfter(const GroupVertex& v) const {
  std::set<PublicKey> out;
  for (const auto& [d, _] : devices_) out.insert(d);
  if (!v.op) return out;
  auto drop_user = [&](const PublicKey& user) {
    auto it = members_.find(user);
    if (it == members_.end()) return;
    for (const auto& d : it->second.devices) out.erase(d);
  };
  if (const auto* r = std::get_if<codec::RemoveOp>(&*v.op)) drop_user(r->user);
  if (std::holds_alternative<codec::LeaveOp>(*v.op))
    if (auto user = UserOf(v.vertex.author)) drop_user(*user);
  if (const auto* r = std::get_if<codec::RemoveDeviceOp>(&*v.op)) out.erase(r->device);
  return out;
}

Status GroupState::Check(const GroupVertex& v, CheckMode mode) const {
  if (!v.op) return Deny("a group has one genesis");
  const GroupOp& op = *v.op;
  const PublicKey& author = v.vertex.author;
  const bool fold = mode == CheckMode::kFold;

  // A join is the one operation made by a device that is not (yet) a member.
  if (const auto* join = std::get_if<codec::JoinOp>(&op)) {
    auto it = invites_.find(join->invite);
    if (it == invites_.end()) return Deny("join: no such invite");
    const GroupInvite& inv = it->second;
    if (inv.revoked) return Deny("join: the invite was revoked");
    if (inv.op.max_uses != 0 && inv.uses >= inv.op.max_uses)
      return Deny("join: the invite is used up");
    if (inv.op.expires_at != 0 && v.vertex.created_at >= inv.op.expires_at)
      return Deny("join: the invite expired");
    if (join->cert.device_key != author)
      return Deny("join: the certificate is not the author's device");
    if (!v.cert_verified) v.cert_verified = codec::VerifyDeviceCertificate(join->cert).ok();
    if (!*v.cert_verified) return Deny("join: the certificate's signature does not verify");
    if (!v.proof_verified)
      v.proof_verified = crypto::Verify(
          inv.op.invite_key, codec::InviteProofDigest(group_, join->invite, join->cert).view(),
          join->proof);
    if (!*v.proof_verified) return Deny("join: the invite proof does not verify");
    if (devices_.count(author)) return Deny("join: the device is already a member");
    if (removed_devices_.count(author)) return Deny("join: this device was removed from the group");
    const PublicKey& user = join->cert.user_key;
    if (inv.op.purpose == codec::InvitePurpose::kDevice) {
      // The new device cannot hold a certificate by the user yet (only the user's devices
      // hold the user key): the invite, made by one of them, vouches for it, and one of
      // them certifies it later with add-device.
      if (!members_.count(inv.creator_user))
        return Deny("join: the inviting user is no longer a member");
    } else {
      if (barred_.count(user)) return Deny("join: the user is barred from this group");
      if (members_.count(user)) return Deny("join: the user is already a member");
    }
    return Status::Ok();
  }

  auto author_user = UserOf(author);
  if (!author_user)
    return Deny(std::string(codec::GroupOpName(op)) + ": the author is not a member device");
  const Role role = members_.at(*author_user).role;
  const std::string name = codec::GroupOpName(op);

  if (const auto* invite = std::get_if<codec::InviteOp>(&op)) {
    if (invite->purpose == codec::InvitePurpose::kMember) {
      if (!AtLeastAdmin(role)) return Deny("invite: only admins invite members");
      if (invite->role == Role::kOwner) return Deny("invite: cannot invite an owner");
    } else if (invite->role != Role::kMember) {
      return Deny("invite: a device invite carries no role");
    }
    return Status::Ok();
  }
  if (const auto* revoke = std::get_if<codec::RevokeInviteOp>(&op)) {
    auto it = invites_.find(revoke->invite);
    if (it == invites_.end()) return Deny("revoke-invite: no such invite");
    if (it->second.revoked) return Deny("revoke-invite: already revoked");
    if (!AtLeastAdmin(role) && it->second.creator_user != *author_user)
      return Deny("revoke-invite: only admins and the invite's creator revoke it");
    return Status::Ok();
  }
  if (const auto* set = std::get_if<codec::SetRoleOp>(&op)) {
    if (!AtLeastAdmin(role)) return Deny("set-role: only admins change roles");
    auto target = RoleOf(set->user);
    if (!target) return Deny("set-role: not a member");
    if (*target == Role::kOwner) return Deny("set-role: the owner's role changes by transfer only");
    if (*target == set->role)
      return Deny(std::string("set-role: already ") + codec::RoleName(set->role));
    return Status::Ok();
  }
  if (const auto* transfer = std::get_if<codec::TransferOp>(&op)) {
    if (role != Role::kOwner) return Deny("transfer: only the owner transfers ownership");
    if (transfer->user == *author_user) return Deny("transfer: already the owner");
    if (!members_.count(transfer->user)) return Deny("transfer: not a member");
    return Status::Ok();
  }
  if (const auto* remove = std::get_if<codec::RemoveOp>(&op)) {
    if (!AtLeastAdmin(role)) return Deny("remove: only admins remove members");
    auto target = RoleOf(remove->user);
    if (!target) return Deny("remove: not a member");
    if (*target == Role::kOwner) return Deny("remove: the owner cannot be removed");
    if (remove->user == *author_user) return Deny("remove: use leave to remove oneself");
    return fold ? Status::Ok() : CheckKeys(remove->keys, DevicesAfter(v), name);
  }
  if (const auto* leave = std::get_if<codec::LeaveOp>(&op)) {
    if (role == Role::kOwner) return Deny("leave: the owner transfers ownership before leaving");
    return fold ? Status::Ok() : CheckKeys(leave->keys, DevicesAfter(v), name);
  }
  if (const auto* rd = std::get_if<codec::RemoveDeviceOp>(&op)) {
    auto owner = UserOf(rd->device);
    if (!owner) return Deny("remove-device: not a member device");
    if (*owner != *author_user) {
      if (!AtLeastAdmin(role)) return Deny("remove-device: only its user or an admin");
      if (members_.at(*owner).role == Role::kOwner)
        return Deny("remove-device: admins cannot remove the owner's devices");
    }
    if (members_.at(*owner).devices.size() == 1)
      return Deny("remove-device: it is the user's last device (remove or leave instead)");
    return fold ? Status::Ok() : CheckKeys(rd->keys, DevicesAfter(v), name);
  }
  if (const auto* rotate = std::get_if<codec::RotateOp>(&op))
    return fold ? Status::Ok() : CheckKeys(rotate->keys, DevicesAfter(v), name);
  if (const auto* share = std::get_if<codec::ShareKeysOp>(&op)) {
    // In a fold the device may have been removed concurrently: the share still happened
    // (that device holds the key), so it is recorded and keeps the epoch from being current.
    if (fold) return Status::Ok();
    for (const auto& s : share->shares) {
      if (!epochs_.count(s.epoch)) return Deny("share-keys: no epoch " + Short(s.epoch));
      if (!devices_.count(s.share.device))
        return Deny("share-keys: " + Short(s.share.device) + " is not a member device");
    }
    return Status::Ok();
  }
  if (const auto* add = std::get_if<codec::AddDeviceOp>(&op)) {
    const auto& cert = add->cert;
    if (cert.user_key != *author_user)
      return Deny("add-device: a device adds devices of its own user only");
    if (!v.cert_verified) v.cert_verified = codec::VerifyDeviceCertificate(cert).ok();
    if (!*v.cert_verified) return Deny("add-device: the certificate's signature does not verify");
    if (removed_devices_.count(cert.device_key))
      return Deny("add-device: the device was removed from the group");
    if (auto it = devices_.find(cert.device_key); it != devices_.end()) {
      if (it->second.user != cert.user_key)
        return Deny("add-device: the device belongs to another user");
      if (it->second.box != cert.device_box_key)
        return Deny("add-device: the certificate's box key is not the device's");
    }
    if (!fold)
      for (const auto& k : add->keys)
        if (!epochs_.count(k.epoch)) return Deny("add-device: no epoch " + Short(k.epoch));
    return Status::Ok();
  }
  if (const auto* am = std::get_if<codec::AddMemberOp>(&op)) {
    if (!AtLeastAdmin(role)) return Deny("add-member: only admins add members");
    if (am->role == Role::kOwner) return Deny("add-member: cannot add an owner");
    const PublicKey& user = am->certs.front().user_key;
    if (members_.count(user)) return Deny("add-member: the user is already a member");
    if (barred_.count(user)) return Deny("add-member: the user is barred from this group");
    std::set<PublicKey> added;
    for (const auto& cert : am->certs) {
      if (devices_.count(cert.device_key) || removed_devices_.count(cert.device_key))
        return Deny("add-member: device " + Short(cert.device_key) +
                    " is, or was, a device of this group");
      added.insert(cert.device_key);
    }
    if (!v.cert_verified)
      v.cert_verified = std::all_of(am->certs.begin(), am->certs.end(), [](const auto& c) {
        return codec::VerifyDeviceCertificate(c).ok();
      });
    if (!*v.cert_verified) return Deny("add-member: a certificate's signature does not verify");
    if (fold) return Status::Ok();
    std::set<PublicKey> given;  // devices handed the current epoch's key
    for (const auto& s : am->keys) {
      if (!epochs_.count(s.epoch)) return Deny("add-member: no epoch " + Short(s.epoch));
      if (!added.count(s.share.device))
        return Deny("add-member: a key sealed to " + Short(s.share.device) +
                    ", which is not a device it adds");
      if (has_current_epoch_ && s.epoch == current_epoch_) given.insert(s.share.device);
    }
    if (has_current_epoch_ && given != added)
      return Deny("add-member: the current epoch key is not sealed to every device it adds");
    return Status::Ok();
  }
  return Deny("unknown group operation");
}

void GroupState::StartEpoch(const VertexId& id, const std::vector<codec::DeviceKeyShare>& keys) {
  GroupEpoch& e = epochs_[id];
  e.ordinal = next_epoch_ordinal_++;
  for (const auto& k : keys) e.shares[k.device].push_back(k.sealed);
  epoch_order_.push_back(id);
}

void GroupState::ChooseCurrentEpoch() {
  for (auto it = epoch_order_.rbegin(); it != epoch_order_.rend(); ++it) {
    const GroupEpoch& e = epochs_.at(*it);
    bool clean = std::all_of(e.shares.begin(), e.shares.end(),
                             [&](const auto& share) { return devices_.count(share.first) > 0; });
    if (clean) {
      current_epoch_ = *it;
      has_current_epoch_ = true;
      return;
    }
  }
  current_epoch_ = codec::VertexId{};
  has_current_epoch_ = false;
}

void GroupState::RemoveUser(const PublicKey& user) {
  auto it = members_.find(user);
  if (it == members_.end()) return;
  for (const auto& d : it->second.devices) devices_.erase(d);
  members_.erase(it);
}

void GroupState::Apply(const GroupVertex& v) {
  const GroupOp& op = *v.op;
  const VertexId& id = v.vertex.id;
  const PublicKey& author = v.vertex.author;
  if (const auto* invite = std::get_if<codec::InviteOp>(&op)) {
    invites_[id] = GroupInvite{*invite, *UserOf(author), 0, false};
  } else if (const auto* revoke = std::get_if<codec::RevokeInviteOp>(&op)) {
    invites_[revoke->invite].revoked = true;
  } else if (const auto* join = std::get_if<codec::JoinOp>(&op)) {
    GroupInvite& inv = invites_[join->invite];
    ++inv.uses;
    const auto& cert = join->cert;
    if (inv.op.purpose == codec::InvitePurpose::kMember) {
      GroupMember& m = members_[cert.user_key];
      m.role = inv.op.role;
      m.devices.insert(cert.device_key);
      devices_[cert.device_key] =
          GroupDevice{cert.user_key, cert.device_box_key, cert.device_name, true, cert};
    } else {
      const PublicKey& user = inv.creator_user;
      members_[user].devices.insert(cert.device_key);
      const bool certified = cert.user_key == user;
      devices_[cert.device_key] =
          GroupDevice{user, cert.device_box_key, cert.device_name, certified,
                      certified ? std::optional(cert) : std::nullopt};
    }
  } else if (const auto* set = std::get_if<codec::SetRoleOp>(&op)) {
    members_[set->user].role = set->role;
  } else if (const auto* transfer = std::get_if<codec::TransferOp>(&op)) {
    members_[*UserOf(author)].role = Role::kAdmin;
    members_[transfer->user].role = Role::kOwner;
  } else if (const auto* remove = std::get_if<codec::RemoveOp>(&op)) {
    RemoveUser(remove->user);
    if (remove->bar) barred_.insert(remove->user);
    StartEpoch(id, remove->keys);
  } else if (const auto* leave = std::get_if<codec::LeaveOp>(&op)) {
    RemoveUser(*UserOf(author));
    StartEpoch(id, leave->keys);
  } else if (const auto* rd = std::get_if<codec::RemoveDeviceOp>(&op)) {
    auto user = *UserOf(rd->device);
    members_[user].devices.erase(rd->device);
    devices_.erase(rd->device);
    removed_devices_.insert(rd->device);
    StartEpoch(id, rd->keys);
  } else if (const auto* rotate = std::get_if<codec::RotateOp>(&op)) {
    StartEpoch(id, rotate->keys);
  } else if (const auto* share = std::get_if<codec::ShareKeysOp>(&op)) {
    for (const auto& s : share->shares)
      if (auto it = epochs_.find(s.epoch); it != epochs_.end())
        it->second.shares[s.share.device].push_back(s.share.sealed);
  } else if (const auto* add = std::get_if<codec::AddDeviceOp>(&op)) {
    const auto& cert = add->cert;
    members_[cert.user_key].devices.insert(cert.device_key);
    devices_[cert.device_key] =
        GroupDevice{cert.user_key, cert.device_box_key, cert.device_name, true, cert};
    for (const auto& k : add->keys)
      if (auto it = epochs_.find(k.epoch); it != epochs_.end())
        it->second.shares[cert.device_key].push_back(k.sealed);
  } else if (const auto* am = std::get_if<codec::AddMemberOp>(&op)) {
    GroupMember& m = members_[am->certs.front().user_key];
    m.role = am->role;
    for (const auto& cert : am->certs) {
      m.devices.insert(cert.device_key);
      devices_[cert.device_key] =
          GroupDevice{cert.user_key, cert.device_box_key, cert.device_name, true, cert};
    }
    for (const auto& s : am->keys)
      if (auto it = epochs_.find(s.epoch); it != epochs_.end())
        it->second.shares[s.share.device].push_back(s.share.sealed);
  }
  ChooseCurrentEpoch();
}

Result<GroupState> GroupState::Fold(std::span<const GroupVertex> vertices,
                                    std::vector<std::pair<VertexId, std::string>>* skipped,
                                    const std::set<VertexId>* cancelled) {
  if (vertices.empty() || !vertices.front().params)
    return Status::InvalidArgument("a group fold starts at the genesis");
  TOPO_ASSIGN_OR_RETURN(GroupState st, FromGenesis(vertices.front()));
  for (size_t i = 1; i < vertices.size(); ++i) {
    const GroupVertex& v = vertices[i];
    Status s = cancelled && cancelled->count(v.vertex.id)
                   ? Deny("join: its invite was revoked concurrently")
                   : st.Check(v, CheckMode::kFold);
    if (s.ok()) {
      st.Apply(v);
    } else if (skipped) {
      skipped->emplace_back(v.vertex.id, s.message());
    }
  }
  return st;
}

Status GroupState::CheckContent(const PublicKey& author, const VertexId& epoch) const {
  if (!devices_.count(author)) return Deny("the author is not a member device of the group");
  if (!has_current_epoch_)
    return Deny(
        "the group has no current epoch (concurrent removals left every key with a removed "
        "device) until a member rotates");
  if (epoch != current_epoch_)
    return Deny(epochs_.count(epoch) ? "sealed under an epoch that is no longer current"
                                     : "sealed under an epoch this group does not have");
  return Status::Ok();
}

}  // namespace topo::object
