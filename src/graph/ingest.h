// The ingest pipeline: decode -> id and signature check -> duplicate -> wait for missing
// dependencies -> validate against the causal past -> apply -> (project, in the Applier).
//
// Two stages. Prepare() is pure (decode, hash, verify) and runs on every core at once.
// Ingestor::Ingest() is the sequential stage; it runs inside the caller's transaction, so a
// batch applies whole or not at all. A vertex whose parents or refs are missing is stored
// once as blocked; when its last dependency applies it is applied in the same cascade,
// iteratively (a worklist, never recursion), however long the chain.
//
// What is stored as rejected: only vertices with a valid signature that break a rule that
// depends on the vertex and its causal past alone (so every honest replica agrees, and a
// rejected vertex is never validated again). A vertex with a bad signature is refused but
// NOT recorded: its id does not authenticate its content, and recording it would let a forger
// poison the id of a genuine vertex.
#pragma once

#include <span>
#include <string>
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

class Ingestor {
 public:
  Ingestor(GraphStore& store, Applier& applier) : store_(store), applier_(applier) {}

  // Sequential stage for one prepared vertex. REQUIRES: the caller holds a transaction.
  // A non-ok Result means storage failed: the caller must roll the transaction back.
  Result<ItemResult> Ingest(Prepared p);

  // The structural rules every replica checks against the parents: same object, depth is
  // 1 + max parent depth, created_at later than every parent's. Exposed for tests.
  static Status CheckAgainstParents(const Vertex& v, std::span<const VertexMeta> parents);

  const IngestStats& stats() const { return stats_; }
  void ResetStats() { stats_ = {}; }

 private:
  enum class Step { kApplied, kBlocked, kRejected };
  // Runs dependency check, validation and apply for a verified, new vertex.
  Result<Step> Process(const Vertex& v, ByteView raw, std::string* reason);
  Status Reject(const VertexId& id, const ObjectId& object, const std::string& reason,
                ByteView raw);
  Status Cascade(const VertexId& applied);

  GraphStore& store_;
  Applier& applier_;
  IngestStats stats_;
};

}  // namespace topo::graph
