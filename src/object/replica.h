// Replica: one device's copy of its objects. Ties the layers together: the SQLite database
// (store), the ingest pipeline (graph) and the object engine (object). This is the C++
// embedding surface for now; the node and the api layers build on it.
//
// Guarantees:
//  - Ingest() applies vertices in batched transactions: after a crash, every vertex of a
//    batch is fully applied (state, projections, frontier) or absent.
//  - Every call that fails leaves the database as it was before the call.
//  - Local writes take the object's current frontier as parents and a created_at later than
//    every parent's (and no earlier than the clock), so they always validate.
// Thread-safety: a Replica is used from one thread at a time; Ingest() uses worker threads
// internally for signature checks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/ingest.h"
#include "object/engine.h"
#include "store/database.h"
#include "store/sqlite_graph_store.h"
#include "store/sqlite_projection.h"
#include "store/sqlite_state_store.h"
#include "util/clock.h"

namespace topo::object {

struct ReplicaOptions {
  const Clock* clock = &SystemClock::Instance();
  unsigned verify_threads = 0;  // 0 = one per core
  size_t batch_size = 4096;     // vertices per transaction in Ingest()
  bool create_if_missing = true;  // false: opening a path with no database is NotFound
};

struct IngestReport {
  graph::IngestStats stats;
  std::vector<std::string> problems;  // the first few rejection / invalid reasons
};

struct ObjectInfo {
  codec::ObjectId id;
  std::string blueprint;
  uint64_t vertices = 0;
  size_t heads = 0;
};

class Replica {
 public:
  // Opens or creates the database at `path` (":memory:" for a private in-memory one). The
  // replica signs its local writes with `key`.
  static Result<std::unique_ptr<Replica>> Open(const std::string& path, crypto::SigningKey key,
                                               ReplicaOptions options = {});

  const crypto::PublicKey& author() const { return key_.public_key(); }

  // ---- local writes ----
  Result<codec::ObjectId> CreateObject(std::string_view blueprint);
  // Makes, signs and applies one operation on field `field` of `object`.
  Result<codec::VertexId> Submit(const codec::ObjectId& object, uint32_t field,
                                 const codec::CrdtOp& op);
  // Resolves a field by name (error names the fields that exist).
  Result<uint32_t> FieldOf(const codec::ObjectId& object, std::string_view field);
  Result<const Blueprint*> BlueprintOf(const codec::ObjectId& object);
  // Read access for the op builders (MakeMvSet, MakeSetRemove, ...).
  store::StateStore& state() { return state_; }

  // ---- remote vertices ----
  Result<IngestReport> Ingest(std::vector<Bytes> raws);
  // The sequential stage alone, for vertices that already went through graph::Prepare (the
  // sync layer verifies on its own workers; benchmarks time apply apart from verify). One
  // transaction per options.batch_size items.
  Result<IngestReport> IngestPrepared(std::vector<graph::Prepared> prepared);

  // ---- reads ----
  Result<nlohmann::json> Show(const codec::ObjectId& object);
  Result<std::vector<ObjectInfo>> ListObjects();
  // Applied vertices of an object in the linear order (depth, id).
  Status ForEachInOrder(const codec::ObjectId& object,
                        const std::function<bool(const graph::VertexMeta&, ByteView)>& fn);
  Result<std::vector<codec::VertexId>> Heads(const codec::ObjectId& object);
  // A digest of everything that must converge: every object's state, frontier and the
  // projection tables. Two replicas with the same vertices have the same fingerprint.
  Result<std::string> Fingerprint();
  // The projection tables as deterministic text (tests compare these across replicas).
  Result<std::string> ProjectionDump();
  // Deletes the generic projection and writes it again from object state, in one
  // transaction (after a projector change; tests check it equals the incremental rows).
  Status RebuildProjections();

  // ---- offline exchange ----
  // Writes the applied vertices (of one object, or all) to a bundle, parents first.
  Result<uint64_t> ExportBundle(const std::string& path,
                                const std::optional<codec::ObjectId>& object = std::nullopt);
  Result<IngestReport> ImportBundle(const std::string& path);

  store::Database& database() { return *db_; }
  store::SqliteGraphStore& graph_store() { return graph_; }

 private:
  Replica(std::unique_ptr<store::Database> db, crypto::SigningKey key, ReplicaOptions options);
  // Applies one locally made vertex inside the caller's transaction.
  Result<codec::VertexId> ApplyLocal(codec::Vertex v);
  // Applies one batch of prepared vertices in one transaction, adding to `report`.
  Status ApplyBatch(std::vector<graph::Prepared>& batch, IngestReport& report);

  std::unique_ptr<store::Database> db_;
  crypto::SigningKey key_;
  ReplicaOptions options_;
  store::SqliteGraphStore graph_;
  store::SqliteStateStore state_;
  store::SqliteProjectionSink sink_;
  ObjectEngine engine_;
  graph::Ingestor ingestor_;
};

}  // namespace topo::object
