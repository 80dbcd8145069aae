#include "graph/ingest.h"

#include <algorithm>
#include <deque>
#include <thread>

#include "util/encoding.h"

namespace topo::graph {

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
  std::deque<VertexId> gone{id};
  while (!gone.empty()) {
    VertexId g = gone.front();
    gone.pop_front();
    TOPO_ASSIGN_OR_RETURN(auto dependents, store_.DropDependents(g));
    for (auto& [dep_id, dep_raw] : dependents) {
      auto dv = codec::DecodeVertex(dep_raw);
      ObjectId dep_object = dv.ok() ? dv->object() : ObjectId{};
      TOPO_RETURN_IF_ERROR(store_.PutRejected(
          dep_id, dep_object, "depends on rejected vertex " + HexEncodeShort(g), dep_raw));
      ++stats_.rejected;
      gone.push_back(dep_id);
    }
  }
  return Status::Ok();
}

Result<Ingestor::Step> Ingestor::Process(const Vertex& v, ByteView raw, std::string* reason) {
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
    TOPO_RETURN_IF_ERROR(store_.PutBlocked(v.id, raw, missing));
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
  while (!arrived.empty()) {
    VertexId a = arrived.front();
    arrived.pop_front();
    TOPO_ASSIGN_OR_RETURN(auto ready, store_.ResolveDependency(a));
    for (Bytes& raw : ready) {
      // Verified when it first arrived; our own store is trusted not to change it.
      auto v = codec::DecodeVertex(raw);
      if (!v.ok()) return Status::Corruption("stored blocked vertex: " + v.status().message());
      std::string reason;
      TOPO_ASSIGN_OR_RETURN(Step step, Process(*v, raw, &reason));
      if (step == Step::kApplied) {
        ++stats_.cascaded;
        arrived.push_back(v->id);
      }
      // kBlocked cannot happen (nothing is missing any more) unless a ref is missing: it
      // was stored again, waiting on that. kRejected was recorded.
    }
  }
  return Status::Ok();
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
  TOPO_ASSIGN_OR_RETURN(bool blocked, store_.IsBlocked(v.id));
  if (blocked) {
    ++stats_.duplicate;
    r.outcome = Outcome::kDuplicate;
    return r;
  }
  TOPO_ASSIGN_OR_RETURN(Step step, Process(v, p.raw, &r.reason));
  switch (step) {
    case Step::kApplied:
      r.outcome = Outcome::kApplied;
      TOPO_RETURN_IF_ERROR(Cascade(v.id));
      break;
    case Step::kBlocked: r.outcome = Outcome::kBlocked; break;
    case Step::kRejected: r.outcome = Outcome::kRejected; break;
  }
  return r;
}

}  // namespace topo::graph
