// Reconciliation items and range fingerprints (negentropy protocol v1).
//
// An item is (timestamp, 32-byte id); items are ordered by timestamp, then by id compared
// bytewise. The timestamp 2^64-1 is reserved: it is the protocol's "infinity" bound and no
// item may carry it.
//
// A range fingerprint is the first 16 bytes of SHA-256( S || Varint(n) ), where S is the sum
// of the range's ids read as 256-bit little-endian integers, mod 2^256, written back as 32
// little-endian bytes, and n is the number of items. Because S is a sum, the fingerprint of
// any range follows from two prefix sums, which is what lets an index answer it in
// O(log N) (range_index.h).
#pragma once

#include <compare>
#include <cstdint>
#include <limits>

#include "util/bytes.h"

namespace topo::sync {

using ItemId = FixedBytes<32>;
using Fingerprint = FixedBytes<16>;

constexpr uint64_t kInfinityTimestamp = std::numeric_limits<uint64_t>::max();

struct Item {
  uint64_t timestamp = 0;
  ItemId id;

  auto operator<=>(const Item&) const = default;
  bool operator==(const Item&) const = default;
};

// A sum of ids mod 2^256. Value type; Add and Sub are exact inverses.
class IdSum {
 public:
  IdSum() = default;

  void Add(const ItemId& id);
  void Sub(const ItemId& id);
  void Add(const IdSum& other);
  void Sub(const IdSum& other);

  // The 32 little-endian bytes of the sum.
  ItemId Serialize() const;
  // The fingerprint of a range whose ids sum to this and that holds `count` items.
  Fingerprint ToFingerprint(uint64_t count) const;

  bool operator==(const IdSum&) const = default;

 private:
  uint64_t limbs_[4] = {0, 0, 0, 0};  // least significant first
};

}  // namespace topo::sync
