// topo-bench: prints the engine's figures (docs/PERFORMANCE.md says how to read them).
//
//   topo-bench ingest --events N [--window W] [--threads T] [--json]
//   topo-bench merge  --events N [--json]
//   topo-bench open   --events N [--dir D] [--json]
//   topo-bench profile --events N [--meta-cache] [--batch-blocked] [--coalesce-project]
//   topo-bench reconcile --items N --diff D --algo negentropy|riblt [--frame-limit B]
//                        [--trials T] [--json]
//   topo-bench sync-sim --events N [--json]
//   topo-bench quic [--mib N] [--message-kib M] [--json]
//   topo-bench sync --events N [--low-memory] [--dir D] [--json]
//   topo-bench latency --messages M [--json]
//   topo-bench chat --messages N [--channels C] [--window W] [--sql S] [--json]
//   topo-bench all    [--json]
//
// Figures go to stdout (one JSON object with --json); progress goes to stderr. Exit status 1
// when a correctness check fails.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "bench/benches.h"
#include "bench/reconcile_riblt.h"

namespace {

using topo::bench::Json;

void Print(const std::string& title, const Json& result, bool json) {
  if (json) {
    std::cout << result.dump() << std::endl;
    return;
  }
  std::printf("== topo-bench %s\n", title.c_str());
  topo::bench::PrintHuman(result);
  std::fflush(stdout);
}

void AddShapeOptions(CLI::App* cmd, topo::bench::GraphShape& shape, std::string& ops) {
  cmd->add_option("--ops", ops, "operations: small (counter + lww) or map (map puts + counter)")
      ->capture_default_str();
  cmd->add_option("--keys", shape.keys, "map keys for --ops map")->capture_default_str();
  cmd->add_option("--authors", shape.authors, "authors on concurrent branches")
      ->capture_default_str();
  cmd->add_option("--merge-every", shape.merge_every, "a merge vertex every this many vertices")
      ->capture_default_str();
  cmd->add_option("--seed", shape.seed, "generator seed")->capture_default_str();
}

void AddSqliteOptions(CLI::App* cmd, topo::bench::Experiments& e) {
  cmd->add_option("--wal-autocheckpoint", e.wal_autocheckpoint,
                  "experiment: PRAGMA wal_autocheckpoint (pages; 0 = as topo configures)");
  cmd->add_option("--cache-kib", e.cache_kib,
                  "experiment: PRAGMA cache_size in KiB (0 = as topo configures)");
}

void AddExperimentOptions(CLI::App* cmd, topo::bench::Experiments& e) {
  cmd->add_flag("--meta-cache", e.meta_cache,
                "experiment: GetMeta from memory for vertices applied in this run");
  cmd->add_flag("--id-filter", e.id_filter,
                "experiment: lookups of ids the store does not hold answered from memory");
  cmd->add_flag("--batch-blocked", e.batch_blocked,
                "experiment: blocked vertices in memory until the batch commits");
  cmd->add_flag("--coalesce-project", e.coalesce_project,
                "experiment: one projection write per (object, path) per batch");
  cmd->add_flag(
      "--resolve-by-index", e.resolve_by_index,
      "experiment: ResolveDependency asking blocked_deps_by_id (what schema v3 does already)");
  cmd->add_flag("--incremental-project", e.incremental_project,
                "experiment: project only the paths an op changed");
  cmd->add_flag("--split-resolve", e.split_resolve,
                "time each statement of ResolveDependency apart");
  AddSqliteOptions(cmd, e);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace topo::bench;
  CLI::App app{"topo-bench: ingest, merge and open figures of the topo engine"};
  app.require_subcommand(1);
  bool json = false;

  IngestOptions ingest;
  std::string ingest_ops = "small";
  auto* ingest_cmd = app.add_subcommand("ingest",
                                        "N vertices of one object, shuffled, into a "
                                        "fresh replica (child process)");
  ingest_cmd->add_option("--events", ingest.shape.events, "vertices")->capture_default_str();
  ingest_cmd->add_option("--window", ingest.window, "shuffle window; 0 = whole set")
      ->capture_default_str();
  ingest_cmd->add_option("--threads", ingest.threads, "signature-check threads; 0 = per core")
      ->capture_default_str();
  ingest_cmd->add_option("--chunk", ingest.chunk, "vertices per Replica::Ingest call")
      ->capture_default_str();
  ingest_cmd->add_flag("--keep", ingest.keep, "keep the temporary directory");
  AddSqliteOptions(ingest_cmd, ingest.sqlite);
  AddShapeOptions(ingest_cmd, ingest.shape, ingest_ops);
  ingest_cmd->add_flag("--json", json, "one JSON object on stdout");

  ProfileOptions profile;
  std::string profile_ops = "small";
  auto* profile_cmd = app.add_subcommand(
      "profile", "time every store call of the sequential ingest stage (and experiments)");
  profile_cmd->add_option("--events", profile.shape.events, "vertices")->capture_default_str();
  profile_cmd->add_option("--window", profile.window, "shuffle window; 0 = whole set")
      ->capture_default_str();
  profile_cmd->add_option("--threads", profile.threads, "verify threads; 0 = per core")
      ->capture_default_str();
  AddExperimentOptions(profile_cmd, profile.experiments);
  AddShapeOptions(profile_cmd, profile.shape, profile_ops);
  profile_cmd->add_flag("--json", json, "one JSON object on stdout");

  MergeOptions merge;
  auto* merge_cmd =
      app.add_subcommand("merge", "two replicas make N ops each, then take in each other's");
  merge_cmd->add_option("--events", merge.events, "ops per replica")->capture_default_str();
  merge_cmd->add_option("--keys", merge.keys, "map keys and set elements")->capture_default_str();
  merge_cmd->add_option("--threads", merge.threads, "PrepareAll threads; 0 = per core")
      ->capture_default_str();
  merge_cmd->add_option("--seed", merge.seed, "op seed")->capture_default_str();
  merge_cmd->add_option("--batch-size", merge.batch_size,
                        "vertices per transaction; 0 = the replica's default");
  merge_cmd->add_flag("--profile", merge.profile,
                      "also apply a's vertices to a copy of b with every store call timed");
  AddExperimentOptions(merge_cmd, merge.experiments);
  merge_cmd->add_flag("--json", json, "one JSON object on stdout");

  OpenOptions open;
  open.shape.events = 100'000;
  std::string open_ops = "small";
  auto* open_cmd = app.add_subcommand("open",
                                      "open a replica of N vertices and read the object "
                                      "(child process)");
  open_cmd->add_option("--events", open.shape.events, "vertices")->capture_default_str();
  open_cmd->add_option("--dir", open.dir, "cache of built databases (default: a temporary dir)");
  open_cmd->add_flag("--build-incremental", open.build_incremental,
                     "build with the per-path projection emulation (for large --ops map)");
  AddShapeOptions(open_cmd, open.shape, open_ops);
  open_cmd->add_flag("--json", json, "one JSON object on stdout");

  AclOptions acl;
  auto* acl_cmd = app.add_subcommand(
      "acl", "sealed ops in a group of M members against the same ops in no group; rotation");
  acl_cmd->add_option("--members", acl.members, "group members (>= 5)")->capture_default_str();
  acl_cmd->add_option("--events", acl.events, "content operations")->capture_default_str();
  acl_cmd->add_flag("--json", json, "one JSON object on stdout");

  ReconcileOptions reconcile;
  auto* reconcile_cmd = app.add_subcommand(
      "reconcile", "two sets of N items differing in D items, reconciled by one algorithm");
  reconcile_cmd->add_option("--items", reconcile.items, "items per set")->capture_default_str();
  reconcile_cmd->add_option("--diff", reconcile.diff, "differing items (half on each side)")
      ->capture_default_str();
  reconcile_cmd->add_option("--algo", reconcile.algo, "negentropy or riblt")->capture_default_str();
  reconcile_cmd
      ->add_option("--frame-limit", reconcile.frame_limit,
                   "negentropy: bytes per message (0 = none, else >= 4096)")
      ->capture_default_str();
  reconcile_cmd
      ->add_option("--storage", reconcile.storage,
                   "negentropy: index (incremental) or vector (sealed)")
      ->capture_default_str();
  reconcile_cmd->add_option("--seed", reconcile.seed, "set generator seed")->capture_default_str();
  ReconcileRibltOptions riblt;
  reconcile_cmd->add_option("--capacity", riblt.capacity, "riblt: sketch symbols")
      ->capture_default_str();
  reconcile_cmd->add_option("--initial", riblt.initial, "riblt: symbols in the first frame")
      ->capture_default_str();
  reconcile_cmd
      ->add_option("--estimate-counts", riblt.estimate_counts,
                   "riblt: count bytes after them for the estimate")
      ->capture_default_str();
  reconcile_cmd
      ->add_option("--overhead", riblt.overhead,
                   "riblt: symbols asked: estimate x (overhead + 2.5 / sqrt(estimate))")
      ->capture_default_str();
  reconcile_cmd->add_option("--trials", riblt.trials, "riblt: sessions, each a fresh difference")
      ->capture_default_str();
  reconcile_cmd->add_flag("--json", json, "one JSON object on stdout");

  SyncSimOptions sync_sim;
  auto* sync_sim_cmd = app.add_subcommand(
      "sync-sim", "a fresh node catches up with one holding N vertices, through sessions");
  sync_sim_cmd->add_option("--events", sync_sim.events, "vertices")->capture_default_str();
  sync_sim_cmd->add_flag("--json", json, "one JSON object on stdout");

  QuicOptions quic;
  auto* quic_cmd = app.add_subcommand(
      "quic", "N MiB in messages of M KiB over one QUIC connection on loopback");
  quic_cmd->add_option("--mib", quic.total_mib, "MiB to move")->capture_default_str();
  quic_cmd->add_option("--message-kib", quic.message_kib, "KiB per message")->capture_default_str();
  quic_cmd->add_flag("--json", json, "one JSON object on stdout");

  SyncOptions sync;
  auto* sync_cmd = app.add_subcommand(
      "sync", "two topo daemons on loopback: a fresh one joins and catches up N vertices");
  sync_cmd->add_option("--events", sync.events, "vertices of the workspace's doc")
      ->capture_default_str();
  sync_cmd->add_flag("--low-memory", sync.low_memory, "the receiver runs topo start --low-memory");
  sync_cmd->add_option("--dir", sync.dir,
                       "keep the sender's database here between runs (default: temporary)");
  sync_cmd->add_option("--topo", sync.topo, "the topo binary (default: beside topo-bench)");
  sync_cmd->add_option("--log-level", sync.log_level, "the daemons' log level")
      ->capture_default_str();
  sync_cmd->add_option("--poll-ms", sync.poll_ms, "how often the receiver's progress is read")
      ->capture_default_str();
  sync_cmd->add_option("--receiver-env", sync.receiver_env,
                       "NAME=VALUE in the receiver daemon's environment (experiments)");
  sync_cmd->add_flag("--json", json, "one JSON object on stdout");

  LatencyOptions latency;
  auto* latency_cmd = app.add_subcommand(
      "latency", "two nodes over QUIC on loopback: a write on one until applied on the other");
  latency_cmd->add_option("--messages", latency.messages, "timed writes")->capture_default_str();
  latency_cmd->add_option("--gap-ms", latency.gap_ms, "pause between writes")
      ->capture_default_str();
  latency_cmd->add_option("--warmup", latency.warmup, "writes not counted")->capture_default_str();
  latency_cmd->add_flag("--json", json, "one JSON object on stdout");

  ChatOptions chat;
  auto* chat_cmd = app.add_subcommand(
      "chat", "a workspace of N chat messages: ingest with projections, view, search");
  chat_cmd->add_option("--messages", chat.messages, "posts")->capture_default_str();
  chat_cmd->add_option("--channels", chat.channels, "channels")->capture_default_str();
  chat_cmd->add_option("--members", chat.members, "member devices (the last one receives)")
      ->capture_default_str();
  chat_cmd->add_option("--window", chat.window, "shuffle window; 0 = whole set")
      ->capture_default_str();
  chat_cmd->add_option("--threads", chat.threads, "signature-check threads; 0 = per core")
      ->capture_default_str();
  chat_cmd->add_option("--chunk", chat.chunk, "vertices per Replica::Ingest call")
      ->capture_default_str();
  chat_cmd->add_option("--seed", chat.seed, "generator seed")->capture_default_str();
  chat_cmd->add_option("--sql", chat.sql,
                       "experiment: a statement the receiver runs before the ingest (repeatable)");
  chat_cmd->add_flag("--skip-plain", chat.skip_plain, "do not run the plain ingest for the ratio");
  chat_cmd->add_flag("--keep", chat.keep, "keep the temporary directory");
  chat_cmd->add_flag("--json", json, "one JSON object on stdout");

  auto* all_cmd =
      app.add_subcommand("all", "ingest 100k, merge 20k, open 100k, sync 100k, latency 1,000");
  all_cmd->add_flag("--json", json, "one JSON object on stdout");

  // Internal: the timed halves that run in a child process.
  IngestChildOptions ingest_child;
  auto* ingest_child_cmd = app.add_subcommand("ingest-child", "")->group("");
  ingest_child_cmd->add_option("--bundle", ingest_child.bundle)->required();
  ingest_child_cmd->add_option("--db", ingest_child.db)->required();
  ingest_child_cmd->add_option("--object", ingest_child.object_hex)->required();
  ingest_child_cmd->add_option("--events", ingest_child.events)->required();
  ingest_child_cmd->add_option("--threads", ingest_child.threads);
  ingest_child_cmd->add_option("--chunk", ingest_child.chunk);
  AddSqliteOptions(ingest_child_cmd, ingest_child.sqlite);
  ChatChildOptions chat_child;
  auto* chat_child_cmd = app.add_subcommand("chat-child", "")->group("");
  chat_child_cmd->add_option("--setup", chat_child.setup)->required();
  chat_child_cmd->add_option("--bundle", chat_child.bundle)->required();
  chat_child_cmd->add_option("--db", chat_child.db)->required();
  chat_child_cmd->add_option("--seed", chat_child.seed);
  chat_child_cmd->add_option("--member", chat_child.member);
  chat_child_cmd->add_option("--events", chat_child.events)->required();
  chat_child_cmd->add_option("--threads", chat_child.threads);
  chat_child_cmd->add_option("--chunk", chat_child.chunk);
  chat_child_cmd->add_option("--sql", chat_child.sql);
  OpenChildOptions open_child;
  auto* open_child_cmd = app.add_subcommand("open-child", "")->group("");
  open_child_cmd->add_option("--db", open_child.db)->required();
  open_child_cmd->add_option("--object", open_child.object_hex)->required();

  CLI11_PARSE(app, argc, argv);

  try {
    if (ingest_cmd->parsed()) {
      ingest.shape.mix = ParseOpMix(ingest_ops);
      Print("ingest", RunIngest(ingest), json);
    } else if (profile_cmd->parsed()) {
      profile.shape.mix = ParseOpMix(profile_ops);
      Print("profile", RunProfile(profile), json);
    } else if (merge_cmd->parsed()) {
      Print("merge", RunMerge(merge), json);
    } else if (open_cmd->parsed()) {
      open.shape.mix = ParseOpMix(open_ops);
      Print("open", RunOpen(open), json);
    } else if (acl_cmd->parsed()) {
      Print("acl", RunAcl(acl), json);
    } else if (quic_cmd->parsed()) {
      Print("quic", RunQuic(quic), json);
    } else if (sync_cmd->parsed()) {
      Print("sync", RunSync(sync), json);
    } else if (latency_cmd->parsed()) {
      Print("latency", RunLatency(latency), json);
    } else if (chat_cmd->parsed()) {
      Print("chat", RunChat(chat), json);
    } else if (sync_sim_cmd->parsed()) {
      Print("sync-sim", RunSyncSim(sync_sim), json);
    } else if (reconcile_cmd->parsed()) {
      if (reconcile.algo == "riblt") {
        riblt.items = reconcile.items;
        riblt.diff = reconcile.diff;
        riblt.seed = reconcile.seed;
        Print("reconcile", RunReconcileRiblt(riblt), json);
      } else {
        Print("reconcile", RunReconcile(reconcile), json);
      }
    } else if (all_cmd->parsed()) {
      Json all;
      IngestOptions i;
      i.shape.events = 100'000;
      all["ingest"] = RunIngest(i);
      if (!json) Print("ingest", all["ingest"], false);
      MergeOptions m;
      m.events = 20'000;
      all["merge"] = RunMerge(m);
      if (!json) Print("merge", all["merge"], false);
      OpenOptions o;
      o.shape.events = 100'000;
      all["open"] = RunOpen(o);
      if (!json) Print("open", all["open"], false);
      SyncOptions s;
      s.events = 100'000;
      all["sync"] = RunSync(s);
      if (!json) Print("sync", all["sync"], false);
      all["latency"] = RunLatency(LatencyOptions{});
      if (!json) Print("latency", all["latency"], false);
      if (json) Print("all", all, true);
    } else if (ingest_child_cmd->parsed()) {
      std::cout << RunIngestChild(ingest_child).dump() << std::endl;
    } else if (chat_child_cmd->parsed()) {
      std::cout << RunChatChild(chat_child).dump() << std::endl;
    } else if (open_child_cmd->parsed()) {
      std::cout << RunOpenChild(open_child).dump() << std::endl;
    }
  } catch (const Failure& f) {
    std::fprintf(stderr, "topo-bench: %s\n", f.message.c_str());
    return 1;
  }
  return 0;
}
