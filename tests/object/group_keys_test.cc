#include "object/group_keys.h"

#include <gtest/gtest.h>

#include "codec/object_payload.h"

namespace topo::object {
namespace {

struct Device {
  crypto::SigningKey user = crypto::SigningKey::Generate();
  crypto::SigningKey key = crypto::SigningKey::Generate();
  crypto::BoxKey box = crypto::BoxKey::Generate();
  codec::DeviceCertificate cert =
      *codec::MakeDeviceCertificate(user, key.public_key(), box.public_key(), "d", 1);
};

// A group of one (the owner), with its first epoch key known to the test.
struct OneGroup {
  Device owner;
  crypto::SecretBytes key;
  GroupState state;

  static OneGroup Make() {
    OneGroup g;
    g.key = crypto::SecretBytes::Random(32);
    Bytes sealed = crypto::Seal(g.owner.box.public_key(), g.key.view());
    codec::GroupParams p{
        false, g.owner.cert, {{g.owner.key.public_key(), codec::SealedKey::FromView(sealed)}}};
    codec::Vertex v;
    v.type = codec::kGenesisType;
    v.created_at = 1;
    v.payload =
        codec::EncodeGenesisPayload({"group", {}, std::nullopt, codec::EncodeGroupParams(p)});
    EXPECT_TRUE(codec::SignVertex(v, g.owner.key).ok());
    g.state = *GroupState::FromGenesis(*DecodeGroupVertex(v));
    return g;
  }
};

codec::Vertex ContentVertex(const OneGroup& g) {
  codec::Vertex v;
  v.type = codec::kCrdtOpType;
  v.object_id.data()[0] = 1;
  v.parents = {g.state.group()};
  v.depth = 1;
  v.created_at = 5;
  v.author = g.owner.key.public_key();
  return v;
}

TEST(GroupKeys, KeyringOpensItsOwnSharesOnly) {
  auto g = OneGroup::Make();
  Keyring mine;
  mine.Absorb(g.state, g.owner.key.public_key(), g.owner.box);
  ASSERT_TRUE(mine.Has(g.state.current_epoch()));
  EXPECT_TRUE(
      crypto::ConstantTimeEqual(mine.KeyFor(g.state.current_epoch())->view(), g.key.view()));
  // Absorbing again adds nothing.
  mine.Absorb(g.state, g.owner.key.public_key(), g.owner.box);
  EXPECT_EQ(mine.Candidates(g.state.current_epoch())->size(), 1u);
  // Another device's box opens nothing, even when told it is the owner's device.
  Device other;
  Keyring theirs;
  theirs.Absorb(g.state, g.owner.key.public_key(), other.box);
  EXPECT_FALSE(theirs.Has(g.state.current_epoch()));
}

TEST(GroupKeys, NewEpochKeysAreSealedToEachDevice) {
  auto g = OneGroup::Make();
  auto e = MakeEpochKey(g.state, {g.owner.key.public_key()});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_EQ(e->shares.size(), 1u);
  auto opened = g.owner.box.Open(e->shares[0].sealed.view());
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(crypto::ConstantTimeEqual(opened->view(), e->key.view()));
  Device stranger;
  EXPECT_EQ(MakeEpochKey(g.state, {stranger.key.public_key()}).status().code(),
            Code::kInvalidArgument);
}

TEST(GroupKeys, ContentRoundTripsAndIsBoundToTheHeader) {
  auto g = OneGroup::Make();
  Keyring ring;
  ring.Absorb(g.state, g.owner.key.public_key(), g.owner.box);
  codec::Vertex v = ContentVertex(g);
  auto payload = SealContent(v, g.state.current_epoch(), g.key, AsBytes("secret text"));
  ASSERT_TRUE(payload.ok());
  v.payload = *payload;
  codec::VertexId epoch;
  auto plain = OpenContent(v, ring, &epoch);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(std::string(AsChars(*plain)), "secret text");
  EXPECT_EQ(epoch, g.state.current_epoch());
  // The ciphertext does not contain the plaintext.
  std::string p(AsChars(v.payload));
  EXPECT_EQ(p.find("secret text"), std::string::npos);

  // Moved under another header (a replay into another object, another time): does not open.
  codec::Vertex moved = v;
  moved.created_at = 6;
  EXPECT_EQ(OpenContent(moved, ring).status().code(), Code::kCorruption);
  moved = v;
  moved.object_id.data()[0] = 2;
  EXPECT_EQ(OpenContent(moved, ring).status().code(), Code::kCorruption);
  // Flipped ciphertext.
  codec::Vertex flipped = v;
  flipped.payload.back() ^= 1;
  EXPECT_EQ(OpenContent(flipped, ring).status().code(), Code::kCorruption);
  // No key for the epoch: NotFound (the content waits).
  Keyring empty;
  EXPECT_EQ(OpenContent(v, empty).status().code(), Code::kNotFound);
  // A wrong candidate does not hide the right one.
  Keyring mixed;
  mixed.Add(g.state.current_epoch(), crypto::SecretBytes::Random(32));
  mixed.Add(g.state.current_epoch(), g.key.Clone());
  EXPECT_TRUE(OpenContent(v, mixed).ok());
}

}  // namespace
}  // namespace topo::object
