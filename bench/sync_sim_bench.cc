// topo-bench sync-sim: a fresh node catches up with one that holds N vertices of one
// object, through two Sessions joined by an unconstrained in-process link (no latency, no
// loss: what the simulator's link is with every fault off). Timed: the whole session
// (reconciliation, wants, vertices frames) and the receiver's ingest (decode, verify on
// every core, apply, commit), which is what bounds it. Then the same vertices go straight
// into a third node, parents first, through Replica::Ingest: vs_ingest compares the two in
// one run.
#include <cstdio>
#include <deque>
#include <filesystem>

#include "bench/benches.h"
#include "object/replica.h"
#include "sync/replica_source.h"
#include "sync/session.h"

namespace topo::bench {

Json RunSyncSim(const SyncSimOptions& options) {
  TempDir tmp("sync-sim");
  GraphShape shape;
  shape.events = options.events;
  const std::string bundle = tmp.path() + "/source.bundle";
  GeneratedObject gen = GenerateObject(shape, bundle);
  gen.records = {};
  std::fprintf(stderr, "sync-sim: building the source node\n");
  auto source =
      Check(object::Replica::Open(tmp.path() + "/source.db", crypto::SigningKey::Generate()),
            "opening the source");
  ForEachChunk(bundle, 8 * 4096, gen.vertices, "source", [&](std::vector<Bytes> raws) {
    Check(source->Ingest(std::move(raws)), "source ingest");
  });
  const VerifyRate before = MeasureVerifyRate(bundle, 20'000);

  Stopwatch index_build;
  auto source_sets = Check(sync::ReplicaSource::Make(*source), "source sets");
  const double index_build_ms = index_build.Ms();
  auto receiver =
      Check(object::Replica::Open(tmp.path() + "/receiver.db", crypto::SigningKey::Generate()),
            "opening the receiver");
  auto receiver_sets = Check(sync::ReplicaSource::Make(*receiver), "receiver sets");

  sync::SessionOptions so;
  so.want_ids = sync::kMaxWantIds;
  so.window = 16;
  sync::Session from(*source_sets, so), to(*receiver_sets, so);
  std::fprintf(stderr, "sync-sim: catching up %llu vertices\n",
               static_cast<unsigned long long>(gen.vertices));
  Stopwatch timer;
  const double cpu_before = ProcessCpuSeconds();
  from.Start(0);
  to.Start(0);
  std::deque<std::pair<bool, Bytes>> wire;  // (to the receiver?, frame)
  std::vector<Bytes> pending;
  uint64_t applied = 0, wire_bytes = 0, next_progress = gen.vertices / 10;
  auto flush = [&] {
    if (pending.empty()) return;
    auto r = Check(receiver->Ingest(std::move(pending)), "receiver ingest");
    pending = {};
    applied += r.stats.applied;
    Expect(r.stats.rejected == 0 && r.stats.invalid == 0, "no vertex rejected");
    if (applied >= next_progress) {
      std::fprintf(stderr, "sync-sim: %llu applied, %.1f s\n",
                   static_cast<unsigned long long>(applied), timer.Seconds());
      next_progress += gen.vertices / 10;
    }
  };
  for (;;) {
    for (auto& f : from.TakeOutgoing()) wire.emplace_back(true, std::move(f));
    for (auto& f : to.TakeOutgoing()) wire.emplace_back(false, std::move(f));
    if (wire.empty()) {
      flush();
      for (auto& f : to.TakeOutgoing()) wire.emplace_back(false, std::move(f));
      if (wire.empty()) break;
    }
    while (!wire.empty()) {
      auto [to_receiver, frame] = std::move(wire.front());
      wire.pop_front();
      wire_bytes += frame.size();
      Check((to_receiver ? to : from).Receive(frame, 0), "session");
    }
    for (auto& raw : to.TakeArrived()) pending.push_back(std::move(raw));
    if (pending.size() >= 8 * 4096) flush();
  }
  flush();
  const double seconds = timer.Seconds();
  const double cpu = ProcessCpuSeconds() - cpu_before;
  Expect(to.PullComplete(), "the receiver pulled everything");
  Expect(applied == gen.vertices, "every vertex applied on the receiver");
  Expect(*receiver->Fingerprint() == *source->Fingerprint(), "the two nodes converged");
  // The same vertices ingested straight from the bundle, parents first, into a third node:
  // the figure sync is held to, measured in this run.
  std::fprintf(stderr, "sync-sim: the same ingest without sessions\n");
  auto direct =
      Check(object::Replica::Open(tmp.path() + "/direct.db", crypto::SigningKey::Generate()),
            "opening the direct node");
  Stopwatch direct_timer;
  ForEachChunk(bundle, 8 * 4096, gen.vertices, "direct", [&](std::vector<Bytes> raws) {
    Check(direct->Ingest(std::move(raws)), "direct ingest");
  });
  const double direct_seconds = direct_timer.Seconds();
  const VerifyRate after = MeasureVerifyRate(bundle, 20'000);
  std::filesystem::remove(bundle);
  const double verify_per_s = (before.per_s + after.per_s) / 2;
  const double events_per_s = gen.vertices / seconds;

  Json r;
  r["events"] = gen.vertices;
  r["events_per_s"] = events_per_s;
  r["ed25519_verify_per_s"] = verify_per_s;
  r["ratio"] = events_per_s / verify_per_s;
  r["peak_rss_kb"] = PeakRssKb();
  r["peak_rss_is"] = "both nodes, one process";
  r["wire_bytes"] = wire_bytes;
  r["ingest_events_per_s"] = gen.vertices / direct_seconds;
  r["vs_ingest"] = events_per_s / (gen.vertices / direct_seconds);
  Json d;
  d["seconds"] = seconds;
  d["cpu_seconds"] = cpu;
  d["source_index_build_ms"] = index_build_ms;
  d["reconcile_rounds"] = to.stats().reconcile_rounds;
  d["fallbacks"] = to.stats().fallbacks;
  d["frames"] = to.stats().frames_in + to.stats().frames_out;
  d["load_average"] = LoadAverage();
  r["detail"] = std::move(d);
  r["goal"] =
      Json{{"sync-sim", "within 10% of a plain ingest of the same vertices (vs_ingest >= 0.9)"},
           {"met", GoalVerdict(gen.vertices >= 500'000,
                               events_per_s >= 0.9 * gen.vertices / direct_seconds, "500,000")}};
  return r;
}

}  // namespace topo::bench
