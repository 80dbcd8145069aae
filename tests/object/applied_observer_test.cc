// Replica::SetAppliedObserver: what set reconciliation learns about new vertices. It hears of
// every vertex a commit applied, local or remote, once, and only after the commit.
#include <gtest/gtest.h>

#include <set>

#include "object/replica.h"

namespace topo::object {
namespace {

std::unique_ptr<Replica> Open() {
  auto r = Replica::Open(":memory:", crypto::SigningKey::Generate());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

TEST(AppliedObserver, HearsLocalAndIngestedVerticesAfterTheirCommit) {
  auto a = Open(), b = Open();
  std::vector<AppliedVertex> heard_a, heard_b;
  a->SetAppliedObserver([&](std::span<const AppliedVertex> batch) {
    EXPECT_FALSE(a->database().in_transaction());
    heard_a.insert(heard_a.end(), batch.begin(), batch.end());
  });
  b->SetAppliedObserver([&](std::span<const AppliedVertex> batch) {
    EXPECT_FALSE(b->database().in_transaction());
    heard_b.insert(heard_b.end(), batch.begin(), batch.end());
  });

  auto obj = a->CreateObject("counter");
  ASSERT_TRUE(obj.ok());
  auto field = a->FieldOf(*obj, "value");
  ASSERT_TRUE(field.ok()) << field.status().ToString();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(a->Submit(*obj, *field, codec::CrdtOp{codec::CounterAdd{1}}).ok());
  // A write the engine refuses applies nothing and is not heard of.
  EXPECT_FALSE(a->Submit(*obj, 99, codec::CrdtOp{codec::CounterAdd{1}}).ok());
  ASSERT_EQ(heard_a.size(), 4u);

  std::vector<Bytes> raws;
  std::vector<graph::VertexMeta> metas;
  ASSERT_TRUE(a->ForEachInOrder(*obj, [&](const graph::VertexMeta& m, ByteView raw) {
                 metas.push_back(m);
                 raws.emplace_back(raw.begin(), raw.end());
                 return true;
               }).ok());
  for (size_t i = 0; i < metas.size(); ++i) {
    EXPECT_EQ(heard_a[i].id, metas[i].id);
    EXPECT_EQ(heard_a[i].object, *obj);
    EXPECT_EQ(heard_a[i].created_at, metas[i].created_at);
  }
  // Children first: they wait, then apply when the genesis comes; all are heard of once.
  std::vector<Bytes> reversed(raws.rbegin(), raws.rend());
  ASSERT_TRUE(b->Ingest(reversed).ok());
  ASSERT_EQ(heard_b.size(), 4u);
  std::set<codec::VertexId> ids;
  for (const auto& h : heard_b) ids.insert(h.id);
  for (const auto& m : metas) EXPECT_TRUE(ids.count(m.id));
  // Duplicates apply nothing.
  ASSERT_TRUE(b->Ingest(raws).ok());
  EXPECT_EQ(heard_b.size(), 4u);
  // Removed: nothing more is heard.
  b->SetAppliedObserver({});
  auto other = b->CreateObject("counter");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(heard_b.size(), 4u);
}

}  // namespace
}  // namespace topo::object
