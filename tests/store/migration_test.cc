#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "codec/vertex.h"
#include "crypto/crypto.h"
#include "store/database.h"
#include "store/schema.h"
#include "store/sqlite_graph_store.h"
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

// The detail column of EXPLAIN QUERY PLAN, one line per step.
std::string QueryPlan(Database& db, const std::string& sql) {
  auto plan = db.PrepareUncached("EXPLAIN QUERY PLAN " + sql);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  std::string detail;
  while (plan.ok() && *plan->Step()) detail += std::string(plan->Text(3)) + "\n";
  return detail;
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
  OpenOptions v2;
  v2.target_schema_version = 2;
  auto db = Database::Open(path, v2);
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
  std::string plan =
      QueryPlan(**db, "SELECT id FROM vertices WHERE object = x'01' ORDER BY created_at, id");
  EXPECT_NE(plan.find("vertices_by_created"), std::string::npos) << plan;
}

TEST(Migration, Id8IsTheFirst8BytesBigEndian) {
  Bytes id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(Id8(id), 0x0102030405060708);
  Bytes ones(32, 0xff);
  EXPECT_EQ(Id8(ones), -1);
  Bytes high = {0x80, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(Id8(high), INT64_MIN + 1);
  Bytes shorter = {0x02};  // only hand-made rows are shorter: padded with zero bytes
  EXPECT_EQ(Id8(shorter), 0x0200000000000000);
  EXPECT_EQ(Id8(ByteView()), 0);
}

// Rows of version 1 that are not real vertices (1-byte ids, as some tests and tools wrote
// them) still go through every step to the current version.
TEST(Migration, Version1ToCurrentKeepsHandMadeRows) {
  TempDir dir;
  std::string path = dir.File("v1.db");
  {
    OpenOptions o;
    o.target_schema_version = 1;
    auto db = Database::Open(path, o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)
                    ->Exec(R"sql(
      INSERT INTO vertices (id, object, type, depth, created_at, author, raw)
        VALUES (x'01', x'01', 0, 0, 1000, x'aa', x'0101'),
               (x'02', x'01', 1, 1, 1001, x'aa', x'0202');
      INSERT INTO heads VALUES (x'01', x'02'), (x'09', x'09');
      INSERT INTO blocked VALUES (x'04', x'0404', 1);
      INSERT INTO blocked_deps VALUES (x'05', x'04');
    )sql")
                    .ok());
  }
  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(*(*db)->SchemaVersion(), kSchemaVersion);
  EXPECT_EQ(QueryInt(**db, "SELECT id8 FROM vertices WHERE id = x'02'"), 0x0200000000000000);
  EXPECT_EQ(QueryInt(**db, "SELECT created_at FROM vertices WHERE id = x'02'"), 1001);
  // Objects get keys in order of arrival, then the objects only heads name.
  EXPECT_EQ(QueryInt(**db, "SELECT key FROM objects WHERE id = x'01'"), 1);
  EXPECT_EQ(QueryInt(**db, "SELECT key FROM objects WHERE id = x'09'"), 2);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM vertices WHERE obj = 1"), 2);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM heads WHERE obj = 2 AND id = x'09'"), 1);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM blocked WHERE id = x'04' AND raw = x'0404'"), 1);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM blocked_deps"), 1);
}

// A version 2 database holding real vertices, heads, rejected and blocked ones reads back
// the same through SqliteGraphStore once migrated to version 3.
TEST(Migration, Version2To3KeepsEveryRowReadableThroughTheStore) {
  crypto::SigningKey alice = crypto::SigningKey::Generate();
  crypto::SigningKey bob = crypto::SigningKey::Generate();
  auto sign = [](codec::Vertex v, const crypto::SigningKey& key) {
    EXPECT_TRUE(codec::SignVertex(v, key).ok());
    return v;
  };
  auto genesis = [&](std::string_view payload) {
    codec::Vertex v;
    v.created_at = 1000;
    v.payload = ToBytes(payload);
    return sign(v, alice);
  };
  auto child = [&](std::vector<const codec::Vertex*> parents, std::string_view payload,
                   const crypto::SigningKey& key) {
    codec::Vertex v;
    v.object_id = parents[0]->object();
    v.type = 1;
    for (const codec::Vertex* p : parents) {
      v.parents.push_back(p->id);
      v.depth = std::max(v.depth, p->depth + 1);
      v.created_at = std::max(v.created_at, p->created_at + 1);
    }
    v.payload = ToBytes(payload);
    return sign(v, key);
  };
  const codec::Vertex g1 = genesis("one"), g2 = genesis("two");
  const codec::Vertex a = child({&g1}, "a", alice), b = child({&g1}, "b", bob);
  const codec::Vertex c = child({&a, &b}, "c", bob), z = child({&g2}, "z", alice);
  const codec::Vertex r = child({&g1}, "rejected", bob);
  // Never stored: what the blocked vertices wait for.
  const codec::Vertex x = child({&c}, "x", alice), y = child({&c}, "y", alice);
  const codec::Vertex d = child({&c, &x}, "d", bob);  // waits on x
  const codec::Vertex e = child({&x, &y}, "e", bob);  // waits on x and y
  const std::vector<const codec::Vertex*> arrival = {&g2, &g1, &b, &z, &a, &c};

  TempDir dir;
  std::string path = dir.File("v2.db");
  {
    OpenOptions o;
    o.target_schema_version = 2;
    auto db = Database::Open(path, o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    int64_t applied_at = 5000;
    for (const codec::Vertex* v : arrival) {
      Bytes raw = codec::EncodeVertex(*v);
      ASSERT_TRUE((*db)
                      ->Prepare("INSERT INTO vertices (id, object, type, depth, created_at, "
                                "author, raw, applied_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                      .Bind(1, v->id)
                      .Bind(2, v->object())
                      .Bind(3, int64_t{v->type})
                      .Bind(4, static_cast<int64_t>(v->depth))
                      .Bind(5, static_cast<int64_t>(v->created_at))
                      .Bind(6, v->author)
                      .Bind(7, raw)
                      .Bind(8, applied_at++)
                      .Run()
                      .ok());
    }
    auto head = [&](const codec::ObjectId& object, const codec::VertexId& id) {
      return (*db)
          ->Prepare("INSERT INTO heads (object, id) VALUES (?1, ?2)")
          .Bind(1, object)
          .Bind(2, id)
          .Run();
    };
    ASSERT_TRUE(head(g1.id, c.id).ok());
    ASSERT_TRUE(head(g2.id, z.id).ok());
    Bytes r_raw = codec::EncodeVertex(r);
    ASSERT_TRUE((*db)
                    ->Prepare("INSERT INTO rejected VALUES (?1, ?2, 'bad signature', ?3, 77)")
                    .Bind(1, r.id)
                    .Bind(2, g1.id)
                    .Bind(3, r_raw)
                    .Run()
                    .ok());
    Bytes d_raw = codec::EncodeVertex(d), e_raw = codec::EncodeVertex(e);
    auto block = [&](const codec::Vertex& v, const Bytes& raw, int64_t missing) {
      return (*db)
          ->Prepare("INSERT INTO blocked VALUES (?1, ?2, ?3)")
          .Bind(1, v.id)
          .Bind(2, raw)
          .Bind(3, missing)
          .Run();
    };
    auto dep = [&](const codec::VertexId& on, const codec::VertexId& waiter) {
      return (*db)
          ->Prepare("INSERT INTO blocked_deps VALUES (?1, ?2)")
          .Bind(1, on)
          .Bind(2, waiter)
          .Run();
    };
    ASSERT_TRUE(block(d, d_raw, 1).ok());
    ASSERT_TRUE(block(e, e_raw, 2).ok());
    ASSERT_TRUE(dep(x.id, d.id).ok());
    ASSERT_TRUE(dep(x.id, e.id).ok());
    ASSERT_TRUE(dep(y.id, e.id).ok());
    // Tables the step does not rebuild: their rows must come through untouched.
    ASSERT_TRUE((*db)
                    ->Prepare("INSERT INTO state (object, key, value) VALUES (?1, x'0061', "
                              "x'2a'), (?1, x'0062', x'')")
                    .Bind(1, g1.id)
                    .Run()
                    .ok());
    ASSERT_TRUE((*db)
                    ->Prepare("INSERT INTO object_values (object, path, value) VALUES "
                              "(?1, '/title', '\"hello\"')")
                    .Bind(1, g1.id)
                    .Run()
                    .ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO meta (key, value) VALUES ('workspace', x'77')").ok());
  }

  auto opened = Database::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Database& db = **opened;
  EXPECT_EQ(*db.SchemaVersion(), 3);

  // The layout.
  EXPECT_FALSE(HasColumn(db, "vertices", "author"));
  EXPECT_FALSE(HasColumn(db, "vertices", "object"));
  EXPECT_TRUE(HasColumn(db, "vertices", "id8"));
  EXPECT_TRUE(HasColumn(db, "vertices", "obj"));
  EXPECT_TRUE(HasColumn(db, "heads", "obj"));
  EXPECT_FALSE(HasColumn(db, "blocked", "missing"));
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM objects"), 2);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM state"), 2);
  EXPECT_EQ(QueryInt(db, "SELECT value = x'2a' FROM state WHERE key = x'0061'"), 1);
  EXPECT_EQ(QueryInt(db, "SELECT value = '\"hello\"' FROM object_values WHERE path = '/title'"), 1);
  EXPECT_EQ(QueryInt(db, "SELECT value = x'77' FROM meta WHERE key = 'workspace'"), 1);
  EXPECT_EQ(QueryInt(db, "SELECT rejected_at FROM rejected"), 77);
  EXPECT_EQ(QueryInt(db,
                     "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                     "name LIKE '%_v3'"),
            0);
  std::string plan = QueryPlan(db, "SELECT raw FROM vertices WHERE id8 = 5 AND id = x'05'");
  EXPECT_NE(plan.find("vertices_by_id8"), std::string::npos) << plan;
  plan = QueryPlan(db, "SELECT id FROM vertices WHERE obj = 1 ORDER BY created_at, id");
  EXPECT_NE(plan.find("vertices_by_created"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  plan = QueryPlan(db, "SELECT id FROM vertices WHERE obj = 1 ORDER BY depth, id");
  EXPECT_NE(plan.find("vertices_by_order"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  // Every row kept its seq, applied_at and a correct id8.
  {
    auto st = db.PrepareUncached("SELECT seq, id, id8, applied_at FROM vertices ORDER BY seq");
    ASSERT_TRUE(st.ok());
    for (size_t i = 0; i < arrival.size(); ++i) {
      ASSERT_TRUE(*st->Step());
      EXPECT_EQ(st->Int64(0), static_cast<int64_t>(i + 1));
      EXPECT_EQ(*st->Fixed<32>(1), arrival[i]->id);
      EXPECT_EQ(st->Int64(2), Id8(arrival[i]->id.view()));
      EXPECT_EQ(st->Int64(3), static_cast<int64_t>(5000 + i));
    }
    EXPECT_FALSE(*st->Step());
  }

  // Everything reads back through the store, with and without its meta cache.
  for (size_t slots : {size_t{0}, SqliteGraphStore::kDefaultMetaCacheEntries}) {
    SCOPED_TRACE(slots);
    SqliteGraphStore store(db, SystemClock::Instance(), slots);
    for (const codec::Vertex* v : arrival) {
      auto m = store.GetMeta(v->id);
      ASSERT_TRUE(m.ok() && m->has_value()) << m.status().ToString();
      EXPECT_EQ((*m)->object, v->object());
      EXPECT_EQ((*m)->type, v->type);
      EXPECT_EQ((*m)->depth, v->depth);
      EXPECT_EQ((*m)->created_at, v->created_at);
      EXPECT_EQ((*m)->author, v->author);
      EXPECT_EQ(*store.GetRaw(v->id), codec::EncodeVertex(*v));
    }
    EXPECT_EQ(*store.VertexCount(), arrival.size());
    EXPECT_EQ(*store.ListObjects(), (std::vector<codec::ObjectId>{g2.id, g1.id}));
    std::vector<codec::VertexId> order;
    ASSERT_TRUE(store
                    .ForEachInOrder(g1.id,
                                    [&](const graph::VertexMeta& m, ByteView) {
                                      order.push_back(m.id);
                                      return true;
                                    })
                    .ok());
    std::vector<codec::VertexId> mid = {a.id, b.id};
    std::sort(mid.begin(), mid.end());
    EXPECT_EQ(order, (std::vector<codec::VertexId>{g1.id, mid[0], mid[1], c.id}));
    std::vector<Bytes> exported;
    ASSERT_TRUE(store
                    .ForEachVertex([&](ByteView raw) {
                      exported.emplace_back(raw.begin(), raw.end());
                      return true;
                    })
                    .ok());
    ASSERT_EQ(exported.size(), arrival.size());
    for (size_t i = 0; i < arrival.size(); ++i)
      EXPECT_EQ(exported[i], codec::EncodeVertex(*arrival[i]));
    EXPECT_EQ(*store.Heads(g1.id), std::vector<codec::VertexId>{c.id});
    EXPECT_EQ(*store.Heads(g2.id), std::vector<codec::VertexId>{z.id});
    auto reason = store.RejectedReason(r.id);
    ASSERT_TRUE(reason.ok() && reason->has_value());
    EXPECT_EQ(**reason, "bad signature");
    EXPECT_EQ(*store.RejectedCount(), 1u);
    EXPECT_TRUE(*store.IsBlocked(d.id));
    EXPECT_TRUE(*store.IsBlocked(e.id));
    EXPECT_EQ(*store.BlockedCount(), 2u);
    EXPECT_EQ(store.PutApplied(a, codec::EncodeVertex(a)).code(), Code::kAlreadyExists);
  }

  // The blocked vertices still wait for exactly what they waited for, and the graph grows
  // on from where it was.
  SqliteGraphStore store(db);
  ASSERT_TRUE(store.PutApplied(x, codec::EncodeVertex(x)).ok());
  auto ready = store.ResolveDependency(x.id);
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_EQ(*ready, std::vector<Bytes>{codec::EncodeVertex(d)});
  EXPECT_TRUE(*store.IsBlocked(e.id));
  ready = store.ResolveDependency(y.id);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, std::vector<Bytes>{codec::EncodeVertex(e)});
  EXPECT_EQ(*store.BlockedCount(), 0u);
  EXPECT_EQ(QueryInt(db, "SELECT max(seq) FROM vertices"), 7);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM objects"), 2);  // x reused g1's key
  EXPECT_EQ((*store.GetMeta(x.id))->depth, c.depth + 1);
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
  EXPECT_NE(db.status().message().find("database schema version 99 is newer than this topo (" +
                                       std::to_string(kSchemaVersion) + "); upgrade topo"),
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
