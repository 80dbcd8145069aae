// SipHash-2-4 (libsodium's crypto_shorthash): a keyed 64-bit hash for checksums and hash
// tables. Not a MAC: 64 bits are too few against an adversary who can try many inputs, so
// callers use it where a collision costs efficiency, never integrity.
#pragma once

#include <cstdint>

#include "util/bytes.h"

namespace topo::crypto {

using ShortHashKey = FixedBytes<16>;

// The 8 output bytes of SipHash-2-4(key, data), read as a little-endian integer (the same
// value on every platform).
uint64_t ShortHash(const ShortHashKey& key, ByteView data);

}  // namespace topo::crypto
