// GraphStore in memory: graph tests and quick experiments. Not durable, not transactional
// (a failed batch is not undone), so the real node always uses store::SqliteGraphStore.
#pragma once

#include <map>
#include <set>
#include <unordered_map>

#include "graph/graph_store.h"

namespace topo::graph {

class MemGraphStore final : public GraphStore {
 public:
  Result<std::optional<VertexMeta>> GetMeta(const VertexId& id) override;
  Status PutApplied(const Vertex& v, ByteView raw) override;
  Result<Bytes> GetRaw(const VertexId& id) override;
  Result<std::vector<VertexId>> GetParents(const VertexId& id) override;
  Result<std::vector<VertexId>> Heads(const ObjectId& object) override;
  Status AddHead(const ObjectId& object, const VertexId& id) override;
  Status RemoveHead(const ObjectId& object, const VertexId& id) override;
  Result<std::optional<std::string>> RejectedReason(const VertexId& id) override;
  Status PutRejected(const VertexId& id, const ObjectId& object, std::string_view reason,
                     ByteView raw) override;
  Result<bool> IsBlocked(const VertexId& id) override;
  Status PutBlocked(const VertexId& id, ByteView raw,
                    const std::vector<VertexId>& missing) override;
  Result<std::vector<Bytes>> ResolveDependency(const VertexId& arrived) override;
  Result<std::vector<std::pair<VertexId, Bytes>>> DropDependents(const VertexId& gone) override;
  Result<uint64_t> BlockedCount() override { return blocked_.size(); }

  size_t applied_count() const { return applied_.size(); }
  // Applied vertices of one object in linear order (depth, id).
  std::vector<VertexMeta> InOrder(const ObjectId& object) const;

 private:
  struct Applied {
    VertexMeta meta;
    Bytes raw;
    std::vector<VertexId> parents;
  };
  struct Blocked {
    Bytes raw;
    size_t missing = 0;
  };
  std::unordered_map<VertexId, Applied, FixedBytesHash> applied_;
  std::map<ObjectId, std::set<VertexId>> heads_;
  std::unordered_map<VertexId, std::string, FixedBytesHash> rejected_;
  std::unordered_map<VertexId, Blocked, FixedBytesHash> blocked_;
  std::multimap<VertexId, VertexId> waiting_;  // dependency -> blocked vertex
};

}  // namespace topo::graph
