#include "codec/object_payload.h"

#include "codec/reader.h"

namespace topo::codec {
namespace {
bool IsBlueprintName(std::string_view s) {
  if (s.empty() || s.size() > kMaxBlueprintName) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}
}  // namespace

Bytes EncodeGenesisPayload(const GenesisPayload& g) {
  Writer w;
  w.U8(1);
  w.LenString(g.blueprint);
  w.Fixed(g.nonce);
  w.U8((g.group ? 1 : 0) | (g.params.empty() ? 0 : 2));
  if (g.group) w.Fixed(*g.group);
  if (!g.params.empty()) w.LenBytes(g.params);
  return w.Take();
}

Result<GenesisPayload> DecodeGenesisPayload(ByteView payload) {
  Reader r(payload);
  GenesisPayload g;
  uint8_t version;
  TOPO_RETURN_IF_ERROR(r.U8("genesis.version", version));
  if (version != 1)
    return Status::Corruption("genesis.version: unsupported version " + std::to_string(version));
  TOPO_RETURN_IF_ERROR(r.LenString("genesis.blueprint", kMaxBlueprintName, g.blueprint));
  if (!IsBlueprintName(g.blueprint))
    return Status::Corruption("genesis.blueprint: not a blueprint name");
  TOPO_RETURN_IF_ERROR(r.Fixed("genesis.nonce", g.nonce));
  uint8_t flags;
  TOPO_RETURN_IF_ERROR(r.U8("genesis.flags", flags));
  if (flags & ~3) return Status::Corruption("genesis.flags: unknown flags");
  if (flags & 1) {
    ObjectId group;
    TOPO_RETURN_IF_ERROR(r.Fixed("genesis.group", group));
    if (group.IsZero()) return Status::Corruption("genesis.group: zero");
    g.group = group;
  }
  if (flags & 2) {
    ByteView params;
    TOPO_RETURN_IF_ERROR(r.LenBytes("genesis.params", kMaxGenesisParams, params));
    if (params.empty()) return Status::Corruption("genesis.params: empty (omit it instead)");
    g.params.assign(params.begin(), params.end());
  }
  TOPO_RETURN_IF_ERROR(r.ExpectEnd("genesis"));
  return g;
}

Bytes EncodeOpPayload(const OpPayload& p) {
  Writer w;
  w.Varint(p.field);
  w.Raw(EncodeCrdtOp(p.op));
  return w.Take();
}

Result<OpPayload> DecodeOpPayload(ByteView payload) {
  Reader r(payload);
  OpPayload p;
  uint64_t field;
  TOPO_RETURN_IF_ERROR(r.VarintMax("op.field", 255, field));
  p.field = static_cast<uint32_t>(field);
  TOPO_ASSIGN_OR_RETURN(p.op, DecodeCrdtOp(payload.subspan(r.pos())));
  return p;
}

}  // namespace topo::codec
