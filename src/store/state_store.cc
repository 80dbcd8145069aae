#include "store/state_store.h"

#include <algorithm>

namespace topo::store {

Result<std::optional<Bytes>> MemStateStore::Get(const ObjectId& object, ByteView key) {
  auto it = entries_.find({object, Bytes(key.begin(), key.end())});
  if (it == entries_.end()) return std::optional<Bytes>();
  return std::optional<Bytes>(it->second);
}

Status MemStateStore::Put(const ObjectId& object, ByteView key, ByteView value) {
  entries_[{object, Bytes(key.begin(), key.end())}] = Bytes(value.begin(), value.end());
  return Status::Ok();
}

Status MemStateStore::Delete(const ObjectId& object, ByteView key) {
  entries_.erase({object, Bytes(key.begin(), key.end())});
  return Status::Ok();
}

Status MemStateStore::Scan(const ObjectId& object, ByteView prefix,
                           const std::function<bool(ByteView, ByteView)>& fn) {
  return ScanFrom(object, prefix, prefix, fn);
}

Status MemStateStore::ScanFrom(const ObjectId& object, ByteView prefix, ByteView from,
                               const std::function<bool(ByteView, ByteView)>& fn) {
  for (auto it = entries_.lower_bound({object, Bytes(from.begin(), from.end())});
       it != entries_.end() && it->first.first == object; ++it) {
    const Bytes& key = it->first.second;
    if (key.size() < prefix.size() || !std::equal(prefix.begin(), prefix.end(), key.begin())) break;
    if (!fn(key, it->second)) break;
  }
  return Status::Ok();
}

}  // namespace topo::store
