// The deterministic network simulator (docs/design/sync.md): N nodes in one process on
// virtual time, each a Replica on disk with one ReplicaIndex and a ReplicaSource view per
// peer, syncing through the same Session code the network uses. One seed fixes the whole
// run: the workload, the keys and every random byte the replicas draw (crypto's
// SeededRandomScope), the links' bandwidth, latency, loss, duplication and reordering,
// partitions and heals, crashes and restarts, clock skew, and what a byzantine node sends.
//
// The workload has open objects and a group: node 0 creates the group and objects inside
// it, invites the honest nodes but the last `outsiders` ones (the byzantine node is never
// invited), and each invitee writes its join at a random time, which then travels by sync
// like everything else: a peer serves a pending joiner the group object (its join claim is
// checked as a node checks it when the peer connects: Replica::MayReadAsJoiner), the join
// applies, a member shares the keys (Replica::HealKeys), and from then on the joiner is a
// member and is served the group's objects. Each node offers each peer only what the peer
// may read (Replica::MayRead with the peer's device key).
//
// Every run ends with the network healed and every node up, lets sessions run until nothing
// moves, and checks that honest nodes converged (equal fingerprints among the group's
// members and among the outsiders, equal heads of every open object everywhere) and lost
// nothing (every vertex an honest node wrote is on every honest node entitled to it), and
// counts what leaked: vertices of the group or its objects that a node outside it holds,
// or that an honest node sent to a peer not (yet) entitled to them. A byzantine node sends
// garbage frames, vertices nobody asked for, forged vertices, endless and oversized claims,
// frames over the size bound, answers to requests never made, requests for the group's
// objects and someone else's join claim; honest nodes end their sessions with it and carry
// on.
//
// Each node splits what it needs among its sessions with one PullPlanner (several sources
// at once; what a stalled or vanished peer was asked is asked of another).
//
// Hooks (all optional; unset, the run is the generic one above, draw for draw) put an app's
// workload on the same machinery: `on_open` runs on every replica the simulator opens (at
// the start and after every restart), `create_group_object` makes node 0's objects inside
// the group instead of the generic counters and sets, `write_group_object` makes a member's
// write to one of them (drawing from the run's own RNG, so one seed stays one run; an error
// is a write that cannot happen yet, skipped like a generic one), and `state` renders what
// must come out the same on every member (and among the outsiders): the run has not
// converged until it does. tests/apps/chat_sim_test.cc puts the chat there.
//
// Not simulated: removals from the group (a removed member is served nothing more:
// MayRead; tests/object/may_read_test.cc), and the transport's own retransmission (a lost
// frame here is lost to the session; QUIC would resend it).
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "codec/vertex.h"
#include "crypto/crypto.h"
#include "util/status.h"

namespace topo::object {
class Replica;
}

namespace topo::sync {

// What a hook is told about the node it runs on.
struct SimNode {
  int index = 0;           // node 0 created the group (its owner)
  crypto::PublicKey user;  // the user key behind the device's certificate
};

struct SimOptions {
  uint64_t seed = 1;
  int nodes = 4;
  int objects = 3;        // open objects node 0 creates at the start; writes go to them
  int group_objects = 2;  // objects inside node 0's group, created at the start (0: no group)
  int outsiders = 1;      // honest nodes never invited to the group (the last honest ones)
  int writes = 60;        // writes spread over the nodes, the objects and the write phase
  uint64_t write_phase_ms = 20'000;
  uint64_t latency_ms = 20;  // per frame, plus up to `jitter_ms` more (reordering)
  uint64_t jitter_ms = 30;
  // Each directed link gets a bandwidth drawn between these, in bytes per virtual second
  // (max 0: unlimited). A frame waits for the frames before it on its link, takes
  // size / bandwidth to send, then latency and jitter to arrive.
  uint64_t min_bandwidth_bytes_per_s = 64 << 10;
  uint64_t max_bandwidth_bytes_per_s = 1 << 20;
  double loss = 0.05;                  // per frame
  double duplicate = 0.05;             // per frame
  int partitions = 2;                  // random splits during the write phase, each healed later
  int crashes = 2;                     // crash + restart from disk during the write phase
  uint64_t max_clock_skew_ms = 5'000;  // each node's clock is off by up to this
  bool byzantine = false;              // the last node misbehaves
  uint64_t resync_ms = 1'000;          // a finished session is started again after this
  uint64_t max_time_ms = 600'000;
  // A deliberately broken policy, for tests of the leak count: every node offers every
  // object to every peer.
  bool offer_everything = false;
  std::string dir;  // where the nodes' databases go (created; removed after)
  std::function<void(const std::string&)> trace;  // one line per event, when set

  // ---- an app's workload (see above); each runs on the simulation's thread ----
  // After every Replica::Open of a node, before it syncs. An error ends the run.
  std::function<Status(object::Replica&, const SimNode&)> on_open;
  // Node 0 makes its `index`th object inside `group` (of group_objects). Every vertex the
  // object holds once made counts as a write every member must end up holding. An error
  // ends the run.
  std::function<Result<codec::ObjectId>(object::Replica&, const SimNode&,
                                        const codec::ObjectId& group, int index)>
      create_group_object;
  // A member writes once to `object` (one of the group's, held here) and returns the vertex
  // written; an error is a write that cannot happen (yet): not a member, no key, nothing to
  // act on. Draws from `rng` only (the run's).
  std::function<Result<codec::VertexId>(object::Replica&, const SimNode&,
                                        const codec::ObjectId& object, std::mt19937_64& rng)>
      write_group_object;
  // Compared, once fingerprints agree, among the members and among the outsiders; the run
  // converges only when they are equal. An error ends the run.
  std::function<Result<std::string>(object::Replica&, const SimNode&)> state;
};

struct SimResult {
  bool converged = false;     // honest nodes have equal fingerprints (see above)
  bool lost_nothing = false;  // every honest write is on every honest node entitled to it
  uint64_t end_time_ms = 0;   // virtual time when everything had settled
  uint64_t frames = 0, frames_lost = 0, frames_duplicated = 0;
  uint64_t bytes = 0;         // frame bytes sent
  uint64_t max_queue_ms = 0;  // the longest an honest frame waited behind others on its link
  uint64_t sessions = 0, sessions_ended_by_violation = 0;
  uint64_t crashes = 0, partitions = 0;
  uint64_t honest_writes = 0, group_writes = 0;  // group_writes: of them, inside the group
  uint64_t vertices_per_node = 0;                // on each member of the group
  uint64_t members = 0;  // nodes that are members of the group at the end (joins that took)
  uint64_t leaked = 0;   // vertices of the group that reached a node not entitled to them
  uint64_t refused = 0;  // requests honest nodes refused: objects not offered to that peer
  std::string problem;   // when not converged or something was lost: what
  // With `state` set: each node's state when a check last rendered it (by node index; ""
  // for the byzantine node, and for a node no check got to).
  std::vector<std::string> states;
};

// Runs one simulation. Errors are failures of the machinery (a database that does not
// open), not of convergence: those are in the result.
Result<SimResult> RunSimulation(const SimOptions& options);

}  // namespace topo::sync
