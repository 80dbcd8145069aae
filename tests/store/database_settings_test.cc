// The connection settings Database::Configure applies (OpenOptions): page cache, WAL
// checkpoints and the WAL file's size after one.
#include <gtest/gtest.h>

#include <filesystem>

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
  EXPECT_EQ(QueryInt(**db, "PRAGMA wal_autocheckpoint"), defaults.wal_autocheckpoint_pages);
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
uintmax_t WalSizeAfterABurst(const std::string& path, int64_t journal_size_limit) {
  OpenOptions o;
  o.wal_autocheckpoint_pages = 100;
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

}  // namespace
}  // namespace topo::store
