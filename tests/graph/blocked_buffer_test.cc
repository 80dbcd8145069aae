// The Ingestor's in-memory buffer of blocked vertices (IngestorOptions::blocked_memory_bytes):
// whatever it holds, spills or forgets, the outcome of every delivery is the outcome without
// it. The reference is a budget of 0, with which every blocked vertex goes to the store at
// once, as before the buffer existed.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "graph/ingest.h"
#include "graph/mem_graph_store.h"
#include "store/database.h"
#include "store/sqlite_graph_store.h"
#include "testing/vertex_factory.h"
#include "util/encoding.h"

namespace topo::graph {
namespace {

using testing::VertexFactory;

constexpr size_t kUnbounded = size_t{1} << 40;

// Accepts every vertex whose payload does not start with "bad"; records the apply order.
class RecordingApplier : public Applier {
 public:
  Status Validate(const Vertex& v, std::span<const VertexMeta>) override {
    if (v.payload.size() >= 3 && std::equal(v.payload.begin(), v.payload.begin() + 3, "bad"))
      return Status::Rejected("payload says bad");
    return Status::Ok();
  }
  Status Apply(const Vertex& v) override {
    order.push_back(v.id);
    return Status::Ok();
  }
  std::vector<VertexId> order;
};

Vertex WithRefs(VertexFactory& f, Vertex v, std::vector<VertexId> refs) {
  v.refs = std::move(refs);
  EXPECT_TRUE(codec::SignVertex(v, f.key()).ok());
  return v;
}

// ---- a random graph over three objects, with refs across objects and rejected vertices ----

struct Graph {
  std::vector<Vertex> vertices;  // parents (and refs) first
  std::vector<ObjectId> objects;
};

Graph RandomGraph(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  VertexFactory f1(seed * 2 + 1), f2(seed * 2 + 2);
  Graph g;
  // Indexes into g.vertices, per object: `clean` ones can apply; `tainted` ones are bad or
  // descend from a bad one (by a parent or a ref), and only tainted vertices extend them, so
  // rejection reaches descendants in several objects without swallowing every object.
  std::vector<std::vector<size_t>> clean, tainted;
  for (const char* name : {"one", "two", "three"}) {
    g.vertices.push_back(f1.Genesis(name));
    g.objects.push_back(g.vertices.back().id);
    clean.push_back({g.vertices.size() - 1});
    tainted.emplace_back();
  }
  auto recent = [&](const std::vector<size_t>& of) {
    // Mostly recent vertices, so chains are long and shuffles block a lot.
    size_t back = std::min<size_t>(of.size(), 1 + rng() % 6);
    return of[of.size() - back];
  };
  for (int i = 0; i < n; ++i) {
    VertexFactory& f = i % 2 ? f1 : f2;
    const size_t o = rng() % clean.size();
    std::vector<const Vertex*> ps;
    bool taint = !tainted[o].empty() && rng() % 6 == 0;
    if (taint) ps.push_back(&g.vertices[recent(tainted[o])]);
    for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k)
      ps.push_back(&g.vertices[recent(clean[o])]);
    std::sort(ps.begin(), ps.end());
    ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
    // One in twenty breaks a rule.
    const bool bad = rng() % 20 == 0;
    Vertex v = f.Child(ps, bad ? "bad" : "op");
    if (rng() % 5 == 0) {
      // Refs to one or two vertices of other objects, now and then a tainted one.
      std::vector<VertexId> refs;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 2); ++k) {
        size_t other = (o + 1 + rng() % (clean.size() - 1)) % clean.size();
        if (!tainted[other].empty() && rng() % 4 == 0) {
          refs.push_back(g.vertices[recent(tainted[other])].id);
          taint = true;
        } else {
          refs.push_back(g.vertices[clean[other][rng() % clean[other].size()]].id);
        }
      }
      std::sort(refs.begin(), refs.end());
      refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
      v = WithRefs(f, std::move(v), std::move(refs));
    }
    g.vertices.push_back(std::move(v));
    (bad || taint ? tainted : clean)[o].push_back(g.vertices.size() - 1);
  }
  return g;
}

// The delivery orders the equivalence test runs. Some vertices are left out of every order
// but the first, so that their descendants end blocked.
std::vector<std::pair<std::string, std::vector<Bytes>>> Deliveries(const Graph& g, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Bytes> all;
  for (const auto& v : g.vertices) all.push_back(codec::EncodeVertex(v));
  // Three vertices near the end never arrive.
  std::vector<Bytes> some = all;
  for (int k = 0; k < 3; ++k)
    some.erase(some.end() - 1 - static_cast<std::ptrdiff_t>(rng() % (some.size() / 8)));
  // Invalid items (refused, never recorded) mixed in: garbage and a forged signature.
  Bytes forged = all[all.size() / 2];
  forged[forged.size() - 3] ^= 1;
  some.insert(some.begin() + static_cast<std::ptrdiff_t>(some.size() / 3), Bytes{1, 2, 3});
  some.insert(some.begin() + static_cast<std::ptrdiff_t>(some.size() / 2), forged);

  std::vector<std::pair<std::string, std::vector<Bytes>>> out;
  out.push_back({"forward", all});
  out.push_back({"reverse", {all.rbegin(), all.rend()}});
  auto shuffled = some;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  out.push_back({"shuffled", shuffled});
  auto windowed = some;
  for (size_t b = 0; b < windowed.size(); b += 40)
    std::shuffle(windowed.begin() + static_cast<std::ptrdiff_t>(b),
                 windowed.begin() + static_cast<std::ptrdiff_t>(std::min(windowed.size(), b + 40)),
                 rng);
  out.push_back({"windowed", windowed});
  auto dup = some;
  dup.insert(dup.end(), some.begin(), some.end());
  std::shuffle(dup.begin(), dup.end(), rng);
  out.push_back({"duplicated", dup});
  // Reversed, then all again in reverse: duplicates of blocked vertices.
  std::vector<Bytes> late_dup(some.rbegin(), some.rend());
  late_dup.insert(late_dup.end(), some.rbegin(), some.rend());
  out.push_back({"reverse twice", late_dup});
  return out;
}

// Everything a delivery is observed by.
struct Observed {
  std::vector<std::string> items;  // per delivered item: outcome, id, reason
  IngestStats stats;
  std::vector<VertexId> apply_order;
  std::vector<std::string> fate;  // per vertex of the graph: applied, rejected (why), blocked
  std::vector<std::vector<VertexId>> heads;  // per object
  uint64_t blocked = 0;
  uint64_t spilled_peak = 0;  // most vertices the store held as blocked mid-delivery
  uint64_t buffered_peak = 0;
};

std::string Describe(const IngestStats& s) {
  return "applied " + std::to_string(s.applied) + " cascaded " + std::to_string(s.cascaded) +
         " duplicate " + std::to_string(s.duplicate) + " blocked " + std::to_string(s.blocked) +
         " rejected " + std::to_string(s.rejected) + " invalid " + std::to_string(s.invalid);
}

// Where blocked vertices may be kept, and how deliveries are cut.
struct Config {
  bool sqlite = false;
  size_t budget = 0;
  size_t call_size = 0;  // items per call; the buffer is flushed at the end of each (0: one)
  size_t txn_size = 0;   // items per transaction within a call (SQLite only; 0: the call)
  std::string Name() const {
    return std::string(sqlite ? "sqlite" : "mem") + " budget " + std::to_string(budget) + " call " +
           std::to_string(call_size) + " txn " + std::to_string(txn_size);
  }
};

// Runs `delivery` through an Ingestor as the owner is meant to drive one: Ingest() in
// transactions, Flush() before the last commit of each call.
Observed Deliver(const Graph& g, const std::vector<Prepared>& delivery, const Config& config) {
  std::unique_ptr<store::Database> db;
  std::unique_ptr<GraphStore> store;
  if (config.sqlite) {
    db = std::move(store::Database::Open(":memory:")).value();
    store = std::make_unique<store::SqliteGraphStore>(*db);
  } else {
    store = std::make_unique<MemGraphStore>();
  }
  RecordingApplier applier;
  Ingestor ingestor(*store, applier, IngestorOptions{config.budget});
  Observed out;

  const size_t call = config.call_size ? config.call_size : delivery.size();
  for (size_t begin = 0; begin < delivery.size(); begin += call) {
    const size_t end = std::min(delivery.size(), begin + call);
    const size_t txn = config.txn_size ? config.txn_size : end - begin;
    for (size_t t = begin; t < end; t += txn) {
      const size_t t_end = std::min(end, t + txn);
      if (db) {
        EXPECT_TRUE(db->Begin().ok());
      }
      for (size_t i = t; i < t_end; ++i) {
        auto r = ingestor.Ingest(delivery[i]);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        if (!r.ok()) return out;
        out.items.push_back(std::string(OutcomeName(r->outcome)) + " " + HexEncodeShort(r->id) +
                            " " + r->reason);
        out.buffered_peak = std::max<uint64_t>(out.buffered_peak, ingestor.buffered_count());
        out.spilled_peak = std::max(out.spilled_peak, *store->BlockedCount());
        EXPECT_LE(ingestor.buffered_bytes(), config.budget);
      }
      if (t_end == end) {
        EXPECT_TRUE(ingestor.Flush().ok());
      }
      if (db) {
        EXPECT_TRUE(db->Commit().ok());
      }
    }
    EXPECT_EQ(ingestor.buffered_count(), 0u);
  }

  out.stats = ingestor.stats();
  out.apply_order = applier.order;
  for (const auto& v : g.vertices) {
    if (store->GetMeta(v.id)->has_value()) {
      out.fate.push_back("applied");
    } else if (auto why = *store->RejectedReason(v.id)) {
      out.fate.push_back("rejected: " + *why);
    } else if (*store->IsBlocked(v.id)) {
      out.fate.push_back("blocked");
    } else {
      out.fate.push_back("absent");
    }
  }
  for (const auto& o : g.objects) out.heads.push_back(*store->Heads(o));
  out.blocked = *ingestor.BlockedCount();
  EXPECT_EQ(out.blocked, *store->BlockedCount()) << "flushed, the store holds every one";
  return out;
}

void ExpectSame(const Observed& want, const Observed& got) {
  ASSERT_EQ(want.items.size(), got.items.size());
  for (size_t i = 0; i < want.items.size(); ++i)
    ASSERT_EQ(want.items[i], got.items[i]) << "item " << i;
  EXPECT_EQ(Describe(want.stats), Describe(got.stats));
  EXPECT_EQ(want.apply_order, got.apply_order) << "the apply order differs";
  ASSERT_EQ(want.fate.size(), got.fate.size());
  for (size_t i = 0; i < want.fate.size(); ++i)
    EXPECT_EQ(want.fate[i], got.fate[i]) << "vertex " << i;
  EXPECT_EQ(want.heads, got.heads);
  EXPECT_EQ(want.blocked, got.blocked);
}

TEST(BlockedBuffer, OutcomesDoNotDependOnTheBuffer) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const Graph g = RandomGraph(seed, 300);
    for (auto& [order, raws] : Deliveries(g, seed)) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ", " + order);
      const std::vector<Prepared> delivery = PrepareAll(std::move(raws));
      const Observed ref = Deliver(g, delivery, Config{});
      // The delivery is not trivial: vertices block, cascade and are rejected.
      if (order != "forward") {
        EXPECT_GT(ref.stats.cascaded, 100u) << Describe(ref.stats);
      }
      EXPECT_GT(ref.stats.rejected, 3u) << Describe(ref.stats);
      if (order != "forward" && order != "reverse") {
        EXPECT_GT(ref.blocked, 0u) << Describe(ref.stats);
      }
      bool spilled_some = false, buffered_all = false;
      for (bool sqlite : {false, true})
        for (size_t budget : {size_t{0}, size_t{1}, size_t{2000}, size_t{20000}, kUnbounded})
          for (auto [call, txn] : {std::pair<size_t, size_t>{0, 0}, {37, 0}, {100, 16}}) {
            if (!sqlite && txn) continue;  // MemGraphStore has no transactions
            Config s{sqlite, budget, call, txn};
            SCOPED_TRACE(s.Name());
            const Observed got = Deliver(g, delivery, s);
            ExpectSame(ref, got);
            if (::testing::Test::HasFatalFailure()) return;
            if (budget == 2000 && got.buffered_peak > 0 && got.spilled_peak > 0)
              spilled_some = true;
            if (budget == kUnbounded && call == 0 && got.buffered_peak > 0 && got.spilled_peak == 0)
              buffered_all = true;
          }
      if (order != "forward") {
        EXPECT_TRUE(spilled_some) << "no run both buffered and spilled";
        EXPECT_TRUE(buffered_all) << "no run kept every blocked vertex in memory";
      }
    }
  }
}

// ---- single behaviours ----

struct Fixture {
  explicit Fixture(size_t budget = kUnbounded) : ingestor(store, applier, {budget}) {}
  MemGraphStore store;
  RecordingApplier applier;
  Ingestor ingestor;
  ItemResult Put(const Vertex& v) {
    auto r = ingestor.Ingest(Prepare(codec::EncodeVertex(v)));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }
  uint64_t Stored() { return *store.BlockedCount(); }
};

TEST(BlockedBuffer, BlockedVerticesWaitInMemoryAndAreDuplicatesThere) {
  VertexFactory f;
  auto g = f.Genesis();
  auto a = f.Child({&g});
  auto b = f.Child({&a});
  Fixture fx;
  EXPECT_EQ(fx.Put(b).outcome, Outcome::kBlocked);
  EXPECT_EQ(fx.Put(a).outcome, Outcome::kBlocked);
  EXPECT_EQ(fx.ingestor.buffered_count(), 2u);
  EXPECT_GT(fx.ingestor.buffered_bytes(), 2 * codec::EncodeVertex(b).size());
  EXPECT_EQ(fx.Stored(), 0u);
  EXPECT_EQ(*fx.ingestor.BlockedCount(), 2u);
  EXPECT_EQ(fx.Put(b).outcome, Outcome::kDuplicate);
  EXPECT_EQ(fx.Put(g).outcome, Outcome::kApplied);
  EXPECT_EQ(fx.ingestor.buffered_count(), 0u);
  EXPECT_EQ(fx.ingestor.buffered_bytes(), 0u);
  EXPECT_EQ(fx.applier.order, (std::vector<VertexId>{g.id, a.id, b.id}));
  EXPECT_EQ(fx.ingestor.stats().cascaded, 2u);
}

TEST(BlockedBuffer, FlushedVerticesCascadeFromTheStoreInALaterCall) {
  VertexFactory f;
  auto g = f.Genesis();
  auto a = f.Child({&g});
  auto b = f.Child({&a});
  auto c = f.Child({&b});
  auto d = f.Child({&c});
  Fixture fx;
  // First call: c and b wait in memory, then the call ends and they are flushed.
  fx.Put(c);
  fx.Put(b);
  ASSERT_TRUE(fx.ingestor.Flush().ok());
  EXPECT_EQ(fx.ingestor.buffered_count(), 0u);
  EXPECT_EQ(fx.ingestor.buffered_bytes(), 0u);
  EXPECT_EQ(fx.Stored(), 2u);
  EXPECT_EQ(fx.Put(c).outcome, Outcome::kDuplicate);  // found in the store now
  // Second call: d waits in memory on c, which waits in the store; a waits in memory.
  EXPECT_EQ(fx.Put(d).outcome, Outcome::kBlocked);
  EXPECT_EQ(fx.Put(a).outcome, Outcome::kBlocked);
  EXPECT_EQ(fx.ingestor.buffered_count(), 2u);
  EXPECT_EQ(*fx.ingestor.BlockedCount(), 4u);
  // g releases a (memory), b and c (store), then d (memory), in causal order.
  EXPECT_EQ(fx.Put(g).outcome, Outcome::kApplied);
  EXPECT_EQ(fx.applier.order, (std::vector<VertexId>{g.id, a.id, b.id, c.id, d.id}));
  EXPECT_EQ(*fx.ingestor.BlockedCount(), 0u);
  EXPECT_EQ(fx.ingestor.stats().cascaded, 4u);
}

TEST(BlockedBuffer, RejectionReachesDependentsInMemoryAndInTheStore) {
  for (size_t budget : {size_t{0}, kUnbounded}) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    VertexFactory f;
    auto g = f.Genesis();
    auto bad = f.Child({&g}, "bad");
    auto c1 = f.Child({&bad});
    auto c2 = f.Child({&bad});
    auto gc1 = f.Child({&c1});
    auto gc2 = f.Child({&c2});
    auto h = f.Genesis("other");
    auto r = WithRefs(f, f.Child({&h}), {c2.id});  // another object, waiting by a ref
    Fixture fx(budget);
    fx.Put(c1);
    fx.Put(gc2);
    ASSERT_TRUE(fx.ingestor.Flush().ok());  // c1 and gc2 wait in the store
    fx.Put(h);
    fx.Put(c2);
    fx.Put(gc1);
    fx.Put(r);  // c2, gc1 and r wait in memory (with a budget)
    EXPECT_EQ(fx.ingestor.buffered_count(), budget ? 3u : 0u);
    EXPECT_EQ(*fx.ingestor.BlockedCount(), 5u);
    fx.Put(g);
    EXPECT_EQ(fx.Put(bad).outcome, Outcome::kRejected);
    EXPECT_EQ(*fx.ingestor.BlockedCount(), 0u);
    EXPECT_EQ(fx.ingestor.buffered_count(), 0u);
    EXPECT_EQ(fx.ingestor.stats().rejected, 6u);
    auto reason = [&](const Vertex& v) { return fx.store.RejectedReason(v.id)->value_or("-"); };
    EXPECT_EQ(reason(c1), "depends on rejected vertex " + HexEncodeShort(bad.id));
    EXPECT_EQ(reason(c2), "depends on rejected vertex " + HexEncodeShort(bad.id));
    EXPECT_EQ(reason(gc1), "depends on rejected vertex " + HexEncodeShort(c1.id));
    EXPECT_EQ(reason(gc2), "depends on rejected vertex " + HexEncodeShort(c2.id));
    EXPECT_EQ(reason(r), "depends on rejected vertex " + HexEncodeShort(c2.id));
    // Arriving again, they are duplicates of rejected vertices, wherever they waited.
    for (const Vertex* v : {&c1, &c2, &gc1, &gc2, &r})
      EXPECT_EQ(fx.Put(*v).outcome, Outcome::kDuplicate);
    EXPECT_EQ(fx.applier.order, (std::vector<VertexId>{h.id, g.id}));
  }
}

TEST(BlockedBuffer, OverBudgetTheOldestSpillToTheStore) {
  VertexFactory f;
  std::vector<Vertex> chain{f.Genesis()};
  for (int i = 0; i < 10; ++i) chain.push_back(f.Child({&chain.back()}));
  // Measure one vertex's share, then allow three.
  size_t each;
  {
    Fixture probe;
    probe.Put(chain[5]);
    each = probe.ingestor.buffered_bytes();
    ASSERT_GT(each, 0u);
  }
  Fixture fx(3 * each + each / 2);
  for (size_t i = chain.size(); i-- > 1;) {
    EXPECT_EQ(fx.Put(chain[i]).outcome, Outcome::kBlocked);
    EXPECT_LE(fx.ingestor.buffered_bytes(), 3 * each + each / 2);
    EXPECT_EQ(fx.Stored() + fx.ingestor.buffered_count(), chain.size() - i);
  }
  EXPECT_EQ(fx.ingestor.buffered_count(), 3u);
  EXPECT_EQ(fx.Stored(), 7u);
  // Delivered last to first: the first delivered (the chain's end) went to the store.
  for (size_t i = 1; i < chain.size(); ++i) EXPECT_EQ(*fx.store.IsBlocked(chain[i].id), i > 3) << i;
  EXPECT_EQ(fx.Put(chain[0]).outcome, Outcome::kApplied);
  ASSERT_EQ(fx.applier.order.size(), chain.size());
  for (size_t i = 0; i < chain.size(); ++i) EXPECT_EQ(fx.applier.order[i], chain[i].id);
  EXPECT_EQ(*fx.ingestor.BlockedCount(), 0u);
  EXPECT_EQ(fx.ingestor.buffered_bytes(), 0u);
}

TEST(BlockedBuffer, AVertexLargerThanTheBudgetGoesStraightToTheStore) {
  VertexFactory f;
  auto g = f.Genesis();
  auto a = f.Child({&g});
  auto small = f.Child({&a});
  auto big = f.Child({&a}, std::string(5000, 'x'));
  Fixture fx(4000);
  fx.Put(small);
  fx.Put(big);
  EXPECT_EQ(fx.ingestor.buffered_count(), 1u);  // the small one stays in memory
  EXPECT_TRUE(*fx.store.IsBlocked(big.id));
  EXPECT_FALSE(*fx.store.IsBlocked(small.id));
  fx.Put(g);
  fx.Put(a);
  EXPECT_EQ(fx.applier.order.size(), 4u);
  EXPECT_EQ(*fx.ingestor.BlockedCount(), 0u);
}

TEST(BlockedBuffer, DiscardForgetsBufferedVertices) {
  VertexFactory f;
  auto g = f.Genesis();
  auto a = f.Child({&g});
  auto b = f.Child({&a});
  auto c = f.Child({&b});
  Fixture fx;
  fx.Put(c);
  ASSERT_TRUE(fx.ingestor.Flush().ok());  // c is durable
  fx.Put(b);
  fx.Put(a);
  fx.ingestor.DiscardBuffer();
  EXPECT_EQ(fx.ingestor.buffered_count(), 0u);
  EXPECT_EQ(fx.ingestor.buffered_bytes(), 0u);
  EXPECT_EQ(*fx.ingestor.BlockedCount(), 1u);
  // a and b are absent, as if never received: g applies alone, and they arrive anew.
  EXPECT_EQ(fx.Put(g).outcome, Outcome::kApplied);
  EXPECT_EQ(fx.applier.order.size(), 1u);
  EXPECT_EQ(fx.Put(b).outcome, Outcome::kBlocked);
  EXPECT_EQ(fx.Put(c).outcome, Outcome::kDuplicate);
  EXPECT_EQ(fx.Put(a).outcome, Outcome::kApplied);
  EXPECT_EQ(fx.applier.order, (std::vector<VertexId>{g.id, a.id, b.id, c.id}));
  EXPECT_EQ(*fx.ingestor.BlockedCount(), 0u);
}

// The owner's side of the contract over SQLite: a rollback undoes what the transaction did in
// the store (a spill, an apply), DiscardBuffer() what it did in memory; re-delivery completes.
TEST(BlockedBuffer, RollbackThenDiscardThenRedeliveryCompletes) {
  VertexFactory f;
  std::vector<Vertex> chain{f.Genesis()};
  for (int i = 0; i < 6; ++i) chain.push_back(f.Child({&chain.back()}));
  auto db = std::move(store::Database::Open(":memory:")).value();
  store::SqliteGraphStore store(*db);
  RecordingApplier applier;
  size_t each;
  {
    MemGraphStore mem;
    Ingestor probe(mem, applier);
    ASSERT_TRUE(probe.Ingest(Prepare(codec::EncodeVertex(chain[3]))).ok());
    each = probe.buffered_bytes();
  }
  Ingestor ingestor(store, applier, {2 * each + each / 2});  // room for two
  auto put = [&](const Vertex& v) {
    auto r = ingestor.Ingest(Prepare(codec::EncodeVertex(v)));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->outcome : Outcome::kInvalid;
  };

  // A committed transaction leaves chain[6] in memory (not yet flushed).
  ASSERT_TRUE(db->Begin().ok());
  EXPECT_EQ(put(chain[6]), Outcome::kBlocked);
  ASSERT_TRUE(db->Commit().ok());
  // The next one buffers two more (spilling chain[6] into the store), applies the genesis,
  // and rolls back.
  ASSERT_TRUE(db->Begin().ok());
  EXPECT_EQ(put(chain[5]), Outcome::kBlocked);
  EXPECT_EQ(put(chain[4]), Outcome::kBlocked);
  EXPECT_EQ(*store.BlockedCount(), 1u);
  EXPECT_EQ(put(chain[0]), Outcome::kApplied);
  ASSERT_TRUE(db->Rollback().ok());
  ingestor.DiscardBuffer();
  EXPECT_EQ(*ingestor.BlockedCount(), 0u);
  EXPECT_FALSE(store.GetMeta(chain[0].id)->has_value());

  // Everything is absent: delivered again, in reverse, it all applies.
  applier.order.clear();
  ASSERT_TRUE(db->Begin().ok());
  for (size_t i = chain.size(); i-- > 0;)
    EXPECT_EQ(put(chain[i]), i ? Outcome::kBlocked : Outcome::kApplied) << i;
  ASSERT_TRUE(ingestor.Flush().ok());
  ASSERT_TRUE(db->Commit().ok());
  ASSERT_EQ(applier.order.size(), chain.size());
  for (size_t i = 0; i < chain.size(); ++i) EXPECT_EQ(applier.order[i], chain[i].id);
  EXPECT_EQ(*ingestor.BlockedCount(), 0u);
}

// A flushed vertex is durable: a new Ingestor over the same store (a restart) finds it.
TEST(BlockedBuffer, FlushedVerticesSurviveTheIngestor) {
  VertexFactory f;
  auto g = f.Genesis();
  auto a = f.Child({&g});
  auto b = f.Child({&a});
  MemGraphStore store;
  RecordingApplier applier;
  {
    Ingestor first(store, applier);
    ASSERT_TRUE(first.Ingest(Prepare(codec::EncodeVertex(b))).ok());
    ASSERT_TRUE(first.Ingest(Prepare(codec::EncodeVertex(a))).ok());
    ASSERT_TRUE(first.Flush().ok());
  }
  Ingestor second(store, applier);
  EXPECT_EQ(*second.BlockedCount(), 2u);
  auto r = second.Ingest(Prepare(codec::EncodeVertex(g)));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, Outcome::kApplied);
  EXPECT_EQ(applier.order, (std::vector<VertexId>{g.id, a.id, b.id}));
}

TEST(BlockedBuffer, DeepChainInReverseCascadesIterativelyFromMemory) {
  // Deep enough that a recursive cascade would exhaust the stack under sanitizers; every
  // vertex waits in memory.
  VertexFactory f;
  std::vector<Vertex> chain{f.Genesis()};
  for (int i = 0; i < 30000; ++i) chain.push_back(f.Child({&chain.back()}));
  Fixture fx(kUnbounded);
  for (size_t i = chain.size(); i-- > 1;) fx.Put(chain[i]);
  EXPECT_EQ(fx.ingestor.buffered_count(), 30000u);
  EXPECT_EQ(fx.Stored(), 0u);
  EXPECT_EQ(fx.Put(chain[0]).outcome, Outcome::kApplied);
  EXPECT_EQ(fx.store.applied_count(), chain.size());
  EXPECT_EQ(fx.ingestor.stats().cascaded, 30000u);
  EXPECT_EQ(fx.ingestor.buffered_count(), 0u);
  EXPECT_EQ(fx.ingestor.buffered_bytes(), 0u);
  ASSERT_EQ(fx.applier.order.size(), chain.size());
  for (size_t i = 0; i < chain.size(); i += 997) EXPECT_EQ(fx.applier.order[i], chain[i].id);
}

}  // namespace
}  // namespace topo::graph
