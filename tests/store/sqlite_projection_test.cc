#include "store/sqlite_projection.h"

#include <gtest/gtest.h>

namespace topo::store {
namespace {

class SqliteProjectionTest : public ::testing::Test {
 protected:
  SqliteProjectionTest() {
    auto db = Database::Open(":memory:");
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    EXPECT_TRUE(db_->Exec("CREATE TABLE proj_messages (channel BLOB, seq INTEGER, body TEXT, "
                          "edited INTEGER, PRIMARY KEY (channel, seq))")
                    .ok());
  }
  std::unique_ptr<Database> db_;
};

constexpr std::string_view kUpsert =
    "INSERT OR REPLACE INTO proj_messages (channel, seq, body, edited) VALUES (?1, ?2, ?3, ?4)";

ProjectionWrite Upsert(Bytes channel, int64_t seq, SqlValue body, SqlValue edited) {
  return {std::string(kUpsert), {std::move(channel), seq, std::move(body), std::move(edited)}};
}

TEST_F(SqliteProjectionTest, ExecutesWritesWithEveryValueKind) {
  SqliteProjectionSink sink(*db_);
  ASSERT_TRUE(sink.Execute(Upsert({0xab}, 2, std::string("second"), std::monostate{})).ok());
  ASSERT_TRUE(sink.Execute(Upsert({0xab}, 1, std::string("it's\nfirst"), int64_t{1})).ok());
  ASSERT_TRUE(sink.Execute(Upsert({}, 1, Bytes{0x00, 0x01}, int64_t{0})).ok());
  std::string dump;
  ASSERT_TRUE(DumpTable(*db_, "proj_messages", &dump).ok());
  EXPECT_EQ(dump,
            "table proj_messages (channel, seq, body, edited)\n"
            "x''|1|x'0001'|0\n"
            "x'ab'|1|'it''s\\x0afirst'|1\n"
            "x'ab'|2|'second'|NULL\n");
}

TEST_F(SqliteProjectionTest, SameSqlIsPreparedOnce) {
  SqliteProjectionSink sink(*db_);
  ASSERT_TRUE(sink.Execute(Upsert({1}, 1, std::string("a"), int64_t{0})).ok());
  size_t cached = db_->cached_statement_count();
  for (int64_t i = 2; i < 50; ++i)
    ASSERT_TRUE(sink.Execute(Upsert({1}, i, std::string("a"), int64_t{0})).ok());
  EXPECT_EQ(db_->cached_statement_count(), cached);
  ProjectionWrite del{"DELETE FROM proj_messages WHERE seq > ?1", {int64_t{10}}};
  ASSERT_TRUE(sink.Execute(del).ok());
  EXPECT_EQ(db_->cached_statement_count(), cached + 1);
  std::string dump;
  ASSERT_TRUE(DumpTable(*db_, "proj_messages", &dump).ok());
  EXPECT_EQ(std::count(dump.begin(), dump.end(), '\n'), 1 + 10);
}

TEST_F(SqliteProjectionTest, BadWriteIsAnErrorAndCanBeRolledBack) {
  SqliteProjectionSink sink(*db_);
  ASSERT_TRUE(db_->Begin().ok());
  ASSERT_TRUE(sink.Execute(Upsert({1}, 1, std::string("a"), int64_t{0})).ok());
  Status bad = sink.Execute({"INSERT INTO proj_nope VALUES (?1)", {int64_t{1}}});
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("proj_nope"), std::string::npos) << bad.ToString();
  ASSERT_TRUE(db_->Rollback().ok());
  std::string dump;
  ASSERT_TRUE(DumpTable(*db_, "proj_messages", &dump).ok());
  EXPECT_EQ(dump, "table proj_messages (channel, seq, body, edited)\n");
}

TEST_F(SqliteProjectionTest, DumpIsIndependentOfInsertOrder) {
  auto other = Database::Open(":memory:");
  ASSERT_TRUE(other.ok());
  SqliteProjectionSink a(*db_);
  SqliteProjectionSink b(**other);
  ProjectionWrite w1{"INSERT OR REPLACE INTO object_values VALUES (?1, ?2, ?3)",
                     {Bytes{1}, std::string("name"), std::string("x")}};
  ProjectionWrite w2{"INSERT OR REPLACE INTO object_values VALUES (?1, ?2, ?3)",
                     {Bytes{1}, std::string("color"), std::string("red")}};
  ASSERT_TRUE(a.Execute(w1).ok());
  ASSERT_TRUE(a.Execute(w2).ok());
  ASSERT_TRUE(b.Execute(w2).ok());
  ASSERT_TRUE(b.Execute(w1).ok());
  std::string da, db;
  ASSERT_TRUE(DumpTable(*db_, "object_values", &da).ok());
  ASSERT_TRUE(DumpTable(**other, "object_values", &db).ok());
  EXPECT_EQ(da, db);
  EXPECT_NE(da.find("'color'|'red'"), std::string::npos) << da;
}

TEST_F(SqliteProjectionTest, DumpRefusesBadNames) {
  std::string out;
  EXPECT_EQ(DumpTable(*db_, "x; DROP TABLE vertices", &out).code(), Code::kInvalidArgument);
  EXPECT_EQ(DumpTable(*db_, "proj_missing", &out).code(), Code::kNotFound);
  EXPECT_TRUE(out.empty());
}

TEST_F(SqliteProjectionTest, ListsProjectionTables) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE proj_a (x); CREATE TABLE projx (x); CREATE TABLE "
                        "PROJ_upper (x)")
                  .ok());
  auto tables = ProjectionTables(*db_);
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(*tables, (std::vector<std::string>{"object_values", "proj_a", "proj_messages"}));
}

}  // namespace
}  // namespace topo::store
