#include "codec/group.h"

#include <gtest/gtest.h>

#include <random>

#include "codec/object_payload.h"
#include "util/encoding.h"

namespace topo::codec {
namespace {

DeviceCertificate MakeCert(std::string_view name = "laptop") {
  auto user = crypto::SigningKey::Generate();
  auto device = crypto::SigningKey::Generate();
  auto box = crypto::BoxKey::Generate();
  auto cert =
      MakeDeviceCertificate(user, device.public_key(), box.public_key(), name, 1'700'000'000'000);
  EXPECT_TRUE(cert.ok()) << cert.status().ToString();
  return *cert;
}

template <size_t N>
FixedBytes<N> Filled(uint8_t b) {
  FixedBytes<N> f;
  for (size_t i = 0; i < N; ++i) f.data()[i] = b;
  return f;
}

std::vector<DeviceKeyShare> Shares(std::initializer_list<uint8_t> devices) {
  std::vector<DeviceKeyShare> out;
  for (uint8_t d : devices) out.push_back({Filled<32>(d), Filled<kSealedKeyBytes>(d ^ 0x5a)});
  return out;
}

std::vector<GroupOp> EveryOp() {
  JoinOp join{Filled<32>(7), MakeCert(), Filled<64>(9)};
  return {
      InviteOp{Role::kAdmin, InvitePurpose::kMember, 3, 1'800'000'000'000, Filled<32>(1)},
      InviteOp{Role::kMember, InvitePurpose::kDevice, 0, 0, Filled<32>(2)},
      RevokeInviteOp{Filled<32>(3)},
      join,
      SetRoleOp{Filled<32>(4), Role::kAdmin},
      SetRoleOp{Filled<32>(4), Role::kMember},
      TransferOp{Filled<32>(5)},
      RemoveOp{Filled<32>(6), true, Shares({1, 2, 3})},
      RemoveOp{Filled<32>(6), false, {}},
      LeaveOp{Shares({9})},
      RemoveDeviceOp{Filled<32>(8), Shares({1, 200})},
      RotateOp{Shares({1, 2})},
      ShareKeysOp{{{Filled<32>(1), Shares({3})[0]},
                   {Filled<32>(1), Shares({4})[0]},
                   {Filled<32>(2), Shares({1})[0]}}},
      AddDeviceOp{MakeCert(), Filled<kSealedKeyBytes>(3), {}},
      AddDeviceOp{MakeCert(),
                  Filled<kSealedKeyBytes>(4),
                  {{Filled<32>(1), Filled<kSealedKeyBytes>(5)},
                   {Filled<32>(2), Filled<kSealedKeyBytes>(6)}}},
      AddMemberOp{Role::kMember, {MakeCert()}, {}},
      AddMemberOp{Role::kAdmin,
                  {MakeCert()},
                  {{Filled<32>(1), Shares({3})[0]}, {Filled<32>(2), Shares({3})[0]}}},
  };
}

TEST(GroupOp, EveryOperationRoundTrips) {
  for (const GroupOp& op : EveryOp()) {
    Bytes enc = EncodeGroupOp(op);
    auto dec = DecodeGroupOp(enc);
    ASSERT_TRUE(dec.ok()) << GroupOpName(op) << ": " << dec.status().ToString();
    EXPECT_TRUE(*dec == op) << GroupOpName(op);
    EXPECT_EQ(EncodeGroupOp(*dec), enc) << GroupOpName(op);
  }
}

TEST(GroupOp, NamesFollowTheTags) {
  auto ops = EveryOp();
  EXPECT_STREQ(GroupOpName(ops[0]), "invite");
  EXPECT_STREQ(GroupOpName(ops[3]), "join");
  EXPECT_STREQ(GroupOpName(ops.back()), "add-member");
  EXPECT_EQ(EncodeGroupOp(ops[0])[0], 1);
  EXPECT_EQ(EncodeGroupOp(ops.back())[0], 12);
}

void ExpectCorrupt(ByteView b, std::string_view needle) {
  auto dec = DecodeGroupOp(b);
  ASSERT_FALSE(dec.ok()) << "decoded: " << HexEncode(b);
  EXPECT_EQ(dec.status().code(), Code::kCorruption);
  EXPECT_NE(dec.status().message().find(needle), std::string::npos) << dec.status().ToString();
}

TEST(GroupOp, StrictDecoderNamesWhy) {
  ExpectCorrupt({}, "group_op.tag");
  ExpectCorrupt(Bytes{0}, "unknown operation 0");
  ExpectCorrupt(Bytes{13}, "unknown operation 13");
  // Every truncation of every op fails, and so does one trailing byte.
  for (const GroupOp& op : EveryOp()) {
    Bytes enc = EncodeGroupOp(op);
    for (size_t n = 0; n < enc.size(); ++n)
      EXPECT_FALSE(DecodeGroupOp(ByteView(enc).subspan(0, n)).ok()) << GroupOpName(op) << " " << n;
    Bytes longer = enc;
    longer.push_back(0);
    ExpectCorrupt(longer, "trailing");
  }
  // set-role cannot name the owner (ownership moves by transfer only).
  Bytes set_owner = EncodeGroupOp(SetRoleOp{Filled<32>(4), Role::kMember});
  set_owner.back() = static_cast<uint8_t>(Role::kOwner);
  ExpectCorrupt(set_owner, "set_role.role: unknown role 2");
  // The bar flag is a strict boolean.
  Bytes remove = EncodeGroupOp(RemoveOp{Filled<32>(6), false, {}});
  remove[33] = 2;
  ExpectCorrupt(remove, "remove.bar");
  // Key shares are sorted by device, without duplicates.
  RotateOp unsorted{Shares({2, 1})};
  ExpectCorrupt(EncodeGroupOp(unsorted), "not sorted");
  RotateOp dup{Shares({2, 2})};
  ExpectCorrupt(EncodeGroupOp(dup), "not sorted");
  ExpectCorrupt(EncodeGroupOp(ShareKeysOp{}), "shares nothing");
  ExpectCorrupt(EncodeGroupOp(AddDeviceOp{MakeCert(),
                                          Filled<kSealedKeyBytes>(4),
                                          {{Filled<32>(2), Filled<kSealedKeyBytes>(5)},
                                           {Filled<32>(1), Filled<kSealedKeyBytes>(6)}}}),
                "epochs not sorted");
  // add-member: at least one device, of one user, sorted; keys sorted; no owner.
  ExpectCorrupt(EncodeGroupOp(AddMemberOp{Role::kMember, {}, {}}), "no device");
  ExpectCorrupt(EncodeGroupOp(AddMemberOp{Role::kMember, {MakeCert(), MakeCert()}, {}}),
                "add_member.certs");
  ExpectCorrupt(EncodeGroupOp(AddMemberOp{Role::kOwner, {MakeCert()}, {}}), "add_member.role");
  ExpectCorrupt(EncodeGroupOp(AddMemberOp{Role::kMember,
                                          {MakeCert()},
                                          {{Filled<32>(2), Shares({3})[0]},
                                           {Filled<32>(1), Shares({3})[0]}}}),
                "not sorted");
  // An invite's purpose and role are known values.
  Bytes invite = EncodeGroupOp(InviteOp{});
  invite[2] = 2;
  ExpectCorrupt(invite, "invite.purpose");
  // A join whose certificate is damaged names the certificate.
  Bytes join = EncodeGroupOp(EveryOp()[3]);
  join[1 + 32 + 1] = 9;  // the certificate's version byte
  ExpectCorrupt(join, "join.cert");
}

TEST(GroupOp, RandomBytesNeverCrashAndReencodeExactly) {
  std::mt19937_64 rng(42);
  auto ops = EveryOp();
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b = EncodeGroupOp(ops[rng() % ops.size()]);
    // Flip a few bytes: whatever still decodes must be canonical.
    for (int f = 0; f < 1 + static_cast<int>(rng() % 3); ++f)
      b[rng() % b.size()] ^= 1 << (rng() % 8);
    auto dec = DecodeGroupOp(b);
    if (!dec.ok()) continue;
    ++decoded;
    EXPECT_EQ(EncodeGroupOp(*dec), b);
  }
  EXPECT_GT(decoded, 0);
}

TEST(GroupParams, RoundTripAndStrictness) {
  GroupParams p{true, MakeCert("owner's phone"), Shares({5})};
  Bytes enc = EncodeGroupParams(p);
  auto dec = DecodeGroupParams(enc);
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_TRUE(*dec == p);
  Bytes bad_version = enc;
  bad_version[0] = 2;
  EXPECT_NE(DecodeGroupParams(bad_version).status().message().find("unsupported version"),
            std::string::npos);
  Bytes bad_flags = enc;
  bad_flags[1] = 2;
  EXPECT_NE(DecodeGroupParams(bad_flags).status().message().find("flags"), std::string::npos);
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_FALSE(DecodeGroupParams(trailing).ok());
}

TEST(Envelope, RoundTripAndBounds) {
  Envelope e{Filled<32>(1), Filled<24>(2), Bytes(40, 3)};
  Bytes enc = EncodeEnvelope(e);
  EXPECT_EQ(enc.size(), 1 + 32 + 24 + 40u);
  auto dec = DecodeEnvelope(enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_TRUE(*dec == e);
  // A ciphertext shorter than its tag cannot be genuine.
  Envelope short_ct{Filled<32>(1), Filled<24>(2), Bytes(15, 3)};
  EXPECT_NE(DecodeEnvelope(EncodeEnvelope(short_ct)).status().message().find("shorter"),
            std::string::npos);
  Bytes v2 = enc;
  v2[0] = 2;
  EXPECT_FALSE(DecodeEnvelope(v2).ok());
}

TEST(Envelope, AadIsTheHeaderWithoutThePayload) {
  Vertex v;
  v.type = kCrdtOpType;
  v.object_id = Filled<32>(1);
  v.created_at = 5;
  v.depth = 1;
  v.parents = {Filled<32>(2)};
  v.payload = Bytes{1, 2, 3};
  Bytes aad = EnvelopeAad(v);
  Bytes unsigned_enc = EncodeUnsigned(v);
  ASSERT_EQ(unsigned_enc.size(), aad.size() + 1 + 3);
  EXPECT_TRUE(std::equal(aad.begin(), aad.end(), unsigned_enc.begin()));
  // Changing the payload does not change the AAD; changing the header does.
  v.payload = Bytes{9};
  EXPECT_EQ(EnvelopeAad(v), aad);
  v.created_at = 6;
  EXPECT_NE(EnvelopeAad(v), aad);
}

TEST(Invite, KeyIsDerivedFromTheSecretAndProofBindsEverything) {
  auto secret = crypto::SecretBytes::Random(32);
  auto k1 = InviteSigningKey(secret);
  auto k2 = InviteSigningKey(secret);
  EXPECT_EQ(k1.public_key(), k2.public_key());
  EXPECT_NE(InviteSigningKey(crypto::SecretBytes::Random(32)).public_key(), k1.public_key());
  // The derived key is not the secret used as a seed.
  EXPECT_NE(crypto::SigningKey::FromSeed(secret.view())->public_key(), k1.public_key());
  DeviceCertificate cert = MakeCert();
  auto d = InviteProofDigest(Filled<32>(1), Filled<32>(2), cert);
  EXPECT_NE(d, InviteProofDigest(Filled<32>(9), Filled<32>(2), cert));
  EXPECT_NE(d, InviteProofDigest(Filled<32>(1), Filled<32>(9), cert));
  EXPECT_NE(d, InviteProofDigest(Filled<32>(1), Filled<32>(2), MakeCert()));
}

TEST(InviteLink, RoundTripsAndRefusesOtherText) {
  InviteLink link{Filled<32>(1),
                  Filled<32>(2),
                  Filled<32>(3),
                  17,
                  1'700'000'000'001,
                  Filled<32>(4),
                  {"127.0.0.1:7000", "[::1]:7000"}};
  std::string text = EncodeInviteLink(link);
  EXPECT_EQ(text.rfind("topo://invite/v1/", 0), 0u);
  auto dec = DecodeInviteLink(text);
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_TRUE(*dec == link);

  auto expect_bad = [](std::string_view t, std::string_view needle) {
    auto d = DecodeInviteLink(t);
    ASSERT_FALSE(d.ok()) << t;
    EXPECT_EQ(d.status().code(), Code::kInvalidArgument);
    EXPECT_NE(d.status().message().find("not a topo invite link"), std::string::npos);
    EXPECT_NE(d.status().message().find(needle), std::string::npos) << d.status().ToString();
  };
  expect_bad("https://example.org/", "must start with");
  expect_bad("topo://invite/v1/!!!", "");
  expect_bad(text.substr(0, text.size() - 8), "");
  expect_bad(EncodeInviteLink(InviteLink{}) + "aa", "");
  InviteLink empty_addr = link;
  empty_addr.addresses = {""};
  expect_bad(EncodeInviteLink(empty_addr), "address: empty");
}

}  // namespace
}  // namespace topo::codec
