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
  auto none = store_->GetStored(a.id);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

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
  // Both in one lookup, as a peer is served; the genesis too (its own object).
  for (const Vertex* v : {&g, &a}) {
    auto stored = store_->GetStored(v->id);
    ASSERT_TRUE(stored.ok() && stored->has_value()) << stored.status().ToString();
    auto alone = store_->GetMeta(v->id);
    EXPECT_EQ((*stored)->meta.object, (*alone)->object);
    EXPECT_EQ((*stored)->meta.depth, (*alone)->depth);
    EXPECT_EQ((*stored)->meta.type, (*alone)->type);
    EXPECT_EQ((*stored)->meta.created_at, (*alone)->created_at);
    EXPECT_EQ((*stored)->meta.author, (*alone)->author);
    EXPECT_EQ((*stored)->raw, codec::EncodeVertex(*v));
  }
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
  EXPECT_EQ(QueryInt("SELECT count(*) FROM blocked_deps"), 1);  // c still waits on b

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
  ASSERT_TRUE(db_->Exec("INSERT INTO objects (key, id) VALUES (7, zeroblob(32));"
                        "INSERT INTO heads VALUES (7, x'0102')")
                  .ok());
  auto heads = store_->Heads(ObjectId{});
  ASSERT_FALSE(heads.ok());
  EXPECT_EQ(heads.status().code(), Code::kCorruption);
}

TEST_F(SqliteGraphStoreTest, CorruptStoredEncodingIsReported) {
  Vertex g = Genesis();
  Apply(g);
  // The author is read from the stored encoding: a truncated one cannot give it.
  ASSERT_TRUE(db_->Exec("UPDATE vertices SET raw = x'0102'").ok());
  SqliteGraphStore uncached(*db_, clock_, 0);
  auto meta = uncached.GetMeta(g.id);
  ASSERT_FALSE(meta.ok());
  EXPECT_EQ(meta.status().code(), Code::kCorruption) << meta.status().ToString();
  Status in_order = uncached.ForEachInOrder(g.id, [](auto&, ByteView) { return true; });
  EXPECT_EQ(in_order.code(), Code::kCorruption) << in_order.ToString();
}

// Every field a store without a cache reads back from SQLite (object and author from the
// stored encoding) matches what a caching store kept from PutApplied.
TEST_F(SqliteGraphStoreTest, MetaFromSqliteMatchesMetaFromTheCache) {
  crypto::SigningKey other = crypto::SigningKey::Generate();
  Vertex g = Genesis();
  Vertex a = Child({&g}, "a", 7);
  Vertex b;  // by another author, with a type that needs a two-byte varint
  b.object_id = g.id;
  b.type = 300;
  b.parents = {a.id};
  b.depth = 2;
  b.created_at = a.created_at + 5;
  b.payload = ToBytes("b");
  ASSERT_TRUE(codec::SignVertex(b, other).ok());
  for (const Vertex* v : {&g, &a, &b}) Apply(*v);

  SqliteGraphStore uncached(*db_, clock_, 0);
  for (const Vertex* v : {&g, &a, &b}) {
    auto cached = store_->GetMeta(v->id);
    auto read = uncached.GetMeta(v->id);
    ASSERT_TRUE(cached.ok() && cached->has_value());
    ASSERT_TRUE(read.ok() && read->has_value()) << read.status().ToString();
    for (const graph::VertexMeta* m : {&**cached, &**read}) {
      EXPECT_EQ(m->id, v->id);
      EXPECT_EQ(m->object, g.id);
      EXPECT_EQ(m->type, v->type);
      EXPECT_EQ(m->depth, v->depth);
      EXPECT_EQ(m->created_at, v->created_at);
      EXPECT_EQ(m->author, v->author);
    }
  }
  EXPECT_EQ((*uncached.GetMeta(b.id))->author, other.public_key());

  std::vector<crypto::PublicKey> authors;
  ASSERT_TRUE(uncached
                  .ForEachInOrder(g.id,
                                  [&](const graph::VertexMeta& m, ByteView) {
                                    EXPECT_EQ(m.object, g.id);
                                    authors.push_back(m.author);
                                    return true;
                                  })
                  .ok());
  EXPECT_EQ(authors, (std::vector<crypto::PublicKey>{key_.public_key(), key_.public_key(),
                                                     other.public_key()}));
  // The duplicate check does not depend on the cache either.
  EXPECT_EQ(uncached.PutApplied(a, codec::EncodeVertex(a)).code(), Code::kAlreadyExists);
  EXPECT_FALSE(uncached.GetMeta(Child({&b}, "never applied").id)->has_value());
}

// Vertex ids are hashes, so two that share their first 8 bytes (the indexed id8) are rare,
// but the store must still tell them apart. The store does not check that an id is the
// hash of its encoding, which lets this test make such a pair.
TEST_F(SqliteGraphStoreTest, IdsSharingTheirFirst8BytesAreToldApart) {
  Vertex g = Genesis();
  Vertex a = Child({&g}, "a");
  Vertex twin = Child({&g}, "twin", 9);
  twin.id = a.id;
  twin.id.bytes[31] ^= 0xff;
  ASSERT_EQ(Id8(twin.id.view()), Id8(a.id.view()));
  Vertex absent = a;
  absent.id.bytes[8] ^= 0xff;

  for (size_t slots : {size_t{0}, SqliteGraphStore::kDefaultMetaCacheEntries}) {
    SCOPED_TRACE(slots);
    auto db = Database::Open(":memory:");
    ASSERT_TRUE(db.ok());
    SqliteGraphStore store(**db, clock_, slots);
    ASSERT_TRUE(store.PutApplied(g, codec::EncodeVertex(g)).ok());
    ASSERT_TRUE(store.PutApplied(a, codec::EncodeVertex(a)).ok());
    EXPECT_FALSE(store.GetMeta(twin.id)->has_value());
    ASSERT_TRUE(store.PutApplied(twin, codec::EncodeVertex(twin)).ok());
    EXPECT_EQ(store.PutApplied(twin, codec::EncodeVertex(twin)).code(), Code::kAlreadyExists);
    EXPECT_EQ(store.PutApplied(a, codec::EncodeVertex(a)).code(), Code::kAlreadyExists);
    EXPECT_EQ((*store.GetMeta(a.id))->type, 1u);
    EXPECT_EQ((*store.GetMeta(twin.id))->type, 9u);
    EXPECT_EQ(*store.GetRaw(twin.id), codec::EncodeVertex(twin));
    EXPECT_EQ(*store.GetRaw(a.id), codec::EncodeVertex(a));
    EXPECT_EQ((*store.GetStored(twin.id))->raw, codec::EncodeVertex(twin));
    EXPECT_EQ((*store.GetStored(a.id))->meta.type, 1u);
    EXPECT_FALSE(store.GetStored(absent.id)->has_value());
    EXPECT_FALSE(store.GetMeta(absent.id)->has_value());
    EXPECT_EQ(*store.VertexCount(), 3u);
  }
}

// A cache far smaller than the graph: slots are overwritten all the time, and every answer
// is still the stored one.
TEST_F(SqliteGraphStoreTest, TinyMetaCacheEvictsButNeverLies) {
  SqliteGraphStore store(*db_, clock_, 2);
  Vertex g = Genesis();
  std::vector<Vertex> all = {g};
  for (int i = 0; i < 40; ++i) all.push_back(Child({&all[all.size() / 2]}, std::to_string(i)));
  for (const Vertex& v : all) ASSERT_TRUE(store.PutApplied(v, codec::EncodeVertex(v)).ok());
  for (int pass = 0; pass < 2; ++pass)
    for (const Vertex& v : all) {
      auto m = store.GetMeta(v.id);
      ASSERT_TRUE(m.ok() && m->has_value());
      EXPECT_EQ((*m)->id, v.id);
      EXPECT_EQ((*m)->depth, v.depth);
      EXPECT_EQ((*m)->created_at, v.created_at);
      EXPECT_EQ((*m)->object, g.id);
      EXPECT_EQ(store.PutApplied(v, codec::EncodeVertex(v)).code(), Code::kAlreadyExists);
    }
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(store.GetMeta(Child({&g}, "absent" + std::to_string(i)).id)->has_value());
}

// What a rolled-back transaction wrote must not come back from a cache: neither its vertices'
// metas nor the object keys it allocated (SQLite gives the same key to the next object).
TEST_F(SqliteGraphStoreTest, CachesForgetWhatARollbackUndid) {
  Vertex g1 = Genesis("one");
  Vertex a = Child({&g1}, "a");
  Vertex g2 = Genesis("two");
  Vertex z = Child({&g2}, "z");
  {
    auto txn = Transaction::Begin(*db_);
    ASSERT_TRUE(txn.ok());
    Apply(g1);
    Apply(a);
    ASSERT_TRUE(store_->AddHead(g1.id, a.id).ok());
    EXPECT_TRUE(store_->GetMeta(a.id)->has_value());
    EXPECT_EQ(*store_->Heads(g1.id), std::vector<VertexId>{a.id});
    ASSERT_TRUE(txn->Rollback().ok());
  }
  EXPECT_FALSE(store_->GetMeta(g1.id)->has_value());
  EXPECT_FALSE(store_->GetMeta(a.id)->has_value());
  EXPECT_TRUE(store_->Heads(g1.id)->empty());
  EXPECT_EQ(QueryInt("SELECT count(*) FROM objects"), 0);

  // g2 takes the key g1 had; g1's vertices can be applied again and get a new one.
  Apply(g2);
  Apply(z);
  ASSERT_TRUE(store_->AddHead(g2.id, z.id).ok());
  Apply(g1);
  Apply(a);
  ASSERT_TRUE(store_->AddHead(g1.id, a.id).ok());
  EXPECT_EQ(QueryInt("SELECT count(DISTINCT obj) FROM vertices"), 2);
  EXPECT_EQ(*store_->Heads(g1.id), std::vector<VertexId>{a.id});
  EXPECT_EQ(*store_->Heads(g2.id), std::vector<VertexId>{z.id});
  std::vector<VertexId> in_order;
  ASSERT_TRUE(store_
                  ->ForEachInOrder(g2.id,
                                   [&](const graph::VertexMeta& m, ByteView) {
                                     in_order.push_back(m.id);
                                     return true;
                                   })
                  .ok());
  EXPECT_EQ(in_order, (std::vector<VertexId>{g2.id, z.id}));
  EXPECT_EQ(*store_->ListObjects(), (std::vector<ObjectId>{g2.id, g1.id}));

  // A transaction dropped without Commit() (its destructor rolls back) is seen the same way.
  Vertex b = Child({&a}, "b");
  {
    auto txn = Transaction::Begin(*db_);
    ASSERT_TRUE(txn.ok());
    Apply(b);
    EXPECT_TRUE(store_->GetMeta(b.id)->has_value());
  }
  EXPECT_FALSE(store_->GetMeta(b.id)->has_value());
  Apply(b);
  EXPECT_EQ((*store_->GetMeta(b.id))->depth, 2u);
}

TEST_F(SqliteGraphStoreTest, ReadingAnUnknownObjectAllocatesNoKey) {
  Vertex g = Genesis();
  EXPECT_TRUE(store_->Heads(g.id)->empty());
  ASSERT_TRUE(store_->RemoveHead(g.id, g.id).ok());
  int calls = 0;
  ASSERT_TRUE(store_->ForEachInOrder(g.id, [&](auto&, ByteView) { return ++calls > 0; }).ok());
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(store_->ListObjects()->empty());
  EXPECT_EQ(QueryInt("SELECT count(*) FROM objects"), 0);
  // A head is kept for an object whose genesis is not applied (yet): it gets a key, but the
  // object is not listed until its genesis is applied.
  ASSERT_TRUE(store_->AddHead(g.id, g.id).ok());
  EXPECT_EQ(QueryInt("SELECT count(*) FROM objects"), 1);
  EXPECT_TRUE(store_->ListObjects()->empty());
  Apply(g);
  EXPECT_EQ(*store_->ListObjects(), std::vector<ObjectId>{g.id});
  EXPECT_EQ(QueryInt("SELECT count(*) FROM objects"), 1);
}

}  // namespace
}  // namespace topo::store
