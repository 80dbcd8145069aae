#include "codec/object_payload.h"

#include <gtest/gtest.h>

namespace topo::codec {
namespace {

FixedBytes<16> Nonce() {
  FixedBytes<16> n;
  for (size_t i = 0; i < 16; ++i) n.data()[i] = static_cast<uint8_t>(i);
  return n;
}

TEST(GenesisPayload, PlainObjectEndsWithZeroFlags) {
  Bytes enc = EncodeGenesisPayload({"doc", Nonce()});
  ASSERT_EQ(enc.size(), 1 + 1 + 3 + 16 + 1u);
  EXPECT_EQ(enc.back(), 0);
  auto dec = DecodeGenesisPayload(enc);
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_EQ(dec->blueprint, "doc");
  EXPECT_FALSE(dec->group.has_value());
  EXPECT_TRUE(dec->params.empty());
}

TEST(GenesisPayload, GroupAndParamsRoundTrip) {
  ObjectId group;
  group.data()[0] = 7;
  GenesisPayload g{"channel", Nonce(), group, Bytes{1, 2, 3}};
  Bytes enc = EncodeGenesisPayload(g);
  auto dec = DecodeGenesisPayload(enc);
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_EQ(dec->blueprint, "channel");
  ASSERT_TRUE(dec->group.has_value());
  EXPECT_EQ(*dec->group, group);
  EXPECT_EQ(dec->params, (Bytes{1, 2, 3}));
  EXPECT_EQ(EncodeGenesisPayload(*dec), enc);
}

TEST(GenesisPayload, StrictAboutFlagsGroupAndParams) {
  auto expect_bad = [](Bytes b, std::string_view needle) {
    auto dec = DecodeGenesisPayload(b);
    ASSERT_FALSE(dec.ok());
    EXPECT_NE(dec.status().message().find(needle), std::string::npos) << dec.status().ToString();
  };
  Bytes plain = EncodeGenesisPayload({"doc", Nonce()});
  // (Built by push_back: GCC 12 warns about a write through back() of a copied vector.)
  Bytes without_flags(plain.begin(), plain.end() - 1);
  Bytes unknown = without_flags;
  unknown.push_back(4);
  expect_bad(unknown, "genesis.flags");
  expect_bad(without_flags, "genesis.flags");
  Bytes zero_group = without_flags;
  zero_group.push_back(1);
  zero_group.resize(zero_group.size() + 32, 0);
  expect_bad(zero_group, "genesis.group: zero");
  Bytes empty_params = without_flags;
  empty_params.push_back(2);
  empty_params.push_back(0);
  expect_bad(empty_params, "genesis.params: empty");
  Bytes trailing = plain;
  trailing.push_back(0);
  expect_bad(trailing, "trailing");
}

}  // namespace
}  // namespace topo::codec
