#include "store/database.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "store/schema.h"
#include "testing/temp_dir.h"

namespace topo::store {
namespace {

using ::topo::testing::TempDir;

std::unique_ptr<Database> OpenMemory() {
  auto db = Database::Open(":memory:");
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

int64_t QueryInt(Database& db, std::string_view sql) {
  Statement& st = db.Prepare(sql);
  auto row = st.Step();
  EXPECT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_TRUE(row.ok() && *row) << sql;
  int64_t v = (row.ok() && *row) ? st.Int64(0) : -1;
  st.Reset();
  return v;
}

TEST(Database, InMemoryOpensAtCurrentSchema) {
  auto db = OpenMemory();
  auto v = db->SchemaVersion();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, kSchemaVersion);
  EXPECT_EQ(QueryInt(*db, "PRAGMA application_id"), kApplicationId);
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM sqlite_master WHERE name = 'vertices'"), 1);
  EXPECT_EQ(QueryInt(*db, "PRAGMA foreign_keys"), 0);
  EXPECT_EQ(QueryInt(*db, "PRAGMA synchronous"), 1);  // NORMAL
  EXPECT_EQ(QueryInt(*db, "PRAGMA cache_size"), -OpenOptions().cache_size_kib);
}

TEST(Database, FileUsesWalAndReopens) {
  TempDir dir;
  std::string path = dir.File("a.db");
  {
    auto db = Database::Open(path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    Statement& st = (*db)->Prepare("PRAGMA journal_mode");
    ASSERT_TRUE(*st.Step());
    EXPECT_EQ(st.Text(0), "wal");
    st.Reset();
    EXPECT_EQ(QueryInt(**db, "PRAGMA busy_timeout"), 5000);
    ASSERT_TRUE((*db)->Exec("INSERT INTO meta (key, value) VALUES ('k', x'01')").ok());
  }
  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM meta"), 1);
}

TEST(Database, BindsAndReadsEveryType) {
  auto db = OpenMemory();
  ASSERT_TRUE(db->Exec("CREATE TABLE t (a, b, c, d, e)").ok());
  Bytes blob = {0, 1, 0xff};
  Bytes empty;
  Statement& ins = db->Prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)");
  ASSERT_TRUE(ins.Bind(1, int64_t{-42})
                  .Bind(2, std::string_view("héllo"))
                  .Bind(3, ByteView(blob))
                  .BindNull(4)
                  .Bind(5, ByteView(empty))
                  .Run()
                  .ok());
  Statement& sel = db->Prepare("SELECT a, b, c, d, e, typeof(e) FROM t");
  auto row = sel.Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(sel.column_count(), 6);
  EXPECT_EQ(sel.Int64(0), -42);
  EXPECT_EQ(sel.Text(1), "héllo");
  EXPECT_EQ(sel.BlobBytes(2), blob);
  EXPECT_TRUE(sel.IsNull(3));
  EXPECT_FALSE(sel.IsNull(4));  // an empty blob is not NULL
  EXPECT_EQ(sel.Blob(4).size(), 0u);
  EXPECT_EQ(sel.Text(5), "blob");
  auto done = sel.Step();
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(*done);
}

TEST(Database, FixedColumnChecksLength) {
  auto db = OpenMemory();
  Statement& st = db->Prepare("SELECT x'0102' AS short_id");
  ASSERT_TRUE(*st.Step());
  auto f = st.Fixed<32>(0);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kCorruption);
  EXPECT_NE(f.status().message().find("short_id"), std::string::npos);
  st.Reset();
}

TEST(Database, BindErrorSurfacesAtStep) {
  auto db = OpenMemory();
  Statement& st = db->Prepare("SELECT ?1");
  auto row = st.Bind(7, int64_t{1}).Step();
  ASSERT_FALSE(row.ok());
  EXPECT_NE(row.status().message().find("parameter 7"), std::string::npos);
  // The next fetch from the cache starts clean.
  auto again = db->Prepare("SELECT ?1").Bind(1, int64_t{5}).Step();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again);
  db->Prepare("SELECT ?1");  // leave it reset
}

TEST(Database, StatementCacheReusesAndClearsBindings) {
  auto db = OpenMemory();
  size_t base = db->cached_statement_count();
  Statement& a = db->Prepare("SELECT ?1");
  ASSERT_TRUE(*a.Bind(1, int64_t{9}).Step());
  EXPECT_EQ(a.Int64(0), 9);
  // Fetching again (even mid-row) resets it and clears the binding: ?1 is NULL now.
  Statement& b = db->Prepare("SELECT ?1");
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(db->cached_statement_count(), base + 1);
  ASSERT_TRUE(*b.Step());
  EXPECT_TRUE(b.IsNull(0));
  b.Reset();
  db->Prepare("SELECT ?2");
  EXPECT_EQ(db->cached_statement_count(), base + 2);
}

TEST(Database, PrepareErrorIsReportedAndNotCached) {
  auto db = OpenMemory();
  size_t base = db->cached_statement_count();
  Status st = db->Prepare("SELECT * FROM proj_later").Run();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("no such table"), std::string::npos) << st.ToString();
  EXPECT_EQ(db->cached_statement_count(), base);
  ASSERT_TRUE(db->Exec("CREATE TABLE proj_later (x)").ok());
  EXPECT_TRUE(db->Prepare("SELECT * FROM proj_later").Run().ok());
  EXPECT_EQ(db->cached_statement_count(), base + 1);
}

TEST(Database, ExecReportsSqlErrorsAndDuplicates) {
  auto db = OpenMemory();
  Status bad = db->Exec("CREATE TABLE x (a); SELEKT 1;");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), Code::kIOError);
  EXPECT_NE(bad.message().find("syntax error"), std::string::npos) << bad.ToString();
  ASSERT_TRUE(db->Exec("CREATE TABLE u (a PRIMARY KEY); INSERT INTO u VALUES (1);").ok());
  Status dup = db->Exec("INSERT INTO u VALUES (1)");
  EXPECT_EQ(dup.code(), Code::kAlreadyExists) << dup.ToString();
}

TEST(Database, TransactionRollsBackOnDestruction) {
  auto db = OpenMemory();
  ASSERT_TRUE(db->Exec("CREATE TABLE t (a)").ok());
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_TRUE(txn.ok());
    EXPECT_TRUE(db->in_transaction());
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1)").ok());
    EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM t"), 1);
  }
  EXPECT_FALSE(db->in_transaction());
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM t"), 0);
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (2)").ok());
    ASSERT_TRUE(txn->Commit().ok());
    EXPECT_FALSE(txn->active());
  }
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM t"), 1);
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (3)").ok());
    ASSERT_TRUE(txn->Rollback().ok());
  }
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM t"), 1);
}

// A write-back participant: buffers values, writes them in BeforeCommit, forgets on rollback.
class BufferingParticipant final : public TxnParticipant {
 public:
  explicit BufferingParticipant(Database& db) : db_(db) { db_.AddParticipant(this); }
  ~BufferingParticipant() override { db_.RemoveParticipant(this); }
  Status BeforeCommit() override {
    ++commits;
    if (fail) return Status::IOError("participant refuses");
    for (int64_t v : pending)
      TOPO_RETURN_IF_ERROR(db_.Prepare("INSERT INTO t VALUES (?1)").Bind(1, v).Run());
    pending.clear();
    return Status::Ok();
  }
  void AfterRollback() override {
    ++rollbacks;
    pending.clear();
  }
  std::vector<int64_t> pending;
  int commits = 0, rollbacks = 0;
  bool fail = false;

 private:
  Database& db_;
};

TEST(Database, ParticipantsFlushBeforeCommitAndForgetOnRollback) {
  auto db = OpenMemory();
  ASSERT_TRUE(db->Exec("CREATE TABLE t (a)").ok());
  BufferingParticipant p(*db);
  uint64_t epoch = db->rollback_epoch();
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_TRUE(txn.ok());
    p.pending = {1, 2};
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM t"), 2);
  EXPECT_EQ(p.commits, 1);
  EXPECT_EQ(db->rollback_epoch(), epoch);
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_TRUE(txn.ok());
    p.pending = {3};
  }  // rolled back by the destructor
  EXPECT_EQ(p.rollbacks, 1);
  EXPECT_TRUE(p.pending.empty());
  EXPECT_EQ(db->rollback_epoch(), epoch + 1);
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (9)").ok());
    p.pending = {4};
    p.fail = true;
    Status st = txn->Commit();
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("participant refuses"), std::string::npos);
    EXPECT_TRUE(txn->active());
  }
  // The failed commit left the transaction open and the destructor rolled it back.
  EXPECT_EQ(p.rollbacks, 2);
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM t"), 2);
}

TEST(Database, TransactionsDoNotNest) {
  auto db = OpenMemory();
  ASSERT_TRUE(db->Begin().ok());
  EXPECT_FALSE(db->Begin().ok());
  EXPECT_FALSE(Transaction::Begin(*db).ok());
  ASSERT_TRUE(db->Rollback().ok());
  EXPECT_TRUE(db->Rollback().ok());  // no transaction: a no-op
  EXPECT_FALSE(db->in_transaction());
}

TEST(Database, ReadTransactionSeesOneSnapshotAndCallsNoParticipant) {
  TempDir dir;
  const std::string path = dir.File("r.db");
  auto reader = Database::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto writer = Database::Open(path);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Exec("CREATE TABLE t (a); INSERT INTO t VALUES (1)").ok());
  BufferingParticipant p(**reader);
  {
    auto snapshot = ReadTransaction::Begin(**reader);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    EXPECT_TRUE((*reader)->in_transaction());
    EXPECT_EQ(QueryInt(**reader, "SELECT count(*) FROM t"), 1);
    // Another connection's commit is not seen until the snapshot ends.
    ASSERT_TRUE((*writer)->Exec("INSERT INTO t VALUES (2)").ok());
    EXPECT_EQ(QueryInt(**reader, "SELECT count(*) FROM t"), 1);
    // Transactions do not nest.
    EXPECT_FALSE(Transaction::Begin(**reader).ok());
    EXPECT_FALSE(ReadTransaction::Begin(**reader).ok());
    ASSERT_TRUE(snapshot->End().ok());
    EXPECT_FALSE(snapshot->End().ok());  // once
  }
  EXPECT_FALSE((*reader)->in_transaction());
  EXPECT_EQ(QueryInt(**reader, "SELECT count(*) FROM t"), 2);
  {
    auto snapshot = ReadTransaction::Begin(**reader);
    ASSERT_TRUE(snapshot.ok());
  }  // ended by the destructor
  EXPECT_FALSE((*reader)->in_transaction());
  EXPECT_EQ(p.commits + p.rollbacks, 0);
  // Not inside a write transaction either.
  ASSERT_TRUE((*reader)->Begin().ok());
  EXPECT_FALSE(ReadTransaction::Begin(**reader).ok());
  ASSERT_TRUE((*reader)->Rollback().ok());
}

TEST(Database, MissingFileWithoutCreateIsNotFound) {
  TempDir dir;
  OpenOptions o;
  o.create_if_missing = false;
  auto db = Database::Open(dir.File("nope.db"), o);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kNotFound);
  EXPECT_NE(db.status().message().find("does not exist"), std::string::npos);
}

TEST(Database, LockedFileFailsWithClearMessage) {
  TempDir dir;
  std::string path = dir.File("locked.db");
  auto holder = Database::Open(path);
  ASSERT_TRUE(holder.ok()) << holder.status().ToString();
  ASSERT_TRUE((*holder)->Exec("PRAGMA locking_mode = EXCLUSIVE").ok());
  ASSERT_TRUE((*holder)->Begin().ok());
  ASSERT_TRUE((*holder)->Exec("INSERT INTO meta (key, value) VALUES ('x', NULL)").ok());

  OpenOptions o;
  o.busy_timeout_ms = 50;
  auto other = Database::Open(path, o);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Code::kIOError);
  EXPECT_NE(other.status().message().find("locked"), std::string::npos)
      << other.status().ToString();
  ASSERT_TRUE((*holder)->Rollback().ok());
}

TEST(Database, ForeignSqliteFileIsRefused) {
  TempDir dir;
  std::string path = dir.File("other.db");
  {
    auto db = Database::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("PRAGMA application_id = 42").ok());
  }
  auto db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("another application"), std::string::npos)
      << db.status().ToString();
}

TEST(Database, ReadOnlyRejectsWrites) {
  TempDir dir;
  std::string path = dir.File("ro.db");
  ASSERT_TRUE(Database::Open(path).ok());
  OpenOptions o;
  o.read_only = true;
  auto db = Database::Open(path, o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM vertices"), 0);
  EXPECT_FALSE((*db)->Exec("INSERT INTO meta (key, value) VALUES ('k', NULL)").ok());
}

}  // namespace
}  // namespace topo::store
