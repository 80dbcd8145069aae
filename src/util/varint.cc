#include "util/varint.h"

namespace topo {

void PutVarint(Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

VarintError GetVarint(ByteView in, size_t& pos, uint64_t& v) {
  uint64_t result = 0;
  for (size_t i = 0; i < kMaxVarintBytes; ++i) {
    if (pos + i >= in.size()) return VarintError::kTruncated;
    uint8_t b = in[pos + i];
    uint64_t group = b & 0x7f;
    if (i == 9 && group > 1) return VarintError::kOverflow;  // bits past 64
    result |= group << (7 * i);
    if (!(b & 0x80)) {
      if (i > 0 && b == 0) return VarintError::kNonCanonical;  // overlong: last group empty
      pos += i + 1;
      v = result;
      return VarintError::kNone;
    }
  }
  return VarintError::kOverflow;
}

}  // namespace topo
