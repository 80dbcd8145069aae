// topo-bench sync-sim: a fresh node catches up with one that holds N vertices of one
// object, through two Sessions joined by an unconstrained in-process link (no latency, no
// loss: what the simulator's link is with every fault off). Timed: the whole session
// (reconciliation, wants, vertices frames) and the receiver's ingest through an
// object::IngestPipeline (verify on every core while earlier vertices are applied and
// committed, and while frames move), which is what bounds it. Then the same vertices go
// straight from the bundle into a third node, parents first, through the same pipeline (as
// Replica::ImportBundle does): vs_ingest compares the two in one run.
#include <cstdio>
#include <deque>
#include <filesystem>
#include <memory>

#include "bench/benches.h"
#include "object/ingest_pipeline.h"
#include "object/replica.h"
#include "store/database.h"
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
  const uint64_t peak_rss_before_sync_kb = PeakRssKb();
  Stopwatch timer;
  const double cpu_before = ProcessCpuSeconds();
  const double thread_cpu_before = ThreadCpuSeconds();
  from.Start(0);
  to.Start(0);
  // The receiver's vertices verify on every core while earlier ones are applied and while
  // the sessions run; the pipeline holds at most max_pending of them (Add applies the
  // oldest batches when it is full, as a node stops reading the stream).
  auto pipe_owner = std::make_unique<object::IngestPipeline>(*receiver);
  object::IngestPipeline& pipe = *pipe_owner;
  const size_t max_pending = pipe.max_pending();
  std::deque<std::pair<bool, Bytes>> wire;  // (to the receiver?, frame)
  uint64_t wire_bytes = 0, next_progress = gen.vertices / 10;
  auto progress = [&] {
    const uint64_t applied = pipe.report().stats.applied;
    if (applied < next_progress) return;
    std::fprintf(stderr, "sync-sim: %llu applied, %.1f s\n",
                 static_cast<unsigned long long>(applied), timer.Seconds());
    while (next_progress <= applied) next_progress += gen.vertices / 10;
  };
  // Where the main thread's time goes: CPU seconds serving the peer's wants (source side)
  // and receiving frames (receiver side: decode, id checks), and CPU and wall seconds in the
  // pipeline (applying; its wall time also counts the waits for verification).
  double serve_cpu = 0, receive_cpu = 0, pipeline_cpu = 0, pipeline_wall = 0;
  auto in_pipeline = [&](auto&& step) {
    Stopwatch wall;
    const double cpu0 = ThreadCpuSeconds();
    Check(step(), "receiver ingest");
    pipeline_cpu += ThreadCpuSeconds() - cpu0;
    pipeline_wall += wall.Seconds();
  };
  for (;;) {
    for (auto& f : from.TakeOutgoing()) wire.emplace_back(true, std::move(f));
    for (auto& f : to.TakeOutgoing()) wire.emplace_back(false, std::move(f));
    if (wire.empty()) {
      in_pipeline([&] { return pipe.Finish(); });
      for (auto& f : to.TakeOutgoing()) wire.emplace_back(false, std::move(f));
      if (wire.empty()) break;
    }
    while (!wire.empty()) {
      auto [to_receiver, frame] = std::move(wire.front());
      wire.pop_front();
      wire_bytes += frame.size();
      const double cpu0 = ThreadCpuSeconds();
      if (to_receiver) {
        Check(to.Receive(frame, 0), "session");
      } else {
        // The source answers a frame (a want: up to 4,096 lookups by id) from one snapshot,
        // as a node serving a peer would: one read lock instead of two per vertex.
        auto snapshot = Check(store::ReadTransaction::Begin(source->database()), "snapshot");
        Check(from.Receive(frame, 0), "session");
        Check(snapshot.End(), "snapshot");
      }
      std::vector<Bytes> arrived = to.TakeArrived();
      (to_receiver ? receive_cpu : serve_cpu) += ThreadCpuSeconds() - cpu0;
      if (!arrived.empty()) in_pipeline([&] { return pipe.Add(std::move(arrived)); });
    }
    in_pipeline([&] { return pipe.ApplyReady(); });
    progress();
  }
  in_pipeline([&] { return pipe.Finish(); });
  const double seconds = timer.Seconds();
  const double cpu = ProcessCpuSeconds() - cpu_before;
  const double thread_cpu = ThreadCpuSeconds() - thread_cpu_before;
  const uint64_t peak_rss_after_sync_kb = PeakRssKb();
  const object::IngestReport report = pipe.report();
  // Its workers end here, so the third node's pipeline reuses their malloc arenas instead
  // of growing new ones beside them.
  pipe_owner.reset();
  const uint64_t applied = report.stats.applied;
  Expect(report.stats.rejected == 0 && report.stats.invalid == 0, "no vertex rejected");
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
  const double direct_cpu_before = ProcessCpuSeconds();
  const double direct_thread_before = ThreadCpuSeconds();
  {
    // Replica::ImportBundle's path (without its first, digest-checking pass): the bundle
    // streamed through one IngestPipeline, as the receiver's arrivals are. So the two
    // figures differ by what the sessions cost, not by how the vertices are verified.
    object::IngestPipeline direct_pipe(*direct);
    ForEachChunk(bundle, 4096, gen.vertices, "direct", [&](std::vector<Bytes> raws) {
      Check(direct_pipe.Add(std::move(raws)), "direct ingest");
    });
    Check(direct_pipe.Finish(), "direct ingest");
    Expect(direct_pipe.report().stats.applied == gen.vertices, "every vertex applied directly");
  }
  const double direct_seconds = direct_timer.Seconds();
  const double direct_cpu = ProcessCpuSeconds() - direct_cpu_before;
  const double direct_thread_cpu = ThreadCpuSeconds() - direct_thread_before;
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
  d["ingest_seconds"] = direct_seconds;
  d["ingest_cpu_seconds"] = direct_cpu;
  d["ingest_main_thread_cpu_s"] = direct_thread_cpu;
  d["pipeline_max_pending"] = max_pending;
  // Whether the peak came before the sessions ran (building the source), while they ran, or
  // later, with the third node open.
  d["peak_rss_before_sync_kb"] = peak_rss_before_sync_kb;
  d["peak_rss_after_sync_kb"] = peak_rss_after_sync_kb;
  d["main_thread"] = Json{{"cpu_s", thread_cpu},
                          {"serve_cpu_s", serve_cpu},
                          {"receive_cpu_s", receive_cpu},
                          {"pipeline_cpu_s", pipeline_cpu},
                          {"pipeline_wall_s", pipeline_wall}};
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
