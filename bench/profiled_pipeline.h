// ProfiledPipeline: the sequential ingest stage that Replica::IngestPrepared runs
// (SqliteGraphStore, SqliteStateStore, SqliteProjectionSink, ObjectEngine, graph::Ingestor,
// one transaction per kBatch vertices), built from the same public pieces with a timing
// decorator on every store interface, so each call's share is measured. Optional decorators
// (Experiments) emulate changes proposed for src/ so that their gain is measured too.
//
// The timing adds two clock reads per store call (well under a microsecond per vertex).
#pragma once

#include <memory>
#include <vector>

#include "bench/harness.h"
#include "graph/ingest.h"
#include "store/database.h"

namespace topo::bench {

struct Experiments {
  bool meta_cache = false;        // GetMeta from memory for vertices applied in this run
  bool id_filter = false;         // lookups of ids the store does not hold answered in memory
  bool batch_blocked = false;     // blocked vertices in memory until their batch commits
  bool coalesce_project = false;  // one projection write per (object, path) per batch
  bool resolve_by_index = false;  // ResolveDependency without the blocked.missing rewrite
  bool split_resolve = false;     // time each statement of ResolveDependency apart
  // ObjectEngine::Apply projecting only the paths ApplyOp reports changed, one row per map
  // key or set element, instead of re-rendering the whole field after every op.
  bool incremental_project = false;
  // SQLite settings Database::Configure does not choose today (0 = leave as configured):
  // PRAGMA wal_autocheckpoint (pages; SQLite's default is 1000) and cache_size (KiB; topo
  // sets 8 MiB).
  int wal_autocheckpoint = 0;
  int cache_kib = 0;
};
Json ExperimentsJson(const Experiments& e);
// Applies the SQLite settings of `e` to `db`.
void ApplySqliteSettings(const Experiments& e, store::Database& db);

class ProfiledPipeline {
 public:
  static constexpr size_t kBatch = 4096;  // as ReplicaOptions::batch_size

  // REQUIRES: db is at the current schema version and outlives this object.
  ProfiledPipeline(store::Database& db, const Experiments& experiments);
  ~ProfiledPipeline();
  ProfiledPipeline(const ProfiledPipeline&) = delete;
  ProfiledPipeline& operator=(const ProfiledPipeline&) = delete;

  // graph::PrepareAll on `threads` threads (timed as verify), then IngestPrepared.
  void Ingest(std::vector<Bytes> raws, unsigned threads);
  // The sequential stage, one transaction per kBatch items. Throws Failure on errors.
  void IngestPrepared(std::vector<graph::Prepared> prepared);
  const graph::IngestStats& stats() const;
  // sequential_us_per_event, verify_us_per_event and the per-call table, per `events`.
  Json Report(uint64_t events) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace topo::bench
