// The deterministic network simulator (docs/design/sync.md): N nodes in one process on
// virtual time, each a Replica on disk with a ReplicaSource, syncing through the same
// Session code the network uses. One seed fixes the whole run: the workload, the links'
// latency, loss, duplication and reordering, partitions and heals, crashes and restarts,
// clock skew, and what a byzantine node sends.
//
// Every run ends with the network healed and every node up, lets sessions run until nothing
// moves, and checks that honest nodes converged (equal fingerprints) and lost nothing
// (every vertex an honest node wrote is on every honest node). A byzantine node sends
// garbage frames, vertices nobody asked for, forged vertices and endless hellos; honest
// nodes end their sessions with it and carry on.
//
// Each node splits what it needs among its sessions with one PullPlanner (several sources
// at once; what a stalled or vanished peer was asked is asked of another).
//
// What is not simulated yet: bandwidth limits; group objects (the workload's objects are
// open ones).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/status.h"

namespace topo::sync {

struct SimOptions {
  uint64_t seed = 1;
  int nodes = 4;
  int objects = 3;  // objects node 0 creates at the start; writes go to them
  int writes = 60;  // writes spread over the nodes and the write phase
  uint64_t write_phase_ms = 20'000;
  uint64_t latency_ms = 20;  // per frame, plus up to `jitter_ms` more (reordering)
  uint64_t jitter_ms = 30;
  double loss = 0.05;                  // per frame
  double duplicate = 0.05;             // per frame
  int partitions = 2;                  // random splits during the write phase, each healed later
  int crashes = 2;                     // crash + restart from disk during the write phase
  uint64_t max_clock_skew_ms = 5'000;  // each node's clock is off by up to this
  bool byzantine = false;              // the last node misbehaves
  uint64_t resync_ms = 1'000;          // a finished session is started again after this
  uint64_t max_time_ms = 600'000;
  std::string dir;  // where the nodes' databases go (created; removed after)
  std::function<void(const std::string&)> trace;  // one line per event, when set
};

struct SimResult {
  bool converged = false;     // honest nodes have equal fingerprints
  bool lost_nothing = false;  // every honest write is on every honest node
  uint64_t end_time_ms = 0;   // virtual time when everything had settled
  uint64_t frames = 0, frames_lost = 0, frames_duplicated = 0;
  uint64_t sessions = 0, sessions_ended_by_violation = 0;
  uint64_t crashes = 0, partitions = 0;
  uint64_t honest_writes = 0, vertices_per_node = 0;
  std::string problem;  // when not converged or something was lost: what
};

// Runs one simulation. Errors are failures of the machinery (a database that does not
// open), not of convergence: those are in the result.
Result<SimResult> RunSimulation(const SimOptions& options);

}  // namespace topo::sync
