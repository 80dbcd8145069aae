#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "store/database.h"
#include "store/schema.h"
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

bool HasColumn(Database& db, std::string_view table, std::string_view column) {
  auto st = db.PrepareUncached("SELECT name FROM pragma_table_info(?1)");
  EXPECT_TRUE(st.ok());
  st->Bind(1, table);
  for (;;) {
    auto row = st->Step();
    if (!row.ok() || !*row) return false;
    if (st->Text(0) == column) return true;
  }
}

TEST(Migration, OneStepPerVersionInOrder) {
  auto steps = Migrations();
  ASSERT_EQ(steps.size(), static_cast<size_t>(kSchemaVersion));
  for (size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i].version, static_cast<int>(i + 1));
}

TEST(Migration, Version1To2KeepsRowsAndAddsIndexAndColumn) {
  TempDir dir;
  std::string path = dir.File("v1.db");
  {
    OpenOptions o;
    o.target_schema_version = 1;
    auto db = Database::Open(path, o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_EQ(*(*db)->SchemaVersion(), 1);
    EXPECT_FALSE(HasColumn(**db, "vertices", "applied_at"));
    // Rows in the version 1 layout.
    ASSERT_TRUE((*db)
                    ->Exec(R"sql(
      INSERT INTO vertices (id, object, type, depth, created_at, author, raw)
        VALUES (x'01', x'01', 0, 0, 1000, x'aa', x'0101'),
               (x'02', x'01', 1, 1, 1001, x'aa', x'0202');
      INSERT INTO heads VALUES (x'01', x'02');
      INSERT INTO state VALUES (x'01', x'6b', x'76');
      INSERT INTO object_values VALUES (x'01', 'title', 'hello');
      INSERT INTO rejected VALUES (x'03', x'01', 'bad signature', x'03', 5);
    )sql")
                    .ok());
  }
  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(*(*db)->SchemaVersion(), 2);
  EXPECT_EQ(QueryInt(**db, "PRAGMA user_version"), 2);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM vertices"), 2);
  EXPECT_EQ(QueryInt(**db, "SELECT created_at FROM vertices WHERE id = x'02'"), 1001);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM heads"), 1);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM state"), 1);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM object_values"), 1);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM rejected"), 1);
  EXPECT_EQ(QueryInt(**db,
                     "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                     "name = 'vertices_by_created' AND tbl_name = 'vertices'"),
            1);
  EXPECT_TRUE(HasColumn(**db, "vertices", "applied_at"));
  EXPECT_EQ(QueryInt(**db, "SELECT sum(applied_at) FROM vertices"), 0);  // the default
  // The reconciliation order is served by the new index.
  auto plan = (*db)->PrepareUncached(
      "EXPLAIN QUERY PLAN SELECT id FROM vertices WHERE object = x'01' ORDER BY created_at, id");
  ASSERT_TRUE(plan.ok());
  std::string detail;
  while (*plan->Step()) detail += std::string(plan->Text(3)) + "\n";
  EXPECT_NE(detail.find("vertices_by_created"), std::string::npos) << detail;
}

TEST(Migration, ReopeningAtCurrentVersionChangesNothing) {
  TempDir dir;
  std::string path = dir.File("same.db");
  ASSERT_TRUE(Database::Open(path).ok());
  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(*(*db)->SchemaVersion(), kSchemaVersion);
}

TEST(Migration, NewerSchemaIsRefusedWithClearMessage) {
  TempDir dir;
  std::string path = dir.File("future.db");
  {
    auto db = Database::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("PRAGMA user_version = 99").ok());
  }
  auto db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("database schema version 99 is newer than this topo (2); "
                                       "upgrade topo"),
            std::string::npos)
      << db.status().ToString();
}

TEST(Migration, CannotGoBackToAnOlderTarget) {
  TempDir dir;
  std::string path = dir.File("v2.db");
  ASSERT_TRUE(Database::Open(path).ok());
  OpenOptions o;
  o.target_schema_version = 1;
  auto db = Database::Open(path, o);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("newer"), std::string::npos);
}

TEST(Migration, ReadOnlyDoesNotMigrate) {
  TempDir dir;
  std::string path = dir.File("old.db");
  OpenOptions v1;
  v1.target_schema_version = 1;
  ASSERT_TRUE(Database::Open(path, v1).ok());
  OpenOptions ro;
  ro.read_only = true;
  auto db = Database::Open(path, ro);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("read-write"), std::string::npos) << db.status().ToString();
}

TEST(Migration, NonDatabaseFileFailsCleanly) {
  TempDir dir;
  std::string path = dir.File("notes.txt");
  {
    std::ofstream f(path);
    for (int i = 0; i < 200; ++i) f << "this is not an SQLite database, just some text\n";
  }
  auto db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kCorruption);
  EXPECT_NE(db.status().message().find("is not a topo database"), std::string::npos)
      << db.status().ToString();
  // The file is left as it was.
  EXPECT_GT(std::filesystem::file_size(path), 1000u);
}

TEST(Migration, PlainSqliteFileIsNotMistakenForTopo) {
  TempDir dir;
  std::string path = dir.File("plain.db");
  {
    // Make an ordinary SQLite database that is not ours, at user_version 0.
    auto db = Database::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("PRAGMA application_id = 0; PRAGMA user_version = 0").ok());
  }
  auto db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("not a topo one"), std::string::npos)
      << db.status().ToString();
}

}  // namespace
}  // namespace topo::store
