// topo-bench open: see benches.h.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "bench/benches.h"
#include "object/replica.h"
#include "store/database.h"
#include "util/encoding.h"

namespace topo::bench {
namespace {

std::string DatabaseName(const GraphShape& s, bool incremental) {
  std::string name = "open-" + std::to_string(s.events) + "-" + OpMixName(s.mix);
  if (s.mix == OpMix::kMapPuts) name += "-k" + std::to_string(s.keys);
  name += "-a" + std::to_string(s.authors) + "-m" + std::to_string(s.merge_every) + "-s" +
          std::to_string(s.seed);
  if (incremental) name += "-inc";
  return name;
}

// Builds the database at `db` from a generated object, ingested parents first. Returns the
// object id. With `incremental`, the sequential stage is ProfiledPipeline's emulation of
// per-path projection: the same graph and state tables, other object_values rows (which
// Show does not read), and no per-op re-render, so a large map object can be built at all.
codec::ObjectId Build(const GraphShape& shape, bool incremental, const std::string& db,
                      const std::string& bundle) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  GeneratedObject gen = GenerateObject(shape, bundle);
  gen.records = {};
  uint64_t applied = 0;
  if (incremental) {
    auto database = Check(store::Database::Open(db), "opening " + db);
    Experiments e;
    e.incremental_project = true;
    ProfiledPipeline pipeline(*database, e);
    ForEachChunk(bundle, 8 * 4096, gen.vertices, "build",
                 [&](std::vector<Bytes> raws) { pipeline.Ingest(std::move(raws), 0); });
    applied = pipeline.stats().applied;
    Check(database->Exec("PRAGMA wal_checkpoint(TRUNCATE)"), "checkpoint");
  } else {
    auto replica =
        Check(object::Replica::Open(db, crypto::SigningKey::Generate()), "opening " + db);
    ForEachChunk(bundle, 8 * 4096, gen.vertices, "build", [&](std::vector<Bytes> raws) {
      applied += Check(replica->Ingest(std::move(raws)), "ingest").stats.applied;
    });
    Check(replica->database().Exec("PRAGMA wal_checkpoint(TRUNCATE)"), "checkpoint");
  }
  Expect(applied == gen.vertices, "every vertex of the built database applied");
  std::filesystem::remove(bundle);
  return gen.object;
}

}  // namespace

Json RunOpen(const OpenOptions& options) {
  std::optional<TempDir> tmp;
  std::string dir = options.dir;
  if (dir.empty()) {
    tmp.emplace("open");
    dir = tmp->path();
  } else {
    std::filesystem::create_directories(dir);
  }
  const std::string base = dir + "/" + DatabaseName(options.shape, options.build_incremental);
  const std::string db = base + ".db";
  const std::string ready = base + ".ready";  // written last: the object id
  std::string object_hex;
  bool reused = false;
  if (std::ifstream in(ready); in && std::getline(in, object_hex) && object_hex.size() == 64 &&
                               std::filesystem::exists(db)) {
    reused = true;
    std::fprintf(stderr, "open: reusing %s\n", db.c_str());
  } else {
    std::filesystem::remove(ready);
    Stopwatch build;
    codec::ObjectId object = Build(options.shape, options.build_incremental, db, base + ".bundle");
    object_hex = HexEncode(object.view());
    std::ofstream(ready) << object_hex << "\n";
    std::fprintf(stderr, "open: built %s in %.1f s\n", db.c_str(), build.Seconds());
  }

  for (const char* suffix : {"", "-wal"}) DropFromPageCache(db + suffix);
  ChildResult cold = RunChild({"open-child", "--db", db, "--object", object_hex});
  ChildResult warm = RunChild({"open-child", "--db", db, "--object", object_hex});

  const double open_ms = cold.output["open_ms"].get<double>();
  const uint64_t peak_rss_kb = std::max(cold.output["peak_rss_kb"].get<uint64_t>(),
                                        warm.output["peak_rss_kb"].get<uint64_t>());
  Json r;
  r["events"] = options.shape.events;
  r["ops"] = OpMixName(options.shape.mix);
  r["open_ms"] = open_ms;
  r["open_ms_is"] = "Replica::Open + Show, database pages dropped from the OS cache first";
  r["open_warm_ms"] = warm.output["open_ms"];
  r["peak_rss_kb"] = peak_rss_kb;
  Json d;
  d["replica_open_ms_cold"] = cold.output["replica_open_ms"];
  d["show_ms_cold"] = cold.output["show_ms"];
  d["replica_open_ms_warm"] = warm.output["replica_open_ms"];
  d["show_ms_warm"] = warm.output["show_ms"];
  d["built_with"] = options.build_incremental ? "per-path projection emulation" : "Replica";
  d["db_bytes"] = FileSize(db) + FileSize(db + "-wal");
  d["reused_database"] = reused;
  d["database"] = tmp ? std::string("(temporary)") : db;
  r["detail"] = std::move(d);
  r["goal"] = Json{{"open", "< 1000 ms and < 64 MiB at 1M vertices"},
                   {"met", GoalVerdict(options.shape.events >= 1'000'000,
                                       open_ms < 1000 && peak_rss_kb < 64 * 1024, "1,000,000")}};
  return r;
}

Json RunOpenChild(const OpenChildOptions& options) {
  const codec::ObjectId object =
      Check(HexDecodeFixed<32>(options.object_hex), "object id " + options.object_hex);
  Stopwatch total;
  auto replica = Check(object::Replica::Open(options.db, crypto::SigningKey::Generate()),
                       "opening " + options.db);
  const double open_ms = total.Ms();
  Stopwatch show;
  nlohmann::json state = Check(replica->Show(object), "showing the object");
  const double show_ms = show.Ms();
  const double all_ms = total.Ms();
  const uint64_t peak_rss_kb = PeakRssKb();
  Expect(state.is_object() && !state.empty(), "the object renders");
  Json r;
  r["open_ms"] = all_ms;
  r["replica_open_ms"] = open_ms;
  r["show_ms"] = show_ms;
  r["peak_rss_kb"] = peak_rss_kb;
  r["state_bytes"] = state.dump().size();
  return r;
}

}  // namespace topo::bench
