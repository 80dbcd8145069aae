// IngestPipeline: vertices that arrive over time (a sync session's, a bundle's) into a
// Replica, verified on worker threads while earlier ones are applied, in batched
// transactions, holding a bounded number at a time.
//
//   IngestPipeline pipe(replica);
//   pipe.Add(session.TakeArrived());  after each frame; applies batches itself when full
//   pipe.ApplyReady();                when convenient: applies what is verified, never waits
//   pipe.Finish();                    at the end of a delivery: applies everything
//   pipe.report();                    applied, blocked, duplicate, rejected, invalid so far
//
// Two stages, as in Replica::Ingest: Add() hands the vertices to a graph::PrepareQueue
// (decode, id, signature check on every core, in arrival order); the owner's thread takes
// them from its front, batch_size at a time, and applies each batch in one transaction
// (graph::Ingestor, the object engine, projections, commit, then the replica's
// applied-vertex observer). Verification never waits for a batch to be complete or for the
// writer: vertices verify while the owner applies earlier ones or reads the network.
//
// Guarantees:
//  - Order: vertices reach the sequential stage in the order they were added. One that
//    arrives before its parents waits (blocked) and applies when they do, in the same
//    transaction as the last of them. Duplicates, and vertices that do not decode or whose
//    signature fails, are counted in report() and do not hold back the others.
//  - Bound: at most max_pending vertices are held (added and not yet through the sequential
//    stage). Add() applies the oldest batches, waiting for their verification, when that is
//    what staying under the bound takes; a caller that can hold its input back instead (stop
//    reading a stream, so the transport's flow control slows the peer) checks has_room().
//    Blocked vertices are held apart, under graph::IngestorOptions::blocked_memory_bytes.
//  - Atomicity: each batch commits whole or not at all. When applying fails (storage), the
//    batch being applied is absent, as if never received, and so are the vertices of that
//    Add() call not yet taken in; the error is returned, and what was taken in before it is
//    still pending (the caller usually ends the session; sync fetches the absent again).
//  - Durability: a vertex is durable once its batch commits. Blocked vertices may wait in
//    memory across batches (graph/ingest.h) and are written to the store by Finish() at the
//    latest; a crash before that loses them (absent; sync fetches them again).
//  - Destroying the pipeline drops the vertices not yet applied (absent): call Finish() to
//    keep them.
// Thread-safety: used from the thread that uses the replica, like the Replica itself; only
// on_ready runs on another thread. The replica must outlive the pipeline. One pipeline per
// replica is enough: several sessions can feed the same one.
#pragma once

#include <functional>
#include <vector>

#include "graph/prepare_queue.h"
#include "object/replica.h"

namespace topo::object {

struct IngestPipelineOptions {
  unsigned verify_threads = 0;  // 0: the replica's ReplicaOptions::verify_threads
  size_t batch_size = 0;        // vertices per transaction; 0: ReplicaOptions::batch_size
  size_t max_pending = 0;       // vertices held at most; 0: 4 batches. At least one batch.
  // Called on a worker thread when verified vertices may be ready to apply (see
  // graph::PrepareQueueOptions::on_ready): an event loop posts ApplyReady() to itself. It may
  // run until the pipeline's destructor returns, so what it posts must not assume the
  // pipeline is still there.
  std::function<void()> on_ready;
};

class IngestPipeline {
 public:
  explicit IngestPipeline(Replica& replica, IngestPipelineOptions options = {});
  IngestPipeline(const IngestPipeline&) = delete;
  IngestPipeline& operator=(const IngestPipeline&) = delete;

  // Takes arrived vertices (signed encodings, in arrival order) and starts verifying them.
  // Returns at once unless the bound is reached; then applies the oldest batches first (see
  // the bound above). An error is a storage failure while applying.
  Status Add(std::vector<Bytes> raws);
  // Fewer than max_pending vertices are held: Add() of up to max_pending - pending() will
  // not apply anything.
  bool has_room() const { return pending() < max_pending_; }
  // Applies, without waiting for the workers, every full batch that is verified, and the
  // rest too when all that is held is verified (nothing would come sooner by waiting).
  Status ApplyReady();
  // Applies everything held, waiting for its verification, and writes the blocked vertices
  // kept in memory to the store (in the last transaction). The pipeline can take more after.
  Status Finish();

  // Vertices added, and added but not yet through the sequential stage.
  uint64_t added() const { return added_; }
  uint64_t pending() const { return added_ - processed_; }
  size_t max_pending() const { return max_pending_; }
  // Everything applied, blocked, refused so far (applied includes the blocked vertices that
  // a later arrival released), and the first rejection and invalid reasons.
  const IngestReport& report() const { return report_; }

 private:
  // Applies the next `batch` in one transaction. `last` also writes blocked vertices held
  // in memory to the store.
  Status Apply(std::vector<graph::Prepared> batch, bool last);

  Replica& replica_;
  size_t batch_size_;
  size_t max_pending_;
  graph::PrepareQueue queue_;
  uint64_t added_ = 0;
  uint64_t processed_ = 0;
  IngestReport report_;
};

}  // namespace topo::object
