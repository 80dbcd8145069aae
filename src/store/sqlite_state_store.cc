#include "store/sqlite_state_store.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <tuple>
#include <vector>

namespace topo::store {
namespace {

constexpr std::string_view kGet = "SELECT value FROM state WHERE object = ?1 AND key = ?2";
constexpr std::string_view kPut =
    "INSERT OR REPLACE INTO state (object, key, value) VALUES (?1, ?2, ?3)";
constexpr std::string_view kDelete = "DELETE FROM state WHERE object = ?1 AND key = ?2";
constexpr std::string_view kScanBounded =
    "SELECT key, value FROM state WHERE object = ?1 AND key >= ?2 AND key < ?3 ORDER BY key";
constexpr std::string_view kScanFrom =
    "SELECT key, value FROM state WHERE object = ?1 AND key >= ?2 ORDER BY key";
// Continue a scan past the last row it remembers.
constexpr std::string_view kScanAfterBounded =
    "SELECT key, value FROM state WHERE object = ?1 AND key > ?2 AND key < ?3 ORDER BY key";
constexpr std::string_view kScanAfter =
    "SELECT key, value FROM state WHERE object = ?1 AND key > ?2 ORDER BY key";
constexpr std::string_view kDataVersion = "PRAGMA data_version";

// The overlay is written kBatchRows rows per statement (fewer statements to run at commit);
// what is left over, one row per statement.
constexpr int kBatchRows = 32;

std::string PutManySql() {
  std::string sql = "INSERT OR REPLACE INTO state (object, key, value) VALUES ";
  for (int i = 0; i < kBatchRows; ++i) sql += i ? ", (?, ?, ?)" : "(?, ?, ?)";
  return sql;
}

std::string DeleteManySql() {
  std::string sql = "DELETE FROM state WHERE object = ?1 AND key IN (";
  for (int i = 0; i < kBatchRows; ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 2);
  return sql + ")";
}

constexpr size_t kObjectSize = ObjectId::kSize;
// What an entry costs beyond its key and value bytes (map node, allocations); only used to
// keep the budgets roughly honest.
constexpr size_t kEntryOverhead = 64;

ByteView ViewOf(std::string_view s) { return AsBytes(s); }
ByteView ObjectPart(std::string_view k) { return ViewOf(k.substr(0, kObjectSize)); }
ByteView KeyPart(std::string_view k) { return ViewOf(k.substr(kObjectSize)); }

size_t HashOf(std::string_view key) { return std::hash<std::string_view>()(key); }

// Unsigned bytewise, then by length: the order of blobs in SQLite and of std::string.
int CompareBytes(ByteView a, ByteView b) {
  const size_t n = std::min(a.size(), b.size());
  if (n != 0) {
    int c = std::memcmp(a.data(), b.data(), n);
    if (c != 0) return c;
  }
  return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::optional<Bytes> PrefixSuccessor(ByteView prefix) {
  Bytes s(prefix.begin(), prefix.end());
  while (!s.empty() && s.back() == 0xff) s.pop_back();
  if (s.empty()) return std::nullopt;
  ++s.back();
  return s;
}

// ------------------------------------------------------------------------- CleanCache

SqliteStateStore::CleanCache::CleanCache(size_t budget_bytes) {
  if (budget_bytes >= 512) slots_.resize(std::bit_floor(budget_bytes / 512));
}

const SqliteStateStore::CleanCache::Slot* SqliteStateStore::CleanCache::Find(std::string_view key,
                                                                             size_t hash) const {
  if (slots_.empty()) return nullptr;
  const Slot& s = slots_[hash & (slots_.size() - 1)];
  return s.generation == generation_ && s.hash == hash && s.key == key ? &s : nullptr;
}

void SqliteStateStore::CleanCache::Insert(std::string_view key, size_t hash,
                                          const std::optional<ByteView>& value) {
  if (slots_.empty()) return;
  Slot& s = slots_[hash & (slots_.size() - 1)];
  if (value && value->size() > kMaxCleanValue) {
    if (s.key == key) s.generation = 0;  // too large to keep; forget an older value
    return;
  }
  s.generation = generation_;
  s.hash = hash;
  s.key.assign(key);  // reuses the slot's buffers
  s.present = value.has_value();
  if (value) {
    s.value.assign(value->begin(), value->end());
  } else {
    s.value.clear();
  }
  inserted_ = generation_;
}

void SqliteStateStore::CleanCache::Erase(std::string_view key, size_t hash) {
  if (slots_.empty()) return;
  Slot& s = slots_[hash & (slots_.size() - 1)];
  if (s.key == key) s.generation = 0;
}

void SqliteStateStore::CleanCache::Update(std::string_view key, size_t hash,
                                          const std::optional<ByteView>& value) {
  if (Find(key, hash)) Insert(key, hash, value);
}

// ------------------------------------------------------------------------- SqliteStateStore

SqliteStateStore::SqliteStateStore(Database& db, StateCacheOptions options)
    : db_(db), options_(options), clean_(options.clean_bytes) {
  db_.AddParticipant(this);
}

SqliteStateStore::~SqliteStateStore() {
  db_.RemoveParticipant(this);
  // The writes belong to the open transaction: whoever commits it expects them there.
  if (db_.in_transaction() && !dirty_.empty() && busy_ == 0) (void)WriteOverlay();
}

SqliteStateStore::BusyScope::~BusyScope() {
  if (--s_.busy_ == 0 && s_.rollback_pending_) {
    s_.rollback_pending_ = false;
    s_.DropAll();
  }
}

void SqliteStateStore::ReleaseOverlay() {
  dirty_.clear();
  arena_.release();
  dirty_bytes_ = 0;
}

void SqliteStateStore::DropAll() {
  if (!clean_.empty()) ++stats_.clean_drops;
  ReleaseOverlay();
  clean_.Clear();
  scans_.clear();
  scan_bytes_ = 0;
  clean_checked_ = false;
}

Status SqliteStateStore::BeforeCommit() {
  if (busy_ != 0) return Status::Internal("state store: commit while a state scan runs");
  Status st = WriteOverlay();
  scans_.clear();  // the transaction ends: the next one may follow another connection's commit
  scan_bytes_ = 0;
  clean_checked_ = false;
  return st;
}

void SqliteStateStore::AfterRollback() { Forget(); }

void SqliteStateStore::Forget() {
  // Iterations over the overlay or scan rows may be under way (SQLite rolls back on its own
  // after some errors, inside a statement this store runs): drop everything once they end.
  if (busy_ != 0) {
    rollback_pending_ = true;
    return;
  }
  DropAll();
}

Status SqliteStateStore::CheckTxnState() {
  if (db_.in_transaction()) return Status::Ok();
  // Outside a transaction other connections may commit at any moment: the clean cache is
  // checked again when the next transaction uses it.
  clean_checked_ = false;
  if (dirty_.empty() && scans_.empty()) return Status::Ok();
  // The transaction ended without BeforeCommit or AfterRollback.
  const size_t lost = dirty_.size();
  Forget();
  if (lost == 0) return Status::Ok();
  return Status::Internal("state store: " + std::to_string(lost) +
                          " writes were lost: their transaction ended without "
                          "Database::Commit or Rollback");
}

Status SqliteStateStore::ValidateClean() {
  if (clean_checked_) return Status::Ok();
  // data_version changes when another connection commits; never for this one's commits.
  Statement& st = db_.Prepare(kDataVersion);
  Result<bool> row = st.Step();
  int64_t version = (row.ok() && *row) ? st.Int64(0) : -1;
  st.Reset();
  if (!row.ok()) return row.status();
  if (version != data_version_) {
    if (!clean_.empty()) ++stats_.clean_drops;
    clean_.Clear();
    data_version_ = version;
  }
  clean_checked_ = true;
  return Status::Ok();
}

std::string_view SqliteStateStore::LookupKey(const ObjectId& object, ByteView key) {
  scratch_.assign(AsChars(object.view()));
  scratch_.append(AsChars(key));
  return scratch_;
}

Result<std::optional<Bytes>> SqliteStateStore::ReadRow(const ObjectId& object, ByteView key) {
  ++stats_.get_misses;
  Statement& st = db_.Prepare(kGet);
  Result<bool> row = st.Bind(1, object).Bind(2, key).Step();
  std::optional<Bytes> value;
  if (row.ok() && *row) value = st.BlobBytes(0);
  st.Reset();
  if (!row.ok()) return row.status();
  return value;
}

Status SqliteStateStore::WriteRow(ByteView object, ByteView key,
                                  const std::optional<ByteView>& value) {
  ++stats_.rows_written;
  if (value) return db_.Prepare(kPut).Bind(1, object).Bind(2, key).Bind(3, *value).Run();
  return db_.Prepare(kDelete).Bind(1, object).Bind(2, key).Run();
}

Status SqliteStateStore::WriteOverlay() {
  // SQLite's rows change from here on: the rows remembered from scans no longer hold, even
  // if a write fails half-way.
  scans_.clear();
  scan_bytes_ = 0;
  if (dirty_.empty()) return Status::Ok();
  BusyScope busy(*this);

  // In key order, so that consecutive writes land on the same B-tree pages. On an error the
  // overlay stays whole: the rows written so far hold the same values.
  static const std::string kPutMany = PutManySql();
  static const std::string kDeleteMany = DeleteManySql();
  std::vector<const Overlay::value_type*> puts, deletes;
  for (const auto& entry : dirty_) {
    (entry.second.present ? puts : deletes).push_back(&entry);
  }
  size_t i = 0;
  for (; i + kBatchRows <= puts.size(); i += kBatchRows) {
    Statement& st = db_.Prepare(kPutMany);
    for (int r = 0; r < kBatchRows; ++r) {
      const auto& [key, d] = *puts[i + r];
      st.Bind(3 * r + 1, ObjectPart(key))
          .Bind(3 * r + 2, KeyPart(key))
          .Bind(3 * r + 3, ViewOf(d.value));
    }
    TOPO_RETURN_IF_ERROR(st.Run());
    stats_.rows_written += kBatchRows;
  }
  for (; i < puts.size(); ++i) {
    const auto& [key, d] = *puts[i];
    TOPO_RETURN_IF_ERROR(WriteRow(ObjectPart(key), KeyPart(key), ViewOf(d.value)));
  }
  // Deletions kBatchRows at a time when they share an object (IN needs one object).
  for (i = 0; i < deletes.size();) {
    std::string_view object = std::string_view(deletes[i]->first).substr(0, kObjectSize);
    size_t n = 0;
    while (i + n < deletes.size() && n < kBatchRows &&
           std::string_view(deletes[i + n]->first).substr(0, kObjectSize) == object)
      ++n;
    if (n < kBatchRows) {
      for (size_t j = 0; j < n; ++j)
        TOPO_RETURN_IF_ERROR(
            WriteRow(ObjectPart(deletes[i + j]->first), KeyPart(deletes[i + j]->first), {}));
    } else {
      Statement& st = db_.Prepare(kDeleteMany);
      st.Bind(1, ViewOf(object));
      for (int r = 0; r < kBatchRows; ++r) st.Bind(r + 2, KeyPart(deletes[i + r]->first));
      TOPO_RETURN_IF_ERROR(st.Run());
      stats_.rows_written += kBatchRows;
    }
    i += n;
  }

  // The clean cache keeps what SQLite holds: update the entries it has of the rows written.
  // Entries older than this transaction may be stale if another connection committed before
  // it began: check that first.
  if (ValidateClean().ok()) {
    for (const auto& [key, d] : dirty_) {
      if (d.present) {
        clean_.Update(key, HashOf(key), ViewOf(d.value));
      } else {
        clean_.Update(key, HashOf(key), std::nullopt);
      }
    }
  } else {
    clean_.Clear();
  }
  ReleaseOverlay();
  return Status::Ok();
}

Status SqliteStateStore::Flush() {
  if (busy_ != 0) return Status::Internal("state store: Flush while a state scan runs");
  TOPO_RETURN_IF_ERROR(CheckTxnState());
  return WriteOverlay();
}

Status SqliteStateStore::MaybeSpill() {
  // Not while a scan iterates the overlay; the next write outside it spills.
  if (dirty_bytes_ <= options_.dirty_bytes || busy_ != 0) return Status::Ok();
  ++stats_.spills;
  return WriteOverlay();
}

SqliteStateStore::Dirty& SqliteStateStore::DirtyEntry(const ObjectId& object, ByteView key) {
  std::string_view k = LookupKey(object, key);
  auto it = dirty_.lower_bound(k);
  if (it != dirty_.end() && it->first == k) return it->second;
  it = dirty_.emplace_hint(it, std::piecewise_construct, std::forward_as_tuple(k),
                           std::forward_as_tuple());
  dirty_bytes_ += k.size() + kEntryOverhead;
  return it->second;
}

Result<std::optional<Bytes>> SqliteStateStore::Get(const ObjectId& object, ByteView key) {
  TOPO_RETURN_IF_ERROR(CheckTxnState());
  if (!db_.in_transaction()) return ReadRow(object, key);
  std::string_view k = LookupKey(object, key);
  if (auto it = dirty_.find(k); it != dirty_.end()) {
    ++stats_.get_hits;
    if (!it->second.present) return std::optional<Bytes>();
    ByteView v = ViewOf(it->second.value);
    return std::optional<Bytes>(std::in_place, v.begin(), v.end());
  }
  TOPO_RETURN_IF_ERROR(ValidateClean());
  const size_t hash = HashOf(k);
  if (const CleanCache::Slot* s = clean_.Find(k, hash)) {
    ++stats_.get_hits;
    if (!s->present) return std::optional<Bytes>();
    return std::optional<Bytes>(s->value);
  }
  TOPO_ASSIGN_OR_RETURN(auto value, ReadRow(object, key));
  clean_.Insert(k, hash, value ? std::optional<ByteView>(*value) : std::nullopt);
  return value;
}

Status SqliteStateStore::Put(const ObjectId& object, ByteView key, ByteView value) {
  TOPO_RETURN_IF_ERROR(CheckTxnState());
  if (!db_.in_transaction()) {
    std::string_view k = LookupKey(object, key);
    clean_.Erase(k, HashOf(k));  // whether or not the write succeeds
    return WriteRow(object.view(), key, value);
  }
  Dirty& d = DirtyEntry(object, key);
  d.present = true;
  d.value.assign(AsChars(value));
  dirty_bytes_ += value.size();
  return MaybeSpill();
}

Status SqliteStateStore::PutNew(const ObjectId& object, ByteView key, ByteView value) {
  TOPO_RETURN_IF_ERROR(CheckTxnState());
  if (!db_.in_transaction()) return Put(object, key, value);
  const size_t before = dirty_.size();
  Dirty& d = DirtyEntry(object, key);
  if (dirty_.size() != before) d.fresh = true;  // a new entry: nothing of it in SQLite
  d.present = true;
  d.value.assign(AsChars(value));
  dirty_bytes_ += value.size();
  return MaybeSpill();
}

Status SqliteStateStore::Delete(const ObjectId& object, ByteView key) {
  TOPO_RETURN_IF_ERROR(CheckTxnState());
  if (!db_.in_transaction()) {
    std::string_view k = LookupKey(object, key);
    clean_.Erase(k, HashOf(k));
    return WriteRow(object.view(), key, std::nullopt);
  }
  if (busy_ == 0) {
    // Put and deleted in this transaction, never in SQLite: forget it (not while a scan
    // iterates the overlay).
    auto it = dirty_.find(LookupKey(object, key));
    if (it != dirty_.end() && it->second.fresh) {
      dirty_.erase(it);
      return Status::Ok();
    }
  }
  Dirty& d = DirtyEntry(object, key);
  d.present = false;
  d.value.clear();
  return MaybeSpill();
}

Status SqliteStateStore::Scan(const ObjectId& object, ByteView prefix,
                              const std::function<bool(ByteView, ByteView)>& fn) {
  return ScanFrom(object, prefix, prefix, fn);
}

Status SqliteStateStore::ScanFrom(const ObjectId& object, ByteView prefix, ByteView from,
                                  const std::function<bool(ByteView, ByteView)>& fn) {
  TOPO_RETURN_IF_ERROR(CheckTxnState());
  if (!db_.in_transaction()) return ScanSqlite(object, prefix, from, fn);
  return ScanMerged(object, prefix, from, fn);
}

Status SqliteStateStore::ScanSqlite(const ObjectId& object, ByteView prefix, ByteView from,
                                    const std::function<bool(ByteView, ByteView)>& fn) {
  std::optional<Bytes> end = PrefixSuccessor(prefix);
  Statement& st = db_.Prepare(end ? kScanBounded : kScanFrom);
  st.Bind(1, object).Bind(2, from);
  if (end) st.Bind(3, ByteView(*end));
  Status status;
  for (;;) {
    Result<bool> row = st.Step();
    if (!row.ok()) {
      status = row.status();
      break;
    }
    if (!*row) break;
    ++stats_.scan_rows_read;
    if (!fn(st.Blob(0), st.Blob(1))) break;
  }
  st.Reset();
  return status;
}

// Three sources, merged in key order: the rows remembered from earlier scans of this prefix
// in this transaction, then SQLite's rows past them (remembered as they are read), and the
// overlay, whose entries replace SQLite rows of the same key (a deletion hides the row).
Status SqliteStateStore::ScanMerged(const ObjectId& object, ByteView prefix, ByteView from,
                                    const std::function<bool(ByteView, ByteView)>& fn) {
  // fn may call Scan again (a nested scan): that one neither uses nor remembers rows, since
  // the outer one holds references into them, and runs its own statement.
  const bool nested = busy_ != 0;
  // A scan from past the prefix's first key would leave a gap in what it remembers.
  const bool from_start = from.size() == prefix.size();
  BusyScope busy(*this);
  std::string at(AsChars(object.view()));
  at.append(AsChars(prefix));
  ScanRows* known = nullptr;
  if (!nested && from_start) {
    if (auto it = scans_.find(at); it != scans_.end()) {
      known = &it->second;
    } else if (scan_bytes_ + at.size() + kEntryOverhead <= options_.scan_bytes) {
      scan_bytes_ += at.size() + kEntryOverhead;
      known = &scans_[at];
    }
  }
  bool recording = known != nullptr && !known->complete;
  size_t next_known = 0;

  const std::optional<Bytes> end = PrefixSuccessor(prefix);
  Bytes after;  // the last remembered row's key, bound while SQLite is stepped
  Statement* st = nullptr;
  std::optional<Statement> own;  // a nested scan's statement
  bool sql_done = known != nullptr && known->complete;

  // The current row of the SQLite side (remembered or stepped); row_valid is false at its
  // end.
  ByteView row_key, row_value;
  bool row_valid = false;
  auto advance = [&]() -> Status {
    if (known && next_known < known->rows.size()) {
      const auto& [k, v] = known->rows[next_known++];
      row_key = k;
      row_value = v;
      row_valid = true;
      return Status::Ok();
    }
    row_valid = false;
    if (sql_done) return Status::Ok();
    if (!st) {
      const bool resume = known && !known->rows.empty();
      std::string_view sql =
          resume ? (end ? kScanAfterBounded : kScanAfter) : (end ? kScanBounded : kScanFrom);
      if (nested) {
        TOPO_ASSIGN_OR_RETURN(Statement s, db_.PrepareUncached(sql));
        st = &own.emplace(std::move(s));
      } else {
        st = &db_.Prepare(sql);
      }
      if (resume) after = known->rows.back().first;
      st->Bind(1, object).Bind(2, resume ? ByteView(after) : from);
      if (end) st->Bind(3, ByteView(*end));
    }
    TOPO_ASSIGN_OR_RETURN(bool got, st->Step());
    if (!got) {
      sql_done = true;
      if (recording) known->complete = true;
      return Status::Ok();
    }
    ++stats_.scan_rows_read;
    row_key = st->Blob(0);
    row_value = st->Blob(1);
    row_valid = true;
    if (recording) {
      const size_t bytes = row_key.size() + row_value.size() + kEntryOverhead;
      if (scan_bytes_ + bytes > options_.scan_bytes) {
        recording = false;  // what is remembered stays exact: a run from the prefix on
      } else {
        scan_bytes_ += bytes;
        known->rows.emplace_back(Bytes(row_key.begin(), row_key.end()),
                                 Bytes(row_value.begin(), row_value.end()));
        ++next_known;
      }
    }
    return Status::Ok();
  };

  std::string start(AsChars(object.view()));
  start.append(AsChars(from));
  auto ov = dirty_.lower_bound(std::string_view(start));
  Status status = advance();
  while (status.ok()) {
    const bool have_ov = ov != dirty_.end() && StartsWith(ov->first, at);
    if (!row_valid && !have_ov) break;
    int cmp = 1;  // > 0: the overlay entry comes first
    if (row_valid && have_ov) {
      cmp = CompareBytes(row_key, KeyPart(ov->first));
    } else if (row_valid) {
      cmp = -1;
    }
    if (cmp < 0) {
      if (!fn(row_key, row_value)) break;
      status = advance();
      continue;
    }
    const auto& [okey, entry] = *ov;
    ++ov;
    if (entry.present && !fn(KeyPart(okey), ViewOf(entry.value))) break;
    if (cmp == 0) status = advance();  // the overlay's entry replaced this row
  }
  if (st) st->Reset();
  return status;
}

}  // namespace topo::store
