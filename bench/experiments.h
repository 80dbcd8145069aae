// Experiments: decorators that emulate changes proposed for src/ (docs/PERFORMANCE.md), so
// their gain is measured in the same pipeline rather than guessed. Each keeps the results
// of the pipeline the same (every vertex applied, the same graph and state tables); only
// IncrementalEngine writes other projection rows. Selected by Experiments
// (profiled_pipeline.h); none is meant for production use as written.
#pragma once

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "bench/harness.h"
#include "bench/store_probes.h"
#include "codec/object_payload.h"
#include "object/crdt_state.h"
#include "object/engine.h"
#include "store/database.h"

namespace topo::bench {

// Experiment: GetMeta answered from memory for every vertex applied in this run (unbounded
// here; a real cache would be an LRU of recent vertices, which are the parents that arrive).
class MetaCache final : public ForwardingGraphStore {
 public:
  using ForwardingGraphStore::ForwardingGraphStore;
  Result<std::optional<VertexMeta>> GetMeta(const VertexId& id) override {
    if (auto it = metas_.find(id); it != metas_.end()) return std::optional<VertexMeta>(it->second);
    return inner_.GetMeta(id);
  }
  Status PutApplied(const Vertex& v, ByteView raw) override {
    TOPO_RETURN_IF_ERROR(inner_.PutApplied(v, raw));
    metas_[v.id] = VertexMeta{v.id, v.object(), v.type, v.depth, v.created_at, v.author};
    return Status::Ok();
  }

 private:
  std::unordered_map<VertexId, VertexMeta, FixedBytesHash> metas_;
};

// Experiment: an in-memory filter of every id the store holds (applied, blocked or
// rejected), so the lookups of ids that are not there never reach SQLite. Exact here (an
// unordered_set, loaded from the tables at construction); a real one would be a Bloom filter
// (about 1.2 MB per million ids at 1% false positives) that answers "maybe" for the rest.
// Ids are never removed: a blocked vertex that was applied stays a "maybe", as in a Bloom
// filter.
class IdFilter final : public ForwardingGraphStore {
 public:
  IdFilter(graph::GraphStore& inner, store::Database& db) : ForwardingGraphStore(inner) {
    for (std::string_view sql :
         {"SELECT id FROM vertices", "SELECT id FROM blocked", "SELECT id FROM rejected"}) {
      auto st = Check(db.PrepareUncached(sql), "loading ids");
      for (;;) {
        if (!Check(st.Step(), "loading ids")) break;
        known_.insert(Check(st.Fixed<32>(0), "loading ids"));
      }
    }
  }
  Result<std::optional<VertexMeta>> GetMeta(const VertexId& id) override {
    if (!known_.count(id)) return std::optional<VertexMeta>();
    return inner_.GetMeta(id);
  }
  Result<std::optional<std::string>> RejectedReason(const VertexId& id) override {
    if (!known_.count(id)) return std::optional<std::string>();
    return inner_.RejectedReason(id);
  }
  Result<bool> IsBlocked(const VertexId& id) override {
    if (!known_.count(id)) return false;
    return inner_.IsBlocked(id);
  }
  Status PutApplied(const Vertex& v, ByteView raw) override {
    known_.insert(v.id);
    return inner_.PutApplied(v, raw);
  }
  Status PutRejected(const VertexId& id, const codec::ObjectId& o, std::string_view reason,
                     ByteView raw) override {
    known_.insert(id);
    return inner_.PutRejected(id, o, reason, raw);
  }
  Status PutBlocked(const VertexId& id, ByteView raw,
                    const std::vector<VertexId>& missing) override {
    known_.insert(id);
    return inner_.PutBlocked(id, raw, missing);
  }

 private:
  std::unordered_set<VertexId, FixedBytesHash> known_;
};

// Experiment: blocked vertices of the current batch kept in memory; Flush() (before COMMIT)
// writes those still blocked to the inner store.
class BatchBlocked final : public ForwardingGraphStore {
 public:
  using ForwardingGraphStore::ForwardingGraphStore;
  Result<bool> IsBlocked(const VertexId& id) override {
    if (pending_.count(id)) return true;
    return inner_.IsBlocked(id);
  }
  Status PutBlocked(const VertexId& id, ByteView raw,
                    const std::vector<VertexId>& missing) override {
    Pending& p = pending_[id];
    p.raw.assign(raw.begin(), raw.end());
    p.missing.insert(missing.begin(), missing.end());
    for (const VertexId& dep : missing) waiting_[dep].push_back(id);
    return Status::Ok();
  }
  Result<std::vector<Bytes>> ResolveDependency(const VertexId& arrived) override {
    TOPO_ASSIGN_OR_RETURN(std::vector<Bytes> ready, inner_.ResolveDependency(arrived));
    auto w = waiting_.find(arrived);
    if (w == waiting_.end()) return ready;
    std::vector<VertexId> ids = std::move(w->second);
    waiting_.erase(w);
    std::sort(ids.begin(), ids.end());
    for (const VertexId& id : ids) {
      auto p = pending_.find(id);
      if (p == pending_.end()) continue;
      p->second.missing.erase(arrived);
      if (!p->second.missing.empty()) continue;
      ready.push_back(std::move(p->second.raw));
      pending_.erase(p);
    }
    return ready;
  }
  Result<uint64_t> BlockedCount() override {
    TOPO_ASSIGN_OR_RETURN(uint64_t n, inner_.BlockedCount());
    return n + pending_.size();
  }
  Status Flush() {
    for (auto& [id, p] : pending_)
      TOPO_RETURN_IF_ERROR(
          inner_.PutBlocked(id, p.raw, std::vector<VertexId>(p.missing.begin(), p.missing.end())));
    pending_.clear();
    waiting_.clear();
    return Status::Ok();
  }

 private:
  struct Pending {
    Bytes raw;
    std::set<VertexId> missing;
  };
  std::unordered_map<VertexId, Pending, FixedBytesHash> pending_;
  std::unordered_map<VertexId, std::vector<VertexId>, FixedBytesHash> waiting_;
};

// Profiling aid (not an experiment): SqliteGraphStore::ResolveDependency re-run with the
// very same statements (copied from store/sqlite_graph_store.cc, schema version 3), each
// one timed.
class SplitResolve final : public ForwardingGraphStore {
 public:
  SplitResolve(graph::GraphStore& inner, store::Database& db, Profile& p)
      : ForwardingGraphStore(inner), db_(db), p_(p) {}
  Result<std::vector<Bytes>> ResolveDependency(const VertexId& arrived) override {
    std::vector<VertexId> waiting;
    {
      Timed t(p_, kResolveSelect);
      store::Statement& st = db_.Prepare("SELECT id FROM blocked_deps WHERE dep = ?1 ORDER BY id");
      st.Bind(1, arrived);
      for (;;) {
        TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        TOPO_ASSIGN_OR_RETURN(waiting.emplace_back(), st.Fixed<32>(0));
      }
      st.Reset();
    }
    std::vector<Bytes> ready;
    if (waiting.empty()) return ready;
    {
      Timed t(p_, kResolveDeleteDeps);
      TOPO_RETURN_IF_ERROR(
          db_.Prepare("DELETE FROM blocked_deps WHERE dep = ?1").Bind(1, arrived).Run());
    }
    for (const VertexId& id : waiting) {
      {
        Timed t(p_, kResolveStillWaits);
        store::Statement& still = db_.Prepare("SELECT 1 FROM blocked_deps WHERE id = ?1 LIMIT 1");
        TOPO_ASSIGN_OR_RETURN(bool waits, still.Bind(1, id).Step());
        still.Reset();
        if (waits) continue;
      }
      Timed t(p_, kResolveTake);
      store::Statement& take = db_.Prepare("DELETE FROM blocked WHERE id = ?1 RETURNING raw");
      TOPO_ASSIGN_OR_RETURN(bool row, take.Bind(1, id).Step());
      if (row) ready.push_back(take.BlobBytes(0));
      take.Reset();
    }
    return ready;
  }

 private:
  store::Database& db_;
  Profile& p_;
};

// Experiment (landed in schema version 3, where the store does this itself; kept so that old
// figures can be re-run): whether a waiter still waits is asked of blocked_deps_by_id instead
// of decrementing a counter in the blocked row.
class ResolveByIndex final : public ForwardingGraphStore {
 public:
  ResolveByIndex(graph::GraphStore& inner, store::Database& db)
      : ForwardingGraphStore(inner), db_(db) {}
  Result<std::vector<Bytes>> ResolveDependency(const VertexId& arrived) override {
    std::vector<VertexId> waiting;
    store::Statement& st = db_.Prepare("SELECT id FROM blocked_deps WHERE dep = ?1 ORDER BY id");
    st.Bind(1, arrived);
    for (;;) {
      TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      TOPO_ASSIGN_OR_RETURN(waiting.emplace_back(), st.Fixed<32>(0));
    }
    st.Reset();
    std::vector<Bytes> ready;
    if (waiting.empty()) return ready;
    TOPO_RETURN_IF_ERROR(
        db_.Prepare("DELETE FROM blocked_deps WHERE dep = ?1").Bind(1, arrived).Run());
    for (const VertexId& id : waiting) {
      store::Statement& still = db_.Prepare("SELECT 1 FROM blocked_deps WHERE id = ?1 LIMIT 1");
      TOPO_ASSIGN_OR_RETURN(bool waits, still.Bind(1, id).Step());
      still.Reset();
      if (waits) continue;
      store::Statement& take = db_.Prepare("DELETE FROM blocked WHERE id = ?1 RETURNING raw");
      TOPO_ASSIGN_OR_RETURN(bool row, take.Bind(1, id).Step());
      if (row) ready.push_back(take.BlobBytes(0));
      take.Reset();
    }
    return ready;
  }

 private:
  store::Database& db_;
};

// Experiment: the last write per (statement, object, path) kept until Flush().
class CoalescingSink final : public store::ProjectionSink {
 public:
  explicit CoalescingSink(store::ProjectionSink& inner) : inner_(inner) {}
  Status Execute(const store::ProjectionWrite& w) override {
    std::string key = w.sql;
    for (size_t i = 0; i + 1 < w.args.size() && i < 2; ++i) {
      key.push_back('\0');
      if (const auto* b = std::get_if<Bytes>(&w.args[i])) key.append(AsChars(*b));
      if (const auto* s = std::get_if<std::string>(&w.args[i])) key.append(*s);
    }
    pending_[key] = w;
    return Status::Ok();
  }
  Status Flush() {
    for (auto& [key, w] : pending_) TOPO_RETURN_IF_ERROR(inner_.Execute(w));
    pending_.clear();
    return Status::Ok();
  }

 private:
  store::ProjectionSink& inner_;
  std::map<std::string, store::ProjectionWrite> pending_;
};

// Experiment: ObjectEngine::Apply projecting only what an op changed. The engine today
// re-renders the whole top-level field after every op and drops the Effects that ApplyOp
// returns; this Applier applies the op the same way (object::ApplyOp) and then writes one
// object_values row per changed path: RenderPath for a map key, and for an OR-set, the
// element the op named (present or not). The rows differ from the engine's (per key instead
// of per field), so fingerprints are not comparable; the cost is what is measured.
class IncrementalEngine final : public graph::Applier {
 public:
  IncrementalEngine(object::ObjectEngine& engine, store::StateStore& state,
                    store::ProjectionSink& sink)
      : engine_(engine), state_(state), sink_(sink) {}
  Status Validate(const Vertex& v, std::span<const VertexMeta> parents) override {
    return engine_.Validate(v, parents);
  }
  Status Apply(const Vertex& v) override {
    if (v.is_genesis()) return engine_.Apply(v);
    TOPO_ASSIGN_OR_RETURN(const object::Blueprint* bp, engine_.BlueprintOf(v.object_id));
    TOPO_ASSIGN_OR_RETURN(auto payload, codec::DecodeOpPayload(v.payload));
    const object::FieldDecl& field = bp->fields[payload.field];
    const Bytes prefix = object::FieldPrefix(payload.field);
    object::OpContext ctx{v.id, v.created_at, v.author, v.depth};
    TOPO_ASSIGN_OR_RETURN(
        auto effects, object::ApplyOp(state_, v.object_id, prefix, field.type, payload.op, ctx));
    for (const object::Effect& e : effects) {
      std::string path = field.name + e.path;
      if (field.type.kind == codec::CrdtKind::kOrSet) {
        // One row per element: whether the op's element is still in the set.
        ByteView element;
        if (const auto* add = std::get_if<codec::SetAdd>(&payload.op.op)) element = add->element;
        if (const auto* rm = std::get_if<codec::SetRemove>(&payload.op.op)) element = rm->element;
        object::internal::TagSet tags(state_, v.object_id, prefix);
        TOPO_ASSIGN_OR_RETURN(bool live, tags.IsLive(element));
        path += "/" + std::string(AsChars(element));
        TOPO_RETURN_IF_ERROR(live ? Write(v.object_id, path, nlohmann::json(true))
                                  : Remove(v.object_id, path));
        continue;
      }
      if (e.removed) {
        TOPO_RETURN_IF_ERROR(Remove(v.object_id, path));
        continue;
      }
      auto value = object::RenderPath(state_, v.object_id, prefix, field.type, e.path);
      if (!value.ok() && value.status().code() == Code::kNotFound) {
        TOPO_RETURN_IF_ERROR(Remove(v.object_id, path));
        continue;
      }
      if (!value.ok()) return value.status();
      TOPO_RETURN_IF_ERROR(Write(v.object_id, path, *value));
    }
    return Status::Ok();
  }

 private:
  Status Write(const codec::ObjectId& object, const std::string& path, const nlohmann::json& v) {
    for (const auto& w : object::ProjectField(object, path, v))
      TOPO_RETURN_IF_ERROR(sink_.Execute(w));
    return Status::Ok();
  }
  Status Remove(const codec::ObjectId& object, const std::string& path) {
    return sink_.Execute({"DELETE FROM object_values WHERE object = ?1 AND path = ?2",
                          {Bytes(object.view().begin(), object.view().end()), path}});
  }

  object::ObjectEngine& engine_;
  store::StateStore& state_;
  store::ProjectionSink& sink_;
};

}  // namespace topo::bench
