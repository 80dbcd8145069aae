// Encodings of the group (workspace) structures: the group's genesis parameters, its ACL
// operations (vertex type kGroupOpType), the encrypted content envelope and the invite link.
// docs/design/groups.md explains what they mean; docs/PROTOCOL.md gives the bytes.
//
// Group operation payload (vertex type 2):
//   u8 tag, then the fields of that operation, to the end of the payload:
//   1 invite         u8 role, u8 purpose, varint max_uses (0 = unlimited),
//                    varint expires_at (ms; 0 = never), [32] invite_key
//   2 revoke-invite  [32] invite (the id of the invite vertex)
//   3 join           [32] invite, varint cert_len + device certificate, [64] proof
//   4 set-role       [32] user, u8 role (member or admin)
//   5 transfer       [32] user
//   6 remove         [32] user, u8 bar (0 or 1), keys
//   7 leave          keys
//   8 remove-device  [32] device, keys
//   9 rotate         keys
//  10 share-keys     varint n (1..kMaxSealedKeys), n * ([32] epoch, [32] device, [80] sealed)
//  11 add-device     varint cert_len + device certificate (signed by the user), [80] the
//                    user's Ed25519 seed sealed to the device's box key, varint n
//                    (0..kMaxSealedKeys), n * ([32] epoch, [80] sealed), epochs strictly
//                    ascending (epoch keys sealed to the new device)
//  12 add-member     u8 role (member or admin), varint n (1..kMaxMemberDevices) * (varint
//                    cert_len + device certificate, signed by the new user), varint m
//                    (0..kMaxSealedKeys) * ([32] epoch, [32] device, [80] sealed), (epoch,
//                    device) strictly ascending: an admin adds a user whose certified devices
//                    it already knows (from another group, such as the workspace a private
//                    channel belongs to), with the epoch keys sealed to those devices
//   keys = varint n (0..kMaxSealedKeys), n * ([32] device, [80] sealed key), devices strictly
//   ascending. A sealed key is crypto_box_seal of the 32-byte epoch key to the device's
//   X25519 key (32 + 48 bytes).
//
// Decoding is strict (known tags and roles, canonical varints, exact sizes, sorted unique
// devices, no trailing bytes); errors are Status::Corruption naming the field.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "codec/identity.h"
#include "codec/vertex.h"
#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::codec {

constexpr uint32_t kGroupOpType = 2;
constexpr size_t kEpochKeyBytes = 32;
constexpr size_t kSealedKeyBytes = kEpochKeyBytes + crypto::kSealOverhead;  // 80
// 2,048 shares of 112 bytes fit the 256 KiB payload bound with room to spare.
constexpr size_t kMaxSealedKeys = 2048;

enum class Role : uint8_t { kMember = 0, kAdmin = 1, kOwner = 2 };
const char* RoleName(Role r);
std::optional<Role> ParseRole(std::string_view name);

// What an invite admits: a new user, or a new device of the inviting user.
enum class InvitePurpose : uint8_t { kMember = 0, kDevice = 1 };

using SealedKey = FixedBytes<kSealedKeyBytes>;

struct DeviceKeyShare {
  crypto::PublicKey device;
  SealedKey sealed;
  bool operator==(const DeviceKeyShare&) const = default;
};

struct InviteOp {
  Role role = Role::kMember;  // kOwner is invalid
  InvitePurpose purpose = InvitePurpose::kMember;
  uint64_t max_uses = 0;    // 0 = unlimited
  uint64_t expires_at = 0;  // ms since the Unix epoch; 0 = never
  crypto::PublicKey invite_key;
  bool operator==(const InviteOp&) const = default;
};
struct RevokeInviteOp {
  VertexId invite;
  bool operator==(const RevokeInviteOp&) const = default;
};
struct JoinOp {
  VertexId invite;
  DeviceCertificate cert;
  crypto::Signature proof;  // by the invite key over InviteProofDigest
  bool operator==(const JoinOp&) const = default;
};
struct SetRoleOp {
  crypto::PublicKey user;
  Role role = Role::kMember;  // kMember or kAdmin
  bool operator==(const SetRoleOp&) const = default;
};
struct TransferOp {
  crypto::PublicKey user;
  bool operator==(const TransferOp&) const = default;
};
struct RemoveOp {
  crypto::PublicKey user;
  bool bar = false;
  std::vector<DeviceKeyShare> keys;
  bool operator==(const RemoveOp&) const = default;
};
struct LeaveOp {
  std::vector<DeviceKeyShare> keys;
  bool operator==(const LeaveOp&) const = default;
};
struct RemoveDeviceOp {
  crypto::PublicKey device;
  std::vector<DeviceKeyShare> keys;
  bool operator==(const RemoveDeviceOp&) const = default;
};
struct RotateOp {
  std::vector<DeviceKeyShare> keys;
  bool operator==(const RotateOp&) const = default;
};
struct EpochKeyShare {
  VertexId epoch;
  DeviceKeyShare share;
  bool operator==(const EpochKeyShare&) const = default;
};
struct ShareKeysOp {
  std::vector<EpochKeyShare> shares;
  bool operator==(const ShareKeysOp&) const = default;
};

// A user's device vouches, with a certificate signed by the user key, for another device of
// the same user (one that joined through a device-link invite, or one joining this group
// for the user), and hands it the user's seed and the epoch keys it holds.
struct EpochSealedKey {
  VertexId epoch;
  SealedKey sealed;
  bool operator==(const EpochSealedKey&) const = default;
};
struct AddDeviceOp {
  DeviceCertificate cert;
  SealedKey sealed_user_seed;  // crypto_box_seal of the 32-byte seed to cert.device_box_key
  std::vector<EpochSealedKey> keys;
  bool operator==(const AddDeviceOp&) const = default;
};

// An admin adds a user without an invite: the user's device certificates (each signed by
// the user key, all of one user) and the epoch keys sealed to those devices. Used for
// groups whose members already know one another, such as a private channel inside a
// workspace (apps/chat), where every certificate comes from the workspace's group.
constexpr size_t kMaxMemberDevices = 16;
struct AddMemberOp {
  Role role = Role::kMember;  // kOwner is invalid
  std::vector<DeviceCertificate> certs;
  std::vector<EpochKeyShare> keys;
  bool operator==(const AddMemberOp&) const = default;
};

using GroupOp = std::variant<InviteOp, RevokeInviteOp, JoinOp, SetRoleOp, TransferOp, RemoveOp,
                             LeaveOp, RemoveDeviceOp, RotateOp, ShareKeysOp, AddDeviceOp,
                             AddMemberOp>;
const char* GroupOpName(const GroupOp& op);

Bytes EncodeGroupOp(const GroupOp& op);
Result<GroupOp> DecodeGroupOp(ByteView payload);

// ---- genesis parameters of a group (GenesisPayload::params when blueprint is "group") ----
//   u8 version = 1, u8 flags (bit 0: new members read history), varint cert_len + the
//   creator's device certificate, keys (the first epoch's, as above)
struct GroupParams {
  bool history_visible = false;
  DeviceCertificate creator;
  std::vector<DeviceKeyShare> keys;
  bool operator==(const GroupParams&) const = default;
};
Bytes EncodeGroupParams(const GroupParams& p);
Result<GroupParams> DecodeGroupParams(ByteView bytes);

// ---- the content envelope: the payload of an encrypted vertex ----
//   u8 version = 1, [32] epoch, [24] nonce, ciphertext (plaintext + 16-byte tag)
struct Envelope {
  VertexId epoch;
  crypto::Nonce24 nonce;
  Bytes ciphertext;
  bool operator==(const Envelope&) const = default;
};
Bytes EncodeEnvelope(const Envelope& e);
Result<Envelope> DecodeEnvelope(ByteView payload);

// The associated data of an envelope: the vertex's encoding up to (not including) the
// payload length. It binds the ciphertext to its object, author, time and place in the graph.
Bytes EnvelopeAad(const Vertex& v);

// What a joiner signs with the invite key: BLAKE2b-256 under "topo.invite-proof.v1" of
// group id || invite id || the joiner's certificate encoding.
crypto::Digest InviteProofDigest(const ObjectId& group, const VertexId& invite,
                                 const DeviceCertificate& cert);

// The invite key pair, derived from the invite secret (32 bytes) under
// "topo.invite-key.v1": the secret itself never signs anything.
crypto::SigningKey InviteSigningKey(const crypto::SecretBytes& secret);

// ---- the invite link: topo://invite/v1/<base32 of the fields below> ----
//   [32] group, [32] secret, [32] invite vertex id, varint invite depth, varint invite
//   created_at, [32] inviter device key, varint n (0..16) addresses, each varint len
//   (1..255) + UTF-8 "host:port"
struct InviteLink {
  ObjectId group;
  FixedBytes<32> secret;
  VertexId invite;
  uint64_t invite_depth = 0;
  uint64_t invite_created_at = 0;
  crypto::PublicKey inviter_device;
  std::vector<std::string> addresses;
  bool operator==(const InviteLink&) const = default;
};
constexpr std::string_view kInviteLinkPrefix = "topo://invite/v1/";
std::string EncodeInviteLink(const InviteLink& link);
// InvalidArgument, with a message a user understands, when the text is not an invite link.
Result<InviteLink> DecodeInviteLink(std::string_view text);

// The join a device makes with an invite link: the invite, the device's certificate and
// the proof that it holds the link's secret. The same claim, shown when connecting, lets a
// peer serve a pending joiner the group object its join waits for (Replica::MayReadAsJoiner).
JoinOp MakeJoinOp(const InviteLink& link, const DeviceCertificate& self);

}  // namespace topo::codec
