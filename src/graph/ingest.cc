#include "graph/ingest.h"

#include <algorithm>
#include <deque>
#include <thread>

#include "util/encoding.h"

namespace topo::graph {
namespace {

// What one buffered vertex costs, roughly: its encoding and decoded copy, its missing list
// and index entries, and the hash-table and list nodes around them. An estimate (allocator
// overhead varies), but it grows with what is held, which is what the budget must bound.
size_t Footprint(const Vertex& v, const Bytes& raw, size_t missing) {
  constexpr size_t kNodes = 96;  // buffer and age-list nodes, buckets
  // One id in the missing list, one in the index, and a share of the index's node.
  constexpr size_t kPerMissing = 2 * sizeof(VertexId) + 64;
  return sizeof(Vertex) + sizeof(Bytes) + kNodes + raw.capacity() + v.payload.capacity() +
         (v.parents.capacity() + v.refs.capacity()) * sizeof(VertexId) + missing * kPerMissing;
}

// Removes one occurrence of `x` from `v`, order not kept.
void EraseUnordered(std::vector<VertexId>& v, const VertexId& x) {
  auto it = std::find(v.begin(), v.end(), x);
  if (it == v.end()) return;
  *it = v.back();
  v.pop_back();
}

}  // namespace

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kApplied: return "applied";
    case Outcome::kDuplicate: return "duplicate";
    case Outcome::kBlocked: return "blocked";
    case Outcome::kRejected: return "rejected";
    case Outcome::kInvalid: return "invalid";
  }
  return "?";
}

IngestStats& IngestStats::operator+=(const IngestStats& o) {
  applied += o.applied;
  cascaded += o.cascaded;
  duplicate += o.duplicate;
  blocked += o.blocked;
  rejected += o.rejected;
  invalid += o.invalid;
  return *this;
}

Prepared Prepare(Bytes raw) {
  Prepared p;
  auto v = codec::DecodeVertex(raw);
  if (!v.ok()) {
    p.error = v.status().message();
  } else if (!codec::VerifyVertexSignature(*v)) {
    p.error = "vertex.signature: does not verify against the author key";
  } else {
    p.vertex = std::move(v).value();
  }
  p.raw = std::move(raw);
  return p;
}

std::vector<Prepared> PrepareAll(std::vector<Bytes> raws, unsigned threads) {
  std::vector<Prepared> out(raws.size());
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, (raws.size() + 63) / 64));
  auto work = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) out[i] = Prepare(std::move(raws[i]));
  };
  if (threads <= 1) {
    work(0, raws.size());
    return out;
  }
  std::vector<std::thread> pool;
  size_t chunk = (raws.size() + threads - 1) / threads;
  for (unsigned t = 0; t < threads; ++t) {
    size_t b = t * chunk, e = std::min(raws.size(), b + chunk);
    if (b < e) pool.emplace_back(work, b, e);
  }
  for (auto& th : pool) th.join();
  return out;
}

Status Ingestor::CheckAgainstParents(const Vertex& v, std::span<const VertexMeta> parents) {
  uint64_t max_depth = 0, max_created = 0;
  for (const auto& p : parents) {
    if (p.object != v.object_id)
      return Status::Rejected("parent belongs to another object");
    max_depth = std::max(max_depth, p.depth);
    max_created = std::max(max_created, p.created_at);
  }
  if (v.depth != max_depth + 1)
    return Status::Rejected("depth is " + std::to_string(v.depth) + ", parents say " +
                            std::to_string(max_depth + 1));
  if (v.created_at <= max_created)
    return Status::Rejected("created_at is not later than a parent's");
  return Status::Ok();
}

Status Ingestor::Reject(const VertexId& id, const ObjectId& object, const std::string& reason,
                        ByteView raw) {
  TOPO_RETURN_IF_ERROR(store_.PutRejected(id, object, reason, raw));
  ++stats_.rejected;
  // Everything waiting on a rejected vertex can never apply: reject it too, iteratively.
  // Dependents are taken from the buffer and the store alike and rejected in ascending id
  // order, so which rejected ancestor a reason names does not depend on where each waited.
  std::deque<VertexId> gone{id};
  std::vector<Dropped> dropped;
  while (!gone.empty()) {
    VertexId g = gone.front();
    gone.pop_front();
    dropped.clear();
    TakeDependents(g, dropped);
    TOPO_ASSIGN_OR_RETURN(auto stored, store_.DropDependents(g));
    for (auto& [dep_id, dep_raw] : stored) {
      auto dv = codec::DecodeVertex(dep_raw);
      ObjectId dep_object = dv.ok() ? dv->object() : ObjectId{};
      dropped.push_back({dep_id, dep_object, std::move(dep_raw)});
    }
    std::sort(dropped.begin(), dropped.end(),
              [](const Dropped& x, const Dropped& y) { return x.id < y.id; });
    for (const Dropped& d : dropped) {
      TOPO_RETURN_IF_ERROR(store_.PutRejected(
          d.id, d.object, "depends on rejected vertex " + HexEncodeShort(g), d.raw));
      ++stats_.rejected;
      gone.push_back(d.id);
    }
  }
  return Status::Ok();
}

Result<Ingestor::Step> Ingestor::Process(Vertex v, Bytes raw, std::string* reason) {
  // Dependencies: parents (same object) and refs (any object) must be applied first.
  std::vector<VertexMeta> parent_metas;
  parent_metas.reserve(v.parents.size());
  std::vector<VertexId> missing;
  auto check_dep = [&](const VertexId& dep, bool is_parent) -> Status {
    TOPO_ASSIGN_OR_RETURN(auto meta, store_.GetMeta(dep));
    if (meta) {
      if (is_parent) parent_metas.push_back(*meta);
      return Status::Ok();
    }
    TOPO_ASSIGN_OR_RETURN(auto rejected, store_.RejectedReason(dep));
    if (rejected) return Status::Rejected("depends on rejected vertex " + HexEncodeShort(dep));
    missing.push_back(dep);
    return Status::Ok();
  };
  Status dep_status;
  for (const auto& p : v.parents) {
    dep_status = check_dep(p, true);
    if (!dep_status.ok()) break;
  }
  if (dep_status.ok())
    for (const auto& r : v.refs) {
      if (std::binary_search(v.parents.begin(), v.parents.end(), r)) continue;
      dep_status = check_dep(r, false);
      if (!dep_status.ok()) break;
    }
  if (!dep_status.ok()) {
    if (dep_status.code() != Code::kRejected) return dep_status;
    *reason = dep_status.message();
    TOPO_RETURN_IF_ERROR(Reject(v.id, v.object(), *reason, raw));
    return Step::kRejected;
  }
  if (!missing.empty()) {
    TOPO_RETURN_IF_ERROR(Block(std::move(v), std::move(raw), std::move(missing)));
    ++stats_.blocked;
    return Step::kBlocked;
  }

  Status valid = v.is_genesis() ? Status::Ok() : CheckAgainstParents(v, parent_metas);
  if (valid.ok()) valid = applier_.Validate(v, parent_metas);
  if (!valid.ok()) {
    if (valid.code() != Code::kRejected) return valid;
    *reason = valid.message();
    TOPO_RETURN_IF_ERROR(Reject(v.id, v.object(), *reason, raw));
    return Step::kRejected;
  }

  TOPO_RETURN_IF_ERROR(applier_.Apply(v));
  TOPO_RETURN_IF_ERROR(store_.PutApplied(v, raw));
  for (const auto& p : v.parents) TOPO_RETURN_IF_ERROR(store_.RemoveHead(v.object(), p));
  TOPO_RETURN_IF_ERROR(store_.AddHead(v.object(), v.id));
  ++stats_.applied;
  return Step::kApplied;
}

Status Ingestor::Cascade(const VertexId& applied) {
  std::deque<VertexId> arrived{applied};
  std::vector<Ready> ready;
  while (!arrived.empty()) {
    VertexId a = arrived.front();
    arrived.pop_front();
    ready.clear();
    TakeReady(a, ready);
    TOPO_ASSIGN_OR_RETURN(auto stored, store_.ResolveDependency(a));
    for (Bytes& raw : stored) {
      // Verified when it first arrived; our own store is trusted not to change it.
      auto v = codec::DecodeVertex(raw);
      if (!v.ok()) return Status::Corruption("stored blocked vertex: " + v.status().message());
      ready.push_back({std::move(v).value(), std::move(raw)});
    }
    // Ascending id, wherever each waited: the apply order (and so the local arrival order)
    // is the same in every run, whatever the buffer held.
    std::sort(ready.begin(), ready.end(),
              [](const Ready& x, const Ready& y) { return x.vertex.id < y.vertex.id; });
    for (Ready& r : ready) {
      VertexId id = r.vertex.id;
      std::string reason;
      TOPO_ASSIGN_OR_RETURN(Step step, Process(std::move(r.vertex), std::move(r.raw), &reason));
      if (step == Step::kApplied) {
        ++stats_.cascaded;
        arrived.push_back(id);
      }
      // kBlocked cannot happen (nothing is missing any more) unless a ref is missing: it
      // was blocked again, waiting on that. kRejected was recorded.
    }
  }
  return Status::Ok();
}

Status Ingestor::Block(Vertex v, Bytes raw, std::vector<VertexId> missing) {
  const size_t bytes = Footprint(v, raw, missing.size());
  // One that alone would not fit goes straight to the store, leaving the buffer as it is
  // (with a budget of 0, every blocked vertex).
  if (bytes > options_.blocked_memory_bytes) return store_.PutBlocked(v.id, raw, missing);
  const VertexId id = v.id;
  for (const VertexId& dep : missing) buffer_waiters_[dep].push_back(id);
  Waiting w{std::move(v), std::move(raw), std::move(missing), age_.insert(age_.end(), id), bytes};
  buffer_.emplace(id, std::move(w));
  buffered_bytes_ += bytes;
  // The oldest have waited longest and are the likeliest to wait on: they go first.
  while (buffered_bytes_ > options_.blocked_memory_bytes) TOPO_RETURN_IF_ERROR(SpillOldest());
  return Status::Ok();
}

Status Ingestor::SpillOldest() {
  auto it = buffer_.find(age_.front());
  if (it == buffer_.end()) return Status::Internal("blocked buffer: age list out of step");
  // Its current missing list: the dependencies that arrived since it was buffered are
  // already crossed off, exactly as the store would have done.
  TOPO_RETURN_IF_ERROR(store_.PutBlocked(it->first, it->second.raw, it->second.missing));
  Take(it);
  return Status::Ok();
}

Ingestor::Waiting Ingestor::Take(Buffer::iterator it) {
  Waiting w = std::move(it->second);
  for (const VertexId& dep : w.missing) {
    auto list = buffer_waiters_.find(dep);
    if (list == buffer_waiters_.end()) continue;  // the caller is consuming that one
    EraseUnordered(list->second, it->first);
    if (list->second.empty()) buffer_waiters_.erase(list);
  }
  age_.erase(w.age);
  buffered_bytes_ -= w.bytes;
  buffer_.erase(it);
  return w;
}

void Ingestor::TakeReady(const VertexId& arrived, std::vector<Ready>& out) {
  auto list = buffer_waiters_.find(arrived);
  if (list == buffer_waiters_.end()) return;
  std::vector<VertexId> ids = std::move(list->second);
  buffer_waiters_.erase(list);
  for (const VertexId& id : ids) {
    auto it = buffer_.find(id);
    if (it == buffer_.end()) continue;  // cannot happen: leaving the buffer unindexes
    EraseUnordered(it->second.missing, arrived);
    if (!it->second.missing.empty()) continue;
    Waiting w = Take(it);
    out.push_back({std::move(w.vertex), std::move(w.raw)});
  }
}

void Ingestor::TakeDependents(const VertexId& gone, std::vector<Dropped>& out) {
  auto list = buffer_waiters_.find(gone);
  if (list == buffer_waiters_.end()) return;
  std::vector<VertexId> ids = std::move(list->second);
  buffer_waiters_.erase(list);
  for (const VertexId& id : ids) {
    auto it = buffer_.find(id);
    if (it == buffer_.end()) continue;  // cannot happen: leaving the buffer unindexes
    Waiting w = Take(it);
    out.push_back({id, w.vertex.object(), std::move(w.raw)});
  }
}

Status Ingestor::Flush() {
  while (!age_.empty()) TOPO_RETURN_IF_ERROR(SpillOldest());
  return Status::Ok();
}

void Ingestor::DiscardBuffer() {
  buffer_.clear();
  buffer_waiters_.clear();
  age_.clear();
  buffered_bytes_ = 0;
}

Result<uint64_t> Ingestor::BlockedCount() {
  TOPO_ASSIGN_OR_RETURN(uint64_t stored, store_.BlockedCount());
  return stored + buffer_.size();
}

Result<ItemResult> Ingestor::Ingest(Prepared p) {
  ItemResult r;
  if (!p.vertex) {
    ++stats_.invalid;
    r.outcome = Outcome::kInvalid;
    r.reason = std::move(p.error);
    return r;
  }
  const Vertex& v = *p.vertex;
  r.id = v.id;
  TOPO_ASSIGN_OR_RETURN(auto meta, store_.GetMeta(v.id));
  if (meta) {
    ++stats_.duplicate;
    r.outcome = Outcome::kDuplicate;
    return r;
  }
  TOPO_ASSIGN_OR_RETURN(auto rejected, store_.RejectedReason(v.id));
  if (rejected) {
    ++stats_.duplicate;
    r.outcome = Outcome::kDuplicate;
    r.reason = "previously rejected: " + *rejected;
    return r;
  }
  bool blocked = buffer_.count(v.id) > 0;
  if (!blocked) {
    TOPO_ASSIGN_OR_RETURN(blocked, store_.IsBlocked(v.id));
  }
  if (blocked) {
    ++stats_.duplicate;
    r.outcome = Outcome::kDuplicate;
    return r;
  }
  TOPO_ASSIGN_OR_RETURN(Step step, Process(std::move(*p.vertex), std::move(p.raw), &r.reason));
  switch (step) {
    case Step::kApplied:
      r.outcome = Outcome::kApplied;
      TOPO_RETURN_IF_ERROR(Cascade(r.id));
      break;
    case Step::kBlocked: r.outcome = Outcome::kBlocked; break;
    case Step::kRejected: r.outcome = Outcome::kRejected; break;
  }
  return r;
}

}  // namespace topo::graph
