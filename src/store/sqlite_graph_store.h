// SqliteGraphStore: graph::GraphStore over the vertices, heads, rejected, blocked and
// blocked_deps tables of a Database (store/schema.h).
//
// It never begins or commits a transaction: every call runs in the caller's, and a failed
// call leaves it to the caller to roll back. Every query is a cached prepared statement, so
// the hot calls (GetMeta, PutApplied) neither prepare nor allocate beyond their result.
//
// REQUIRES: the Database is at schema version kSchemaVersion and outlives this object.
// Not thread-safe (neither is the Database).
#pragma once

#include <functional>
#include <string_view>

#include "graph/graph_store.h"
#include "store/database.h"
#include "util/clock.h"

namespace topo::store {

using codec::ObjectId;
using codec::Vertex;
using codec::VertexId;
using graph::VertexMeta;

class SqliteGraphStore final : public graph::GraphStore {
 public:
  // `clock` stamps vertices.applied_at and rejected.rejected_at (local bookkeeping only; no
  // protocol decision reads them).
  explicit SqliteGraphStore(Database& db, const Clock& clock = SystemClock::Instance())
      : db_(db), clock_(clock) {}

  // ---- graph::GraphStore ----
  Result<std::optional<VertexMeta>> GetMeta(const VertexId& id) override;
  // AlreadyExists when the vertex is stored already.
  Status PutApplied(const Vertex& v, ByteView raw) override;
  Result<Bytes> GetRaw(const VertexId& id) override;
  Result<std::vector<VertexId>> GetParents(const VertexId& id) override;

  Result<std::vector<VertexId>> Heads(const ObjectId& object) override;
  Status AddHead(const ObjectId& object, const VertexId& id) override;  // no-op if present
  Status RemoveHead(const ObjectId& object, const VertexId& id) override;

  Result<std::optional<std::string>> RejectedReason(const VertexId& id) override;
  // Keeps the first reason when the vertex was rejected already.
  Status PutRejected(const VertexId& id, const ObjectId& object, std::string_view reason,
                     ByteView raw) override;

  Result<bool> IsBlocked(const VertexId& id) override;
  Status PutBlocked(const VertexId& id, ByteView raw,
                    const std::vector<VertexId>& missing) override;
  // Returned in ascending id order.
  Result<std::vector<Bytes>> ResolveDependency(const VertexId& arrived) override;
  // Returned in ascending id order.
  Result<std::vector<std::pair<VertexId, Bytes>>> DropDependents(const VertexId& gone) override;
  Result<uint64_t> BlockedCount() override;

  // ---- beyond the interface: listing, export, diagnostics ----
  // Ids of every object (its genesis vertex is applied here), in local arrival order.
  Result<std::vector<ObjectId>> ListObjects();
  // The applied vertices of `object` in linear order, (depth, id) ascending, until fn returns
  // false. `raw` is valid only during the call. fn must not write to the vertices table.
  Status ForEachInOrder(const ObjectId& object,
                        const std::function<bool(const VertexMeta& meta, ByteView raw)>& fn);
  // Every applied vertex in local arrival order (for bundle export), until fn returns false.
  Status ForEachVertex(const std::function<bool(ByteView raw)>& fn);
  // Every rejected vertex, in id order, until fn returns false.
  Status ForEachRejected(const std::function<bool(const VertexId& id, const ObjectId& object,
                                                  std::string_view reason)>& fn);
  Result<uint64_t> VertexCount();
  Result<uint64_t> RejectedCount();

 private:
  Result<uint64_t> Count(std::string_view sql);
  Result<std::vector<VertexId>> IdsWaitingOn(const VertexId& dep);

  Database& db_;
  const Clock& clock_;
};

}  // namespace topo::store
