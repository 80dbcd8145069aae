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

// The symbol as it travels: 32 checksum bits, and past index 0 the count's low byte.
CodedSymbol Cut(CodedSymbol s, uint64_t index) {
  s.checksum_xor &= kWireChecksumMask;
  if (index != 0) s.count = static_cast<uint8_t>(s.count);
  return s;
}

// The docs/PROTOCOL.md examples, byte for byte.
TEST(RibltFrame, SymbolsFrameTestVector) {
  SymbolsFrame f;
  f.start = 300;
  f.last = true;
  CodedSymbol s;
  s.Apply(CountingId(), ItemChecksum(CountingId()), -1);
  f.symbols.push_back(s);
  f.count_residues = {0xaa, 0xbb, 0xcc};
  const Bytes expected =
      Hex("05"                                                                // type SYMBOLS
          "ac02"                                                              // start 300
          "01"                                                                // one symbol
          "01"                                                                // flags: last
          "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"  // id xor
          "0182234c"    // the low 32 bits of checksum 0x980aa6db4c238201, little-endian
          "ff"          // count -1: its low byte
          "03aabbcc");  // the low count bytes of symbols 301..303
  EXPECT_EQ(HexEncode(EncodeRibltFrame(f)), HexEncode(expected));
  EXPECT_EQ(EncodeRibltFrame(f).size(), 5 + kEncodedSymbolSize + 4);
  Result<RibltFrame> back = DecodeRibltFrame(expected);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  SymbolsFrame cut = f;
  cut.symbols[0] = Cut(s, 300);
  EXPECT_EQ(std::get<SymbolsFrame>(*back), cut);
  EXPECT_EQ(cut.symbols[0].count, 255);

  // At index 0 the count travels whole, as a zig-zag varint: 300 is d804.
  SymbolsFrame first;
  first.symbols.push_back(s);
  first.symbols[0].count = 300;
  first.symbols.push_back(s);
  EXPECT_EQ(HexEncode(EncodeRibltFrame(first)),
            "05"
            "00"
            "02"
            "00"
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            "0182234c"
            "d804"
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            "0182234c"
            "ff"
            "00");
}

TEST(RibltFrame, DoneFrameTestVector) {
  DoneFrame f{300, {Id(0x11), Id(0x22)}};
  EXPECT_EQ(HexEncode(EncodeRibltFrame(f)),
            "06"
            "ac02"
            "02" +
                std::string(64, '1') + std::string(64, '2'));
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
  SymbolsFrame from_zero = symbols;
  from_zero.start = 0;
  DoneFrame done{2, {Id(3), Id(4)}};
  std::vector<RibltFrame> frames = {symbols,
                                    from_zero,
                                    SymbolsFrame{7, true, {}, {}},
                                    MoreFrame{64, 1000},
                                    done,
                                    DoneFrame{},
                                    FallbackFrame{FallbackReason::kNoProgress},
                                    FallbackFrame{FallbackReason::kInconsistent}};
  for (const RibltFrame& f : frames) {
    Bytes b = EncodeRibltFrame(f);
    Result<RibltFrame> back = DecodeRibltFrame(b);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    RibltFrame expected = f;
    if (auto* sf = std::get_if<SymbolsFrame>(&expected))
      for (size_t i = 0; i < sf->symbols.size(); ++i)
        sf->symbols[i] = Cut(sf->symbols[i], sf->start + i);
    EXPECT_EQ(*back, expected);
  }
  // Index 0 keeps its whole count; the others their low byte.
  Result<RibltFrame> decoded = DecodeRibltFrame(EncodeRibltFrame(from_zero));
  ASSERT_TRUE(decoded.ok());
  const SymbolsFrame& back = std::get<SymbolsFrame>(*decoded);
  EXPECT_EQ(back.symbols[0].count, from_zero.symbols[0].count);
  EXPECT_EQ(back.symbols[1].count, from_zero.symbols[1].count & 0xff);
  EXPECT_EQ(HexEncode(EncodeRibltFrame(MoreFrame{64, 1000})), "0240e807");
  EXPECT_EQ(HexEncode(EncodeRibltFrame(FallbackFrame{FallbackReason::kSketchExhausted})), "0402");
}

TEST(RibltFrame, MalformedFramesAreRejectedWithTheField) {
  // One symbol at index 0 (count a varint) and one past it (count a byte), each with count 1.
  const std::string sym0 = std::string(64, '0') + std::string(8, '0') + "02";
  const std::string sym = std::string(64, '0') + std::string(8, '0') + "01";
  struct Case {
    std::string hex;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"", "riblt.type: truncated"},
      {"09", "riblt.type: unknown frame type 9"},
      {"00", "riblt.type: unknown frame type 0"},
      // Version 1's SYMBOLS and DONE.
      {"01000100" + std::string(64, '0') + std::string(16, '0') + "0200",
       "riblt.type: unknown frame type 1"},
      {"030000", "riblt.type: unknown frame type 3"},
      {"050001"
       "00",
       "riblt.symbols: truncated"},
      {"050001"
       "02" +
           sym0,
       "riblt.symbols.flags: unknown flag bits"},
      {"050000"
       "00",
       "riblt.symbols.count: zero symbols in a frame not last"},
      {"05000100" + sym0 + "0000", "riblt frame: trailing bytes"},
      {"05010100" + sym + "0000", "riblt frame: trailing bytes"},
      {"05000100" + sym0 + "050000", "riblt.symbols.count_residues: truncated"},
      {"05000100" + sym0 + "8180040000", "riblt.symbols.count_residues: over its bound"},
      {"05ffffff070100" + sym + "020000", "riblt.symbols.count_residues: past the largest"},
      {"05800001"
       "00",
       "riblt.symbols.start: non-canonical varint"},
      {"050081800401", "riblt.symbols.count: over its bound"},
      {"05"
       "8180800801"
       "01",
       "riblt.symbols.start: over its bound"},
      {"05"
       "ffffff07"
       "8080"
       "04"
       "01",
       "riblt.symbols.count: past the largest index"},
      {"05000100" + sym0.substr(0, sym0.size() - 2) + "80", "riblt.symbols.count_field: truncated"},
      {"05000100" + sym0.substr(0, sym0.size() - 2) + "8000" + std::string(72, '0'),
       "riblt.symbols.count_field: non-canonical"},
      {"024000", "riblt.more.count: zero"},
      {"0240818004", "riblt.more.count: over its bound"},
      {"0240", "riblt.more.count: truncated"},
      {"0600", "riblt.done.responder_only: truncated"},
      {"06818080080100", "riblt.done.initiator_only_count: over its bound"},
      {"0600"
       "02" +
           std::string(64, '1') + std::string(64, '0'),
       "riblt.done.responder_only: not sorted or has duplicates"},
      {"0600"
       "02" +
           std::string(64, '1') + std::string(64, '1'),
       "riblt.done.responder_only: not sorted or has duplicates"},
      {"0600ffff03", "riblt.done.responder_only: truncated"},
      {"0600"
       "01" +
           std::string(64, '1') + "00",
       "riblt frame: trailing bytes"},
      {"0400", "riblt.fallback.reason: unknown reason"},
      {"0405", "riblt.fallback.reason: unknown reason"},
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
    if (!b.empty()) b[0] = static_cast<uint8_t>(2 + rng() % 5);  // MORE .. DONE
    Result<RibltFrame> r = DecodeRibltFrame(b);
    if (!r.ok()) continue;
    ++accepted;
    EXPECT_EQ(EncodeRibltFrame(*r), b);  // canonical: one encoding per frame
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace topo::sync
