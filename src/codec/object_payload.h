// Payloads of the vertices that make and change built-in objects (docs/PROTOCOL.md).
//
// Genesis payload (vertex type 0):
//   u8      version   = 1
//   varint  len, then the blueprint name: 1..64 bytes of [a-z0-9_-]
//   [16]    nonce     random, so two objects made alike still get distinct ids
//   u8      flags     bit 0: a group follows; bit 1: params follow; other bits zero
//   [32]    group     (bit 0) the group object this object belongs to: its vertices carry
//                     the group's heads in refs and encrypted payloads (codec/group.h)
//   varint  len, then params (bit 1; 1..kMaxGenesisParams bytes): blueprint-specific, e.g.
//                     the codec::GroupParams of a group
//
// CRDT operation payload (vertex type kCrdtOpType = 1):
//   varint  field     index of the field in the blueprint's declaration order
//   ...     the CRDT operation (codec/crdt_op.h), to the end of the payload
#pragma once

#include <optional>
#include <string>

#include "codec/crdt_op.h"
#include "codec/vertex.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::codec {

constexpr uint32_t kCrdtOpType = 1;
constexpr size_t kMaxBlueprintName = 64;
constexpr size_t kMaxGenesisParams = 240 * 1024;

struct GenesisPayload {
  std::string blueprint;
  FixedBytes<16> nonce;
  std::optional<ObjectId> group = std::nullopt;
  Bytes params = {};  // empty = none
};
Bytes EncodeGenesisPayload(const GenesisPayload& g);
Result<GenesisPayload> DecodeGenesisPayload(ByteView payload);

struct OpPayload {
  uint32_t field = 0;
  CrdtOp op;
};
Bytes EncodeOpPayload(const OpPayload& p);
Result<OpPayload> DecodeOpPayload(ByteView payload);

}  // namespace topo::codec
