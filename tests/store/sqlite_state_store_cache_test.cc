// SqliteStateStore's write-back cache (sqlite_state_store.h): the StateStore contract must
// hold exactly, with MemStateStore as the reference, across commits, rollbacks, early
// write-through and other connections' commits.
#include <gtest/gtest.h>

#include <random>

#include "store/sqlite_state_store.h"
#include "testing/temp_dir.h"

namespace topo::store {
namespace {

using ::topo::testing::TempDir;

std::unique_ptr<Database> Open(const std::string& path) {
  auto db = Database::Open(path);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

ObjectId Obj(uint8_t b) {
  ObjectId o;
  o.bytes[0] = b;
  o.bytes[31] = static_cast<uint8_t>(~b);
  return o;
}

using Rows = std::vector<std::pair<Bytes, Bytes>>;

// Scan into a vector, stopping after `limit` entries.
Rows ScanRows(StateStore& s, const ObjectId& o, ByteView prefix, size_t limit = SIZE_MAX) {
  Rows rows;
  Status st = s.Scan(o, prefix, [&](ByteView k, ByteView v) {
    rows.emplace_back(Bytes(k.begin(), k.end()), Bytes(v.begin(), v.end()));
    return rows.size() < limit;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return rows;
}

// ScanFrom into a vector, stopping after `limit` entries.
Rows ScanFromRows(StateStore& s, const ObjectId& o, ByteView prefix, ByteView from,
                  size_t limit = SIZE_MAX) {
  Rows rows;
  Status st = s.ScanFrom(o, prefix, from, [&](ByteView k, ByteView v) {
    rows.emplace_back(Bytes(k.begin(), k.end()), Bytes(v.begin(), v.end()));
    return rows.size() < limit;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return rows;
}

// What the `state` table holds, read with SQL (not through any store).
std::vector<std::tuple<Bytes, Bytes, Bytes>> TableRows(Database& db) {
  std::vector<std::tuple<Bytes, Bytes, Bytes>> rows;
  auto st = db.PrepareUncached("SELECT object, key, value FROM state ORDER BY object, key");
  EXPECT_TRUE(st.ok());
  for (;;) {
    auto row = st->Step();
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    if (!row.ok() || !*row) break;
    rows.emplace_back(st->BlobBytes(0), st->BlobBytes(1), st->BlobBytes(2));
  }
  return rows;
}

int64_t CountRows(Database& db) { return static_cast<int64_t>(TableRows(db).size()); }

// Every entry of `objects` in `mem`, in the shape TableRows returns.
std::vector<std::tuple<Bytes, Bytes, Bytes>> ModelRows(MemStateStore& mem,
                                                       const std::vector<ObjectId>& objects) {
  std::vector<std::tuple<Bytes, Bytes, Bytes>> rows;
  for (const ObjectId& o : objects)
    for (auto& [k, v] : ScanRows(mem, o, {}))
      rows.emplace_back(Bytes(o.view().begin(), o.view().end()), k, v);
  return rows;
}

// ---------------------------------------------------------------- the randomized model test

struct ModelCase {
  const char* name;
  StateCacheOptions options;
};
void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.name; }

class StateCacheModelTest : public ::testing::TestWithParam<ModelCase> {};

// One random sequence of Get/Put/Delete/Scan/ScanFrom (scans stopping early, reading and writing
// other objects from inside the callback), Begin/Commit/Rollback and writes outside a
// transaction, run against SqliteStateStore and MemStateStore: every result must be equal,
// and after every commit the table itself must equal the model.
TEST_P(StateCacheModelTest, AgreesWithMemStateStore) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto db = Open(":memory:");
    SqliteStateStore store(*db, GetParam().options);
    MemStateStore committed, current;  // the model: committed state, and the txn's view
    bool in_txn = false;
    const std::vector<ObjectId> objects = {Obj(1), Obj(2), Obj(0xff)};
    std::mt19937 rng(seed);
    // Few distinct bytes, 0x00 and 0xff among them, so keys collide and prefixes nest.
    auto random_bytes = [&](size_t max_len) {
      static constexpr uint8_t kAlphabet[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
      Bytes b(rng() % (max_len + 1));
      for (auto& c : b) c = kAlphabet[rng() % 5];
      return b;
    };
    auto random_value = [&]() {
      Bytes v = random_bytes(6);
      if (rng() % 20 == 0) v.resize(200 + rng() % 300, 0x5a);  // pushes the small budgets
      return v;
    };
    auto check_table = [&]() { ASSERT_EQ(TableRows(*db), ModelRows(committed, objects)); };

    for (int step = 0; step < 6000; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      const ObjectId& o = objects[rng() % objects.size()];
      const unsigned pick = rng() % 100;
      if (pick < 4) {
        if (!in_txn) {
          ASSERT_TRUE(db->Begin().ok());
          in_txn = true;
        } else if (rng() % 3 != 0) {
          ASSERT_TRUE(db->Commit().ok());
          committed = current;
          in_txn = false;
          check_table();
        } else {
          ASSERT_TRUE(db->Rollback().ok());
          current = committed;
          in_txn = false;
          check_table();
        }
      } else if (pick < 40) {
        Bytes k = random_bytes(4), v = random_value();
        // PutNew where its promise holds (the key is absent): a Delete later in the same
        // transaction then writes nothing, and must still leave the table as the model.
        const bool absent = !current.Get(o, k)->has_value();
        ASSERT_TRUE((absent && rng() % 2 ? store.PutNew(o, k, v) : store.Put(o, k, v)).ok());
        ASSERT_TRUE(current.Put(o, k, v).ok());
        if (!in_txn) {
          ASSERT_TRUE(committed.Put(o, k, v).ok());
        }
      } else if (pick < 55) {
        Bytes k = random_bytes(4);
        ASSERT_TRUE(store.Delete(o, k).ok());
        ASSERT_TRUE(current.Delete(o, k).ok());
        if (!in_txn) {
          ASSERT_TRUE(committed.Delete(o, k).ok());
        }
      } else if (pick < 75) {
        Bytes k = random_bytes(4);
        auto got = store.Get(o, k);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        ASSERT_EQ(*got, *current.Get(o, k));
      } else if (pick < 95) {
        Bytes prefix = random_bytes(2);
        const size_t limit = rng() % 3 == 0 ? 1 + rng() % 4 : SIZE_MAX;
        if (rng() % 3 == 0) {
          // A seek into the prefix: starts past some of its entries.
          Bytes from = prefix;
          for (uint8_t b : random_bytes(3)) from.push_back(b);
          ASSERT_EQ(ScanFromRows(store, o, prefix, from, limit),
                    ScanFromRows(current, o, prefix, from, limit));
          // A full scan of the same prefix afterwards still sees every entry.
          ASSERT_EQ(ScanRows(store, o, prefix), ScanRows(current, o, prefix));
        } else {
          ASSERT_EQ(ScanRows(store, o, prefix, limit), ScanRows(current, o, prefix, limit));
        }
      } else {
        // A scan whose callback reads any object and writes another one.
        Bytes prefix = random_bytes(1);
        const ObjectId& other = objects[(&o - objects.data() + 1) % objects.size()];
        Rows got, want;
        ASSERT_TRUE(current
                        .Scan(o, prefix,
                              [&](ByteView k, ByteView v) {
                                want.emplace_back(Bytes(k.begin(), k.end()),
                                                  Bytes(v.begin(), v.end()));
                                return true;
                              })
                        .ok());
        Status inner;
        ASSERT_TRUE(store
                        .Scan(o, prefix,
                              [&](ByteView k, ByteView v) {
                                got.emplace_back(Bytes(k.begin(), k.end()),
                                                 Bytes(v.begin(), v.end()));
                                Bytes rk = random_bytes(3);
                                const ObjectId& ro = objects[rng() % objects.size()];
                                auto r = store.Get(ro, rk);
                                if (!r.ok() || *r != *current.Get(ro, rk))
                                  inner = Status::Internal("read inside a scan differs");
                                Bytes wk = random_bytes(3), wv = random_value();
                                if (!store.Put(other, wk, wv).ok())
                                  inner = Status::Internal("write inside a scan failed");
                                (void)current.Put(other, wk, wv);
                                if (!in_txn) (void)committed.Put(other, wk, wv);
                                return true;
                              })
                        .ok());
        ASSERT_TRUE(inner.ok()) << inner.ToString();
        ASSERT_EQ(got, want);
      }
    }
    if (in_txn) {
      ASSERT_TRUE(db->Commit().ok());
      committed = current;
    }
    check_table();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Budgets, StateCacheModelTest,
    ::testing::Values(
        ModelCase{"Default", {}},
        // Every write goes through at once; no clean cache, no scan rows remembered.
        ModelCase{"WriteThrough", {0, 0, 0}},
        // Smaller than one transaction's writes and scans: early write-through and scans
        // remembered in part; a 4-slot clean cache whose keys keep evicting each other.
        ModelCase{"Tiny", {600, 2048, 700}}, ModelCase{"SmallScans", {1 << 20, 1 << 20, 300}}),
    [](const ::testing::TestParamInfo<ModelCase>& info) { return info.param.name; });

// ---------------------------------------------------------------- targeted tests

class StateCacheTest : public ::testing::Test {
 protected:
  StateCacheTest() : db_(Open(":memory:")), store_(std::make_unique<SqliteStateStore>(*db_)) {}

  std::optional<Bytes> Get(const Bytes& k) {
    auto v = store_->Get(obj_, k);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : std::nullopt;
  }

  std::unique_ptr<Database> db_;
  std::unique_ptr<SqliteStateStore> store_;
  ObjectId obj_ = Obj(7);
};

TEST_F(StateCacheTest, WritesReachSqliteAtCommit) {
  ASSERT_TRUE(store_->Put(obj_, ToBytes("c"), ToBytes("0")).ok());  // autocommit
  ASSERT_TRUE(db_->Begin().ok());
  EXPECT_EQ(Get(ToBytes("a")), std::nullopt);  // "absent" is cached
  EXPECT_EQ(Get(ToBytes("c")), ToBytes("0"));
  ASSERT_TRUE(store_->Put(obj_, ToBytes("a"), ToBytes("1")).ok());
  ASSERT_TRUE(store_->Put(obj_, ToBytes("b"), ToBytes("2")).ok());
  ASSERT_TRUE(store_->Delete(obj_, ToBytes("c")).ok());
  EXPECT_EQ(CountRows(*db_), 1);  // still in the overlay
  EXPECT_EQ(Get(ToBytes("a")), ToBytes("1"));
  EXPECT_EQ(Get(ToBytes("c")), std::nullopt);
  ASSERT_TRUE(store_->Delete(obj_, ToBytes("b")).ok());
  EXPECT_EQ(Get(ToBytes("b")), std::nullopt);
  EXPECT_EQ(store_->dirty_entries(), 3u);
  ASSERT_TRUE(db_->Commit().ok());
  EXPECT_EQ(store_->dirty_entries(), 0u);
  ASSERT_EQ(CountRows(*db_), 1);
  EXPECT_EQ(std::get<1>(TableRows(*db_)[0]), ToBytes("a"));
  // The commit updated the cached "absent" of a and "0" of c: a later transaction reads the
  // committed values without going to SQLite.
  ASSERT_TRUE(db_->Begin().ok());
  const uint64_t misses = store_->stats().get_misses;
  EXPECT_EQ(Get(ToBytes("a")), ToBytes("1"));
  EXPECT_EQ(Get(ToBytes("c")), std::nullopt);
  EXPECT_EQ(store_->stats().get_misses, misses);
  ASSERT_TRUE(db_->Commit().ok());
}

// Commits with hundreds of writes and deletions of two objects (written many rows per
// statement) leave the table equal to the model.
// A key written with PutNew and deleted in the same transaction never reaches SQLite; one
// written with Put is deleted there (it may have had a row).
TEST_F(StateCacheTest, ANewKeyDeletedInItsTransactionWritesNothing) {
  ASSERT_TRUE(db_->Begin().ok());
  ASSERT_TRUE(store_->PutNew(obj_, ToBytes("new"), ToBytes("1")).ok());
  ASSERT_TRUE(store_->Put(obj_, ToBytes("old"), ToBytes("2")).ok());
  EXPECT_EQ(Get(ToBytes("new")), ToBytes("1"));
  ASSERT_TRUE(store_->Delete(obj_, ToBytes("new")).ok());
  ASSERT_TRUE(store_->Delete(obj_, ToBytes("old")).ok());
  EXPECT_EQ(Get(ToBytes("new")), std::nullopt);
  EXPECT_EQ(store_->dirty_entries(), 1u);  // only "old"'s deletion is left to write
  const uint64_t written = store_->stats().rows_written;
  ASSERT_TRUE(db_->Commit().ok());
  EXPECT_EQ(store_->stats().rows_written, written + 1);
  EXPECT_EQ(CountRows(*db_), 0);
  // Committed, a PutNew key is an ordinary row: deleting it later reaches SQLite.
  ASSERT_TRUE(db_->Begin().ok());
  ASSERT_TRUE(store_->PutNew(obj_, ToBytes("kept"), ToBytes("3")).ok());
  ASSERT_TRUE(db_->Commit().ok());
  EXPECT_EQ(CountRows(*db_), 1);
  ASSERT_TRUE(db_->Begin().ok());
  ASSERT_TRUE(store_->Delete(obj_, ToBytes("kept")).ok());
  ASSERT_TRUE(db_->Commit().ok());
  EXPECT_EQ(CountRows(*db_), 0);
}

TEST_F(StateCacheTest, LargeCommitsMatchTheModel) {
  MemStateStore mem;
  const std::vector<ObjectId> objects = {obj_, Obj(8)};
  std::mt19937 rng(99);
  for (int txn = 0; txn < 6; ++txn) {
    ASSERT_TRUE(db_->Begin().ok());
    for (int i = 0; i < 700; ++i) {
      const ObjectId& o = objects[rng() % 2];
      Bytes k = {static_cast<uint8_t>(rng() % 16), static_cast<uint8_t>(rng() % 40)};
      if (rng() % 3 == 0) {
        ASSERT_TRUE(store_->Delete(o, k).ok());
        ASSERT_TRUE(mem.Delete(o, k).ok());
      } else {
        Bytes v(rng() % 5, static_cast<uint8_t>(i));
        ASSERT_TRUE(store_->Put(o, k, v).ok());
        ASSERT_TRUE(mem.Put(o, k, v).ok());
      }
    }
    ASSERT_TRUE(db_->Commit().ok());
    ASSERT_EQ(TableRows(*db_), ModelRows(mem, objects)) << "transaction " << txn;
  }
  EXPECT_GT(store_->stats().rows_written, 1000u);
}

TEST_F(StateCacheTest, RollbackForgetsWritesAndCachedReads) {
  ASSERT_TRUE(store_->Put(obj_, ToBytes("k"), ToBytes("v1")).ok());  // autocommit
  EXPECT_EQ(CountRows(*db_), 1);                                     // written through
  {
    auto txn = Transaction::Begin(*db_);
    ASSERT_TRUE(txn.ok());
    EXPECT_EQ(Get(ToBytes("k")), ToBytes("v1"));
    ASSERT_TRUE(store_->Put(obj_, ToBytes("k"), ToBytes("v2")).ok());
    ASSERT_TRUE(store_->Put(obj_, ToBytes("new"), ToBytes("x")).ok());
    EXPECT_EQ(Get(ToBytes("k")), ToBytes("v2"));
    ASSERT_TRUE(store_->Flush().ok());  // in SQLite now, but only inside the transaction
    EXPECT_EQ(CountRows(*db_), 2);
  }  // rolled back
  EXPECT_EQ(Get(ToBytes("k")), ToBytes("v1"));
  EXPECT_EQ(Get(ToBytes("new")), std::nullopt);
  ASSERT_TRUE(db_->Begin().ok());
  EXPECT_EQ(Get(ToBytes("k")), ToBytes("v1"));
  EXPECT_EQ(Get(ToBytes("new")), std::nullopt);
  EXPECT_EQ(ScanRows(*store_, obj_, {}), (Rows{{ToBytes("k"), ToBytes("v1")}}));
  ASSERT_TRUE(db_->Commit().ok());
}

TEST_F(StateCacheTest, OverlayPastItsBudgetIsWrittenThroughInTheTransaction) {
  store_ = std::make_unique<SqliteStateStore>(*db_, StateCacheOptions{1000, 1 << 20, 1 << 20});
  ASSERT_TRUE(db_->Begin().ok());
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(store_->Put(obj_, ToBytes("key" + std::to_string(i)), Bytes(20, 1)).ok());
  EXPECT_GT(store_->stats().spills, 0u);
  EXPECT_LT(store_->dirty_entries(), 100u);
  EXPECT_GT(CountRows(*db_), 0);
  EXPECT_EQ(ScanRows(*store_, obj_, ToBytes("key")).size(), 100u);
  ASSERT_TRUE(db_->Rollback().ok());
  EXPECT_EQ(CountRows(*db_), 0);
  EXPECT_TRUE(ScanRows(*store_, obj_, {}).empty());
}

TEST_F(StateCacheTest, RepeatedScanReadsRememberedRowsAndSeesNewWrites) {
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(store_->Put(obj_, Bytes{'p', static_cast<uint8_t>(i)}, Bytes{1}).ok());
  ASSERT_TRUE(db_->Begin().ok());
  const uint64_t before = store_->stats().scan_rows_read;
  EXPECT_EQ(ScanRows(*store_, obj_, ToBytes("p"), 1).size(), 1u);
  EXPECT_EQ(store_->stats().scan_rows_read, before + 1);
  // The first row is remembered: scanning it again reads nothing from SQLite.
  EXPECT_EQ(ScanRows(*store_, obj_, ToBytes("p"), 1).size(), 1u);
  EXPECT_EQ(store_->stats().scan_rows_read, before + 1);
  // Past it, SQLite is read from the remembered row on, once.
  ASSERT_TRUE(store_->Delete(obj_, Bytes{'p', 0}).ok());
  ASSERT_TRUE(store_->Put(obj_, Bytes{'p', 3, 0}, Bytes{2}).ok());
  Rows all = ScanRows(*store_, obj_, ToBytes("p"));
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(all[0].first, (Bytes{'p', 1}));
  EXPECT_EQ(all[3].first, (Bytes{'p', 3, 0}));
  EXPECT_EQ(store_->stats().scan_rows_read, before + 10);
  EXPECT_EQ(ScanRows(*store_, obj_, ToBytes("p")), all);
  EXPECT_EQ(store_->stats().scan_rows_read, before + 10);
  ASSERT_TRUE(db_->Commit().ok());
  // Remembered rows do not outlive their transaction.
  ASSERT_TRUE(db_->Begin().ok());
  EXPECT_EQ(ScanRows(*store_, obj_, ToBytes("p")), all);
  EXPECT_EQ(store_->stats().scan_rows_read, before + 20);
  ASSERT_TRUE(db_->Commit().ok());
}

TEST_F(StateCacheTest, NestedScanInsideACallback) {
  for (uint8_t i = 0; i < 5; ++i) ASSERT_TRUE(store_->Put(obj_, Bytes{i}, Bytes{i}).ok());
  ASSERT_TRUE(db_->Begin().ok());
  ASSERT_TRUE(store_->Put(obj_, Bytes{2, 0}, Bytes{9}).ok());
  std::vector<size_t> inner_sizes;
  ASSERT_TRUE(store_
                  ->Scan(obj_, {},
                         [&](ByteView k, ByteView) {
                           inner_sizes.push_back(ScanRows(*store_, obj_, k).size());
                           return true;
                         })
                  .ok());
  EXPECT_EQ(inner_sizes, (std::vector<size_t>{1, 1, 2, 1, 1, 1}));
  ASSERT_TRUE(db_->Commit().ok());
}

TEST_F(StateCacheTest, RollbackInsideAScanCallbackIsSafe) {
  for (uint8_t i = 0; i < 5; ++i) ASSERT_TRUE(store_->Put(obj_, Bytes{i}, Bytes{i}).ok());
  ASSERT_TRUE(db_->Begin().ok());
  ASSERT_TRUE(store_->Put(obj_, Bytes{1, 1}, Bytes{7}).ok());
  int calls = 0;
  (void)store_->Scan(obj_, {}, [&](ByteView, ByteView) {
    if (++calls == 2) {
      EXPECT_TRUE(db_->Rollback().ok());
    }
    return calls < 4;
  });
  EXPECT_FALSE(db_->in_transaction());
  EXPECT_EQ(store_->dirty_entries(), 0u);  // dropped when the scan ended
  EXPECT_EQ(ScanRows(*store_, obj_, {}).size(), 5u);
  EXPECT_EQ(Get(Bytes{1, 1}), std::nullopt);
}

TEST_F(StateCacheTest, TransactionEndedBehindTheStoresBackIsAnError) {
  ASSERT_TRUE(db_->Exec("BEGIN").ok());
  ASSERT_TRUE(store_->Put(obj_, ToBytes("k"), ToBytes("v")).ok());
  ASSERT_TRUE(db_->Exec("COMMIT").ok());  // skips BeforeCommit: the write never reached SQLite
  auto got = store_->Get(obj_, ToBytes("k"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kInternal);
  // The store recovers: what SQLite holds is what it reads from now on.
  EXPECT_EQ(Get(ToBytes("k")), std::nullopt);
}

TEST_F(StateCacheTest, DestroyedInsideATransactionLeavesItsWritesInIt) {
  ASSERT_TRUE(db_->Begin().ok());
  ASSERT_TRUE(store_->Put(obj_, ToBytes("k"), ToBytes("v")).ok());
  store_.reset();
  ASSERT_TRUE(db_->Commit().ok());
  EXPECT_EQ(CountRows(*db_), 1);
}

// The clean cache survives commits; a commit by another connection must invalidate it.
TEST(StateCacheConnections, SeesOtherConnectionsCommits) {
  TempDir dir;
  auto db1 = Open(dir.File("s.db"));
  auto db2 = Open(dir.File("s.db"));
  SqliteStateStore s1(*db1), s2(*db2);
  const ObjectId o = Obj(3);
  ASSERT_TRUE(s1.Put(o, ToBytes("k"), ToBytes("one")).ok());
  auto read1 = [&](std::string_view key) -> std::optional<Bytes> {
    EXPECT_TRUE(db1->Begin().ok());
    auto v = s1.Get(o, AsBytes(key));
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(db1->Commit().ok());
    return v.ok() ? *v : std::nullopt;
  };
  EXPECT_EQ(read1("k"), ToBytes("one"));  // now in s1's clean cache
  EXPECT_EQ(read1("absent"), std::nullopt);
  {
    auto txn = Transaction::Begin(*db2);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(s2.Put(o, ToBytes("k"), ToBytes("two")).ok());
    ASSERT_TRUE(s2.Put(o, ToBytes("absent"), ToBytes("here")).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_EQ(read1("k"), ToBytes("two"));
  EXPECT_EQ(read1("absent"), ToBytes("here"));
  EXPECT_GT(s1.stats().clean_drops, 0u);
  // Outside a transaction reads always go to SQLite.
  ASSERT_TRUE(s2.Put(o, ToBytes("k"), ToBytes("three")).ok());
  auto v = s1.Get(o, ToBytes("k"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, ToBytes("three"));
}

}  // namespace
}  // namespace topo::store
