#include "codec/group.h"

#include <algorithm>

#include "codec/reader.h"
#include "util/encoding.h"

namespace topo::codec {
namespace {

enum Tag : uint8_t {
  kInvite = 1,
  kRevokeInvite = 2,
  kJoin = 3,
  kSetRole = 4,
  kTransfer = 5,
  kRemove = 6,
  kLeave = 7,
  kRemoveDevice = 8,
  kRotate = 9,
  kShareKeys = 10,
  kAddDevice = 11,
  kAddMember = 12,
};

constexpr size_t kMaxAddresses = 16;
constexpr size_t kMaxAddressBytes = 255;

void WriteKeys(Writer& w, const std::vector<DeviceKeyShare>& keys) {
  w.Varint(keys.size());
  for (const auto& k : keys) {
    w.Fixed(k.device);
    w.Fixed(k.sealed);
  }
}

Status ReadKeys(Reader& r, std::string_view field, std::vector<DeviceKeyShare>& keys) {
  uint64_t n;
  TOPO_RETURN_IF_ERROR(r.VarintMax(std::string(field) + " count", kMaxSealedKeys, n));
  keys.resize(n);
  for (auto& k : keys) {
    TOPO_RETURN_IF_ERROR(r.Fixed(field, k.device));
    TOPO_RETURN_IF_ERROR(r.Fixed(field, k.sealed));
  }
  for (size_t i = 1; i < keys.size(); ++i)
    if (!(keys[i - 1].device < keys[i].device))
      return Status::Corruption(std::string(field) + ": devices not sorted or duplicated");
  return Status::Ok();
}

void WriteEpochShares(Writer& w, const std::vector<EpochKeyShare>& shares) {
  w.Varint(shares.size());
  for (const auto& s : shares) {
    w.Fixed(s.epoch);
    w.Fixed(s.share.device);
    w.Fixed(s.share.sealed);
  }
}

// (epoch, device) shares, strictly ascending; `min` is the least count allowed.
Status ReadEpochShares(Reader& r, const std::string& field, uint64_t min,
                       std::vector<EpochKeyShare>& shares) {
  uint64_t n;
  TOPO_RETURN_IF_ERROR(r.VarintMax(field + " count", kMaxSealedKeys, n));
  if (n < min) return Status::Corruption(field + " count: shares nothing");
  shares.resize(n);
  for (auto& s : shares) {
    TOPO_RETURN_IF_ERROR(r.Fixed(field + ".epoch", s.epoch));
    TOPO_RETURN_IF_ERROR(r.Fixed(field + ".device", s.share.device));
    TOPO_RETURN_IF_ERROR(r.Fixed(field + ".sealed", s.share.sealed));
  }
  for (size_t i = 1; i < shares.size(); ++i) {
    const auto& a = shares[i - 1];
    const auto& b = shares[i];
    if (!(std::tie(a.epoch, a.share.device) < std::tie(b.epoch, b.share.device)))
      return Status::Corruption(field + ": (epoch, device) not sorted or duplicated");
  }
  return Status::Ok();
}

Status ReadRole(Reader& r, std::string_view field, bool allow_owner, Role& role) {
  uint8_t v;
  TOPO_RETURN_IF_ERROR(r.U8(field, v));
  if (v > static_cast<uint8_t>(allow_owner ? Role::kOwner : Role::kAdmin))
    return Status::Corruption(std::string(field) + ": unknown role " + std::to_string(v));
  role = static_cast<Role>(v);
  return Status::Ok();
}

Status ReadCert(Reader& r, std::string_view field, DeviceCertificate& cert) {
  ByteView raw;
  TOPO_RETURN_IF_ERROR(r.LenBytes(field, kMaxDeviceCertBytes, raw));
  auto c = DecodeDeviceCertificate(raw);
  if (!c.ok()) return Status::Corruption(std::string(field) + ": " + c.status().message());
  cert = std::move(c).value();
  return Status::Ok();
}

Status ReadBool(Reader& r, std::string_view field, bool& b) {
  uint8_t v;
  TOPO_RETURN_IF_ERROR(r.U8(field, v));
  if (v > 1) return Status::Corruption(std::string(field) + ": not 0 or 1");
  b = v == 1;
  return Status::Ok();
}

struct Encoder {
  Writer& w;
  void operator()(const InviteOp& op) {
    w.U8(kInvite);
    w.U8(static_cast<uint8_t>(op.role));
    w.U8(static_cast<uint8_t>(op.purpose));
    w.Varint(op.max_uses);
    w.Varint(op.expires_at);
    w.Fixed(op.invite_key);
  }
  void operator()(const RevokeInviteOp& op) {
    w.U8(kRevokeInvite);
    w.Fixed(op.invite);
  }
  void operator()(const JoinOp& op) {
    w.U8(kJoin);
    w.Fixed(op.invite);
    w.LenBytes(EncodeDeviceCertificate(op.cert));
    w.Fixed(op.proof);
  }
  void operator()(const SetRoleOp& op) {
    w.U8(kSetRole);
    w.Fixed(op.user);
    w.U8(static_cast<uint8_t>(op.role));
  }
  void operator()(const TransferOp& op) {
    w.U8(kTransfer);
    w.Fixed(op.user);
  }
  void operator()(const RemoveOp& op) {
    w.U8(kRemove);
    w.Fixed(op.user);
    w.U8(op.bar ? 1 : 0);
    WriteKeys(w, op.keys);
  }
  void operator()(const LeaveOp& op) {
    w.U8(kLeave);
    WriteKeys(w, op.keys);
  }
  void operator()(const RemoveDeviceOp& op) {
    w.U8(kRemoveDevice);
    w.Fixed(op.device);
    WriteKeys(w, op.keys);
  }
  void operator()(const RotateOp& op) {
    w.U8(kRotate);
    WriteKeys(w, op.keys);
  }
  void operator()(const ShareKeysOp& op) {
    w.U8(kShareKeys);
    WriteEpochShares(w, op.shares);
  }
  void operator()(const AddMemberOp& op) {
    w.U8(kAddMember);
    w.U8(static_cast<uint8_t>(op.role));
    w.Varint(op.certs.size());
    for (const auto& c : op.certs) w.LenBytes(EncodeDeviceCertificate(c));
    WriteEpochShares(w, op.keys);
  }
  void operator()(const AddDeviceOp& op) {
    w.U8(kAddDevice);
    w.LenBytes(EncodeDeviceCertificate(op.cert));
    w.Fixed(op.sealed_user_seed);
    w.Varint(op.keys.size());
    for (const auto& k : op.keys) {
      w.Fixed(k.epoch);
      w.Fixed(k.sealed);
    }
  }
};

}  // namespace

const char* RoleName(Role r) {
  switch (r) {
    case Role::kMember:
      return "member";
    case Role::kAdmin:
      return "admin";
    case Role::kOwner:
      return "owner";
  }
  return "?";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "member") return Role::kMember;
  if (name == "admin") return Role::kAdmin;
  if (name == "owner") return Role::kOwner;
  return std::nullopt;
}

const char* GroupOpName(const GroupOp& op) {
  static constexpr const char* kNames[] = {
      "invite", "revoke-invite", "join",   "set-role",   "transfer",  "remove",
      "leave",  "remove-device", "rotate", "share-keys", "add-device", "add-member"};
  static_assert(std::size(kNames) == std::variant_size_v<GroupOp>);
  return kNames[op.index()];
}

Bytes EncodeGroupOp(const GroupOp& op) {
  Writer w;
  std::visit(Encoder{w}, op);
  return w.Take();
}

Result<GroupOp> DecodeGroupOp(ByteView payload) {
  Reader r(payload);
  uint8_t tag;
  TOPO_RETURN_IF_ERROR(r.U8("group_op.tag", tag));
  GroupOp out;
  switch (tag) {
    case kInvite: {
      InviteOp op;
      TOPO_RETURN_IF_ERROR(ReadRole(r, "invite.role", false, op.role));
      uint8_t purpose;
      TOPO_RETURN_IF_ERROR(r.U8("invite.purpose", purpose));
      if (purpose > static_cast<uint8_t>(InvitePurpose::kDevice))
        return Status::Corruption("invite.purpose: unknown purpose " + std::to_string(purpose));
      op.purpose = static_cast<InvitePurpose>(purpose);
      TOPO_RETURN_IF_ERROR(r.VarintMax("invite.max_uses", uint64_t{1} << 32, op.max_uses));
      TOPO_RETURN_IF_ERROR(r.VarintMax("invite.expires_at", kMaxCreatedAt, op.expires_at));
      TOPO_RETURN_IF_ERROR(r.Fixed("invite.invite_key", op.invite_key));
      out = op;
      break;
    }
    case kRevokeInvite: {
      RevokeInviteOp op;
      TOPO_RETURN_IF_ERROR(r.Fixed("revoke_invite.invite", op.invite));
      out = op;
      break;
    }
    case kJoin: {
      JoinOp op;
      TOPO_RETURN_IF_ERROR(r.Fixed("join.invite", op.invite));
      TOPO_RETURN_IF_ERROR(ReadCert(r, "join.cert", op.cert));
      TOPO_RETURN_IF_ERROR(r.Fixed("join.proof", op.proof));
      out = std::move(op);
      break;
    }
    case kSetRole: {
      SetRoleOp op;
      TOPO_RETURN_IF_ERROR(r.Fixed("set_role.user", op.user));
      TOPO_RETURN_IF_ERROR(ReadRole(r, "set_role.role", false, op.role));
      out = op;
      break;
    }
    case kTransfer: {
      TransferOp op;
      TOPO_RETURN_IF_ERROR(r.Fixed("transfer.user", op.user));
      out = op;
      break;
    }
    case kRemove: {
      RemoveOp op;
      TOPO_RETURN_IF_ERROR(r.Fixed("remove.user", op.user));
      TOPO_RETURN_IF_ERROR(ReadBool(r, "remove.bar", op.bar));
      TOPO_RETURN_IF_ERROR(ReadKeys(r, "remove.keys", op.keys));
      out = std::move(op);
      break;
    }
    case kLeave: {
      LeaveOp op;
      TOPO_RETURN_IF_ERROR(ReadKeys(r, "leave.keys", op.keys));
      out = std::move(op);
      break;
    }
    case kRemoveDevice: {
      RemoveDeviceOp op;
      TOPO_RETURN_IF_ERROR(r.Fixed("remove_device.device", op.device));
      TOPO_RETURN_IF_ERROR(ReadKeys(r, "remove_device.keys", op.keys));
      out = std::move(op);
      break;
    }
    case kRotate: {
      RotateOp op;
      TOPO_RETURN_IF_ERROR(ReadKeys(r, "rotate.keys", op.keys));
      out = std::move(op);
      break;
    }
    case kShareKeys: {
      ShareKeysOp op;
      TOPO_RETURN_IF_ERROR(ReadEpochShares(r, "share_keys", 1, op.shares));
      out = std::move(op);
      break;
    }
    case kAddDevice: {
      AddDeviceOp op;
      TOPO_RETURN_IF_ERROR(ReadCert(r, "add_device.cert", op.cert));
      TOPO_RETURN_IF_ERROR(r.Fixed("add_device.sealed_user_seed", op.sealed_user_seed));
      uint64_t n;
      TOPO_RETURN_IF_ERROR(r.VarintMax("add_device.keys count", kMaxSealedKeys, n));
      op.keys.resize(n);
      for (auto& k : op.keys) {
        TOPO_RETURN_IF_ERROR(r.Fixed("add_device.keys.epoch", k.epoch));
        TOPO_RETURN_IF_ERROR(r.Fixed("add_device.keys.sealed", k.sealed));
      }
      for (size_t i = 1; i < op.keys.size(); ++i)
        if (!(op.keys[i - 1].epoch < op.keys[i].epoch))
          return Status::Corruption("add_device.keys: epochs not sorted or duplicated");
      out = std::move(op);
      break;
    }
    case kAddMember: {
      AddMemberOp op;
      TOPO_RETURN_IF_ERROR(ReadRole(r, "add_member.role", false, op.role));
      uint64_t n;
      TOPO_RETURN_IF_ERROR(r.VarintMax("add_member.certs count", kMaxMemberDevices, n));
      if (n == 0) return Status::Corruption("add_member.certs count: no device");
      op.certs.resize(n);
      for (auto& c : op.certs) TOPO_RETURN_IF_ERROR(ReadCert(r, "add_member.cert", c));
      for (size_t i = 1; i < op.certs.size(); ++i) {
        if (op.certs[i].user_key != op.certs[0].user_key)
          return Status::Corruption("add_member.certs: certificates of more than one user");
        if (!(op.certs[i - 1].device_key < op.certs[i].device_key))
          return Status::Corruption("add_member.certs: devices not sorted or duplicated");
      }
      TOPO_RETURN_IF_ERROR(ReadEpochShares(r, "add_member.keys", 0, op.keys));
      out = std::move(op);
      break;
    }
    default:
      return Status::Corruption("group_op.tag: unknown operation " + std::to_string(tag));
  }
  TOPO_RETURN_IF_ERROR(r.ExpectEnd("group_op"));
  return out;
}

Bytes EncodeGroupParams(const GroupParams& p) {
  Writer w;
  w.U8(1);
  w.U8(p.history_visible ? 1 : 0);
  w.LenBytes(EncodeDeviceCertificate(p.creator));
  WriteKeys(w, p.keys);
  return w.Take();
}

Result<GroupParams> DecodeGroupParams(ByteView bytes) {
  Reader r(bytes);
  GroupParams p;
  uint8_t version;
  TOPO_RETURN_IF_ERROR(r.U8("group_params.version", version));
  if (version != 1)
    return Status::Corruption("group_params.version: unsupported version " +
                              std::to_string(version));
  uint8_t flags;
  TOPO_RETURN_IF_ERROR(r.U8("group_params.flags", flags));
  if (flags > 1) return Status::Corruption("group_params.flags: unknown flags");
  p.history_visible = flags & 1;
  TOPO_RETURN_IF_ERROR(ReadCert(r, "group_params.creator", p.creator));
  TOPO_RETURN_IF_ERROR(ReadKeys(r, "group_params.keys", p.keys));
  TOPO_RETURN_IF_ERROR(r.ExpectEnd("group_params"));
  return p;
}

Bytes EncodeEnvelope(const Envelope& e) {
  Writer w;
  w.U8(1);
  w.Fixed(e.epoch);
  w.Fixed(e.nonce);
  w.Raw(e.ciphertext);
  return w.Take();
}

Result<Envelope> DecodeEnvelope(ByteView payload) {
  Reader r(payload);
  Envelope e;
  uint8_t version;
  TOPO_RETURN_IF_ERROR(r.U8("envelope.version", version));
  if (version != 1)
    return Status::Corruption("envelope.version: unsupported version " + std::to_string(version));
  TOPO_RETURN_IF_ERROR(r.Fixed("envelope.epoch", e.epoch));
  TOPO_RETURN_IF_ERROR(r.Fixed("envelope.nonce", e.nonce));
  if (r.remaining() < crypto::kAeadTagBytes)
    return Status::Corruption("envelope.ciphertext: shorter than its tag");
  ByteView ct;
  TOPO_RETURN_IF_ERROR(r.Raw("envelope.ciphertext", r.remaining(), ct));
  e.ciphertext.assign(ct.begin(), ct.end());
  return e;
}

Bytes EnvelopeAad(const Vertex& v) { return EncodeHeader(v); }

crypto::Digest InviteProofDigest(const ObjectId& group, const VertexId& invite,
                                 const DeviceCertificate& cert) {
  crypto::Hasher h("topo.invite-proof.v1");
  h.Update(group.view());
  h.Update(invite.view());
  h.Update(EncodeDeviceCertificate(cert));
  return h.Final();
}

crypto::SigningKey InviteSigningKey(const crypto::SecretBytes& secret) {
  crypto::Digest seed = crypto::Hash("topo.invite-key.v1", secret.view());
  // A 32-byte seed always makes a key.
  return crypto::SigningKey::FromSeed(seed.view()).value();
}

JoinOp MakeJoinOp(const InviteLink& link, const DeviceCertificate& self) {
  auto secret = crypto::SecretBytes::CopyOf(link.secret.view());
  JoinOp join{link.invite, self, {}};
  join.proof =
      InviteSigningKey(secret).Sign(InviteProofDigest(link.group, link.invite, self).view());
  return join;
}

std::string EncodeInviteLink(const InviteLink& link) {
  Writer w;
  w.Fixed(link.group);
  w.Fixed(link.secret);
  w.Fixed(link.invite);
  w.Varint(link.invite_depth);
  w.Varint(link.invite_created_at);
  w.Fixed(link.inviter_device);
  w.Varint(link.addresses.size());
  for (const auto& a : link.addresses) w.LenString(a);
  return std::string(kInviteLinkPrefix) + Base32Encode(w.bytes());
}

Result<InviteLink> DecodeInviteLink(std::string_view text) {
  auto bad = [](std::string_view why) {
    return Status::InvalidArgument("not a topo invite link: " + std::string(why));
  };
  if (text.substr(0, kInviteLinkPrefix.size()) != kInviteLinkPrefix)
    return bad("it must start with " + std::string(kInviteLinkPrefix));
  auto bytes = Base32Decode(text.substr(kInviteLinkPrefix.size()));
  if (!bytes.ok()) return bad(bytes.status().message());
  Reader r(*bytes);
  InviteLink link;
  Status st = [&]() -> Status {
    TOPO_RETURN_IF_ERROR(r.Fixed("invite_link.group", link.group));
    TOPO_RETURN_IF_ERROR(r.Fixed("invite_link.secret", link.secret));
    TOPO_RETURN_IF_ERROR(r.Fixed("invite_link.invite", link.invite));
    TOPO_RETURN_IF_ERROR(r.VarintMax("invite_link.invite_depth", kMaxDepth, link.invite_depth));
    TOPO_RETURN_IF_ERROR(
        r.VarintMax("invite_link.invite_created_at", kMaxCreatedAt, link.invite_created_at));
    TOPO_RETURN_IF_ERROR(r.Fixed("invite_link.inviter_device", link.inviter_device));
    uint64_t n;
    TOPO_RETURN_IF_ERROR(r.VarintMax("invite_link.addresses count", kMaxAddresses, n));
    link.addresses.resize(n);
    for (auto& a : link.addresses) {
      TOPO_RETURN_IF_ERROR(r.LenString("invite_link.address", kMaxAddressBytes, a));
      if (a.empty()) return Status::Corruption("invite_link.address: empty");
    }
    return r.ExpectEnd("invite_link");
  }();
  if (!st.ok()) return bad(st.message());
  return link;
}

}  // namespace topo::codec
