// The negentropy v1 Varint: base-128 digits, most significant first, the high bit set on
// every byte but the last, as few digits as possible. This is NOT topo's own varint
// (util/varint.h, LEB128: least significant group first); the two must never be mixed.
#pragma once

#include <cstdint>

#include "util/bytes.h"
#include "util/status.h"

namespace topo::sync {

constexpr size_t kMaxNegVarintBytes = 10;  // 64 bits in 7-bit digits

void PutNegVarint(Bytes& out, uint64_t v);
size_t NegVarintLength(uint64_t v);

// Decodes one Varint from in[pos..] and advances pos. Rejects, with kCorruption: truncation,
// a leading zero digit (0x80 first: not the shortest form) and values above 2^64-1.
Status GetNegVarint(ByteView in, size_t& pos, uint64_t& v);

}  // namespace topo::sync
