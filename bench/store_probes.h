// Timing probes for the ingest pipeline: decorators over graph::GraphStore,
// store::StateStore, store::ProjectionSink and graph::Applier that forward every call and
// add its wall time to a Profile. Used by ProfiledPipeline (profiled_pipeline.h).
//
// Each probe adds two steady_clock reads to the call it wraps: tens of nanoseconds against
// SQLite calls of microseconds.
#pragma once

#include <chrono>
#include <cstdint>

#include "graph/graph_store.h"
#include "graph/ingest.h"
#include "store/projection.h"
#include "store/state_store.h"

namespace topo::bench {

using codec::Vertex;
using codec::VertexId;
using graph::VertexMeta;

// What a probe timed. The kResolve* entries are the statements of ResolveDependency, timed
// by the SplitResolve experiment (experiments.h).
enum Call {
  kGetMeta,
  kPutApplied,
  kGetRaw,
  kGetParents,
  kHeads,
  kAddHead,
  kRemoveHead,
  kRejectedReason,
  kPutRejected,
  kIsBlocked,
  kPutBlocked,
  kResolveDependency,
  kDropDependents,
  kBlockedCount,
  kStateGet,
  kStatePut,
  kStateDelete,
  kStateScan,
  kProject,
  kValidate,
  kApply,
  kIngest,
  kFlush,
  kCommit,
  kVerify,
  kResolveSelect,
  kResolveDeleteDeps,
  kResolveStillWaits,
  kResolveTake,
  kCallCount
};
inline constexpr const char* kCallNames[kCallCount] = {"graph.GetMeta",
                                                       "graph.PutApplied",
                                                       "graph.GetRaw",
                                                       "graph.GetParents",
                                                       "graph.Heads",
                                                       "graph.AddHead",
                                                       "graph.RemoveHead",
                                                       "graph.RejectedReason",
                                                       "graph.PutRejected",
                                                       "graph.IsBlocked",
                                                       "graph.PutBlocked",
                                                       "graph.ResolveDependency",
                                                       "graph.DropDependents",
                                                       "graph.BlockedCount",
                                                       "state.Get",
                                                       "state.Put",
                                                       "state.Delete",
                                                       "state.Scan",
                                                       "sink.Execute",
                                                       "engine.Validate",
                                                       "engine.Apply",
                                                       "Ingestor::Ingest",
                                                       "decorator flush",
                                                       "COMMIT",
                                                       "PrepareAll (verify)",
                                                       "  resolve: SELECT waiting",
                                                       "  resolve: DELETE deps",
                                                       "  resolve: SELECT 1 (still waits?)",
                                                       "  resolve: DELETE..RETURNING raw"};

// Calls and nanoseconds per Call. Not thread-safe: the sequential stage is one thread.
struct Profile {
  uint64_t calls[kCallCount] = {};
  uint64_t ns[kCallCount] = {};
};

// Adds the time from its construction to its destruction to one entry of a Profile.
class Timed {
 public:
  Timed(Profile& p, Call c) : p_(p), c_(c), t0_(std::chrono::steady_clock::now()) {}
  ~Timed() {
    p_.calls[c_]++;
    p_.ns[c_] += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0_)
            .count());
  }

 private:
  Profile& p_;
  Call c_;
  std::chrono::steady_clock::time_point t0_;
};

// Forwards every call to `inner`: the base of the graph-store decorators.
class ForwardingGraphStore : public graph::GraphStore {
 public:
  explicit ForwardingGraphStore(graph::GraphStore& inner) : inner_(inner) {}
  Result<std::optional<VertexMeta>> GetMeta(const VertexId& id) override {
    return inner_.GetMeta(id);
  }
  Status PutApplied(const Vertex& v, ByteView raw) override { return inner_.PutApplied(v, raw); }
  Result<Bytes> GetRaw(const VertexId& id) override { return inner_.GetRaw(id); }
  Result<std::vector<VertexId>> GetParents(const VertexId& id) override {
    return inner_.GetParents(id);
  }
  Result<std::vector<VertexId>> Heads(const codec::ObjectId& o) override { return inner_.Heads(o); }
  Status AddHead(const codec::ObjectId& o, const VertexId& id) override {
    return inner_.AddHead(o, id);
  }
  Status RemoveHead(const codec::ObjectId& o, const VertexId& id) override {
    return inner_.RemoveHead(o, id);
  }
  Result<std::optional<std::string>> RejectedReason(const VertexId& id) override {
    return inner_.RejectedReason(id);
  }
  Status PutRejected(const VertexId& id, const codec::ObjectId& o, std::string_view reason,
                     ByteView raw) override {
    return inner_.PutRejected(id, o, reason, raw);
  }
  Result<bool> IsBlocked(const VertexId& id) override { return inner_.IsBlocked(id); }
  Status PutBlocked(const VertexId& id, ByteView raw,
                    const std::vector<VertexId>& missing) override {
    return inner_.PutBlocked(id, raw, missing);
  }
  Result<std::vector<Bytes>> ResolveDependency(const VertexId& arrived) override {
    return inner_.ResolveDependency(arrived);
  }
  Result<std::vector<std::pair<VertexId, Bytes>>> DropDependents(const VertexId& gone) override {
    return inner_.DropDependents(gone);
  }
  Result<uint64_t> BlockedCount() override { return inner_.BlockedCount(); }

 protected:
  graph::GraphStore& inner_;
};

// The probes: each call forwarded and timed under its Call.
class TimedGraphStore final : public ForwardingGraphStore {
 public:
  TimedGraphStore(graph::GraphStore& inner, Profile& p) : ForwardingGraphStore(inner), p_(p) {}
  Result<std::optional<VertexMeta>> GetMeta(const VertexId& id) override {
    Timed t(p_, kGetMeta);
    return inner_.GetMeta(id);
  }
  Status PutApplied(const Vertex& v, ByteView raw) override {
    Timed t(p_, kPutApplied);
    return inner_.PutApplied(v, raw);
  }
  Result<Bytes> GetRaw(const VertexId& id) override {
    Timed t(p_, kGetRaw);
    return inner_.GetRaw(id);
  }
  Result<std::vector<VertexId>> GetParents(const VertexId& id) override {
    Timed t(p_, kGetParents);
    return inner_.GetParents(id);
  }
  Result<std::vector<VertexId>> Heads(const codec::ObjectId& o) override {
    Timed t(p_, kHeads);
    return inner_.Heads(o);
  }
  Status AddHead(const codec::ObjectId& o, const VertexId& id) override {
    Timed t(p_, kAddHead);
    return inner_.AddHead(o, id);
  }
  Status RemoveHead(const codec::ObjectId& o, const VertexId& id) override {
    Timed t(p_, kRemoveHead);
    return inner_.RemoveHead(o, id);
  }
  Result<std::optional<std::string>> RejectedReason(const VertexId& id) override {
    Timed t(p_, kRejectedReason);
    return inner_.RejectedReason(id);
  }
  Status PutRejected(const VertexId& id, const codec::ObjectId& o, std::string_view reason,
                     ByteView raw) override {
    Timed t(p_, kPutRejected);
    return inner_.PutRejected(id, o, reason, raw);
  }
  Result<bool> IsBlocked(const VertexId& id) override {
    Timed t(p_, kIsBlocked);
    return inner_.IsBlocked(id);
  }
  Status PutBlocked(const VertexId& id, ByteView raw,
                    const std::vector<VertexId>& missing) override {
    Timed t(p_, kPutBlocked);
    return inner_.PutBlocked(id, raw, missing);
  }
  Result<std::vector<Bytes>> ResolveDependency(const VertexId& arrived) override {
    Timed t(p_, kResolveDependency);
    return inner_.ResolveDependency(arrived);
  }
  Result<std::vector<std::pair<VertexId, Bytes>>> DropDependents(const VertexId& gone) override {
    Timed t(p_, kDropDependents);
    return inner_.DropDependents(gone);
  }
  Result<uint64_t> BlockedCount() override {
    Timed t(p_, kBlockedCount);
    return inner_.BlockedCount();
  }

 private:
  Profile& p_;
};

class TimedStateStore final : public store::StateStore {
 public:
  TimedStateStore(store::StateStore& inner, Profile& p) : inner_(inner), p_(p) {}
  Result<std::optional<Bytes>> Get(const codec::ObjectId& o, ByteView key) override {
    Timed t(p_, kStateGet);
    return inner_.Get(o, key);
  }
  Status Put(const codec::ObjectId& o, ByteView key, ByteView value) override {
    Timed t(p_, kStatePut);
    return inner_.Put(o, key, value);
  }
  Status PutNew(const codec::ObjectId& o, ByteView key, ByteView value) override {
    Timed t(p_, kStatePut);
    return inner_.PutNew(o, key, value);
  }
  Status Delete(const codec::ObjectId& o, ByteView key) override {
    Timed t(p_, kStateDelete);
    return inner_.Delete(o, key);
  }
  Status Scan(const codec::ObjectId& o, ByteView prefix,
              const std::function<bool(ByteView, ByteView)>& fn) override {
    Timed t(p_, kStateScan);
    return inner_.Scan(o, prefix, fn);
  }
  Status ScanFrom(const codec::ObjectId& o, ByteView prefix, ByteView from,
                  const std::function<bool(ByteView, ByteView)>& fn) override {
    Timed t(p_, kStateScan);
    return inner_.ScanFrom(o, prefix, from, fn);
  }

 private:
  store::StateStore& inner_;
  Profile& p_;
};

class TimedSink final : public store::ProjectionSink {
 public:
  TimedSink(store::ProjectionSink& inner, Profile& p) : inner_(inner), p_(p) {}
  Status Execute(const store::ProjectionWrite& w) override {
    Timed t(p_, kProject);
    return inner_.Execute(w);
  }

 private:
  store::ProjectionSink& inner_;
  Profile& p_;
};

class TimedApplier final : public graph::Applier {
 public:
  TimedApplier(graph::Applier& inner, Profile& p) : inner_(inner), p_(p) {}
  Status Validate(const Vertex& v, std::span<const VertexMeta> parents) override {
    Timed t(p_, kValidate);
    return inner_.Validate(v, parents);
  }
  Status Apply(const Vertex& v) override {
    Timed t(p_, kApply);
    return inner_.Apply(v);
  }

 private:
  graph::Applier& inner_;
  Profile& p_;
};

}  // namespace topo::bench
