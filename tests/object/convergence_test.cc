// The convergence property: random workloads on 8 replicas (concurrent branches, long chains,
// wide fans, every CRDT kind, and authors naming tags outside their causal past), then every
// vertex delivered to fresh replicas in forward, reverse, shuffled and duplicated orders.
// Every replica must end with the same state, frontier and projection tables.
//
// TOPO_CONVERGENCE_CASES (default 1000) sets the number of seeded cases; a failure prints
// its seed, and this reruns exactly that case:
//   TOPO_SEED=<seed> build/bin/test_object --gtest_filter='*ReplicaConvergence*'
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "object/replica.h"
#include "util/encoding.h"

namespace topo::object {
namespace {

constexpr int kShards = 8;
constexpr int kReplicas = 8;

uint64_t EnvU64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}

crypto::SigningKey KeyFor(uint64_t seed, int replica) {
  uint8_t s[32] = {};
  for (int i = 0; i < 8; ++i) s[i] = static_cast<uint8_t>(seed >> (8 * i));
  s[8] = static_cast<uint8_t>(replica);
  s[9] = 0x5a;
  return std::move(crypto::SigningKey::FromSeed(ByteView(s, 32))).value();
}

struct Node {
  ManualClock clock;
  std::unique_ptr<Replica> replica;
};

class Workload {
 public:
  explicit Workload(uint64_t seed) : seed_(seed), rng_(seed) {}

  // Returns an empty string when the case holds, else what went wrong.
  std::string Run() {
    for (int i = 0; i < kReplicas; ++i) {
      auto& n = nodes_.emplace_back(std::make_unique<Node>());
      // Clock skew of up to a minute either way; created_at must still grow along edges.
      n->clock.Set(1'700'000'000'000 + rng_() % 120'000);
      ReplicaOptions o;
      o.clock = &n->clock;
      o.verify_threads = 1;
      o.batch_size = 1 + rng_() % 64;
      auto r = Replica::Open(":memory:", KeyFor(seed_, i), o);
      if (!r.ok()) return "open: " + r.status().ToString();
      n->replica = std::move(r).value();
    }
    int steps = 30 + static_cast<int>(rng_() % 90);
    for (int s = 0; s < steps; ++s) {
      std::string err = Step();
      if (!err.empty()) return err;
    }
    // Everyone sends to replica 0, then 0 sends to everyone: the originals must converge.
    for (int a = 1; a < kReplicas; ++a) {
      std::string err = SyncAll(a, 0);
      if (!err.empty()) return err;
    }
    for (int b = 1; b < kReplicas; ++b) {
      std::string err = SyncAll(0, b);
      if (!err.empty()) return err;
    }
    auto ref = nodes_[0]->replica->Fingerprint();
    if (!ref.ok()) return "fingerprint: " + ref.status().ToString();
    for (int i = 1; i < kReplicas; ++i) {
      auto f = nodes_[i]->replica->Fingerprint();
      if (!f.ok() || *f != *ref) return "replica " + std::to_string(i) + " diverged after sync";
    }
    auto ref_dump = nodes_[0]->replica->ProjectionDump();

    // Every vertex, to fresh replicas, in four orders.
    std::vector<Bytes> all = AllVertices(0);
    std::vector<std::pair<std::string, std::vector<Bytes>>> orders;
    orders.push_back({"forward", all});
    orders.push_back({"reverse", std::vector<Bytes>(all.rbegin(), all.rend())});
    auto shuffled = all;
    std::shuffle(shuffled.begin(), shuffled.end(), rng_);
    orders.push_back({"shuffled", shuffled});
    auto dup = all;
    dup.insert(dup.end(), all.begin(), all.end());
    std::shuffle(dup.begin(), dup.end(), rng_);
    orders.push_back({"duplicated", dup});
    for (auto& [name, order] : orders) {
      ReplicaOptions o;
      o.verify_threads = 1 + static_cast<unsigned>(rng_() % 2);
      o.batch_size = 1 + rng_() % 200;
      auto fresh = Replica::Open(":memory:", KeyFor(seed_, 99), o);
      if (!fresh.ok()) return "open fresh";
      auto rep = (*fresh)->Ingest(order);
      if (!rep.ok()) return name + " ingest: " + rep.status().ToString();
      if (rep->stats.rejected || rep->stats.invalid)
        return name + ": rejected " + std::to_string(rep->stats.rejected) + " " +
               (rep->problems.empty() ? "" : rep->problems[0]);
      if (rep->stats.applied != all.size())
        return name + ": applied " + std::to_string(rep->stats.applied) + " of " +
               std::to_string(all.size());
      auto blocked = (*fresh)->graph_store().BlockedCount();
      if (!blocked.ok() || *blocked != 0) return name + ": vertices left blocked";
      auto f = (*fresh)->Fingerprint();
      if (!f.ok() || *f != *ref) {
        auto d = (*fresh)->ProjectionDump();
        return name + " order diverged\n--- reference\n" + *ref_dump + "--- " + name + "\n" + *d;
      }
      // The incremental projection equals one written from scratch from the state.
      if (name == "shuffled") {
        auto incremental = (*fresh)->ProjectionDump();
        Status s = (*fresh)->RebuildProjections().status();
        auto rebuilt = (*fresh)->ProjectionDump();
        if (!s.ok() || !incremental.ok() || !rebuilt.ok() || *incremental != *rebuilt)
          return "incremental projection differs from a rebuild\n--- incremental\n" +
                 *incremental + "--- rebuilt\n" + *rebuilt;
      }
    }
    total_vertices_ = all.size();
    return "";
  }

  size_t total_vertices() const { return total_vertices_; }
  const std::set<std::string>& kinds_used() const { return kinds_; }

 private:
  std::vector<Bytes> AllVertices(int i) {
    std::vector<Bytes> out;
    (void)nodes_[i]->replica->graph_store().ForEachVertex([&](ByteView raw) {
      out.emplace_back(raw.begin(), raw.end());
      return true;
    });
    return out;
  }

  // One-way sync: b ingests what a has (in a's arrival order, sometimes shuffled, sometimes
  // only a prefix, as an interrupted transfer would leave it).
  std::string Sync(int a, int b, bool complete = false) {
    // What b lacks, as reconciliation would find it, plus a few it has (duplicates).
    std::vector<Bytes> vs;
    for (auto& raw : AllVertices(a)) {
      auto id = crypto::Hash(codec::kVertexDomain,
                             ByteView(raw.data(), raw.size() - crypto::Signature::kSize));
      auto meta = nodes_[b]->replica->graph_store().GetMeta(id);
      if (!meta.ok()) return "sync: " + meta.status().ToString();
      if (!meta->has_value() || rng_() % 16 == 0) vs.push_back(std::move(raw));
    }
    switch (complete ? 3 : rng_() % 4) {
      case 0: std::shuffle(vs.begin(), vs.end(), rng_); break;
      case 1: vs.resize(vs.size() * (rng_() % 100) / 100); break;
      default: break;
    }
    auto r = nodes_[b]->replica->Ingest(std::move(vs));
    if (!r.ok()) return "sync ingest: " + r.status().ToString();
    if (r->stats.rejected || r->stats.invalid)
      return "sync rejected: " + (r->problems.empty() ? "?" : r->problems[0]);
    return "";
  }

  std::string Step() {
    int who = static_cast<int>(rng_() % kReplicas);
    Node& n = *nodes_[who];
    n.clock.Advance(rng_() % 50);
    uint64_t dice = rng_() % 100;
    auto objects = n.replica->ListObjects();
    if (!objects.ok()) return objects.status().ToString();
    if (objects->empty() || dice < 3) {
      static const char* kTypes[] = {"doc", "counter", "register", "mvregister",
                                     "set", "map", "list"};
      auto id = n.replica->CreateObject(kTypes[rng_() % 7]);
      if (!id.ok()) return "create: " + id.status().ToString();
      ids_.push_back(*id);
      return "";
    }
    if (dice < 20) return Sync(who, static_cast<int>(rng_() % kReplicas));
    // A burst of local ops: long chains when the burst is long, wide fans when several
    // replicas do this from the same frontier before syncing.
    int burst = dice < 30 ? 5 + static_cast<int>(rng_() % 20) : 1;
    const ObjectInfo& obj = (*objects)[rng_() % objects->size()];
    for (int k = 0; k < burst; ++k) {
      auto bp = n.replica->BlueprintOf(obj.id);
      if (!bp.ok()) return bp.status().ToString();
      uint32_t field = static_cast<uint32_t>(rng_() % (*bp)->fields.size());
      auto op = RandomOp(*n.replica, obj.id, FieldPrefix(field), (*bp)->fields[field].type, 0);
      if (!op.ok()) return "make op: " + op.status().ToString();
      auto v = n.replica->Submit(obj.id, field, *op);
      if (!v.ok()) return "submit: " + v.status().ToString();
      ids_.push_back(*v);
      n.clock.Advance(rng_() % 3);
    }
    return "";
  }

  // A complete one-way sync (no truncation).
  std::string SyncAll(int a, int b) { return Sync(a, b, true); }

  std::vector<codec::VertexId> RandomTags() {
    std::vector<codec::VertexId> tags;
    size_t n = 1 + rng_() % 3;
    for (size_t i = 0; i < n && !ids_.empty(); ++i) tags.push_back(ids_[rng_() % ids_.size()]);
    if (tags.empty()) tags.push_back(crypto::RandomFixed<32>());
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
    return tags;
  }

  Bytes SmallValue() { return ToBytes(std::string(1, static_cast<char>('a' + rng_() % 5))); }

  Result<CrdtOp> RandomOp(Replica& r, const codec::ObjectId& obj, const Bytes& prefix,
                          const FieldType& type, int depth) {
    auto& st = r.state();
    bool rogue = rng_() % 20 == 0;  // an author naming tags outside its causal past
    switch (type.kind) {
      case CrdtKind::kCounter:
        kinds_.insert("counter");
        return CrdtOp{codec::CounterAdd{static_cast<int64_t>(rng_() % 21) - 10}};
      case CrdtKind::kLwwRegister:
        kinds_.insert("lww");
        return CrdtOp{codec::LwwSet{SmallValue()}};
      case CrdtKind::kMvRegister:
        kinds_.insert("mv");
        if (rogue) return CrdtOp{codec::MvSet{SmallValue(), RandomTags()}};
        return MakeMvSet(st, obj, prefix, SmallValue());
      case CrdtKind::kOrSet: {
        kinds_.insert("set");
        Bytes e = SmallValue();
        if (rogue) return CrdtOp{codec::SetRemove{e, RandomTags()}};
        if (rng_() % 3 == 0) {
          auto rm = MakeSetRemove(st, obj, prefix, e);
          if (rm.ok()) return rm;
        }
        return CrdtOp{codec::SetAdd{e}};
      }
      case CrdtKind::kMap: {
        kinds_.insert("map");
        std::string key(1, static_cast<char>('k' + rng_() % 3));
        if (rogue) return CrdtOp{codec::MapRemove{key, RandomTags()}};
        if (rng_() % 5 == 0) {
          auto rm = MakeMapRemove(st, obj, prefix, key);
          if (rm.ok()) return rm;
        }
        TOPO_ASSIGN_OR_RETURN(auto inner, RandomOp(r, obj, MapValuePrefix(prefix, key),
                                                   *type.value, depth + 1));
        return codec::MakeMapUpdate(key, std::move(inner));
      }
      case CrdtKind::kLog:  // a log field belongs to an app blueprint, never a built-in one
        return Status::Internal("no log fields in built-in blueprints");
      case CrdtKind::kList: {
        kinds_.insert("list");
        TOPO_ASSIGN_OR_RETURN(auto cur, ReadList(st, obj, prefix));
        if (!cur.empty() && rng_() % 3 == 0) {
          size_t i = rng_() % cur.size();
          return MakeListDelete(st, obj, prefix, i, 1 + rng_() % std::min<size_t>(3, cur.size() - i));
        }
        std::vector<Bytes> vals;
        size_t n = 1 + rng_() % 4;
        for (size_t i = 0; i < n; ++i) vals.push_back(SmallValue());
        return MakeListInsert(st, obj, prefix, rng_() % (cur.size() + 1), std::move(vals));
      }
    }
    return Status::Internal("unknown kind");
  }

  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<codec::VertexId> ids_;
  std::set<std::string> kinds_;
  size_t total_vertices_ = 0;
};

class ReplicaConvergence : public ::testing::TestWithParam<int> {};

TEST_P(ReplicaConvergence, EveryDeliveryOrderGivesTheSameReplica) {
  const uint64_t only = EnvU64("TOPO_SEED", 0);
  const uint64_t cases = EnvU64("TOPO_CONVERGENCE_CASES", 1000);
  int shard = GetParam();
  std::set<std::string> kinds;
  size_t ran = 0, vertices = 0;
  for (uint64_t c = 0; c < cases; ++c) {
    if (static_cast<int>(c % kShards) != shard) continue;
    uint64_t seed = only ? only : 1000 + c;
    if (only && shard != 0) break;
    Workload w(seed);
    std::string err = w.Run();
    ASSERT_EQ(err, "") << "convergence case failed; rerun it with:\n  TOPO_SEED=" << seed
                       << " build/bin/test_object --gtest_filter='*ReplicaConvergence*'";
    kinds.insert(w.kinds_used().begin(), w.kinds_used().end());
    vertices += w.total_vertices();
    ++ran;
    if (only) break;
  }
  if (ran > 0 && !only) {
    // The workloads must actually exercise every CRDT kind, or the property says little.
    EXPECT_EQ(kinds.size(), 6u);
    EXPECT_GT(vertices, ran * 20);
  }
  std::printf("shard %d: %zu cases, %zu vertices\n", shard, ran, vertices);
}

INSTANTIATE_TEST_SUITE_P(Shards, ReplicaConvergence, ::testing::Range(0, kShards));

}  // namespace
}  // namespace topo::object
