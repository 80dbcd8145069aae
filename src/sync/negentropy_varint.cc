#include "sync/negentropy_varint.h"

namespace topo::sync {

size_t NegVarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutNegVarint(Bytes& out, uint64_t v) {
  const size_t n = NegVarintLength(v);
  for (size_t i = n; i-- > 0;) {
    const uint8_t digit = static_cast<uint8_t>((v >> (7 * i)) & 0x7f);
    out.push_back(i == 0 ? digit : static_cast<uint8_t>(digit | 0x80));
  }
}

Status GetNegVarint(ByteView in, size_t& pos, uint64_t& v) {
  uint64_t result = 0;
  for (size_t i = 0;; ++i) {
    if (pos + i >= in.size()) return Status::Corruption("negentropy: varint ends prematurely");
    const uint8_t b = in[pos + i];
    if (i == 0 && b == 0x80)
      return Status::Corruption("negentropy: varint has a leading zero digit");
    if (result >> 57) return Status::Corruption("negentropy: varint above 2^64-1");
    result = (result << 7) | (b & 0x7f);
    if (!(b & 0x80)) {
      pos += i + 1;
      v = result;
      return Status::Ok();
    }
  }
}

}  // namespace topo::sync
