// topo-bench reconcile --algo riblt (bench/reconcile_riblt.h). The sketches are built by inserting
// every item, as a live node does when vertices arrive; that cost is reported per item and
// is not part of the session. The session is timed in CPU time per side, from making the
// session object (which snapshots the sketch) to its last frame.
#include "bench/reconcile_riblt.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "sync/riblt_session.h"

namespace topo::bench {
namespace {

using sync::ItemId;

ItemId RandomId(std::mt19937_64& rng) {
  ItemId id;
  for (size_t i = 0; i < id.size(); i += 8) {
    const uint64_t v = rng();
    std::memcpy(id.data() + i, &v, 8);
  }
  return id;
}

struct Trial {
  bool complete = false;
  std::string fallback;
  uint64_t round_trips = 0;
  uint64_t bytes_to_responder = 0, bytes_to_initiator = 0;
  uint64_t symbols = 0;
  double estimate = 0;  // the responder's estimate of the difference at the end
  double cpu_ms_initiator = 0, cpu_ms_responder = 0;
};

Trial RunSession(const sync::RibltSketch& a, const sync::RibltSketch& b,
                 const sync::RibltSessionOptions& options, std::vector<ItemId> a_only,
                 std::vector<ItemId> b_only) {
  Trial t;
  double a_cpu = 0, b_cpu = 0;
  double t0 = ThreadCpuSeconds();
  sync::RibltInitiator initiator(a, options);
  Bytes to_responder = initiator.Start();
  a_cpu += ThreadCpuSeconds() - t0;
  t0 = ThreadCpuSeconds();
  sync::RibltResponder responder(b, options);
  b_cpu += ThreadCpuSeconds() - t0;
  while (!to_responder.empty()) {
    t.bytes_to_responder += to_responder.size();
    t0 = ThreadCpuSeconds();
    Bytes reply = Check(responder.Receive(to_responder), "responder");
    b_cpu += ThreadCpuSeconds() - t0;
    ++t.round_trips;
    t.bytes_to_initiator += reply.size();
    t0 = ThreadCpuSeconds();
    to_responder = Check(initiator.Receive(reply), "initiator");
    a_cpu += ThreadCpuSeconds() - t0;
  }
  t.cpu_ms_initiator = a_cpu * 1e3;
  t.cpu_ms_responder = b_cpu * 1e3;
  t.symbols = responder.symbols_received();
  t.estimate = responder.estimated_difference();
  t.complete = initiator.outcome() == sync::RibltOutcome::kComplete;
  if (!t.complete) {
    Expect(initiator.outcome() == sync::RibltOutcome::kFallback, "the session ended");
    t.fallback = sync::FallbackReasonName(initiator.fallback_reason());
    return t;
  }
  std::sort(a_only.begin(), a_only.end());
  std::sort(b_only.begin(), b_only.end());
  // The initiator learns what it lacks and how many it holds that the responder lacks; the
  // responder learns the whole difference (and fetches its part in its own pull).
  Expect(initiator.need() == b_only && initiator.responder_lacks() == a_only.size(),
         "the initiator learned exactly what it lacks");
  Expect(responder.have() == b_only && responder.need() == a_only,
         "the responder learned exactly the difference");
  return t;
}

}  // namespace

Json RunReconcileRiblt(const ReconcileRibltOptions& o) {
  Expect(o.algo == "riblt", "--algo riblt");
  Expect(o.diff / 2 <= o.items, "--diff at most twice --items");
  Expect(o.capacity >= 1 && o.capacity <= sync::kMaxSketchCapacity, "--capacity in range");
  Expect(o.trials >= 1, "--trials at least 1");
  std::mt19937_64 rng(o.seed);
  const uint64_t a_extra = o.diff / 2, b_extra = o.diff - o.diff / 2;
  const uint64_t common = o.items - a_extra;

  std::vector<ItemId> shared;
  shared.reserve(common);
  for (uint64_t i = 0; i < common; ++i) shared.push_back(RandomId(rng));

  // What a live node pays per vertex to keep its sketch.
  sync::RibltSketch a(o.capacity), b(o.capacity);
  Progress progress("riblt sketch inserts", common);
  Stopwatch insert_clock;
  double insert_cpu = ThreadCpuSeconds();
  for (uint64_t i = 0; i < common; ++i) {
    a.Insert(shared[i]);
    if (i % 65536 == 0) progress.Update(i);
  }
  insert_cpu = ThreadCpuSeconds() - insert_cpu;
  const double insert_wall_s = insert_clock.Seconds();
  const double insert_ns = insert_cpu * 1e9 / static_cast<double>(std::max<uint64_t>(common, 1));
  progress.Update(common);
  b = a;

  // What a node without the kept sketch would pay per session (the slow path), and the
  // check that the kept sketch is right.
  Stopwatch scratch_clock;
  std::vector<sync::CodedSymbol> scratch = sync::EncodeRange(shared, 0, o.capacity);
  const double scratch_ms = scratch_clock.Ms();
  Expect(std::equal(scratch.begin(), scratch.end(), a.symbols().begin()),
         "the sketch kept on insert equals the one computed from scratch");
  shared.clear();
  shared.shrink_to_fit();

  sync::RibltSessionOptions options;
  options.initial_symbols = o.initial;
  options.estimate_counts = o.estimate_counts;
  options.max_symbols = o.capacity;
  options.overhead = o.overhead;

  std::vector<Trial> trials;
  for (uint64_t k = 0; k < o.trials; ++k) {
    std::vector<ItemId> a_only, b_only;
    for (uint64_t i = 0; i < a_extra; ++i) a_only.push_back(RandomId(rng));
    for (uint64_t i = 0; i < b_extra; ++i) b_only.push_back(RandomId(rng));
    for (const ItemId& id : a_only) a.Insert(id);
    for (const ItemId& id : b_only) b.Insert(id);
    trials.push_back(RunSession(a, b, options, a_only, b_only));
    // Back to the shared set for the next trial.
    for (const ItemId& id : a_only) a.Erase(id);
    for (const ItemId& id : b_only) b.Erase(id);
  }

  auto max_of = [&](auto field) {
    double m = 0;
    for (const Trial& t : trials) m = std::max(m, static_cast<double>(field(t)));
    return m;
  };
  auto mean_of = [&](auto field) {
    double s = 0;
    for (const Trial& t : trials) s += static_cast<double>(field(t));
    return s / static_cast<double>(trials.size());
  };
  auto bytes = [](const Trial& t) { return t.bytes_to_responder + t.bytes_to_initiator; };
  uint64_t completed = 0;
  std::string fallback;
  for (const Trial& t : trials) {
    completed += t.complete;
    if (!t.complete && fallback.empty()) fallback = t.fallback;
  }

  Json r;
  r["algo"] = "riblt";
  r["items"] = o.items;
  r["diff"] = o.diff;
  r["capacity"] = o.capacity;
  r["trials"] = o.trials;
  r["complete"] = completed == trials.size();
  r["completed_trials"] = completed;
  if (!fallback.empty()) r["fallback"] = fallback;
  r["round_trips"] = max_of([](const Trial& t) { return t.round_trips; });
  r["round_trips_mean"] = mean_of([](const Trial& t) { return t.round_trips; });
  // How many sessions took each number of round trips: the tail is what the goal is about.
  std::map<uint64_t, uint64_t> rounds;
  for (const Trial& t : trials) ++rounds[t.round_trips];
  Json histogram = Json::object();
  for (const auto& [n, sessions] : rounds) histogram[std::to_string(n)] = sessions;
  r["round_trips_sessions"] = histogram;
  r["share_within_2_round_trips"] =
      mean_of([](const Trial& t) { return t.complete && t.round_trips <= 2 ? 1 : 0; });
  r["bytes"] = max_of(bytes);
  r["share_within_100kb"] =
      mean_of([&](const Trial& t) { return t.complete && bytes(t) <= 100'000 ? 1 : 0; });
  r["bytes_mean"] = mean_of(bytes);
  r["bytes_initiator_to_responder"] = mean_of([](const Trial& t) { return t.bytes_to_responder; });
  r["bytes_responder_to_initiator"] = mean_of([](const Trial& t) { return t.bytes_to_initiator; });
  r["symbols_mean"] = mean_of([](const Trial& t) { return t.symbols; });
  if (o.diff > 0)
    r["symbols_per_diff"] =
        mean_of([](const Trial& t) { return t.symbols; }) / static_cast<double>(o.diff);
  r["estimate_mean"] = mean_of([](const Trial& t) { return t.estimate; });
  r["cpu_ms_initiator"] = max_of([](const Trial& t) { return t.cpu_ms_initiator; });
  r["cpu_ms_responder"] = max_of([](const Trial& t) { return t.cpu_ms_responder; });
  r["insert_ns_per_item"] = insert_ns;
  r["insert_wall_s"] = insert_wall_s;
  r["sketch_kib"] = static_cast<double>(o.capacity * sizeof(sync::CodedSymbol)) / 1024.0;
  r["sketch_from_scratch_ms"] = scratch_ms;
  r["load_average"] = LoadAverage();
  r["goal"] =
      "<= 2 round trips, <= 100 KB, < 20 ms CPU per side in every trial (at 1,000,000 items, "
      "1,000 diff)";
  const bool at_goal = o.items == 1'000'000 && o.diff == 1'000;
  r["goal_met"] =
      GoalVerdict(at_goal,
                  completed == trials.size() && r["round_trips"] <= 2 && r["bytes"] <= 100'000 &&
                      r["cpu_ms_initiator"] < 20 && r["cpu_ms_responder"] < 20,
                  "1,000,000 items, 1,000 diff");
  return r;
}

}  // namespace topo::bench
