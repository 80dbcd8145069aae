// topo-bench ingest: see benches.h.
#include <cstdio>
#include <filesystem>
#include <thread>

#include "bench/benches.h"
#include "object/replica.h"
#include "util/encoding.h"

namespace topo::bench {
namespace {

// Compares the fields the generator touched with what the replica shows (key order aside).
void ExpectState(const Json& shown, const Json& expected) {
  nlohmann::json got = nlohmann::json::parse(shown.dump());
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    nlohmann::json want = nlohmann::json::parse(it.value().dump());
    Expect(got.contains(it.key()) && got[it.key()] == want,
           "field \"" + it.key() + "\" converged to the generated value");
  }
}

}  // namespace

Json RunIngest(const IngestOptions& options) {
  TempDir dir("ingest");
  if (options.keep) {
    dir.Keep();
    std::fprintf(stderr, "ingest: keeping %s\n", dir.path().c_str());
  }
  const std::string generated = dir.File("generated.bundle");
  const std::string shuffled = dir.File("shuffled.bundle");
  Stopwatch gen_clock;
  GeneratedObject gen = GenerateObject(options.shape, generated);
  const double gen_s = gen_clock.Seconds();
  WriteShuffled(generated, gen.records, options.window, options.shape.seed + 1, shuffled);
  gen.records = {};

  const std::string load_before = LoadAverage();
  const VerifyRate verify_before = MeasureVerifyRate(generated, options.verify_sample);
  ChildResult child =
      RunChild({"ingest-child", "--bundle", shuffled, "--db", dir.File("replica.db"), "--object",
                HexEncode(gen.object.view()), "--events", std::to_string(gen.vertices), "--threads",
                std::to_string(options.threads), "--chunk", std::to_string(options.chunk),
                "--wal-autocheckpoint", std::to_string(options.sqlite.wal_autocheckpoint),
                "--cache-kib", std::to_string(options.sqlite.cache_kib)});
  const VerifyRate verify_after = MeasureVerifyRate(generated, options.verify_sample);
  const Json& c = child.output;
  ExpectState(c["state"], gen.expected);

  const double seconds = c["ingest_s"].get<double>();
  const double events_per_s = static_cast<double>(gen.vertices) / seconds;
  const double verify_per_s = (verify_before.per_s + verify_after.per_s) / 2;
  const double verify_per_cpu_s = (verify_before.per_cpu_s + verify_after.per_cpu_s) / 2;
  const double cpu_s = c["ingest_cpu_s"].get<double>();
  const double events_per_cpu_s = static_cast<double>(gen.vertices) / cpu_s;
  const uint64_t peak_rss_kb = c["peak_rss_kb"].get<uint64_t>();
  const double db_bytes = c["db_bytes"].get<double>() + c["wal_bytes"].get<double>();

  Json r;
  r["events"] = gen.vertices;
  r["ops"] = OpMixName(options.shape.mix);
  r["window"] = options.window == 0 ? Json("whole set") : Json(options.window);
  r["threads"] = c["threads"];
  r["events_per_s"] = events_per_s;
  r["ed25519_verify_per_s"] = verify_per_s;
  r["ratio"] = events_per_s / verify_per_s;
  r["peak_rss_kb"] = peak_rss_kb;
  r["db_bytes_per_vertex"] = db_bytes / static_cast<double>(gen.vertices);
  r["ingest_s"] = seconds;
  Json d;
  d["ed25519_verify_per_s_before"] = verify_before.per_s;
  d["ed25519_verify_per_s_after"] = verify_after.per_s;
  d["load_average_before"] = load_before;
  d["load_average_after"] = LoadAverage();
  // CPU-time figures do not depend on what else the machine runs: events per CPU-second
  // (every thread of the child) against verifies per CPU-second. 0.5 is the floor for a
  // ratio of 1.0 on two idle cores; 1.0 would mean an event costs no more than its verify.
  d["ingest_cpu_s"] = cpu_s;
  d["events_per_cpu_s"] = events_per_cpu_s;
  d["ed25519_verify_per_cpu_s"] = verify_per_cpu_s;
  d["cpu_ratio"] = events_per_cpu_s / verify_per_cpu_s;
  d["applied"] = c["applied"];
  d["blocked_on_arrival"] = c["blocked"];
  d["applied_by_cascade"] = c["cascaded"];
  d["still_blocked"] = c["still_blocked"];
  d["rejected"] = c["rejected"];
  d["authors"] = options.shape.authors;
  d["merge_vertices"] = gen.merges;
  d["max_parents"] = gen.max_parents;
  d["bundle_bytes_per_vertex"] =
      static_cast<double>(gen.bundle_bytes) / static_cast<double>(gen.vertices);
  d["chunk"] = options.chunk;
  if (options.sqlite.wal_autocheckpoint > 0)
    d["wal_autocheckpoint"] = options.sqlite.wal_autocheckpoint;
  if (options.sqlite.cache_kib > 0) d["cache_kib"] = options.sqlite.cache_kib;
  d["generate_s"] = gen_s;
  r["detail"] = std::move(d);
  const double ratio = events_per_s / verify_per_s;
  r["goal"] = Json{{"ratio", ">= 1.0, at least 0.7"},
                   {"ratio_1_0_met", ratio >= 1.0},
                   {"ratio_0_7_met", ratio >= 0.7},
                   {"peak_rss", "< 64 MiB while ingesting 1M"},
                   {"peak_rss_met",
                    GoalVerdict(gen.vertices >= 1'000'000, peak_rss_kb < 64 * 1024, "1,000,000")}};
  return r;
}

ChunkedIngest IngestInChunks(object::Replica& replica, const std::string& bundle, size_t chunk,
                           uint64_t events, const std::string& label) {
  ChunkedIngest run;
  std::vector<std::string> problems;
  Stopwatch clock;
  const double cpu0 = ProcessCpuSeconds();
  ForEachChunk(bundle, chunk, events, label, [&](std::vector<Bytes> raws) {
    auto report = Check(replica.Ingest(std::move(raws)), "ingest");
    run.stats += report.stats;
    for (auto& p : report.problems)
      if (problems.size() < 5) problems.push_back(std::move(p));
  });
  run.seconds = clock.Seconds();
  run.cpu_s = ProcessCpuSeconds() - cpu0;
  std::string why = problems.empty() ? "" : " (first problem: " + problems[0] + ")";
  Expect(run.stats.applied == events, "every vertex applied: " +
                                          std::to_string(run.stats.applied) + " of " +
                                          std::to_string(events) + why);
  Expect(run.stats.rejected == 0 && run.stats.invalid == 0, "no vertex rejected or invalid" + why);
  return run;
}

Json RunIngestChild(const IngestChildOptions& options) {
  object::ReplicaOptions ro;
  ro.verify_threads = options.threads;
  auto replica = Check(object::Replica::Open(options.db, crypto::SigningKey::Generate(), ro),
                       "opening " + options.db);
  const codec::ObjectId object =
      Check(HexDecodeFixed<32>(options.object_hex), "object id " + options.object_hex);
  ApplySqliteSettings(options.sqlite, replica->database());

  ChunkedIngest run = IngestInChunks(*replica, options.bundle, options.chunk, options.events, "ingest");
  const graph::IngestStats& total = run.stats;
  const double seconds = run.seconds;
  const double cpu_s = run.cpu_s;
  const uint64_t peak_rss_kb = PeakRssKb();

  auto& graph = replica->graph_store();
  const uint64_t still_blocked = Check(graph.BlockedCount(), "counting blocked");
  const uint64_t stored = Check(graph.VertexCount(), "counting vertices");
  const uint64_t rejected_rows = Check(graph.RejectedCount(), "counting rejected");
  Expect(rejected_rows == 0, "no vertex rejected");
  Expect(total.duplicate == 0, "no duplicates");
  Expect(still_blocked == 0, std::to_string(still_blocked) + " vertices still blocked");
  Expect(stored == options.events, "the vertices table holds every vertex");
  Json state = Check(replica->Show(object), "showing the object");

  Check(replica->database().Exec("PRAGMA wal_checkpoint(TRUNCATE)"), "checkpoint");
  Json r;
  r["ingest_s"] = seconds;
  r["ingest_cpu_s"] = cpu_s;
  r["peak_rss_kb"] = peak_rss_kb;
  r["threads"] =
      options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  r["applied"] = total.applied;
  r["cascaded"] = total.cascaded;
  r["blocked"] = total.blocked;
  r["rejected"] = total.rejected;
  r["still_blocked"] = still_blocked;
  r["db_bytes"] = FileSize(options.db);
  r["wal_bytes"] = FileSize(options.db + "-wal");
  r["state"] = std::move(state);
  return r;
}

}  // namespace topo::bench
