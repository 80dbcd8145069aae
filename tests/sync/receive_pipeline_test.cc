// Sessions whose arrivals go through an object::IngestPipeline (as the node feeds them):
// two replicas converge over a link that loses, duplicates and reorders frames, while each
// pipeline holds no more than its bound and applies in batches as vertices keep coming.
#include <gtest/gtest.h>

#include <random>

#include "object/ingest_pipeline.h"
#include "sync/replica_source.h"
#include "sync/session.h"

namespace topo::sync {
namespace {

struct Node {
  std::unique_ptr<object::Replica> replica;
  std::unique_ptr<ReplicaSource> source;
  std::unique_ptr<object::IngestPipeline> pipe;

  Node() {
    object::ReplicaOptions o;
    o.verify_threads = 2;
    auto r = object::Replica::Open(":memory:", crypto::SigningKey::Generate(), o);
    EXPECT_TRUE(r.ok());
    replica = std::move(r).value();
  }
  void Start() {
    auto s = ReplicaSource::Make(*replica);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    source = std::move(s).value();
    object::IngestPipelineOptions po;
    po.batch_size = 16;
    po.max_pending = 48;
    pipe = std::make_unique<object::IngestPipeline>(*replica, po);
  }
  codec::ObjectId Counter(int ops) {
    auto id = replica->CreateObject("counter");
    EXPECT_TRUE(id.ok());
    auto f = replica->FieldOf(*id, "value");
    for (int i = 0; i < ops; ++i)
      EXPECT_TRUE(replica->Submit(*id, *f, codec::CrdtOp{codec::CounterAdd{1}}).ok());
    return *id;
  }
  // What a node does after each frame: hand the arrivals over, apply what is verified.
  void Arrivals(Session& s) {
    auto arrived = s.TakeArrived();
    if (!arrived.empty()) {
      ASSERT_TRUE(pipe->Add(std::move(arrived)).ok());
    }
    EXPECT_LE(pipe->pending(), pipe->max_pending());
    ASSERT_TRUE(pipe->ApplyReady().ok());
  }
};

TEST(ReceivePipeline, SessionsConvergeThroughBoundedPipelinesOverAFaultyLink) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Node a, b;
    a.Counter(300);
    b.Counter(120);
    a.Start();
    b.Start();
    SessionOptions so;
    so.request_timeout_ms = 200;
    so.want_ids = 40;
    so.window = 3;
    so.max_attempts = 50;
    Session sa(*a.source, so), sb(*b.source, so);

    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    struct InFlight {
      uint64_t at;
      bool to_b;
      Bytes frame;
    };
    std::vector<InFlight> flight;
    uint64_t now = 0;
    auto ship = [&](Session& from, bool to_b) {
      for (auto& f : from.TakeOutgoing()) {
        if (u(rng) < 0.1) continue;  // lost
        uint64_t at = now + 1 + (u(rng) < 0.3 ? rng() % 50 : 0);
        if (u(rng) < 0.1) flight.push_back({at + rng() % 5, to_b, f});  // duplicated
        flight.push_back({at, to_b, std::move(f)});
      }
    };
    sa.Start(now);
    sb.Start(now);
    bool done = false;
    for (int step = 0; step < 100000 && !done; ++step) {
      ship(sa, true);
      ship(sb, false);
      if (sa.PullComplete() && sb.PullComplete() && flight.empty()) {
        done = true;
        break;
      }
      uint64_t next = UINT64_MAX;
      for (const auto& f : flight) next = std::min(next, f.at);
      for (Session* s : {&sa, &sb})
        if (auto d = s->NextDeadline()) next = std::min(next, *d);
      ASSERT_NE(next, UINT64_MAX) << "stalled";
      now = std::max(now, next);
      std::stable_sort(flight.begin(), flight.end(),
                       [](const auto& x, const auto& y) { return x.at < y.at; });
      size_t due = 0;
      while (due < flight.size() && flight[due].at <= now) ++due;
      std::vector<InFlight> arriving(std::make_move_iterator(flight.begin()),
                                     std::make_move_iterator(flight.begin() + due));
      flight.erase(flight.begin(), flight.begin() + due);
      for (auto& f : arriving) {
        Session& to = f.to_b ? sb : sa;
        ASSERT_TRUE(to.Receive(f.frame, now).ok());
        (f.to_b ? b : a).Arrivals(to);
      }
      sa.Tick(now);
      sb.Tick(now);
    }
    ASSERT_TRUE(done);
    ASSERT_TRUE(a.pipe->Finish().ok());
    ASSERT_TRUE(b.pipe->Finish().ok());
    // Each side applied exactly what it lacked, refusing nothing; re-asked vertices that came
    // twice are duplicates, not errors.
    EXPECT_EQ(a.pipe->report().stats.applied, 121u);
    EXPECT_EQ(b.pipe->report().stats.applied, 301u);
    for (Node* n : {&a, &b}) {
      EXPECT_EQ(n->pipe->report().stats.rejected + n->pipe->report().stats.invalid, 0u);
      EXPECT_EQ(*n->replica->graph_store().BlockedCount(), 0u);
    }
    // Batches were applied while the session ran, not all at the end.
    EXPECT_GT(b.pipe->added(), b.pipe->max_pending());
    EXPECT_EQ(*a.replica->Fingerprint(), *b.replica->Fingerprint());
  }
}

}  // namespace
}  // namespace topo::sync
