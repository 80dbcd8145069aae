// Sync sessions between real Replicas, over an in-process link that can lose, duplicate and
// reorder frames: both sides end with every vertex of every object they may read, pulling
// only what they reconciled, refusing what they did not ask for, serving only what they offer.
#include "sync/session.h"

#include <gtest/gtest.h>

#include <random>

#include "object/replica.h"
#include "sync/replica_source.h"

namespace topo::sync {
namespace {

struct Node {
  std::unique_ptr<object::Replica> replica;
  std::unique_ptr<ReplicaSource> source;

  Node() {
    object::ReplicaOptions o;
    o.verify_threads = 1;
    auto r = object::Replica::Open(":memory:", crypto::SigningKey::Generate(), o);
    EXPECT_TRUE(r.ok());
    replica = std::move(r).value();
    Reset();
  }
  void Reset(std::function<bool(const codec::ObjectId&)> may_offer = nullptr) {
    source.reset();
    auto s = ReplicaSource::Make(*replica, std::move(may_offer));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    source = std::move(s).value();
  }
  codec::ObjectId Counter(int ops) {
    auto id = replica->CreateObject("counter");
    EXPECT_TRUE(id.ok());
    Add(*id, ops);
    return *id;
  }
  void Add(const codec::ObjectId& id, int ops) {
    auto f = replica->FieldOf(id, "value");
    for (int i = 0; i < ops; ++i)
      EXPECT_TRUE(replica->Submit(id, *f, codec::CrdtOp{codec::CounterAdd{1}}).ok());
  }
  std::string Fingerprint() { return *replica->Fingerprint(); }
  std::vector<Bytes> Raws(const codec::ObjectId& id) {
    std::vector<Bytes> raws;
    EXPECT_TRUE(replica
                    ->ForEachInOrder(id,
                                     [&](const graph::VertexMeta&, ByteView raw) {
                                       raws.emplace_back(raw.begin(), raw.end());
                                       return true;
                                     })
                    .ok());
    return raws;
  }
  uint64_t Vertices(const codec::ObjectId& id) {
    auto heads = replica->ListObjects();
    for (const auto& o : *heads)
      if (o.id == id) return o.vertices;
    return 0;
  }
};

// Moves frames between two sessions on virtual time until both have pulled everything (or
// a step bound passes). Faults: each frame is lost, duplicated or delayed with the given
// probabilities.
struct Link {
  double loss = 0, duplicate = 0, delay = 0;
  uint64_t seed = 1;
  uint64_t now = 0;
  Status error_a, error_b;

  bool Run(Node& a, Session& sa, Node& b, Session& sb, int max_steps = 100000) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    struct InFlight {
      uint64_t at;
      bool to_b;
      Bytes frame;
    };
    std::vector<InFlight> flight;
    sa.Start(now);
    sb.Start(now);
    auto ship = [&](Session& from, bool to_b) {
      for (auto& f : from.TakeOutgoing()) {
        if (u(rng) < loss) continue;
        uint64_t at = now + 1 + (u(rng) < delay ? rng() % 50 : 0);
        if (u(rng) < duplicate) flight.push_back({at + rng() % 5, to_b, f});
        flight.push_back({at, to_b, std::move(f)});
      }
    };
    auto ingest = [&](Node& n, Session& s) {
      auto arrived = s.TakeArrived();
      if (arrived.empty()) return;
      auto r = n.replica->Ingest(std::move(arrived));
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) {
        EXPECT_EQ(r->stats.rejected, 0u);
        EXPECT_EQ(r->stats.invalid, 0u);
      }
    };
    for (int step = 0; step < max_steps; ++step) {
      ship(sa, true);
      ship(sb, false);
      if (sa.PullComplete() && sb.PullComplete() && flight.empty()) return true;
      // The next event: the earliest frame, or a session deadline.
      uint64_t next = UINT64_MAX;
      for (const auto& f : flight) next = std::min(next, f.at);
      for (Session* s : {&sa, &sb})
        if (auto d = s->NextDeadline()) next = std::min(next, *d);
      if (next == UINT64_MAX) return sa.PullComplete() && sb.PullComplete();
      now = std::max(now, next);
      std::stable_sort(flight.begin(), flight.end(),
                       [](const auto& x, const auto& y) { return x.at < y.at; });
      std::vector<InFlight> due;
      while (!flight.empty() && flight.front().at <= now) {
        due.push_back(std::move(flight.front()));
        flight.erase(flight.begin());
      }
      for (auto& f : due) {
        Session& to = f.to_b ? sb : sa;
        Status s = to.Receive(f.frame, now);
        if (!s.ok()) {
          (f.to_b ? error_b : error_a) = s;
          return false;
        }
      }
      sa.Tick(now);
      sb.Tick(now);
      ingest(a, sa);
      ingest(b, sb);
    }
    return false;
  }
};

TEST(SyncSession, TwoReplicasConvergeOnEveryObject) {
  Node a, b;
  auto shared = a.Counter(40);
  auto only_a = a.Counter(25);
  // b holds the shared object's first 40 vertices, then both write concurrently.
  ASSERT_TRUE(b.replica->Ingest(a.Raws(shared)).ok());
  a.Add(shared, 30);
  b.Add(shared, 20);
  auto only_b = b.Counter(60);
  a.Reset();
  b.Reset();  // sources built from the stores as they are, then kept current
  Session sa(*a.source), sb(*b.source);
  Link link;
  ASSERT_TRUE(link.Run(a, sa, b, sb)) << link.error_a.ToString() << link.error_b.ToString();
  EXPECT_EQ(a.Fingerprint(), b.Fingerprint());
  for (const auto& id : {shared, only_a, only_b}) EXPECT_EQ(a.Vertices(id), b.Vertices(id));
  EXPECT_EQ(a.Vertices(shared), 1u + 40 + 30 + 20);
  // Each side received exactly what it lacked.
  EXPECT_EQ(sa.stats().vertices_received, 20u + 61);
  EXPECT_EQ(sb.stats().vertices_received, 30u + 26);
  EXPECT_TRUE(sa.given_up().empty());
  // The sources followed the ingests: a second session finds nothing to move.
  Session sa2(*a.source), sb2(*b.source);
  Link again;
  ASSERT_TRUE(again.Run(a, sa2, b, sb2));
  EXPECT_EQ(sa2.stats().vertices_received + sb2.stats().vertices_received, 0u);
}

TEST(SyncSession, ALargeDifferenceFallsBackToNegentropy) {
  Node a, b;
  SessionOptions small_sketch;
  small_sketch.riblt.max_symbols = 256;  // a difference of thousands cannot decode within it
  auto big = a.Counter(3000);
  a.Reset();
  b.Reset();
  Session sa(*a.source, small_sketch), sb(*b.source, small_sketch);
  Link link;
  ASSERT_TRUE(link.Run(a, sa, b, sb)) << link.error_a.ToString() << link.error_b.ToString();
  EXPECT_EQ(b.Vertices(big), 3001u);
  EXPECT_EQ(sb.stats().fallbacks, 1u);
  EXPECT_EQ(a.Fingerprint(), b.Fingerprint());
}

TEST(SyncSession, ALargeDifferenceIsFetchedWithBoundedMemory) {
  Node a, b;
  SessionOptions o;
  o.riblt.max_symbols = 256;        // negentropy, as for any large difference
  o.negentropy_frame_limit = 4096;  // an answer lists at most about 120 ids
  o.max_queued_needs = 100;
  o.want_ids = 32;
  o.window = 2;
  auto big = a.Counter(3000);
  a.Reset();
  b.Reset();
  Session sa(*a.source, o), sb(*b.source, o);
  Link link;
  ASSERT_TRUE(link.Run(a, sa, b, sb, 200000)) << link.error_a.ToString() << link.error_b.ToString();
  EXPECT_EQ(b.Vertices(big), 3001u);
  EXPECT_EQ(a.Fingerprint(), b.Fingerprint());
  EXPECT_EQ(sb.stats().vertices_received, 3001u);
  // It held its next message while the queue was full, and never held more ids than the
  // bound, one answer and the wants out.
  EXPECT_GT(sb.stats().reconciles_held, 0u);
  EXPECT_LE(sb.stats().max_needs_held, 100u + 128 + 2 * 32);
}

TEST(SyncSession, ConvergesOverALossyDuplicatingReorderingLink) {
  uint64_t retries = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Node a, b;
    a.Counter(200);
    b.Counter(150);
    a.Reset();
    b.Reset();
    SessionOptions o;
    o.request_timeout_ms = 200;
    o.want_ids = 64;
    o.max_attempts = 50;
    Session sa(*a.source, o), sb(*b.source, o);
    Link link;
    link.loss = 0.15;
    link.duplicate = 0.15;
    link.delay = 0.3;
    link.seed = seed;
    ASSERT_TRUE(link.Run(a, sa, b, sb)) << link.error_a.ToString() << link.error_b.ToString();
    EXPECT_EQ(a.Fingerprint(), b.Fingerprint());
    retries += sa.stats().retries + sb.stats().retries;
  }
  EXPECT_GT(retries, 0u);  // the faults did strike
}

TEST(SyncSession, OnlyOfferedObjectsAreServed) {
  Node a, b;
  auto open = a.Counter(5);
  auto secret = a.Counter(5);
  a.Reset([&](const codec::ObjectId& id) { return id != secret; });
  b.Reset();
  Session sa(*a.source), sb(*b.source);
  Link link;
  ASSERT_TRUE(link.Run(a, sa, b, sb));
  EXPECT_EQ(b.Vertices(open), 6u);
  EXPECT_EQ(b.Vertices(secret), 0u);
  // Asked outright, the object is refused.
  Session probe(*a.source);
  probe.Start(0);
  (void)probe.TakeOutgoing();
  ASSERT_TRUE(probe.Receive(EncodeFrame({1, WantFrame{secret, {secret}}}), 0).ok());
  ASSERT_TRUE(
      probe.Receive(EncodeFrame({2, ReconcileFrame{secret, Algorithm::kNegentropy, {0x61}}}), 0)
          .ok());
  auto out = probe.TakeOutgoing();
  ASSERT_EQ(out.size(), 2u);
  for (const auto& f : out) {
    auto d = DecodeFrame(f);
    ASSERT_TRUE(d.ok());
    const auto* e = std::get_if<ErrorFrame>(&d->body);
    ASSERT_NE(e, nullptr) << FrameName(d->body);
    EXPECT_EQ(e->code, Code::kPermissionDenied);
  }
}

TEST(SyncSession, WhatWasNotAskedForIsAViolation) {
  Node a, b;
  auto obj = a.Counter(3);
  std::vector<Bytes> raws = a.Raws(obj);
  auto expect_violation = [&](const Frame& f, std::string_view why) {
    Session s(*b.source);
    s.Start(0);
    Status st = s.Receive(EncodeFrame(f), 0);
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find(why), std::string::npos) << st.ToString();
    // The peer is told why.
    bool told = false;
    for (const auto& out : s.TakeOutgoing())
      if (auto d = DecodeFrame(out); d.ok() && std::holds_alternative<ErrorFrame>(d->body))
        told = true;
    EXPECT_TRUE(told);
  };
  expect_violation({5, VerticesFrame{true, {raws[0]}}}, "never made");
  expect_violation({5, ReconciledFrame{obj, Algorithm::kRiblt, {}}}, "never asked");
  {
    Session s(*b.source);
    Bytes garbage{1, 2, 3};
    EXPECT_FALSE(s.Receive(garbage, 0).ok());
    // A hello is answered (so a lost one is made good), as often as it comes.
    Session twice(*b.source);
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(twice.Receive(EncodeFrame({0, HelloFrame{}}), 0).ok());
      auto out = twice.TakeOutgoing();
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(DecodeFrame(out[0])->request_id, 1u);
    }
    Status st = twice.Receive(EncodeFrame({2, HelloFrame{}}), 0);
    EXPECT_NE(st.message().find("a hello with request id 2"), std::string::npos) << st.ToString();
  }
  auto other = a.Counter(1);  // its vertices are never asked for below
  // A real want, answered with a vertex it did not name.
  b.Reset();
  Session s(*b.source);
  s.Start(0);
  (void)s.TakeOutgoing();
  ASSERT_TRUE(s.Receive(EncodeFrame({0, HelloFrame{{{obj, 4}}}}), 0).ok());
  // b reconciles: answer its riblt request as a responder over a's sketch would.
  Session server(*a.source);
  server.Start(0);
  (void)server.TakeOutgoing();
  for (int round = 0; round < 5 && !s.PullComplete(); ++round) {
    bool wanted = false;
    for (const auto& out : s.TakeOutgoing()) {
      auto d = DecodeFrame(out);
      ASSERT_TRUE(d.ok());
      if (std::holds_alternative<WantFrame>(d->body)) {
        // Answer with a vertex of another object: not asked for.
        auto meta = a.replica->graph_store().GetRaw(other);
        ASSERT_TRUE(meta.ok());
        Status st = s.Receive(EncodeFrame({d->request_id, VerticesFrame{true, {*meta}}}), 0);
        EXPECT_FALSE(st.ok());
        EXPECT_NE(st.message().find("was not asked for"), std::string::npos) << st.ToString();
        wanted = true;
        break;
      }
      ASSERT_TRUE(server.Receive(out, 0).ok());
      for (const auto& back : server.TakeOutgoing()) ASSERT_TRUE(s.Receive(back, 0).ok());
    }
    if (wanted) return;
  }
  ADD_FAILURE() << "b never asked for vertices";
}

// An oversized claim costs one decoded frame: a hello offering more objects than the node's
// bound ends the session, before anything is pulled.
TEST(SyncSession, AHelloOfferingTooManyObjectsEndsTheSession) {
  Node b;
  SessionOptions o;
  o.max_offers = 2;
  HelloFrame hello;
  for (uint8_t i = 1; i <= 3; ++i) {
    codec::ObjectId id;
    id.bytes[0] = i;
    hello.objects.push_back({id, 1});
  }
  Session s(*b.source, o);
  s.Start(0);
  (void)s.TakeOutgoing();
  Status st = s.Receive(EncodeFrame({0, hello}), 0);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("a hello offering 3 objects"), std::string::npos) << st.ToString();
  EXPECT_FALSE(s.PullComplete());
  hello.objects.pop_back();
  Session fits(*b.source, o);
  EXPECT_TRUE(fits.Receive(EncodeFrame({0, hello}), 0).ok());
}

// Several sources: a fresh node pulls one object from two peers that both hold it; a shared
// planner splits the ids between the two sessions, and when one source stalls, what was
// asked of it is asked of the other.
TEST(SyncSession, PullsFromSeveralSourcesAndMovesOnWhenOneStalls) {
  for (bool stall : {false, true}) {
    SCOPED_TRACE(stall ? "b stalls" : "both answer");
    Node a, b, c;
    auto obj = a.Counter(3000);
    ASSERT_TRUE(b.replica->Ingest(a.Raws(obj)).ok());
    a.Reset();
    b.Reset();
    c.Reset();
    PullPlanner planner({256, 2, 300});
    SessionOptions co;
    co.planner = &planner;
    co.request_timeout_ms = 300;
    co.window = 2;
    SessionOptions via_a = co, via_b = co;
    via_a.peer = 1;
    via_b.peer = 2;
    Session ca(*c.source, via_a), cb(*c.source, via_b);
    Session ac(*a.source), bc(*b.source);
    uint64_t now = 0;
    for (Session* s : {&ca, &cb, &ac, &bc}) s->Start(now);
    // Frames move on a clock tick; b goes silent after its first answers when it stalls.
    int b_frames = 0;
    for (int step = 0; step < 2000 && !(ca.PullComplete() && cb.PullComplete()); ++step) {
      now += 10;
      auto move = [&](Session& from, Session& to, bool from_b) {
        for (auto& f : from.TakeOutgoing()) {
          if (from_b && stall && ++b_frames > 3) continue;
          ASSERT_TRUE(to.Receive(f, now).ok());
        }
      };
      move(ca, ac, false);
      move(ac, ca, false);
      move(cb, bc, false);
      move(bc, cb, true);
      for (Session* s : {&ca, &cb}) {
        auto arrived = s->TakeArrived();
        if (!arrived.empty()) {
          ASSERT_TRUE(c.replica->Ingest(std::move(arrived)).ok());
        }
        s->Tick(now);
      }
    }
    EXPECT_TRUE(ca.PullComplete() && cb.PullComplete());
    EXPECT_EQ(c.Vertices(obj), 3001u);
    EXPECT_EQ(c.Fingerprint(), a.Fingerprint());
    const uint64_t from_a = ca.stats().vertices_received, from_b = cb.stats().vertices_received;
    EXPECT_EQ(from_a + from_b, 3001u);  // nothing asked twice, nothing fetched twice
    if (stall) {
      EXPECT_EQ(from_b, 0u);
      EXPECT_GT(cb.stats().retries, 0u);
    } else {
      EXPECT_GT(from_a, 500u);
      EXPECT_GT(from_b, 500u);
    }
  }
}

}  // namespace
}  // namespace topo::sync
