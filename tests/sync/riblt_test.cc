#include "sync/riblt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "util/encoding.h"

namespace topo::sync {
namespace {

ItemId RandomId(std::mt19937_64& rng) {
  ItemId id;
  for (size_t i = 0; i < id.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(id.data() + i, &v, 8);
  }
  return id;
}

std::vector<uint64_t> Indices(uint64_t seed, size_t n) {
  IndexMapping m(seed);
  std::vector<uint64_t> out;
  out.push_back(m.index());
  while (out.size() < n) out.push_back(m.Next());
  return out;
}

// Sequences worked out by hand-running the reference's nextIndex (mapping.go) in IEEE
// doubles: prng *= 0xda942042e4dd58b5; i += ceil((i + 1.5) * (2^32 / sqrt(prng + 1) - 1)).
TEST(RibltMapping, MatchesTheReferenceSequences) {
  EXPECT_EQ(Indices(1, 10), (std::vector<uint64_t>{0, 1, 2, 3, 6, 11, 19, 44, 116, 122}));
  EXPECT_EQ(Indices(123456789, 10), (std::vector<uint64_t>{0, 1, 2, 6, 8, 13, 30, 39, 43, 58}));
  EXPECT_EQ(Indices(0xdeadbeefcafebabeULL, 10),
            (std::vector<uint64_t>{0, 1, 2, 4, 7, 21, 40, 62, 117, 143}));
  EXPECT_EQ(Indices(UINT64_MAX, 10),
            (std::vector<uint64_t>{0, 3, 29, 59, 80, 101, 128, 145, 158, 520}));
}

// The checksum is SipHash-2-4 under the key "topo.riblt.v1.ck" (docs/PROTOCOL.md); these
// values come from an independent SipHash implementation, and seed the mappings shown.
TEST(RibltMapping, ChecksumAndMappingOfKnownIds) {
  ItemId zero;
  EXPECT_EQ(ItemChecksum(zero), 0xfa5339eb9e7d215bULL);
  EXPECT_EQ(Indices(ItemChecksum(zero), 8), (std::vector<uint64_t>{0, 1, 2, 3, 5, 10, 14, 20}));
  ItemId counting;
  for (size_t i = 0; i < 32; ++i) counting.bytes[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(ItemChecksum(counting), 0x980aa6db4c238201ULL);
  EXPECT_EQ(Indices(ItemChecksum(counting), 8),
            (std::vector<uint64_t>{0, 1, 2, 11, 15, 18, 25, 27}));
}

TEST(RibltMapping, StartsAtZeroIncreasesAndHitsIndexIWithProbabilityTwoOverIPlusTwo) {
  std::mt19937_64 rng(11);
  constexpr int kSeeds = 40000;
  constexpr uint64_t kRange = 400;
  std::vector<int> hits(kRange, 0);
  for (int s = 0; s < kSeeds; ++s) {
    IndexMapping m(rng());
    ASSERT_EQ(m.index(), 0u);
    uint64_t prev = 0;
    ++hits[0];
    for (uint64_t i = m.Next(); i < kRange; i = m.Next()) {
      ASSERT_GT(i, prev);
      prev = i;
      ++hits[i];
    }
  }
  auto expect_rate = [&](uint64_t i, double p) {
    const double seen = hits[i] / static_cast<double>(kSeeds);
    const double sigma = std::sqrt(p * (1 - p) / kSeeds);
    EXPECT_NEAR(seen, p, 5 * sigma + 0.02 * p) << "index " << i;
  };
  // 2/(i+2) is the continuous approximation; the ceil makes small indices differ. Index 1
  // follows 0 exactly when ceil(1.5 * ((1-u)^(-1/2) - 1)) == 1, that is u <= 16/25.
  expect_rate(1, 0.64);
  for (uint64_t i : {10, 30, 100, 399}) expect_rate(i, 2.0 / (static_cast<double>(i) + 2.0));
}

TEST(RibltMapping, SaturatesInsteadOfOverflowing) {
  // Seed 0 keeps the PRNG at 0, the largest possible steps: (i + 1.5) * (2^32 - 1).
  IndexMapping m(0);
  uint64_t prev = 0;
  for (int k = 0; k < 10; ++k) {
    uint64_t i = m.Next();
    ASSERT_GE(i, prev);
    prev = i;
  }
  EXPECT_EQ(prev, IndexMapping::kEnd);
  EXPECT_EQ(m.Next(), IndexMapping::kEnd);
}

TEST(RibltSketch, IncrementalPrefixEqualsFromScratchAfterInsertsAndErases) {
  std::mt19937_64 rng(5);
  RibltSketch sketch(1000);
  std::set<ItemId> set;
  std::vector<ItemId> present;
  for (int step = 0; step < 20000; ++step) {
    if (present.empty() || rng() % 3 != 0) {
      ItemId id = RandomId(rng);
      sketch.Insert(id);
      set.insert(id);
      present.push_back(id);
    } else {
      size_t k = rng() % present.size();
      sketch.Erase(present[k]);
      set.erase(present[k]);
      present[k] = present.back();
      present.pop_back();
    }
  }
  std::vector<ItemId> items(set.begin(), set.end());
  ASSERT_EQ(sketch.size(), static_cast<int64_t>(items.size()));
  std::vector<CodedSymbol> scratch = EncodeRange(items, 0, 1000);
  ASSERT_EQ(scratch.size(), 1000u);
  EXPECT_TRUE(std::equal(scratch.begin(), scratch.end(), sketch.symbols().begin()));

  // Erasing everything leaves the empty set's symbols: all zero.
  for (const ItemId& id : items) sketch.Erase(id);
  for (const CodedSymbol& s : sketch.symbols()) ASSERT_TRUE(s.IsZero());
}

TEST(RibltSketch, SlowPathContinuesThePrefix) {
  std::mt19937_64 rng(6);
  std::vector<ItemId> items;
  RibltSketch big(512);
  for (int i = 0; i < 3000; ++i) {
    items.push_back(RandomId(rng));
    big.Insert(items.back());
  }
  std::vector<CodedSymbol> tail = EncodeRange(items, 256, 512);
  ASSERT_EQ(tail.size(), 256u);
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), big.symbols().begin() + 256));
  // Symbol 0 holds every item.
  EXPECT_EQ(big.symbols()[0].count, 3000);
}

struct Split {
  RibltSketch local, remote;
  std::set<ItemId> local_only, remote_only;
  std::vector<ItemId> remote_items;
};

// Two sets sharing `common` items; `diff` more items, each on one side at random.
Split MakeSplit(std::mt19937_64& rng, size_t common, size_t diff, size_t capacity) {
  Split s{RibltSketch(capacity), RibltSketch(capacity), {}, {}, {}};
  for (size_t i = 0; i < common; ++i) {
    ItemId id = RandomId(rng);
    s.local.Insert(id);
    s.remote.Insert(id);
    s.remote_items.push_back(id);
  }
  for (size_t i = 0; i < diff; ++i) {
    ItemId id = RandomId(rng);
    if (rng() & 1) {
      s.local.Insert(id);
      s.local_only.insert(id);
    } else {
      s.remote.Insert(id);
      s.remote_only.insert(id);
      s.remote_items.push_back(id);
    }
  }
  return s;
}

// Feeds the remote symbols one at a time; returns how many it took to complete (0 if never).
size_t DecodeOneByOne(const Split& s, RibltDecoder& decoder) {
  for (size_t i = 0; i < s.remote.capacity(); ++i) {
    Status st = decoder.Add(i, s.remote.symbols().subspan(i, 1));
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) return 0;
    if (decoder.complete()) return i + 1;
  }
  return 0;
}

TEST(RibltDecoder, RecoversExactlyTheDifference) {
  std::mt19937_64 rng(21);
  for (size_t diff : {0, 1, 2, 3, 5, 10, 31, 100, 333, 1000, 2000}) {
    Split s = MakeSplit(rng, 2000, diff, 4096);
    RibltDecoder decoder(s.local, 4096);
    size_t used = DecodeOneByOne(s, decoder);
    ASSERT_GT(used, 0u) << "difference " << diff << " did not decode";
    std::set<ItemId> remote(decoder.remote_only().begin(), decoder.remote_only().end());
    std::set<ItemId> local(decoder.local_only().begin(), decoder.local_only().end());
    EXPECT_EQ(remote, s.remote_only) << "difference " << diff;
    EXPECT_EQ(local, s.local_only) << "difference " << diff;
    EXPECT_EQ(decoder.remote_only().size() + decoder.local_only().size(), diff);
  }
}

TEST(RibltDecoder, BatchesDecodeLikeSingleSymbols) {
  std::mt19937_64 rng(22);
  Split s = MakeSplit(rng, 500, 200, 1024);
  RibltDecoder decoder(s.local, 1024);
  size_t at = 0;
  while (!decoder.complete()) {
    ASSERT_LT(at, 1024u);
    size_t n = std::min<size_t>(1 + rng() % 40, 1024 - at);
    ASSERT_TRUE(decoder.Add(at, s.remote.symbols().subspan(at, n)).ok());
    at += n;
  }
  EXPECT_EQ(std::set<ItemId>(decoder.remote_only().begin(), decoder.remote_only().end()),
            s.remote_only);
  EXPECT_EQ(std::set<ItemId>(decoder.local_only().begin(), decoder.local_only().end()),
            s.local_only);
}

// The paper's figure: about 1.35 symbols per difference item for large differences, more
// for small ones. The bound is loose so the test checks the mapping is the efficient one
// (a plain IBLT-like mapping would need far more), not luck.
TEST(RibltDecoder, SymbolsPerDifferenceItemAsInThePaper) {
  std::mt19937_64 rng(23);
  for (size_t diff : {100, 1000}) {
    const int trials = diff == 100 ? 30 : 6;
    double sum = 0;
    for (int t = 0; t < trials; ++t) {
      Split s = MakeSplit(rng, 1000, diff, 4096);
      RibltDecoder decoder(s.local, 4096);
      size_t used = DecodeOneByOne(s, decoder);
      ASSERT_GT(used, 0u);
      sum += static_cast<double>(used) / static_cast<double>(diff);
    }
    const double mean = sum / trials;
    EXPECT_LT(mean, 2.0) << "difference " << diff;
    EXPECT_GT(mean, 1.0) << "difference " << diff;
    std::printf("difference %zu: %.3f symbols per item over %d trials\n", diff, mean, trials);
  }
}

TEST(RibltDecoder, EstimatesTheDifferenceFromAFewSymbols) {
  std::mt19937_64 rng(24);
  for (size_t diff : {300, 3000}) {
    double sum = 0;
    const int trials = 20;
    for (int t = 0; t < trials; ++t) {
      Split s = MakeSplit(rng, 500, diff, 128);
      RibltDecoder decoder(s.local, 128);
      ASSERT_TRUE(decoder.Add(0, s.remote.symbols()).ok());
      sum += decoder.EstimateDifference();
    }
    // The mean of 20 estimates, each within about 13% (one standard error at 128 symbols).
    EXPECT_NEAR(sum / trials, static_cast<double>(diff), 0.15 * static_cast<double>(diff));
  }
}

TEST(RibltDecoder, CountBytesSharpenTheEstimateAtAByteAnIndex) {
  std::mt19937_64 rng(28);
  const size_t diff = 3000;
  double err_full = 0, err_residues = 0;
  const int trials = 20;
  for (int t = 0; t < trials; ++t) {
    Split s = MakeSplit(rng, 500, diff, 2048);
    RibltDecoder full(s.local, 2048), residues(s.local, 2048);
    ASSERT_TRUE(full.Add(0, s.remote.symbols().first(64)).ok());
    ASSERT_TRUE(residues.Add(0, s.remote.symbols().first(64)).ok());
    Bytes low;
    for (size_t i = 64; i < 1024; ++i)
      low.push_back(static_cast<uint8_t>(s.remote.symbols()[i].count));
    ASSERT_TRUE(residues.AddCountResidues(low).ok());
    EXPECT_EQ(residues.estimate_samples(), 1023u);
    auto rel = [&](double e) { return (e - diff) * (e - diff) / (double(diff) * diff); };
    err_full += rel(full.EstimateDifference());
    err_residues += rel(residues.EstimateDifference());
    // Full symbols over indices the count bytes covered do not count twice.
    const double before = residues.EstimateDifference();
    ASSERT_TRUE(residues.Add(64, s.remote.symbols().subspan(64, 100)).ok());
    EXPECT_EQ(residues.estimate_samples(), 1023u);
    EXPECT_EQ(residues.EstimateDifference(), before);
  }
  // Relative errors about sqrt(2/63) = 18% against sqrt(2/1023) = 4.4%.
  EXPECT_LT(std::sqrt(err_residues / trials), 0.08);
  EXPECT_LT(std::sqrt(err_residues / trials), std::sqrt(err_full / trials) / 2);
  RibltDecoder empty(RibltSketch(16), 16);
  EXPECT_EQ(empty.AddCountResidues(Bytes{1, 2}).code(), Code::kInvalidArgument);
}

TEST(RibltDecoder, EnforcesTheCapAndTheOrder) {
  std::mt19937_64 rng(25);
  Split s = MakeSplit(rng, 100, 500, 256);
  RibltDecoder decoder(s.local, 100);
  EXPECT_EQ(decoder.max_symbols(), 100u);
  Status gap = decoder.Add(5, s.remote.symbols().subspan(5, 1));
  EXPECT_EQ(gap.code(), Code::kInvalidArgument) << gap.ToString();
  ASSERT_TRUE(decoder.Add(0, s.remote.symbols().first(60)).ok());
  EXPECT_FALSE(decoder.complete());
  Status over = decoder.Add(60, s.remote.symbols().subspan(60, 41));
  EXPECT_EQ(over.code(), Code::kRejected) << over.ToString();
  // The cap is also the local sketch's capacity.
  RibltDecoder small(RibltSketch(16), 1000);
  EXPECT_EQ(small.max_symbols(), 16u);
}

TEST(RibltDecoder, SymbolsNoSetProducesAreCorruption) {
  // Symbol 0 holds x once and an index k that x maps to holds it twice (the ids cancel,
  // the count is 2): after x is peeled from 0 and its indices, k still holds x alone, and
  // x would be peeled twice.
  std::mt19937_64 rng(26);
  ItemId x = RandomId(rng);
  const uint64_t checksum = ItemChecksum(x);
  const uint64_t k = Indices(checksum, 3)[2];
  std::vector<CodedSymbol> forged(k + 1);
  forged[0].Apply(x, checksum, +1);
  forged[k].Apply(x, checksum, +1);
  forged[k].Apply(x, checksum, +1);
  RibltDecoder decoder(RibltSketch(64), 64);
  Status st = decoder.Add(0, forged);
  EXPECT_EQ(st.code(), Code::kCorruption) << st.ToString();
  // Unusable afterwards.
  EXPECT_FALSE(decoder.Add(k + 1, std::span<const CodedSymbol>(forged).first(1)).ok());
}

// A symbol that looks pure (count 1, matching checksum) at an index its item does not map
// to is not peeled: an item sits in all of its indices, so it must be a mixture.
TEST(RibltDecoder, APureLookingSymbolAtAnIndexItsItemSkipsIsNotPeeled) {
  std::mt19937_64 rng(29);
  ItemId x = RandomId(rng);
  const uint64_t checksum = ItemChecksum(x);
  std::vector<uint64_t> mapped = Indices(checksum, 20);
  uint64_t k = 1;
  while (std::find(mapped.begin(), mapped.end(), k) != mapped.end()) ++k;
  std::vector<CodedSymbol> forged(k + 1);
  forged[k].Apply(x, checksum, +1);
  RibltDecoder decoder(RibltSketch(64), 64);
  ASSERT_TRUE(decoder.Add(0, forged).ok());
  EXPECT_TRUE(decoder.remote_only().empty());
  EXPECT_FALSE(decoder.complete());
}

// The decoder reads only the wire's share of a symbol: symbols cut to 32 checksum bits and
// (past index 0) a count byte decode exactly like whole ones, for a one-sided difference of
// more than 256 too (counts wrap modulo 256 and the estimate still reads them right).
TEST(RibltDecoder, SymbolsCutAsOnTheWireDecodeLikeWholeOnes) {
  std::mt19937_64 rng(30);
  for (size_t diff : {10, 300, 1000}) {
    // All of the difference on the remote side: counts far outside -128..127.
    RibltSketch local(4096), remote(4096);
    std::set<ItemId> remote_only;
    for (int i = 0; i < 2000; ++i) {
      ItemId id = RandomId(rng);
      local.Insert(id);
      remote.Insert(id);
    }
    for (size_t i = 0; i < diff; ++i) {
      ItemId id = RandomId(rng);
      remote.Insert(id);
      remote_only.insert(id);
    }
    std::vector<CodedSymbol> cut(remote.symbols().begin(), remote.symbols().end());
    for (size_t i = 0; i < cut.size(); ++i) {
      cut[i].checksum_xor &= kWireChecksumMask;
      if (i > 0) cut[i].count = static_cast<uint8_t>(cut[i].count);
    }
    RibltDecoder whole(local, 4096), wire(local, 4096);
    ASSERT_TRUE(whole.Add(0, remote.symbols().first(512)).ok());
    ASSERT_TRUE(wire.Add(0, std::span<const CodedSymbol>(cut).first(512)).ok());
    EXPECT_EQ(wire.EstimateDifference(), whole.EstimateDifference()) << "difference " << diff;
    size_t at = 512;
    while (!wire.complete() && at < cut.size()) {
      ASSERT_TRUE(wire.Add(at, std::span<const CodedSymbol>(cut).subspan(at, 1)).ok());
      ++at;
    }
    ASSERT_TRUE(wire.complete()) << "difference " << diff;
    EXPECT_EQ(std::set<ItemId>(wire.remote_only().begin(), wire.remote_only().end()), remote_only);
    EXPECT_TRUE(wire.local_only().empty());
  }
}

TEST(RibltDecoder, HostileCountsDoNotOverflow) {
  std::vector<CodedSymbol> hostile(8);
  for (auto& s : hostile) s.count = INT64_MIN;
  RibltSketch local(8);
  std::mt19937_64 rng(27);
  for (int i = 0; i < 50; ++i) local.Insert(RandomId(rng));
  RibltDecoder decoder(local, 8);
  EXPECT_TRUE(decoder.Add(0, hostile).ok());
  EXPECT_FALSE(decoder.complete());
}

}  // namespace
}  // namespace topo::sync
