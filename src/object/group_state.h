// The ACL state of a group (a workspace) and the rule that builds it: a fold over group
// vertices in linear order (depth, id), where an operation takes effect only if it is
// permitted in the state reached so far (docs/design/groups.md).
//
// Pure: no storage, no clock, no keys. The same code decides
//   - validity: GroupState::Check(v, op) on the state of v's causal past (a vertex that fails
//     is rejected durably), and
//   - meaning: GroupState::Fold(...) over every group vertex of a causal past, where ops
//     that fail Check at their turn are skipped (stored, valid, without effect), and so is
//     a join whose invite a concurrent revocation closed (revocation wins over concurrent
//     use: a link holder cannot outrun a revocation by building on an old frontier).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "codec/group.h"
#include "codec/vertex.h"
#include "util/status.h"

namespace topo::object {

using codec::Role;
using crypto::PublicKey;

struct GroupDevice {
  PublicKey user;
  crypto::BoxPublicKey box;
  std::string name;  // from the device certificate
  // The device's certificate in the group is signed by `user`. False for a device that
  // joined through a device-link invite with a certificate of its own making, until one of
  // the user's devices writes add-device for it.
  bool certified = true;
  // The certificate the device entered with, when `certified` (add-member copies it into
  // another group, such as a private channel of the workspace).
  std::optional<codec::DeviceCertificate> cert;
};

struct GroupMember {
  Role role = Role::kMember;
  std::set<PublicKey> devices;
};

struct GroupInvite {
  codec::InviteOp op;
  PublicKey creator_user;
  uint64_t uses = 0;
  bool revoked = false;
};

struct GroupEpoch {
  uint64_t ordinal = 0;  // 0 for the genesis epoch, +1 per effective new epoch in the fold
  // Every sealed share addressed to a device, in fold order (a share-keys may add more).
  std::map<PublicKey, std::vector<codec::SealedKey>> shares;
};

// One group vertex, decoded: the genesis (params set) or an ACL operation (op set).
struct GroupVertex {
  codec::Vertex vertex;
  std::optional<codec::GroupParams> params;
  std::optional<codec::GroupOp> op;
  // Signature checks inside a join (certificate, invite proof) depend on the vertex alone
  // (the invite a join names is one fixed vertex), so a vertex folded many times verifies
  // them once.
  mutable std::optional<bool> cert_verified = std::nullopt;
  mutable std::optional<bool> proof_verified = std::nullopt;
};

// Decodes the payload of a group vertex (genesis with blueprint "group" and params, or a
// kGroupOpType vertex). Status::Rejected with the reason when it does not decode.
Result<GroupVertex> DecodeGroupVertex(const codec::Vertex& v);

// How Check judges an op. kValidity: against the op's own causal past (a vertex that fails
// is rejected). kFold: at the op's turn in a fold, where concurrent ops (a join, another
// removal) may have changed the devices since its author sealed its keys; the key lists are
// not compared then (an epoch sealed to a device that is no longer a member is simply not
// current, see current_epoch()).
enum class CheckMode { kValidity, kFold };

class GroupState {
 public:
  // The state right after the genesis; Rejected when the genesis is not a valid group
  // genesis (certificate not the author's or not verifying, first epoch not exactly the
  // creator's device).
  static Result<GroupState> FromGenesis(const GroupVertex& genesis);

  // Ok when `v` (an op of this group) is permitted in this state; Status::Rejected naming
  // the rule otherwise. Checks signatures inside the op (certificates, invite proofs), not
  // the vertex signature (the ingest pipeline did).
  Status Check(const GroupVertex& v, CheckMode mode = CheckMode::kValidity) const;
  // REQUIRES: Check(v).ok().
  void Apply(const GroupVertex& v);

  // The state of a causal past: `vertices` is every group vertex in it, sorted by (depth,
  // id), genesis first. Ops that fail Check at their turn are skipped; `skipped`, if given,
  // receives their ids and reasons.
  // `cancelled`: joins that a revocation of their invite, concurrent with them, voids (the
  // caller knows the graph; GroupIndex computes them): skipped like any op that fails.
  static Result<GroupState> Fold(
      std::span<const GroupVertex> vertices,
      std::vector<std::pair<codec::VertexId, std::string>>* skipped = nullptr,
      const std::set<codec::VertexId>* cancelled = nullptr);

  // Ok when `author` may write content under `epoch` in this state: it is a current member
  // device and `epoch` is the current epoch.
  Status CheckContent(const PublicKey& author, const codec::VertexId& epoch) const;

  const codec::ObjectId& group() const { return group_; }
  bool history_visible() const { return history_visible_; }
  const std::map<PublicKey, GroupMember>& members() const { return members_; }
  const std::map<PublicKey, GroupDevice>& devices() const { return devices_; }
  const std::map<codec::VertexId, GroupInvite>& invites() const { return invites_; }
  const std::map<codec::VertexId, GroupEpoch>& epochs() const { return epochs_; }
  const std::set<PublicKey>& barred() const { return barred_; }
  // Devices a remove-device took out: they never join or get added again.
  const std::set<PublicKey>& removed_devices() const { return removed_devices_; }
  // The epoch content must be sealed under: the last epoch, in fold order, whose key only
  // current member devices hold (every device it was sealed or shared to is still a member
  // device). In a linear history that is always the newest epoch. Concurrent removals can
  // leave every epoch held by some removed device: then there is none until a member
  // rotates (Replica::HealKeys does), and content cannot be written.
  bool has_current_epoch() const { return has_current_epoch_; }
  // REQUIRES: has_current_epoch() (else an all-zero id that names no epoch).
  const codec::VertexId& current_epoch() const { return current_epoch_; }
  // Every epoch id in fold order (ordinal order).
  const std::vector<codec::VertexId>& epoch_order() const { return epoch_order_; }
  std::optional<Role> RoleOf(const PublicKey& user) const;
  // The user a current device acts for.
  std::optional<PublicKey> UserOf(const PublicKey& device) const;

  // The devices that remain after `v` removes what it removes: who a new epoch's keys must
  // be sealed to. For a rotate, every current device.
  std::set<PublicKey> DevicesAfter(const GroupVertex& v) const;

 private:
  Status CheckKeys(const std::vector<codec::DeviceKeyShare>& keys,
                   const std::set<PublicKey>& devices, std::string_view what) const;
  void StartEpoch(const codec::VertexId& id, const std::vector<codec::DeviceKeyShare>& keys);
  void RemoveUser(const PublicKey& user);
  void ChooseCurrentEpoch();

  codec::ObjectId group_;
  bool history_visible_ = false;
  std::map<PublicKey, GroupMember> members_;
  std::map<PublicKey, GroupDevice> devices_;
  std::map<codec::VertexId, GroupInvite> invites_;
  std::map<codec::VertexId, GroupEpoch> epochs_;
  std::set<PublicKey> barred_;
  std::set<PublicKey> removed_devices_;
  std::vector<codec::VertexId> epoch_order_;
  codec::VertexId current_epoch_;
  bool has_current_epoch_ = false;
  uint64_t next_epoch_ordinal_ = 0;
};

}  // namespace topo::object
