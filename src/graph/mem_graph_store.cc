#include "graph/mem_graph_store.h"

#include <algorithm>

namespace topo::graph {

Result<std::optional<VertexMeta>> MemGraphStore::GetMeta(const VertexId& id) {
  auto it = applied_.find(id);
  if (it == applied_.end()) return std::optional<VertexMeta>();
  return std::optional<VertexMeta>(it->second.meta);
}

Status MemGraphStore::PutApplied(const Vertex& v, ByteView raw) {
  Applied a;
  a.meta = {v.id, v.object(), v.type, v.depth, v.created_at, v.author};
  a.raw.assign(raw.begin(), raw.end());
  a.parents = v.parents;
  applied_.emplace(v.id, std::move(a));
  return Status::Ok();
}

Result<Bytes> MemGraphStore::GetRaw(const VertexId& id) {
  auto it = applied_.find(id);
  if (it == applied_.end()) return Status::NotFound("vertex not applied");
  return it->second.raw;
}

Result<std::vector<VertexId>> MemGraphStore::GetParents(const VertexId& id) {
  auto it = applied_.find(id);
  if (it == applied_.end()) return Status::NotFound("vertex not applied");
  return it->second.parents;
}

Result<std::vector<VertexId>> MemGraphStore::Heads(const ObjectId& object) {
  auto it = heads_.find(object);
  if (it == heads_.end()) return std::vector<VertexId>();
  return std::vector<VertexId>(it->second.begin(), it->second.end());
}

Status MemGraphStore::AddHead(const ObjectId& object, const VertexId& id) {
  heads_[object].insert(id);
  return Status::Ok();
}

Status MemGraphStore::RemoveHead(const ObjectId& object, const VertexId& id) {
  auto it = heads_.find(object);
  if (it != heads_.end()) it->second.erase(id);
  return Status::Ok();
}

Result<std::optional<std::string>> MemGraphStore::RejectedReason(const VertexId& id) {
  auto it = rejected_.find(id);
  if (it == rejected_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemGraphStore::PutRejected(const VertexId& id, const ObjectId&, std::string_view reason,
                                  ByteView) {
  rejected_.emplace(id, std::string(reason));
  return Status::Ok();
}

Result<bool> MemGraphStore::IsBlocked(const VertexId& id) { return blocked_.count(id) > 0; }

Status MemGraphStore::PutBlocked(const VertexId& id, ByteView raw,
                                 const std::vector<VertexId>& missing) {
  blocked_[id] = Blocked{Bytes(raw.begin(), raw.end()), missing.size()};
  for (const auto& m : missing) waiting_.emplace(m, id);
  return Status::Ok();
}

Result<std::vector<Bytes>> MemGraphStore::ResolveDependency(const VertexId& arrived) {
  std::vector<Bytes> ready;
  auto [b, e] = waiting_.equal_range(arrived);
  for (auto it = b; it != e; ++it) {
    auto bl = blocked_.find(it->second);
    if (bl == blocked_.end()) continue;
    if (--bl->second.missing == 0) {
      ready.push_back(std::move(bl->second.raw));
      blocked_.erase(bl);
    }
  }
  waiting_.erase(b, e);
  return ready;
}

Result<std::vector<std::pair<VertexId, Bytes>>> MemGraphStore::DropDependents(
    const VertexId& gone) {
  std::vector<std::pair<VertexId, Bytes>> out;
  auto [b, e] = waiting_.equal_range(gone);
  for (auto it = b; it != e; ++it) {
    auto bl = blocked_.find(it->second);
    if (bl == blocked_.end()) continue;
    out.emplace_back(bl->first, std::move(bl->second.raw));
    blocked_.erase(bl);
  }
  waiting_.erase(b, e);
  // Entries for the dropped vertices under other dependencies are skipped lazily above.
  return out;
}

std::vector<VertexMeta> MemGraphStore::InOrder(const ObjectId& object) const {
  std::vector<VertexMeta> out;
  for (const auto& [id, a] : applied_)
    if (a.meta.object == object) out.push_back(a.meta);
  std::sort(out.begin(), out.end(), [](const VertexMeta& x, const VertexMeta& y) {
    return std::tie(x.depth, x.id) < std::tie(y.depth, y.id);
  });
  return out;
}

}  // namespace topo::graph
