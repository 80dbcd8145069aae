#include "crypto/crypto.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace topo::crypto {

static_assert(sizeof(crypto_generichash_state) <= 384, "Hasher state buffer too small");

void EnsureSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();
  });
}

SecretBytes::SecretBytes(size_t n) : size_(n) {
  EnsureSodium();
  if (n == 0) return;
  data_ = static_cast<uint8_t*>(sodium_malloc(n));
  if (!data_) std::abort();  // out of locked memory: refuse to hold secrets in swappable pages
}
SecretBytes::SecretBytes(SecretBytes&& o) noexcept : data_(o.data_), size_(o.size_) {
  o.data_ = nullptr;
  o.size_ = 0;
}
SecretBytes& SecretBytes::operator=(SecretBytes&& o) noexcept {
  if (this != &o) {
    if (data_) sodium_free(data_);
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}
SecretBytes::~SecretBytes() {
  if (data_) sodium_free(data_);  // wipes before unmapping
}
SecretBytes SecretBytes::Random(size_t n) {
  SecretBytes s(n);
  if (n) RandomFill(s.data_, n);
  return s;
}
SecretBytes SecretBytes::CopyOf(ByteView b) {
  SecretBytes s(b.size());
  if (!b.empty()) std::memcpy(s.data_, b.data(), b.size());
  return s;
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  EnsureSodium();
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {
thread_local SeededRandomScope* seeded_scope = nullptr;
}  // namespace

SeededRandomScope::SeededRandomScope(uint64_t seed) : outer_(seeded_scope), seed_(seed) {
  EnsureSodium();
  seeded_scope = this;
}
SeededRandomScope::~SeededRandomScope() { seeded_scope = outer_; }

bool SeededRandomScope::Draw(uint8_t* out, size_t n) {
  SeededRandomScope* s = seeded_scope;
  if (!s) return false;
  // Each draw gets its own key: BLAKE2b of (seed, draw number), so a draw's bytes do not
  // depend on how long the earlier draws were.
  uint8_t in[16];
  for (int i = 0; i < 8; ++i) {
    in[i] = static_cast<uint8_t>(s->seed_ >> (8 * i));
    in[8 + i] = static_cast<uint8_t>(s->draws_ >> (8 * i));
  }
  ++s->draws_;
  uint8_t key[randombytes_SEEDBYTES];
  crypto_generichash(key, sizeof key, in, sizeof in, nullptr, 0);
  randombytes_buf_deterministic(out, n, key);
  sodium_memzero(key, sizeof key);
  return true;
}

void RandomFill(uint8_t* out, size_t n) {
  EnsureSodium();
  if (SeededRandomScope::Draw(out, n)) return;
  randombytes_buf(out, n);
}

Hasher::Hasher(std::string_view domain) {
  EnsureSodium();
  auto* st = reinterpret_cast<crypto_generichash_state*>(state_);
  crypto_generichash_init(st, nullptr, 0, 32);
  uint8_t len = static_cast<uint8_t>(domain.size());
  crypto_generichash_update(st, &len, 1);
  crypto_generichash_update(st, reinterpret_cast<const uint8_t*>(domain.data()), domain.size());
}
Hasher& Hasher::Update(ByteView data) {
  crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(state_), data.data(),
                            data.size());
  return *this;
}
Digest Hasher::Final() {
  Digest d;
  crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(state_), d.data(), 32);
  return d;
}
Digest Hash(std::string_view domain, ByteView data) { return Hasher(domain).Update(data).Final(); }

Digest Sha256(ByteView data) {
  EnsureSodium();
  Digest d;
  crypto_hash_sha256(d.data(), data.data(), data.size());
  return d;
}

SigningKey SigningKey::Generate() {
  EnsureSodium();
  SigningKey k;
  k.secret_ = SecretBytes(crypto_sign_SECRETKEYBYTES);
  SecretBytes seed(crypto_sign_SEEDBYTES);
  if (SeededRandomScope::Draw(seed.data(), seed.size()))
    crypto_sign_seed_keypair(k.public_.data(), k.secret_.data(), seed.data());
  else
    crypto_sign_keypair(k.public_.data(), k.secret_.data());
  return k;
}
Result<SigningKey> SigningKey::FromSeed(ByteView seed) {
  EnsureSodium();
  if (seed.size() != crypto_sign_SEEDBYTES)
    return Status::InvalidArgument("an Ed25519 seed is 32 bytes");
  SigningKey k;
  k.secret_ = SecretBytes(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(k.public_.data(), k.secret_.data(), seed.data());
  return k;
}
Signature SigningKey::Sign(ByteView message) const {
  Signature s;
  crypto_sign_detached(s.data(), nullptr, message.data(), message.size(), secret_.data());
  return s;
}
SecretBytes SigningKey::Seed() const {
  SecretBytes s(crypto_sign_SEEDBYTES);
  crypto_sign_ed25519_sk_to_seed(s.data(), secret_.data());
  return s;
}
SigningKey SigningKey::Clone() const {
  SigningKey k;
  k.secret_ = secret_.Clone();
  k.public_ = public_;
  return k;
}

bool Verify(const PublicKey& key, ByteView message, const Signature& sig) {
  EnsureSodium();
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(), key.data()) == 0;
}

BoxKey BoxKey::Generate() {
  EnsureSodium();
  BoxKey k;
  k.secret_ = SecretBytes(crypto_box_SECRETKEYBYTES);
  SecretBytes seed(crypto_box_SEEDBYTES);
  if (SeededRandomScope::Draw(seed.data(), seed.size()))
    crypto_box_seed_keypair(k.public_.data(), k.secret_.data(), seed.data());
  else
    crypto_box_keypair(k.public_.data(), k.secret_.data());
  return k;
}
Result<BoxKey> BoxKey::FromSecret(ByteView secret32) {
  EnsureSodium();
  if (secret32.size() != crypto_box_SECRETKEYBYTES)
    return Status::InvalidArgument("an X25519 secret key is 32 bytes");
  BoxKey k;
  k.secret_ = SecretBytes::CopyOf(secret32);
  crypto_scalarmult_base(k.public_.data(), k.secret_.data());
  return k;
}
Result<SecretBytes> BoxKey::Open(ByteView sealed) const {
  if (sealed.size() < crypto_box_SEALBYTES)
    return Status::Corruption("sealed box shorter than its overhead");
  SecretBytes out(sealed.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(out.data(), sealed.data(), sealed.size(), public_.data(),
                           secret_.data()) != 0)
    return Status::Rejected("sealed box does not open with this key");
  return out;
}
BoxKey BoxKey::Clone() const {
  BoxKey k;
  k.secret_ = secret_.Clone();
  k.public_ = public_;
  return k;
}
Bytes Seal(const BoxPublicKey& recipient, ByteView plaintext) {
  EnsureSodium();
  static_assert(kSealOverhead == crypto_box_SEALBYTES);
  Bytes out(plaintext.size() + crypto_box_SEALBYTES);
  uint8_t seed[crypto_box_SEEDBYTES];
  if (!SeededRandomScope::Draw(seed, sizeof seed)) {
    crypto_box_seal(out.data(), plaintext.data(), plaintext.size(), recipient.data());
    return out;
  }
  // crypto_box_seal's construction with a seeded ephemeral key: epk || box(m) under the
  // nonce BLAKE2b-192(epk || recipient). crypto_box_seal_open opens it.
  uint8_t esk[crypto_box_SECRETKEYBYTES];
  crypto_box_seed_keypair(out.data(), esk, seed);
  uint8_t nonce[crypto_box_NONCEBYTES];
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, sizeof nonce);
  crypto_generichash_update(&st, out.data(), crypto_box_PUBLICKEYBYTES);
  crypto_generichash_update(&st, recipient.data(), recipient.size());
  crypto_generichash_final(&st, nonce, sizeof nonce);
  // It fails only for a recipient key that is a low-order point: a box nobody opens then,
  // as crypto_box_seal leaves it.
  if (crypto_box_easy(out.data() + crypto_box_PUBLICKEYBYTES, plaintext.data(), plaintext.size(),
                      nonce, recipient.data(), esk) != 0)
    sodium_memzero(out.data(), out.size());
  sodium_memzero(esk, sizeof esk);
  sodium_memzero(seed, sizeof seed);
  return out;
}

Result<Bytes> AeadEncrypt(const SecretBytes& key, const Nonce24& nonce, ByteView ad,
                          ByteView plaintext) {
  EnsureSodium();
  if (key.size() != kAeadKeyBytes) return Status::InvalidArgument("an AEAD key is 32 bytes");
  Bytes out(plaintext.size() + kAeadTagBytes);
  unsigned long long n = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &n, plaintext.data(), plaintext.size(),
                                             ad.data(), ad.size(), nullptr, nonce.data(),
                                             key.data());
  out.resize(n);
  return out;
}
Result<SecretBytes> AeadDecrypt(const SecretBytes& key, const Nonce24& nonce, ByteView ad,
                                ByteView ciphertext) {
  EnsureSodium();
  if (key.size() != kAeadKeyBytes) return Status::InvalidArgument("an AEAD key is 32 bytes");
  if (ciphertext.size() < kAeadTagBytes) return Status::Corruption("ciphertext shorter than tag");
  SecretBytes out(ciphertext.size() - kAeadTagBytes);
  unsigned long long n = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &n, nullptr, ciphertext.data(),
                                                 ciphertext.size(), ad.data(), ad.size(),
                                                 nonce.data(), key.data()) != 0)
    return Status::Rejected("ciphertext does not authenticate");
  return out;
}

Result<Bytes> AeadDecryptContent(const SecretBytes& key, const Nonce24& nonce, ByteView ad,
                                 ByteView ciphertext) {
  EnsureSodium();
  if (key.size() != kAeadKeyBytes) return Status::InvalidArgument("an AEAD key is 32 bytes");
  if (ciphertext.size() < kAeadTagBytes) return Status::Corruption("ciphertext shorter than tag");
  Bytes out(ciphertext.size() - kAeadTagBytes);
  unsigned long long n = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &n, nullptr, ciphertext.data(),
                                                 ciphertext.size(), ad.data(), ad.size(),
                                                 nonce.data(), key.data()) != 0)
    return Status::Rejected("ciphertext does not authenticate");
  return out;
}

Result<SecretBytes> DeriveKey(const SecretBytes& master, std::string_view context8,
                              uint64_t subkey_id) {
  EnsureSodium();
  if (master.size() != crypto_kdf_KEYBYTES) return Status::InvalidArgument("a KDF key is 32 bytes");
  if (context8.size() != crypto_kdf_CONTEXTBYTES)
    return Status::InvalidArgument("a KDF context is 8 characters");
  SecretBytes out(32);
  crypto_kdf_derive_from_key(out.data(), 32, subkey_id, context8.data(), master.data());
  return out;
}

PwHashParams PwHashParams::Interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
PwHashParams PwHashParams::Moderate() {
  return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}

Result<SecretBytes> DeriveKeyFromPassphrase(std::string_view passphrase, ByteView salt,
                                            const PwHashParams& params, size_t out_len) {
  EnsureSodium();
  if (salt.size() != crypto_pwhash_SALTBYTES)
    return Status::InvalidArgument("a passphrase salt is 16 bytes");
  if (params.ops_limit < crypto_pwhash_OPSLIMIT_MIN ||
      params.ops_limit > crypto_pwhash_OPSLIMIT_MAX ||
      params.mem_limit < crypto_pwhash_MEMLIMIT_MIN || params.mem_limit > (size_t{1} << 32))
    return Status::InvalidArgument("argon2id parameters out of range");
  SecretBytes out(out_len);
  if (crypto_pwhash(out.data(), out_len, passphrase.data(), passphrase.size(), salt.data(),
                    params.ops_limit, params.mem_limit, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Status::Internal("argon2id ran out of memory");
  return out;
}

}  // namespace topo::crypto
