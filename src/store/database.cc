#include "store/database.h"

#include <sqlite3.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace topo::store {
namespace {

// A non-null pointer for zero-length text and blobs: SQLite binds a null pointer as NULL.
constexpr char kEmpty[1] = {0};

Status FromSqlite(int rc, std::string_view message, std::string_view context) {
  std::string m = "sqlite: ";
  m.append(message);
  if (!context.empty()) {
    m.append(" [");
    m.append(context.substr(0, 80));
    if (context.size() > 80) m.append("...");
    m.append("]");
  }
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
    return Status::AlreadyExists(m);
  int primary = rc & 0xff;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return Status::Corruption(m);
  return Status::IOError(m);
}

std::string_view Trimmed(std::string_view sql) {
  size_t b = sql.find_first_not_of(" \t\r\n");
  return b == std::string_view::npos ? std::string_view() : sql.substr(b);
}

// The error a user sees when Open fails on `rc`.
Status OpenError(const std::string& path, const OpenOptions& options, sqlite3* db, int rc) {
  std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::IOError("database '" + path + "' is locked by another process (waited " +
                             std::to_string(options.busy_timeout_ms) + " ms)");
    case SQLITE_NOTADB:
      return Status::Corruption("'" + path +
                                "' is not a topo database (not an SQLite file, or damaged)");
    case SQLITE_CORRUPT:
      return Status::Corruption("database '" + path + "' is damaged: " + detail);
    case SQLITE_CANTOPEN: {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec) && !options.create_if_missing)
        return Status::NotFound("database '" + path + "' does not exist");
      return Status::IOError("cannot open database '" + path + "': " + detail);
    }
    default:
      return Status::IOError("database '" + path + "': " + detail);
  }
}

// Runs a pragma that returns one integer (or, for journal_mode, text we do not need).
int QueryInt(sqlite3* db, const char* sql, int64_t* out) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    if (out) *out = sqlite3_column_int64(stmt, 0);
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  }
  sqlite3_finalize(stmt);
  return rc;
}

}  // namespace

// ---------------------------------------------------------------------------- Statement

Statement::Statement(Statement&& o) noexcept
    : stmt_(o.stmt_), status_(std::move(o.status_)), bind_status_(std::move(o.bind_status_)) {
  o.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    stmt_ = o.stmt_;
    o.stmt_ = nullptr;
    status_ = std::move(o.status_);
    bind_status_ = std::move(o.bind_status_);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::NoteBind(int rc, int index) {
  if (rc == SQLITE_OK || !bind_status_.ok()) return;
  bind_status_ = FromSqlite(
      rc, "binding parameter " + std::to_string(index) + ": " + sqlite3_errstr(rc), sql());
}

Statement& Statement::Bind(int index, int64_t value) {
  if (stmt_) NoteBind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  if (text.size() > INT_MAX) {
    NoteBind(SQLITE_TOOBIG, index);
  } else if (stmt_) {
    const char* p = text.data() ? text.data() : kEmpty;
    NoteBind(sqlite3_bind_text(stmt_, index, p, static_cast<int>(text.size()), SQLITE_STATIC),
             index);
  }
  return *this;
}

Statement& Statement::Bind(int index, ByteView blob) {
  if (blob.size() > INT_MAX) {
    NoteBind(SQLITE_TOOBIG, index);
  } else if (stmt_) {
    const void* p = blob.data() ? static_cast<const void*>(blob.data()) : kEmpty;
    NoteBind(sqlite3_bind_blob(stmt_, index, p, static_cast<int>(blob.size()), SQLITE_STATIC),
             index);
  }
  return *this;
}

Statement& Statement::BindNull(int index) {
  if (stmt_) NoteBind(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

Result<bool> Statement::Step() {
  if (!status_.ok()) return status_;
  if (!bind_status_.ok()) return bind_status_;
  if (!stmt_) return Status::Internal("stepping an empty statement");
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    sqlite3_reset(stmt_);
    return false;
  }
  Status st = FromSqlite(rc, sqlite3_errmsg(sqlite3_db_handle(stmt_)), sql());
  sqlite3_reset(stmt_);
  return st;
}

Status Statement::Run() {
  for (;;) {
    Result<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

void Statement::Reset() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  bind_status_ = Status::Ok();
}

int Statement::column_count() const { return stmt_ ? sqlite3_column_count(stmt_) : 0; }

bool Statement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int64_t Statement::Int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string_view Statement::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);  // after column_text, as SQLite requires
  if (!p) return {};
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(n)};
}

ByteView Statement::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);  // after column_blob, as SQLite requires
  if (!p) return {};
  return {static_cast<const uint8_t*>(p), static_cast<size_t>(n)};
}

Bytes Statement::BlobBytes(int col) const {
  ByteView b = Blob(col);
  return Bytes(b.begin(), b.end());
}

Status Statement::WrongSize(int col, size_t want, size_t got) const {
  const char* name = sqlite3_column_name(stmt_, col);
  return Status::Corruption("column " + std::string(name ? name : "?") + " holds " +
                            std::to_string(got) + " bytes, expected " + std::to_string(want) +
                            " [" + std::string(sql().substr(0, 80)) + "]");
}

std::string_view Statement::sql() const {
  const char* s = stmt_ ? sqlite3_sql(stmt_) : nullptr;
  return s ? Trimmed(s) : std::string_view();
}

// ---------------------------------------------------------------------------- Database

Result<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                 const OpenOptions& options) {
  if (options.target_schema_version < 0 || options.target_schema_version > kSchemaVersion)
    return Status::InvalidArgument("schema version " +
                                   std::to_string(options.target_schema_version) +
                                   " is not one this topo knows");
  int flags = SQLITE_OPEN_NOMUTEX;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create_if_missing) flags |= SQLITE_OPEN_CREATE;
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // Even a failed open may allocate a handle; the Database closes it either way.
  std::unique_ptr<Database> db(new Database(raw, path));
  if (rc != SQLITE_OK) return OpenError(path, options, raw, rc);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  sqlite3_rollback_hook(raw, &Database::OnRollback, db.get());
  sqlite3_commit_hook(raw, &Database::OnCommit, db.get());
  TOPO_RETURN_IF_ERROR(db->Configure(options));
  return db;
}

Status Database::Configure(const OpenOptions& options) {
  const bool in_memory = path_.empty() || path_ == ":memory:";
  int64_t app_id = 0, version = 0, tables = 0;
  // Reading the header is the first real I/O: it is where a non-database or locked file fails.
  int rc = QueryInt(db_, "PRAGMA application_id", &app_id);
  if (rc == SQLITE_OK) rc = QueryInt(db_, "PRAGMA user_version", &version);
  if (rc == SQLITE_OK) rc = QueryInt(db_, "SELECT count(*) FROM sqlite_master", &tables);
  if (rc != SQLITE_OK) return OpenError(path_, options, db_, rc);

  if (app_id != 0 && app_id != kApplicationId)
    return Status::InvalidArgument("'" + path_ +
                                   "' is an SQLite database of another application, not topo");
  if (app_id == 0 && version == 0 && tables > 0)
    return Status::InvalidArgument("'" + path_ + "' is an SQLite database but not a topo one");
  const int target = options.target_schema_version;
  if (version > target)
    return Status::InvalidArgument(path_ + ": database schema version " + std::to_string(version) +
                                   " is newer than this topo (" + std::to_string(target) +
                                   "); upgrade topo");
  if (version < target && options.read_only)
    return Status::InvalidArgument(path_ + ": database schema version " + std::to_string(version) +
                                   " is older than this topo (" + std::to_string(target) +
                                   "); open it once read-write to upgrade it");

  if (!options.read_only && !in_memory) {
    rc = QueryInt(db_, "PRAGMA journal_mode = WAL", nullptr);
    if (rc != SQLITE_OK) return OpenError(path_, options, db_, rc);
  }
  std::string pragmas =
      "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; PRAGMA cache_size = -" +
      std::to_string(options.cache_size_kib > 0 ? options.cache_size_kib
                                                : OpenOptions().cache_size_kib) +
      "; PRAGMA journal_size_limit = " + std::to_string(options.journal_size_limit_bytes);
  const bool background = options.background_checkpoints && options.wal_autocheckpoint_pages > 0 &&
                          !options.read_only && !in_memory;
  if (options.wal_autocheckpoint_pages > 0 && !background)
    pragmas += "; PRAGMA wal_autocheckpoint = " + std::to_string(options.wal_autocheckpoint_pages);
  rc = sqlite3_exec(db_, pragmas.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return OpenError(path_, options, db_, rc);
  if (background) {
    // Replaces SQLite's automatic checkpoint (itself a WAL hook).
    checkpoint_pages_ = options.wal_autocheckpoint_pages;
    checkpointer_ = std::make_unique<Checkpointer>(path_);
    sqlite3_wal_hook(db_, &Database::OnWal, this);
  }

  if (version < target) {
    Status st = Migrate(*this, static_cast<int>(version), target);
    if (!st.ok()) return Status(st.code(), path_ + ": " + st.message());
  }
  return Status::Ok();
}

Database::~Database() {
  participants_.clear();
  if (in_transaction()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  cache_.clear();  // finalize before close
  // Its connection first: closing the last connection is what checkpoints the whole WAL
  // and removes the file.
  checkpointer_.reset();
  sqlite3_close_v2(db_);
}

int Database::OnWal(void* self, sqlite3* db, const char* name, int frames) {
  auto* d = static_cast<Database*>(self);
  const int pages = d->checkpoint_pages_;
  if (frames < pages) return SQLITE_OK;
  if (frames < pages * kInlineCheckpointFactor) {
    // Not at every commit: the log starts over only at a write that begins while no
    // checkpoint runs, so a thread kept busy by small transactions would stop it from ever
    // restarting. Once more per eighth of the threshold written, or once the log restarted.
    const int asked = d->checkpoint_asked_at_;
    if (frames >= asked && frames < asked + std::max(1, pages / 8)) return SQLITE_OK;
    if (d->checkpointer_->Request()) {
      d->checkpoint_asked_at_ = frames;
      return SQLITE_OK;
    }
  }
  // As SQLite's own hook does: a PASSIVE checkpoint in the commit. The writer holds no
  // snapshot now, so it copies everything no reader needs and the next write restarts the log.
  ++d->inline_checkpoints_;
  sqlite3_wal_checkpoint(db, name);
  return SQLITE_OK;
}

CheckpointStats Database::checkpoint_stats() const {
  return checkpointer_ ? checkpointer_->stats() : CheckpointStats{};
}

Status Database::Exec(std::string_view sql) {
  const char* p = sql.data();
  const char* end = p + sql.size();
  while (p < end) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_, p, static_cast<int>(end - p), &raw, &tail);
    if (rc != SQLITE_OK)
      return FromSqlite(rc, sqlite3_errmsg(db_), Trimmed(std::string_view(p, end - p)));
    if (!raw) break;  // only whitespace or comments remain
    Statement st(raw, Status::Ok());
    TOPO_RETURN_IF_ERROR(st.Run());
    p = tail;
  }
  return Status::Ok();
}

Statement& Database::Prepare(std::string_view sql) {
  // Most texts are constants, passed from the same address every time: found by it first,
  // which hashes nothing. The text is still compared (another string may use the address).
  RecentStatement& recent =
      recent_[(reinterpret_cast<uintptr_t>(sql.data()) >> 4) % recent_.size()];
  if (recent.key && recent.data == sql.data() && recent.key->size() == sql.size() &&
      std::memcmp(recent.key->data(), sql.data(), sql.size()) == 0) {
    recent.st->Reset();
    return *recent.st;
  }
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    recent = RecentStatement{sql.data(), &it->first, it->second.get()};
    return *it->second;
  }
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK || !raw) {
    // Not cached: the statement may prepare later (a projection table created since).
    sqlite3_finalize(raw);
    failed_ = Statement(nullptr, rc != SQLITE_OK ? FromSqlite(rc, sqlite3_errmsg(db_), sql)
                                                 : Status::InvalidArgument("empty SQL statement"));
    return failed_;
  }
  auto st = std::unique_ptr<Statement>(new Statement(raw, Status::Ok()));
  Statement& ref = *st;
  auto [added, _] = cache_.emplace(std::string(sql), std::move(st));
  recent = RecentStatement{sql.data(), &added->first, &ref};
  return ref;
}

Result<Statement> Database::PrepareUncached(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return FromSqlite(rc, sqlite3_errmsg(db_), sql);
  }
  if (!raw) return Status::InvalidArgument("empty SQL statement");
  return Statement(raw, Status::Ok());
}

Status Database::Begin() {
  ++transaction_serial_;
  return Prepare("BEGIN IMMEDIATE").Run();
}

Status Database::BeginRead() {
  ++transaction_serial_;
  return Prepare("BEGIN DEFERRED").Run();
}
Status Database::Commit() {
  // Newest first: a participant registered later is built on earlier ones (an engine on its
  // state store) and may still write through them.
  for (auto it = participants_.rbegin(); it != participants_.rend(); ++it)
    TOPO_RETURN_IF_ERROR((*it)->BeforeCommit());
  TOPO_RETURN_IF_ERROR(Prepare("COMMIT").Run());
  for (TxnParticipant* p : participants_) p->AfterCommit();
  return Status::Ok();
}

int Database::OnCommit(void* self) {
  ++static_cast<Database*>(self)->transaction_serial_;
  return 0;  // let the commit proceed
}

void Database::OnRollback(void* self) {
  auto* db = static_cast<Database*>(self);
  ++db->rollback_epoch_;
  ++db->transaction_serial_;
  for (TxnParticipant* p : db->participants_) p->AfterRollback();
}

void Database::AddParticipant(TxnParticipant* p) { participants_.push_back(p); }

void Database::RemoveParticipant(TxnParticipant* p) { std::erase(participants_, p); }
Status Database::Rollback() {
  if (!in_transaction()) return Status::Ok();
  return Prepare("ROLLBACK").Run();
}
bool Database::in_transaction() const { return db_ && sqlite3_get_autocommit(db_) == 0; }

Result<int> Database::SchemaVersion() {
  Statement& st = Prepare("PRAGMA user_version");
  TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Internal("PRAGMA user_version returned no row");
  int v = static_cast<int>(st.Int64(0));
  st.Reset();
  return v;
}

// ---------------------------------------------------------------------------- Transaction

Result<Transaction> Transaction::Begin(Database& db) {
  TOPO_RETURN_IF_ERROR(db.Begin());
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_) (void)db_->Rollback();
}

Status Transaction::Commit() {
  if (!db_) return Status::Internal("transaction already finished");
  Status st = db_->Commit();
  // A failed COMMIT may leave the transaction open (the destructor rolls it back) or SQLite
  // may have rolled it back already.
  if (st.ok() || !db_->in_transaction()) db_ = nullptr;
  return st;
}

Status Transaction::Rollback() {
  if (!db_) return Status::Internal("transaction already finished");
  Status st = db_->Rollback();
  db_ = nullptr;
  return st;
}

Result<ReadTransaction> ReadTransaction::Begin(Database& db) {
  if (db.in_transaction())
    return Status::Internal("a read transaction cannot begin inside another transaction");
  TOPO_RETURN_IF_ERROR(db.BeginRead());
  return ReadTransaction(&db);
}

ReadTransaction::~ReadTransaction() {
  if (db_) (void)End();
}

Status ReadTransaction::End() {
  if (!db_) return Status::Internal("read transaction already ended");
  Database* db = db_;
  db_ = nullptr;
  // Nothing was written, so there is nothing for the participants to do: COMMIT only
  // releases the snapshot.
  if (!db->in_transaction()) return Status::Ok();
  return db->Prepare("COMMIT").Run();
}

}  // namespace topo::store
