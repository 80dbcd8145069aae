// topo-bench merge: see benches.h.
//
// The ops: on the doc's map field "props", updates (lww values) and removes; on its set
// field "tags", adds and removes, over `keys` keys and elements. A key's presence tags stay
// live until a remove names them (object/crdt.h), so without removes every update would
// grow the state that each later op re-renders; with one remove per five ops on a field the
// state stays bounded by the key space, as in an application that edits and deletes.
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "bench/benches.h"
#include "codec/bundle.h"
#include "object/replica.h"
#include "store/database.h"

namespace topo::bench {
namespace {

using object::Replica;

crypto::SigningKey ReplicaKey(uint64_t seed, char side) {
  std::string tag = "topo-bench merge " + std::to_string(seed) + side;
  return Check(crypto::SigningKey::FromSeed(crypto::Hash("topo.bench.author", AsBytes(tag)).view()),
               "replica key");
}

std::string KeyName(uint32_t k) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%05u", k);
  return buf;
}

// Makes `n` ops on one replica with Submit, each in its own transaction.
void MakeLocalOps(Replica& r, const codec::ObjectId& object, uint64_t n, uint32_t keys,
                  uint64_t seed, const std::string& label) {
  const uint32_t props = Check(r.FieldOf(object, "props"), "field props");
  const uint32_t tags = Check(r.FieldOf(object, "tags"), "field tags");
  const Bytes props_prefix = object::FieldPrefix(props);
  const Bytes tags_prefix = object::FieldPrefix(tags);
  std::vector<bool> key_live(keys, false), elem_live(keys, false);
  std::mt19937_64 rng(seed);
  Progress progress(label, n);
  for (uint64_t i = 0; i < n; ++i) {
    const uint32_t k = static_cast<uint32_t>(rng() % keys);
    const std::string name = KeyName(k);
    const unsigned pick = static_cast<unsigned>(rng() % 10);
    uint32_t field;
    codec::CrdtOp op;
    if (pick < 5) {
      field = props;
      if (pick == 4 && key_live[k]) {
        op = Check(object::MakeMapRemove(r.state(), object, props_prefix, name), "map remove");
        key_live[k] = false;
      } else {
        std::string value = name + " = " + std::to_string(i) + " from " + label;
        op = codec::MakeMapUpdate(name, codec::CrdtOp{codec::LwwSet{ToBytes(value)}});
        key_live[k] = true;
      }
    } else {
      field = tags;
      if (pick == 9 && elem_live[k]) {
        op = Check(object::MakeSetRemove(r.state(), object, tags_prefix, AsBytes(name)),
                   "set remove");
        elem_live[k] = false;
      } else {
        op = codec::CrdtOp{codec::SetAdd{ToBytes(name)}};
        elem_live[k] = true;
      }
    }
    Check(r.Submit(object, field, op), "submit");
    progress.Update(i + 1);
  }
}

std::vector<Bytes> ReadAll(const std::string& path) {
  std::vector<Bytes> raws;
  Check(codec::ReadBundle(path,
                          [&](Bytes raw) {
                            raws.push_back(std::move(raw));
                            return Status::Ok();
                          }),
        "reading " + path);
  return raws;
}

struct Direction {
  double verify_ms = 0;
  double merge_ms = 0;
  double merge_cpu_ms = 0;  // the merging thread's CPU time: less sensitive to the load
};

// `to` takes in every vertex of `from`'s export: PrepareAll (decode + verify) timed apart
// from IngestPrepared (the sequential stage: dependencies, validate, apply, project, commit).
Direction TakeIn(Replica& to, std::vector<Bytes> raws, uint64_t n, unsigned threads) {
  Direction d;
  Stopwatch verify;
  std::vector<graph::Prepared> prepared = graph::PrepareAll(std::move(raws), threads);
  d.verify_ms = verify.Ms();
  std::fprintf(stderr, "merge: ingesting\n");
  Stopwatch merge;
  const double cpu0 = ThreadCpuSeconds();
  object::IngestReport report = Check(to.IngestPrepared(std::move(prepared)), "merge");
  d.merge_ms = merge.Ms();
  d.merge_cpu_ms = (ThreadCpuSeconds() - cpu0) * 1e3;
  const auto& s = report.stats;
  std::string why = report.problems.empty() ? "" : " (first problem: " + report.problems[0] + ")";
  Expect(s.applied == n, "every op of the other side applied: " + std::to_string(s.applied) +
                             " of " + std::to_string(n) + why);
  Expect(s.duplicate == 1, "only the shared genesis is a duplicate");
  Expect(s.rejected == 0 && s.invalid == 0 && s.blocked == 0, "nothing rejected or blocked" + why);
  return d;
}

}  // namespace

Json RunMerge(const MergeOptions& options) {
  Expect(options.keys >= 1, "at least one key");
  TempDir dir("merge");
  object::ReplicaOptions ro;
  ro.verify_threads = options.threads;
  if (options.batch_size) ro.batch_size = options.batch_size;
  auto a = Check(Replica::Open(dir.File("a.db"), ReplicaKey(options.seed, 'a'), ro), "open a");
  auto b = Check(Replica::Open(dir.File("b.db"), ReplicaKey(options.seed, 'b'), ro), "open b");
  const codec::ObjectId object = Check(a->CreateObject("doc"), "create doc");
  Check(a->ExportBundle(dir.File("genesis.bundle"), object), "export genesis");
  auto g = Check(b->ImportBundle(dir.File("genesis.bundle")), "import genesis");
  Expect(g.stats.applied == 1, "b has the genesis");

  Stopwatch submit;
  MakeLocalOps(*a, object, options.events, options.keys, options.seed * 2, "submit a");
  MakeLocalOps(*b, object, options.events, options.keys, options.seed * 2 + 1, "submit b");
  const double submit_s = submit.Seconds();

  Check(a->ExportBundle(dir.File("a.bundle"), object), "export a");
  Check(b->ExportBundle(dir.File("b.bundle"), object), "export b");
  std::vector<Bytes> from_a = ReadAll(dir.File("a.bundle"));
  std::vector<Bytes> from_b = ReadAll(dir.File("b.bundle"));
  Json profile;
  if (options.profile) {
    // A copy of b takes in a's vertices through the timed pipeline first.
    Check(b->database().Exec("PRAGMA wal_checkpoint(TRUNCATE)"), "checkpoint b");
    std::filesystem::copy_file(dir.File("b.db"), dir.File("b-profile.db"));
    auto db = Check(store::Database::Open(dir.File("b-profile.db")), "open the copy of b");
    ProfiledPipeline pipeline(*db, options.experiments);
    std::fprintf(stderr, "merge: profiling a copy of b taking in a's vertices\n");
    pipeline.IngestPrepared(graph::PrepareAll(from_a, options.threads));
    Expect(pipeline.stats().applied == options.events, "profiled merge applied every op");
    profile["experiments"] = ExperimentsJson(options.experiments);
    profile.update(pipeline.Report(options.events));
  }
  std::fprintf(stderr, "merge: b takes in a's %zu vertices\n", from_a.size());
  Direction a_to_b = TakeIn(*b, std::move(from_a), options.events, options.threads);
  std::fprintf(stderr, "merge: a takes in b's %zu vertices\n", from_b.size());
  Direction b_to_a = TakeIn(*a, std::move(from_b), options.events, options.threads);

  const std::string fa = Check(a->Fingerprint(), "fingerprint a");
  const std::string fb = Check(b->Fingerprint(), "fingerprint b");
  Expect(fa == fb, "the two replicas' fingerprints are equal");
  auto heads = Check(a->Heads(object), "heads");

  const double merge_ms = std::max(a_to_b.merge_ms, b_to_a.merge_ms);
  Json r;
  r["events"] = options.events;
  r["keys"] = options.keys;
  r["batch_size"] = ro.batch_size;
  r["merge_ms"] = merge_ms;
  r["merge_ms_is"] = "max of the two directions";
  r["merge_ms_a_into_b"] = a_to_b.merge_ms;
  r["merge_ms_b_into_a"] = b_to_a.merge_ms;
  r["merge_ms_sum"] = a_to_b.merge_ms + b_to_a.merge_ms;
  r["merge_cpu_ms"] = std::max(a_to_b.merge_cpu_ms, b_to_a.merge_cpu_ms);
  r["merge_cpu_ms_is"] = "the merging thread's CPU time (user + system), max of the two";
  r["merge_ops_per_s"] = static_cast<double>(options.events) / (merge_ms / 1e3);
  r["verify_ms"] = std::max(a_to_b.verify_ms, b_to_a.verify_ms);
  r["verify_ms_is"] = "graph::PrepareAll (decode + verify on `threads` threads), max of the two";
  r["threads"] =
      options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  r["fingerprints_equal"] = true;
  const store::CheckpointStats ck = b->database().checkpoint_stats();
  r["checkpoints_b"] = Json{{"background_requested", ck.requested},
                            {"background_run", ck.run},
                            {"background_complete", ck.complete},
                            {"background_failed", ck.failed},
                            {"inline", b->database().inline_checkpoints()}};
  r["heads_after"] = heads.size();
  r["submit_per_s"] = static_cast<double>(2 * options.events) / submit_s;
  r["load_average"] = LoadAverage();
  r["goal"] = Json{{"merge_ms", "< 2000 at 100,000 ops per side"},
                   {"met", GoalVerdict(options.events >= 100'000, merge_ms < 2000, "100,000")}};
  if (options.profile) r["profile_a_into_copy_of_b"] = std::move(profile);
  return r;
}

}  // namespace topo::bench
