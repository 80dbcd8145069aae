// Fuzzes codec::DecodeCrdtOp. An op that decodes must pass CheckCrdtOp, re-encode to exactly
// the input (one encoding per op) and decode again to an equal op; validating it against
// every field type of the built-in blueprints must not crash.
//
// TOPO_FUZZ_WRITE_SEEDS=<dir> writes one encoding of every op kind to <dir> and exits.
#include <algorithm>
#include <string>

#include "codec/crdt_op.h"
#include "fuzz_support.h"
#include "object/blueprint.h"
#include "object/crdt.h"

const char topo::fuzz::kTargetName[] = "crdt_op_fuzz";

namespace topo {
namespace {

using fuzz::Fail;
using fuzz::WriteSeed;

codec::VertexId Id(uint8_t fill) {
  codec::VertexId id;
  id.bytes.fill(fill);
  return id;
}

void WriteSeeds(const std::string& dir) {
  using namespace codec;
  std::vector<std::pair<std::string, CrdtOp>> ops = {
      {"counter_add", {CounterAdd{-12345}}},
      {"lww_set", {LwwSet{ToBytes("hello")}}},
      {"mv_set", {MvSet{ToBytes("v"), {Id(1), Id(2)}}}},
      {"set_add", {SetAdd{ToBytes("elem")}}},
      {"set_remove", {SetRemove{ToBytes("elem"), {Id(3)}}}},
      {"map_update", MakeMapUpdate("key", {LwwSet{ToBytes("x")}})},
      {"map_nested", MakeMapUpdate("a", MakeMapUpdate("b", {SetAdd{ToBytes("s")}}))},
      {"map_deepest",
       MakeMapUpdate("a", MakeMapUpdate("b", MakeMapUpdate("c", {MapRemove{"d", {Id(4)}}})))},
      {"map_remove", {MapRemove{"caf\xc3\xa9", {Id(5), Id(6)}}}},
      {"list_insert_head", {ListInsert{std::nullopt, {ToBytes("a"), ToBytes("b")}}}},
      {"list_insert_after", {ListInsert{ElemId{Id(7), 3}, {ToBytes("c")}}}},
      {"list_delete", {ListDelete{{ElemId{Id(8), 0}, ElemId{Id(8), 1}, ElemId{Id(9), 200}}}}},
  };
  for (const auto& [name, op] : ops) {
    if (!CheckCrdtOp(op).ok()) Fail("seed op " + name + " is not well-formed");
    WriteSeed(dir, name, EncodeCrdtOp(op));
  }
}

}  // namespace
}  // namespace topo

TOPO_FUZZ_SEEDS(topo::WriteSeeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace topo;
  ByteView in(data, size);
  auto op = codec::DecodeCrdtOp(in);
  if (!op.ok()) return 0;
  if (!codec::CheckCrdtOp(*op).ok()) Fail("decoded op fails CheckCrdtOp");
  Bytes again = codec::EncodeCrdtOp(*op);
  if (!std::equal(again.begin(), again.end(), in.begin(), in.end()))
    Fail("EncodeCrdtOp(DecodeCrdtOp(x)) != x");
  auto op2 = codec::DecodeCrdtOp(again);
  if (!op2.ok() || !(*op2 == *op)) Fail("DecodeCrdtOp(EncodeCrdtOp(op)) != op");
  (void)op->name();
  (void)codec::CrdtKindName(op->kind());
  for (const auto& bp : object::BuiltinBlueprints())
    for (const auto& field : bp.fields) (void)object::ValidateOp(field.type, *op);
  return 0;
}
