// Byte strings and fixed-size digests.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace topo {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline void Append(Bytes& out, ByteView b) { out.insert(out.end(), b.begin(), b.end()); }

// A fixed-size byte array with value semantics, ordering and hashing: ids, keys, digests.
template <size_t N>
struct FixedBytes {
  std::array<uint8_t, N> bytes{};

  static constexpr size_t kSize = N;
  static FixedBytes FromView(ByteView v) {  // REQUIRES: v.size() == N
    FixedBytes f;
    std::memcpy(f.bytes.data(), v.data(), N);
    return f;
  }
  uint8_t* data() { return bytes.data(); }
  const uint8_t* data() const { return bytes.data(); }
  static constexpr size_t size() { return N; }
  ByteView view() const { return {bytes.data(), N}; }
  bool IsZero() const {
    for (uint8_t b : bytes) if (b) return false;
    return true;
  }
  auto operator<=>(const FixedBytes&) const = default;
  bool operator==(const FixedBytes&) const = default;
};

using Hash32 = FixedBytes<32>;

struct FixedBytesHash {
  template <size_t N>
  size_t operator()(const FixedBytes<N>& f) const {
    static_assert(N >= sizeof(size_t));
    size_t h;
    std::memcpy(&h, f.bytes.data(), sizeof h);  // ids are uniform hashes already
    return h;
  }
};

}  // namespace topo
