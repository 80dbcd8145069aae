#include "crypto/short_hash.h"

#include <sodium.h>

#include "crypto/crypto.h"

namespace topo::crypto {

static_assert(crypto_shorthash_KEYBYTES == ShortHashKey::kSize);
static_assert(crypto_shorthash_BYTES == 8);

uint64_t ShortHash(const ShortHashKey& key, ByteView data) {
  EnsureSodium();
  uint8_t out[crypto_shorthash_BYTES];
  crypto_shorthash(out, data.data(), data.size(), key.data());
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | out[i];
  return v;
}

}  // namespace topo::crypto
