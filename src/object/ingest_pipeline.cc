#include "object/ingest_pipeline.h"

#include <algorithm>

namespace topo::object {
namespace {

graph::PrepareQueueOptions QueueOptions(const ReplicaOptions& replica,
                                        const IngestPipelineOptions& options) {
  graph::PrepareQueueOptions q;
  q.threads = options.verify_threads ? options.verify_threads : replica.verify_threads;
  q.on_ready = options.on_ready;
  return q;
}

}  // namespace

IngestPipeline::IngestPipeline(Replica& replica, IngestPipelineOptions options)
    : replica_(replica),
      batch_size_(std::max<size_t>(
          1, options.batch_size ? options.batch_size : replica.options_.batch_size)),
      max_pending_(
          std::max(batch_size_, options.max_pending ? options.max_pending : 4 * batch_size_)),
      queue_(QueueOptions(replica.options_, options)) {}

Status IngestPipeline::Apply(std::vector<graph::Prepared> batch, bool last) {
  processed_ += batch.size();
  // The replica's ingestor counts for whoever calls it; this batch's counts are what it
  // counted from here to the commit.
  replica_.ingestor_.ResetStats();
  Status s = replica_.ApplyBatch(batch, report_, last);
  if (s.ok()) report_.stats += replica_.ingestor_.stats();
  return s;
}

Status IngestPipeline::Add(std::vector<Bytes> raws) {
  const size_t total = raws.size();
  size_t next = 0;
  while (next < total) {
    if (!has_room()) {
      TOPO_RETURN_IF_ERROR(Apply(queue_.Take(batch_size_), false));
      continue;
    }
    const size_t n = std::min<size_t>(total - next, max_pending_ - pending());
    std::vector<Bytes> part;
    if (n == total) {
      part = std::move(raws);  // all of it fits: no copy of the vector
    } else {
      part.reserve(n);
      for (size_t i = next; i < next + n; ++i) part.push_back(std::move(raws[i]));
    }
    next += n;
    added_ += n;
    queue_.Push(std::move(part));
  }
  return Status::Ok();
}

Status IngestPipeline::ApplyReady() {
  for (;;) {
    const size_t ready = queue_.ready();
    if (ready == 0) return Status::Ok();
    if (ready < batch_size_ && ready < pending()) return Status::Ok();
    TOPO_RETURN_IF_ERROR(Apply(queue_.TakeReady(batch_size_), false));
  }
}

Status IngestPipeline::Finish() {
  if (pending() == 0) {
    if (replica_.ingestor_.buffered_count() == 0) return Status::Ok();
    return Apply({}, true);
  }
  while (pending() > 0) {
    auto batch = queue_.Take(batch_size_);
    const bool last = batch.size() == pending();
    TOPO_RETURN_IF_ERROR(Apply(std::move(batch), last));
  }
  return Status::Ok();
}

}  // namespace topo::object
