#include "sync/riblt_frame.h"

#include <gtest/gtest.h>

#include <random>

#include "util/encoding.h"

namespace topo::sync {
namespace {

ItemId Id(uint8_t fill) {
  ItemId id;
  id.bytes.fill(fill);
  return id;
}

ItemId CountingId() {
  ItemId id;
  for (size_t i = 0; i < 32; ++i) id.bytes[i] = static_cast<uint8_t>(i);
  return id;
}

Bytes Hex(std::string_view s) { return HexDecode(s).value(); }

Status DecodeError(const Bytes& b) {
  Result<RibltFrame> r = DecodeRibltFrame(b);
  return r.ok() ? Status::Ok() : r.status();
}

// The docs/PROTOCOL.md example, byte for byte.
TEST(RibltFrame, SymbolsFrameTestVector) {
  SymbolsFrame f;
  f.start = 300;
  f.last = true;
  CodedSymbol s;
  s.Apply(CountingId(), ItemChecksum(CountingId()), -1);
  f.symbols.push_back(s);
  f.count_residues = {0xaa, 0xbb, 0xcc};
  const Bytes expected =
      Hex("01"                                                                // type SYMBOLS
          "ac02"                                                              // start 300
          "01"                                                                // one symbol
          "01"                                                                // flags: last
          "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"  // id xor
          "0182234cdba60a98"  // checksum xor 0x980aa6db4c238201, little-endian
          "01"                // count -1, zig-zag
          "03aabbcc");        // the low count bytes of symbols 301..303
  EXPECT_EQ(HexEncode(EncodeRibltFrame(f)), HexEncode(expected));
  Result<RibltFrame> back = DecodeRibltFrame(expected);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(std::get<SymbolsFrame>(*back), f);
  EXPECT_EQ(EncodedSymbolSize(s), 41u);
}

TEST(RibltFrame, EveryFrameRoundTrips) {
  std::mt19937_64 rng(3);
  SymbolsFrame symbols;
  symbols.start = 64;
  symbols.count_residues = Bytes(300, 0x7f);
  for (int i = 0; i < 50; ++i) {
    CodedSymbol s;
    for (auto& b : s.id_xor.bytes) b = static_cast<uint8_t>(rng());
    s.checksum_xor = rng();
    s.count = static_cast<int64_t>(rng());
    symbols.symbols.push_back(s);
  }
  DoneFrame done{{Id(1), Id(2), Id(9)}, {Id(3), Id(4)}};
  std::vector<RibltFrame> frames = {symbols,
                                    SymbolsFrame{7, true, {}, {}},
                                    MoreFrame{64, 1000},
                                    done,
                                    DoneFrame{},
                                    FallbackFrame{FallbackReason::kNoProgress}};
  for (const RibltFrame& f : frames) {
    Bytes b = EncodeRibltFrame(f);
    Result<RibltFrame> back = DecodeRibltFrame(b);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, f);
  }
  EXPECT_EQ(HexEncode(EncodeRibltFrame(MoreFrame{64, 1000})), "0240e807");
  EXPECT_EQ(HexEncode(EncodeRibltFrame(FallbackFrame{FallbackReason::kSketchExhausted})), "0402");
}

TEST(RibltFrame, MalformedFramesAreRejectedWithTheField) {
  const std::string sym = std::string(64, '0') + std::string(16, '0') + "02";  // one symbol
  struct Case {
    std::string hex;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"", "riblt.type: truncated"},
      {"09", "riblt.type: unknown frame type 9"},
      {"00", "riblt.type: unknown frame type 0"},
      {"010001"
       "00",
       "riblt.symbols: truncated"},
      {"010001"
       "02" +
           sym,
       "riblt.symbols.flags: unknown flag bits"},
      {"010000"
       "00",
       "riblt.symbols.count: zero symbols in a frame not last"},
      {"01000100" + sym + "0000", "riblt frame: trailing bytes"},
      {"01000100" + sym + "050000", "riblt.symbols.count_residues: truncated"},
      {"01000100" + sym + "8180040000", "riblt.symbols.count_residues: over its bound"},
      {"01ffffff070100" + sym + "020000", "riblt.symbols.count_residues: past the largest"},
      {"01800001"
       "00",
       "riblt.symbols.start: non-canonical varint"},
      {"010081800401", "riblt.symbols.count: over its bound"},
      {"01"
       "8180800801"
       "01",
       "riblt.symbols.start: over its bound"},
      {"01"
       "ffffff07"
       "8080"
       "04"
       "01",
       "riblt.symbols.count: past the largest index"},
      {"01000100" + sym.substr(0, sym.size() - 2) + "80", "riblt.symbols.count_field: truncated"},
      {"024000", "riblt.more.count: zero"},
      {"0240818004", "riblt.more.count: over its bound"},
      {"0240", "riblt.more.count: truncated"},
      {"0302" + std::string(64, '1') + std::string(64, '0') + "00",
       "riblt.done.initiator_only: not sorted or has duplicates"},
      {"0302" + std::string(64, '1') + std::string(64, '1') + "00",
       "riblt.done.initiator_only: not sorted or has duplicates"},
      {"0301" + std::string(64, '1') + "01" + std::string(64, '1'), "riblt.done: an id on both"},
      {"03ffff03", "riblt.done.initiator_only: truncated"},
      {"0400", "riblt.fallback.reason: unknown reason"},
      {"0404", "riblt.fallback.reason: unknown reason"},
      {"040101", "riblt frame: trailing bytes"},
  };
  for (const Case& c : cases) {
    Status st = DecodeError(Hex(c.hex));
    EXPECT_EQ(st.code(), Code::kCorruption) << c.hex << " -> " << st.ToString();
    EXPECT_NE(st.message().find(c.field), std::string::npos)
        << c.hex << " -> " << st.ToString() << " (wanted " << c.field << ")";
  }
}

TEST(RibltFrame, RandomBytesNeverCrashAndRoundTripWhenAccepted) {
  std::mt19937_64 rng(4);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b(rng() % 60);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    if (!b.empty()) b[0] = static_cast<uint8_t>(1 + rng() % 4);
    Result<RibltFrame> r = DecodeRibltFrame(b);
    if (!r.ok()) continue;
    ++accepted;
    EXPECT_EQ(EncodeRibltFrame(*r), b);  // canonical: one encoding per frame
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace topo::sync
