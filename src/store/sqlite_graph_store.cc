#include "store/sqlite_graph_store.h"

#include "util/encoding.h"

namespace topo::store {
namespace {

// Resets a cached statement when a call leaves early (a single-row lookup, fn said stop, an
// error), so it holds no read lock and no pointer into the caller's bytes.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& st) : st_(st) {}
  ~ResetOnExit() { st_.Reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& st_;
};

constexpr std::string_view kGetMeta =
    "SELECT object, type, depth, created_at, author FROM vertices WHERE id = ?1";
constexpr std::string_view kPutApplied =
    "INSERT INTO vertices (id, object, type, depth, created_at, author, raw, applied_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr std::string_view kGetRaw = "SELECT raw FROM vertices WHERE id = ?1";
constexpr std::string_view kHeads = "SELECT id FROM heads WHERE object = ?1 ORDER BY id";
constexpr std::string_view kAddHead = "INSERT OR IGNORE INTO heads (object, id) VALUES (?1, ?2)";
constexpr std::string_view kRemoveHead = "DELETE FROM heads WHERE object = ?1 AND id = ?2";
constexpr std::string_view kRejectedReason = "SELECT reason FROM rejected WHERE id = ?1";
constexpr std::string_view kPutRejected =
    "INSERT OR IGNORE INTO rejected (id, object, reason, raw, rejected_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr std::string_view kIsBlocked = "SELECT 1 FROM blocked WHERE id = ?1";
constexpr std::string_view kPutBlocked =
    "INSERT INTO blocked (id, raw, missing) VALUES (?1, ?2, ?3)";
constexpr std::string_view kPutBlockedDep = "INSERT INTO blocked_deps (dep, id) VALUES (?1, ?2)";
constexpr std::string_view kWaitingOn = "SELECT id FROM blocked_deps WHERE dep = ?1 ORDER BY id";
constexpr std::string_view kDeleteDep = "DELETE FROM blocked_deps WHERE dep = ?1";
constexpr std::string_view kDeleteDepsOf = "DELETE FROM blocked_deps WHERE id = ?1";
constexpr std::string_view kDecrementMissing =
    "UPDATE blocked SET missing = missing - 1 WHERE id = ?1 RETURNING missing";
constexpr std::string_view kTakeBlocked = "DELETE FROM blocked WHERE id = ?1 RETURNING raw";
constexpr std::string_view kListObjects = "SELECT id FROM vertices WHERE type = 0 ORDER BY seq";
constexpr std::string_view kInOrder =
    "SELECT id, type, depth, created_at, author, raw FROM vertices WHERE object = ?1 "
    "ORDER BY depth, id";
constexpr std::string_view kAllVertices = "SELECT raw FROM vertices ORDER BY seq";
constexpr std::string_view kAllRejected = "SELECT id, object, reason FROM rejected ORDER BY id";

Status NotApplied(const VertexId& id) {
  return Status::NotFound("vertex " + HexEncodeShort(id) + " is not applied here");
}

}  // namespace

Result<std::optional<VertexMeta>> SqliteGraphStore::GetMeta(const VertexId& id) {
  Statement& st = db_.Prepare(kGetMeta);
  ResetOnExit reset(st);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Bind(1, id).Step());
  if (!row) return std::optional<VertexMeta>();
  VertexMeta m;
  m.id = id;
  TOPO_ASSIGN_OR_RETURN(m.object, st.Fixed<32>(0));
  m.type = static_cast<uint32_t>(st.Int64(1));
  m.depth = static_cast<uint64_t>(st.Int64(2));
  m.created_at = static_cast<uint64_t>(st.Int64(3));
  TOPO_ASSIGN_OR_RETURN(m.author, st.Fixed<32>(4));
  return std::optional<VertexMeta>(m);
}

Status SqliteGraphStore::PutApplied(const Vertex& v, ByteView raw) {
  return db_.Prepare(kPutApplied)
      .Bind(1, v.id)
      .Bind(2, v.object())
      .Bind(3, int64_t{v.type})
      .Bind(4, static_cast<int64_t>(v.depth))
      .Bind(5, static_cast<int64_t>(v.created_at))
      .Bind(6, v.author)
      .Bind(7, raw)
      .Bind(8, static_cast<int64_t>(clock_.NowMs()))
      .Run();
}

Result<Bytes> SqliteGraphStore::GetRaw(const VertexId& id) {
  Statement& st = db_.Prepare(kGetRaw);
  ResetOnExit reset(st);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Bind(1, id).Step());
  if (!row) return NotApplied(id);
  return st.BlobBytes(0);
}

Result<std::vector<VertexId>> SqliteGraphStore::GetParents(const VertexId& id) {
  TOPO_ASSIGN_OR_RETURN(Bytes raw, GetRaw(id));
  Result<Vertex> v = codec::DecodeVertex(raw);
  if (!v.ok())
    return Status::Corruption("stored vertex " + HexEncodeShort(id) +
                              " does not decode: " + v.status().message());
  return std::move(v->parents);
}

Result<std::vector<VertexId>> SqliteGraphStore::Heads(const ObjectId& object) {
  Statement& st = db_.Prepare(kHeads);
  ResetOnExit reset(st);
  st.Bind(1, object);
  std::vector<VertexId> heads;
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TOPO_ASSIGN_OR_RETURN(heads.emplace_back(), st.Fixed<32>(0));
  }
  return heads;
}

Status SqliteGraphStore::AddHead(const ObjectId& object, const VertexId& id) {
  return db_.Prepare(kAddHead).Bind(1, object).Bind(2, id).Run();
}

Status SqliteGraphStore::RemoveHead(const ObjectId& object, const VertexId& id) {
  return db_.Prepare(kRemoveHead).Bind(1, object).Bind(2, id).Run();
}

Result<std::optional<std::string>> SqliteGraphStore::RejectedReason(const VertexId& id) {
  Statement& st = db_.Prepare(kRejectedReason);
  ResetOnExit reset(st);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Bind(1, id).Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(st.Text(0)));
}

Status SqliteGraphStore::PutRejected(const VertexId& id, const ObjectId& object,
                                     std::string_view reason, ByteView raw) {
  return db_.Prepare(kPutRejected)
      .Bind(1, id)
      .Bind(2, object)
      .Bind(3, reason)
      .Bind(4, raw)
      .Bind(5, static_cast<int64_t>(clock_.NowMs()))
      .Run();
}

Result<bool> SqliteGraphStore::IsBlocked(const VertexId& id) {
  Statement& st = db_.Prepare(kIsBlocked);
  ResetOnExit reset(st);
  return st.Bind(1, id).Step();
}

Status SqliteGraphStore::PutBlocked(const VertexId& id, ByteView raw,
                                    const std::vector<VertexId>& missing) {
  if (missing.empty())
    return Status::Internal("vertex " + HexEncodeShort(id) + " blocked on nothing");
  TOPO_RETURN_IF_ERROR(db_.Prepare(kPutBlocked)
                           .Bind(1, id)
                           .Bind(2, raw)
                           .Bind(3, static_cast<int64_t>(missing.size()))
                           .Run());
  for (const VertexId& dep : missing)
    TOPO_RETURN_IF_ERROR(db_.Prepare(kPutBlockedDep).Bind(1, dep).Bind(2, id).Run());
  return Status::Ok();
}

Result<std::vector<VertexId>> SqliteGraphStore::IdsWaitingOn(const VertexId& dep) {
  Statement& st = db_.Prepare(kWaitingOn);
  ResetOnExit reset(st);
  st.Bind(1, dep);
  std::vector<VertexId> ids;
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TOPO_ASSIGN_OR_RETURN(ids.emplace_back(), st.Fixed<32>(0));
  }
  return ids;
}

Result<std::vector<Bytes>> SqliteGraphStore::ResolveDependency(const VertexId& arrived) {
  TOPO_ASSIGN_OR_RETURN(std::vector<VertexId> waiting, IdsWaitingOn(arrived));
  std::vector<Bytes> ready;
  if (waiting.empty()) return ready;
  TOPO_RETURN_IF_ERROR(db_.Prepare(kDeleteDep).Bind(1, arrived).Run());
  for (const VertexId& id : waiting) {
    int64_t missing;
    {
      Statement& st = db_.Prepare(kDecrementMissing);
      ResetOnExit reset(st);
      TOPO_ASSIGN_OR_RETURN(bool row, st.Bind(1, id).Step());
      if (!row) continue;  // a dependency row without its vertex: nothing waits any more
      missing = st.Int64(0);
    }
    if (missing > 0) continue;
    Statement& take = db_.Prepare(kTakeBlocked);
    ResetOnExit reset(take);
    TOPO_ASSIGN_OR_RETURN(bool row, take.Bind(1, id).Step());
    if (row) ready.push_back(take.BlobBytes(0));
  }
  return ready;
}

Result<std::vector<std::pair<VertexId, Bytes>>> SqliteGraphStore::DropDependents(
    const VertexId& gone) {
  TOPO_ASSIGN_OR_RETURN(std::vector<VertexId> waiting, IdsWaitingOn(gone));
  std::vector<std::pair<VertexId, Bytes>> dropped;
  for (const VertexId& id : waiting) {
    {
      Statement& take = db_.Prepare(kTakeBlocked);
      ResetOnExit reset(take);
      TOPO_ASSIGN_OR_RETURN(bool row, take.Bind(1, id).Step());
      if (row) dropped.emplace_back(id, take.BlobBytes(0));
    }
    TOPO_RETURN_IF_ERROR(db_.Prepare(kDeleteDepsOf).Bind(1, id).Run());
  }
  return dropped;
}

Result<uint64_t> SqliteGraphStore::BlockedCount() { return Count("SELECT count(*) FROM blocked"); }

Result<uint64_t> SqliteGraphStore::Count(std::string_view sql) {
  Statement& st = db_.Prepare(sql);
  ResetOnExit reset(st);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Internal("count(*) returned no row");
  return static_cast<uint64_t>(st.Int64(0));
}

Result<std::vector<ObjectId>> SqliteGraphStore::ListObjects() {
  Statement& st = db_.Prepare(kListObjects);
  ResetOnExit reset(st);
  std::vector<ObjectId> objects;
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TOPO_ASSIGN_OR_RETURN(objects.emplace_back(), st.Fixed<32>(0));
  }
  return objects;
}

Status SqliteGraphStore::ForEachInOrder(
    const ObjectId& object, const std::function<bool(const VertexMeta&, ByteView)>& fn) {
  Statement& st = db_.Prepare(kInOrder);
  ResetOnExit reset(st);
  st.Bind(1, object);
  VertexMeta m;
  m.object = object;
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TOPO_ASSIGN_OR_RETURN(m.id, st.Fixed<32>(0));
    m.type = static_cast<uint32_t>(st.Int64(1));
    m.depth = static_cast<uint64_t>(st.Int64(2));
    m.created_at = static_cast<uint64_t>(st.Int64(3));
    TOPO_ASSIGN_OR_RETURN(m.author, st.Fixed<32>(4));
    if (!fn(m, st.Blob(5))) break;
  }
  return Status::Ok();
}

Status SqliteGraphStore::ForEachVertex(const std::function<bool(ByteView)>& fn) {
  Statement& st = db_.Prepare(kAllVertices);
  ResetOnExit reset(st);
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || !fn(st.Blob(0))) break;
  }
  return Status::Ok();
}

Status SqliteGraphStore::ForEachRejected(
    const std::function<bool(const VertexId&, const ObjectId&, std::string_view)>& fn) {
  Statement& st = db_.Prepare(kAllRejected);
  ResetOnExit reset(st);
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TOPO_ASSIGN_OR_RETURN(VertexId id, st.Fixed<32>(0));
    TOPO_ASSIGN_OR_RETURN(ObjectId object, st.Fixed<32>(1));
    if (!fn(id, object, st.Text(2))) break;
  }
  return Status::Ok();
}

Result<uint64_t> SqliteGraphStore::VertexCount() { return Count("SELECT count(*) FROM vertices"); }

Result<uint64_t> SqliteGraphStore::RejectedCount() {
  return Count("SELECT count(*) FROM rejected");
}

}  // namespace topo::store
