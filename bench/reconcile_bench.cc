// topo-bench reconcile: see benches.h.
//
// Two sets of N items (timestamp, 32-byte random id) that differ in D items: D/2 only in the
// initiator's set, the rest only in the responder's. One algorithm reconciles them in this
// process, both sides on one thread, and prints its round trips, the bytes each way, the CPU
// time of each side, and whether it found exactly the difference.
//
// Each algorithm is one function from the two sets to its figures, listed in kAlgos; adding
// one is a function and a line there.
#include <algorithm>
#include <iostream>
#include <map>
#include <random>

#include "bench/benches.h"
#include "sync/negentropy.h"
#include "sync/range_index.h"
#include "sync/range_storage.h"

namespace topo::bench {
namespace {

using sync::Item;
using sync::ItemId;

struct ReconcileSets {
  std::vector<Item> a, b;              // initiator's and responder's items, unsorted
  std::vector<ItemId> only_a, only_b;  // the true difference, sorted
};

ReconcileSets MakeSets(const ReconcileOptions& o) {
  Expect(o.diff <= 2 * o.items, "--diff is at most twice --items");
  const uint64_t only_a = o.diff / 2, only_b = o.diff - o.diff / 2;
  const uint64_t common = o.items - std::min(o.items, only_b);
  std::mt19937_64 rng(o.seed);
  auto make = [&] {
    Item it;
    it.timestamp = 1'700'000'000 + rng() % std::max<uint64_t>(1, o.items);
    for (size_t i = 0; i < it.id.size(); i += 8) {
      const uint64_t v = rng();
      std::memcpy(it.id.data() + i, &v, 8);
    }
    return it;
  };
  ReconcileSets s;
  s.a.reserve(common + only_a);
  s.b.reserve(common + only_b);
  for (uint64_t i = 0; i < common; ++i) {
    Item it = make();
    s.a.push_back(it);
    s.b.push_back(it);
  }
  for (uint64_t i = 0; i < only_a; ++i) {
    s.a.push_back(make());
    s.only_a.push_back(s.a.back().id);
  }
  for (uint64_t i = 0; i < only_b; ++i) {
    s.b.push_back(make());
    s.only_b.push_back(s.b.back().id);
  }
  std::sort(s.only_a.begin(), s.only_a.end());
  std::sort(s.only_b.begin(), s.only_b.end());
  return s;
}

std::vector<ItemId> SortedUnique(std::vector<ItemId> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// The storage a negentropy side reads: the incremental index (what a node keeps), or the
// sorted vector built once.
struct NegentropySide {
  sync::RangeIndex index;
  sync::SortedVectorStorage vector;
  bool use_index = true;
  double build_ms = 0;

  const sync::RangeStorage& storage() const {
    return use_index ? static_cast<const sync::RangeStorage&>(index) : vector;
  }
};

void Build(NegentropySide& side, const std::vector<Item>& items, bool use_index) {
  side.use_index = use_index;
  Stopwatch clock;
  if (use_index) {
    for (const Item& it : items) Check(side.index.Insert(it), "index insert");
  } else {
    for (const Item& it : items) Check(side.vector.Insert(it), "vector insert");
    Check(side.vector.Seal(), "seal");
  }
  side.build_ms = clock.Ms();
}

// Mean time of one fingerprint of a random range: O(log N) on the index, O(range) on the
// sorted vector.
double RangeFingerprintMicros(const sync::RangeStorage& storage, int calls) {
  const uint64_t n = storage.Size();
  if (n == 0) return 0;
  std::mt19937_64 rng(7);
  volatile uint8_t sink = 0;  // keeps the calls from being optimised away
  Stopwatch clock;
  for (int i = 0; i < calls; ++i) {
    uint64_t x = rng() % (n + 1), y = rng() % (n + 1);
    if (x > y) std::swap(x, y);
    sink = sink ^ storage.RangeFingerprint(x, y).bytes[0];
  }
  return clock.Seconds() * 1e6 / calls;
}

Json RunNegentropy(const ReconcileSets& sets, const ReconcileOptions& o) {
  Expect(o.storage == "index" || o.storage == "vector", "--storage is index or vector");
  const bool use_index = o.storage == "index";
  std::cerr << "reconcile: building two " << o.storage << " storages of " << o.items << " items\n";
  NegentropySide a, b;
  Build(a, sets.a, use_index);
  Build(b, sets.b, use_index);

  auto client = Check(sync::Negentropy::Create(a.storage(), o.frame_limit), "initiator");
  auto server = Check(sync::Negentropy::Create(b.storage(), o.frame_limit), "responder");
  std::vector<ItemId> have, need;
  uint64_t round_trips = 0, bytes_up = 0, bytes_down = 0, largest = 0;
  double cpu_client = 0, cpu_server = 0;
  Stopwatch wall;

  double t0 = ThreadCpuSeconds();
  Bytes msg = client.Initiate();
  cpu_client += ThreadCpuSeconds() - t0;
  for (;;) {
    ++round_trips;
    bytes_up += msg.size();
    largest = std::max<uint64_t>(largest, msg.size());
    t0 = ThreadCpuSeconds();
    auto answer = Check(server.Reconcile(msg), "responder");
    cpu_server += ThreadCpuSeconds() - t0;
    Expect(answer.reply.has_value(), "the responder answers every message");
    bytes_down += answer.reply->size();
    largest = std::max<uint64_t>(largest, answer.reply->size());
    t0 = ThreadCpuSeconds();
    auto step = Check(client.Reconcile(*answer.reply), "initiator");
    cpu_client += ThreadCpuSeconds() - t0;
    have.insert(have.end(), step.have.begin(), step.have.end());
    need.insert(need.end(), step.need.begin(), step.need.end());
    if (!step.reply) break;
    msg = std::move(*step.reply);
    Expect(round_trips < 1'000'000, "reconciliation ends");
  }
  const double wall_ms = wall.Ms();
  const bool complete = SortedUnique(have) == sets.only_a && SortedUnique(need) == sets.only_b;
  Expect(complete, "have and need are exactly the difference");

  Json r;
  r["round_trips"] = round_trips;
  r["bytes"] = bytes_up + bytes_down;
  r["bytes_initiator_to_responder"] = bytes_up;
  r["bytes_responder_to_initiator"] = bytes_down;
  r["largest_message"] = largest;
  r["cpu_ms_initiator"] = cpu_client * 1e3;
  r["cpu_ms_responder"] = cpu_server * 1e3;
  r["wall_ms"] = wall_ms;
  r["complete"] = complete;
  r["storage"] = o.storage;
  r["build_ms_per_side"] = a.build_ms;
  r["inserts_per_s"] = sets.a.size() / (a.build_ms / 1e3);
  r["range_fingerprint_us"] = RangeFingerprintMicros(a.storage(), use_index ? 100'000 : 20);
  const bool at_goal = o.items == 1'000'000 && o.diff == 1000 && o.frame_limit == 0;
  // hoytech/negentropy's C++ at this size: 3 round trips, 1.35 MB (DESIGN-GUIDE.md, 7).
  r["goal"] = Json{
      {"reference", "3 round trips, 1.35 MB at 1,000,000 items, 1,000 differences"},
      {"target", "within 1.2x of both"},
      {"met", GoalVerdict(at_goal, round_trips <= 3 * 1.2 && bytes_up + bytes_down <= 1.35e6 * 1.2,
                          "1,000,000 items, 1,000 differences, no frame limit")}};
  return r;
}

using AlgoRun = Json (*)(const ReconcileSets&, const ReconcileOptions&);
const std::map<std::string, AlgoRun> kAlgos = {
    {"negentropy", RunNegentropy},
};

}  // namespace

Json RunReconcile(const ReconcileOptions& options) {
  auto algo = kAlgos.find(options.algo);
  if (algo == kAlgos.end()) {
    std::string known;
    for (const auto& [name, run] : kAlgos) known += (known.empty() ? "" : ", ") + name;
    throw Failure{"unknown --algo " + options.algo + " (known: " + known + ")"};
  }
  std::cerr << "reconcile: generating two sets of " << options.items << " items, " << options.diff
            << " differences\n";
  const ReconcileSets sets = MakeSets(options);
  Json r;
  r["algo"] = options.algo;
  r["items"] = options.items;
  r["diff"] = options.diff;
  r["frame_limit"] = options.frame_limit;
  r["seed"] = options.seed;
  const Json figures = algo->second(sets, options);
  for (const auto& [key, value] : figures.items()) r[key] = value;
  r["peak_rss_kb"] = PeakRssKb();
  r["load_average"] = LoadAverage();
  return r;
}

}  // namespace topo::bench
