#include "util/encoding.h"

namespace topo {
namespace {
constexpr char kHex[] = "0123456789abcdef";
constexpr char kB32[] = "abcdefghijklmnopqrstuvwxyz234567";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
int B32Value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}
}  // namespace

std::string HexEncode(ByteView b) {
  std::string s(b.size() * 2, '0');
  for (size_t i = 0; i < b.size(); ++i) {
    s[2 * i] = kHex[b[i] >> 4];
    s[2 * i + 1] = kHex[b[i] & 15];
  }
  return s;
}

Result<Bytes> HexDecode(std::string_view s) {
  if (s.size() % 2) return Status::InvalidArgument("hex string has an odd length");
  Bytes out(s.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(s[2 * i]), lo = HexValue(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("not a hex string");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string Base32Encode(ByteView b) {
  std::string s;
  s.reserve((b.size() * 8 + 4) / 5);
  uint32_t buf = 0;
  int bits = 0;
  for (uint8_t byte : b) {
    buf = (buf << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      s.push_back(kB32[(buf >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) s.push_back(kB32[(buf << (5 - bits)) & 31]);
  return s;
}

Result<Bytes> Base32Decode(std::string_view s) {
  Bytes out;
  out.reserve(s.size() * 5 / 8);
  uint32_t buf = 0;
  int bits = 0;
  for (char c : s) {
    int v = B32Value(c);
    if (v < 0) return Status::InvalidArgument("not a base32 string");
    buf = (buf << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<uint8_t>(buf >> (bits - 8)));
      bits -= 8;
    }
  }
  // Leftover bits must be fewer than 5 and all zero, or the text is not the canonical form.
  if (bits >= 5 || (buf & ((1u << bits) - 1)) != 0)
    return Status::InvalidArgument("base32 string is not canonical");
  return out;
}

}  // namespace topo
