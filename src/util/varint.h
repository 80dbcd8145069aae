// Unsigned LEB128 varints, canonical form only: the decoder rejects overlong encodings
// (a trailing 0x00 group) and values above 2^64-1, so every value has exactly one encoding.
#pragma once

#include <cstdint>

#include "util/bytes.h"

namespace topo {

constexpr size_t kMaxVarintBytes = 10;

void PutVarint(Bytes& out, uint64_t v);
size_t VarintLength(uint64_t v);

enum class VarintError { kNone, kTruncated, kNonCanonical, kOverflow };

// Decodes one varint from in[pos..]; on success advances pos.
VarintError GetVarint(ByteView in, size_t& pos, uint64_t& v);

}  // namespace topo
