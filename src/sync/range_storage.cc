#include "sync/range_storage.h"

#include <algorithm>

#include "util/encoding.h"

namespace topo::sync {

Status SortedVectorStorage::Insert(const Item& item) {
  if (sealed_) return Status::InvalidArgument("negentropy storage: insert after seal");
  if (item.timestamp == kInfinityTimestamp)
    return Status::InvalidArgument("negentropy storage: timestamp 2^64-1 is reserved");
  items_.push_back(item);
  return Status::Ok();
}

Status SortedVectorStorage::Seal() {
  if (sealed_) return Status::InvalidArgument("negentropy storage: already sealed");
  std::sort(items_.begin(), items_.end());
  auto dup = std::adjacent_find(items_.begin(), items_.end());
  if (dup != items_.end())
    return Status::InvalidArgument("negentropy storage: duplicate item " +
                                   std::to_string(dup->timestamp) + "," +
                                   HexEncode(dup->id.view()));
  sealed_ = true;
  return Status::Ok();
}

uint64_t SortedVectorStorage::LowerBound(const Item& bound) const {
  return std::lower_bound(items_.begin(), items_.end(), bound) - items_.begin();
}

IdSum SortedVectorStorage::Sum(uint64_t begin, uint64_t end) const {
  IdSum sum;
  for (uint64_t i = begin; i < end; ++i) sum.Add(items_[i].id);
  return sum;
}

void SortedVectorStorage::Visit(uint64_t begin, uint64_t end,
                                const std::function<bool(const Item&)>& visit) const {
  for (uint64_t i = begin; i < end; ++i)
    if (!visit(items_[i])) return;
}

}  // namespace topo::sync
