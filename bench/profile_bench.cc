// topo-bench profile: where the sequential stage of ingest spends its time (see
// profiled_pipeline.h for how, and experiments.h for the emulated src/ changes).
#include "bench/benches.h"
#include "bench/profiled_pipeline.h"
#include "store/database.h"
#include "store/sqlite_graph_store.h"

namespace topo::bench {

Json RunProfile(const ProfileOptions& options) {
  TempDir dir("profile");
  const std::string generated = dir.File("generated.bundle");
  const std::string shuffled = dir.File("shuffled.bundle");
  GeneratedObject gen = GenerateObject(options.shape, generated);
  WriteShuffled(generated, gen.records, options.window, options.shape.seed + 1, shuffled);
  gen.records = {};

  auto db = Check(store::Database::Open(dir.File("profile.db")), "opening the database");
  ProfiledPipeline pipeline(*db, options.experiments);
  Stopwatch wall;
  ForEachChunk(shuffled, ProfiledPipeline::kBatch, gen.vertices, "profile",
               [&](std::vector<Bytes> raws) { pipeline.Ingest(std::move(raws), options.threads); });
  const double wall_s = wall.Seconds();
  const auto& stats = pipeline.stats();
  Expect(stats.applied == gen.vertices, "every vertex applied: " + std::to_string(stats.applied) +
                                            " of " + std::to_string(gen.vertices));
  store::SqliteGraphStore check(*db);
  Expect(Check(check.BlockedCount(), "blocked count") == 0, "nothing still blocked");

  Json r;
  r["events"] = gen.vertices;
  r["ops"] = OpMixName(options.shape.mix);
  r["window"] = options.window == 0 ? Json("whole set") : Json(options.window);
  r["experiments"] = ExperimentsJson(options.experiments);
  r["wall_s"] = wall_s;
  r["blocked_on_arrival"] = stats.blocked;
  r["load_average"] = LoadAverage();
  r.update(pipeline.Report(gen.vertices));
  return r;
}

}  // namespace topo::bench
