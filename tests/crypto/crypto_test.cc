#include "crypto/crypto.h"

#include <gtest/gtest.h>

#include "util/encoding.h"

namespace topo::crypto {
namespace {

TEST(Hash, DomainSeparates) {
  auto a = Hash("topo.a", AsBytes("x"));
  auto b = Hash("topo.b", AsBytes("x"));
  EXPECT_NE(a, b);
  EXPECT_EQ(a, Hasher("topo.a").Update(AsBytes("x")).Final());
  // The length prefix keeps ("ab","c") and ("a","bc") apart.
  EXPECT_NE(Hash("ab", AsBytes("c")), Hash("a", AsBytes("bc")));
}

TEST(Sign, SignVerifyAndSeedDeterminism) {
  auto k = SigningKey::Generate();
  auto sig = k.Sign(AsBytes("hello"));
  EXPECT_TRUE(Verify(k.public_key(), AsBytes("hello"), sig));
  EXPECT_FALSE(Verify(k.public_key(), AsBytes("hellp"), sig));
  sig.bytes[0] ^= 1;
  EXPECT_FALSE(Verify(k.public_key(), AsBytes("hello"), sig));
  auto seed = k.Seed();
  auto k2 = SigningKey::FromSeed(seed.view());
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(k2->public_key(), k.public_key());
  EXPECT_FALSE(SigningKey::FromSeed(AsBytes("short")).ok());
}

TEST(Box, SealOpensOnlyForRecipient) {
  auto alice = BoxKey::Generate();
  auto eve = BoxKey::Generate();
  auto sealed = Seal(alice.public_key(), AsBytes("epoch key"));
  EXPECT_EQ(sealed.size(), 9 + kSealOverhead);
  auto opened = alice.Open(sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(AsChars(opened->view()), "epoch key");
  EXPECT_FALSE(eve.Open(sealed).ok());
  sealed.back() ^= 1;
  EXPECT_FALSE(alice.Open(sealed).ok());
  auto again = BoxKey::FromSecret(alice.secret().view());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), alice.public_key());
}

TEST(SeededRandom, RepeatsWithinAScopeAndOnlyThere) {
  auto draw = [] {
    Bytes out;
    auto box = BoxKey::Generate();
    auto sign = SigningKey::Generate();
    auto secret = SecretBytes::Random(32);
    auto sealed = Seal(box.public_key(), secret.view());
    auto opened = box.Open(sealed);  // a seeded seal is an ordinary sealed box
    EXPECT_TRUE(opened.ok());
    if (opened.ok()) {
      EXPECT_TRUE(ConstantTimeEqual(opened->view(), secret.view()));
    }
    auto nonce = RandomFixed<24>();
    for (ByteView part : {box.public_key().view(), sign.public_key().view(), secret.view(),
                          ByteView(sealed), nonce.view()})
      out.insert(out.end(), part.begin(), part.end());
    return out;
  };
  Bytes a, b, c, unseeded;
  {
    SeededRandomScope scope(7);
    a = draw();
  }
  {
    SeededRandomScope scope(7);
    b = draw();
    {
      SeededRandomScope inner(8);
      c = draw();
    }
    EXPECT_NE(draw(), b);  // the outer scope's stream goes on after the inner one
  }
  unseeded = draw();
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, unseeded);
  EXPECT_NE(unseeded, draw());
}

TEST(Aead, AuthenticatesAdAndCiphertext) {
  auto key = SecretBytes::Random(32);
  auto nonce = RandomFixed<24>();
  auto ct = AeadEncrypt(key, nonce, AsBytes("header"), AsBytes("secret message"));
  ASSERT_TRUE(ct.ok());
  auto pt = AeadDecrypt(key, nonce, AsBytes("header"), *ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(AsChars(pt->view()), "secret message");
  EXPECT_FALSE(AeadDecrypt(key, nonce, AsBytes("headex"), *ct).ok());
  auto other = SecretBytes::Random(32);
  EXPECT_FALSE(AeadDecrypt(other, nonce, AsBytes("header"), *ct).ok());
  (*ct)[0] ^= 1;
  EXPECT_FALSE(AeadDecrypt(key, nonce, AsBytes("header"), *ct).ok());
}

TEST(Aead, ContentVariantOpensTheSameAndRefusesTheSame) {
  auto key = SecretBytes::Random(32);
  auto nonce = RandomFixed<24>();
  auto ct = AeadEncrypt(key, nonce, AsBytes("header"), AsBytes("a message"));
  ASSERT_TRUE(ct.ok());
  auto pt = AeadDecryptContent(key, nonce, AsBytes("header"), *ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(AsChars(*pt), "a message");
  EXPECT_FALSE(AeadDecryptContent(key, nonce, AsBytes("headex"), *ct).ok());
  EXPECT_FALSE(AeadDecryptContent(SecretBytes::Random(32), nonce, AsBytes("header"), *ct).ok());
  EXPECT_EQ(AeadDecryptContent(key, nonce, {}, ByteView(*ct).subspan(0, 15)).status().code(),
            Code::kCorruption);
  (*ct).back() ^= 1;
  EXPECT_FALSE(AeadDecryptContent(key, nonce, AsBytes("header"), *ct).ok());
}

TEST(Kdf, DerivesDistinctSubkeys) {
  auto master = SecretBytes::Random(32);
  auto a = DeriveKey(master, "topoepch", 1);
  auto b = DeriveKey(master, "topoepch", 2);
  auto a2 = DeriveKey(master, "topoepch", 1);
  ASSERT_TRUE(a.ok() && b.ok() && a2.ok());
  EXPECT_FALSE(ConstantTimeEqual(a->view(), b->view()));
  EXPECT_TRUE(ConstantTimeEqual(a->view(), a2->view()));
  EXPECT_FALSE(DeriveKey(master, "short", 1).ok());
}

TEST(PwHash, Argon2idDeterministicPerSalt) {
  auto salt = RandomFixed<16>();
  PwHashParams fast{1, 8 * 1024 * 1024};
  auto a = DeriveKeyFromPassphrase("correct horse", salt.view(), fast);
  auto b = DeriveKeyFromPassphrase("correct horse", salt.view(), fast);
  auto c = DeriveKeyFromPassphrase("wrong horse", salt.view(), fast);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(ConstantTimeEqual(a->view(), b->view()));
  EXPECT_FALSE(ConstantTimeEqual(a->view(), c->view()));
}

TEST(SecretBytes, MoveLeavesSourceEmpty) {
  auto s = SecretBytes::Random(16);
  SecretBytes t = std::move(s);
  EXPECT_EQ(t.size(), 16u);
  EXPECT_EQ(s.size(), 0u);  // NOLINT: checking moved-from state on purpose
}

}  // namespace
}  // namespace topo::crypto
