#include "codec/crdt_op.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "codec/reader.h"
#include "util/encoding.h"

namespace topo::codec {
namespace {

VertexId RandomId(std::mt19937_64& rng) {
  VertexId id;
  for (auto& b : id.bytes) b = static_cast<uint8_t>(rng());
  return id;
}

Bytes RandomBytes(std::mt19937_64& rng, size_t max) {
  Bytes b(rng() % (max + 1));
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

std::vector<VertexId> RandomIds(std::mt19937_64& rng, size_t min, size_t max) {
  std::vector<VertexId> ids(min + rng() % (max - min + 1));
  for (auto& id : ids) id = RandomId(rng);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

ElemId RandomElem(std::mt19937_64& rng) {
  return {RandomId(rng), static_cast<uint32_t>(rng() % kMaxListInsert)};
}

std::string RandomKey(std::mt19937_64& rng) {
  static const char* kKeys[] = {"a", "title", "caf\xc3\xa9", "x/y", "%", "\xe2\x82\xac"};
  return kKeys[rng() % std::size(kKeys)];
}

CrdtOp RandomOp(std::mt19937_64& rng, size_t maps = 0) {
  int which = static_cast<int>(rng() % 9);
  if (maps >= kMaxMapDepth && (which == 5 || which == 6)) which = 0;
  switch (which) {
    case 0: {
      int64_t deltas[] = {0, 1, -1, 63, -64, INT64_MAX, INT64_MIN, static_cast<int64_t>(rng())};
      return {CounterAdd{deltas[rng() % std::size(deltas)]}};
    }
    case 1:
      return {LwwSet{RandomBytes(rng, 40)}};
    case 2:
      return {MvSet{RandomBytes(rng, 40), RandomIds(rng, 0, 4)}};
    case 3:
      return {SetAdd{RandomBytes(rng, 40)}};
    case 4:
      return {SetRemove{RandomBytes(rng, 40), RandomIds(rng, 1, 4)}};
    case 5:
      return MakeMapUpdate(RandomKey(rng), RandomOp(rng, maps + 1));
    case 6:
      return {MapRemove{RandomKey(rng), RandomIds(rng, 1, 4)}};
    case 7: {
      ListInsert ins;
      if (rng() % 2) ins.after = RandomElem(rng);
      ins.values.resize(1 + rng() % 5);
      for (auto& v : ins.values) v = RandomBytes(rng, 4);
      return {ins};
    }
    default: {
      ListDelete del;
      for (size_t n = 1 + rng() % 5; n > 0; --n) del.elems.push_back(RandomElem(rng));
      std::sort(del.elems.begin(), del.elems.end());
      del.elems.erase(std::unique(del.elems.begin(), del.elems.end()), del.elems.end());
      return {del};
    }
  }
}

Bytes Hex(std::string_view hex) { return *HexDecode(hex); }

TEST(CrdtOp, RandomOpsRoundTripExactly) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 5000; ++i) {
    CrdtOp op = RandomOp(rng);
    ASSERT_TRUE(CheckCrdtOp(op).ok()) << CheckCrdtOp(op).ToString();
    Bytes enc = EncodeCrdtOp(op);
    auto dec = DecodeCrdtOp(enc);
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_EQ(*dec, op);
    EXPECT_EQ(dec->kind(), op.kind());
    EXPECT_EQ(EncodeCrdtOp(*dec), enc);
  }
}

TEST(CrdtOp, EveryTruncationAndAnyTrailingByteIsRejected) {
  std::mt19937_64 rng(12);
  for (int i = 0; i < 300; ++i) {
    Bytes enc = EncodeCrdtOp(RandomOp(rng));
    for (size_t n = 0; n < enc.size(); ++n) {
      auto dec = DecodeCrdtOp(ByteView(enc).first(n));
      ASSERT_FALSE(dec.ok()) << "prefix of " << n << " bytes decoded";
      EXPECT_EQ(dec.status().code(), Code::kCorruption);
    }
    Bytes longer = enc;
    longer.push_back(static_cast<uint8_t>(rng()));
    auto dec = DecodeCrdtOp(longer);
    ASSERT_FALSE(dec.ok());
    EXPECT_NE(dec.status().message().find("crdt_op: trailing bytes"), std::string::npos)
        << dec.status().ToString();
  }
}

TEST(CrdtOp, RandomBytesNeverCrashAndDecodedOpsAreCanonical) {
  std::mt19937_64 rng(13);
  for (int i = 0; i < 20000; ++i) {
    Bytes junk = RandomBytes(rng, 48);
    if (!junk.empty()) junk[0] = static_cast<uint8_t>(1 + rng() % 9);
    auto dec = DecodeCrdtOp(junk);
    if (dec.ok()) {
      EXPECT_TRUE(CheckCrdtOp(*dec).ok());
      EXPECT_EQ(EncodeCrdtOp(*dec), junk);
    }
  }
}

TEST(CrdtOp, TestVectors) {
  EXPECT_EQ(EncodeCrdtOp({CounterAdd{-3}}), Hex("0105"));
  EXPECT_EQ(EncodeCrdtOp({LwwSet{ToBytes("hi")}}), Hex("02026869"));
  EXPECT_EQ(EncodeCrdtOp(MakeMapUpdate("a", {CounterAdd{1}})), Hex("0601610102"));
  ListInsert ins{std::nullopt, {ToBytes("h"), ToBytes("i")}};
  EXPECT_EQ(EncodeCrdtOp({ins}), Hex("08000201680169"));
  VertexId id;
  id.bytes.fill(0xab);
  ListDelete del{{ElemId{id, 300}}};
  EXPECT_EQ(EncodeCrdtOp({del}), Hex("0901" + HexEncode(id.view()) + "ac02"));
  EXPECT_EQ(EncodeCrdtOp({LogAppend{ToBytes("e")}}), Hex("0a0165"));
}

void ExpectCorrupt(const Bytes& b, std::string_view field) {
  auto dec = DecodeCrdtOp(b);
  ASSERT_FALSE(dec.ok()) << HexEncode(b);
  EXPECT_EQ(dec.status().code(), Code::kCorruption);
  EXPECT_NE(dec.status().message().find(field), std::string::npos) << dec.status().ToString();
}

TEST(CrdtOp, RejectsOversizedValues) {
  Writer w;
  w.U8(2);
  w.LenBytes(Bytes(kMaxCrdtValue + 1, 'x'));
  ExpectCorrupt(w.Take(), "crdt_op.lww.value");
  CrdtOp big{LwwSet{Bytes(kMaxCrdtValue + 1, 'x')}};
  EXPECT_EQ(CheckCrdtOp(big).code(), Code::kInvalidArgument);
  CrdtOp max{LwwSet{Bytes(kMaxCrdtValue, 'x')}};
  EXPECT_TRUE(CheckCrdtOp(max).ok());
  EXPECT_TRUE(DecodeCrdtOp(EncodeCrdtOp(max)).ok());
}

TEST(CrdtOp, RejectsBadIdLists) {
  VertexId a, b;
  a.bytes.fill(1);
  b.bytes.fill(2);
  // Descending, duplicate, empty where one is required, too many.
  ExpectCorrupt(EncodeCrdtOp({MvSet{{}, {b, a}}}), "crdt_op.mv.supersedes");
  ExpectCorrupt(EncodeCrdtOp({SetRemove{{}, {a, a}}}), "crdt_op.set.observed");
  ExpectCorrupt(EncodeCrdtOp({SetRemove{{}, {}}}), "crdt_op.set.observed");
  ExpectCorrupt(EncodeCrdtOp({MapRemove{"k", {}}}), "crdt_op.map.observed");
  EXPECT_FALSE(CheckCrdtOp({MvSet{{}, {b, a}}}).ok());
  EXPECT_FALSE(CheckCrdtOp({SetRemove{{}, {}}}).ok());

  std::vector<VertexId> many(kMaxCrdtIds + 1);
  for (size_t i = 0; i < many.size(); ++i) {
    many[i].bytes[30] = static_cast<uint8_t>(i >> 8);
    many[i].bytes[31] = static_cast<uint8_t>(i);
  }
  ExpectCorrupt(EncodeCrdtOp({MvSet{{}, many}}), "crdt_op.mv.supersedes");
  EXPECT_FALSE(CheckCrdtOp({MvSet{{}, many}}).ok());
  many.pop_back();
  EXPECT_TRUE(DecodeCrdtOp(EncodeCrdtOp({MvSet{{}, many}})).ok());
}

TEST(CrdtOp, RejectsBadListOps) {
  VertexId a;
  a.bytes.fill(1);
  ExpectCorrupt(EncodeCrdtOp({ListInsert{std::nullopt, {}}}), "crdt_op.list.values");
  ExpectCorrupt(EncodeCrdtOp({ListInsert{std::nullopt, std::vector<Bytes>(kMaxListInsert + 1)}}),
                "crdt_op.list.values");
  EXPECT_TRUE(
      DecodeCrdtOp(EncodeCrdtOp({ListInsert{std::nullopt, std::vector<Bytes>(kMaxListInsert)}}))
          .ok());
  ExpectCorrupt(EncodeCrdtOp({ListInsert{ElemId{a, kMaxListInsert}, {{}}}}), "crdt_op.list.after");
  ExpectCorrupt(EncodeCrdtOp({ListDelete{{ElemId{a, 2}, ElemId{a, 1}}}}), "crdt_op.list.elems");
  ExpectCorrupt(EncodeCrdtOp({ListDelete{{}}}), "crdt_op.list.elems");
  ExpectCorrupt(Hex("0802"), "crdt_op.list.has_after");  // has_after must be 0 or 1
  EXPECT_FALSE(CheckCrdtOp({ListDelete{{ElemId{a, 1}, ElemId{a, 1}}}}).ok());
}

TEST(CrdtOp, RejectsBadKeysAndDeepMaps) {
  ExpectCorrupt(EncodeCrdtOp(MakeMapUpdate("", {CounterAdd{1}})), "crdt_op.map.key");
  ExpectCorrupt(EncodeCrdtOp(MakeMapUpdate("\xff", {CounterAdd{1}})), "crdt_op.map.key");
  ExpectCorrupt(EncodeCrdtOp(MakeMapUpdate(std::string(kMaxMapKey + 1, 'k'), {CounterAdd{1}})),
                "crdt_op.map.key");
  EXPECT_TRUE(
      DecodeCrdtOp(EncodeCrdtOp(MakeMapUpdate(std::string(kMaxMapKey, 'k'), {CounterAdd{1}})))
          .ok());

  CrdtOp op{CounterAdd{1}};
  for (size_t i = 0; i < kMaxMapDepth; ++i) op = MakeMapUpdate("k", op);
  EXPECT_TRUE(CheckCrdtOp(op).ok());
  EXPECT_TRUE(DecodeCrdtOp(EncodeCrdtOp(op)).ok());
  CrdtOp deeper = MakeMapUpdate("k", op);
  EXPECT_EQ(CheckCrdtOp(deeper).code(), Code::kInvalidArgument);
  ExpectCorrupt(EncodeCrdtOp(deeper), "crdt_op.map: nested deeper than 4");

  CrdtOp remove{MapRemove{"k", {VertexId{}}}};
  for (size_t i = 0; i < kMaxMapDepth - 1; ++i) remove = MakeMapUpdate("k", remove);
  EXPECT_TRUE(DecodeCrdtOp(EncodeCrdtOp(remove)).ok());
  ExpectCorrupt(EncodeCrdtOp(MakeMapUpdate("k", remove)), "crdt_op.map");

  EXPECT_FALSE(CheckCrdtOp({MapUpdate{"k", nullptr}}).ok());
}

TEST(CrdtOp, RejectsUnknownTagsAndNonCanonicalVarints) {
  ExpectCorrupt(Hex(""), "crdt_op.tag");
  ExpectCorrupt(Hex("00"), "crdt_op.tag");
  ExpectCorrupt(Hex("0b"), "crdt_op.tag");
  ExpectCorrupt(Hex("0a"), "crdt_op.log.entry");  // log.append without its entry
  ExpectCorrupt(Hex("018000"), "crdt_op.counter.delta");  // overlong zero
  ExpectCorrupt(Hex("02810061"), "crdt_op.lww.value");    // overlong length
}

TEST(FieldTypeTest, ChecksShapeAndDepth) {
  EXPECT_TRUE(CheckFieldType(FieldType::Counter()).ok());
  FieldType t = FieldType::OrSet();
  for (size_t i = 0; i < kMaxMapDepth; ++i) t = FieldType::Map(t);
  EXPECT_TRUE(CheckFieldType(t).ok());
  EXPECT_FALSE(CheckFieldType(FieldType::Map(t)).ok());
  EXPECT_FALSE(CheckFieldType(FieldType{CrdtKind::kMap, nullptr}).ok());
  EXPECT_FALSE(CheckFieldType(FieldType{CrdtKind::kCounter,
                                        std::make_shared<const FieldType>(FieldType::List())})
                   .ok());
  EXPECT_FALSE(CheckFieldType(FieldType{static_cast<CrdtKind>(9), nullptr}).ok());
  EXPECT_EQ(FieldType::Map(FieldType::List()), FieldType::Map(FieldType::List()));
  EXPECT_NE(FieldType::Map(FieldType::List()), FieldType::Map(FieldType::OrSet()));
}

}  // namespace
}  // namespace topo::codec
