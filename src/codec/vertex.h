// The vertex: one signed operation in an object's hash graph, and its canonical encoding.
// docs/PROTOCOL.md gives every byte; tests/codec/vertex_test.cc checks its test vector.
//
//   u8      version          = 1
//   [32]    object_id        all zero in a genesis vertex (the object id is the genesis id)
//   varint  type             0 means genesis, any other value is an operation of the object
//   [32]    author           Ed25519 public key of the device that signed
//   varint  created_at       milliseconds since the Unix epoch, claimed by the author
//   varint  depth            0 for genesis, else 1 + max depth of the parents
//   varint  n_parents        0 for genesis, else 1..64
//   [32]*n  parents          strictly ascending (sorted, no duplicates)
//   varint  n_refs           0..16: vertices of other objects this one depends on
//   [32]*n  refs             strictly ascending
//   varint  payload_len      0..kMaxPayload
//   [len]   payload
//   [64]    signature        Ed25519 by author over the id
//
// id = BLAKE2b-256 with domain "topo.vertex.v1" over every byte before the signature.
#pragma once

#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::codec {

using VertexId = Hash32;
using ObjectId = Hash32;

constexpr uint8_t kVertexVersion = 1;
constexpr uint32_t kGenesisType = 0;
constexpr size_t kMaxParents = 64;
constexpr size_t kMaxRefs = 16;
constexpr size_t kMaxPayload = 256 * 1024;
constexpr uint64_t kMaxDepth = uint64_t{1} << 48;
constexpr uint64_t kMaxCreatedAt = uint64_t{1} << 53;  // year 287396: room, yet JSON-safe
constexpr std::string_view kVertexDomain = "topo.vertex.v1";
constexpr size_t kMaxVertexBytes =
    1 + 32 + 5 + 32 + 10 + 10 + 1 + kMaxParents * 32 + 1 + kMaxRefs * 32 + 4 + kMaxPayload + 64;

struct Vertex {
  uint8_t version = kVertexVersion;
  ObjectId object_id;  // zero for genesis
  uint32_t type = kGenesisType;
  crypto::PublicKey author;
  uint64_t created_at = 0;
  uint64_t depth = 0;
  std::vector<VertexId> parents;
  std::vector<VertexId> refs;
  Bytes payload;
  crypto::Signature signature;

  // Set by DecodeVertex and SignVertex; not part of the encoding.
  VertexId id;

  bool is_genesis() const { return type == kGenesisType; }
  // The object this vertex belongs to: its own id for a genesis vertex.
  const ObjectId& object() const { return is_genesis() ? id : object_id; }
};

// Every byte before the signature.
Bytes EncodeUnsigned(const Vertex& v);
// Every byte before payload_len: what an encrypted payload binds to (codec/group.h).
Bytes EncodeHeader(const Vertex& v);
// The full signed encoding.
Bytes EncodeVertex(const Vertex& v);
VertexId ComputeVertexId(const Vertex& v);

// Sorts and deduplicates parents and refs, fills id and signature. The author field is set
// from the key. Returns an error if the vertex would not decode (too many parents, payload
// over its bound, genesis fields inconsistent).
Status SignVertex(Vertex& v, const crypto::SigningKey& key);

// Strict decode: exact lengths, canonical varints, sorted unique parents and refs, bounds,
// genesis consistency, no trailing bytes. Computes the id. Does not check the signature.
// Errors are Status::Corruption with a message naming the field and the reason.
Result<Vertex> DecodeVertex(ByteView bytes);

// Checks the structure (as DecodeVertex would) of an in-memory vertex.
Status CheckVertexShape(const Vertex& v);

bool VerifyVertexSignature(const Vertex& v);

}  // namespace topo::codec
