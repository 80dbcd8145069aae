#include "codec/reader.h"

namespace topo::codec {
namespace {
Status Fail(std::string_view field, std::string_view why) {
  return Status::Corruption(std::string(field) + ": " + std::string(why));
}
}  // namespace

Status Reader::U8(std::string_view field, uint8_t& v) {
  if (remaining() < 1) return Fail(field, "truncated");
  v = in_[pos_++];
  return Status::Ok();
}

Status Reader::Varint(std::string_view field, uint64_t& v) {
  switch (GetVarint(in_, pos_, v)) {
    case VarintError::kNone: return Status::Ok();
    case VarintError::kTruncated: return Fail(field, "truncated");
    case VarintError::kNonCanonical: return Fail(field, "non-canonical varint");
    case VarintError::kOverflow: return Fail(field, "varint overflows 64 bits");
  }
  return Fail(field, "bad varint");
}

Status Reader::VarintMax(std::string_view field, uint64_t max, uint64_t& v) {
  TOPO_RETURN_IF_ERROR(Varint(field, v));
  if (v > max) return Fail(field, "over its bound of " + std::to_string(max));
  return Status::Ok();
}

Status Reader::SVarint(std::string_view field, int64_t& v) {
  uint64_t u;
  TOPO_RETURN_IF_ERROR(Varint(field, u));
  v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return Status::Ok();
}

Status Reader::Raw(std::string_view field, size_t n, ByteView& v) {
  if (remaining() < n) return Fail(field, "truncated");
  v = in_.subspan(pos_, n);
  pos_ += n;
  return Status::Ok();
}

Status Reader::LenBytes(std::string_view field, size_t max, ByteView& v) {
  uint64_t n;
  TOPO_RETURN_IF_ERROR(VarintMax(field, max, n));
  return Raw(field, static_cast<size_t>(n), v);
}

Status Reader::LenString(std::string_view field, size_t max, std::string& s) {
  ByteView v;
  TOPO_RETURN_IF_ERROR(LenBytes(field, max, v));
  s.assign(AsChars(v));
  if (!IsValidUtf8(s)) return Fail(field, "not valid UTF-8");
  return Status::Ok();
}

Status Reader::ExpectEnd(std::string_view what) {
  if (!done()) return Fail(what, "trailing bytes");
  return Status::Ok();
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<uint8_t>(s[i + k]) & 0xC0) == 0x80; };
  while (i < s.size()) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) { i += 1; continue; }
    if (c >= 0xC2 && c <= 0xDF) { if (!cont(1)) return false; i += 2; continue; }
    if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(1) || !cont(2)) return false;
      uint8_t c1 = static_cast<uint8_t>(s[i + 1]);
      if (c == 0xE0 && c1 < 0xA0) return false;  // overlong
      if (c == 0xED && c1 >= 0xA0) return false;  // surrogates
      i += 3;
      continue;
    }
    if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(1) || !cont(2) || !cont(3)) return false;
      uint8_t c1 = static_cast<uint8_t>(s[i + 1]);
      if (c == 0xF0 && c1 < 0x90) return false;
      if (c == 0xF4 && c1 >= 0x90) return false;
      i += 4;
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace topo::codec
