// RangeIndex against a naive sorted vector after random inserts and erases: every query a
// session makes (Size, LowerBound, Sum, Visit) must give the same answer, and the tree's own
// invariants must hold.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "sync/range_index.h"
#include "sync/reconcile_sets.h"

namespace topo::sync {
namespace {

IdSum NaiveSum(const std::vector<Item>& sorted, uint64_t begin, uint64_t end) {
  IdSum s;
  for (uint64_t i = begin; i < end; ++i) s.Add(sorted[i].id);
  return s;
}

void ExpectSameAnswers(const RangeIndex& index, const std::vector<Item>& sorted,
                       std::mt19937_64& rng, int queries) {
  ASSERT_EQ(index.Size(), sorted.size());
  const uint64_t n = sorted.size();
  for (int q = 0; q < queries; ++q) {
    uint64_t a = n ? rng() % (n + 1) : 0, b = n ? rng() % (n + 1) : 0;
    if (a > b) std::swap(a, b);
    if (rng() % 4 == 0) b = std::min<uint64_t>(n, a + rng() % 70);  // short ranges too
    ASSERT_EQ(index.Sum(a, b), NaiveSum(sorted, a, b)) << "[" << a << ", " << b << ")";
    ASSERT_EQ(index.RangeFingerprint(a, b), NaiveSum(sorted, a, b).ToFingerprint(b - a));
    std::vector<Item> seen;
    index.Visit(a, b, [&](const Item& it) {
      seen.push_back(it);
      return true;
    });
    ASSERT_TRUE(std::equal(seen.begin(), seen.end(), sorted.begin() + a, sorted.begin() + b));
    // A probe at an existing item, just below it, and at a random point.
    Item probe{rng() % 1000, testing::RandomId(rng)};
    if (n && rng() % 2) {
      probe = sorted[rng() % n];
      if (rng() % 2) probe.id.bytes[31] ^= 1;
    }
    ASSERT_EQ(index.LowerBound(probe),
              std::lower_bound(sorted.begin(), sorted.end(), probe) - sorted.begin());
  }
  Item stop_after_three{};
  int visits = 0;
  index.Visit(0, n, [&](const Item& it) {
    stop_after_three = it;
    return ++visits < 3;
  });
  EXPECT_EQ(visits, static_cast<int>(std::min<uint64_t>(3, n)));
}

std::vector<Item> Sorted(const std::set<Item>& items) { return {items.begin(), items.end()}; }

TEST(RangeIndex, MatchesNaiveRecomputeAfterRandomInserts) {
  std::mt19937_64 rng(21);
  RangeIndex index;
  std::set<Item> naive;
  for (int i = 0; i < 60000; ++i) {
    // Few distinct timestamps, so equal timestamps are common and ids decide the order.
    Item it{rng() % 1000, testing::RandomId(rng)};
    ASSERT_TRUE(index.Insert(it).ok());
    naive.insert(it);
    if (i % 10000 == 0 || i < 200) {
      ASSERT_TRUE(index.Validate().ok()) << index.Validate().ToString() << " after " << i;
      ExpectSameAnswers(index, Sorted(naive), rng, 20);
    }
  }
  ASSERT_TRUE(index.Validate().ok()) << index.Validate().ToString();
  ExpectSameAnswers(index, Sorted(naive), rng, 300);
}

TEST(RangeIndex, MatchesNaiveRecomputeAfterInsertsAndErases) {
  std::mt19937_64 rng(22);
  RangeIndex index;
  std::set<Item> naive;
  std::vector<Item> present;  // the same items, for picking one at random
  for (int i = 0; i < 80000; ++i) {
    const bool grow = present.size() < 500 || rng() % 100 < 55;
    if (grow) {
      Item it{rng() % 500, testing::RandomId(rng)};
      ASSERT_TRUE(index.Insert(it).ok());
      naive.insert(it);
      present.push_back(it);
    } else {
      const size_t k = rng() % present.size();
      const Item it = present[k];
      ASSERT_TRUE(index.Erase(it));
      ASSERT_FALSE(index.Contains(it));
      ASSERT_FALSE(index.Erase(it));
      naive.erase(it);
      present[k] = present.back();
      present.pop_back();
    }
    if (i % 8000 == 0) {
      ASSERT_TRUE(index.Validate().ok()) << index.Validate().ToString() << " after " << i;
      ExpectSameAnswers(index, Sorted(naive), rng, 20);
    }
  }
  ASSERT_TRUE(index.Validate().ok()) << index.Validate().ToString();
  std::vector<Item> sorted = Sorted(naive);
  ExpectSameAnswers(index, sorted, rng, 300);
  for (const Item& it : sorted) ASSERT_TRUE(index.Contains(it));
  // Erase everything, in random order: the tree shrinks back to an empty leaf.
  std::shuffle(sorted.begin(), sorted.end(), rng);
  for (size_t i = 0; i < sorted.size(); ++i) {
    ASSERT_TRUE(index.Erase(sorted[i]));
    if (i % 997 == 0) {
      ASSERT_TRUE(index.Validate().ok()) << index.Validate().ToString();
    }
  }
  EXPECT_EQ(index.Size(), 0u);
  EXPECT_TRUE(index.Validate().ok());
  EXPECT_EQ(index.Sum(0, 0), IdSum());
}

TEST(RangeIndex, AscendingAndDescendingInserts) {
  for (bool ascending : {true, false}) {
    RangeIndex index;
    std::vector<Item> sorted;
    std::mt19937_64 rng(23);
    for (uint64_t i = 0; i < 20000; ++i) {
      Item it{ascending ? i : 20000 - i, testing::RandomId(rng)};
      ASSERT_TRUE(index.Insert(it).ok());
      sorted.push_back(it);
    }
    std::sort(sorted.begin(), sorted.end());
    ASSERT_TRUE(index.Validate().ok()) << index.Validate().ToString();
    ExpectSameAnswers(index, sorted, rng, 100);
  }
}

TEST(RangeIndex, RejectsReservedTimestampAndDuplicates) {
  RangeIndex index;
  Item it{42, ItemId{}};
  EXPECT_TRUE(index.Insert(it).ok());
  EXPECT_EQ(index.Insert(it).code(), Code::kAlreadyExists);
  EXPECT_EQ(index.Size(), 1u);
  Item same_id_other_time{43, ItemId{}};
  EXPECT_TRUE(index.Insert(same_id_other_time).ok());
  EXPECT_EQ(index.Insert(Item{kInfinityTimestamp, ItemId{}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(index.Size(), 2u);
  EXPECT_FALSE(index.Erase(Item{44, ItemId{}}));
}

TEST(SortedVectorStorage, RejectsDuplicatesReservedTimestampAndLateInserts) {
  SortedVectorStorage s;
  EXPECT_TRUE(s.Insert(Item{1, ItemId{}}).ok());
  EXPECT_EQ(s.Insert(Item{kInfinityTimestamp, ItemId{}}).code(), Code::kInvalidArgument);
  EXPECT_TRUE(s.Insert(Item{1, ItemId{}}).ok());
  EXPECT_EQ(s.Seal().code(), Code::kInvalidArgument);  // the duplicate

  SortedVectorStorage t;
  EXPECT_TRUE(t.Insert(Item{2, ItemId{}}).ok());
  EXPECT_TRUE(t.Insert(Item{1, ItemId{}}).ok());
  EXPECT_TRUE(t.Seal().ok());
  EXPECT_EQ(t.items().front().timestamp, 1u);
  EXPECT_EQ(t.Insert(Item{3, ItemId{}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(t.Seal().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace topo::sync
