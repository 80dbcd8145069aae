#include "bench/profiled_pipeline.h"

#include <algorithm>
#include <optional>

#include "bench/experiments.h"
#include "bench/store_probes.h"
#include "object/engine.h"
#include "store/sqlite_graph_store.h"
#include "store/sqlite_projection.h"
#include "store/sqlite_state_store.h"

namespace topo::bench {
namespace {

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

struct ProfiledPipeline::Impl {
  Impl(store::Database& database, const Experiments& e)
      : db(database), sql_graph(db), sql_state(db), sql_sink(db) {
    ApplySqliteSettings(e, db);
    graph::GraphStore* chain = &sql_graph;
    if (e.batch_blocked) chain = &batch_blocked.emplace(*chain);
    if (e.meta_cache) chain = &meta_cache.emplace(*chain);
    if (e.id_filter) chain = &id_filter.emplace(*chain, db);
    if (e.resolve_by_index) chain = &resolve_by_index.emplace(*chain, db);
    if (e.split_resolve) chain = &split_resolve.emplace(*chain, db, prof);
    graph.emplace(*chain, prof);
    store::ProjectionSink* sink_chain = &sql_sink;
    if (e.coalesce_project) sink_chain = &coalescing.emplace(*sink_chain);
    sink.emplace(*sink_chain, prof);
    state.emplace(sql_state, prof);
    engine.emplace(*state, *sink);
    graph::Applier* inner = &*engine;
    if (e.incremental_project) inner = &incremental.emplace(*engine, *state, *sink);
    applier.emplace(*inner, prof);
    ingestor.emplace(*graph, *applier);
  }

  store::Database& db;
  Profile prof;
  store::SqliteGraphStore sql_graph;
  store::SqliteStateStore sql_state;
  store::SqliteProjectionSink sql_sink;
  std::optional<BatchBlocked> batch_blocked;
  std::optional<MetaCache> meta_cache;
  std::optional<IdFilter> id_filter;
  std::optional<ResolveByIndex> resolve_by_index;
  std::optional<SplitResolve> split_resolve;
  std::optional<TimedGraphStore> graph;
  std::optional<CoalescingSink> coalescing;
  std::optional<TimedSink> sink;
  std::optional<TimedStateStore> state;
  std::optional<object::ObjectEngine> engine;
  std::optional<IncrementalEngine> incremental;
  std::optional<TimedApplier> applier;
  std::optional<graph::Ingestor> ingestor;
};

ProfiledPipeline::ProfiledPipeline(store::Database& db, const Experiments& experiments)
    : impl_(std::make_unique<Impl>(db, experiments)) {}
ProfiledPipeline::~ProfiledPipeline() = default;

void ProfiledPipeline::Ingest(std::vector<Bytes> raws, unsigned threads) {
  std::vector<graph::Prepared> prepared;
  {
    Timed t(impl_->prof, kVerify);
    prepared = graph::PrepareAll(std::move(raws), threads);
  }
  IngestPrepared(std::move(prepared));
}

void ProfiledPipeline::IngestPrepared(std::vector<graph::Prepared> prepared) {
  Impl& m = *impl_;
  for (size_t begin = 0; begin < prepared.size(); begin += kBatch) {
    size_t end = std::min(prepared.size(), begin + kBatch);
    Check(m.db.Begin(), "begin");
    for (size_t i = begin; i < end; ++i) {
      Timed t(m.prof, kIngest);
      Check(m.ingestor->Ingest(std::move(prepared[i])), "ingest");
    }
    {
      Timed t(m.prof, kFlush);
      if (m.batch_blocked) Check(m.batch_blocked->Flush(), "flush blocked");
      // The projection rows the batch changed (Replica runs it as a TxnParticipant).
      Check(m.engine->BeforeCommit(), "write the projection");
      if (m.coalescing) Check(m.coalescing->Flush(), "flush projection");
    }
    Timed t(m.prof, kCommit);
    Check(m.db.Commit(), "commit");
  }
}

const graph::IngestStats& ProfiledPipeline::stats() const { return impl_->ingestor->stats(); }

Json ProfiledPipeline::Report(uint64_t events) const {
  const Profile& prof = impl_->prof;
  const double n = static_cast<double>(std::max<uint64_t>(1, events));
  // Exclusive times: the stores are leaves; the engine and the ingestor keep what their
  // callees did not take.
  uint64_t graph_ns = 0;
  for (int c = kGetMeta; c <= kBlockedCount; ++c) graph_ns += prof.ns[c];
  const uint64_t store_ns =
      prof.ns[kStateGet] + prof.ns[kStatePut] + prof.ns[kStateDelete] + prof.ns[kStateScan];
  const uint64_t engine_own = prof.ns[kValidate] + prof.ns[kApply] - store_ns - prof.ns[kProject];
  const uint64_t ingestor_own = prof.ns[kIngest] - graph_ns - prof.ns[kValidate] - prof.ns[kApply];
  const uint64_t sequential = prof.ns[kIngest] + prof.ns[kFlush] + prof.ns[kCommit];

  Json rows = Json::object();
  auto row = [&](const std::string& name, uint64_t calls, uint64_t ns) {
    if (calls == 0 && ns == 0) return;
    Json r;
    r["calls"] = calls;
    r["ms"] = Ms(ns);
    r["us_per_event"] = static_cast<double>(ns) / 1e3 / n;
    r["pct_of_sequential"] = 100.0 * static_cast<double>(ns) / static_cast<double>(sequential);
    rows[name] = std::move(r);
  };
  for (int c = kGetMeta; c <= kProject; ++c) row(kCallNames[c], prof.calls[c], prof.ns[c]);
  row("engine (own: decode payload, validate op, render JSON)",
      prof.calls[kValidate] + prof.calls[kApply], engine_own);
  row("ingestor (own: cascade decode, bookkeeping)", prof.calls[kIngest], ingestor_own);
  row(kCallNames[kFlush], prof.calls[kFlush], prof.ns[kFlush]);
  row(kCallNames[kCommit], prof.calls[kCommit], prof.ns[kCommit]);
  for (int c = kResolveSelect; c <= kResolveTake; ++c)
    row(kCallNames[c], prof.calls[c], prof.ns[c]);

  Json r;
  r["sequential_us_per_event"] = static_cast<double>(sequential) / 1e3 / n;
  r["verify_us_per_event"] = static_cast<double>(prof.ns[kVerify]) / 1e3 / n;
  r["sequential_stage"] = std::move(rows);
  return r;
}

Json ExperimentsJson(const Experiments& e) {
  return Json{{"meta_cache", e.meta_cache},
              {"id_filter", e.id_filter},
              {"batch_blocked", e.batch_blocked},
              {"coalesce_project", e.coalesce_project},
              {"resolve_by_index", e.resolve_by_index},
              {"incremental_project", e.incremental_project},
              {"wal_autocheckpoint", e.wal_autocheckpoint},
              {"cache_kib", e.cache_kib}};
}

void ApplySqliteSettings(const Experiments& e, store::Database& db) {
  if (e.wal_autocheckpoint > 0)
    Check(db.Exec("PRAGMA wal_autocheckpoint = " + std::to_string(e.wal_autocheckpoint)),
          "wal_autocheckpoint");
  if (e.cache_kib > 0)
    Check(db.Exec("PRAGMA cache_size = -" + std::to_string(e.cache_kib)), "cache_size");
}

}  // namespace topo::bench
