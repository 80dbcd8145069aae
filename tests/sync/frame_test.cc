// Sync session frames: every frame round-trips, the bytes are as documented, and malformed
// frames are refused with the field at fault.
#include "sync/frame.h"

#include <gtest/gtest.h>

#include <random>

#include "util/encoding.h"

namespace topo::sync {
namespace {

template <size_t N>
FixedBytes<N> Filled(uint8_t b) {
  FixedBytes<N> f;
  f.bytes.fill(b);
  return f;
}

std::vector<Frame> EveryFrame() {
  return {
      {0, HelloFrame{}},
      {1, HelloFrame{{{Filled<32>(1), 0}, {Filled<32>(2), 1'000'000}}}},
      {2, ReconcileFrame{Filled<32>(3), Algorithm::kRiblt, {1, 2, 3}}},
      {3, ReconcileFrame{Filled<32>(3), Algorithm::kNegentropy, {}}},
      {4, WantFrame{Filled<32>(4), {Filled<32>(5), Filled<32>(6)}}},
      {5, VerticesFrame{true, {}}},
      {6, VerticesFrame{false, {{1, 2}, Bytes(300, 7)}}},
      {uint64_t{1} << 40, ErrorFrame{Code::kPermissionDenied, "not entitled"}},
      {7, ReconciledFrame{Filled<32>(3), Algorithm::kNegentropy, {0x61}}},
  };
}

TEST(SyncFrame, EveryFrameRoundTrips) {
  for (const Frame& f : EveryFrame()) {
    Bytes enc = EncodeFrame(f);
    auto dec = DecodeFrame(enc);
    ASSERT_TRUE(dec.ok()) << FrameName(f.body) << ": " << dec.status().ToString();
    EXPECT_TRUE(*dec == f) << FrameName(f.body);
    EXPECT_EQ(EncodeFrame(*dec), enc);
  }
}

TEST(SyncFrame, BytesAreAsDocumented) {
  Frame want{300, WantFrame{Filled<32>(0xaa), {Filled<32>(0xbb)}}};
  // version 1, type 3, request id 300 (LEB128 ac 02), object, count 1, id.
  EXPECT_EQ(HexEncode(EncodeFrame(want)),
            "0103ac02" + std::string(64, 'a') + "01" + std::string(64, 'b'));
  Frame vertices{1, VerticesFrame{true, {{0x10, 0x20}}}};
  EXPECT_EQ(HexEncode(EncodeFrame(vertices)),
            "01040101010210"
            "20");
  Frame error{0, ErrorFrame{Code::kRejected, "no"}};
  EXPECT_EQ(HexEncode(EncodeFrame(error)),
            "01050005"
            "02"
            "6e6f");
}

void ExpectCorrupt(const Bytes& b, std::string_view needle) {
  auto dec = DecodeFrame(b);
  ASSERT_FALSE(dec.ok()) << HexEncode(b);
  EXPECT_EQ(dec.status().code(), Code::kCorruption);
  EXPECT_NE(dec.status().message().find(needle), std::string::npos) << dec.status().ToString();
}

TEST(SyncFrame, MalformedFramesAreRefusedWithTheField) {
  ExpectCorrupt({}, "frame.version");
  ExpectCorrupt({2, 1, 0, 0}, "unsupported version 2");
  ExpectCorrupt({1, 9, 0}, "unknown frame type 9");
  ExpectCorrupt({1, 0, 0}, "unknown frame type 0");
  ExpectCorrupt({1, 1}, "frame.request_id");
  ExpectCorrupt({1, 1, 0x80, 0x00, 0}, "request_id");  // non-canonical varint
  // hello: unsorted, and a count past the frame.
  Bytes unsorted = EncodeFrame({0, HelloFrame{{{Filled<32>(2), 0}, {Filled<32>(1), 0}}}});
  ExpectCorrupt(unsorted, "not sorted");
  ExpectCorrupt({1, 1, 0, 0x80, 0x80, 0x04}, "hello.count");
  // hello: an item count no object reaches (a trillion) is a lie, refused here.
  ExpectCorrupt(EncodeFrame({0, HelloFrame{{{Filled<32>(1), 1'000'000'000'000}}}}), "hello.items");
  EXPECT_TRUE(DecodeFrame(EncodeFrame({0, HelloFrame{{{Filled<32>(1), kMaxOfferItems}}}})).ok());
  // reconcile: unknown algorithm, payload longer than the frame.
  Bytes rec = EncodeFrame({0, ReconcileFrame{Filled<32>(1), Algorithm::kRiblt, {1}}});
  rec[3 + 32] = 7;
  ExpectCorrupt(rec, "unknown algorithm 7");
  Bytes longer = EncodeFrame({0, ReconcileFrame{Filled<32>(1), Algorithm::kRiblt, {1}}});
  longer[3 + 33] = 5;
  ExpectCorrupt(longer, "reconcile.payload");
  // want: empty, over the bound.
  Bytes empty_want = EncodeFrame({0, WantFrame{Filled<32>(1), {Filled<32>(2)}}});
  empty_want[3 + 32] = 0;
  empty_want.resize(3 + 33);
  ExpectCorrupt(empty_want, "wants nothing");
  Bytes big_want = EncodeFrame({0, WantFrame{Filled<32>(1), {Filled<32>(2)}}});
  big_want.resize(3 + 32);
  big_want.push_back(0x81);
  big_want.push_back(0x20);  // 4097
  ExpectCorrupt(big_want, "want.count");
  // vertices: bad flag, an empty vertex.
  ExpectCorrupt({1, 4, 0, 2, 0}, "vertices.last");
  ExpectCorrupt({1, 4, 0, 1, 1, 0, 0}, "vertices.vertex: empty");
  ExpectCorrupt({1, 4, 0, 1, 1, 0}, "more than the frame holds");
  // error: unknown code, text that is not UTF-8.
  ExpectCorrupt({1, 5, 0, 99, 0}, "error.code");
  ExpectCorrupt({1, 5, 0, 1, 1, 0xff}, "error.message");
  // Every truncation of every frame fails, and so does a trailing byte.
  for (const Frame& f : EveryFrame()) {
    Bytes enc = EncodeFrame(f);
    for (size_t n = 0; n < enc.size(); ++n)
      EXPECT_FALSE(DecodeFrame(ByteView(enc).subspan(0, n)).ok()) << FrameName(f.body) << " " << n;
    enc.push_back(0);
    ExpectCorrupt(enc, "trailing");
  }
}

TEST(SyncFrame, RandomBytesNeverCrashAndRoundTripWhenAccepted) {
  std::mt19937_64 rng(7);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b(rng() % 80);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    if (!b.empty()) b[0] = 1;
    if (b.size() > 1) b[1] = static_cast<uint8_t>(1 + rng() % 5);
    auto dec = DecodeFrame(b);
    if (!dec.ok()) continue;
    ++accepted;
    EXPECT_EQ(EncodeFrame(*dec), b);
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace topo::sync
