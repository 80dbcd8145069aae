// PullPlanner: needed ids split among the peers that hold them, re-planned when a peer
// stalls, fails or goes away, and done once arrived from anyone.
#include "sync/pull_planner.h"

#include <gtest/gtest.h>

namespace topo::sync {
namespace {

codec::VertexId Id(uint32_t n) {
  codec::VertexId id;
  for (int i = 0; i < 4; ++i) id.bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  id.bytes[31] = 1;
  return id;
}

codec::ObjectId Obj(uint8_t b) {
  codec::ObjectId o;
  o.bytes.fill(b);
  return o;
}

std::vector<codec::VertexId> Ids(uint32_t from, uint32_t to) {
  std::vector<codec::VertexId> out;
  for (uint32_t i = from; i < to; ++i) out.push_back(Id(i));
  return out;
}

TEST(PullPlanner, SplitsIdsAmongThePeersThatHoldThem) {
  PullPlanner planner({100, 4, 1000});
  auto all = Ids(0, 1200);
  for (PullPlanner::Peer p : {1, 2, 3}) planner.Offer(p, Obj(1), all);
  std::set<codec::VertexId> asked;
  std::map<PullPlanner::Peer, size_t> per_peer;
  for (int round = 0; round < 4; ++round)
    for (PullPlanner::Peer p : {1, 2, 3}) {
      auto r = planner.Next(p, 0);
      ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->object, Obj(1));
      EXPECT_EQ(r->ids.size(), 100u);
      for (const auto& id : r->ids) EXPECT_TRUE(asked.insert(id).second) << "asked twice";
      per_peer[p] += r->ids.size();
    }
  EXPECT_EQ(asked.size(), 1200u);
  for (auto& [p, n] : per_peer) EXPECT_EQ(n, 400u) << p;
  // Each peer has its 4 requests out: nothing more for now.
  EXPECT_FALSE(planner.Next(1, 0).has_value());
  EXPECT_EQ(planner.pending(), 1200u);
}

TEST(PullPlanner, AStalledPeersIdsGoToAnotherAndArrivalsAreDoneEverywhere) {
  PullPlanner planner({50, 1, 1000});
  auto ids = Ids(0, 100);
  planner.Offer(1, Obj(1), ids);
  planner.Offer(2, Obj(1), ids);
  auto r1 = planner.Next(1, 0);
  auto r2 = planner.Next(2, 0);
  ASSERT_TRUE(r1 && r2);
  // Peer 2 delivers its chunk; peer 1 stalls.
  for (const auto& id : r2->ids) planner.Arrived(id);
  planner.Answered(r2->token);
  EXPECT_EQ(planner.HeldBy(2, Obj(1)), 50u);
  EXPECT_FALSE(planner.Next(2, 10).has_value());  // the rest is asked of peer 1
  auto late = planner.Expire(1000);
  ASSERT_EQ(late, std::vector<uint64_t>{r1->token});
  // Peer 1's ids go to peer 2, and peer 1 is not asked for them again.
  auto again = planner.Next(2, 1000);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(std::set<codec::VertexId>(again->ids.begin(), again->ids.end()),
            std::set<codec::VertexId>(r1->ids.begin(), r1->ids.end()));
  EXPECT_EQ(planner.HeldBy(1, Obj(1)), 0u);
  for (const auto& id : again->ids) planner.Arrived(id);
  planner.Answered(again->token);
  EXPECT_EQ(planner.pending(), 0u);
  EXPECT_FALSE(planner.Next(1, 2000).has_value());
  // An id offered again after it arrived is not wanted.
  planner.Offer(1, Obj(1), ids);
  EXPECT_EQ(planner.pending(), 0u);
}

TEST(PullPlanner, ALonePeerIsAskedAgainAndAGonePeersIdsMoveOn) {
  PullPlanner planner({10, 1, 100});
  auto ids = Ids(0, 10);
  planner.Offer(1, Obj(2), ids);
  auto r = planner.Next(1, 0);
  ASSERT_TRUE(r);
  planner.Expire(100);
  auto again = planner.Next(1, 100);  // nobody else holds them: the same peer again
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ids.size(), 10u);
  // Another peer comes; the first goes away with its request out.
  planner.Offer(2, Obj(2), ids);
  planner.PeerGone(1);
  auto moved = planner.Next(2, 150);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->ids.size(), 10u);
  EXPECT_EQ(planner.HeldBy(1, Obj(2)), 0u);
  EXPECT_EQ(planner.HeldBy(2, Obj(2)), 10u);
}

TEST(PullPlanner, OneRequestNamesOneObject) {
  PullPlanner planner({100, 4, 1000});
  planner.Offer(1, Obj(1), Ids(0, 3));
  planner.Offer(1, Obj(2), Ids(10, 15));
  auto a = planner.Next(1, 0), b = planner.Next(1, 0);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->object, b->object);
  EXPECT_EQ(a->ids.size() + b->ids.size(), 8u);
  EXPECT_FALSE(planner.Next(1, 0).has_value());
}

}  // namespace
}  // namespace topo::sync
