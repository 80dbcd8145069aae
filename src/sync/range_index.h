// RangeIndex: the reconciliation index of one object's items, kept up to date on every
// insert and erase, so a negentropy session never rebuilds anything.
//
// A B+tree: leaves hold up to 64 sorted items; an inner node holds, for each child, the
// smallest item, the item count and the id sum (mod 2^256) beneath it. So:
//   Insert, Erase, Contains, LowerBound   O(log N)
//   Sum / RangeFingerprint of any range   O(log N): two prefix sums, each adding the sums of
//                                         the children left of one root-to-leaf path
//   Visit(begin, end)                     O(log N + end - begin)
// Memory is about 50-60 bytes per item (40 for the item itself).
//
// Thread-safety: as RangeStorage: const methods may run concurrently; Insert and Erase need
// exclusive access.
#pragma once

#include <memory>

#include "sync/range_storage.h"

namespace topo::sync {

namespace detail {
struct RangeIndexNode;  // range_index.cc
}

class RangeIndex final : public RangeStorage {
 public:
  RangeIndex();
  ~RangeIndex() override;
  RangeIndex(RangeIndex&&) noexcept;
  RangeIndex& operator=(RangeIndex&&) noexcept;
  RangeIndex(const RangeIndex&) = delete;
  RangeIndex& operator=(const RangeIndex&) = delete;

  // Adds an item. kAlreadyExists when it is present (the index is unchanged);
  // kInvalidArgument for the reserved timestamp 2^64-1.
  Status Insert(const Item& item);
  // Removes an item; false when it was not present.
  bool Erase(const Item& item);
  bool Contains(const Item& item) const;

  uint64_t Size() const override { return size_; }
  uint64_t LowerBound(const Item& bound) const override;
  IdSum Sum(uint64_t begin, uint64_t end) const override;
  void Visit(uint64_t begin, uint64_t end,
             const std::function<bool(const Item&)>& visit) const override;

  // Checks every structural invariant (order, fill, the counts, sums and minimums kept for
  // each child) by walking the whole tree: O(N), for tests.
  Status Validate() const;

 private:
  IdSum PrefixSum(uint64_t end) const;

  std::unique_ptr<detail::RangeIndexNode> root_;
  uint64_t size_ = 0;
};

}  // namespace topo::sync
