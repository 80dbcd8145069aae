// Fuzzes codec::DecodeVertex. A vertex that decodes must re-encode to exactly the input (the
// encoding is canonical), its id must be the hash of its unsigned bytes, and checking its
// signature must not crash.
//
// TOPO_FUZZ_WRITE_SEEDS=<dir> writes valid encodings to <dir> and exits (scripts/fuzz.sh).
#include <algorithm>
#include <string>

#include "codec/crdt_op.h"
#include "codec/object_payload.h"
#include "codec/vertex.h"
#include "fuzz_support.h"

const char topo::fuzz::kTargetName[] = "vertex_fuzz";

namespace topo {
namespace {

using fuzz::Fail;
using fuzz::WriteSeed;

crypto::SigningKey SeedKey() {
  uint8_t seed[32] = {'v', 'e', 'r', 't', 'e', 'x'};
  return std::move(crypto::SigningKey::FromSeed(ByteView(seed, 32))).value();
}

void WriteSeeds(const std::string& dir) {
  auto key = SeedKey();
  codec::Vertex g;
  g.created_at = 1'700'000'000'000;
  g.payload = codec::EncodeGenesisPayload({"doc", {}});
  if (!codec::SignVertex(g, key).ok()) Fail("seed genesis");
  WriteSeed(dir, "genesis", codec::EncodeVertex(g));

  codec::Vertex op;
  op.type = codec::kCrdtOpType;
  op.object_id = g.id;
  op.parents = {g.id};
  op.depth = 1;
  op.created_at = g.created_at + 1;
  op.payload = codec::EncodeOpPayload({1, codec::CrdtOp{codec::CounterAdd{-5}}});
  if (!codec::SignVertex(op, key).ok()) Fail("seed op");
  WriteSeed(dir, "op", codec::EncodeVertex(op));

  codec::Vertex merge = op;
  merge.parents = {g.id, op.id};
  merge.refs = {op.id, Hash32{}};
  merge.depth = 2;
  merge.created_at = op.created_at + 1;
  merge.payload = codec::EncodeOpPayload({0, codec::CrdtOp{codec::LwwSet{ToBytes("title")}}});
  if (!codec::SignVertex(merge, key).ok()) Fail("seed merge");
  WriteSeed(dir, "merge", codec::EncodeVertex(merge));

  codec::Vertex big = op;
  big.payload.assign(300, 0xab);  // a two-byte payload length
  big.created_at = codec::kMaxCreatedAt;
  big.depth = 1;
  if (!codec::SignVertex(big, key).ok()) Fail("seed big");
  WriteSeed(dir, "big_payload", codec::EncodeVertex(big));
}

}  // namespace
}  // namespace topo

TOPO_FUZZ_SEEDS(topo::WriteSeeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace topo;
  ByteView in(data, size);
  auto v = codec::DecodeVertex(in);
  if (!v.ok()) return 0;
  Bytes again = codec::EncodeVertex(*v);
  if (!std::equal(again.begin(), again.end(), in.begin(), in.end()))
    Fail("EncodeVertex(DecodeVertex(x)) != x");
  if (!codec::CheckVertexShape(*v).ok()) Fail("decoded vertex fails CheckVertexShape");
  if (codec::ComputeVertexId(*v) != v->id) Fail("decoded id != ComputeVertexId");
  (void)codec::VerifyVertexSignature(*v);
  if (v->is_genesis() && !v->object_id.IsZero()) Fail("genesis with an object id decoded");
  return 0;
}
