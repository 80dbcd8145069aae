#include "graph/ingest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "graph/causal.h"
#include "graph/mem_graph_store.h"
#include "testing/vertex_factory.h"

namespace topo::graph {
namespace {

using testing::VertexFactory;

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

struct Fixture {
  explicit Fixture(IngestorOptions options = {}) : ingestor(store, applier, options) {}
  MemGraphStore store;
  RecordingApplier applier;
  Ingestor ingestor;
  ItemResult Put(const Vertex& v) {
    auto r = ingestor.Ingest(Prepare(codec::EncodeVertex(v)));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }
  uint64_t Blocked() { return *ingestor.BlockedCount(); }
};

// Every test below runs with blocked vertices written to the store at once (a budget of 0)
// and with the default in-memory buffer: the outcomes must not depend on it.
class IngestTest : public ::testing::TestWithParam<size_t> {
 protected:
  static IngestorOptions Options() { return IngestorOptions{GetParam()}; }
};

INSTANTIATE_TEST_SUITE_P(Buffer, IngestTest,
                         ::testing::Values(size_t{0}, IngestorOptions{}.blocked_memory_bytes),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return info.param == 0 ? std::string("StoreOnly")
                                                  : std::string("Buffered");
                         });

TEST_P(IngestTest, ChainInReverseCascadesInCausalOrder) {
  VertexFactory f;
  std::vector<Vertex> chain{f.Genesis()};
  for (int i = 0; i < 2000; ++i) chain.push_back(f.Child({&chain.back()}));
  Fixture fx(Options());
  for (size_t i = chain.size(); i-- > 1;) EXPECT_EQ(fx.Put(chain[i]).outcome, Outcome::kBlocked);
  EXPECT_EQ(fx.Blocked(), 2000u);
  EXPECT_EQ(fx.Put(chain[0]).outcome, Outcome::kApplied);
  EXPECT_EQ(fx.Blocked(), 0u);
  EXPECT_EQ(fx.ingestor.stats().applied, 2001u);
  EXPECT_EQ(fx.ingestor.stats().cascaded, 2000u);
  ASSERT_EQ(fx.applier.order.size(), chain.size());
  for (size_t i = 0; i < chain.size(); ++i) EXPECT_EQ(fx.applier.order[i], chain[i].id);
  auto heads = *fx.store.Heads(chain[0].id);
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(heads[0], chain.back().id);
}

TEST_P(IngestTest, LongChainCascadeIsIterative) {
  // Deep enough that a recursive cascade would exhaust the stack under sanitizers.
  VertexFactory f;
  std::vector<Vertex> chain{f.Genesis()};
  for (int i = 0; i < 30000; ++i) chain.push_back(f.Child({&chain.back()}));
  Fixture fx(Options());
  for (size_t i = chain.size(); i-- > 1;) fx.Put(chain[i]);
  EXPECT_EQ(fx.Put(chain[0]).outcome, Outcome::kApplied);
  EXPECT_EQ(fx.store.applied_count(), chain.size());
}

TEST_P(IngestTest, DuplicatesAreRecognisedInEveryState) {
  VertexFactory f;
  auto g = f.Genesis();
  auto a = f.Child({&g});
  auto b = f.Child({&a});
  Fixture fx(Options());
  EXPECT_EQ(fx.Put(b).outcome, Outcome::kBlocked);
  EXPECT_EQ(fx.Put(b).outcome, Outcome::kDuplicate);  // blocked, stored once
  EXPECT_EQ(fx.Blocked(), 1u);
  fx.Put(g);
  fx.Put(a);
  EXPECT_EQ(fx.Put(a).outcome, Outcome::kDuplicate);
  EXPECT_EQ(fx.Put(b).outcome, Outcome::kDuplicate);
  EXPECT_EQ(fx.applier.order.size(), 3u);
}

TEST_P(IngestTest, RejectionIsDurableAndCascadesToDescendants) {
  VertexFactory f;
  auto g = f.Genesis();
  auto bad = f.Child({&g}, "bad");
  auto child = f.Child({&bad});
  auto grandchild = f.Child({&child});
  Fixture fx(Options());
  EXPECT_EQ(fx.Put(grandchild).outcome, Outcome::kBlocked);
  EXPECT_EQ(fx.Put(child).outcome, Outcome::kBlocked);
  fx.Put(g);
  auto r = fx.Put(bad);
  EXPECT_EQ(r.outcome, Outcome::kRejected);
  EXPECT_EQ(r.reason, "payload says bad");
  EXPECT_EQ(fx.Blocked(), 0u);
  EXPECT_TRUE(fx.store.RejectedReason(child.id)->has_value());
  EXPECT_TRUE(fx.store.RejectedReason(grandchild.id)->has_value());
  // Arriving again, none is validated again.
  auto again = fx.Put(bad);
  EXPECT_EQ(again.outcome, Outcome::kDuplicate);
  EXPECT_NE(again.reason.find("previously rejected"), std::string::npos);
  // A new child of a rejected vertex is rejected at once.
  auto late = f.Child({&bad});
  EXPECT_EQ(fx.Put(late).outcome, Outcome::kRejected);
  EXPECT_EQ(fx.applier.order.size(), 1u);
}

TEST_P(IngestTest, BadSignatureIsRefusedButNotRecorded) {
  VertexFactory f;
  auto g = f.Genesis();
  auto forged = g;
  forged.signature.bytes[5] ^= 1;
  Fixture fx(Options());
  auto r = fx.Put(forged);
  EXPECT_EQ(r.outcome, Outcome::kInvalid);
  EXPECT_NE(r.reason.find("signature"), std::string::npos);
  // The genuine vertex with the same id still applies: the forgery poisoned nothing.
  EXPECT_EQ(fx.Put(g).outcome, Outcome::kApplied);
}

TEST_P(IngestTest, StructuralRulesAgainstParents) {
  VertexFactory f;
  auto g = f.Genesis();
  auto a = f.Child({&g});
  Fixture fx(Options());
  fx.Put(g);
  fx.Put(a);

  Vertex wrong_depth = f.Child({&a});
  wrong_depth.depth = 5;
  ASSERT_TRUE(codec::SignVertex(wrong_depth, f.key()).ok());
  EXPECT_EQ(fx.Put(wrong_depth).outcome, Outcome::kRejected);

  Vertex old_clock = f.Child({&a});
  old_clock.created_at = a.created_at;
  ASSERT_TRUE(codec::SignVertex(old_clock, f.key()).ok());
  auto r = fx.Put(old_clock);
  EXPECT_EQ(r.outcome, Outcome::kRejected);
  EXPECT_NE(r.reason.find("created_at"), std::string::npos);

  // A parent from another object: the vertex claims object g but names h's genesis.
  auto h = f.Genesis("other");
  fx.Put(h);
  Vertex cross = f.Child({&a});
  cross.parents = {h.id};
  cross.depth = 1;
  ASSERT_TRUE(codec::SignVertex(cross, f.key()).ok());
  EXPECT_EQ(fx.Put(cross).outcome, Outcome::kRejected);
}

TEST_P(IngestTest, RefsBlockUntilTheOtherObjectHasThem) {
  VertexFactory f;
  auto g1 = f.Genesis("one");
  auto g2 = f.Genesis("two");
  auto x = f.Child({&g2});
  Vertex v = f.Child({&g1});
  v.refs = {x.id};
  ASSERT_TRUE(codec::SignVertex(v, f.key()).ok());
  Fixture fx(Options());
  fx.Put(g1);
  EXPECT_EQ(fx.Put(v).outcome, Outcome::kBlocked);
  fx.Put(g2);
  EXPECT_EQ(fx.Blocked(), 1u);
  fx.Put(x);
  EXPECT_EQ(fx.Blocked(), 0u);
  EXPECT_TRUE(fx.store.GetMeta(v.id)->has_value());
}

TEST_P(IngestTest, RandomDiamondsConvergeToSameHeadsInAnyOrder) {
  std::mt19937_64 rng(42);
  VertexFactory f1(1), f2(2);
  std::vector<Vertex> all{f1.Genesis()};
  for (int i = 0; i < 300; ++i) {
    // Pick 1-3 random earlier vertices as parents; depth and clock follow.
    std::vector<const Vertex*> ps;
    int n = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k) ps.push_back(&all[rng() % all.size()]);
    std::sort(ps.begin(), ps.end());
    ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
    all.push_back((i % 2 ? f1 : f2).Child(ps));
  }
  Fixture ref(Options());
  for (auto& v : all) ref.Put(v);
  auto ref_heads = *ref.store.Heads(all[0].id);
  for (int trial = 0; trial < 5; ++trial) {
    auto shuffled = all;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    Fixture fx(Options());
    for (auto& v : shuffled) fx.Put(v);
    EXPECT_EQ(*fx.store.Heads(all[0].id), ref_heads);
    EXPECT_EQ(fx.store.applied_count(), all.size());
    // Every vertex applied after all its parents.
    std::unordered_map<VertexId, size_t, FixedBytesHash> pos;
    for (size_t i = 0; i < fx.applier.order.size(); ++i) pos[fx.applier.order[i]] = i;
    for (auto& v : all)
      for (auto& p : v.parents) EXPECT_LT(pos[p], pos[v.id]);
  }
}

TEST(Causal, IsAncestorFollowsEdgesOnly) {
  VertexFactory f;
  auto g = f.Genesis();
  auto a = f.Child({&g});
  auto b = f.Child({&g});
  auto c = f.Child({&a});
  auto d = f.Child({&b, &c});
  Fixture fx;
  for (auto* v : {&g, &a, &b, &c, &d}) fx.Put(*v);
  EXPECT_TRUE(*IsAncestor(fx.store, g.id, d.id));
  EXPECT_TRUE(*IsAncestor(fx.store, a.id, d.id));
  EXPECT_TRUE(*IsAncestor(fx.store, b.id, d.id));
  EXPECT_FALSE(*IsAncestor(fx.store, a.id, b.id));
  EXPECT_FALSE(*IsAncestor(fx.store, b.id, c.id));
  EXPECT_FALSE(*IsAncestor(fx.store, d.id, a.id));
  EXPECT_FALSE(*IsAncestor(fx.store, a.id, a.id));
  auto order = fx.store.InOrder(g.id);
  ASSERT_EQ(order.size(), 5u);
  for (size_t i = 1; i < order.size(); ++i) EXPECT_TRUE(LinearBefore(order[i - 1], order[i]));
}

}  // namespace
}  // namespace topo::graph
