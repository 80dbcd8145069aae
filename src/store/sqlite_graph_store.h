// SqliteGraphStore: graph::GraphStore over the objects, vertices, heads, rejected, blocked and
// blocked_deps tables of a Database (store/schema.h).
//
// It never begins or commits a transaction: every call runs in the caller's, and a failed
// call leaves it to the caller to roll back. Every query is a cached prepared statement, so
// the hot calls (GetMeta, PutApplied) neither prepare nor allocate beyond their result.
//
// Two caches in memory, both forgotten whenever the Database rolls a transaction back (they
// compare Database::rollback_epoch(), so what a rolled-back transaction wrote is never
// returned, and an object key it allocated is never reused for another object):
//   - object id -> objects.key, filled on use (a handful of entries per object touched);
//   - the VertexMeta of recently applied or looked-up vertices (a fixed-size table,
//     meta_cache_entries slots, each new entry replacing the one in its slot). Parents are
//     nearly always recent vertices, so most GetMeta calls for ids that are stored never
//     reach SQLite. Applied vertices never change, so an entry is valid until a rollback.
//
// Inside a transaction it also keeps, until the transaction ends (Database::
// transaction_serial()): whether the rejected and blocked tables are empty (nearly always:
// then the duplicate checks and the cascade after each applied vertex ask nothing), the id
// GetMeta last found absent (PutApplied does not look it up again), and the heads added and
// removed, written at commit (a TxnParticipant): in a chain each vertex replaces the head
// its parent became in the same transaction, and neither row reaches SQLite. Outside a
// transaction every call reads and writes SQLite directly.
//
// REQUIRES: the Database is at schema version kSchemaVersion and outlives this object; no
// other writer deletes vertices (nothing does: applied vertices are permanent); heads,
// rejected and blocked rows are written by this object only while it lives.
// Not thread-safe (neither is the Database).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "graph/graph_store.h"
#include "store/database.h"
#include "util/clock.h"

namespace topo::store {

using codec::ObjectId;
using codec::Vertex;
using codec::VertexId;
using graph::VertexMeta;

class SqliteGraphStore final : public graph::GraphStore, public TxnParticipant {
 public:
  // 16,384 slots of 120 bytes: 1.9 MiB once the first vertex is cached. In the ingest and
  // merge benchmarks it answered all but a few dozen of the GetMeta calls for stored
  // vertices (parents are recent); a larger table answered no more.
  static constexpr size_t kDefaultMetaCacheEntries = size_t{1} << 14;

  // `clock` stamps vertices.applied_at and rejected.rejected_at (local bookkeeping only; no
  // protocol decision reads them). `meta_cache_entries` is rounded up to a power of two; 0
  // turns the VertexMeta cache off.
  explicit SqliteGraphStore(Database& db, const Clock& clock = SystemClock::Instance(),
                            size_t meta_cache_entries = kDefaultMetaCacheEntries);
  ~SqliteGraphStore() override;

  // ---- graph::GraphStore ----
  Result<std::optional<VertexMeta>> GetMeta(const VertexId& id) override;
  // AlreadyExists when the vertex is stored already.
  Status PutApplied(const Vertex& v, ByteView raw) override;
  Result<Bytes> GetRaw(const VertexId& id) override;
  Result<std::optional<Stored>> GetStored(const VertexId& id) override;
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
  // The (created_at, id) of `object`'s applied vertices in ascending (created_at, id) order
  // (ids compared bytewise), starting at the first one not below (from_created_at, from_id),
  // at most `limit` of them, until fn returns false. An index-only scan of
  // vertices_by_created: what sync::ReplicaIndex reads its range blocks from. REQUIRES:
  // created_at below 2^63 (it is a time in milliseconds), or the SQL order differs.
  Status ForEachItem(const ObjectId& object, uint64_t from_created_at, const VertexId& from_id,
                     uint64_t limit,
                     const std::function<bool(uint64_t created_at, const VertexId& id)>& fn);
  // Every applied vertex in local arrival order (for bundle export), until fn returns false.
  Status ForEachVertex(const std::function<bool(ByteView raw)>& fn);
  // Every rejected vertex, in id order, until fn returns false.
  Status ForEachRejected(const std::function<bool(const VertexId& id, const ObjectId& object,
                                                  std::string_view reason)>& fn);
  Result<uint64_t> VertexCount();
  Result<uint64_t> RejectedCount();

  // ---- TxnParticipant ----
  Status BeforeCommit() override;  // writes the heads changed in the transaction
  void AfterRollback() override;

 private:
  // What the open transaction has learnt (see the file comment). Reset when a new one
  // begins; never used outside a transaction.
  struct TxnFacts {
    uint64_t serial = 0;
    std::optional<bool> no_rejected;  // unknown until asked
    std::optional<bool> no_blocked;   // blocked and blocked_deps both empty
    std::optional<VertexId> absent;   // GetMeta's last miss, nothing applied since
    std::optional<VertexId> applied;  // the last vertex PutApplied stored
  };
  // A head's change in the open transaction. kAddedNew: the vertex was applied in the same
  // transaction, so SQLite cannot hold the row and removing it again leaves nothing to do.
  enum class HeadChange : uint8_t { kAdded, kAddedNew, kRemoved };
  // The facts of the open transaction, or nullptr outside one.
  TxnFacts* Facts();
  Result<bool> NoRejected();
  Result<bool> NoBlocked();

  // One slot of the VertexMeta cache (a VertexMeta, packed into 120 bytes). `generation` 0
  // is never current: an empty slot.
  struct MetaSlot {
    VertexId id;
    ObjectId object;
    crypto::PublicKey author;
    uint64_t depth = 0;
    uint64_t created_at = 0;
    uint32_t type = 0;
    uint32_t generation = 0;
  };

  Result<uint64_t> Count(std::string_view sql);
  Result<std::vector<VertexId>> IdsWaitingOn(const VertexId& dep);

  // Drops both caches if a transaction was rolled back since they were filled.
  void ForgetIfRolledBack();
  // The objects.key of `object`: nullopt when it has none (FindObjectKey), a new key
  // otherwise (ObjectKey).
  Result<std::optional<int64_t>> FindObjectKey(const ObjectId& object);
  Result<int64_t> ObjectKey(const ObjectId& object);
  void RememberObjectKey(const ObjectId& object, int64_t key);
  // The cached meta of `id`, or nullopt (not cached: it may still be stored).
  std::optional<VertexMeta> CachedMeta(const VertexId& id) const;
  void CacheMeta(const VertexMeta& meta);

  Database& db_;
  const Clock& clock_;
  uint64_t epoch_;  // db_.rollback_epoch() when the caches were last known good
  std::unordered_map<ObjectId, int64_t, FixedBytesHash> object_keys_;
  size_t meta_slot_count_;                  // a power of two, or 0: no cache
  std::unique_ptr<MetaSlot[]> meta_slots_;  // allocated on first use
  uint32_t generation_ = 1;
  TxnFacts facts_;
  // (objects.key, head) -> its change, for the open transaction only.
  std::map<std::pair<int64_t, VertexId>, HeadChange> head_changes_;
};

}  // namespace topo::store
