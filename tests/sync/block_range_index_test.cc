// BlockRangeIndex against a naive sorted vector: every query a session makes (Size,
// LowerBound, Sum, Visit) gives the same answer after a load, after batches of adds that
// split blocks, and with items that share timestamps. The source is a sorted vector that
// the test grows before telling the index, as a store commits before its observer runs.
#include "sync/block_range_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "sync/reconcile_sets.h"

namespace topo::sync {
namespace {

struct VectorSource final : ItemSource {
  std::set<Item> items;
  mutable uint64_t reads = 0;
  Status Read(const Item& from, uint64_t limit, std::vector<Item>& out) const override {
    ++reads;
    for (auto it = items.lower_bound(from); it != items.end() && limit > 0; ++it, --limit)
      out.push_back(*it);
    return Status::Ok();
  }
};

void ExpectSameAnswers(const BlockRangeIndex& index, const std::set<Item>& items,
                       std::mt19937_64& rng, int queries) {
  const std::vector<Item> sorted(items.begin(), items.end());
  ASSERT_EQ(index.Size(), sorted.size());
  const uint64_t n = sorted.size();
  for (int q = 0; q < queries; ++q) {
    uint64_t a = n ? rng() % (n + 1) : 0, b = n ? rng() % (n + 1) : 0;
    if (a > b) std::swap(a, b);
    if (rng() % 4 == 0) b = std::min<uint64_t>(n, a + rng() % 70);  // short ranges too
    IdSum naive;
    for (uint64_t i = a; i < b; ++i) naive.Add(sorted[i].id);
    ASSERT_EQ(index.Sum(a, b), naive) << "[" << a << ", " << b << ")";
    std::vector<Item> seen;
    index.Visit(a, b, [&](const Item& it) {
      seen.push_back(it);
      return true;
    });
    ASSERT_TRUE(std::equal(seen.begin(), seen.end(), sorted.begin() + a, sorted.begin() + b));
    Item probe{rng() % 1000, testing::RandomId(rng)};
    if (n && rng() % 2) {
      probe = sorted[rng() % n];
      if (rng() % 2) probe.id.bytes[31] ^= 1;
    }
    ASSERT_EQ(index.LowerBound(probe),
              std::lower_bound(sorted.begin(), sorted.end(), probe) - sorted.begin());
  }
}

TEST(BlockRangeIndex, MatchesNaiveAfterLoadAndBatchesOfAdds) {
  std::mt19937_64 rng(5);
  VectorSource source;
  for (int i = 0; i < 3000; ++i) source.items.insert(Item{rng() % 1000, testing::RandomId(rng)});
  BlockRangeIndex index(source, 64);
  uint64_t loaded = 0;
  ASSERT_TRUE(index.Load([&](const Item&) { ++loaded; }).ok());
  EXPECT_EQ(loaded, source.items.size());
  ASSERT_TRUE(index.Validate().ok()) << index.Validate().ToString();
  ExpectSameAnswers(index, source.items, rng, 200);
  // Batches: random items (splits anywhere) and ascending ones (the catch-up's order).
  uint64_t t = 1000;
  for (int batch = 0; batch < 40; ++batch) {
    std::vector<Item> added;
    for (int i = 0; i < 250; ++i) {
      Item it = batch % 2 ? Item{t++, testing::RandomId(rng)}
                          : Item{rng() % 1000, testing::RandomId(rng)};
      if (source.items.insert(it).second) added.push_back(it);
    }
    for (const Item& it : added) ASSERT_TRUE(index.Add(it).ok());
    ASSERT_TRUE(index.Settle().ok());
    ASSERT_TRUE(index.Validate().ok()) << index.Validate().ToString() << " batch " << batch;
    ExpectSameAnswers(index, source.items, rng, 20);
  }
  // Blocks stay between block_items and twice that (the last one aside).
  EXPECT_LE(index.blocks(), source.items.size() / 64 + 1);
  EXPECT_GE(index.blocks(), source.items.size() / 128);
  EXPECT_TRUE(index.read_error().ok());
}

TEST(BlockRangeIndex, GrowsFromEmptyAndRefusesTheReservedTimestamp) {
  std::mt19937_64 rng(6);
  VectorSource source;
  BlockRangeIndex index(source, 4);
  ASSERT_TRUE(index.Load().ok());
  EXPECT_EQ(index.Size(), 0u);
  EXPECT_EQ(index.LowerBound(Item{5, testing::RandomId(rng)}), 0u);
  EXPECT_EQ(index.Sum(0, 0), IdSum{});
  // One at a time, descending: the first block's first item moves down each time.
  for (uint64_t t = 100; t > 0; --t) {
    Item it{t, testing::RandomId(rng)};
    source.items.insert(it);
    ASSERT_TRUE(index.Add(it).ok());
    ASSERT_TRUE(index.Settle().ok());
  }
  ASSERT_TRUE(index.Validate().ok()) << index.Validate().ToString();
  ExpectSameAnswers(index, source.items, rng, 100);
  EXPECT_FALSE(index.Add(Item{kInfinityTimestamp, testing::RandomId(rng)}).ok());
}

}  // namespace
}  // namespace topo::sync
