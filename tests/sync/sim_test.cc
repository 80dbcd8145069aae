// The deterministic simulator: a bounded set of seeds under every fault (loss, duplication,
// reordering, partitions, crashes with restarts from disk, clock skew, a byzantine node)
// must end with the honest nodes converged and nothing lost; one seed is one run.
//
// TOPO_SIM_SEEDS (default 24) sets how many seeds run; a failure prints the topo-sim command
// that reruns it with its trace.
#include "sync/sim.h"

#include <gtest/gtest.h>

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
  uint64_t crashes = 0, partitions = 0, violations = 0, lost = 0, duplicated = 0, writes = 0;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    SimOptions o = ForSeed(seed, dir.File("s" + std::to_string(seed)));
    auto r = RunSimulation(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->converged && r->lost_nothing)
        << r->problem << "\nrerun with: build/bin/topo-sim --seed " << seed << " --nodes "
        << o.nodes << (o.byzantine ? " --byzantine" : "") << " --loss 0.1 --duplicate 0.1"
        << " --writes 80 --trace";
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
  }
  // The faults did strike (a simulator that injects nothing proves nothing).
  EXPECT_GT(crashes, 0u);
  EXPECT_GT(partitions, 0u);
  EXPECT_GT(violations, 0u);
  EXPECT_GT(lost, 0u);
  EXPECT_GT(duplicated, 0u);
  EXPECT_GT(writes, seeds * 20);
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
