#include "store/sqlite_graph_store.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "codec/vertex.h"
#include "crypto/crypto.h"

namespace topo::store {
namespace {

using codec::Vertex;

class SqliteGraphStoreTest : public ::testing::Test {
 protected:
  SqliteGraphStoreTest() : key_(crypto::SigningKey::Generate()), clock_(1'700'000'000'000) {
    auto db = Database::Open(":memory:");
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    store_ = std::make_unique<SqliteGraphStore>(*db_, clock_);
  }

  Vertex Genesis(std::string_view payload = "g") {
    Vertex v;
    v.created_at = 1000;
    v.payload = ToBytes(payload);
    EXPECT_TRUE(codec::SignVertex(v, key_).ok());
    return v;
  }

  Vertex Child(const std::vector<const Vertex*>& parents, std::string_view payload = "op",
               uint32_t type = 1) {
    Vertex v;
    v.object_id = parents[0]->object();
    v.type = type;
    for (const Vertex* p : parents) {
      v.parents.push_back(p->id);
      v.depth = std::max(v.depth, p->depth + 1);
      v.created_at = std::max(v.created_at, p->created_at + 1);
    }
    v.payload = ToBytes(payload);
    EXPECT_TRUE(codec::SignVertex(v, key_).ok());
    return v;
  }

  void Apply(const Vertex& v) { ASSERT_TRUE(store_->PutApplied(v, codec::EncodeVertex(v)).ok()); }

  int64_t QueryInt(std::string_view sql) {
    auto st = db_->PrepareUncached(sql);
    EXPECT_TRUE(st.ok());
    auto row = st->Step();
    EXPECT_TRUE(row.ok() && *row);
    return st->Int64(0);
  }

  crypto::SigningKey key_;
  ManualClock clock_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<SqliteGraphStore> store_;
};

TEST_F(SqliteGraphStoreTest, AppliedVertexRoundTrips) {
  Vertex g = Genesis();
  Vertex a = Child({&g});
  auto missing = store_->GetMeta(a.id);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(store_->GetRaw(a.id).status().code(), Code::kNotFound);

  Apply(g);
  Apply(a);
  auto meta = store_->GetMeta(a.id);
  ASSERT_TRUE(meta.ok() && meta->has_value()) << meta.status().ToString();
  const graph::VertexMeta& m = **meta;
  EXPECT_EQ(m.id, a.id);
  EXPECT_EQ(m.object, g.id);
  EXPECT_EQ(m.type, 1u);
  EXPECT_EQ(m.depth, 1u);
  EXPECT_EQ(m.created_at, a.created_at);
  EXPECT_EQ(m.author, key_.public_key());

  auto gm = store_->GetMeta(g.id);
  ASSERT_TRUE(gm.ok() && gm->has_value());
  EXPECT_EQ((*gm)->object, g.id);  // a genesis vertex is its own object

  auto raw = store_->GetRaw(a.id);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, codec::EncodeVertex(a));
  auto parents = store_->GetParents(a.id);
  ASSERT_TRUE(parents.ok());
  EXPECT_EQ(*parents, std::vector<VertexId>{g.id});
  EXPECT_EQ(*store_->VertexCount(), 2u);
  EXPECT_EQ(QueryInt("SELECT applied_at FROM vertices WHERE seq = 2"),
            static_cast<int64_t>(clock_.NowMs()));

  Status dup = store_->PutApplied(a, codec::EncodeVertex(a));
  EXPECT_EQ(dup.code(), Code::kAlreadyExists) << dup.ToString();
}

TEST_F(SqliteGraphStoreTest, HeadsAddRemoveInIdOrder) {
  Vertex g = Genesis();
  Vertex a = Child({&g}, "a"), b = Child({&g}, "b"), c = Child({&g}, "c");
  ASSERT_TRUE(store_->AddHead(g.id, c.id).ok());
  ASSERT_TRUE(store_->AddHead(g.id, a.id).ok());
  ASSERT_TRUE(store_->AddHead(g.id, b.id).ok());
  ASSERT_TRUE(store_->AddHead(g.id, a.id).ok());  // again: no-op
  std::vector<VertexId> want = {a.id, b.id, c.id};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*store_->Heads(g.id), want);

  ASSERT_TRUE(store_->RemoveHead(g.id, b.id).ok());
  ASSERT_TRUE(store_->RemoveHead(g.id, b.id).ok());  // absent: no-op
  want.erase(std::find(want.begin(), want.end(), b.id));
  EXPECT_EQ(*store_->Heads(g.id), want);

  Vertex other = Genesis("other");
  EXPECT_TRUE(store_->Heads(other.id)->empty());
}

TEST_F(SqliteGraphStoreTest, RejectedKeepsFirstReason) {
  Vertex g = Genesis();
  Vertex a = Child({&g});
  EXPECT_FALSE(store_->RejectedReason(a.id)->has_value());
  ASSERT_TRUE(store_->PutRejected(a.id, g.id, "bad signature", codec::EncodeVertex(a)).ok());
  ASSERT_TRUE(store_->PutRejected(a.id, g.id, "something else", codec::EncodeVertex(a)).ok());
  auto reason = store_->RejectedReason(a.id);
  ASSERT_TRUE(reason.ok() && reason->has_value());
  EXPECT_EQ(**reason, "bad signature");
  EXPECT_EQ(*store_->RejectedCount(), 1u);
  EXPECT_FALSE(store_->GetMeta(a.id)->has_value());

  int seen = 0;
  ASSERT_TRUE(
      store_
          ->ForEachRejected([&](const VertexId& id, const ObjectId& object, std::string_view why) {
            EXPECT_EQ(id, a.id);
            EXPECT_EQ(object, g.id);
            EXPECT_EQ(why, "bad signature");
            ++seen;
            return true;
          })
          .ok());
  EXPECT_EQ(seen, 1);
}

TEST_F(SqliteGraphStoreTest, BlockedOnTwoDepsResolvesOneAtATime) {
  Vertex g = Genesis();
  Vertex a = Child({&g}, "a"), b = Child({&g}, "b");
  Vertex c = Child({&a, &b}, "c");
  Bytes c_raw = codec::EncodeVertex(c);
  EXPECT_FALSE(*store_->IsBlocked(c.id));
  ASSERT_TRUE(store_->PutBlocked(c.id, c_raw, {a.id, b.id}).ok());
  EXPECT_TRUE(*store_->IsBlocked(c.id));
  EXPECT_EQ(*store_->BlockedCount(), 1u);

  auto none = store_->ResolveDependency(g.id);  // nothing waits on g
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  auto first = store_->ResolveDependency(a.id);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->empty());
  EXPECT_TRUE(*store_->IsBlocked(c.id));
  EXPECT_EQ(QueryInt("SELECT missing FROM blocked"), 1);

  auto second = store_->ResolveDependency(b.id);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0], c_raw);
  EXPECT_FALSE(*store_->IsBlocked(c.id));
  EXPECT_EQ(*store_->BlockedCount(), 0u);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM blocked_deps"), 0);
  // Resolving again finds nothing.
  EXPECT_TRUE(store_->ResolveDependency(b.id)->empty());
}

TEST_F(SqliteGraphStoreTest, ResolveReturnsEveryReadyVertexInIdOrder) {
  Vertex g = Genesis();
  Vertex a = Child({&g}, "a");
  std::vector<Vertex> kids;
  for (int i = 0; i < 5; ++i) kids.push_back(Child({&a}, "kid" + std::to_string(i)));
  for (const Vertex& k : kids)
    ASSERT_TRUE(store_->PutBlocked(k.id, codec::EncodeVertex(k), {a.id}).ok());
  auto ready = store_->ResolveDependency(a.id);
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(ready->size(), kids.size());
  std::sort(kids.begin(), kids.end(), [](const Vertex& x, const Vertex& y) { return x.id < y.id; });
  for (size_t i = 0; i < kids.size(); ++i) EXPECT_EQ((*ready)[i], codec::EncodeVertex(kids[i]));
}

TEST_F(SqliteGraphStoreTest, DropDependentsRemovesWaitersAndTheirRows) {
  Vertex g = Genesis();
  Vertex x = Child({&g}, "x"), y = Child({&g}, "y");
  Vertex d = Child({&x, &y}, "d");  // waits on x and y
  Vertex e = Child({&x}, "e");      // waits on x
  Vertex f = Child({&y}, "f");      // waits on y
  ASSERT_TRUE(store_->PutBlocked(d.id, codec::EncodeVertex(d), {x.id, y.id}).ok());
  ASSERT_TRUE(store_->PutBlocked(e.id, codec::EncodeVertex(e), {x.id}).ok());
  ASSERT_TRUE(store_->PutBlocked(f.id, codec::EncodeVertex(f), {y.id}).ok());

  auto dropped = store_->DropDependents(x.id);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  ASSERT_EQ(dropped->size(), 2u);
  std::vector<std::pair<VertexId, Bytes>> want = {{d.id, codec::EncodeVertex(d)},
                                                  {e.id, codec::EncodeVertex(e)}};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*dropped, want);
  EXPECT_EQ(*store_->BlockedCount(), 1u);
  EXPECT_FALSE(*store_->IsBlocked(d.id));
  EXPECT_TRUE(*store_->IsBlocked(f.id));
  // d's row waiting on y went with it: only (y, f) is left.
  EXPECT_EQ(QueryInt("SELECT count(*) FROM blocked_deps"), 1);

  auto ready = store_->ResolveDependency(y.id);
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(ready->size(), 1u);
  EXPECT_EQ((*ready)[0], codec::EncodeVertex(f));
  EXPECT_TRUE(store_->DropDependents(x.id)->empty());
}

TEST_F(SqliteGraphStoreTest, ListingAndLinearOrder) {
  Vertex g1 = Genesis("one");
  Vertex g2 = Genesis("two");
  Vertex a = Child({&g1}, "a"), b = Child({&g1}, "b");
  Vertex c = Child({&a, &b}, "c");
  Vertex z = Child({&g2}, "z");
  // Arrival order differs from linear order.
  Apply(g2);
  Apply(g1);
  Apply(b);
  Apply(z);
  Apply(a);
  Apply(c);

  EXPECT_EQ(*store_->ListObjects(), (std::vector<ObjectId>{g2.id, g1.id}));

  std::vector<VertexId> order;
  std::vector<uint64_t> depths;
  ASSERT_TRUE(store_
                  ->ForEachInOrder(g1.id,
                                   [&](const graph::VertexMeta& m, ByteView raw) {
                                     EXPECT_EQ(m.object, g1.id);
                                     auto v = codec::DecodeVertex(raw);
                                     EXPECT_TRUE(v.ok() && v->id == m.id);
                                     order.push_back(m.id);
                                     depths.push_back(m.depth);
                                     return true;
                                   })
                  .ok());
  std::vector<VertexId> mid = {a.id, b.id};
  std::sort(mid.begin(), mid.end());
  EXPECT_EQ(order, (std::vector<VertexId>{g1.id, mid[0], mid[1], c.id}));
  EXPECT_EQ(depths, (std::vector<uint64_t>{0, 1, 1, 2}));

  // Stopping early, then reading again, works (the statement was reset).
  int calls = 0;
  ASSERT_TRUE(store_->ForEachInOrder(g1.id, [&](auto&, ByteView) { return ++calls < 2; }).ok());
  EXPECT_EQ(calls, 2);

  std::vector<Bytes> exported;
  ASSERT_TRUE(store_
                  ->ForEachVertex([&](ByteView raw) {
                    exported.emplace_back(raw.begin(), raw.end());
                    return true;
                  })
                  .ok());
  std::vector<Bytes> arrival;
  for (const Vertex* v : {&g2, &g1, &b, &z, &a, &c}) arrival.push_back(codec::EncodeVertex(*v));
  EXPECT_EQ(exported, arrival);
  EXPECT_EQ(*store_->VertexCount(), 6u);
}

TEST_F(SqliteGraphStoreTest, TransactionRollbackUndoesGraphWrites) {
  Vertex g = Genesis();
  {
    auto txn = Transaction::Begin(*db_);
    ASSERT_TRUE(txn.ok());
    Apply(g);
    ASSERT_TRUE(store_->AddHead(g.id, g.id).ok());
    EXPECT_TRUE(store_->GetMeta(g.id)->has_value());  // read-your-writes
  }
  EXPECT_FALSE(store_->GetMeta(g.id)->has_value());
  EXPECT_TRUE(store_->Heads(g.id)->empty());
}

TEST_F(SqliteGraphStoreTest, CorruptStoredIdIsReported) {
  ASSERT_TRUE(db_->Exec("INSERT INTO heads VALUES (zeroblob(32), x'0102')").ok());
  auto heads = store_->Heads(ObjectId{});
  ASSERT_FALSE(heads.ok());
  EXPECT_EQ(heads.status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace topo::store
