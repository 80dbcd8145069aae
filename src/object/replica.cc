#include "object/replica.h"

#include <algorithm>

#include "codec/bundle.h"
#include "codec/object_payload.h"
#include "object/group_keys.h"
#include "object/ingest_pipeline.h"
#include "util/encoding.h"

namespace topo::object {

Replica::Replica(std::unique_ptr<store::Database> db, crypto::SigningKey key,
                 ReplicaOptions options)
    : db_(std::move(db)),
      key_(std::move(key)),
      options_(options),
      graph_(*db_, *options.clock, options.meta_cache_entries),
      state_(*db_, options.state_cache),
      sink_(*db_),
      engine_(state_, sink_),
      recorder_(engine_),
      ingestor_(graph_, recorder_),
      cache_guard_(engine_, ingestor_) {
  recorder_.forget_every = options_.forget_engine_caches_every;
  if (options_.box) engine_.SetLocalDevice(key_.public_key(), options_.box);
  engine_.SetVertexSource([this](const codec::VertexId& id) { return graph_.GetRaw(id); });
  db_->AddParticipant(&cache_guard_);
  db_->AddParticipant(&recorder_);
}

Replica::~Replica() {
  db_->RemoveParticipant(&recorder_);
  db_->RemoveParticipant(&cache_guard_);
}

Status Replica::Recorder::Apply(const codec::Vertex& v) {
  TOPO_RETURN_IF_ERROR(engine.Apply(v));
  ++applied_since_forget;
  if (observer) pending.push_back({v.object(), v.id, v.created_at});
  return Status::Ok();
}

void Replica::Recorder::AfterCommit() {
  // Committed: the caches hold nothing the store lacks, so dropping them loses only time.
  if (forget_every > 0 && applied_since_forget >= forget_every) {
    engine.ForgetCaches();
    applied_since_forget = 0;
  }
  if (pending.empty()) return;
  std::vector<AppliedVertex> batch;
  batch.swap(pending);
  if (observer) observer(batch);
}

void Replica::SetAppliedObserver(std::function<void(std::span<const AppliedVertex>)> observer) {
  recorder_.observer = std::move(observer);
  recorder_.pending.clear();
}

Result<std::unique_ptr<Replica>> Replica::Open(const std::string& path, crypto::SigningKey key,
                                               ReplicaOptions options) {
  store::OpenOptions open;
  open.create_if_missing = options.create_if_missing;
  TOPO_ASSIGN_OR_RETURN(auto db, store::Database::Open(path, open));
  std::unique_ptr<Replica> r(new Replica(std::move(db), std::move(key), options));
  TOPO_RETURN_IF_ERROR(r->MigrateApps());
  return r;
}

namespace {

std::string SchemaKey(const Blueprint& bp) { return "app_schema:" + bp.name; }

// The app's schema version recorded in the database (0 when none is).
Result<int64_t> RecordedSchemaVersion(store::Database& db, const Blueprint& bp) {
  auto& st = db.Prepare("SELECT value FROM meta WHERE key = ?1");
  std::string key = SchemaKey(bp);
  st.Bind(1, key);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
  int64_t v = row ? st.Int64(0) : 0;
  st.Reset();
  return v;
}

Status RecordSchemaVersion(store::Database& db, const Blueprint& bp) {
  auto& st = db.Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)");
  std::string key = SchemaKey(bp);
  st.Bind(1, key).Bind(2, static_cast<int64_t>(bp.app->SchemaVersion()));
  TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
  (void)row;
  st.Reset();
  return Status::Ok();
}

Status RunAll(store::Database& db, const std::vector<std::string>& statements) {
  for (const std::string& sql : statements) TOPO_RETURN_IF_ERROR(db.Exec(sql));
  return Status::Ok();
}

}  // namespace

Status Replica::MigrateApps() {
  std::vector<const Blueprint*> stale;
  for (const Blueprint* bp : AppBlueprints()) {
    TOPO_ASSIGN_OR_RETURN(int64_t recorded, RecordedSchemaVersion(*db_, *bp));
    if (recorded < bp->app->SchemaVersion()) stale.push_back(bp);
  }
  if (!stale.empty()) {
    TOPO_ASSIGN_OR_RETURN(uint64_t vertices, graph_.VertexCount());
    std::vector<const Blueprint*> rebuild;
    for (const Blueprint* bp : stale)
      if (vertices > 0 && !bp->app->RebuildBegin().empty()) rebuild.push_back(bp);
    // Without the box key sealed content cannot be opened: the rebuild waits for an open
    // that has it, and the version stays as recorded (the old tables serve until then).
    if (!rebuild.empty() && !options_.box) {
      for (const Blueprint* bp : rebuild) std::erase(stale, bp);
      rebuild.clear();
    }
    TOPO_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*db_));
    RebuildReport report;
    if (!rebuild.empty()) TOPO_RETURN_IF_ERROR(RebuildApps(rebuild, nullptr, report));
    for (const Blueprint* bp : stale) {
      TOPO_RETURN_IF_ERROR(RunAll(*db_, bp->app->Schema()));
      TOPO_RETURN_IF_ERROR(RecordSchemaVersion(*db_, *bp));
    }
    TOPO_RETURN_IF_ERROR(txn.Commit());
    migrated_apps_ = report.apps;
  }
  // Every app's tables on every open, so an app registered after a database was made still
  // gets them (object/app.h).
  for (const Blueprint* bp : AppBlueprints()) TOPO_RETURN_IF_ERROR(RunAll(*db_, bp->app->Schema()));
  return Status::Ok();
}

Result<codec::VertexId> Replica::ApplyLocal(codec::Vertex v) {
  TOPO_RETURN_IF_ERROR(codec::SignVertex(v, key_));
  graph::Prepared p;
  p.raw = codec::EncodeVertex(v);
  p.vertex = std::move(v);
  TOPO_ASSIGN_OR_RETURN(auto r, ingestor_.Ingest(std::move(p)));
  if (r.outcome != graph::Outcome::kApplied)
    return Status::Rejected(std::string("local write was ") + graph::OutcomeName(r.outcome) +
                            (r.reason.empty() ? "" : ": " + r.reason));
  return r.id;
}

Result<codec::ObjectId> Replica::CreateObject(std::string_view blueprint) {
  if (blueprint == GroupBlueprint().name)
    return Status::InvalidArgument("a group is made by CreateGroup (topo create-workspace)");
  if (!FindBlueprint(blueprint)) {
    std::string names;
    for (const auto& b : BuiltinBlueprints()) names += (names.empty() ? "" : ", ") + b.name;
    return Status::InvalidArgument("unknown object type \"" + std::string(blueprint) +
                                   "\" (known: " + names + ")");
  }
  codec::Vertex v;
  v.type = codec::kGenesisType;
  v.created_at = options_.clock->NowMs();
  v.payload = codec::EncodeGenesisPayload({std::string(blueprint), GenesisNonce()});
  TOPO_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*db_));
  TOPO_ASSIGN_OR_RETURN(auto id, ApplyLocal(std::move(v)));
  TOPO_RETURN_IF_ERROR(txn.Commit());
  return id;
}

Result<codec::ObjectId> Replica::CreateObject(std::string_view blueprint,
                                              const codec::ObjectId& group, ByteView params) {
  if (blueprint == GroupBlueprint().name)
    return Status::InvalidArgument("a group cannot be inside another group");
  if (!FindBlueprint(blueprint))
    return Status::InvalidArgument("unknown object type \"" + std::string(blueprint) + "\"");
  TOPO_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*db_));
  TOPO_ASSIGN_OR_RETURN(GroupIndex * index, engine_.GroupIndexOf(group));
  auto heads = index->Heads();
  if (heads.size() > codec::kMaxRefs)
    return Status::InvalidArgument(
        "the group has more than 16 concurrent heads; any group "
        "operation (topo rotate) merges them");
  TOPO_ASSIGN_OR_RETURN(const GroupIndex::Snapshot* snap, index->At(heads));
  if (!snap->state.devices().count(key_.public_key()))
    return Status::PermissionDenied("this device is not a member of group " +
                                    HexEncodeShort(group));
  codec::Vertex v;
  v.type = codec::kGenesisType;
  v.created_at = options_.clock->NowMs();
  v.refs = heads;
  v.payload = codec::EncodeGenesisPayload(
      {std::string(blueprint), GenesisNonce(), group, Bytes(params.begin(), params.end())});
  TOPO_ASSIGN_OR_RETURN(auto id, ApplyLocal(std::move(v)));
  TOPO_RETURN_IF_ERROR(txn.Commit());
  return id;
}

Result<uint32_t> Replica::FieldOf(const codec::ObjectId& object, std::string_view field) {
  TOPO_ASSIGN_OR_RETURN(const Blueprint* bp, BlueprintOf(object));
  int i = bp->FieldIndex(field);
  if (i < 0) {
    std::string names;
    for (const auto& f : bp->fields) names += (names.empty() ? "" : ", ") + f.name;
    return Status::InvalidArgument("a " + bp->name + " has no field \"" + std::string(field) +
                                   "\" (fields: " + names + ")");
  }
  return static_cast<uint32_t>(i);
}

Result<const Blueprint*> Replica::BlueprintOf(const codec::ObjectId& object) {
  return engine_.BlueprintOf(object);
}

Status Replica::FillHeader(codec::Vertex& v, const codec::ObjectId& object) {
  TOPO_ASSIGN_OR_RETURN(auto heads, graph_.Heads(object));
  if (heads.empty()) return Status::NotFound("no object " + HexEncode(object.view()));
  v.object_id = object;
  v.parents = heads;
  uint64_t depth = 0, created = 0;
  for (const auto& h : heads) {
    TOPO_ASSIGN_OR_RETURN(auto meta, graph_.GetMeta(h));
    if (!meta) return Status::Corruption("frontier names a vertex that is not stored");
    depth = std::max(depth, meta->depth);
    created = std::max(created, meta->created_at);
  }
  // Too many concurrent heads: a vertex names at most kMaxParents; keep the deepest ones and
  // the rest merge in by a later write.
  if (v.parents.size() > codec::kMaxParents) v.parents.resize(codec::kMaxParents);
  v.depth = depth + 1;
  v.created_at = std::max(options_.clock->NowMs(), created + 1);
  v.author = key_.public_key();
  return Status::Ok();
}

Result<codec::VertexId> Replica::Submit(const codec::ObjectId& object, uint32_t field,
                                        const codec::CrdtOp& op) {
  TOPO_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*db_));
  codec::Vertex v;
  v.type = codec::kCrdtOpType;
  TOPO_RETURN_IF_ERROR(FillHeader(v, object));
  Bytes payload = codec::EncodeOpPayload({field, op});
  TOPO_ASSIGN_OR_RETURN(auto group, engine_.GroupOf(object));
  if (group) {
    TOPO_RETURN_IF_ERROR(SealForGroup(v, *group, payload));
  } else {
    v.payload = std::move(payload);
  }
  TOPO_ASSIGN_OR_RETURN(auto id, ApplyLocal(std::move(v)));
  TOPO_RETURN_IF_ERROR(txn.Commit());
  return id;
}

Status Replica::FlushBlocked() { return ingestor_.Flush(); }

Status Replica::ApplyBatch(std::vector<graph::Prepared>& batch, IngestReport& report, bool last) {
  TOPO_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*db_));
  for (auto& p : batch) {
    // On error the transaction rolls back: this batch is absent, earlier ones stay.
    TOPO_ASSIGN_OR_RETURN(auto r, ingestor_.Ingest(std::move(p)));
    if ((r.outcome == graph::Outcome::kRejected || r.outcome == graph::Outcome::kInvalid) &&
        report.problems.size() < 20)
      report.problems.push_back(
          std::string(graph::OutcomeName(r.outcome)) + " " +
          (r.id.IsZero() ? std::string("(undecodable)") : HexEncodeShort(r.id)) + ": " + r.reason);
  }
  if (last) TOPO_RETURN_IF_ERROR(FlushBlocked());
  return txn.Commit();
}

Result<IngestReport> Replica::Ingest(std::vector<Bytes> raws) {
  // Signature checks run on the pipeline's workers, from the first vertex on, while earlier
  // batches are applied and committed here. The vertices are all in memory already: the
  // pipeline need hold only one verified batch ahead of the one being applied (as many
  // decoded copies as before it existed).
  IngestPipelineOptions o;
  o.max_pending = 2 * std::max<size_t>(1, options_.batch_size);
  IngestPipeline pipe(*this, o);
  TOPO_RETURN_IF_ERROR(pipe.Add(std::move(raws)));
  TOPO_RETURN_IF_ERROR(pipe.Finish());
  return pipe.report();
}

Result<IngestReport> Replica::IngestPrepared(std::vector<graph::Prepared> prepared) {
  IngestReport report;
  ingestor_.ResetStats();
  size_t batch = std::max<size_t>(1, options_.batch_size);
  for (size_t begin = 0; begin < prepared.size(); begin += batch) {
    size_t end = std::min(prepared.size(), begin + batch);
    std::vector<graph::Prepared> chunk(std::make_move_iterator(prepared.begin() + begin),
                                       std::make_move_iterator(prepared.begin() + end));
    TOPO_RETURN_IF_ERROR(ApplyBatch(chunk, report, end == prepared.size()));
  }
  report.stats = ingestor_.stats();
  return report;
}

Result<nlohmann::json> Replica::Show(const codec::ObjectId& object) {
  return engine_.Render(object);
}

Result<std::vector<ObjectInfo>> Replica::ListObjects() {
  TOPO_ASSIGN_OR_RETURN(auto ids, graph_.ListObjects());
  std::vector<ObjectInfo> out;
  for (const auto& id : ids) {
    ObjectInfo info;
    info.id = id;
    TOPO_ASSIGN_OR_RETURN(const Blueprint* bp, engine_.BlueprintOf(id));
    info.blueprint = bp->name;
    TOPO_ASSIGN_OR_RETURN(auto heads, graph_.Heads(id));
    info.heads = heads.size();
    TOPO_RETURN_IF_ERROR(graph_.ForEachInOrder(id, [&](const graph::VertexMeta&, ByteView) {
      ++info.vertices;
      return true;
    }));
    out.push_back(std::move(info));
  }
  return out;
}

Status Replica::ForEachInOrder(const codec::ObjectId& object,
                               const std::function<bool(const graph::VertexMeta&, ByteView)>& fn) {
  return graph_.ForEachInOrder(object, fn);
}

Result<std::vector<codec::VertexId>> Replica::Heads(const codec::ObjectId& object) {
  return graph_.Heads(object);
}

Result<std::string> Replica::ProjectionDump() {
  TOPO_ASSIGN_OR_RETURN(auto tables, store::ProjectionTables(*db_));
  std::string out;
  for (const auto& t : tables) {
    std::string dump;
    TOPO_RETURN_IF_ERROR(store::DumpTable(*db_, t, &dump));
    out += "== " + t + "\n" + dump;
  }
  return out;
}

Result<RebuildReport> Replica::RebuildProjections(
    const std::function<void(uint64_t, uint64_t)>& progress) {
  TOPO_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*db_));
  RebuildReport report;
  TOPO_RETURN_IF_ERROR(db_->Exec("DELETE FROM object_values"));
  TOPO_ASSIGN_OR_RETURN(auto ids, graph_.ListObjects());
  for (const auto& id : ids) TOPO_RETURN_IF_ERROR(engine_.ProjectAll(id));
  report.objects = ids.size();
  std::vector<const Blueprint*> apps;
  if (options_.box)
    for (const Blueprint* bp : AppBlueprints())
      if (!bp->app->RebuildBegin().empty()) apps.push_back(bp);
  if (!apps.empty()) TOPO_RETURN_IF_ERROR(RebuildApps(apps, progress, report));
  TOPO_RETURN_IF_ERROR(txn.Commit());
  return report;
}

Status Replica::RebuildApps(const std::vector<const Blueprint*>& apps,
                            const std::function<void(uint64_t, uint64_t)>& progress,
                            RebuildReport& report) {
  for (const Blueprint* bp : apps) {
    TOPO_RETURN_IF_ERROR(RunAll(*db_, bp->app->RebuildBegin()));
    TOPO_RETURN_IF_ERROR(RunAll(*db_, bp->app->Schema()));
  }
  TOPO_ASSIGN_OR_RETURN(uint64_t total, graph_.VertexCount());
  constexpr uint64_t kProgressEvery = 16384;
  uint64_t done = 0;
  Status inner;
  // Arrival order, as the entries were first applied (content that waited for a key comes
  // earlier than it did; the app puts back what depends on the order: RebuildEnd).
  TOPO_RETURN_IF_ERROR(graph_.ForEachVertex([&](ByteView raw) {
    inner = [&]() -> Status {
      TOPO_ASSIGN_OR_RETURN(auto v, codec::DecodeVertex(raw));
      TOPO_ASSIGN_OR_RETURN(const Blueprint* bp, engine_.BlueprintOf(v.object()));
      if (std::find(apps.begin(), apps.end(), bp) == apps.end()) return Status::Ok();
      return engine_.ReprojectApp(v);
    }();
    if (++done % kProgressEvery == 0 && progress) progress(done, total);
    return inner.ok();
  }));
  TOPO_RETURN_IF_ERROR(inner);
  if (progress) progress(done, total);
  report.vertices = done;
  // The apps' once-per-transaction work now, so that RebuildEnd sees finished tables.
  TOPO_RETURN_IF_ERROR(engine_.BeforeCommit());
  for (const Blueprint* bp : apps) {
    TOPO_RETURN_IF_ERROR(RunAll(*db_, bp->app->RebuildEnd()));
    report.apps.push_back(bp->name);
  }
  return Status::Ok();
}

Result<std::string> Replica::Fingerprint() {
  TOPO_ASSIGN_OR_RETURN(auto ids, graph_.ListObjects());
  std::sort(ids.begin(), ids.end());
  crypto::Hasher h("topo.replica-fingerprint.v1");
  for (const auto& id : ids) {
    h.Update(id.view());
    TOPO_ASSIGN_OR_RETURN(auto state, engine_.Render(id));
    h.Update(AsBytes(state.dump()));
    TOPO_ASSIGN_OR_RETURN(auto heads, graph_.Heads(id));
    for (const auto& hd : heads) h.Update(hd.view());
  }
  TOPO_ASSIGN_OR_RETURN(auto dump, ProjectionDump());
  h.Update(AsBytes(dump));
  return HexEncode(h.Final().view());
}

Result<uint64_t> Replica::ExportBundle(const std::string& path,
                                       const std::optional<codec::ObjectId>& object) {
  if (object) {
    TOPO_ASSIGN_OR_RETURN(auto heads, graph_.Heads(*object));
    if (heads.empty()) return Status::NotFound("no object " + HexEncode(object->view()));
  }
  codec::BundleWriter w(path);
  TOPO_RETURN_IF_ERROR(w.status());
  Status inner;
  auto add = [&](ByteView raw) {
    inner = w.Add(raw);
    return inner.ok();
  };
  if (object) {
    TOPO_RETURN_IF_ERROR(graph_.ForEachInOrder(
        *object, [&](const graph::VertexMeta&, ByteView raw) { return add(raw); }));
  } else {
    // Arrival order: every vertex arrived after its parents and refs.
    TOPO_RETURN_IF_ERROR(graph_.ForEachVertex(add));
  }
  TOPO_RETURN_IF_ERROR(inner);
  TOPO_RETURN_IF_ERROR(w.Finish());
  return w.count();
}

Result<IngestReport> Replica::ImportBundle(const std::string& path) {
  // First pass: the whole file must be intact (digest, framing) before anything is
  // imported, so a damaged bundle leaves the database as it was.
  TOPO_RETURN_IF_ERROR(codec::ReadBundle(path, [](Bytes) { return Status::Ok(); }));
  // Second pass: streamed through one pipeline, which holds a bounded number of vertices, so
  // a large bundle never sits in memory whole and the workers never wait for a chunk.
  IngestPipeline pipe(*this);
  std::vector<Bytes> chunk;
  TOPO_RETURN_IF_ERROR(codec::ReadBundle(path, [&](Bytes raw) -> Status {
    chunk.push_back(std::move(raw));
    if (chunk.size() < options_.batch_size) return Status::Ok();
    Status s = pipe.Add(std::move(chunk));
    chunk = {};
    return s;
  }));
  TOPO_RETURN_IF_ERROR(pipe.Add(std::move(chunk)));
  TOPO_RETURN_IF_ERROR(pipe.Finish());
  return pipe.report();
}

}  // namespace topo::object
