#include "store/sqlite_state_store.h"

#include <gtest/gtest.h>

#include <random>

namespace topo::store {
namespace {

class SqliteStateStoreTest : public ::testing::Test {
 protected:
  SqliteStateStoreTest() {
    auto db = Database::Open(":memory:");
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    store_ = std::make_unique<SqliteStateStore>(*db_);
    obj_.bytes[0] = 1;
    other_.bytes[0] = 2;
  }

  std::vector<Bytes> ScanKeys(StateStore& s, const ObjectId& o, const Bytes& prefix) {
    std::vector<Bytes> keys;
    Status st = s.Scan(o, prefix, [&](ByteView k, ByteView) {
      keys.emplace_back(k.begin(), k.end());
      return true;
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return keys;
  }

  std::unique_ptr<Database> db_;
  std::unique_ptr<SqliteStateStore> store_;
  ObjectId obj_, other_;
};

TEST(PrefixSuccessor, HandlesTrailingFf) {
  EXPECT_EQ(PrefixSuccessor(Bytes{0x01, 0x02}), (Bytes{0x01, 0x03}));
  EXPECT_EQ(PrefixSuccessor(Bytes{0x01, 0xff}), (Bytes{0x02}));
  EXPECT_EQ(PrefixSuccessor(Bytes{0x00, 0xff, 0xff}), (Bytes{0x01}));
  EXPECT_EQ(PrefixSuccessor(Bytes{0xfe}), (Bytes{0xff}));
  EXPECT_FALSE(PrefixSuccessor(Bytes{0xff, 0xff}).has_value());
  EXPECT_FALSE(PrefixSuccessor(Bytes{}).has_value());
}

TEST_F(SqliteStateStoreTest, GetPutDelete) {
  Bytes k = ToBytes("title");
  EXPECT_FALSE(store_->Get(obj_, k)->has_value());
  ASSERT_TRUE(store_->Put(obj_, k, ToBytes("hello")).ok());
  EXPECT_EQ(**store_->Get(obj_, k), ToBytes("hello"));
  ASSERT_TRUE(store_->Put(obj_, k, ToBytes("bye")).ok());  // overwrite
  EXPECT_EQ(**store_->Get(obj_, k), ToBytes("bye"));
  EXPECT_FALSE(store_->Get(other_, k)->has_value());  // objects are separate
  ASSERT_TRUE(store_->Delete(obj_, k).ok());
  EXPECT_FALSE(store_->Get(obj_, k)->has_value());
  ASSERT_TRUE(store_->Delete(obj_, k).ok());  // absent: no-op
}

TEST_F(SqliteStateStoreTest, EmptyKeyAndValueAreNotNull) {
  ASSERT_TRUE(store_->Put(obj_, Bytes{}, Bytes{}).ok());
  auto v = store_->Get(obj_, Bytes{});
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_TRUE((*v)->empty());
  EXPECT_EQ(ScanKeys(*store_, obj_, {}), std::vector<Bytes>{Bytes{}});
}

TEST_F(SqliteStateStoreTest, ScanPrefixEdgeCases) {
  std::vector<Bytes> keys = {
      {0x00},       {0x01}, {0x01, 0x00}, {0x01, 0xff}, {0x01, 0xff, 0xff}, {0x02},
      {0xfe, 0xff}, {0xff}, {0xff, 0x00}, {0xff, 0xff}, {0xff, 0xff, 0x01}};
  for (const Bytes& k : keys) ASSERT_TRUE(store_->Put(obj_, k, k).ok());
  ASSERT_TRUE(store_->Put(other_, Bytes{0x01}, Bytes{}).ok());

  EXPECT_EQ(ScanKeys(*store_, obj_, {}), keys);  // everything, in unsigned byte order
  EXPECT_EQ(ScanKeys(*store_, obj_, {0x01}),
            (std::vector<Bytes>{{0x01}, {0x01, 0x00}, {0x01, 0xff}, {0x01, 0xff, 0xff}}));
  EXPECT_EQ(ScanKeys(*store_, obj_, {0x01, 0xff}),
            (std::vector<Bytes>{{0x01, 0xff}, {0x01, 0xff, 0xff}}));
  EXPECT_EQ(ScanKeys(*store_, obj_, {0xfe}), (std::vector<Bytes>{{0xfe, 0xff}}));
  EXPECT_EQ(ScanKeys(*store_, obj_, {0xff}),
            (std::vector<Bytes>{{0xff}, {0xff, 0x00}, {0xff, 0xff}, {0xff, 0xff, 0x01}}));
  EXPECT_EQ(ScanKeys(*store_, obj_, {0xff, 0xff}),
            (std::vector<Bytes>{{0xff, 0xff}, {0xff, 0xff, 0x01}}));
  EXPECT_TRUE(ScanKeys(*store_, obj_, {0xff, 0xff, 0xff}).empty());
  EXPECT_TRUE(ScanKeys(*store_, obj_, {0x03}).empty());
}

TEST_F(SqliteStateStoreTest, ScanStopsWhenAskedAndPassesValues) {
  for (uint8_t i = 0; i < 10; ++i) ASSERT_TRUE(store_->Put(obj_, Bytes{7, i}, Bytes{i, i}).ok());
  int seen = 0;
  ASSERT_TRUE(store_
                  ->Scan(obj_, Bytes{7},
                         [&](ByteView k, ByteView v) {
                           EXPECT_EQ(Bytes(v.begin(), v.end()), (Bytes{k[1], k[1]}));
                           return ++seen < 3;
                         })
                  .ok());
  EXPECT_EQ(seen, 3);
  // The scan statement was reset: writing and scanning again works.
  ASSERT_TRUE(store_->Put(obj_, Bytes{7, 100}, Bytes{}).ok());
  EXPECT_EQ(ScanKeys(*store_, obj_, {7}).size(), 11u);
}

// The SQLite store and the in-memory one agree on random operations, 0xff-heavy keys included.
TEST_F(SqliteStateStoreTest, AgreesWithMemStateStore) {
  MemStateStore mem;
  std::mt19937 rng(1234);
  auto random_bytes = [&](size_t max_len) {
    Bytes b(rng() % (max_len + 1));
    for (auto& c : b) {
      uint32_t r = rng() % 4;
      c = r == 0 ? 0x00 : r == 1 ? 0xff : static_cast<uint8_t>(rng());
    }
    return b;
  };
  for (int i = 0; i < 2000; ++i) {
    const ObjectId& o = (rng() % 4 == 0) ? other_ : obj_;
    Bytes k = random_bytes(3);
    if (rng() % 3 == 0) {
      ASSERT_TRUE(store_->Delete(o, k).ok());
      ASSERT_TRUE(mem.Delete(o, k).ok());
    } else {
      Bytes v = random_bytes(4);
      ASSERT_TRUE(store_->Put(o, k, v).ok());
      ASSERT_TRUE(mem.Put(o, k, v).ok());
    }
  }
  for (int i = 0; i < 200; ++i) {
    Bytes prefix = random_bytes(2);
    for (const ObjectId* o : {&obj_, &other_})
      EXPECT_EQ(ScanKeys(*store_, *o, prefix), ScanKeys(mem, *o, prefix));
    Bytes k = random_bytes(3);
    EXPECT_EQ(*store_->Get(obj_, k), *mem.Get(obj_, k));
  }
}

}  // namespace
}  // namespace topo::store
