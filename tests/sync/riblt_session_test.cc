#include "sync/riblt_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace topo::sync {
namespace {

ItemId RandomId(std::mt19937_64& rng) {
  ItemId id;
  for (auto& b : id.bytes) b = static_cast<uint8_t>(rng());
  return id;
}

struct Peers {
  RibltSketch initiator, responder;
  std::vector<ItemId> initiator_only, responder_only;  // sorted
};

Peers MakePeers(uint64_t seed, size_t common, size_t diff, size_t initiator_capacity = 4096,
                size_t responder_capacity = 4096) {
  std::mt19937_64 rng(seed);
  Peers p{RibltSketch(initiator_capacity), RibltSketch(responder_capacity), {}, {}};
  for (size_t i = 0; i < common; ++i) {
    ItemId id = RandomId(rng);
    p.initiator.Insert(id);
    p.responder.Insert(id);
  }
  for (size_t i = 0; i < diff; ++i) {
    ItemId id = RandomId(rng);
    if (rng() & 1) {
      p.initiator.Insert(id);
      p.initiator_only.push_back(id);
    } else {
      p.responder.Insert(id);
      p.responder_only.push_back(id);
    }
  }
  std::sort(p.initiator_only.begin(), p.initiator_only.end());
  std::sort(p.responder_only.begin(), p.responder_only.end());
  return p;
}

struct Traffic {
  size_t round_trips = 0;
  size_t bytes = 0;
};

// Moves frames between the two until the initiator has nothing more to send.
Traffic Exchange(RibltInitiator& a, RibltResponder& b) {
  Traffic run;
  Bytes to_responder = a.Start();
  while (!to_responder.empty()) {
    run.bytes += to_responder.size();
    Result<Bytes> reply = b.Receive(to_responder);
    EXPECT_TRUE(reply.ok()) << reply.status().ToString();
    if (!reply.ok()) break;
    ++run.round_trips;
    run.bytes += reply->size();
    Result<Bytes> next = a.Receive(*reply);
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    if (!next.ok()) break;
    to_responder = std::move(next).value();
  }
  return run;
}

void ExpectDifference(const Peers& p, const RibltInitiator& a, const RibltResponder& b) {
  ASSERT_EQ(a.outcome(), RibltOutcome::kComplete);
  ASSERT_EQ(b.outcome(), RibltOutcome::kComplete);
  EXPECT_EQ(a.need(), p.responder_only);
  EXPECT_EQ(a.responder_lacks(), p.initiator_only.size());
  EXPECT_EQ(b.have(), p.responder_only);
  EXPECT_EQ(b.need(), p.initiator_only);
}

TEST(RibltSession, IdenticalSetsAgreeInOneRoundTrip) {
  Peers p = MakePeers(1, 3000, 0);
  RibltInitiator a(p.initiator);
  RibltResponder b(p.responder);
  Traffic run = Exchange(a, b);
  ExpectDifference(p, a, b);
  EXPECT_EQ(run.round_trips, 1u);
}

TEST(RibltSession, SmallDifferenceTakesOneRoundTrip) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Peers p = MakePeers(100 + seed, 3000, 1 + seed);
    RibltInitiator a(p.initiator);
    RibltResponder b(p.responder);
    Traffic run = Exchange(a, b);
    ExpectDifference(p, a, b);
    EXPECT_EQ(run.round_trips, 1u) << "difference " << 1 + seed;
  }
}

TEST(RibltSession, LargerDifferenceTakesAFewRoundTripsAndLittleMoreThanItsSymbols) {
  for (size_t diff : {100, 1000, 2500}) {
    Peers p = MakePeers(200 + diff, 5000, diff);
    RibltInitiator a(p.initiator);
    RibltResponder b(p.responder);
    Traffic run = Exchange(a, b);
    ExpectDifference(p, a, b);
    EXPECT_LE(run.round_trips, 3u) << "difference " << diff;
    // 37 bytes per symbol, 32 per id the initiator lacks in DONE (about half the
    // difference), and the first frame's count bytes; 1.9 symbols per item is generous.
    EXPECT_LT(run.bytes, diff * (1.9 * 37 + 16) + 6000) << "difference " << diff;
  }
}

TEST(RibltSession, FallsBackWhenTheDifferenceIsPastTheCap) {
  // The estimate from the first 64 symbols already rules the cap out.
  Peers p = MakePeers(3, 2000, 3000);
  RibltSessionOptions options;
  options.max_symbols = 512;
  RibltInitiator a(p.initiator, options);
  RibltResponder b(p.responder, options);
  Traffic run = Exchange(a, b);
  EXPECT_EQ(b.outcome(), RibltOutcome::kFallback);
  EXPECT_EQ(a.outcome(), RibltOutcome::kFallback);
  EXPECT_EQ(a.fallback_reason(), FallbackReason::kDifferenceTooLarge);
  EXPECT_EQ(run.round_trips, 1u);

  // Near the cap: the responder streams up to it, then gives up.
  Peers q = MakePeers(4, 2000, 420);
  RibltInitiator c(q.initiator, options);
  RibltResponder d(q.responder, options);
  Exchange(c, d);
  EXPECT_EQ(c.outcome(), RibltOutcome::kFallback);
  EXPECT_EQ(c.fallback_reason(), FallbackReason::kDifferenceTooLarge);
  EXPECT_LE(d.symbols_received(), 512u);
}

TEST(RibltSession, FallsBackWhenTheInitiatorsSketchRunsOut) {
  Peers p = MakePeers(5, 2000, 300, /*initiator_capacity=*/128);
  RibltInitiator a(p.initiator);
  RibltResponder b(p.responder);
  Exchange(a, b);
  EXPECT_EQ(a.outcome(), RibltOutcome::kFallback);
  EXPECT_EQ(a.fallback_reason(), FallbackReason::kSketchExhausted);
  EXPECT_EQ(b.symbols_received(), 128u);
}

TEST(RibltSession, FallsBackAfterTooManyRounds) {
  Peers p = MakePeers(6, 2000, 1000);
  RibltSessionOptions options;
  options.max_rounds = 0;
  RibltInitiator a(p.initiator, options);
  RibltResponder b(p.responder, options);
  Traffic run = Exchange(a, b);
  EXPECT_EQ(a.fallback_reason(), FallbackReason::kNoProgress);
  EXPECT_EQ(run.round_trips, 1u);
}

TEST(RibltSession, InsertsDuringASessionDoNotDisturbIt) {
  Peers p = MakePeers(7, 2000, 400);
  RibltInitiator a(p.initiator);
  RibltResponder b(p.responder);
  std::mt19937_64 rng(8);
  for (int i = 0; i < 50; ++i) {
    p.initiator.Insert(RandomId(rng));
    p.responder.Insert(RandomId(rng));
  }
  Exchange(a, b);
  ExpectDifference(p, a, b);
}

// Symbols that peel one item twice (what a 32-bit checksum coincidence can also cause) end
// in FALLBACK 4 and negentropy, not in an error that would end the whole sync session.
TEST(RibltSession, InconsistentSymbolsFallBack) {
  std::mt19937_64 rng(10);
  const ItemId x = RandomId(rng);
  const uint64_t checksum = ItemChecksum(x);
  IndexMapping m(checksum);
  const uint64_t k = m.Next();  // an index x maps to, past 0
  // Index 0 holds x once; index k holds it twice (ids cancel, count 2), so peeling x from
  // index 0 leaves x alone at k, to be peeled again.
  std::vector<CodedSymbol> forged(k + 1);
  forged[0].Apply(x, checksum, +1);
  forged[k].Apply(x, checksum, +1);
  forged[k].Apply(x, checksum, +1);
  RibltResponder b(RibltSketch(256));
  Result<Bytes> reply = b.Receive(EncodeRibltFrame(SymbolsFrame{0, false, forged, {}}));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(b.outcome(), RibltOutcome::kFallback);
  EXPECT_EQ(b.fallback_reason(), FallbackReason::kInconsistent);
  RibltInitiator a(RibltSketch(256));
  a.Start();
  ASSERT_TRUE(a.Receive(*reply).ok());
  EXPECT_EQ(a.outcome(), RibltOutcome::kFallback);
  EXPECT_EQ(a.fallback_reason(), FallbackReason::kInconsistent);
}

TEST(RibltSession, FramesOutOfTurnAreRejected) {
  Peers p = MakePeers(9, 500, 200);
  {
    RibltResponder b(p.responder);
    Result<Bytes> r = b.Receive(EncodeRibltFrame(MoreFrame{0, 10}));
    EXPECT_EQ(r.status().code(), Code::kRejected);
    EXPECT_EQ(b.outcome(), RibltOutcome::kFailed);
    EXPECT_FALSE(b.Receive(RibltInitiator(p.initiator).Start()).ok());
  }
  {
    RibltResponder b(p.responder);
    SymbolsFrame late{5, false, std::vector<CodedSymbol>(3), {}};
    EXPECT_EQ(b.Receive(EncodeRibltFrame(late)).status().code(), Code::kRejected);
  }
  {
    // More symbols than asked for.
    RibltInitiator a(p.initiator);
    RibltResponder b(p.responder);
    Result<Bytes> more = b.Receive(a.Start());
    ASSERT_TRUE(more.ok());
    Result<RibltFrame> asked = DecodeRibltFrame(*more);
    ASSERT_TRUE(asked.ok());
    const MoreFrame m = std::get<MoreFrame>(*asked);
    SymbolsFrame extra{
        m.start,
        false,
        std::vector<CodedSymbol>(p.initiator.symbols().begin() + m.start,
                                 p.initiator.symbols().begin() + m.start + m.count + 1),
        {}};
    EXPECT_EQ(b.Receive(EncodeRibltFrame(extra)).status().code(), Code::kRejected);
  }
  {
    RibltInitiator a(p.initiator);
    EXPECT_FALSE(a.Receive(EncodeRibltFrame(FallbackFrame{})).ok());  // before Start
  }
  {
    RibltInitiator a(p.initiator);
    a.Start();  // 64 symbols sent
    Result<Bytes> r = a.Receive(EncodeRibltFrame(MoreFrame{10, 5}));
    EXPECT_EQ(r.status().code(), Code::kRejected);
  }
  {
    RibltInitiator a(p.initiator);
    a.Start();
    DoneFrame lots;
    lots.initiator_only_count = 60;
    for (int i = 0; i < 5; ++i) {
      ItemId id;
      id.bytes[0] = static_cast<uint8_t>(i);
      lots.responder_only.push_back(id);
    }
    EXPECT_EQ(a.Receive(EncodeRibltFrame(lots)).status().code(), Code::kRejected);
  }
  {
    RibltInitiator a(p.initiator);
    a.Start();
    EXPECT_EQ(a.Receive(Bytes{0x01, 0x00}).status().code(), Code::kCorruption);
    EXPECT_EQ(a.outcome(), RibltOutcome::kFailed);
  }
}

}  // namespace
}  // namespace topo::sync
