#include "sync/item.h"

#include <cstring>

#include "crypto/crypto.h"
#include "sync/negentropy_varint.h"

namespace topo::sync {
namespace {

// Reads 8 bytes as a little-endian integer, whatever the host's byte order.
uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void StoreLe64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// a += b (mod 2^256), limbs least significant first.
void AddLimbs(uint64_t a[4], const uint64_t b[4]) {
  unsigned carry = 0;
  for (int i = 0; i < 4; ++i) {
    const uint64_t x = a[i] + b[i];
    const unsigned c1 = x < a[i];
    const uint64_t y = x + carry;
    const unsigned c2 = y < x;
    a[i] = y;
    carry = c1 | c2;
  }
}

// a -= b (mod 2^256).
void SubLimbs(uint64_t a[4], const uint64_t b[4]) {
  unsigned borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const uint64_t x = a[i] - b[i];
    const unsigned b1 = a[i] < b[i];
    const uint64_t y = x - borrow;
    const unsigned b2 = x < borrow;
    a[i] = y;
    borrow = b1 | b2;
  }
}

void IdLimbs(const ItemId& id, uint64_t out[4]) {
  for (int i = 0; i < 4; ++i) out[i] = LoadLe64(id.data() + 8 * i);
}

}  // namespace

void IdSum::Add(const ItemId& id) {
  uint64_t b[4];
  IdLimbs(id, b);
  AddLimbs(limbs_, b);
}

void IdSum::Sub(const ItemId& id) {
  uint64_t b[4];
  IdLimbs(id, b);
  SubLimbs(limbs_, b);
}

void IdSum::Add(const IdSum& other) { AddLimbs(limbs_, other.limbs_); }
void IdSum::Sub(const IdSum& other) { SubLimbs(limbs_, other.limbs_); }

ItemId IdSum::Serialize() const {
  ItemId out;
  for (int i = 0; i < 4; ++i) StoreLe64(out.data() + 8 * i, limbs_[i]);
  return out;
}

Fingerprint IdSum::ToFingerprint(uint64_t count) const {
  Bytes input;
  input.reserve(32 + kMaxNegVarintBytes);
  Append(input, Serialize().view());
  PutNegVarint(input, count);
  const crypto::Digest digest = crypto::Sha256(input);
  return Fingerprint::FromView(digest.view().subspan(0, Fingerprint::kSize));
}

}  // namespace topo::sync
