// The wire frames of a rateless IBLT session (docs/PROTOCOL.md, "Set reconciliation:
// rateless IBLT", gives every byte). A frame is one message; the transport delimits it.
//
//   initiator -> responder   SYMBOLS  coded symbols [start, start + n) of its sketch, and
//                                     the low count bytes of the next r symbols
//   responder -> initiator   MORE     send symbols [start, start + n)
//   responder -> initiator   DONE     the difference: sorted ids on each side
//   responder -> initiator   FALLBACK give up; reconcile with negentropy instead
//
// DecodeRiblt is strict: a known type, canonical varints, bounded counts, no trailing bytes,
// DONE lists sorted, unique and disjoint. Its errors are kCorruption naming the field.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "sync/riblt.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::sync {

// At most this many symbols in one SYMBOLS frame or asked for by one MORE (about 2.8 MB).
constexpr uint64_t kMaxSymbolsPerFrame = uint64_t{1} << 16;

enum class RibltFrameType : uint8_t { kSymbols = 1, kMore = 2, kDone = 3, kFallback = 4 };

enum class FallbackReason : uint8_t {
  kDifferenceTooLarge = 1,  // the estimate or the symbols used pass the responder's cap
  kSketchExhausted = 2,     // the initiator sent the last symbol of its sketch
  kNoProgress = 3,          // too many rounds without completing
};
const char* FallbackReasonName(FallbackReason reason);

struct SymbolsFrame {
  uint64_t start = 0;
  bool last = false;  // the sender holds no symbol past this frame
  std::vector<CodedSymbol> symbols;
  // The low byte of the count of each symbol after these (from start + symbols.size()),
  // for the responder's estimate of the difference; at most kMaxSymbolsPerFrame.
  Bytes count_residues;
  bool operator==(const SymbolsFrame&) const = default;
};
struct MoreFrame {
  uint64_t start = 0;  // must be the number of symbols received so far
  uint64_t count = 0;  // 1..kMaxSymbolsPerFrame
  bool operator==(const MoreFrame&) const = default;
};
struct DoneFrame {
  std::vector<ItemId> initiator_only;  // the responder lacks these; sorted, unique
  std::vector<ItemId> responder_only;  // the initiator lacks these; sorted, unique
  bool operator==(const DoneFrame&) const = default;
};
struct FallbackFrame {
  FallbackReason reason = FallbackReason::kNoProgress;
  bool operator==(const FallbackFrame&) const = default;
};
using RibltFrame = std::variant<SymbolsFrame, MoreFrame, DoneFrame, FallbackFrame>;

// REQUIRES: the frame satisfies the rules DecodeRibltFrame checks (sorted DONE lists, counts
// in bounds); the session only builds such frames.
Bytes EncodeRibltFrame(const RibltFrame& frame);
Result<RibltFrame> DecodeRibltFrame(ByteView bytes);

// The encoded size of one symbol (32 + 8 + the count's varint), for budgeting.
size_t EncodedSymbolSize(const CodedSymbol& s);

}  // namespace topo::sync
