#include <gtest/gtest.h>

#include <random>

#include "util/encoding.h"
#include "util/status.h"
#include "util/varint.h"

namespace topo {
namespace {

TEST(Varint, RoundTripsAndIsCanonical) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    uint64_t v = rng() >> (rng() % 64);
    Bytes b;
    PutVarint(b, v);
    EXPECT_EQ(b.size(), VarintLength(v));
    size_t pos = 0;
    uint64_t out = 0;
    ASSERT_EQ(GetVarint(b, pos, out), VarintError::kNone);
    EXPECT_EQ(out, v);
    EXPECT_EQ(pos, b.size());
  }
}

TEST(Varint, RejectsOverlongTruncatedAndOverflow) {
  size_t pos = 0;
  uint64_t v;
  Bytes overlong{0x81, 0x00};
  EXPECT_EQ(GetVarint(overlong, pos, v), VarintError::kNonCanonical);
  Bytes truncated{0x80, 0x80};
  pos = 0;
  EXPECT_EQ(GetVarint(truncated, pos, v), VarintError::kTruncated);
  Bytes over(10, 0xff);
  over.push_back(0x01);
  pos = 0;
  EXPECT_EQ(GetVarint(over, pos, v), VarintError::kOverflow);
  Bytes max{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  pos = 0;
  ASSERT_EQ(GetVarint(max, pos, v), VarintError::kNone);
  EXPECT_EQ(v, UINT64_MAX);
  Bytes too_big{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  pos = 0;
  EXPECT_EQ(GetVarint(too_big, pos, v), VarintError::kOverflow);
  EXPECT_EQ(pos, 0u);
}

TEST(Hex, RoundTripAndErrors) {
  Bytes b{0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "0001abff");
  EXPECT_EQ(*HexDecode("0001ABff"), b);
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_FALSE((HexDecodeFixed<4>("0001ab")).ok());
}

TEST(Base32, Rfc4648Vectors) {
  EXPECT_EQ(Base32Encode(AsBytes("")), "");
  EXPECT_EQ(Base32Encode(AsBytes("f")), "my");
  EXPECT_EQ(Base32Encode(AsBytes("fo")), "mzxq");
  EXPECT_EQ(Base32Encode(AsBytes("foo")), "mzxw6");
  EXPECT_EQ(Base32Encode(AsBytes("foobar")), "mzxw6ytboi");
  EXPECT_EQ(*Base32Decode("MZXW6YTBOI"), ToBytes("foobar"));
  EXPECT_FALSE(Base32Decode("mz").ok()) << "non-zero trailing bits are not canonical";
  EXPECT_FALSE(Base32Decode("m1").ok());
  std::mt19937 rng(3);
  for (int n = 0; n < 64; ++n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    EXPECT_EQ(*Base32Decode(Base32Encode(b)), b);
  }
}

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}
Result<int> Quarter(int x) {
  TOPO_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(Status, PropagatesThroughMacros) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().ToString(), "invalid argument: odd");
}

}  // namespace
}  // namespace topo
