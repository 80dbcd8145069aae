// Negentropy protocol v1: range-based set reconciliation (hoytech/negentropy,
// docs/negentropy-protocol-v1.md; the wire format, byte by byte, is in docs/PROTOCOL.md).
//
// Sans-I/O. The initiator (client) calls Initiate() and sends the bytes; the responder
// (server) answers each message it receives with Reconcile(); the initiator feeds each answer
// to Reconcile(), which gives the ids it has and the peer lacks (have), the ids the peer has
// and it lacks (need), and the next message, or no message when reconciliation is complete.
//
//   Negentropy client(storage_a), server(storage_b);
//   Bytes msg = client.Initiate();
//   for (;;) {
//     Bytes answer = server.Reconcile(msg)->reply.value();
//     auto step = client.Reconcile(answer);   // check step.ok()
//     ... use step->have, step->need ...
//     if (!step->reply) break;
//     msg = *step->reply;
//   }
//
// Messages are byte-for-byte those of the reference C++ implementation, with one exception
// under a frame-size limit (see frame_size_limit below).
//
// Decoding is strict: a malformed message (bad version byte, truncated or over-long varint,
// bound below the previous one or past infinity, id prefix over 32 bytes, unknown mode,
// truncated payload) gives a kCorruption Status naming the fault and changes nothing; the
// work done per message is bounded by its length and the size of the storage.
//
// The storage must not change during one Initiate or Reconcile call; it may change between
// calls. Not thread-safe: one session per thread at a time.
#pragma once

#include <optional>
#include <vector>

#include "sync/item.h"
#include "sync/range_storage.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::sync {

constexpr uint8_t kNegentropyVersion1 = 0x61;
// Version bytes 0x60..0x6f are negentropy's; anything else is not a negentropy message.
constexpr uint8_t kNegentropyVersionMin = 0x60;
constexpr uint8_t kNegentropyVersionMax = 0x6f;
constexpr uint64_t kMinFrameSizeLimit = 4096;

enum class NegentropyMode : uint64_t { kSkip = 0, kFingerprint = 1, kIdList = 2 };

struct ReconcileStep {
  // The next message to send. The responder always has one. The initiator has none when
  // reconciliation is complete.
  std::optional<Bytes> reply;
  // Initiator only. have: ids this side holds that the peer lacks, in ascending item order
  // per range. need: ids the peer holds that this side lacks, in the order the peer listed
  // them. Without a frame-size limit no id is reported twice in a session; with one, a
  // range answered in one round can be folded into a closing fingerprint and answered
  // again, so callers dedupe.
  std::vector<ItemId> have;
  std::vector<ItemId> need;
};

class Negentropy {
 public:
  // frame_size_limit: 0 for none, else at least kMinFrameSizeLimit; each message produced
  // by Reconcile is then at most that many bytes (Initiate's first message is always
  // small). When the limit cuts a message short, the message ends with one Fingerprint range
  // up to infinity and the peers continue over more round trips.
  //
  // That closing Fingerprint covers every item from the last bound written to infinity, as
  // the spec defines a range's fingerprint. The reference implementation fingerprints only
  // the items after the range it dropped, so its fingerprint does not describe the range it
  // is sent for; topo does not copy that. The two interoperate, and topo's messages differ
  // from the reference's only in those closing fingerprints (and what follows from them).
  static Result<Negentropy> Create(const RangeStorage& storage, uint64_t frame_size_limit = 0);

  // Makes this side the initiator and returns the first message. Calling it again starts
  // over.
  Bytes Initiate();

  // Processes a message from the peer. As responder (Initiate never called), an unsupported
  // protocol version 0x62..0x6f is answered with the single byte 0x61, the highest version
  // spoken here, so the peer can retry in v1.
  Result<ReconcileStep> Reconcile(ByteView message);

  bool is_initiator() const { return initiator_; }
  uint64_t frame_size_limit() const { return frame_size_limit_; }

 private:
  Negentropy(const RangeStorage& storage, uint64_t frame_size_limit)
      : storage_(&storage), frame_size_limit_(frame_size_limit) {}

  const RangeStorage* storage_;
  uint64_t frame_size_limit_;
  bool initiator_ = false;
};

}  // namespace topo::sync
