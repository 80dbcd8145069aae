#include "codec/vertex.h"

#include <gtest/gtest.h>

#include <random>

#include "codec/reader.h"
#include "util/encoding.h"

namespace topo::codec {
namespace {

crypto::SigningKey TestKey() {
  uint8_t seed[32];
  for (int i = 0; i < 32; ++i) seed[i] = static_cast<uint8_t>(i);
  return std::move(crypto::SigningKey::FromSeed(ByteView(seed, 32))).value();
}

// The test vector of docs/PROTOCOL.md ("Test vector"). If this test fails, the wire format
// changed: bump the version and update the document, never just the expected bytes.
TEST(VertexCodec, ProtocolTestVector) {
  auto key = TestKey();
  EXPECT_EQ(HexEncode(key.public_key().view()),
            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  Vertex g;
  g.type = kGenesisType;
  g.created_at = 1700000000000;
  g.payload = ToBytes("genesis");
  ASSERT_TRUE(SignVertex(g, key).ok());
  EXPECT_EQ(HexEncode(EncodeVertex(g)),
            "01" + std::string(64, '0') +
                "00"
                "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
                "80d095ffbc31"
                "00"
                "00"
                "00"
                "07"
                "67656e65736973"
                "3ba0d5474eff5385769f1119075285c5d3caec792dac740c5a1031fe9aeab16f"
                "e827c35bbedb66e3884d9ff882090dde50cde5f2e439a92537228fe5a7fcf108");
  EXPECT_EQ(HexEncode(g.id.view()),
            "3e3ae4c3d1262ebecbd6dbddad6a4101cc4901aee4d380721faa2a7bd491be77");

  Vertex v;
  v.type = 1;
  v.object_id = g.id;
  v.created_at = 1700000000001;
  v.depth = 1;
  v.parents = {g.id};
  v.payload = ToBytes("hello");
  ASSERT_TRUE(SignVertex(v, key).ok());
  EXPECT_EQ(HexEncode(EncodeVertex(v)),
            "01"
            "3e3ae4c3d1262ebecbd6dbddad6a4101cc4901aee4d380721faa2a7bd491be77"
            "01"
            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
            "81d095ffbc31"
            "01"
            "01"
            "3e3ae4c3d1262ebecbd6dbddad6a4101cc4901aee4d380721faa2a7bd491be77"
            "00"
            "05"
            "68656c6c6f"
            "c446e044fdbf82ac9e2552f4df922c4d6a8a24bd5d5d4d25051d25016e0ead6f"
            "fcf948f319ec86b4c2ac4d0a099cbb7b77fa9f3927d779f63ae85c1a62a18f02");
  EXPECT_EQ(HexEncode(v.id.view()),
            "6c0d5a85b54234177a30f9840466e17188a5e2b6599a7b842f0cb2bdd7336011");
  // The id is BLAKE2b-256 over (len("topo.vertex.v1") || "topo.vertex.v1" || unsigned bytes)
  // and the signature is Ed25519 over the 32 id bytes.
  EXPECT_EQ(ComputeVertexId(v), crypto::Hash("topo.vertex.v1", EncodeUnsigned(v)));
  EXPECT_TRUE(crypto::Verify(key.public_key(), v.id.view(), v.signature));
}

Vertex RandomVertex(std::mt19937_64& rng, const crypto::SigningKey& key) {
  Vertex v;
  bool genesis = rng() % 4 == 0;
  v.type = genesis ? 0 : 1 + static_cast<uint32_t>(rng() % 1000);
  v.created_at = rng() % kMaxCreatedAt;
  if (!genesis) {
    for (auto& b : v.object_id.bytes) b = static_cast<uint8_t>(rng());
    v.object_id.bytes[0] |= 1;
    v.depth = 1 + rng() % 100000;
    size_t np = 1 + rng() % 8;
    for (size_t i = 0; i < np; ++i) {
      VertexId p;
      for (auto& b : p.bytes) b = static_cast<uint8_t>(rng());
      v.parents.push_back(p);
    }
    size_t nr = rng() % 3;
    for (size_t i = 0; i < nr; ++i) {
      VertexId r;
      for (auto& b : r.bytes) b = static_cast<uint8_t>(rng());
      v.refs.push_back(r);
    }
  }
  v.payload.resize(rng() % 600);
  for (auto& b : v.payload) b = static_cast<uint8_t>(rng());
  EXPECT_TRUE(SignVertex(v, key).ok());
  return v;
}

TEST(VertexCodec, EncodeDecodeRoundTripProperty) {
  std::mt19937_64 rng(11);
  auto key = crypto::SigningKey::Generate();
  for (int i = 0; i < 2000; ++i) {
    Vertex v = RandomVertex(rng, key);
    Bytes enc = EncodeVertex(v);
    auto d = DecodeVertex(enc);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(EncodeVertex(*d), enc);
    EXPECT_EQ(d->id, v.id);
    EXPECT_TRUE(VerifyVertexSignature(*d));
  }
}

TEST(VertexCodec, EveryTruncationAndEveryAppendIsRejected) {
  std::mt19937_64 rng(12);
  auto key = crypto::SigningKey::Generate();
  Vertex v = RandomVertex(rng, key);
  Bytes enc = EncodeVertex(v);
  for (size_t n = 0; n < enc.size(); ++n) {
    auto d = DecodeVertex(ByteView(enc.data(), n));
    EXPECT_FALSE(d.ok()) << "prefix of " << n << " bytes decoded";
  }
  Bytes longer = enc;
  longer.push_back(0);
  auto d = DecodeVertex(longer);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "vertex: trailing bytes");
}

TEST(VertexCodec, EveryBitFlipFailsDecodeOrSignature) {
  std::mt19937_64 rng(13);
  auto key = crypto::SigningKey::Generate();
  Vertex v = RandomVertex(rng, key);
  Bytes enc = EncodeVertex(v);
  for (size_t i = 0; i < enc.size(); ++i) {
    Bytes m = enc;
    m[i] ^= static_cast<uint8_t>(1u << (rng() % 8));
    auto d = DecodeVertex(m);
    if (d.ok()) {
      EXPECT_FALSE(VerifyVertexSignature(*d)) << "flip at byte " << i << " went unnoticed";
    }
  }
}

// Builds a vertex encoding by hand so that each rule can be broken alone.
struct Raw {
  uint8_t version = 1;
  Bytes object = Bytes(32, 7);
  Bytes type{0x01};
  Bytes author = Bytes(32, 9);
  Bytes created{0x05};
  Bytes depth{0x01};
  std::vector<Bytes> parents{Bytes(32, 1)};
  Bytes n_parents;  // empty = derived
  Bytes refs{0x00};
  Bytes payload{0x00};
  Bytes sig = Bytes(64, 0);
  Bytes Encode() const {
    Bytes b;
    b.reserve(4096);  // also keeps GCC 12's -Warray-bounds false positive away
    b.push_back(version);
    Append(b, object);
    Append(b, type);
    Append(b, author);
    Append(b, created);
    Append(b, depth);
    if (n_parents.empty()) {
      PutVarint(b, parents.size());
    } else {
      Append(b, n_parents);
    }
    for (auto& p : parents) Append(b, p);
    Append(b, refs);
    Append(b, payload);
    Append(b, sig);
    return b;
  }
};

std::string Why(const Raw& r) {
  auto d = DecodeVertex(r.Encode());
  return d.ok() ? "ok" : d.status().message();
}

TEST(VertexCodec, StrictDecoderNamesTheReason) {
  Raw ok;
  EXPECT_EQ(Why(ok), "ok");
  Raw r = ok;
  r.version = 2;
  EXPECT_EQ(Why(r), "vertex.version: unsupported version 2");
  r = ok;
  r.created = {0x85, 0x00};
  EXPECT_EQ(Why(r), "vertex.created_at: non-canonical varint");
  r = ok;
  r.parents = {Bytes(32, 2), Bytes(32, 1)};
  EXPECT_EQ(Why(r), "vertex.parents: not sorted or has duplicates");
  r = ok;
  r.parents = {Bytes(32, 1), Bytes(32, 1)};
  EXPECT_EQ(Why(r), "vertex.parents: not sorted or has duplicates");
  r = ok;
  r.n_parents = {65};
  EXPECT_EQ(Why(r), "vertex.parents count: over its bound of 64");
  r = ok;
  r.payload = {0x80, 0x80, 0x20};  // 512 KiB
  EXPECT_EQ(Why(r), "vertex.payload: over its bound of 262144");
  r = ok;
  r.type = {0x80, 0x80, 0x80, 0x80, 0x10};
  EXPECT_EQ(Why(r), "vertex.type: over its bound of 4294967295");
  r = ok;
  r.depth = {0x00};
  EXPECT_NE(Why(r).find("at least one parent and depth >= 1"), std::string::npos);
  r = ok;
  r.type = {0x00};  // genesis with an object id and parents
  EXPECT_NE(Why(r).find("genesis"), std::string::npos);
  r = ok;
  r.sig.pop_back();
  EXPECT_EQ(Why(r), "vertex.signature: truncated");
  Bytes huge(kMaxVertexBytes + 1, 0);
  EXPECT_EQ(DecodeVertex(huge).status().message(), "vertex: over the size bound");
}

TEST(VertexCodec, SignRefusesShapesThatWouldNotDecode) {
  auto key = crypto::SigningKey::Generate();
  Vertex v;
  v.type = 1;
  v.depth = 1;
  v.object_id.bytes[0] = 1;
  v.parents.resize(65);
  for (size_t i = 0; i < v.parents.size(); ++i) v.parents[i].bytes[0] = static_cast<uint8_t>(i);
  EXPECT_FALSE(SignVertex(v, key).ok());
  v.parents.resize(3);  // duplicates collapse when signing
  v.parents[2] = v.parents[1];
  ASSERT_TRUE(SignVertex(v, key).ok());
  EXPECT_EQ(v.parents.size(), 2u);
}

TEST(VertexCodec, ReplayIntoAnotherObjectBreaksTheSignature) {
  // The object id is inside the hashed bytes: moving a vertex to another object changes its
  // id, and the author's signature over the old id no longer verifies.
  auto key = crypto::SigningKey::Generate();
  Vertex g1, g2;
  g1.payload = ToBytes("one");
  g2.payload = ToBytes("two");
  ASSERT_TRUE(SignVertex(g1, key).ok());
  ASSERT_TRUE(SignVertex(g2, key).ok());
  Vertex v;
  v.type = 1;
  v.object_id = g1.id;
  v.parents = {g1.id};
  v.depth = 1;
  v.created_at = 5;
  ASSERT_TRUE(SignVertex(v, key).ok());
  Vertex replayed = v;
  replayed.object_id = g2.id;
  replayed.parents = {g2.id};
  auto d = DecodeVertex(EncodeVertex(replayed));
  ASSERT_TRUE(d.ok());
  EXPECT_NE(d->id, v.id);
  EXPECT_FALSE(VerifyVertexSignature(*d));
}

TEST(Utf8, AcceptsValidRejectsInvalid) {
  EXPECT_TRUE(IsValidUtf8("héllo 🌍"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
}

}  // namespace
}  // namespace topo::codec
