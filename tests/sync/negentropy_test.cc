// Negentropy v1 sessions: exact bytes of small messages, reconciliation of random sets with
// and without frame-size limits, identical messages from both storages, and strict
// rejection of malformed messages.
#include "sync/negentropy.h"

#include <gtest/gtest.h>

#include <random>

#include "sync/negentropy_varint.h"
#include "sync/reconcile_sets.h"
#include "util/encoding.h"

namespace topo::sync {
namespace {

using testing::BuildIndex;
using testing::ExpectDifference;
using testing::MakeSetPair;
using testing::RunReconciliation;
using testing::SealedVector;

std::string Hex(ByteView b) { return HexEncode(b); }
Bytes Unhex(const std::string& s) { return HexDecode(s).value(); }

ItemId Filled(uint8_t b) {
  ItemId id;
  id.bytes.fill(b);
  return id;
}

Negentropy Session(const RangeStorage& s, uint64_t limit = 0) {
  return Negentropy::Create(s, limit).value();
}

Fingerprint FingerprintOf(const std::vector<Item>& items, size_t begin, size_t end) {
  IdSum sum;
  for (size_t i = begin; i < end; ++i) sum.Add(items[i].id);
  return sum.ToFingerprint(end - begin);
}

const std::string kEe(64, 'e');

// The exchange of hoytech/negentropy's test/protoversion.pl: a server holding one item
// answers "full range, empty IdList" with its one id; so does a client's first message.
TEST(Negentropy, OneItemMessagesAreExact) {
  auto storage = SealedVector({Item{12345, Filled(0xee)}});
  Negentropy server = Session(storage);
  auto answer = server.Reconcile(Unhex("6100000200"));
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  // 61 version | 00 infinity | 00 no id prefix | 02 IdList | 01 one id | the id
  EXPECT_EQ(Hex(*answer->reply), "6100000201" + kEe);
  EXPECT_TRUE(answer->have.empty() && answer->need.empty());

  Negentropy client = Session(storage);
  EXPECT_EQ(Hex(client.Initiate()), "6100000201" + kEe);
  // The server's answer to that: it holds the same item, so its IdList is the same.
  Negentropy server2 = Session(storage);
  EXPECT_EQ(Hex(*server2.Reconcile(client.Initiate())->reply), "6100000201" + kEe);
}

TEST(Negentropy, EmptySetsFinishInOneRoundTrip) {
  auto empty = SealedVector({});
  Negentropy client = Session(empty), server = Session(empty);
  Bytes first = client.Initiate();
  EXPECT_EQ(Hex(first), "6100000200");
  auto answer = server.Reconcile(first);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(Hex(*answer->reply), "6100000200");
  auto step = client.Reconcile(*answer->reply);
  ASSERT_TRUE(step.ok());
  EXPECT_FALSE(step->reply.has_value());
}

TEST(Negentropy, UnsupportedVersionIsAnsweredWithVersionOne) {
  auto storage = SealedVector({Item{12345, Filled(0xee)}});
  Negentropy server = Session(storage);
  auto answer = server.Reconcile(Unhex("62aabbccddeeff"));
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(Hex(*answer->reply), "61");
  // The client retries in v1 and gets the normal answer.
  EXPECT_EQ(Hex(*server.Reconcile(Unhex("6100000200"))->reply), "6100000201" + kEe);
  EXPECT_EQ(Hex(*server.Reconcile(Unhex("6f"))->reply), "61");

  // An initiator cannot downgrade below v1: the answer 0x60 is an error, not a crash.
  Negentropy client = Session(storage);
  client.Initiate();
  auto step = client.Reconcile(Unhex("60"));
  EXPECT_EQ(step.status().code(), Code::kRejected);
  // Outside 0x60..0x6f it is not negentropy at all, for either side.
  EXPECT_EQ(server.Reconcile(Unhex("70")).status().code(), Code::kCorruption);
  EXPECT_EQ(server.Reconcile(Unhex("00")).status().code(), Code::kCorruption);
  EXPECT_EQ(client.Reconcile(Unhex("5f")).status().code(), Code::kCorruption);
}

// 32 items with distinct timestamps 1000..1031: the first message is 16 Fingerprint
// ranges of two items; each bound is the timestamp of the next bucket's first item with no
// id prefix, its timestamp a delta from the previous bound.
TEST(Negentropy, BoundsWithDistinctTimestamps) {
  std::vector<Item> items;
  std::mt19937_64 rng(1);
  for (uint64_t i = 0; i < 32; ++i) items.push_back(Item{1000 + i, testing::RandomId(rng)});
  auto storage = SealedVector(items);
  Bytes msg = Session(storage).Initiate();
  std::string expect = "61";
  for (size_t b = 0; b < 16; ++b) {
    if (b == 0) {
      expect += "876b00";  // Varint(1 + 1002) = 87 6b, prefix length 0
    } else if (b < 15) {
      expect += "0300";  // 1 + (1002 + 2b) - (1000 + 2b)
    } else {
      expect += "0000";  // infinity
    }
    expect += "01" + Hex(FingerprintOf(items, 2 * b, 2 * b + 2).view());
  }
  EXPECT_EQ(Hex(msg), expect);
  ASSERT_EQ(msg.size(), 1 + 3 + 14 * 2 + 2 + 16 * 17u);
}

// Equal timestamps: a bound carries the shortest id prefix that separates the last item of
// one bucket from the first of the next (their shared prefix plus one byte).
TEST(Negentropy, BoundsWithEqualTimestampsCarryIdPrefixes) {
  std::vector<Item> items;
  std::mt19937_64 rng(2);
  for (uint8_t i = 0; i < 32; ++i) {
    ItemId id = testing::RandomId(rng);
    id.bytes[0] = 0x10;
    id.bytes[1] = i;
    items.push_back(Item{5, id});
  }
  auto storage = SealedVector(items);
  Bytes msg = Session(storage).Initiate();
  std::string expect = "61";
  for (size_t b = 0; b < 16; ++b) {
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "0210%02zx", 2 * b + 2);  // length 2: 10, index
    if (b == 0) {
      expect += std::string("06") + prefix;  // Varint(1 + 5)
    } else if (b < 15) {
      expect += std::string("01") + prefix;  // same timestamp: delta 0
    } else {
      expect += "0000";
    }
    expect += "01" + Hex(FingerprintOf(items, 2 * b, 2 * b + 2).view());
  }
  EXPECT_EQ(Hex(msg), expect);
}

TEST(Negentropy, FrameSizeLimitBelowMinimumIsRefused) {
  auto storage = SealedVector({});
  EXPECT_EQ(Negentropy::Create(storage, 4095).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Negentropy::Create(storage, 4096).ok());
  EXPECT_TRUE(Negentropy::Create(storage, 0).ok());
}

struct Shape {
  const char* name;
  size_t common, only_a, only_b;
  uint64_t spread;  // timestamps drawn from this many values
  uint64_t limit_a, limit_b;
};

class RandomSets : public ::testing::TestWithParam<Shape> {};

TEST_P(RandomSets, HaveAndNeedAreTheTrueDifference) {
  const Shape& s = GetParam();
  auto pair = MakeSetPair(std::hash<std::string>()(s.name), s.common, s.only_a, s.only_b, s.spread);
  auto a = BuildIndex(pair.a);
  auto b = BuildIndex(pair.b);
  auto t = RunReconciliation(a, b, s.limit_a, s.limit_b);
  ExpectDifference(t, pair, s.limit_a || s.limit_b);
  if (!s.limit_a && !s.limit_b) {
    // log16 of the set size bounds the rounds when nothing limits a message.
    EXPECT_LE(t.round_trips, 6u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Negentropy, RandomSets,
    ::testing::Values(Shape{"empty_vs_some", 0, 0, 500, 1000, 0, 0},
                      Shape{"some_vs_empty", 0, 500, 0, 1000, 0, 0},
                      Shape{"identical", 10000, 0, 0, 10000, 0, 0},
                      Shape{"tiny", 3, 1, 1, 10, 0, 0}, Shape{"thirty_one", 31, 0, 1, 100, 0, 0},
                      Shape{"thirty_two", 32, 1, 0, 100, 0, 0},
                      Shape{"one_timestamp", 5000, 50, 50, 1, 0, 0},
                      Shape{"few_timestamps", 20000, 300, 200, 7, 0, 0},
                      Shape{"big_small_diff", 100000, 50, 50, 100000, 0, 0},
                      Shape{"big_large_diff", 60000, 20000, 20000, 100000, 0, 0},
                      Shape{"limited_small_diff", 100000, 50, 50, 100000, 4096, 4096},
                      Shape{"limited_large_diff", 60000, 20000, 20000, 100000, 60000, 500000},
                      Shape{"limited_tight", 20000, 5000, 5000, 20000, 4096, 4096},
                      Shape{"limited_one_side", 30000, 0, 30000, 30000, 0, 8192},
                      Shape{"limited_one_timestamp", 10000, 1000, 1000, 1, 4096, 5000}),
    [](const ::testing::TestParamInfo<Shape>& info) { return std::string(info.param.name); });

TEST(Negentropy, BothStoragesGiveIdenticalMessages) {
  for (uint64_t limit : {uint64_t{0}, uint64_t{4096}, uint64_t{20000}}) {
    auto pair = MakeSetPair(31 + limit, 30000, 700, 900, 20000);
    auto va = SealedVector(pair.a), vb = SealedVector(pair.b);
    auto ia = BuildIndex(pair.a), ib = BuildIndex(pair.b);
    auto by_vector = RunReconciliation(va, vb, limit, limit);
    auto by_index = RunReconciliation(ia, ib, limit, limit);
    auto mixed = RunReconciliation(ia, vb, limit, limit);
    ExpectDifference(by_index, pair, limit != 0);
    EXPECT_TRUE(by_vector.messages == by_index.messages) << "limit " << limit;
    EXPECT_TRUE(mixed.messages == by_index.messages) << "limit " << limit;
    EXPECT_EQ(by_vector.have, by_index.have);
    EXPECT_EQ(by_vector.need, by_index.need);
  }
}

// The set may change between messages: a session keeps no positions across calls.
TEST(Negentropy, IndexChangesBetweenRoundsStillConverge) {
  auto pair = MakeSetPair(41, 20000, 3000, 3000, 20000);
  auto a = BuildIndex(pair.a), b = BuildIndex(pair.b);
  Negentropy client = Session(a, 4096), server = Session(b, 4096);
  Bytes msg = client.Initiate();
  std::set<ItemId> have, need;
  std::mt19937_64 rng(42);
  for (int round = 0; round < 10000; ++round) {
    auto answer = server.Reconcile(msg);
    ASSERT_TRUE(answer.ok());
    auto step = client.Reconcile(*answer->reply);
    ASSERT_TRUE(step.ok()) << step.status().ToString();
    have.insert(step->have.begin(), step->have.end());
    need.insert(step->need.begin(), step->need.end());
    if (!step->reply) break;
    msg = *step->reply;
    // Both sides receive the same new item mid-session: no difference is made.
    Item fresh{1'677'970'534 + rng() % 20000, testing::RandomId(rng)};
    ASSERT_TRUE(a.Insert(fresh).ok());
    ASSERT_TRUE(b.Insert(fresh).ok());
  }
  EXPECT_TRUE(have == pair.only_a);
  EXPECT_TRUE(need == pair.only_b);
}

// ---- Malformed messages ----

Status Feed(bool initiator, const std::string& hex) {
  static const SortedVectorStorage storage = [] {
    std::vector<Item> items;
    std::mt19937_64 rng(3);
    for (int i = 0; i < 100; ++i) items.push_back(Item{uint64_t(i), testing::RandomId(rng)});
    return SealedVector(items);
  }();
  Negentropy n = Session(storage);
  if (initiator) n.Initiate();
  auto r = n.Reconcile(Unhex(hex));
  return r.ok() ? Status::Ok() : r.status();
}

TEST(Negentropy, MalformedMessagesAreRejectedWithAReason) {
  const std::string fp16(32, 'a');
  const std::string id32(64, 'b');
  struct Case {
    std::string hex, why;
  };
  const std::vector<Case> cases = {
      {"", "empty"},
      {"61"
       "00",
       "bound without its prefix length"},
      {"61"
       "0000",
       "bound without a mode"},
      {"61"
       "80",
       "varint with a leading zero digit"},
      {"61"
       "ffffffffffffffffffff7f0000",
       "varint above 2^64-1"},
      {"61"
       "0021" +
           std::string(66, '0') + "00",
       "id prefix of 33 bytes"},
      {"61"
       "0001aa00",
       "infinity bound with an id prefix"},
      {"61"
       "0202"
       "aa",
       "prefix cut short"},
      {"61"
       "0000"
       "03",
       "unknown mode"},
      {"61"
       "0000"
       "01"
       "aabb",
       "fingerprint cut short"},
      {"61"
       "0000"
       "02"
       "02" +
           id32,
       "id list shorter than its count"},
      {"61"
       "0000"
       "02"
       "8fffffff7f",
       "id count far beyond the message"},
      {"61"
       "0b010200"
       "01010100",
       "bound (10, 01) after bound (10, 02)"},
      {"61"
       "000000"
       "010000",
       "range after the infinity bound"},
      {"61"
       "020000"
       "81ffffffffffffffff7f0000",
       "timestamp 2^64-1 reached by a delta"},
      {"61"
       "0b0000"
       "81ffffffffffffffff7f0000",
       "timestamp past 2^64-1 by a delta"},
  };
  // Well-formed neighbours of those cases, which must pass.
  const std::vector<std::string> valid = {
      "61",  // no ranges: everything skipped
      "61"
      "0b0000"
      "000000",  // (10) skip, then infinity skip
      "61"
      "0b010100"
      "01010200",  // (10, 01) then (10, 02)
      "61"
      "000000"
      "000000",  // infinity twice: an empty last range
      "61"
      "81ffffffffffffffff7f0000",  // timestamp 2^64-2
      "61"
      "0000"
      "01" +
          fp16,  // one fingerprint over everything
      "61"
      "0000"
      "02"
      "01" +
          id32,  // one id
  };
  for (bool initiator : {false, true}) {
    for (const Case& c : cases) {
      Status s = Feed(initiator, c.hex);
      EXPECT_EQ(s.code(), Code::kCorruption) << c.why << " (" << c.hex << "): " << s.ToString();
      EXPECT_FALSE(s.message().empty());
    }
    for (const std::string& hex : valid) {
      Status s = Feed(initiator, hex);
      EXPECT_TRUE(s.ok()) << hex << ": " << s.ToString();
    }
  }
}

// A responder that runs out of room stops answering but still checks the rest of the
// message.
TEST(Negentropy, MalformedTailAfterTheFrameLimitIsStillRefused) {
  std::vector<Item> items;
  std::mt19937_64 rng(4);
  for (int i = 0; i < 1000; ++i) items.push_back(Item{uint64_t(i), testing::RandomId(rng)});
  auto storage = SealedVector(items);
  // "Send me every id": 32,000 bytes of ids do not fit in 4,096.
  auto ok = Session(storage, 4096)
                .Reconcile(Unhex("6100000200"
                                 "000000"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_LE(ok->reply->size(), 4096u);
  EXPECT_EQ(Session(storage, 4096)
                .Reconcile(Unhex("6100000200"
                                 "000003"))
                .status()
                .code(),
            Code::kCorruption);
  EXPECT_EQ(Session(storage, 4096)
                .Reconcile(Unhex("6100000200"
                                 "0000"))
                .status()
                .code(),
            Code::kCorruption);
}

// Random corruptions of real messages: every outcome is a value (a reply or an error),
// never a crash or a runaway.
TEST(Negentropy, RandomlyCorruptedMessagesNeverCrash) {
  auto pair = MakeSetPair(51, 2000, 100, 100, 500);
  auto a = SealedVector(pair.a), b = SealedVector(pair.b);
  auto t = RunReconciliation(a, b);
  ASSERT_TRUE(t.ok);
  std::mt19937_64 rng(52);
  int errors = 0, accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes m = t.messages[rng() % t.messages.size()];
    switch (rng() % 4) {
      case 0:
        m[rng() % m.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
        break;
      case 1:
        m.resize(rng() % m.size());
        break;
      case 2:
        m.insert(m.begin() + 1 + rng() % m.size(), static_cast<uint8_t>(rng()));
        break;
      default:
        for (int k = 0; k < 4; ++k) m[rng() % m.size()] = static_cast<uint8_t>(rng());
    }
    const bool initiator = rng() % 2;
    Negentropy n = Session(initiator ? a : b, rng() % 2 ? 4096 : 0);
    if (initiator) n.Initiate();
    auto r = n.Reconcile(m);
    if (r.ok()) {
      ++accepted;
      if (r->reply && n.frame_size_limit()) {
        ASSERT_LE(r->reply->size(), 4096u);
      }
    } else {
      ++errors;
      ASSERT_NE(r.status().code(), Code::kOk);
    }
  }
  EXPECT_GT(errors, 1000);
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace topo::sync
