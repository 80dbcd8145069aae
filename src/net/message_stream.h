// Messages on a QUIC stream, sans I/O: each message is framed as a 4-byte big-endian length
// followed by that many bytes (docs/PROTOCOL.md, "Transport"). MessageReader splits the
// bytes a stream delivers back into messages; SendBuffer keeps framed messages until the
// peer has acknowledged them.
//
// Neither is thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace topo::net {

constexpr size_t kFrameHeaderBytes = 4;

// Appends the frame of `message` (length || bytes) to `out`.
void AppendFrame(ByteView message, Bytes& out);

class MessageReader {
 public:
  explicit MessageReader(size_t max_message_bytes) : max_(max_message_bytes) {}

  // Takes the stream's next bytes and appends each message they complete to `out`. A length
  // over the limit is an error as soon as its 4 bytes arrive, before any of the body is
  // kept; after an error the reader refuses everything.
  Status Feed(ByteView data, std::vector<Bytes>& out);

  // Bytes held for the message not yet complete (its header included): at most
  // max_message_bytes + 4.
  size_t pending_bytes() const;
  // Drops the incomplete message and frees its memory.
  void Reset();

 private:
  size_t max_;
  uint8_t header_[kFrameHeaderBytes] = {0, 0, 0, 0};
  size_t header_len_ = 0;
  size_t body_len_ = 0;  // meaningful once header_len_ == 4
  Bytes body_;
  bool failed_ = false;
};

class SendBuffer {
 public:
  // Queues one message (framed here).
  void Push(ByteView message);

  // The part of the oldest message not yet handed to the transport; empty when everything
  // queued was handed out. Stays valid until the bytes are acknowledged or Clear().
  ByteView Unsent() const;
  // The transport took the first n bytes of Unsent(). Returns true when that finished the
  // message.
  bool Consume(size_t n);
  // The peer acknowledged the next n bytes of the stream (acknowledgements arrive in stream
  // order). Returns the bytes released (n, or less if n runs past what was handed out).
  size_t Ack(uint64_t n);

  // Queued and not yet acknowledged, sent or not.
  uint64_t unacked_bytes() const { return unacked_; }
  void Clear();

 private:
  std::deque<Bytes> frames_;   // oldest first; frames_[0] is the oldest not fully acked
  size_t acked_in_front_ = 0;  // acknowledged bytes of frames_[0]
  size_t next_ = 0;            // index of the frame being handed out
  size_t sent_in_next_ = 0;    // bytes of frames_[next_] handed out
  uint64_t sent_unacked_ = 0;  // handed out, not yet acknowledged
  uint64_t unacked_ = 0;
};

}  // namespace topo::net
