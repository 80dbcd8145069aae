// The ingest pipeline: decode -> id and signature check -> duplicate -> wait for missing
// dependencies -> validate against the causal past -> apply -> (project, in the Applier).
//
// Two stages. Prepare() is pure (decode, hash, verify) and runs on every core at once.
// Ingestor::Ingest() is the sequential stage; it runs inside the caller's transaction, so a
// batch applies whole or not at all. A vertex whose parents or refs are missing is kept once
// as blocked (in the Ingestor's memory or in the store, see below); when its last dependency
// applies it is applied in the same cascade, iteratively (a worklist, never recursion),
// however long the chain.
//
// Blocked vertices in memory. With shuffled delivery nearly every vertex arrives before some
// parent, and most of those parents arrive moments later. Writing each such vertex to the
// store and reading it back (GraphStore::PutBlocked, ResolveDependency) was half of the
// sequential stage, so the Ingestor keeps blocked vertices in a buffer of bounded memory
// (IngestorOptions::blocked_memory_bytes) and writes to the store only what overflows it
// (oldest first) or what is still blocked at Flush(). Every decision consults both places,
// so what a vertex's outcome is, and which vertices end applied, rejected or blocked, does
// not depend on where a blocked vertex was kept.
//
// Durability contract of the buffer:
//  - A buffered vertex is not in the store. It becomes durable only once Flush() has written
//    it and the owner's transaction commits. Until then a crash (or the Ingestor's
//    destruction) loses it: it is absent, as if never received, and delivering it again
//    completes it. Nothing is ever half-applied: a vertex is applied only in the transaction
//    that applies its last dependency, whether it waited in memory or in the store.
//  - The owner calls Flush() inside a transaction, before the commit after which it wants
//    blocked vertices durable (at the latest before the last commit of a delivery, and
//    before the Ingestor is destroyed), and DiscardBuffer() whenever a transaction in which
//    Ingest() or Flush() ran rolls back: the buffer may describe effects of that
//    transaction (a dependency counted as arrived, a vertex spilled to the store) that the
//    rollback undid. Discarded vertices are simply absent.
//  - The buffer survives commits: a vertex may wait in memory across several transactions of
//    one delivery, and a dependency applied in a later transaction releases it there.
//
// What is stored as rejected: only vertices with a valid signature that break a rule that
// depends on the vertex and its causal past alone (so every honest replica agrees, and a
// rejected vertex is never validated again). A vertex with a bad signature is refused but
// NOT recorded: its id does not authenticate its content, and recording it would let a forger
// poison the id of a genuine vertex.
#pragma once

#include <list>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph_store.h"

namespace topo::graph {

// The object layer's part: semantic validation and application of a vertex.
class Applier {
 public:
  virtual ~Applier() = default;
  // Ok, or Status::Rejected(reason) when the vertex breaks a rule given its causal past
  // (`parents` are the metas of its parents, in the vertex's order). Any other error aborts
  // the batch. Must not write.
  virtual Status Validate(const Vertex& v, std::span<const VertexMeta> parents) = 0;
  // Applies a validated vertex: object state and projections. An error aborts the batch.
  virtual Status Apply(const Vertex& v) = 0;
};

// A vertex after the pure stage.
struct Prepared {
  Bytes raw;
  std::optional<Vertex> vertex;  // set when it decoded and its signature verified
  std::string error;             // why not, when vertex is unset
};

// Decodes and verifies one signed encoding. Pure; safe on any thread.
Prepared Prepare(Bytes raw);
// Prepares every item, spreading the work over `threads` threads (0 = hardware threads).
std::vector<Prepared> PrepareAll(std::vector<Bytes> raws, unsigned threads = 0);

enum class Outcome {
  kApplied,    // applied now (possibly with a cascade of formerly blocked descendants)
  kDuplicate,  // already applied, already blocked, or already rejected here
  kBlocked,    // waits for missing parents or refs
  kRejected,   // breaks a rule; recorded durably with its reason
  kInvalid,    // does not decode or its signature fails; refused, not recorded
};
const char* OutcomeName(Outcome o);

struct ItemResult {
  Outcome outcome = Outcome::kInvalid;
  VertexId id;         // zero when it did not decode
  std::string reason;  // for kRejected, kInvalid and kDuplicate of a rejected vertex
};

struct IngestStats {
  uint64_t applied = 0;   // includes cascaded
  uint64_t cascaded = 0;  // applied when a dependency arrived
  uint64_t duplicate = 0;
  uint64_t blocked = 0;
  uint64_t rejected = 0;  // includes descendants of rejected vertices
  uint64_t invalid = 0;
  IngestStats& operator+=(const IngestStats& o);
};

struct IngestorOptions {
  // Memory for blocked vertices kept by the Ingestor rather than the store (an estimate of
  // what the buffer holds: encodings, decoded vertices, indexes). 0 writes every blocked
  // vertex to the store at once; so does a vertex that alone would not fit.
  size_t blocked_memory_bytes = size_t{8} << 20;
};

class Ingestor {
 public:
  Ingestor(GraphStore& store, Applier& applier, IngestorOptions options = {})
      : store_(store), applier_(applier), options_(options) {}

  // Sequential stage for one prepared vertex. REQUIRES: the caller holds a transaction.
  // A non-ok Result means storage failed: the caller must roll the transaction back (and
  // call DiscardBuffer()).
  Result<ItemResult> Ingest(Prepared p);

  // Writes every buffered blocked vertex to the store (GraphStore::PutBlocked), oldest
  // first, and empties the buffer. REQUIRES: the caller holds a transaction; the vertices
  // are durable once it commits. On error the vertices not yet written stay buffered and the
  // caller must roll back (and call DiscardBuffer()).
  Status Flush();
  // Forgets every buffered vertex, without touching the store. Call it when a transaction in
  // which Ingest() or Flush() ran rolls back; the forgotten vertices are absent, as if never
  // received.
  void DiscardBuffer();
  size_t buffered_count() const { return buffer_.size(); }
  // The estimate held against IngestorOptions::blocked_memory_bytes.
  size_t buffered_bytes() const { return buffered_bytes_; }
  // Blocked vertices, in the store and in the buffer.
  Result<uint64_t> BlockedCount();

  // The structural rules every replica checks against the parents: same object, depth is
  // 1 + max parent depth, created_at later than every parent's. Exposed for tests.
  static Status CheckAgainstParents(const Vertex& v, std::span<const VertexMeta> parents);

  const IngestStats& stats() const { return stats_; }
  void ResetStats() { stats_ = {}; }

 private:
  enum class Step { kApplied, kBlocked, kRejected };
  // A blocked vertex in the buffer.
  struct Waiting {
    Vertex vertex;
    Bytes raw;
    std::vector<VertexId> missing;      // what it still waits for: non-empty, no duplicates
    std::list<VertexId>::iterator age;  // its place in age_
    size_t bytes = 0;                   // its share of buffered_bytes_
  };
  using Buffer = std::unordered_map<VertexId, Waiting, FixedBytesHash>;
  // A formerly blocked vertex, taken from the buffer or the store, to process again.
  struct Ready {
    Vertex vertex;
    Bytes raw;
  };
  // A blocked vertex, taken from the buffer or the store, whose dependency was rejected.
  struct Dropped {
    VertexId id;
    ObjectId object;
    Bytes raw;
  };

  // Runs dependency check, validation and apply for a verified, new vertex. Takes v and raw
  // to keep them when the vertex blocks.
  Result<Step> Process(Vertex v, Bytes raw, std::string* reason);
  Status Reject(const VertexId& id, const ObjectId& object, const std::string& reason,
                ByteView raw);
  Status Cascade(const VertexId& applied);

  // ---- the buffer of blocked vertices ----
  // Keeps a new blocked vertex (in the buffer, or in the store when it does not fit).
  Status Block(Vertex v, Bytes raw, std::vector<VertexId> missing);
  // Writes the oldest buffered vertex to the store and removes it from the buffer.
  Status SpillOldest();
  // Removes `it` from the buffer, the index and the age list, and returns it.
  Waiting Take(Buffer::iterator it);
  // Buffered vertices waiting on `arrived`, which applied: it is crossed off their missing
  // lists, and those left waiting on nothing move to `out`.
  void TakeReady(const VertexId& arrived, std::vector<Ready>& out);
  // Buffered vertices waiting on `gone`, which was rejected, move to `out`.
  void TakeDependents(const VertexId& gone, std::vector<Dropped>& out);

  GraphStore& store_;
  Applier& applier_;
  IngestorOptions options_;
  IngestStats stats_;

  Buffer buffer_;
  // dependency -> buffered vertices whose missing list names it (each once).
  std::unordered_map<VertexId, std::vector<VertexId>, FixedBytesHash> buffer_waiters_;
  std::list<VertexId> age_;  // buffered ids, oldest first: the order of spills and Flush()
  size_t buffered_bytes_ = 0;
};

}  // namespace topo::graph
