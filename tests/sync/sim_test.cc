// The deterministic simulator: a bounded set of seeds under every fault (loss, duplication,
// reordering, limited bandwidth, partitions, crashes with restarts from disk, clock skew, a
// byzantine node) must end with the honest nodes converged and nothing lost, the group's
// invitees joined through sync, and nothing of the group on a node outside it; one seed is
// one run.
//
// TOPO_SIM_SEEDS (default 24) sets how many seeds run; a failure prints the topo-sim command
// that reruns it with its trace.
#include "sync/sim.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "testing/temp_dir.h"

namespace topo::sync {
namespace {

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

SimOptions ForSeed(uint64_t seed, const std::string& dir) {
  SimOptions o;
  o.seed = seed;
  o.nodes = 3 + static_cast<int>(seed % 4);
  o.byzantine = seed % 2 == 0;
  o.loss = 0.1;
  o.duplicate = 0.1;
  o.writes = 80;
  o.dir = dir;
  return o;
}

TEST(Simulator, HonestNodesConvergeAndLoseNothingUnderEveryFault) {
  testing::TempDir dir;
  const uint64_t seeds = EnvOr("TOPO_SIM_SEEDS", 24);
  uint64_t crashes = 0, partitions = 0, violations = 0, lost = 0, duplicated = 0, writes = 0,
           group_writes = 0, queued = 0, refused = 0;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    SimOptions o = ForSeed(seed, dir.File("s" + std::to_string(seed)));
    auto r = RunSimulation(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const std::string rerun = "\nrerun with: build/bin/topo-sim --seed " + std::to_string(seed) +
                              " --nodes " + std::to_string(o.nodes) +
                              (o.byzantine ? " --byzantine" : "") +
                              " --loss 0.1 --duplicate 0.1 --writes 80 --trace";
    EXPECT_TRUE(r->converged && r->lost_nothing) << r->problem << rerun;
    // Entitlement: a node outside the group never holds, nor is sent, any vertex of it; and
    // every invitee joined (its join went out by sync, the group came back to it).
    EXPECT_EQ(r->leaked, 0u) << rerun;
    const int honest = o.nodes - (o.byzantine ? 1 : 0);
    EXPECT_EQ(r->members, static_cast<uint64_t>(honest - o.outsiders)) << rerun;
    // Honest nodes never break the protocol with each other.
    if (!o.byzantine) {
      EXPECT_EQ(r->sessions_ended_by_violation, 0u) << "seed " << seed;
    }
    crashes += r->crashes;
    partitions += r->partitions;
    violations += r->sessions_ended_by_violation;
    lost += r->frames_lost;
    duplicated += r->frames_duplicated;
    writes += r->honest_writes;
    group_writes += r->group_writes;
    queued = std::max(queued, r->max_queue_ms);
    refused += r->refused;
  }
  // The faults did strike (a simulator that injects nothing proves nothing).
  EXPECT_GT(crashes, 0u);
  EXPECT_GT(partitions, 0u);
  EXPECT_GT(violations, 0u);
  EXPECT_GT(lost, 0u);
  EXPECT_GT(duplicated, 0u);
  EXPECT_GT(writes, seeds * 20);
  EXPECT_GT(group_writes, seeds * 5);
  EXPECT_GT(queued, 0u);   // frames did wait behind others on a slow link
  EXPECT_GT(refused, 0u);  // the byzantine node did ask for the group's objects
}

// The leak count is not blind: when every node offers every object to every peer, the
// group's vertices reach the outsiders and are counted.
TEST(Simulator, OfferingEverythingIsSeenAsALeak) {
  testing::TempDir dir;
  SimOptions o = ForSeed(3, dir.File("leaky"));
  o.offer_everything = true;
  auto r = RunSimulation(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->leaked, 0u);
}

TEST(Simulator, OneSeedIsOneRun) {
  testing::TempDir dir;
  auto run = [&](uint64_t seed, const std::string& sub) {
    std::string trace;
    SimOptions o = ForSeed(seed, dir.File(sub));
    o.trace = [&](const std::string& line) { trace += line + "\n"; };
    auto r = RunSimulation(o);
    EXPECT_TRUE(r.ok());
    return trace;
  };
  std::string a = run(6, "a"), b = run(6, "b"), c = run(7, "c");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Simulator, RefusesBadOptions) {
  SimOptions o;
  o.dir = "/tmp/unused";
  o.nodes = 1;
  EXPECT_EQ(RunSimulation(o).status().code(), Code::kInvalidArgument);
  o.nodes = 3;
  o.loss = 1.0;
  EXPECT_EQ(RunSimulation(o).status().code(), Code::kInvalidArgument);
  o.loss = 0;
  o.dir.clear();
  EXPECT_EQ(RunSimulation(o).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace topo::sync
