// The connection settings Database::Configure applies (OpenOptions): page cache, WAL
// checkpoints and the WAL file's size after one.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "store/database.h"
#include "testing/temp_dir.h"

namespace topo::store {
namespace {

using ::topo::testing::TempDir;

int64_t QueryInt(Database& db, std::string_view sql) {
  auto st = db.PrepareUncached(sql);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  if (!st.ok()) return -1;
  auto row = st->Step();
  EXPECT_TRUE(row.ok() && *row) << sql;
  return (row.ok() && *row) ? st->Int64(0) : -1;
}

TEST(DatabaseSettings, DefaultsAreApplied) {
  TempDir dir;
  auto db = Database::Open(dir.File("a.db"));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  const OpenOptions defaults;
  EXPECT_EQ(QueryInt(**db, "PRAGMA cache_size"), -defaults.cache_size_kib);
  // Checkpoints are the background thread's: SQLite's own automatic one is off.
  EXPECT_TRUE(defaults.background_checkpoints);
  EXPECT_EQ(QueryInt(**db, "PRAGMA wal_autocheckpoint"), 0);
  EXPECT_EQ(QueryInt(**db, "PRAGMA journal_size_limit"), defaults.journal_size_limit_bytes);
  // More than SQLite's own defaults (2 MB, 1,000 pages): the reason these settings exist.
  EXPECT_GT(defaults.cache_size_kib, 8192);
  EXPECT_GT(defaults.wal_autocheckpoint_pages, 1000);
}

TEST(DatabaseSettings, OptionsOverrideTheDefaults) {
  TempDir dir;
  OpenOptions o;
  o.cache_size_kib = 1234;
  o.wal_autocheckpoint_pages = 77;
  o.background_checkpoints = false;
  o.journal_size_limit_bytes = -1;
  auto db = Database::Open(dir.File("a.db"), o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(QueryInt(**db, "PRAGMA cache_size"), -1234);
  EXPECT_EQ(QueryInt(**db, "PRAGMA wal_autocheckpoint"), 77);
  EXPECT_EQ(QueryInt(**db, "PRAGMA journal_size_limit"), -1);

  o.wal_autocheckpoint_pages = 0;  // SQLite's default
  auto again = Database::Open(dir.File("b.db"), o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(QueryInt(**again, "PRAGMA wal_autocheckpoint"), 1000);
}

// Writes about 2 MB in one transaction (the WAL grows past it), lets the autocheckpoint run,
// then commits a small write (which starts the WAL over) and returns the WAL file's size.
uintmax_t WalSizeAfterABurst(const std::string& path, int64_t journal_size_limit,
                             bool background = false) {
  OpenOptions o;
  o.wal_autocheckpoint_pages = 100;
  o.background_checkpoints = background;
  o.journal_size_limit_bytes = journal_size_limit;
  auto db = Database::Open(path, o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return 0;
  EXPECT_TRUE((*db)->Exec("CREATE TABLE blobs (k INTEGER PRIMARY KEY, v BLOB)").ok());
  EXPECT_TRUE((*db)
                  ->Exec("BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                         "WHERE i < 500) INSERT INTO blobs (v) SELECT randomblob(4000) FROM n; "
                         "COMMIT")
                  .ok());
  EXPECT_TRUE((*db)->Exec("INSERT INTO blobs (v) VALUES (x'01')").ok());
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path + "-wal", ec);
  EXPECT_FALSE(ec) << ec.message();
  return size;
}

TEST(DatabaseSettings, WalFileIsTruncatedAfterACheckpoint) {
  TempDir dir;
  EXPECT_GT(WalSizeAfterABurst(dir.File("unlimited.db"), -1), uintmax_t{2'000'000});
  EXPECT_LE(WalSizeAfterABurst(dir.File("limited.db"), 64 * 1024), uintmax_t{64 * 1024});
}

// With background checkpoints, a commit that takes the WAL past kInlineCheckpointFactor times
// the threshold (here one transaction of about 500 pages, threshold 100) is checkpointed by
// the writer itself, at once: the WAL is bounded even when the thread lags.
TEST(DatabaseSettings, AWalFarPastTheThresholdIsCheckpointedByTheWriter) {
  TempDir dir;
  EXPECT_LE(WalSizeAfterABurst(dir.File("limited.db"), 64 * 1024, true), uintmax_t{64 * 1024});
}

uintmax_t FileSize(const std::string& path) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

// A commit past the threshold (and short of kInlineCheckpointFactor times it) only asks: the
// thread copies the WAL into the file, and the next write, finding it all copied, starts the
// log over.
TEST(DatabaseSettings, BackgroundCheckpointsCopyTheWalAndLetItRestart) {
  TempDir dir;
  const std::string path = dir.File("a.db");
  OpenOptions o;
  o.wal_autocheckpoint_pages = 50;
  o.journal_size_limit_bytes = 64 * 1024;
  auto db = Database::Open(path, o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto write = [&](int rows) {
    return (*db)->Exec("BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                       "WHERE i < " + std::to_string(rows) +
                       ") INSERT INTO blobs (v) SELECT randomblob(4000) FROM n; COMMIT");
  };
  ASSERT_TRUE((*db)->Exec("CREATE TABLE blobs (k INTEGER PRIMARY KEY, v BLOB)").ok());
  ASSERT_TRUE(write(10).ok());
  EXPECT_EQ((*db)->checkpoint_stats().requested, 0u);  // under the threshold: not asked
  ASSERT_TRUE(write(60).ok());                        // about 75 pages in the WAL: asked once
  EXPECT_EQ((*db)->checkpoint_stats().requested, 1u);
  // Wait for it (no timing asserted: the deadline only keeps a broken build from hanging).
  // Nothing writes meanwhile, so it copies the whole log.
  for (int i = 0; i < 3000 && (*db)->checkpoint_stats().run == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const CheckpointStats stats = (*db)->checkpoint_stats();
  EXPECT_EQ(stats.run, 1u);
  EXPECT_EQ(stats.complete, 1u);
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_EQ((*db)->inline_checkpoints(), 0u);
  EXPECT_GT(FileSize(path + "-wal"), uintmax_t{64 * 1024});
  ASSERT_TRUE(write(1).ok());  // starts the log over, truncated to journal_size_limit
  EXPECT_LE(FileSize(path + "-wal"), uintmax_t{64 * 1024});
  // What the thread copied is the database: all 71 rows, after a close that leaves no WAL.
  db->reset();
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  auto again = Database::Open(path, o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(QueryInt(**again, "SELECT count(*) FROM blobs"), 71);
}

}  // namespace
}  // namespace topo::store
