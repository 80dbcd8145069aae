// Range fingerprints and the negentropy Varint, against values derived independently of
// src/sync: the spec's definitions computed by hand-written code here (and, for the fixed
// vectors, by Python's hashlib on the same definitions).
#include <gtest/gtest.h>

#include <random>

#include "crypto/crypto.h"
#include "sync/item.h"
#include "sync/negentropy_varint.h"
#include "sync/reconcile_sets.h"
#include "util/encoding.h"

namespace topo::sync {
namespace {

std::string Hex(ByteView b) { return HexEncode(b); }

Fingerprint FingerprintOf(const std::vector<ItemId>& ids) {
  IdSum sum;
  for (const ItemId& id : ids) sum.Add(id);
  return sum.ToFingerprint(ids.size());
}

ItemId Filled(uint8_t b) {
  ItemId id;
  id.bytes.fill(b);
  return id;
}

// The spec's fingerprint, written the plain way: byte-wise addition with carry, the Varint
// digit by digit, SHA-256.
Fingerprint StraightforwardFingerprint(const std::vector<ItemId>& ids) {
  uint8_t sum[32] = {};
  for (const ItemId& id : ids) {
    unsigned carry = 0;
    for (int i = 0; i < 32; ++i) {
      unsigned v = sum[i] + id.bytes[i] + carry;
      sum[i] = static_cast<uint8_t>(v);
      carry = v >> 8;
    }
  }
  Bytes input(sum, sum + 32);
  std::vector<uint8_t> digits;
  uint64_t n = ids.size();
  do {
    digits.push_back(n & 0x7f);
    n >>= 7;
  } while (n);
  for (size_t i = digits.size(); i-- > 0;) input.push_back(digits[i] | (i ? 0x80 : 0));
  crypto::Digest d = crypto::Sha256(input);
  return Fingerprint::FromView(d.view().subspan(0, 16));
}

TEST(NegVarint, KnownEncodings) {
  const std::vector<std::pair<uint64_t, std::string>> cases = {
      {0, "00"},      {1, "01"},       {127, "7f"},       {128, "8100"},
      {1003, "876b"}, {16383, "ff7f"}, {16384, "818000"}, {~uint64_t{0}, "81ffffffffffffffff7f"},
  };
  for (const auto& [v, hex] : cases) {
    Bytes b;
    PutNegVarint(b, v);
    EXPECT_EQ(Hex(b), hex) << v;
    EXPECT_EQ(NegVarintLength(v), b.size());
    size_t pos = 0;
    uint64_t out = 0;
    ASSERT_TRUE(GetNegVarint(b, pos, out).ok());
    EXPECT_EQ(out, v);
    EXPECT_EQ(pos, b.size());
  }
}

TEST(NegVarint, RoundTripsRandomValues) {
  std::mt19937_64 rng(11);
  Bytes b;
  std::vector<uint64_t> values;
  for (int i = 0; i < 10000; ++i) {
    values.push_back(rng() >> (rng() % 64));
    PutNegVarint(b, values.back());
  }
  size_t pos = 0;
  for (uint64_t v : values) {
    uint64_t out;
    ASSERT_TRUE(GetNegVarint(b, pos, out).ok());
    ASSERT_EQ(out, v);
  }
  EXPECT_EQ(pos, b.size());
}

TEST(NegVarint, RejectsTruncatedOverlongAndOverflow) {
  auto decode = [](const std::string& hex) {
    Bytes b = HexDecode(hex).value();
    size_t pos = 0;
    uint64_t v;
    Status s = GetNegVarint(b, pos, v);
    if (!s.ok()) {
      EXPECT_EQ(pos, 0u) << hex << ": pos moved on failure";
    }
    return s;
  };
  EXPECT_EQ(decode("").code(), Code::kCorruption);
  EXPECT_EQ(decode("81").code(), Code::kCorruption);
  EXPECT_EQ(decode("ffff").code(), Code::kCorruption);
  EXPECT_EQ(decode("8001").code(), Code::kCorruption);                  // leading zero digit
  EXPECT_EQ(decode("82808080808080808000").code(), Code::kCorruption);  // 2^64
  EXPECT_EQ(decode("ffffffffffffffffffff7f").code(), Code::kCorruption);
  EXPECT_TRUE(decode("81ffffffffffffffff7f").ok());
}

TEST(Fingerprint, KnownVectors) {
  // Computed with Python: sha256(sum.to_bytes(32, 'little') + varint(n)).hexdigest()[:32].
  EXPECT_EQ(Hex(FingerprintOf({}).view()), "7f9c9e31ac8256ca2f258583df262dbc");
  EXPECT_EQ(Hex(FingerprintOf({Filled(0xee)}).view()), "d5530eded759c1cb5749aacb9bc66bb2");
  // ff..ff + 01 00..00 = 2^256 = 0 mod 2^256: the carry runs through all 32 bytes.
  ItemId one;
  one.bytes[0] = 1;
  EXPECT_EQ(Hex(FingerprintOf({Filled(0xff), one}).view()), "58cc2f44d3a27866874701fbad573da9");
  std::vector<ItemId> two_hundred;
  for (int i = 0; i < 200; ++i) two_hundred.push_back(Filled(static_cast<uint8_t>(i)));
  EXPECT_EQ(Hex(FingerprintOf(two_hundred).view()), "ee324757553658b9258bb21e203f8fe6");
}

TEST(Fingerprint, MatchesStraightforwardComputation) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 200; ++round) {
    std::vector<ItemId> ids;
    size_t n = rng() % 300;
    for (size_t i = 0; i < n; ++i) {
      ItemId id = testing::RandomId(rng);
      if (rng() % 4 == 0) id.bytes.fill(0xff);  // force long carries
      ids.push_back(id);
    }
    ASSERT_EQ(FingerprintOf(ids), StraightforwardFingerprint(ids)) << "round " << round;
  }
}

TEST(IdSum, SubUndoesAdd) {
  std::mt19937_64 rng(9);
  IdSum sum, zero;
  std::vector<ItemId> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.push_back(testing::RandomId(rng));
    sum.Add(ids.back());
  }
  IdSum copy = sum;
  copy.Sub(sum);
  EXPECT_EQ(copy, zero);
  for (const ItemId& id : ids) sum.Sub(id);
  EXPECT_EQ(sum, zero);
  EXPECT_TRUE(sum.Serialize().IsZero());
}

}  // namespace
}  // namespace topo::sync
