#include "codec/vertex.h"

#include <algorithm>

#include "codec/reader.h"

namespace topo::codec {
namespace {

void WriteHeader(Writer& w, const Vertex& v) {
  w.U8(v.version);
  w.Fixed(v.object_id);
  w.Varint(v.type);
  w.Fixed(v.author);
  w.Varint(v.created_at);
  w.Varint(v.depth);
  w.Varint(v.parents.size());
  for (const auto& p : v.parents) w.Fixed(p);
  w.Varint(v.refs.size());
  for (const auto& r : v.refs) w.Fixed(r);
}

void WriteUnsigned(Writer& w, const Vertex& v) {
  WriteHeader(w, v);
  w.LenBytes(v.payload);
}

bool StrictlyAscending(const std::vector<VertexId>& ids) {
  for (size_t i = 1; i < ids.size(); ++i)
    if (!(ids[i - 1] < ids[i])) return false;
  return true;
}

Status ReadIdList(Reader& r, std::string_view field, size_t max, std::vector<VertexId>& out) {
  uint64_t n;
  TOPO_RETURN_IF_ERROR(r.VarintMax(std::string(field) + " count", max, n));
  out.resize(n);
  for (auto& id : out) TOPO_RETURN_IF_ERROR(r.Fixed(field, id));
  if (!StrictlyAscending(out))
    return Status::Corruption(std::string(field) + ": not sorted or has duplicates");
  return Status::Ok();
}

}  // namespace

Bytes EncodeHeader(const Vertex& v) {
  Writer w;
  WriteHeader(w, v);
  return w.Take();
}

Status CheckVertexShape(const Vertex& v) {
  if (v.version != kVertexVersion)
    return Status::Corruption("vertex.version: unsupported version " + std::to_string(v.version));
  if (v.parents.size() > kMaxParents)
    return Status::Corruption("vertex.parents count: over its bound of 64");
  if (v.refs.size() > kMaxRefs)
    return Status::Corruption("vertex.refs count: over its bound of 16");
  if (!StrictlyAscending(v.parents))
    return Status::Corruption("vertex.parents: not sorted or has duplicates");
  if (!StrictlyAscending(v.refs))
    return Status::Corruption("vertex.refs: not sorted or has duplicates");
  if (v.payload.size() > kMaxPayload) return Status::Corruption("vertex.payload: over its bound");
  if (v.depth > kMaxDepth) return Status::Corruption("vertex.depth: over its bound");
  if (v.created_at > kMaxCreatedAt) return Status::Corruption("vertex.created_at: over its bound");
  if (v.is_genesis()) {
    if (!v.object_id.IsZero() || !v.parents.empty() || v.depth != 0)
      return Status::Corruption(
          "vertex: a genesis vertex must have a zero object id, no parents and depth 0");
  } else {
    if (v.object_id.IsZero() || v.parents.empty() || v.depth == 0)
      return Status::Corruption(
          "vertex: an operation needs an object id, at least one parent and depth >= 1");
  }
  return Status::Ok();
}

Bytes EncodeUnsigned(const Vertex& v) {
  Writer w;
  WriteUnsigned(w, v);
  return w.Take();
}

Bytes EncodeVertex(const Vertex& v) {
  Writer w;
  WriteUnsigned(w, v);
  w.Fixed(v.signature);
  return w.Take();
}

VertexId ComputeVertexId(const Vertex& v) { return crypto::Hash(kVertexDomain, EncodeUnsigned(v)); }

Status SignVertex(Vertex& v, const crypto::SigningKey& key) {
  std::sort(v.parents.begin(), v.parents.end());
  v.parents.erase(std::unique(v.parents.begin(), v.parents.end()), v.parents.end());
  std::sort(v.refs.begin(), v.refs.end());
  v.refs.erase(std::unique(v.refs.begin(), v.refs.end()), v.refs.end());
  v.author = key.public_key();
  TOPO_RETURN_IF_ERROR(CheckVertexShape(v));
  v.id = ComputeVertexId(v);
  v.signature = key.Sign(v.id.view());
  return Status::Ok();
}

Result<Vertex> DecodeVertex(ByteView bytes) {
  if (bytes.size() > kMaxVertexBytes) return Status::Corruption("vertex: over the size bound");
  Reader r(bytes);
  Vertex v;
  TOPO_RETURN_IF_ERROR(r.U8("vertex.version", v.version));
  if (v.version != kVertexVersion)
    return Status::Corruption("vertex.version: unsupported version " + std::to_string(v.version));
  TOPO_RETURN_IF_ERROR(r.Fixed("vertex.object_id", v.object_id));
  uint64_t type;
  TOPO_RETURN_IF_ERROR(r.VarintMax("vertex.type", UINT32_MAX, type));
  v.type = static_cast<uint32_t>(type);
  TOPO_RETURN_IF_ERROR(r.Fixed("vertex.author", v.author));
  TOPO_RETURN_IF_ERROR(r.VarintMax("vertex.created_at", kMaxCreatedAt, v.created_at));
  TOPO_RETURN_IF_ERROR(r.VarintMax("vertex.depth", kMaxDepth, v.depth));
  TOPO_RETURN_IF_ERROR(ReadIdList(r, "vertex.parents", kMaxParents, v.parents));
  TOPO_RETURN_IF_ERROR(ReadIdList(r, "vertex.refs", kMaxRefs, v.refs));
  ByteView payload;
  TOPO_RETURN_IF_ERROR(r.LenBytes("vertex.payload", kMaxPayload, payload));
  v.payload.assign(payload.begin(), payload.end());
  size_t unsigned_len = r.pos();
  TOPO_RETURN_IF_ERROR(r.Fixed("vertex.signature", v.signature));
  TOPO_RETURN_IF_ERROR(r.ExpectEnd("vertex"));
  TOPO_RETURN_IF_ERROR(CheckVertexShape(v));
  v.id = crypto::Hash(kVertexDomain, bytes.subspan(0, unsigned_len));
  return v;
}

bool VerifyVertexSignature(const Vertex& v) {
  return crypto::Verify(v.author, v.id.view(), v.signature);
}

}  // namespace topo::codec
