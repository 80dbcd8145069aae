// What the hash graph needs from storage. The graph layer never runs SQL: store/ implements
// this over SQLite (store::SqliteGraphStore), and MemGraphStore below implements it in memory
// for tests and the simulator. Every call runs inside the caller's transaction; the graph
// never begins or commits one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/vertex.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::graph {

using codec::ObjectId;
using codec::Vertex;
using codec::VertexId;

// What the graph keeps about an applied vertex without decoding it again.
struct VertexMeta {
  VertexId id;
  ObjectId object;
  uint32_t type = 0;
  uint64_t depth = 0;
  uint64_t created_at = 0;
  crypto::PublicKey author;
};

class GraphStore {
 public:
  virtual ~GraphStore() = default;

  // ---- applied vertices ----
  // nullopt when the vertex is not applied here (it may be blocked, rejected or unknown).
  virtual Result<std::optional<VertexMeta>> GetMeta(const VertexId& id) = 0;
  // Stores an applied vertex (its signed encoding `raw`) with local arrival order.
  // REQUIRES: v is not stored yet and every parent and ref is applied.
  virtual Status PutApplied(const Vertex& v, ByteView raw) = 0;
  // The signed encoding of an applied vertex, or NotFound.
  virtual Result<Bytes> GetRaw(const VertexId& id) = 0;
  // An applied vertex's meta and signed encoding together (a peer is served both), or
  // nullopt when it is not applied here. A store that keeps them in one row overrides this
  // with one lookup.
  struct Stored {
    VertexMeta meta;
    Bytes raw;
  };
  virtual Result<std::optional<Stored>> GetStored(const VertexId& id) {
    TOPO_ASSIGN_OR_RETURN(std::optional<VertexMeta> meta, GetMeta(id));
    if (!meta) return std::optional<Stored>();
    TOPO_ASSIGN_OR_RETURN(Bytes raw, GetRaw(id));
    return std::optional<Stored>(Stored{*meta, std::move(raw)});
  }
  // The parents of an applied vertex (decoded from its stored encoding or kept apart).
  virtual Result<std::vector<VertexId>> GetParents(const VertexId& id) = 0;

  // ---- frontier (heads) per object ----
  virtual Result<std::vector<VertexId>> Heads(const ObjectId& object) = 0;  // ascending
  virtual Status AddHead(const ObjectId& object, const VertexId& id) = 0;
  virtual Status RemoveHead(const ObjectId& object, const VertexId& id) = 0;  // no-op if absent

  // ---- rejected vertices (durable: never validated again) ----
  virtual Result<std::optional<std::string>> RejectedReason(const VertexId& id) = 0;
  virtual Status PutRejected(const VertexId& id, const ObjectId& object, std::string_view reason,
                             ByteView raw) = 0;

  // ---- blocked vertices: stored once, with the dependencies they still wait for ----
  virtual Result<bool> IsBlocked(const VertexId& id) = 0;
  // REQUIRES: !IsBlocked(id), missing non-empty and free of duplicates.
  virtual Status PutBlocked(const VertexId& id, ByteView raw,
                            const std::vector<VertexId>& missing) = 0;
  // Removes `arrived` from the missing set of every blocked vertex waiting on it. Returns the
  // signed encodings of those that now wait on nothing, and deletes them from the blocked set
  // (the caller applies them next, in the same transaction).
  virtual Result<std::vector<Bytes>> ResolveDependency(const VertexId& arrived) = 0;
  // Deletes every blocked vertex waiting on `gone` and returns their (id, encoding): the
  // caller rejects them, since a vertex whose dependency was rejected can never apply.
  virtual Result<std::vector<std::pair<VertexId, Bytes>>> DropDependents(const VertexId& gone) = 0;
  virtual Result<uint64_t> BlockedCount() = 0;
};

}  // namespace topo::graph
