// One ReplicaIndex per replica, one ReplicaSource view per peer: the views share the sets
// (built once from the store, kept current on every commit) and each offers only what its
// predicate lets its peer read.
#include "sync/replica_index.h"

#include <gtest/gtest.h>

#include "object/replica.h"
#include "sync/replica_source.h"

namespace topo::sync {
namespace {

struct Fixture {
  std::unique_ptr<object::Replica> replica;
  Fixture() {
    object::ReplicaOptions o;
    o.verify_threads = 1;
    auto r = object::Replica::Open(":memory:", crypto::SigningKey::Generate(), o);
    EXPECT_TRUE(r.ok());
    replica = std::move(r).value();
  }
  codec::ObjectId Counter(int ops) {
    auto id = replica->CreateObject("counter");
    EXPECT_TRUE(id.ok());
    Add(*id, ops);
    return *id;
  }
  void Add(const codec::ObjectId& id, int ops) {
    auto f = replica->FieldOf(id, "value");
    for (int i = 0; i < ops; ++i)
      EXPECT_TRUE(replica->Submit(id, *f, codec::CrdtOp{codec::CounterAdd{1}}).ok());
  }
};

std::vector<codec::ObjectId> Ids(const std::vector<HelloFrame::Offer>& offers) {
  std::vector<codec::ObjectId> ids;
  for (const auto& o : offers) ids.push_back(o.object);
  return ids;
}

TEST(ReplicaIndex, ViewsShareOneIndexAndEachOffersWhatItsPeerMayRead) {
  Fixture f;
  auto a = f.Counter(2);
  auto b = f.Counter(4);
  auto index = ReplicaIndex::Make(*f.replica);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  ReplicaSource only_a(**index, [&](const codec::ObjectId& id) { return id == a; });
  ReplicaSource all(**index);

  std::vector<codec::ObjectId> both{a, b};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(Ids(all.Offers()), both);
  ASSERT_EQ(only_a.Offers().size(), 1u);
  EXPECT_EQ(only_a.Offers()[0].object, a);
  EXPECT_EQ(only_a.Offers()[0].items, 3u);  // genesis + 2
  EXPECT_TRUE(only_a.Offered(a));
  EXPECT_FALSE(only_a.Offered(b));
  EXPECT_TRUE(all.Offered(b));
  // One set per object, whichever view asks.
  EXPECT_EQ(only_a.Sketch(a), all.Sketch(a));
  EXPECT_EQ(only_a.Items(b), all.Items(b));
  EXPECT_EQ(all.Items(b)->Size(), 5u);

  // A commit reaches the index once, and every view sees it; the node hears of it too.
  size_t heard = 0;
  (*index)->SetOnApplied(
      [&](std::span<const object::AppliedVertex> batch) { heard += batch.size(); });
  f.Add(a, 3);
  EXPECT_EQ(heard, 3u);
  EXPECT_EQ(only_a.Offers()[0].items, 6u);
  EXPECT_EQ(all.Items(a)->Size(), 6u);
  auto c = f.Counter(0);
  EXPECT_EQ(all.Offers().size(), 3u);
  EXPECT_FALSE(only_a.Offered(c));
  // A membership change: the view is told.
  only_a.SetMayOffer(nullptr);
  EXPECT_TRUE(only_a.Offered(c));
  EXPECT_EQ(only_a.Offers().size(), 3u);
  // An object this replica holds nothing of is never offered, whatever the predicate says.
  codec::ObjectId unknown;
  unknown.bytes[0] = 9;
  EXPECT_FALSE(all.Offered(unknown));
  EXPECT_EQ(all.Sketch(unknown), nullptr);
}

TEST(ReplicaIndex, IsBuiltFromTheStoreAndLetsGoOfTheReplica) {
  Fixture f;
  auto a = f.Counter(7);
  {
    auto index = ReplicaIndex::Make(*f.replica);
    ASSERT_TRUE(index.ok());
    EXPECT_EQ((*index)->Items(a)->Size(), 8u);
    EXPECT_TRUE((*index)->Holds(a));
    auto v = (*index)->Vertex(a, a);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->depth, 0u);
    EXPECT_FALSE((*index)->Vertex(f.Counter(0), a).has_value());  // not of that object
  }
  // The index is gone and so is its observer: writes go on.
  f.Add(a, 1);
  auto again = ReplicaIndex::Make(*f.replica);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Items(a)->Size(), 9u);
  EXPECT_FALSE(ReplicaIndex::Make(*f.replica, 0).ok());
}

}  // namespace
}  // namespace topo::sync
