// A rateless IBLT reconciliation session between two peers, sans I/O: each side takes the
// frames the other sent (riblt_frame.h) and returns the frame to send back; the caller
// moves the bytes. No clock, no socket, no randomness.
//
//   initiator                          responder
//   Start()      -- SYMBOLS [0, 64) + count bytes of [64, 2048) -->
//                <-- DONE ------------ a difference up to about 40: one round trip
//             or <-- MORE [64, n) ---- from an estimate d of the difference (n ~ 1.6 d)
//   Receive()    -- SYMBOLS [64, n) ->
//                <-- DONE or MORE or FALLBACK
//
// The responder falls back (FALLBACK, then both sides run negentropy) when the estimate
// already says the difference cannot decode within its symbol cap, when it has used the
// cap, when the initiator's sketch runs out, when the symbols peel inconsistently, or
// after max_rounds MORE requests.
//
// Both sides snapshot their sketch when the session is made (O(capacity) bytes copied), so
// inserts during the session do not disturb it; those inserts reach the peer next session.
#pragma once

#include <cstddef>
#include <vector>

#include "sync/riblt.h"
#include "sync/riblt_frame.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::sync {

struct RibltSessionOptions {
  // Symbols in the initiator's first frame: decodes a difference of up to about 40.
  size_t initial_symbols = 64;
  // Count bytes for the symbols after those in the first frame: one byte each instead of
  // 37, they bring the responder's estimate of a larger difference within about 3.2%
  // (1,984: the estimate rests on indices 1..2047), so one MORE suffices. Measured at a
  // difference of 1,000 over twice 10,000 sessions (docs/PERFORMANCE.md): 960 bytes (4.5%)
  // left 9 sessions needing a third round trip at this overhead, 1,984 only a decoding
  // stall no estimate helps (one session needed 2.4 symbols per item), for 1 KB more.
  size_t estimate_counts = 1984;
  // The responder's cap on symbols taken (further bounded by its sketch's capacity).
  size_t max_symbols = kDefaultSketchCapacity;
  // The responder asks for estimate x (overhead + 2.5 / sqrt(estimate)) symbols in all.
  // Decoding needs about 1.38 per item at a difference of 1,000, more and with more spread
  // for small ones; the margin covers that spread and about 3.5 standard errors of the
  // estimate (a symbol costs 37 bytes, a third round trip a whole latency). 1.42 left 5
  // sessions in 100 at a difference of 1,000 in three round trips.
  double overhead = 1.55;
  // MORE requests before giving up with kNoProgress.
  size_t max_rounds = 8;
};

enum class RibltOutcome {
  kRunning,
  kComplete,  // have() and need() are the whole difference
  kFallback,  // reconcile with negentropy; fallback_reason() says why
  kFailed,    // a call returned an error; the session is over
};

class RibltInitiator {
 public:
  explicit RibltInitiator(const RibltSketch& sketch, RibltSessionOptions options = {});

  // The first frame. REQUIRES: called once, before Receive.
  Bytes Start();
  // Takes a frame from the responder. Returns the frame to send back, or empty bytes when
  // the session is over (outcome() is then kComplete or kFallback).
  // Errors (the outcome becomes kFailed): a malformed frame (kCorruption), a frame the
  // protocol does not allow here (kRejected).
  Result<Bytes> Receive(ByteView frame);

  RibltOutcome outcome() const { return outcome_; }
  FallbackReason fallback_reason() const { return reason_; }
  // When complete: the ids the responder holds that we lack (to fetch), sorted, and how
  // many we hold that it lacks. Which ones those are only the responder learns (its have()
  // and need()); it fetches them in its own pull (docs/PROTOCOL.md, section 11).
  const std::vector<ItemId>& need() const { return need_; }
  uint64_t responder_lacks() const { return responder_lacks_; }
  size_t symbols_sent() const { return sent_; }

 private:
  Bytes SymbolsFrom(size_t count, size_t residues);
  Result<Bytes> Fail(Status s);

  std::vector<CodedSymbol> symbols_;
  RibltSessionOptions options_;
  size_t sent_ = 0;
  bool started_ = false;
  RibltOutcome outcome_ = RibltOutcome::kRunning;
  FallbackReason reason_ = FallbackReason::kNoProgress;
  std::vector<ItemId> need_;
  uint64_t responder_lacks_ = 0;
};

class RibltResponder {
 public:
  explicit RibltResponder(const RibltSketch& sketch, RibltSessionOptions options = {});

  // Takes a SYMBOLS frame from the initiator and returns MORE, DONE or FALLBACK. Symbols
  // that peel inconsistently get FALLBACK 4, not an error: with 32-bit checksums an honest
  // peer's symbols can, rarely, peel a false item (riblt.h).
  // Errors (the outcome becomes kFailed): a malformed frame (kCorruption), a frame the
  // protocol does not allow here (kRejected).
  Result<Bytes> Receive(ByteView frame);

  RibltOutcome outcome() const { return outcome_; }
  FallbackReason fallback_reason() const { return reason_; }
  // When complete: ids we hold that the initiator lacks, and ids it holds that we lack.
  const std::vector<ItemId>& have() const { return have_; }
  const std::vector<ItemId>& need() const { return need_; }
  size_t symbols_received() const { return decoder_.symbols_received(); }
  size_t rounds() const { return rounds_; }
  double estimated_difference() const { return decoder_.EstimateDifference(); }

 private:
  Bytes Finish(FallbackReason reason);
  Result<Bytes> Fail(Status s);

  RibltDecoder decoder_;
  RibltSessionOptions options_;
  size_t asked_ = 0;  // symbols the next SYMBOLS frame may carry
  size_t rounds_ = 0;
  RibltOutcome outcome_ = RibltOutcome::kRunning;
  FallbackReason reason_ = FallbackReason::kNoProgress;
  std::vector<ItemId> have_, need_;
};

}  // namespace topo::sync
