// The benchmarks topo-bench runs. Each returns its figures as one JSON object (keys in the
// order they are printed) and throws Failure when a correctness check fails.
//
//   ingest  N vertices of one object, 4 authors on concurrent branches, shuffled in windows,
//           into a fresh on-disk replica in a child process: events/s against single-core
//           Ed25519 verifies/s, peak RSS, bytes on disk per vertex.
//   merge   two replicas of one doc each make N local ops, then take in the other's: the
//           apply time with signature checks timed apart; fingerprints must match.
//   profile the sequential stage of ingest with every store call timed, and optional
//           emulations of proposed src/ changes (profiled_pipeline.h, experiments.h).
//   acl     N sealed ops in a group of M members against the same ops in no group, and the
//           time to rotate an epoch for M devices.
//   open    a database of N vertices: time to open it and read the object, and peak RSS,
//           in a child process.
//   reconcile  two sets of N items differing in D random items, reconciled in-process by
//           one set-reconciliation algorithm: round trips, bytes, CPU time per side.
//   quic    N MiB in messages of M KiB over one QUIC connection on loopback: MB/s against
//           XChaCha20-Poly1305 on the same core.
//   sync    two real daemons (build/bin/topo) on loopback: a fresh one joins a workspace and
//           catches up with the N vertices of one object: events/s against Ed25519
//           verifies/s, the receiver's peak RSS, bytes on the wire.
//   chat    a workspace of N chat messages over 20 channels: a fresh member replica ingests
//           them with the chat's tables and search index (events/s against `ingest` on as
//           many vertices, in the same run), then views a channel and searches.
//   latency two nodes in this process, connected over QUIC on loopback: time from a local
//           write on one to its commit on the other, p50 / p99 / max.
#pragma once

#include <string>
#include <vector>

#include "bench/harness.h"
#include "bench/profiled_pipeline.h"
#include "bench/workload.h"
#include "object/replica.h"

namespace topo::bench {

struct IngestOptions {
  GraphShape shape;
  uint64_t window = 10'000;  // 0 = shuffle the whole set
  unsigned threads = 0;      // signature-check threads; 0 = one per core
  size_t chunk = 8 * 4096;   // vertices handed to one Replica::Ingest call (as ImportBundle)
  size_t verify_sample = 20'000;
  bool keep = false;   // keep the temporary directory (its path goes to stderr)
  Experiments sqlite;  // only its SQLite settings are used
};
Json RunIngest(const IngestOptions& options);

struct IngestChildOptions {
  std::string bundle, db, object_hex;
  uint64_t events = 0;
  unsigned threads = 0;
  size_t chunk = 8 * 4096;
  Experiments sqlite;  // only its SQLite settings are used
};
// The timed part of `ingest`, run in the child process.
Json RunIngestChild(const IngestChildOptions& options);

// Hands the bundle to replica.Ingest in chunks of `chunk` vertices (progress on stderr),
// timed; checks that all `events` applied and none was rejected or invalid.
struct ChunkedIngest {
  graph::IngestStats stats;
  double seconds = 0;
  double cpu_s = 0;  // this process, every thread
};
ChunkedIngest IngestInChunks(object::Replica& replica, const std::string& bundle, size_t chunk,
                           uint64_t events, const std::string& label);

struct ProfileOptions {
  GraphShape shape;
  uint64_t window = 10'000;
  unsigned threads = 0;
  Experiments experiments;
};
Json RunProfile(const ProfileOptions& options);

struct MergeOptions {
  uint64_t events = 20'000;  // ops made by each replica
  uint32_t keys = 100;       // map keys and set elements the ops touch
  unsigned threads = 0;      // for PrepareAll; 0 = one per core
  uint64_t seed = 1;
  size_t batch_size = 0;     // vertices per transaction; 0 = ReplicaOptions' default
  // Also take a's vertices into a third copy of b through ProfiledPipeline and print where
  // the time goes (with the chosen experiments).
  bool profile = false;
  Experiments experiments;
};
Json RunMerge(const MergeOptions& options);

struct AclOptions {
  uint64_t members = 1000;    // the owner and members - 1 joiners
  uint64_t events = 100'000;  // content operations in one object of the group
};
// acl: a member ingests N sealed ops of a group of M members, against the same ops outside
// any group: the ratio is the cost of permission checks and decryption. Also one rotation.
Json RunAcl(const AclOptions& options);

struct OpenOptions {
  GraphShape shape;
  std::string dir;  // cache of built databases; empty = a temporary directory
  // Build through ProfiledPipeline's per-path projection emulation instead of a Replica:
  // same graph and state tables, and fast enough to build a large --ops map object.
  bool build_incremental = false;
};
Json RunOpen(const OpenOptions& options);

// topo-bench sync-sim (bench/sync_sim_bench.cc).
struct SyncSimOptions {
  uint64_t events = 100'000;
};
Json RunSyncSim(const SyncSimOptions& options);

// topo-bench quic (bench/quic_bench.cc).
struct QuicOptions {
  uint64_t total_mib = 64;
  size_t message_kib = 1024;
};
Json RunQuic(const QuicOptions& options);
// topo-bench sync (bench/sync_bench.cc).
struct SyncOptions {
  uint64_t events = 100'000;  // vertices of the object, its genesis included
  bool low_memory = false;    // the receiver runs `topo start --low-memory`
  std::string dir;            // keeps the sender's database between runs; "" = temporary
  std::string topo;           // the topo binary; "" = beside topo-bench
  std::string log_level = "info";
  uint64_t poll_ms = 25;  // the receiver's progress is read this often
  std::vector<std::string> receiver_env;  // NAME=VALUE for the receiver (experiments)
};
Json RunSync(const SyncOptions& options);

// topo-bench latency (bench/latency_bench.cc).
struct LatencyOptions {
  uint64_t messages = 1000;
  uint64_t gap_ms = 5;         // pause after each write has arrived, before the next
  uint64_t warmup = 20;        // writes not counted, after the first one arrived
  uint64_t timeout_ms = 5000;  // a write not applied on b by then counts as lost (a failure)
};
Json RunLatency(const LatencyOptions& options);

// topo-bench chat (bench/chat_bench.cc).
struct ChatOptions {
  uint64_t messages = 100'000;  // posts (reactions, edits and deletes come on top)
  unsigned channels = 20;
  unsigned members = 8;      // member devices: all but the last write, the last receives
  uint64_t window = 10'000;  // shuffle window, as ingest's; 0 = whole set
  unsigned threads = 0;      // signature-check threads; 0 = one per core
  size_t chunk = 8 * 4096;   // vertices per Replica::Ingest call
  uint64_t seed = 1;
  std::vector<std::string> sql;  // experiment: statements run on the receiver before ingest
  bool skip_plain = false;  // do not run the plain ingest (no ingest_ratio)
  bool keep = false;        // keep the temporary directory
};
Json RunChat(const ChatOptions& options);

struct ChatChildOptions {
  std::string setup, bundle, db;
  uint64_t seed = 1;
  unsigned member = 0;
  uint64_t events = 0;
  unsigned threads = 0;
  size_t chunk = 8 * 4096;
  std::vector<std::string> sql;
};
// The timed part of `chat` (ingest, views, searches), run in the child process.
Json RunChatChild(const ChatChildOptions& options);

struct OpenChildOptions {
  std::string db, object_hex;
};
// The timed part of `open`, run in the child process.
Json RunOpenChild(const OpenChildOptions& options);

struct ReconcileOptions {
  uint64_t items = 100'000;         // items in each set
  uint64_t diff = 100;              // differing items: diff / 2 only in the initiator's set
  std::string algo = "negentropy";  // reconcile_bench.cc lists the algorithms
  uint64_t frame_limit = 0;         // negentropy: bytes per message, 0 = none
  std::string storage = "index";    // negentropy: index (incremental) or vector (sealed)
  uint64_t seed = 1;
};
Json RunReconcile(const ReconcileOptions& options);

}  // namespace topo::bench
