// topo-bench sync: two real daemons on loopback; a fresh one joins a workspace and catches
// up with one that holds N vertices in one object of it (benches.h, docs/PERFORMANCE.md).
//
// The sender's database is made here, before its daemon starts, through object::Replica
// (the group, a doc inside it, N - 1 sealed ops by Submit): that takes minutes at 500k, so
// it is kept in --dir between runs and copied for each run. The receiver is a daemon with
// no database: workspace.accept creates it and dials the sender, which admits it by its
// invite claim, serves it the group, applies its join, shares the epoch key and then serves
// the doc. Timed: from the accept call until the receiver holds the doc's N vertices.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "bench/benches.h"
#include "bench/daemon_process.h"
#include "codec/bundle.h"
#include "node/identity.h"
#include "object/replica.h"
#include "store/keystore.h"
#include "util/encoding.h"

namespace topo::bench {
namespace {

namespace fs = std::filesystem;

// A value of about 40 bytes, distinct per op (as in bench/workload.cc).
Bytes ValueFor(uint64_t i) {
  std::string v = "value of vertex " + std::to_string(i) + " ";
  v.resize(40, '.');
  return Bytes(v.begin(), v.end());
}

struct SenderFiles {
  std::string dir;                // holds sender.db, sender.db.keys, verify.bundle, sender.json
  std::string workspace, object;  // hex
  uint64_t vertices = 0;          // of the object, genesis included
};

constexpr size_t kVerifySample = 20'000;

// Makes (or finds in `cache`) a sender database whose workspace holds one doc of `events`
// vertices. Also writes verify.bundle: the doc's first kVerifySample vertices, for
// MeasureVerifyRate.
SenderFiles BuildSender(const std::string& cache, uint64_t events) {
  SenderFiles f;
  f.dir = cache + "/sync-sender-" + std::to_string(events);
  const std::string db = f.dir + "/sender.db";
  const std::string meta = f.dir + "/sender.json";
  if (fs::exists(meta)) {
    std::ifstream in(meta);
    nlohmann::json m = nlohmann::json::parse(in, nullptr, false);
    if (!m.is_discarded() && m.value("events", uint64_t{0}) == events) {
      f.workspace = m["workspace"];
      f.object = m["object"];
      f.vertices = m["vertices"];
      std::fprintf(stderr, "sync: using the sender database in %s\n", f.dir.c_str());
      return f;
    }
  }
  fs::remove_all(f.dir);
  fs::create_directories(f.dir);
  std::fprintf(stderr, "sync: building the sender database (%" PRIu64 " vertices) in %s\n", events,
               f.dir.c_str());
  auto init = Check(node::InitIdentity(db, std::nullopt, "bench sender"), "sender identity");
  object::ReplicaOptions ro;
  ro.create_if_missing = false;
  ro.box = &init.id.box;
  auto r = Check(object::Replica::Open(db, init.id.device.Clone(), ro), "opening " + db);
  auto group = Check(r->CreateGroup(init.id.cert, /*history_visible=*/true), "creating the group");
  const uint32_t name_field = Check(r->FieldOf(group, "name"), "group field name");
  Check(r->Submit(group, name_field, codec::CrdtOp{codec::LwwSet{ValueFor(0)}}), "naming it");
  auto doc = Check(r->CreateObject("doc", group), "creating the doc");
  const uint32_t f_count = Check(r->FieldOf(doc, "count"), "doc field count");
  const uint32_t f_title = Check(r->FieldOf(doc, "title"), "doc field title");
  Progress progress("sender", events);
  Stopwatch clock;
  for (uint64_t i = 1; i < events; ++i) {
    // Counter adds and register sets in turn: the state stays two entries.
    codec::CrdtOp op =
        i % 2 ? codec::CrdtOp{codec::CounterAdd{1}} : codec::CrdtOp{codec::LwwSet{ValueFor(i)}};
    Check(r->Submit(doc, i % 2 ? f_count : f_title, op), "submitting");
    progress.Update(i + 1);
  }
  std::fprintf(stderr, "sync: %" PRIu64 " ops submitted in %.1f s\n", events - 1, clock.Seconds());
  {
    codec::BundleWriter w(f.dir + "/verify.bundle");
    Check(w.status(), "verify bundle");
    Check(r->ForEachInOrder(doc,
                            [&](const graph::VertexMeta&, ByteView raw) {
                              Check(w.Add(raw), "verify bundle");
                              return w.count() < kVerifySample;
                            }),
          "reading the doc");
    Check(w.Finish(), "verify bundle");
  }
  Check(r->database().Exec("PRAGMA wal_checkpoint(TRUNCATE)"), "checkpoint");
  auto objects = Check(r->ListObjects(), "listing objects");
  for (const auto& o : objects)
    if (o.id == doc) f.vertices = o.vertices;
  Expect(f.vertices == events, "the doc holds " + std::to_string(events) + " vertices");
  r.reset();
  f.workspace = HexEncode(group.view());
  f.object = HexEncode(doc.view());
  std::ofstream out(meta);
  out << nlohmann::json{{"events", events},
                        {"workspace", f.workspace},
                        {"object", f.object},
                        {"vertices", f.vertices},
                        {"build_s", clock.Seconds()}}
             .dump()
      << "\n";
  return f;
}

// The doc's vertex count on a daemon (object.list), 0 when it is not there yet.
uint64_t ObjectVertices(DaemonProcess& d, const std::string& object) {
  for (const auto& o : d.Call("object.list", nlohmann::json::object()))
    if (o["object"] == object) return o["vertices"].get<uint64_t>();
  return 0;
}

uint64_t Applied(const nlohmann::json& described) {
  return described["ingest"]["applied"].get<uint64_t>();
}

// Sync figures of the one peer in a peer.list result (zeros when not connected).
nlohmann::json PeerSync(const nlohmann::json& described) {
  for (const auto& p : described["peers"])
    if (p.contains("sync")) return p["sync"];
  return nlohmann::json::object();
}

uint64_t Field(const nlohmann::json& j, const char* name) {
  return j.contains(name) ? j[name].get<uint64_t>() : 0;
}

// The run itself, in `tmp` (kept when it fails: the daemons' logs are there).
Json RunSyncIn(const SyncOptions& options, const SenderFiles& files, const std::string& topo,
               TempDir& tmp) {
  const std::string sender_db = tmp.File("sender.db");
  fs::copy_file(files.dir + "/sender.db", sender_db);
  fs::copy_file(store::KeyFilePath(files.dir + "/sender.db"), store::KeyFilePath(sender_db));
  const std::string verify_bundle = files.dir + "/verify.bundle";

  const std::string load_before = LoadAverage();
  const VerifyRate verify_before = MeasureVerifyRate(verify_bundle, kVerifySample);

  DaemonProcess sender({topo, sender_db, tmp.File("sender.log"), options.log_level, {}, {}});
  nlohmann::json invite =
      sender.Call("workspace.invite", {{"workspace", files.workspace}, {"uses", 1}});
  std::vector<std::string> receiver_args;
  if (options.low_memory) receiver_args.push_back("--low-memory");
  DaemonProcess receiver({topo, tmp.File("receiver.db"), tmp.File("receiver.log"),
                          options.log_level, receiver_args, options.receiver_env});
  const uint64_t receiver_rss_idle = receiver.PeakRssKb();
  const double sender_cpu0 = sender.CpuSeconds(), receiver_cpu0 = receiver.CpuSeconds();

  std::fprintf(stderr, "sync: the receiver joins and catches up %" PRIu64 " vertices\n",
               files.vertices);
  Stopwatch clock;
  receiver.Call("workspace.accept",
                {{"link", invite["link"]}, {"username", "receiver"}, {"device_name", "receiver"}});
  const double accept_s = clock.Seconds();

  // Polls the receiver's peer.list (cheap: counters) until its ingest pipeline applied N
  // vertices; then object.list (which counts the doc's vertices by reading them all) until
  // the doc holds N. The end is the reply to the poll that first saw the doc complete, or
  // the earlier peer.list poll that triggered the check when nothing was applied between
  // the two (then the doc was complete at that poll already).
  const uint64_t n = files.vertices;
  const double timeout_s = 120 + static_cast<double>(n) / 1000;
  double first_applied_s = -1, end_s = -1, check_ms = 0;
  std::string end_by;
  std::vector<double> tenth_s(11, -1);     // when applied first reached k tenths of N
  std::vector<uint64_t> tenth_rss(11, 0);  // the receiver's VmRSS then (KiB)
  uint64_t polls = 0, checks = 0;
  Progress progress("sync", n);
  while (end_s < 0) {
    Expect(clock.Seconds() < timeout_s,
           "the receiver caught up within " + std::to_string(static_cast<int>(timeout_s)) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(options.poll_ms));
    const uint64_t applied = Applied(receiver.Call("peer.list", nlohmann::json::object()));
    const double at = clock.Seconds();
    ++polls;
    if (applied > 0 && first_applied_s < 0) first_applied_s = at;
    for (size_t k = 1; k <= 10; ++k)
      if (tenth_s[k] < 0 && applied * 10 >= n * k) {
        tenth_s[k] = at;
        tenth_rss[k] = receiver.RssKb();
      }
    progress.Update(std::min(applied, n));
    if (applied < n) continue;
    Stopwatch check;
    ++checks;
    if (ObjectVertices(receiver, files.object) < n) continue;
    const double complete_at = clock.Seconds();
    check_ms += check.Ms();
    const uint64_t after = Applied(receiver.Call("peer.list", nlohmann::json::object()));
    end_s = after == applied ? at : complete_at;
    end_by = after == applied ? "peer.list poll" : "object.list";
  }
  const double seconds = end_s;
  const uint64_t receiver_peak_kb = receiver.PeakRssKb();
  const nlohmann::json receiver_rss_parts = receiver.RssParts();
  const uint64_t sender_peak_kb = sender.PeakRssKb();
  const double receiver_cpu = receiver.CpuSeconds() - receiver_cpu0;
  const double sender_cpu = sender.CpuSeconds() - sender_cpu0;

  // Correctness: the receiver holds exactly the doc's vertices and shows the same state.
  Expect(ObjectVertices(receiver, files.object) == n, "the receiver's doc holds N vertices");
  const nlohmann::json shown_there = sender.Call("object.show", {{"object", files.object}});
  const nlohmann::json shown_here = receiver.Call("object.show", {{"object", files.object}});
  Expect(shown_here["state"] == shown_there["state"], "the receiver shows the sender's state");
  const nlohmann::json rd = receiver.Call("peer.list", nlohmann::json::object());
  const nlohmann::json sd = sender.Call("peer.list", nlohmann::json::object());
  const nlohmann::json rs = PeerSync(rd), ss = PeerSync(sd);
  Expect(rd["ingest"]["rejected"] == 0 && rd["ingest"]["invalid"] == 0,
         "the receiver rejected nothing");
  receiver.Stop();
  sender.Stop();
  const VerifyRate verify_after = MeasureVerifyRate(verify_bundle, kVerifySample);

  const double verify_per_s = (verify_before.per_s + verify_after.per_s) / 2;
  const double events_per_s = static_cast<double>(n) / seconds;
  const uint64_t wire_bytes = Field(rs, "bytes_in") + Field(rs, "bytes_out");

  Json r;
  r["events"] = n;
  r["low_memory"] = options.low_memory;
  r["events_per_s"] = events_per_s;
  r["ed25519_verify_per_s"] = verify_per_s;
  r["ratio"] = events_per_s / verify_per_s;
  r["receiver_peak_rss_kb"] = receiver_peak_kb;
  r["wire_bytes"] = wire_bytes;
  r["seconds"] = seconds;
  Json d;
  d["wire_bytes_is"] =
      "sync frames both ways, summed over the receiver's sessions with the sender (peer.list); "
      "QUIC, TLS and UDP overhead not included";
  d["wire_bytes_to_receiver"] = Field(rs, "bytes_in");
  d["wire_bytes_from_receiver"] = Field(rs, "bytes_out");
  d["wire_bytes_per_vertex"] = static_cast<double>(wire_bytes) / static_cast<double>(n);
  d["receiver_datagrams_in"] = rd["datagrams"]["in"];
  d["receiver_datagrams_out"] = rd["datagrams"]["out"];
  d["sessions"] = Field(rs, "sessions");
  d["receiver_cpu_s"] = receiver_cpu;
  d["sender_cpu_s"] = sender_cpu;
  d["receiver_events_per_cpu_s"] = static_cast<double>(n) / receiver_cpu;
  d["ed25519_verify_per_cpu_s"] = (verify_before.per_cpu_s + verify_after.per_cpu_s) / 2;
  d["sender_peak_rss_kb"] = sender_peak_kb;
  d["receiver_rss_at_start_kb"] = receiver_rss_idle;
  d["accept_call_s"] = accept_s;
  d["first_applied_s"] = first_applied_s;
  Json tenths;
  for (size_t k = 1; k <= 10; ++k)
    tenths[std::to_string(k * 10) + "%"] =
        Json{{"s", tenth_s[k]}, {"receiver_rss_kb", tenth_rss[k]}};
  d["applied_fraction_at"] = std::move(tenths);
  d["receiver_rss_at_end"] = Json::parse(receiver_rss_parts.dump());
  if (!options.receiver_env.empty()) d["receiver_env"] = options.receiver_env;
  if (tenth_s[1] > 0 && tenth_s[9] > tenth_s[1])
    d["events_per_s_10_to_90"] = 0.8 * static_cast<double>(n) / (tenth_s[9] - tenth_s[1]);
  d["receiver_applied"] = rd["ingest"]["applied"];
  d["receiver_duplicate"] = rd["ingest"]["duplicate"];
  d["sender_vertices_sent"] = Field(ss, "vertices_sent");
  d["polls"] = polls;
  d["end_checks"] = checks;
  d["end_check_ms"] = check_ms;
  d["end_by"] = end_by;
  d["ed25519_verify_per_s_before"] = verify_before.per_s;
  d["ed25519_verify_per_s_after"] = verify_after.per_s;
  d["load_average_before"] = load_before;
  d["load_average_after"] = LoadAverage();
  r["detail"] = std::move(d);
  const uint64_t rss_goal_kb = options.low_memory ? 24 * 1024 : 64 * 1024;
  const bool at_size = n >= 500'000;
  r["goal"] = Json{
      {"events_per_s", ">= 20,000 at 500,000 on the 2-core machine"},
      {"events_per_s_met", GoalVerdict(at_size, events_per_s >= 20'000, "500,000")},
      {"receiver_peak_rss", options.low_memory ? "< 24 MiB (--low-memory)" : "< 64 MiB"},
      {"receiver_peak_rss_met", GoalVerdict(at_size, receiver_peak_kb < rss_goal_kb, "500,000")}};
  return r;
}

}  // namespace

Json RunSync(const SyncOptions& options) {
  Expect(options.events >= 2, "at least 2 events");
  const std::string topo = TopoBinary(options.topo);
  std::optional<TempDir> cache_tmp;
  std::string cache = options.dir;
  if (cache.empty()) {
    cache_tmp.emplace("sync-cache");
    cache = cache_tmp->path();
  }
  fs::create_directories(cache);
  const SenderFiles files = BuildSender(cache, options.events);
  TempDir tmp("sync");
  try {
    return RunSyncIn(options, files, topo, tmp);
  } catch (const Failure&) {
    tmp.Keep();
    std::fprintf(stderr, "sync: kept %s (the daemons' logs and databases)\n", tmp.path().c_str());
    throw;
  }
}

}  // namespace topo::bench
