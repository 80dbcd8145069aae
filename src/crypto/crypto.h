// RAII wrappers over libsodium. Secrets live in sodium_malloc'd memory (guard pages, mlock'd,
// wiped on free); public values are plain FixedBytes. Nothing here decides policy.
//
// Thread-safety: every function is safe to call from several threads at once (libsodium is
// initialised once, before first use, by EnsureSodium()).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "util/bytes.h"
#include "util/status.h"

namespace topo::crypto {

// Initialises libsodium once; aborts the process if that fails (no safe way on).
void EnsureSodium();

using PublicKey = FixedBytes<32>;     // Ed25519 verification key
using BoxPublicKey = FixedBytes<32>;  // X25519 public key
using Signature = FixedBytes<64>;
using Digest = Hash32;
using Nonce24 = FixedBytes<24>;

// A buffer of secret bytes in locked, guarded memory, wiped when destroyed. Move-only.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n);
  SecretBytes(SecretBytes&& o) noexcept;
  SecretBytes& operator=(SecretBytes&& o) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  static SecretBytes Random(size_t n);
  static SecretBytes CopyOf(ByteView b);
  SecretBytes Clone() const { return CopyOf(view()); }

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ByteView view() const { return {data_, size_}; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Constant-time equality of two equally long byte strings (false when lengths differ).
bool ConstantTimeEqual(ByteView a, ByteView b);

void RandomFill(uint8_t* out, size_t n);
template <size_t N>
FixedBytes<N> RandomFixed() {
  FixedBytes<N> f;
  RandomFill(f.data(), N);
  return f;
}

// Seeded randomness, for the deterministic simulator (sync/sim.h) and tests. While a
// SeededRandomScope lives, every random draw made on its thread (RandomFill, RandomFixed,
// SecretBytes::Random, the ephemeral key inside Seal) comes from a ChaCha20 stream keyed by
// `seed` instead of the system generator, so a run that makes epoch keys, invite secrets
// and sealed boxes makes the same bytes every time. Predictable by design: a node never
// creates one. Scopes nest (the innermost wins); other threads are not affected.
class SeededRandomScope {
 public:
  explicit SeededRandomScope(uint64_t seed);
  ~SeededRandomScope();
  SeededRandomScope(const SeededRandomScope&) = delete;
  SeededRandomScope& operator=(const SeededRandomScope&) = delete;

  // Fills `out` from the stream of the innermost scope on this thread; false (and nothing
  // written) when there is none.
  static bool Draw(uint8_t* out, size_t n);

 private:
  SeededRandomScope* outer_;
  uint64_t seed_;
  uint64_t draws_ = 0;
};

// ---- BLAKE2b-256 with domain separation ----
// Hash = BLAKE2b-256( len(domain) as one byte || domain || data ). Domains are ASCII
// constants such as "topo.vertex.v1"; two domains never produce the same preimage.
class Hasher {
 public:
  explicit Hasher(std::string_view domain);
  Hasher& Update(ByteView data);
  Digest Final();

 private:
  alignas(64) uint8_t state_[384];
};
Digest Hash(std::string_view domain, ByteView data);

// ---- SHA-256 ----
// Plain SHA-256 with no domain prefix: only for protocols that fix their own hash function
// (negentropy v1 range fingerprints). Topo's own structures use Hash above.
Digest Sha256(ByteView data);

// ---- Ed25519 ----
class SigningKey {
 public:
  static SigningKey Generate();
  // The 32-byte seed fully determines the key (used by the keystore and by tests).
  static Result<SigningKey> FromSeed(ByteView seed);
  SigningKey(SigningKey&&) = default;
  SigningKey& operator=(SigningKey&&) = default;

  const PublicKey& public_key() const { return public_; }
  Signature Sign(ByteView message) const;
  // The seed, for the keystore to wrap. Never logged, never stored unwrapped.
  SecretBytes Seed() const;
  SigningKey Clone() const;

 private:
  SigningKey() = default;
  SecretBytes secret_;  // 64 bytes: seed || public key, libsodium's layout
  PublicKey public_;
};

bool Verify(const PublicKey& key, ByteView message, const Signature& sig);

// ---- X25519 sealed boxes ----
class BoxKey {
 public:
  static BoxKey Generate();
  static Result<BoxKey> FromSecret(ByteView secret32);
  BoxKey(BoxKey&&) = default;
  BoxKey& operator=(BoxKey&&) = default;

  const BoxPublicKey& public_key() const { return public_; }
  // Opens a box made by Seal(public_key(), ...); an error if it was not, or was altered.
  Result<SecretBytes> Open(ByteView sealed) const;
  const SecretBytes& secret() const { return secret_; }
  BoxKey Clone() const;

 private:
  BoxKey() = default;
  SecretBytes secret_;
  BoxPublicKey public_;
};
// Anonymous sealed box (crypto_box_seal): only the holder of the recipient's secret opens it.
Bytes Seal(const BoxPublicKey& recipient, ByteView plaintext);
constexpr size_t kSealOverhead = 48;

// ---- XChaCha20-Poly1305 (IETF) ----
constexpr size_t kAeadKeyBytes = 32;
constexpr size_t kAeadTagBytes = 16;
// Returns ciphertext || tag.
Result<Bytes> AeadEncrypt(const SecretBytes& key, const Nonce24& nonce, ByteView ad,
                          ByteView plaintext);
// Returns plaintext in secret memory; an error if the key, nonce, ad or ciphertext differ.
Result<SecretBytes> AeadDecrypt(const SecretBytes& key, const Nonce24& nonce, ByteView ad,
                                ByteView ciphertext);

// The same into ordinary memory: for content that is stored in the clear once opened
// (messages, CRDT ops), where locked pages per call (an mmap and mprotect each) would cost
// more than the decryption. Never for keys.
Result<Bytes> AeadDecryptContent(const SecretBytes& key, const Nonce24& nonce, ByteView ad,
                                 ByteView ciphertext);

// ---- KDF ----
// Derives a 32-byte subkey from a 32-byte master key for a purpose (8-char context) and id.
Result<SecretBytes> DeriveKey(const SecretBytes& master, std::string_view context8,
                              uint64_t subkey_id);

// ---- Password hashing (argon2id) ----
constexpr size_t kPwSaltBytes = 16;
struct PwHashParams {
  uint64_t ops_limit;
  size_t mem_limit;
  static PwHashParams Interactive();
  static PwHashParams Moderate();
};
Result<SecretBytes> DeriveKeyFromPassphrase(std::string_view passphrase, ByteView salt,
                                            const PwHashParams& params, size_t out_len = 32);

}  // namespace topo::crypto
