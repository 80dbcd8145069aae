// Strict byte readers and writers for canonical encodings. A Reader never reads past its
// input, rejects non-canonical varints, and reports the first problem as a Status whose
// message names the field ("vertex.parents: truncated").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/bytes.h"
#include "util/status.h"
#include "util/varint.h"

namespace topo::codec {

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void Varint(uint64_t v) { PutVarint(out_, v); }
  void Raw(ByteView b) { Append(out_, b); }
  template <size_t N>
  void Fixed(const FixedBytes<N>& f) { Raw(f.view()); }
  // varint length || bytes
  void LenBytes(ByteView b) {
    Varint(b.size());
    Raw(b);
  }
  void LenString(std::string_view s) { LenBytes(AsBytes(s)); }
  // Zig-zag signed varint.
  void SVarint(int64_t v) {
    Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }

  Bytes& bytes() { return out_; }
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }
  bool done() const { return pos_ == in_.size(); }
  ByteView consumed() const { return in_.subspan(0, pos_); }

  Status U8(std::string_view field, uint8_t& v);
  Status Varint(std::string_view field, uint64_t& v);
  // A varint that must be <= max.
  Status VarintMax(std::string_view field, uint64_t max, uint64_t& v);
  Status SVarint(std::string_view field, int64_t& v);
  Status Raw(std::string_view field, size_t n, ByteView& v);
  template <size_t N>
  Status Fixed(std::string_view field, FixedBytes<N>& f) {
    ByteView v;
    TOPO_RETURN_IF_ERROR(Raw(field, N, v));
    f = FixedBytes<N>::FromView(v);
    return Status::Ok();
  }
  // varint length (<= max) || bytes
  Status LenBytes(std::string_view field, size_t max, ByteView& v);
  // Like LenBytes, and the bytes must be valid UTF-8.
  Status LenString(std::string_view field, size_t max, std::string& s);
  // Fails unless every byte was consumed.
  Status ExpectEnd(std::string_view what);

 private:
  ByteView in_;
  size_t pos_ = 0;
};

bool IsValidUtf8(std::string_view s);

}  // namespace topo::codec
