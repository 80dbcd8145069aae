// BlockRangeIndex: a negentropy range index that keeps only per-block summaries in memory
// and reads the items themselves from an ordered source (a store's index) when a range
// starts or ends inside a block.
//
// The items, in ascending order, are cut into consecutive blocks of about `block_items`
// (at most twice that). Per block the index holds its first item, its item count and the sum
// of its ids: about 120 bytes per block, so 0.25 bytes per item at the default block of 512,
// against 90-100 for RangeIndex (a node-based B+tree holding every item). So:
//   Add                                   O(log B) (B blocks): a count and a sum updated
//   Settle (after a batch of Adds)        O(B), plus one read of each block grown too wide
//   LowerBound, Sum / RangeFingerprint    O(log B) and at most one block read each
//   Visit(begin, end)                     a read of each block the range touches
// The last block read is cached until the next Add.
//
// The contract with the source: whenever the index is read (and whenever Settle runs), the
// source holds exactly the items added, no more and no fewer. A ReplicaIndex keeps it: the
// store commits a batch, then the index takes the whole batch and settles, on one thread,
// before anything reads it.
//
// A failed read (an I/O error in the store) cannot be returned through RangeStorage's
// interface: the read gives fewer items, the range fingerprints come out wrong and
// reconciliation goes on over more round trips (or finds the ranges again next session);
// `read_error()` keeps the first such error for the caller to log.
//
// Thread-safety: none; every method, const ones included (the block cache), from one thread.
#pragma once

#include <cstdint>
#include <vector>

#include "sync/range_storage.h"

namespace topo::sync {

// An ordered source of items: the items not below `from`, ascending, at most `limit`.
class ItemSource {
 public:
  virtual ~ItemSource() = default;
  virtual Status Read(const Item& from, uint64_t limit, std::vector<Item>& out) const = 0;
};

class BlockRangeIndex final : public RangeStorage {
 public:
  static constexpr uint64_t kDefaultBlockItems = 512;

  // REQUIRES: `source` outlives the index; block_items >= 2.
  explicit BlockRangeIndex(const ItemSource& source, uint64_t block_items = kDefaultBlockItems);

  // Reads every item of the source once, in order, and builds the blocks (forgetting any
  // held); `each`, when set, sees every item.
  Status Load(const std::function<void(const Item&)>& each = {});
  // Counts an item the source now holds (also holds: see the contract above). The reserved
  // timestamp 2^64-1 is refused. REQUIRES: not already added; Settle before the next read.
  Status Add(const Item& item);
  // Splits blocks grown past twice block_items (reading them) and recomputes the positions.
  Status Settle();

  uint64_t Size() const override { return size_; }
  uint64_t LowerBound(const Item& bound) const override;
  IdSum Sum(uint64_t begin, uint64_t end) const override;
  // `visit` must not call back into the index.
  void Visit(uint64_t begin, uint64_t end,
             const std::function<bool(const Item&)>& visit) const override;

  size_t blocks() const { return blocks_.size(); }
  // The first error a read met, if any (Ok otherwise).
  const Status& read_error() const { return read_error_; }

  // Reads every block and checks its count, sum, first item and order against the source:
  // O(N), for tests.
  Status Validate() const;

 private:
  struct Block {
    Item first;
    uint64_t count = 0;
    uint64_t start = 0;  // position of `first` (current after Settle)
    IdSum sum;
    IdSum prefix;  // the sum of the blocks before this one (current after Settle)
  };
  // The block holding position `pos` (< Size()).
  size_t BlockAt(uint64_t pos) const;
  // The block an item belongs in: the last whose first item is <= it, or the first.
  size_t BlockFor(const Item& item) const;
  // The items of block b, read (or cached).
  const std::vector<Item>& Items(size_t b) const;
  IdSum PrefixSum(uint64_t end) const;

  const ItemSource& source_;
  uint64_t block_items_;
  std::vector<Block> blocks_;
  uint64_t size_ = 0;
  bool settled_ = true;
  mutable size_t cached_block_ = SIZE_MAX;
  mutable std::vector<Item> cache_;
  mutable Status read_error_;
};

}  // namespace topo::sync
