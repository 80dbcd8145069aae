// Text encodings of bytes: lowercase hex and RFC 4648 base32 (lowercase, no padding).
#pragma once

#include <string>
#include <string_view>

#include "util/bytes.h"
#include "util/status.h"

namespace topo {

std::string HexEncode(ByteView b);
// Accepts upper or lower case; rejects odd length and non-hex characters.
Result<Bytes> HexDecode(std::string_view s);

template <size_t N>
Result<FixedBytes<N>> HexDecodeFixed(std::string_view s) {
  if (s.size() != 2 * N)
    return Status::InvalidArgument("expected " + std::to_string(2 * N) + " hex characters, got " +
                                   std::to_string(s.size()));
  auto b = HexDecode(s);
  if (!b.ok()) return b.status();
  return FixedBytes<N>::FromView(*b);
}

// The first n bytes in hex: enough to name an id in a message or a log line.
inline std::string HexEncodeShort(ByteView b, size_t n = 8) {
  return HexEncode(b.subspan(0, b.size() < n ? b.size() : n));
}
template <size_t N>
std::string HexEncodeShort(const FixedBytes<N>& f) {
  return HexEncodeShort(f.view());
}

std::string Base32Encode(ByteView b);
// Accepts upper or lower case, no padding; rejects non-zero trailing bits (canonical only).
Result<Bytes> Base32Decode(std::string_view s);

}  // namespace topo
