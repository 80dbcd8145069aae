#include "sync/block_range_index.h"

#include <algorithm>
#include <string>

namespace topo::sync {

BlockRangeIndex::BlockRangeIndex(const ItemSource& source, uint64_t block_items)
    : source_(source), block_items_(std::max<uint64_t>(block_items, 2)) {}

Status BlockRangeIndex::Load(const std::function<void(const Item&)>& each) {
  blocks_.clear();
  size_ = 0;
  cached_block_ = SIZE_MAX;
  // Each read takes one block and the first item of the next, which starts the next read.
  Item from;
  std::vector<Item> chunk;
  for (;;) {
    chunk.clear();
    TOPO_RETURN_IF_ERROR(source_.Read(from, block_items_ + 1, chunk));
    if (chunk.empty()) break;
    const uint64_t n = std::min<uint64_t>(chunk.size(), block_items_);
    Block b;
    b.first = chunk.front();
    b.count = n;
    for (uint64_t i = 0; i < n; ++i) {
      if (i > 0 && !(chunk[i - 1] < chunk[i]))
        return Status::Corruption("range blocks: the source's items are out of order");
      b.sum.Add(chunk[i].id);
      if (each) each(chunk[i]);
    }
    blocks_.push_back(b);
    size_ += n;
    if (chunk.size() <= block_items_) break;
    from = chunk.back();
  }
  settled_ = false;
  return Settle();
}

Status BlockRangeIndex::Add(const Item& item) {
  if (item.timestamp == kInfinityTimestamp)
    return Status::InvalidArgument("range blocks: timestamp 2^64-1 is reserved");
  cached_block_ = SIZE_MAX;
  settled_ = false;
  ++size_;
  if (blocks_.empty()) {
    Block b;
    b.first = item;
    blocks_.push_back(b);
  }
  Block& b = blocks_[BlockFor(item)];
  if (item < b.first) b.first = item;  // only the first block: below every item held
  ++b.count;
  b.sum.Add(item.id);
  return Status::Ok();
}

Status BlockRangeIndex::Settle() {
  if (settled_) return Status::Ok();
  cached_block_ = SIZE_MAX;
  Status first_error;
  std::vector<Block> out;
  out.reserve(blocks_.size() + 1);
  std::vector<Item> items;
  for (const Block& b : blocks_) {
    if (b.count <= 2 * block_items_) {
      out.push_back(b);
      continue;
    }
    items.clear();
    Status s = source_.Read(b.first, b.count, items);
    if (s.ok() && items.size() != b.count)
      s = Status::Corruption("range blocks: the source holds " + std::to_string(items.size()) +
                             " items of a block of " + std::to_string(b.count));
    if (!s.ok()) {
      // Kept whole: still right, only slower to read.
      if (first_error.ok()) first_error = s;
      out.push_back(b);
      continue;
    }
    // Pieces of block_items_, the remainder spread over them (each under twice that).
    const uint64_t pieces = b.count / block_items_;
    uint64_t at = 0;
    for (uint64_t p = 0; p < pieces; ++p) {
      const uint64_t n = b.count / pieces + (p < b.count % pieces ? 1 : 0);
      Block piece;
      piece.first = items[at];
      piece.count = n;
      for (uint64_t i = at; i < at + n; ++i) piece.sum.Add(items[i].id);
      out.push_back(piece);
      at += n;
    }
  }
  blocks_ = std::move(out);
  uint64_t start = 0;
  IdSum prefix;
  for (Block& b : blocks_) {
    b.start = start;
    b.prefix = prefix;
    start += b.count;
    prefix.Add(b.sum);
  }
  settled_ = true;
  if (!first_error.ok() && read_error_.ok()) read_error_ = first_error;
  return first_error;
}

size_t BlockRangeIndex::BlockAt(uint64_t pos) const {
  auto it = std::upper_bound(blocks_.begin(), blocks_.end(), pos,
                             [](uint64_t p, const Block& b) { return p < b.start; });
  return static_cast<size_t>(it - blocks_.begin()) - 1;
}

size_t BlockRangeIndex::BlockFor(const Item& item) const {
  auto it = std::upper_bound(blocks_.begin(), blocks_.end(), item,
                             [](const Item& x, const Block& b) { return x < b.first; });
  return it == blocks_.begin() ? 0 : static_cast<size_t>(it - blocks_.begin()) - 1;
}

const std::vector<Item>& BlockRangeIndex::Items(size_t b) const {
  if (cached_block_ == b) return cache_;
  const Block& block = blocks_[b];
  cache_.clear();
  Status s = source_.Read(block.first, block.count, cache_);
  if (s.ok() && cache_.size() != block.count)
    s = Status::Corruption("range blocks: the source holds " + std::to_string(cache_.size()) +
                           " items of a block of " + std::to_string(block.count));
  if (!s.ok() && read_error_.ok()) read_error_ = s;
  // Positions must stay readable: a short read is padded (wrong fingerprints, no crash).
  cache_.resize(block.count);
  cached_block_ = b;
  return cache_;
}

uint64_t BlockRangeIndex::LowerBound(const Item& bound) const {
  if (blocks_.empty()) return 0;
  const size_t b = BlockFor(bound);
  const Block& block = blocks_[b];
  if (!(block.first < bound)) return block.start;
  const std::vector<Item>& items = Items(b);
  return block.start + (std::lower_bound(items.begin(), items.end(), bound) - items.begin());
}

IdSum BlockRangeIndex::PrefixSum(uint64_t end) const {
  if (end == 0 || blocks_.empty()) return IdSum{};
  if (end >= size_) {
    IdSum all = blocks_.back().prefix;
    all.Add(blocks_.back().sum);
    return all;
  }
  const size_t b = BlockAt(end);
  const Block& block = blocks_[b];
  const uint64_t off = end - block.start;
  IdSum sum = block.prefix;
  if (off == 0) return sum;
  const std::vector<Item>& items = Items(b);
  if (off <= block.count / 2) {
    for (uint64_t i = 0; i < off; ++i) sum.Add(items[i].id);
  } else {
    sum.Add(block.sum);
    for (uint64_t i = off; i < block.count; ++i) sum.Sub(items[i].id);
  }
  return sum;
}

IdSum BlockRangeIndex::Sum(uint64_t begin, uint64_t end) const {
  IdSum sum = PrefixSum(end);
  if (begin > 0) sum.Sub(PrefixSum(begin));
  return sum;
}

void BlockRangeIndex::Visit(uint64_t begin, uint64_t end,
                            const std::function<bool(const Item&)>& visit) const {
  end = std::min(end, size_);
  if (begin >= end) return;
  for (size_t b = BlockAt(begin); b < blocks_.size() && blocks_[b].start < end; ++b) {
    const Block& block = blocks_[b];
    const std::vector<Item>& items = Items(b);
    const uint64_t from = begin > block.start ? begin - block.start : 0;
    const uint64_t to = std::min(block.count, end - block.start);
    for (uint64_t i = from; i < to; ++i)
      if (!visit(items[i])) return;
  }
}

Status BlockRangeIndex::Validate() const {
  if (!settled_) return Status::Internal("range blocks: not settled");
  uint64_t total = 0;
  IdSum prefix;
  for (size_t b = 0; b < blocks_.size(); ++b) {
    const Block& block = blocks_[b];
    if (block.count == 0) return Status::Corruption("range blocks: an empty block");
    if (block.start != total) return Status::Corruption("range blocks: wrong block start");
    if (!(block.prefix == prefix)) return Status::Corruption("range blocks: wrong prefix sum");
    std::vector<Item> items;
    TOPO_RETURN_IF_ERROR(source_.Read(block.first, block.count + 1, items));
    if (items.size() < block.count)
      return Status::Corruption("range blocks: the source holds fewer items than a block");
    if (!(items.front() == block.first))
      return Status::Corruption("range blocks: a block's first item is not in the source");
    IdSum sum;
    for (uint64_t i = 0; i < block.count; ++i) {
      if (i > 0 && !(items[i - 1] < items[i]))
        return Status::Corruption("range blocks: items out of order");
      sum.Add(items[i].id);
    }
    if (!(sum == block.sum)) return Status::Corruption("range blocks: wrong block sum");
    const bool last = b + 1 == blocks_.size();
    if (last && items.size() > block.count)
      return Status::Corruption("range blocks: the source holds items past the last block");
    if (!last && !(items.size() > block.count && items[block.count] == blocks_[b + 1].first))
      return Status::Corruption("range blocks: a block does not end where the next begins");
    total += block.count;
    prefix.Add(block.sum);
  }
  if (total != size_) return Status::Corruption("range blocks: counts do not add up");
  std::vector<Item> before;
  if (!blocks_.empty()) {
    TOPO_RETURN_IF_ERROR(source_.Read(Item{}, 1, before));
    if (before.empty() || !(before.front() == blocks_.front().first))
      return Status::Corruption("range blocks: the source holds items before the first block");
  }
  return Status::Ok();
}

}  // namespace topo::sync
