// Fuzzes the payload decoders of codec/object_payload.h on the same input: a genesis payload
// or an operation payload that decodes must re-encode to exactly the input.
//
// TOPO_FUZZ_WRITE_SEEDS=<dir> writes valid genesis and operation payloads to <dir> and exits.
#include <algorithm>
#include <string>

#include "codec/object_payload.h"
#include "fuzz_support.h"
#include "object/blueprint.h"

const char topo::fuzz::kTargetName[] = "object_payload_fuzz";

namespace topo {
namespace {

using fuzz::Fail;
using fuzz::WriteSeed;

void WriteSeeds(const std::string& dir) {
  using namespace codec;
  FixedBytes<16> nonce;
  for (size_t i = 0; i < nonce.size(); ++i) nonce.bytes[i] = static_cast<uint8_t>(i * 17);
  for (const auto& bp : object::BuiltinBlueprints())
    WriteSeed(dir, "genesis_" + bp.name, EncodeGenesisPayload({bp.name, nonce}));
  WriteSeed(dir, "genesis_long_name", EncodeGenesisPayload({std::string(64, 'z'), nonce}));
  VertexId id;
  id.bytes.fill(0x42);
  WriteSeed(dir, "op_counter", EncodeOpPayload({1, CrdtOp{CounterAdd{7}}}));
  WriteSeed(dir, "op_lww", EncodeOpPayload({0, CrdtOp{LwwSet{ToBytes("title")}}}));
  WriteSeed(dir, "op_map",
            EncodeOpPayload({6, MakeMapUpdate("k", MakeMapUpdate("j", {SetAdd{ToBytes("e")}}))}));
  WriteSeed(dir, "op_list", EncodeOpPayload({7, CrdtOp{ListInsert{ElemId{id, 1}, {{'x'}}}}}));
  WriteSeed(dir, "op_field_255", EncodeOpPayload({255, CrdtOp{SetRemove{{'e'}, {id}}}}));
}

}  // namespace
}  // namespace topo

TOPO_FUZZ_SEEDS(topo::WriteSeeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace topo;
  ByteView in(data, size);
  if (auto g = codec::DecodeGenesisPayload(in); g.ok()) {
    Bytes again = codec::EncodeGenesisPayload(*g);
    if (!std::equal(again.begin(), again.end(), in.begin(), in.end()))
      Fail("EncodeGenesisPayload(DecodeGenesisPayload(x)) != x");
    (void)object::FindBlueprint(g->blueprint);
  }
  if (auto p = codec::DecodeOpPayload(in); p.ok()) {
    if (!codec::CheckCrdtOp(p->op).ok()) Fail("decoded op payload fails CheckCrdtOp");
    Bytes again = codec::EncodeOpPayload(*p);
    if (!std::equal(again.begin(), again.end(), in.begin(), in.end()))
      Fail("EncodeOpPayload(DecodeOpPayload(x)) != x");
  }
  return 0;
}
