// Database: one SQLite connection (RAII over sqlite3*), its prepared statements and its
// transactions. Every table topo keeps lives in one database file; store/schema.h says which.
//
// Open() brings the file to the schema version this binary writes (running migrations, one
// transaction each) and sets the connection up: WAL journal (files only), synchronous=NORMAL,
// foreign keys off, a 5 s busy timeout, a 24 MiB page cache, a checkpoint once the WAL holds
// 10,000 pages (run by a thread of its own, store/checkpointer.h), and the WAL file truncated
// back to 64 MiB after one (see OpenOptions).
//
// Errors: every failure is a Status, never an exception. SQLite's own message is kept;
// SQLITE_CORRUPT and SQLITE_NOTADB become Corruption, a duplicate primary or unique key
// AlreadyExists, everything else IOError.
//
// Thread-safety: a Database and its statements belong to one thread at a time (the connection
// is opened without SQLite's mutex). Use one Database per thread, or serialise access.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/checkpointer.h"
#include "store/schema.h"
#include "util/bytes.h"
#include "util/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace topo::store {

// A prepared statement (RAII over sqlite3_stmt*). Move-only.
//
// Binding never fails on the spot: the first bind error (index out of range, a statement that
// did not prepare) is kept and returned by the next Step(), so binds chain:
//   st.Bind(1, id).Bind(2, depth);  auto row = st.Step();
//
// Bound text and blobs are NOT copied: the bytes must stay valid until the last Step() of
// this use of the statement (until Reset() or the next Bind of that index).
// Column views (Text, Blob) stay valid until the next Step() or Reset().
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Indexes start at 1, as in SQL ("?1").
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, ByteView blob);  // an empty blob binds as a zero-length blob
  template <size_t N>
  Statement& Bind(int index, const FixedBytes<N>& blob) {
    return Bind(index, blob.view());
  }
  Statement& BindNull(int index);

  // true when a row is ready to read, false when the statement is done. When done, or on an
  // error, the statement is reset (bindings kept) so it holds no read lock.
  Result<bool> Step();
  // Steps until done, ignoring any rows: for INSERT, UPDATE, DELETE.
  Status Run();
  // Rewinds the statement and clears every binding (and any pending bind error).
  void Reset();

  int column_count() const;
  bool IsNull(int col) const;
  int64_t Int64(int col) const;
  std::string_view Text(int col) const;
  ByteView Blob(int col) const;
  Bytes BlobBytes(int col) const;
  // A blob column that must hold exactly N bytes; Corruption names the column otherwise.
  template <size_t N>
  Result<FixedBytes<N>> Fixed(int col) const {
    ByteView b = Blob(col);
    if (b.size() != N) return WrongSize(col, N, b.size());
    return FixedBytes<N>::FromView(b);
  }

  // The statement's SQL text (empty for an empty statement).
  std::string_view sql() const;
  sqlite3_stmt* raw() { return stmt_; }

 private:
  friend class Database;
  Statement(sqlite3_stmt* stmt, Status status) : stmt_(stmt), status_(std::move(status)) {}
  void NoteBind(int rc, int index);
  Status WrongSize(int col, size_t want, size_t got) const;

  sqlite3_stmt* stmt_ = nullptr;
  Status status_;       // a prepare error; permanent
  Status bind_status_;  // the first bind error since the last Reset()
};

// Something that keeps state in memory on behalf of the current transaction: a write-back
// cache that must reach SQLite before COMMIT, or a read cache that must forget what a
// rollback undid. Registered with Database::AddParticipant; unregister before destruction.
class TxnParticipant {
 public:
  virtual ~TxnParticipant() = default;
  // Called by Database::Commit() before COMMIT, inside the transaction, newest participant
  // first (one registered later may still write through one registered before it). An error
  // aborts the commit (the transaction stays open; the caller rolls it back).
  virtual Status BeforeCommit() = 0;
  // Called whenever SQLite rolls a transaction back (explicitly or on its own after an
  // error). Must not use the Database: forget what the transaction wrote, nothing more.
  virtual void AfterRollback() = 0;
  // Called by Database::Commit() after COMMIT succeeded, outside any transaction: what the
  // transaction did is durable now. Must not fail; by default does nothing.
  virtual void AfterCommit() {}
};

struct OpenOptions {
  bool create_if_missing = true;
  bool read_only = false;
  // The version to migrate to. Only tests set anything but store::kSchemaVersion.
  int target_schema_version = kSchemaVersion;
  // How long to wait for another connection's lock before failing with "locked".
  int busy_timeout_ms = 5000;
  // SQLite's page cache for this connection, in KiB. It holds the id index of a million
  // vertices (store/schema.h, version 3) besides the pages a batch writes: with 8 MiB, most
  // lookups of an id at that size read a page from the file. The whole 1M-vertex ingest peaks
  // at about 45 MiB RSS with it; 32 MiB measured no faster.
  int cache_size_kib = 24576;
  // The WAL size, in pages, that starts a checkpoint (copying it into the database file):
  // the commit that takes the WAL past it asks for one (background_checkpoints), or runs it
  // (PRAGMA wal_autocheckpoint). SQLite's default (1,000 pages) is less than one 4,096-vertex
  // batch writes, so every batch paid for a checkpoint (two fsyncs and scattered writes); with
  // a larger WAL a page written by several batches is copied once. 0 keeps SQLite's default
  // automatic checkpoint, in the commit.
  int wal_autocheckpoint_pages = 10000;
  // Where checkpoints run. true: the commit that takes the WAL past wal_autocheckpoint_pages
  // only asks a thread of the Database's own (store/checkpointer.h) to copy it into the
  // file, on a second connection, while the writer goes on; if the WAL still reaches
  // kInlineCheckpointFactor times that, the committing writer checkpoints itself, which bounds
  // the file. false: SQLite's automatic checkpoint, in the commit. Files only; a read-only or
  // in-memory database never checkpoints. Needs wal_autocheckpoint_pages > 0.
  bool background_checkpoints = true;
  // PRAGMA journal_size_limit, in bytes: after a checkpoint the WAL file is truncated back
  // to this size rather than keeping the size of its largest transaction on disk. Above what
  // a normal cycle fills (wal_autocheckpoint_pages of 4 KiB, 40 MiB, plus one batch), so the
  // file is not shrunk and grown again on every checkpoint. Negative: no limit.
  int64_t journal_size_limit_bytes = int64_t{64} << 20;
};

// With OpenOptions::background_checkpoints, the WAL size (in units of
// wal_autocheckpoint_pages) at which the writer stops waiting for the checkpointer.
inline constexpr int kInlineCheckpointFactor = 4;

class Database {
 public:
  // Opens (or, with create_if_missing, creates) the database at `path`, or a private
  // in-memory one for ":memory:". Fails with a message naming the file when it is not a topo
  // database, is locked by another process, or has a schema newer than this binary.
  static Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                const OpenOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more ';'-separated statements, discarding rows.
  Status Exec(std::string_view sql);

  // The cached prepared statement for `sql` (prepared on first use), reset and with its
  // bindings cleared. The reference stays valid for the Database's lifetime: the cache is
  // never evicted, so `sql` must come from a fixed set of parameterised texts.
  // A statement that fails to prepare is returned too; its Step() returns the error.
  // A cached statement is shared: do not fetch the same text again while stepping it.
  Statement& Prepare(std::string_view sql);
  // A fresh statement that the caller owns (not cached): for one-off queries.
  Result<Statement> PrepareUncached(std::string_view sql);
  size_t cached_statement_count() const { return cache_.size(); }

  // BEGIN IMMEDIATE / COMMIT / ROLLBACK. Transactions do not nest. Rollback() outside a
  // transaction (SQLite may already have rolled back after an I/O error) is a no-op.
  Status Begin();
  // BEGIN DEFERRED: a read snapshot (ReadTransaction).
  Status BeginRead();
  Status Commit();
  Status Rollback();
  bool in_transaction() const;
  // Incremented by every Begin and BeginRead and whenever SQLite commits a write or rolls
  // back (also a transaction begun and ended as SQL): what a cache learnt inside one
  // transaction holds while in_transaction() and this number are unchanged.
  uint64_t transaction_serial() const { return transaction_serial_; }

  // Participants' BeforeCommit runs newest first, AfterCommit and AfterRollback in
  // registration order. Not owned.
  void AddParticipant(TxnParticipant* p);
  void RemoveParticipant(TxnParticipant* p);
  // Incremented on every rollback: a cache may compare it instead of registering.
  uint64_t rollback_epoch() const { return rollback_epoch_; }

  // PRAGMA user_version.
  Result<int> SchemaVersion();
  const std::string& path() const { return path_; }
  sqlite3* raw() { return db_; }

  // What the background checkpointer did (all zero without one), and how many checkpoints
  // the writer ran itself because the WAL outgrew kInlineCheckpointFactor times the threshold.
  CheckpointStats checkpoint_stats() const;
  uint64_t inline_checkpoints() const { return inline_checkpoints_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status Configure(const OpenOptions& options);
  static void OnRollback(void* self);
  static int OnCommit(void* self);
  static int OnWal(void* self, sqlite3* db, const char* name, int frames);

  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>> cache_;
  // Statements last found through a text at this address (by address; see Prepare). The key
  // and statement live in cache_, which never drops an entry.
  struct RecentStatement {
    const char* data = nullptr;
    const std::string* key = nullptr;
    Statement* st = nullptr;
  };
  std::array<RecentStatement, 64> recent_{};
  Statement failed_;  // what Prepare() returns for SQL that does not prepare
  std::vector<TxnParticipant*> participants_;
  uint64_t rollback_epoch_ = 0;
  uint64_t transaction_serial_ = 0;
  // Background checkpoints: the WAL frames that ask for one; the thread.
  int checkpoint_pages_ = 0;
  int checkpoint_asked_at_ = 0;  // the WAL's frames when a checkpoint was last asked for
  uint64_t inline_checkpoints_ = 0;
  std::unique_ptr<Checkpointer> checkpointer_;
};

// Rolls back in its destructor unless Commit() succeeded. Move-only.
//   TOPO_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db));
//   ... writes ...
//   return txn.Commit();
class Transaction {
 public:
  static Result<Transaction> Begin(Database& db);
  Transaction(Transaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  // After a failed Commit() the transaction is rolled back by the destructor.
  Status Commit();
  Status Rollback();
  bool active() const { return db_ != nullptr; }

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
};

// A read-only transaction (BEGIN DEFERRED, ended by COMMIT): the reads inside it see one
// snapshot and take SQLite's read lock once. Outside a transaction every statement takes and
// releases that lock itself (on a WAL database, system calls on the shared-memory file that
// cost as much as a point lookup by id), so a run of lookups, such as the vertices that answer
// one want of a sync session, is about twice as fast inside one. Move-only.
// REQUIRES: no transaction is open on the database when it begins, and nothing writes while
// it is held (End() would commit the write without the participants' hooks). Keep it short:
// a WAL checkpoint cannot pass the snapshot it holds.
class ReadTransaction {
 public:
  static Result<ReadTransaction> Begin(Database& db);
  ReadTransaction(ReadTransaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  ReadTransaction& operator=(ReadTransaction&&) = delete;
  ReadTransaction(const ReadTransaction&) = delete;
  ~ReadTransaction();

  // Ends the transaction (the destructor does it too, ignoring errors).
  Status End();

 private:
  explicit ReadTransaction(Database* db) : db_(db) {}
  Database* db_;
};

}  // namespace topo::store
