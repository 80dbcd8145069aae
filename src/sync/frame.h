// The frames of a sync session (docs/design/sync.md; bytes in docs/PROTOCOL.md).
//
//   frame = u8 version (= 1), u8 type, varint request_id, body (to the end of the frame)
//
//   1 hello      varint n (0..kMaxHelloObjects), n * ([32] object, varint item_count
//                (<= kMaxOfferItems)), objects strictly ascending
//   2 reconcile  [32] object, u8 algorithm (1 riblt, 2 negentropy), varint len + payload
//                (len <= kMaxFrameBytes): a request
//   6 reconciled the same body: the answer to a reconcile
//   3 want       [32] object, varint n (1..kMaxWantIds), n * [32] vertex id
//   4 vertices   u8 last (0 or 1), varint n (0..kMaxWantIds), n * (varint len + signed
//                vertex, len 1..codec::kMaxVertexBytes)
//   5 error      varint code (a topo::Code), varint len + UTF-8 message (<= 1,024 bytes)
//
// A hello's request id is 0 ("I have not seen your hello") or 1 ("I have"); a side sends
// its hello until it receives a 1 and answers every 0 with a 1 (sync/session.h).
// Requests (reconcile, want) carry a request id of the side that sends them; answers
// (reconciled, vertices, error) carry the id of the request they answer. The two sides
// number their requests independently: the frame type says which side's number it is.
//
// A frame is at most kMaxFrameBytes. Decoding is strict (known version and type, canonical
// varints, counts and lengths within their bounds, no trailing bytes); errors are
// Status::Corruption naming the field. The vertices' own encodings are checked later by
// the ingest pipeline, not here.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "codec/vertex.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::sync {

constexpr uint8_t kFrameVersion = 1;
constexpr size_t kMaxFrameBytes = size_t{4} << 20;
constexpr size_t kMaxHelloObjects = 65536;
// No object holds more vertices than this: a hello claiming more is a lie, refused when it
// is decoded (the claim costs the receiver nothing but the session).
constexpr uint64_t kMaxOfferItems = uint64_t{1} << 32;
constexpr size_t kMaxWantIds = 4096;
constexpr size_t kMaxErrorBytes = 1024;

enum class Algorithm : uint8_t { kRiblt = 1, kNegentropy = 2 };

struct HelloFrame {
  struct Offer {
    codec::ObjectId object;
    uint64_t items = 0;
    bool operator==(const Offer&) const = default;
  };
  std::vector<Offer> objects;  // strictly ascending by object
  bool operator==(const HelloFrame&) const = default;
};
struct ReconcileFrame {
  codec::ObjectId object;
  Algorithm algorithm = Algorithm::kRiblt;
  Bytes payload;  // a riblt frame (sync/riblt_frame.h) or a negentropy message
  bool operator==(const ReconcileFrame&) const = default;
};
// The answer to a ReconcileFrame (same fields).
struct ReconciledFrame {
  codec::ObjectId object;
  Algorithm algorithm = Algorithm::kRiblt;
  Bytes payload;
  bool operator==(const ReconciledFrame&) const = default;
};
struct WantFrame {
  codec::ObjectId object;
  std::vector<codec::VertexId> ids;  // 1..kMaxWantIds, in the order to send them
  bool operator==(const WantFrame&) const = default;
};
struct VerticesFrame {
  bool last = true;  // the last frame answering its want
  std::vector<Bytes> vertices;
  bool operator==(const VerticesFrame&) const = default;
};
struct ErrorFrame {
  Code code = Code::kInternal;
  std::string message;
  bool operator==(const ErrorFrame&) const = default;
};

// The alternatives' order is the type byte's, from 1.
using FrameBody =
    std::variant<HelloFrame, ReconcileFrame, WantFrame, VerticesFrame, ErrorFrame, ReconciledFrame>;
const char* FrameName(const FrameBody& body);

struct Frame {
  uint64_t request_id = 0;
  FrameBody body;
  bool operator==(const Frame&) const = default;
};

// REQUIRES: the frame is within the bounds above (the session builds frames that are);
// then DecodeFrame(EncodeFrame(f)) == f.
Bytes EncodeFrame(const Frame& f);
Result<Frame> DecodeFrame(ByteView bytes);

// Bytes a vertices frame with these vertices takes (to fill frames up to a size).
size_t VerticesFrameOverhead();
size_t VertexEntryBytes(size_t vertex_len);

}  // namespace topo::sync
