// Rateless IBLT and negentropy find the same difference: on random pairs of sets, the ids
// each reports the initiator lacks and the peer lacks are equal to each other and to the
// truth (riblt runs until it completes; when it falls back, negentropy's answer is the one
// a session uses, and it must still be the truth).
#include <gtest/gtest.h>

#include "reconcile_sets.h"
#include "sync/riblt_session.h"

namespace topo::sync {
namespace {

struct Found {
  std::set<ItemId> have, need;
  bool complete = false;
};

Found ByRiblt(const testing::SetPair& p) {
  RibltSketch sa, sb;
  for (const auto& it : p.a) sa.Insert(it.id);
  for (const auto& it : p.b) sb.Insert(it.id);
  RibltInitiator init(sa);
  RibltResponder resp(sb);
  Bytes msg = init.Start();
  for (int round = 0; round < 20 && !msg.empty(); ++round) {
    auto answer = resp.Receive(msg);
    EXPECT_TRUE(answer.ok()) << answer.status().ToString();
    if (!answer.ok()) break;
    auto next = init.Receive(*answer);
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    if (!next.ok()) break;
    msg = *next;
  }
  Found f;
  f.complete = init.outcome() == RibltOutcome::kComplete;
  // The initiator learns what it lacks and how many the responder lacks; which ones those
  // are, the responder learned.
  f.have.insert(resp.need().begin(), resp.need().end());
  f.need.insert(init.need().begin(), init.need().end());
  if (f.complete) {
    EXPECT_EQ(init.responder_lacks(), resp.need().size());
    EXPECT_EQ(std::set<ItemId>(resp.have().begin(), resp.have().end()), f.need);
  }
  return f;
}

Found ByNegentropy(const testing::SetPair& p) {
  auto ia = testing::BuildIndex(p.a), ib = testing::BuildIndex(p.b);
  auto t = testing::RunReconciliation(ia, ib, 0);
  Found f;
  f.complete = true;
  f.have.insert(t.have.begin(), t.have.end());
  f.need.insert(t.need.begin(), t.need.end());
  return f;
}

TEST(Agreement, RibltAndNegentropyFindTheSameDifference) {
  std::mt19937_64 rng(11);
  int riblt_completed = 0;
  for (int c = 0; c < 60; ++c) {
    size_t common = rng() % 5000;
    size_t only_a = rng() % (c % 3 == 0 ? 3000 : 200);
    size_t only_b = rng() % (c % 3 == 0 ? 3000 : 200);
    auto p = testing::MakeSetPair(100 + c, common, only_a, only_b, 1 + rng() % 10000);
    SCOPED_TRACE("case " + std::to_string(c) + ": " + std::to_string(only_a) + " + " +
                 std::to_string(only_b) + " differ");
    Found n = ByNegentropy(p);
    EXPECT_EQ(n.have, p.only_a);
    EXPECT_EQ(n.need, p.only_b);
    Found r = ByRiblt(p);
    if (r.complete) {
      ++riblt_completed;
      EXPECT_EQ(r.have, n.have);
      EXPECT_EQ(r.need, n.need);
    } else {
      // Only a large difference may fall back.
      EXPECT_GT(only_a + only_b, 1000u);
    }
  }
  EXPECT_GT(riblt_completed, 30);
}

}  // namespace
}  // namespace topo::sync
