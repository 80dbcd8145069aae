// What a negentropy session reads of a set of items: its size, positions of bounds, range
// fingerprints and the items of a range. Positions are indexes into the ascending order of
// items, so a range is a half-open [begin, end) of indexes.
//
// Three implementations:
//   SortedVectorStorage  a sorted vector, built once and sealed; fingerprints cost O(range).
//                        For tests and the conformance harness.
//   RangeIndex           (range_index.h) every item in memory, kept up to date on every
//                        insert and erase in O(log N), fingerprints in O(log N); 90-100
//                        bytes an item. For tests and benchmarks of sets without a store.
//   BlockRangeIndex      (block_range_index.h) block sums in memory (0.25 bytes an item),
//                        items read from an ordered source such as the store's index. What
//                        a node keeps per object (sync/replica_index.h).
//
// A session reads the storage only inside Negentropy::Initiate and Negentropy::Reconcile;
// the set may change between two calls (the protocol keeps no positions across messages).
//
// Thread-safety: const methods may run concurrently; nothing may run concurrently with a
// change.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "sync/item.h"
#include "util/status.h"

namespace topo::sync {

class RangeStorage {
 public:
  virtual ~RangeStorage() = default;

  virtual uint64_t Size() const = 0;
  // The index of the first item not less than `bound` (Size() when there is none).
  virtual uint64_t LowerBound(const Item& bound) const = 0;
  // The sum of the ids of items [begin, end). REQUIRES: begin <= end <= Size().
  virtual IdSum Sum(uint64_t begin, uint64_t end) const = 0;
  // Calls visit(item) for items [begin, end) in ascending order until it returns false.
  // REQUIRES: begin <= end <= Size().
  virtual void Visit(uint64_t begin, uint64_t end,
                     const std::function<bool(const Item&)>& visit) const = 0;

  Fingerprint RangeFingerprint(uint64_t begin, uint64_t end) const {
    return Sum(begin, end).ToFingerprint(end - begin);
  }
};

// Items are collected with Insert, then Seal sorts them once. REQUIRES: sealed before a
// session reads it, and no Insert after Seal.
class SortedVectorStorage final : public RangeStorage {
 public:
  // Rejects the reserved timestamp 2^64-1, and any insert after Seal.
  Status Insert(const Item& item);
  // Sorts; rejects a duplicate (timestamp, id) and a second Seal.
  Status Seal();
  bool sealed() const { return sealed_; }

  uint64_t Size() const override { return items_.size(); }
  uint64_t LowerBound(const Item& bound) const override;
  IdSum Sum(uint64_t begin, uint64_t end) const override;
  void Visit(uint64_t begin, uint64_t end,
             const std::function<bool(const Item&)>& visit) const override;

  const std::vector<Item>& items() const { return items_; }

 private:
  std::vector<Item> items_;
  bool sealed_ = false;
};

}  // namespace topo::sync
