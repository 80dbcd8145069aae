#include "store/sqlite_graph_store.h"

#include <algorithm>
#include <bit>

#include "codec/reader.h"
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

// Lookups by id go through the vertices_by_id8 index; `id = ?2` tells apart the rare ids
// that share their first 8 bytes.
constexpr std::string_view kGetMeta =
    "SELECT type, depth, created_at, raw FROM vertices WHERE id8 = ?1 AND id = ?2";
// The id8 index is not unique: PutApplied looks for the id first. (One INSERT ... SELECT
// ... WHERE NOT EXISTS would read the table it writes, which SQLite does through a
// temporary table: twice the cost.)
constexpr std::string_view kIsApplied = "SELECT 1 FROM vertices WHERE id8 = ?1 AND id = ?2";
constexpr std::string_view kPutApplied =
    "INSERT INTO vertices (id, id8, obj, type, depth, created_at, applied_at, raw) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr std::string_view kGetRaw = "SELECT raw FROM vertices WHERE id8 = ?1 AND id = ?2";
constexpr std::string_view kFindObject = "SELECT key FROM objects WHERE id = ?1";
constexpr std::string_view kAddObject = "INSERT INTO objects (id) VALUES (?1) RETURNING key";
constexpr std::string_view kHeads = "SELECT id FROM heads WHERE obj = ?1 ORDER BY id";
constexpr std::string_view kAddHead = "INSERT OR IGNORE INTO heads (obj, id) VALUES (?1, ?2)";
constexpr std::string_view kRemoveHead = "DELETE FROM heads WHERE obj = ?1 AND id = ?2";
constexpr std::string_view kRejectedReason = "SELECT reason FROM rejected WHERE id = ?1";
constexpr std::string_view kPutRejected =
    "INSERT OR IGNORE INTO rejected (id, object, reason, raw, rejected_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr std::string_view kIsBlocked = "SELECT 1 FROM blocked WHERE id = ?1";
constexpr std::string_view kPutBlocked = "INSERT INTO blocked (id, raw) VALUES (?1, ?2)";
constexpr std::string_view kPutBlockedDep = "INSERT INTO blocked_deps (dep, id) VALUES (?1, ?2)";
constexpr std::string_view kWaitingOn = "SELECT id FROM blocked_deps WHERE dep = ?1 ORDER BY id";
constexpr std::string_view kDeleteDep = "DELETE FROM blocked_deps WHERE dep = ?1";
// Through blocked_deps_by_id: a vertex waits as long as one of its rows is left.
constexpr std::string_view kStillWaits = "SELECT 1 FROM blocked_deps WHERE id = ?1 LIMIT 1";
constexpr std::string_view kDeleteDepsOf = "DELETE FROM blocked_deps WHERE id = ?1";
constexpr std::string_view kTakeBlocked = "DELETE FROM blocked WHERE id = ?1 RETURNING raw";
// Objects first (CROSS JOIN keeps that order), each object's genesis found through
// vertices_by_order (the only vertex of depth 0): a few lookups per object, not a scan.
constexpr std::string_view kListObjects =
    "SELECT v.id FROM objects o CROSS JOIN vertices v "
    "ON v.obj = o.key AND v.depth = 0 AND v.type = 0 ORDER BY v.seq";
constexpr std::string_view kInOrder =
    "SELECT id, type, depth, created_at, raw FROM vertices WHERE obj = ?1 ORDER BY depth, id";
// A row-value range on vertices_by_created (obj, created_at, id): an index-only scan.
constexpr std::string_view kItemsFrom =
    "SELECT created_at, id FROM vertices INDEXED BY vertices_by_created WHERE obj = ?1 AND "
    "(created_at, id) >= (?2, ?3) ORDER BY created_at, id LIMIT ?4";
constexpr std::string_view kAllVertices = "SELECT raw FROM vertices ORDER BY seq";
constexpr std::string_view kAllRejected = "SELECT id, object, reason FROM rejected ORDER BY id";

// The object bound of object_keys_: past it the map is cleared and refilled on use.
constexpr size_t kMaxObjectKeys = size_t{1} << 16;

Status NotApplied(const VertexId& id) {
  return Status::NotFound("vertex " + HexEncodeShort(id) + " is not applied here");
}

// Fills m.object and m.author from a stored encoding's head (codec/vertex.h: version,
// object_id, type, author, ...) without decoding the rest: the vertices table keeps neither
// apart. REQUIRES: m.id and m.type are set.
Status ReadHead(ByteView raw, VertexMeta& m) {
  codec::Reader r(raw);
  uint8_t version = 0;
  uint64_t type;
  Status st = r.U8("vertex.version", version);
  if (st.ok() && version != codec::kVertexVersion)
    st = Status::Corruption("vertex.version: unsupported version " + std::to_string(version));
  if (st.ok()) st = r.Fixed("vertex.object_id", m.object);
  if (st.ok()) st = r.Varint("vertex.type", type);
  if (st.ok()) st = r.Fixed("vertex.author", m.author);
  if (!st.ok())
    return Status::Corruption("stored vertex " + HexEncodeShort(m.id) +
                              " does not decode: " + st.message());
  if (m.type == codec::kGenesisType) m.object = m.id;  // a genesis vertex is its own object
  return Status::Ok();
}

}  // namespace

SqliteGraphStore::SqliteGraphStore(Database& db, const Clock& clock, size_t meta_cache_entries)
    : db_(db),
      clock_(clock),
      epoch_(db.rollback_epoch()),
      meta_slot_count_(meta_cache_entries == 0 ? 0 : std::bit_ceil(meta_cache_entries)) {
  db_.AddParticipant(this);
}

SqliteGraphStore::~SqliteGraphStore() {
  db_.RemoveParticipant(this);
  // The heads belong to the open transaction: whoever commits it expects them there.
  if (db_.in_transaction() && !head_changes_.empty()) (void)BeforeCommit();
}

SqliteGraphStore::TxnFacts* SqliteGraphStore::Facts() {
  if (!db_.in_transaction()) return nullptr;
  if (facts_.serial != db_.transaction_serial()) {
    facts_ = TxnFacts{};
    facts_.serial = db_.transaction_serial();
  }
  return &facts_;
}

Result<bool> SqliteGraphStore::NoRejected() {
  TxnFacts* f = Facts();
  if (!f) return false;  // not known: ask SQLite each time
  if (!f->no_rejected) {
    TOPO_ASSIGN_OR_RETURN(uint64_t any, Count("SELECT EXISTS (SELECT 1 FROM rejected)"));
    f->no_rejected = any == 0;
  }
  return *f->no_rejected;
}

Result<bool> SqliteGraphStore::NoBlocked() {
  TxnFacts* f = Facts();
  if (!f) return false;
  if (!f->no_blocked) {
    TOPO_ASSIGN_OR_RETURN(uint64_t any,
                          Count("SELECT EXISTS (SELECT 1 FROM blocked) OR "
                                "EXISTS (SELECT 1 FROM blocked_deps)"));
    f->no_blocked = any == 0;
  }
  return *f->no_blocked;
}

Status SqliteGraphStore::BeforeCommit() {
  std::map<std::pair<int64_t, VertexId>, HeadChange> changes;
  changes.swap(head_changes_);
  for (const auto& [key, change] : changes) {
    const auto& [obj, id] = key;
    std::string_view sql = change == HeadChange::kRemoved ? kRemoveHead : kAddHead;
    TOPO_RETURN_IF_ERROR(db_.Prepare(sql).Bind(1, obj).Bind(2, id).Run());
  }
  return Status::Ok();
}

void SqliteGraphStore::AfterRollback() {
  head_changes_.clear();
  facts_ = TxnFacts{};
}

void SqliteGraphStore::ForgetIfRolledBack() {
  if (db_.rollback_epoch() == epoch_) return;
  epoch_ = db_.rollback_epoch();
  object_keys_.clear();
  // Every slot filled so far is of an older generation now.
  if (++generation_ == 0) {
    generation_ = 1;
    meta_slots_.reset();
  }
}

std::optional<VertexMeta> SqliteGraphStore::CachedMeta(const VertexId& id) const {
  if (!meta_slots_) return std::nullopt;
  const MetaSlot& s = meta_slots_[FixedBytesHash()(id) & (meta_slot_count_ - 1)];
  if (s.generation != generation_ || s.id != id) return std::nullopt;
  return VertexMeta{s.id, s.object, s.type, s.depth, s.created_at, s.author};
}

void SqliteGraphStore::CacheMeta(const VertexMeta& m) {
  if (meta_slot_count_ == 0) return;
  if (!meta_slots_) meta_slots_ = std::make_unique<MetaSlot[]>(meta_slot_count_);
  MetaSlot& s = meta_slots_[FixedBytesHash()(m.id) & (meta_slot_count_ - 1)];
  s = MetaSlot{m.id, m.object, m.author, m.depth, m.created_at, m.type, generation_};
}

Result<std::optional<int64_t>> SqliteGraphStore::FindObjectKey(const ObjectId& object) {
  ForgetIfRolledBack();
  if (auto it = object_keys_.find(object); it != object_keys_.end())
    return std::optional<int64_t>(it->second);
  Statement& st = db_.Prepare(kFindObject);
  ResetOnExit reset(st);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Bind(1, object).Step());
  if (!row) return std::optional<int64_t>();
  int64_t key = st.Int64(0);
  RememberObjectKey(object, key);
  return std::optional<int64_t>(key);
}

Result<int64_t> SqliteGraphStore::ObjectKey(const ObjectId& object) {
  TOPO_ASSIGN_OR_RETURN(std::optional<int64_t> found, FindObjectKey(object));
  if (found) return *found;
  Statement& st = db_.Prepare(kAddObject);
  ResetOnExit reset(st);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Bind(1, object).Step());
  if (!row) return Status::Internal("INSERT INTO objects returned no key");
  int64_t key = st.Int64(0);
  RememberObjectKey(object, key);
  return key;
}

void SqliteGraphStore::RememberObjectKey(const ObjectId& object, int64_t key) {
  // Bounded: a node with more objects than this looks the rest up again (one indexed read).
  if (object_keys_.size() >= kMaxObjectKeys) object_keys_.clear();
  object_keys_.emplace(object, key);
}

Result<std::optional<VertexMeta>> SqliteGraphStore::GetMeta(const VertexId& id) {
  ForgetIfRolledBack();
  if (std::optional<VertexMeta> cached = CachedMeta(id)) return cached;
  Statement& st = db_.Prepare(kGetMeta);
  ResetOnExit reset(st);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Bind(1, Id8(id.view())).Bind(2, id).Step());
  if (!row) {
    if (TxnFacts* f = Facts()) f->absent = id;
    return std::optional<VertexMeta>();
  }
  VertexMeta m;
  m.id = id;
  m.type = static_cast<uint32_t>(st.Int64(0));
  m.depth = static_cast<uint64_t>(st.Int64(1));
  m.created_at = static_cast<uint64_t>(st.Int64(2));
  TOPO_RETURN_IF_ERROR(ReadHead(st.Blob(3), m));
  CacheMeta(m);
  return std::optional<VertexMeta>(m);
}

Status SqliteGraphStore::PutApplied(const Vertex& v, ByteView raw) {
  ForgetIfRolledBack();
  const int64_t id8 = Id8(v.id.view());
  bool applied = CachedMeta(v.id).has_value();
  TxnFacts* f = Facts();
  if (!applied && !(f && f->absent == v.id)) {
    Statement& st = db_.Prepare(kIsApplied);
    ResetOnExit reset(st);
    TOPO_ASSIGN_OR_RETURN(applied, st.Bind(1, id8).Bind(2, v.id).Step());
  }
  if (applied)
    return Status::AlreadyExists("vertex " + HexEncodeShort(v.id) + " is applied already");
  TOPO_ASSIGN_OR_RETURN(int64_t obj, ObjectKey(v.object()));
  TOPO_RETURN_IF_ERROR(db_.Prepare(kPutApplied)
                           .Bind(1, v.id)
                           .Bind(2, id8)
                           .Bind(3, obj)
                           .Bind(4, int64_t{v.type})
                           .Bind(5, static_cast<int64_t>(v.depth))
                           .Bind(6, static_cast<int64_t>(v.created_at))
                           .Bind(7, static_cast<int64_t>(clock_.NowMs()))
                           .Bind(8, raw)
                           .Run());
  CacheMeta(VertexMeta{v.id, v.object(), v.type, v.depth, v.created_at, v.author});
  if (f) {
    f->absent.reset();
    f->applied = v.id;
  }
  return Status::Ok();
}

Result<Bytes> SqliteGraphStore::GetRaw(const VertexId& id) {
  Statement& st = db_.Prepare(kGetRaw);
  ResetOnExit reset(st);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Bind(1, Id8(id.view())).Bind(2, id).Step());
  if (!row) return NotApplied(id);
  return st.BlobBytes(0);
}

Result<std::optional<graph::GraphStore::Stored>> SqliteGraphStore::GetStored(const VertexId& id) {
  ForgetIfRolledBack();
  // kGetMeta reads the raw column anyway (for the object and author in its head).
  Statement& st = db_.Prepare(kGetMeta);
  ResetOnExit reset(st);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Bind(1, Id8(id.view())).Bind(2, id).Step());
  if (!row) return std::optional<Stored>();
  Stored out;
  out.meta.id = id;
  out.meta.type = static_cast<uint32_t>(st.Int64(0));
  out.meta.depth = static_cast<uint64_t>(st.Int64(1));
  out.meta.created_at = static_cast<uint64_t>(st.Int64(2));
  TOPO_RETURN_IF_ERROR(ReadHead(st.Blob(3), out.meta));
  out.raw = st.BlobBytes(3);
  return std::optional<Stored>(std::move(out));
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
  std::vector<VertexId> heads;
  TOPO_ASSIGN_OR_RETURN(std::optional<int64_t> obj, FindObjectKey(object));
  if (!obj) return heads;
  Statement& st = db_.Prepare(kHeads);
  ResetOnExit reset(st);
  st.Bind(1, *obj);
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TOPO_ASSIGN_OR_RETURN(heads.emplace_back(), st.Fixed<32>(0));
  }
  // With the open transaction's changes, kept in id order.
  for (auto it = head_changes_.lower_bound({*obj, VertexId{}});
       it != head_changes_.end() && it->first.first == *obj; ++it) {
    const VertexId& id = it->first.second;
    auto pos = std::lower_bound(heads.begin(), heads.end(), id);
    const bool present = pos != heads.end() && *pos == id;
    if (it->second == HeadChange::kRemoved) {
      if (present) heads.erase(pos);
    } else if (!present) {
      heads.insert(pos, id);
    }
  }
  return heads;
}

Status SqliteGraphStore::AddHead(const ObjectId& object, const VertexId& id) {
  TOPO_ASSIGN_OR_RETURN(int64_t obj, ObjectKey(object));
  TxnFacts* f = Facts();
  if (!f) return db_.Prepare(kAddHead).Bind(1, obj).Bind(2, id).Run();
  const HeadChange change = f->applied == id ? HeadChange::kAddedNew : HeadChange::kAdded;
  auto [it, inserted] = head_changes_.try_emplace({obj, id}, change);
  if (!inserted && it->second != HeadChange::kAddedNew) it->second = change;
  return Status::Ok();
}

Status SqliteGraphStore::RemoveHead(const ObjectId& object, const VertexId& id) {
  TOPO_ASSIGN_OR_RETURN(std::optional<int64_t> obj, FindObjectKey(object));
  if (!obj) return Status::Ok();
  if (!Facts()) return db_.Prepare(kRemoveHead).Bind(1, *obj).Bind(2, id).Run();
  auto it = head_changes_.find({*obj, id});
  if (it != head_changes_.end() && it->second == HeadChange::kAddedNew) {
    head_changes_.erase(it);  // added and removed within the transaction: SQLite never saw it
    return Status::Ok();
  }
  head_changes_[{*obj, id}] = HeadChange::kRemoved;
  return Status::Ok();
}

Result<std::optional<std::string>> SqliteGraphStore::RejectedReason(const VertexId& id) {
  TOPO_ASSIGN_OR_RETURN(bool none, NoRejected());
  if (none) return std::optional<std::string>();
  Statement& st = db_.Prepare(kRejectedReason);
  ResetOnExit reset(st);
  TOPO_ASSIGN_OR_RETURN(bool row, st.Bind(1, id).Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(st.Text(0)));
}

Status SqliteGraphStore::PutRejected(const VertexId& id, const ObjectId& object,
                                     std::string_view reason, ByteView raw) {
  if (TxnFacts* f = Facts()) f->no_rejected = false;
  return db_.Prepare(kPutRejected)
      .Bind(1, id)
      .Bind(2, object)
      .Bind(3, reason)
      .Bind(4, raw)
      .Bind(5, static_cast<int64_t>(clock_.NowMs()))
      .Run();
}

Result<bool> SqliteGraphStore::IsBlocked(const VertexId& id) {
  TOPO_ASSIGN_OR_RETURN(bool none, NoBlocked());
  if (none) return false;
  Statement& st = db_.Prepare(kIsBlocked);
  ResetOnExit reset(st);
  return st.Bind(1, id).Step();
}

Status SqliteGraphStore::PutBlocked(const VertexId& id, ByteView raw,
                                    const std::vector<VertexId>& missing) {
  if (missing.empty())
    return Status::Internal("vertex " + HexEncodeShort(id) + " blocked on nothing");
  if (TxnFacts* f = Facts()) f->no_blocked = false;
  TOPO_RETURN_IF_ERROR(db_.Prepare(kPutBlocked).Bind(1, id).Bind(2, raw).Run());
  for (const VertexId& dep : missing)
    TOPO_RETURN_IF_ERROR(db_.Prepare(kPutBlockedDep).Bind(1, dep).Bind(2, id).Run());
  return Status::Ok();
}

Result<std::vector<VertexId>> SqliteGraphStore::IdsWaitingOn(const VertexId& dep) {
  std::vector<VertexId> ids;
  TOPO_ASSIGN_OR_RETURN(bool none, NoBlocked());
  if (none) return ids;
  Statement& st = db_.Prepare(kWaitingOn);
  ResetOnExit reset(st);
  st.Bind(1, dep);
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TOPO_ASSIGN_OR_RETURN(ids.emplace_back(), st.Fixed<32>(0));
  }
  return ids;
}

Result<std::vector<Bytes>> SqliteGraphStore::ResolveDependency(const VertexId& arrived) {
  // Most calls find nobody waiting (the ingestor keeps most blocked vertices in memory): a
  // read answers those, where a DELETE ... RETURNING would cost a write statement each.
  TOPO_ASSIGN_OR_RETURN(std::vector<VertexId> waiting, IdsWaitingOn(arrived));
  std::vector<Bytes> ready;
  if (waiting.empty()) return ready;
  TOPO_RETURN_IF_ERROR(db_.Prepare(kDeleteDep).Bind(1, arrived).Run());
  for (const VertexId& id : waiting) {
    {
      Statement& st = db_.Prepare(kStillWaits);
      ResetOnExit reset(st);
      TOPO_ASSIGN_OR_RETURN(bool waits, st.Bind(1, id).Step());
      if (waits) continue;
    }
    Statement& take = db_.Prepare(kTakeBlocked);
    ResetOnExit reset(take);
    TOPO_ASSIGN_OR_RETURN(bool row, take.Bind(1, id).Step());
    // No row: a dependency row without its vertex; nothing waits any more.
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
  TOPO_ASSIGN_OR_RETURN(std::optional<int64_t> obj, FindObjectKey(object));
  if (!obj) return Status::Ok();
  Statement& st = db_.Prepare(kInOrder);
  ResetOnExit reset(st);
  st.Bind(1, *obj);
  VertexMeta m;
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TOPO_ASSIGN_OR_RETURN(m.id, st.Fixed<32>(0));
    m.type = static_cast<uint32_t>(st.Int64(1));
    m.depth = static_cast<uint64_t>(st.Int64(2));
    m.created_at = static_cast<uint64_t>(st.Int64(3));
    ByteView raw = st.Blob(4);
    TOPO_RETURN_IF_ERROR(ReadHead(raw, m));
    if (!fn(m, raw)) break;
  }
  return Status::Ok();
}

Status SqliteGraphStore::ForEachItem(
    const ObjectId& object, uint64_t from_created_at, const VertexId& from_id, uint64_t limit,
    const std::function<bool(uint64_t created_at, const VertexId& id)>& fn) {
  TOPO_ASSIGN_OR_RETURN(std::optional<int64_t> obj, FindObjectKey(object));
  if (!obj || limit == 0) return Status::Ok();
  Statement& st = db_.Prepare(kItemsFrom);
  ResetOnExit reset(st);
  st.Bind(1, *obj)
      .Bind(2, static_cast<int64_t>(from_created_at))
      .Bind(3, from_id)
      .Bind(4, static_cast<int64_t>(std::min<uint64_t>(limit, INT64_MAX)));
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TOPO_ASSIGN_OR_RETURN(VertexId id, st.Fixed<32>(1));
    if (!fn(static_cast<uint64_t>(st.Int64(0)), id)) break;
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
