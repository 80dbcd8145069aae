// Fuzzes the group decoders of codec/group.h on the same input: a group operation, group
// parameters, an envelope or an invite link that decodes must re-encode to exactly the
// input (and a decoded invite link must re-encode to the same text).
//
// TOPO_FUZZ_WRITE_SEEDS=<dir> writes valid encodings of each to <dir> and exits.
#include <algorithm>
#include <string>

#include "codec/group.h"
#include "fuzz_support.h"

const char topo::fuzz::kTargetName[] = "group_fuzz";

namespace topo {
namespace {

using fuzz::Fail;
using fuzz::WriteSeed;

codec::DeviceCertificate SeedCert() {
  auto user = crypto::SigningKey::FromSeed(Bytes(32, 1)).value();
  auto device = crypto::SigningKey::FromSeed(Bytes(32, 2)).value();
  crypto::BoxPublicKey box;
  box.bytes.fill(3);
  return codec::MakeDeviceCertificate(user, device.public_key(), box, "seed", 1).value();
}

void WriteSeeds(const std::string& dir) {
  using namespace codec;
  FixedBytes<32> a, b;
  a.bytes.fill(0x11);
  b.bytes.fill(0x22);
  SealedKey sealed;
  sealed.bytes.fill(0x33);
  std::vector<DeviceKeyShare> keys{{a, sealed}, {b, sealed}};
  WriteSeed(dir, "invite", EncodeGroupOp(InviteOp{Role::kAdmin, InvitePurpose::kMember, 3, 99, a}));
  WriteSeed(dir, "revoke", EncodeGroupOp(RevokeInviteOp{a}));
  WriteSeed(dir, "join", EncodeGroupOp(JoinOp{a, SeedCert(), {}}));
  WriteSeed(dir, "set_role", EncodeGroupOp(SetRoleOp{a, Role::kAdmin}));
  WriteSeed(dir, "transfer", EncodeGroupOp(TransferOp{b}));
  WriteSeed(dir, "remove", EncodeGroupOp(RemoveOp{a, true, keys}));
  WriteSeed(dir, "leave", EncodeGroupOp(LeaveOp{keys}));
  WriteSeed(dir, "remove_device", EncodeGroupOp(RemoveDeviceOp{b, keys}));
  WriteSeed(dir, "rotate", EncodeGroupOp(RotateOp{keys}));
  WriteSeed(dir, "share", EncodeGroupOp(ShareKeysOp{{{a, keys[0]}, {b, keys[1]}}}));
  WriteSeed(dir, "add_device",
            EncodeGroupOp(AddDeviceOp{SeedCert(), keys[0].sealed, {{a, keys[1].sealed}}}));
  WriteSeed(dir, "params", EncodeGroupParams(GroupParams{true, SeedCert(), keys}));
  WriteSeed(dir, "envelope", EncodeEnvelope(Envelope{a, {}, Bytes(40, 7)}));
  std::string link = EncodeInviteLink(InviteLink{a, b, a, 3, 1000, b, {"127.0.0.1:7000"}});
  WriteSeed(dir, "invite_link", Bytes(link.begin(), link.end()));
}

template <typename T, typename Enc>
void RoundTrip(const Result<T>& decoded, ByteView in, Enc encode, const char* what) {
  if (!decoded.ok()) return;
  Bytes again = encode(*decoded);
  if (!std::equal(again.begin(), again.end(), in.begin(), in.end()))
    Fail(std::string(what) + ": encode(decode(x)) != x");
}

}  // namespace
}  // namespace topo

TOPO_FUZZ_SEEDS(topo::WriteSeeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace topo;
  ByteView in(data, size);
  RoundTrip(codec::DecodeGroupOp(in), in, codec::EncodeGroupOp, "group op");
  RoundTrip(codec::DecodeGroupParams(in), in, codec::EncodeGroupParams, "group params");
  RoundTrip(codec::DecodeEnvelope(in), in, codec::EncodeEnvelope, "envelope");
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto link = codec::DecodeInviteLink(text); link.ok()) {
    // Base32 decoding accepts one spelling per byte string only if it is canonical; the
    // re-encoding must at least decode to the same link.
    auto again = codec::DecodeInviteLink(codec::EncodeInviteLink(*link));
    if (!again.ok() || !(*again == *link)) Fail("invite link: decode(encode(decode(x))) differs");
  }
  return 0;
}
