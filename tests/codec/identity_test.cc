#include "codec/identity.h"

#include <gtest/gtest.h>

#include "codec/reader.h"

namespace topo::codec {
namespace {

struct Keys {
  crypto::SigningKey user = crypto::SigningKey::Generate();
  crypto::SigningKey device = crypto::SigningKey::Generate();
  crypto::BoxKey box = crypto::BoxKey::Generate();
};

DeviceCertificate MakeCert(const Keys& k, std::string_view name = "alice's laptop",
                           uint64_t issued_at = 1'700'000'000'123) {
  auto cert =
      MakeDeviceCertificate(k.user, k.device.public_key(), k.box.public_key(), name, issued_at);
  EXPECT_TRUE(cert.ok()) << cert.status().ToString();
  return *cert;
}

// Offset of the name length byte: version, user key, device key, box key.
constexpr size_t kNameLenOffset = 1 + 32 * 3;

TEST(DeviceCert, MakeSignsAndVerifies) {
  Keys k;
  auto cert = MakeCert(k);
  EXPECT_EQ(cert.version, kDeviceCertVersion);
  EXPECT_EQ(cert.user_key, k.user.public_key());
  EXPECT_EQ(cert.device_key, k.device.public_key());
  EXPECT_EQ(cert.device_box_key, k.box.public_key());
  EXPECT_EQ(cert.device_name, "alice's laptop");
  EXPECT_EQ(cert.issued_at, 1'700'000'000'123u);
  EXPECT_TRUE(VerifyDeviceCertificate(cert).ok());
  // The signature covers the domain-separated digest of the unsigned encoding.
  auto digest = crypto::Hash("topo.device-cert.v1", EncodeUnsignedDeviceCertificate(cert));
  EXPECT_EQ(digest, DeviceCertificateDigest(cert));
  EXPECT_TRUE(crypto::Verify(k.user.public_key(), digest.view(), cert.signature));
}

TEST(DeviceCert, LayoutIsAsDocumented) {
  Keys k;
  auto cert = MakeCert(k, "pc", 300);
  Bytes b = EncodeDeviceCertificate(cert);
  ASSERT_EQ(b.size(), 1 + 96 + 1 + 2 + 2 + 64u);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(FixedBytes<32>::FromView(ByteView(b).subspan(1, 32)), k.user.public_key());
  EXPECT_EQ(FixedBytes<32>::FromView(ByteView(b).subspan(33, 32)), k.device.public_key());
  EXPECT_EQ(FixedBytes<32>::FromView(ByteView(b).subspan(65, 32)), k.box.public_key());
  EXPECT_EQ(b[97], 2);
  EXPECT_EQ(b[98], 'p');
  EXPECT_EQ(b[99], 'c');
  EXPECT_EQ(b[100], 0xAC);  // 300 = 0b10'0101100 -> 0xAC 0x02
  EXPECT_EQ(b[101], 0x02);
  EXPECT_EQ(FixedBytes<64>::FromView(ByteView(b).subspan(102, 64)), cert.signature);
  EXPECT_EQ(Bytes(b.begin(), b.begin() + 102), EncodeUnsignedDeviceCertificate(cert));
}

TEST(DeviceCert, EncodeDecodeRoundTrip) {
  Keys k;
  for (std::string name : {std::string("a"), std::string("ноутбук 💻"), std::string(64, 'x')}) {
    for (uint64_t t : {uint64_t{0}, uint64_t{127}, uint64_t{1'700'000'000'000}, kMaxIssuedAt}) {
      auto cert = MakeCert(k, name, t);
      Bytes b = EncodeDeviceCertificate(cert);
      EXPECT_GE(b.size(), kMinDeviceCertBytes);
      EXPECT_LE(b.size(), kMaxDeviceCertBytes);
      auto back = DecodeDeviceCertificate(b);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(*back, cert);
      EXPECT_EQ(EncodeDeviceCertificate(*back), b);
      EXPECT_TRUE(VerifyDeviceCertificate(*back).ok());
    }
  }
}

TEST(DeviceCert, MakeRejectsBadNamesAndTimes) {
  Keys k;
  auto make = [&](std::string_view name, uint64_t t = 1) {
    return MakeDeviceCertificate(k.user, k.device.public_key(), k.box.public_key(), name, t);
  };
  EXPECT_EQ(make("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(make(std::string(65, 'x')).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(make("bad \xff utf8").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(make("ok", kMaxIssuedAt + 1).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(make(std::string(64, 'x')).ok());
}

void ExpectCorruption(const Bytes& b, std::string_view field) {
  auto r = DecodeDeviceCertificate(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().message();
}

TEST(DeviceCert, DecodeRejectsTrailingBytes) {
  Keys k;
  Bytes b = EncodeDeviceCertificate(MakeCert(k));
  b.push_back(0);
  ExpectCorruption(b, "trailing bytes");
}

TEST(DeviceCert, DecodeRejectsEveryTruncation) {
  Keys k;
  Bytes b = EncodeDeviceCertificate(MakeCert(k));
  for (size_t n = 0; n < b.size(); ++n) {
    Bytes cut(b.begin(), b.begin() + n);
    auto r = DecodeDeviceCertificate(cut);
    ASSERT_FALSE(r.ok()) << "length " << n;
    EXPECT_EQ(r.status().code(), Code::kCorruption);
  }
  ExpectCorruption(Bytes(b.begin(), b.end() - 1), "device_cert.signature: truncated");
}

TEST(DeviceCert, DecodeRejectsNonCanonicalVarints) {
  Keys k;
  auto cert = MakeCert(k, "pc", 5);
  Bytes b = EncodeDeviceCertificate(cert);
  // name_len 2 written as 0x82 0x00.
  Bytes long_len = b;
  long_len[kNameLenOffset] = 0x82;
  long_len.insert(long_len.begin() + kNameLenOffset + 1, 0x00);
  ExpectCorruption(long_len, "device_cert.device_name: non-canonical varint");
  // issued_at 5 written as 0x85 0x00.
  Bytes long_time = b;
  size_t t = kNameLenOffset + 1 + 2;
  ASSERT_EQ(long_time[t], 5);
  long_time[t] = 0x85;
  long_time.insert(long_time.begin() + t + 1, 0x00);
  ExpectCorruption(long_time, "device_cert.issued_at: non-canonical varint");
}

TEST(DeviceCert, DecodeRejectsBadFields) {
  Keys k;
  Bytes b = EncodeDeviceCertificate(MakeCert(k, "pc", 5));

  Bytes version = b;
  version[0] = 2;
  ExpectCorruption(version, "device_cert.version");

  Bytes utf8 = b;
  utf8[kNameLenOffset + 1] = 0xC0;  // an overlong lead byte
  ExpectCorruption(utf8, "device_cert.device_name: not valid UTF-8");

  Bytes empty = b;
  empty[kNameLenOffset] = 0;
  empty.erase(empty.begin() + kNameLenOffset + 1, empty.begin() + kNameLenOffset + 3);
  ExpectCorruption(empty, "device_cert.device_name: empty");

  // A 65-byte name is over its bound even when the bytes are all there.
  Bytes long_name(b.begin(), b.begin() + kNameLenOffset);
  long_name.push_back(65);
  long_name.insert(long_name.end(), 65, 'x');
  long_name.push_back(5);
  long_name.insert(long_name.end(), 64, 0);
  ExpectCorruption(long_name, "device_cert.device_name: over its bound of 64");

  // issued_at over 2^53.
  Writer w;
  w.Raw(ByteView(b).subspan(0, kNameLenOffset + 3));
  w.Varint(kMaxIssuedAt + 1);
  w.Raw(ByteView(b).subspan(b.size() - 64));
  ExpectCorruption(w.Take(), "device_cert.issued_at: over its bound");
}

TEST(DeviceCert, VerifyRejectsTampering) {
  Keys k;
  auto cert = MakeCert(k);
  Bytes b = EncodeDeviceCertificate(cert);

  Bytes bad_sig = b;
  bad_sig.back() ^= 0x01;
  auto r = DecodeDeviceCertificate(bad_sig);
  ASSERT_TRUE(r.ok());  // well-formed, so decode accepts it...
  EXPECT_EQ(VerifyDeviceCertificate(*r).code(), Code::kRejected);  // ...and verify refuses

  // Any change to a signed field breaks the signature.
  auto other = cert;
  other.device_name = "mallory's phone";
  EXPECT_FALSE(VerifyDeviceCertificate(other).ok());
  other = cert;
  other.device_key = crypto::SigningKey::Generate().public_key();
  EXPECT_FALSE(VerifyDeviceCertificate(other).ok());
  other = cert;
  other.issued_at += 1;
  EXPECT_FALSE(VerifyDeviceCertificate(other).ok());
  // A certificate re-labelled with another user's key does not verify either.
  other = cert;
  other.user_key = crypto::SigningKey::Generate().public_key();
  EXPECT_FALSE(VerifyDeviceCertificate(other).ok());

  // Flip each bit of each byte: decode fails or verify fails, never both succeed.
  for (size_t i = 0; i < b.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes f = b;
      f[i] ^= static_cast<uint8_t>(1u << bit);
      auto d = DecodeDeviceCertificate(f);
      if (d.ok()) {
        EXPECT_FALSE(VerifyDeviceCertificate(*d).ok()) << "byte " << i << " bit " << bit;
      }
    }
  }
}

TEST(DeviceCert, DecodeRejectsOversizeInput) {
  ExpectCorruption(Bytes(kMaxDeviceCertBytes + 1, 0x01), "size bound");
  ExpectCorruption(Bytes{}, "device_cert.version: truncated");
}

}  // namespace
}  // namespace topo::codec
