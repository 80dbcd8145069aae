// The wire frames of a rateless IBLT session, version 2 (docs/PROTOCOL.md, "Set
// reconciliation: rateless IBLT", gives every byte). A frame is one message; the transport
// delimits it.
//
//   initiator -> responder   SYMBOLS  coded symbols [start, start + n) of its sketch, cut to
//                                     37 bytes each, and the low count bytes of the next r
//   responder -> initiator   MORE     send symbols [start, start + n)
//   responder -> initiator   DONE     the ids the initiator lacks, and how many it holds
//                                     that the responder lacks
//   responder -> initiator   FALLBACK give up; reconcile with negentropy instead
//
// Version 1 used types 1 (SYMBOLS with 64-bit checksums and whole counts) and 3 (DONE
// listing both sides); they are refused as unknown types, so a version 1 peer's session
// ends at its first frame rather than being misread.
//
// DecodeRiblt is strict: a known type, canonical varints, bounded counts, no trailing bytes,
// the DONE list sorted and unique. Its errors are kCorruption naming the field.
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

enum class RibltFrameType : uint8_t { kMore = 2, kFallback = 4, kSymbols = 5, kDone = 6 };

enum class FallbackReason : uint8_t {
  kDifferenceTooLarge = 1,  // the estimate or the symbols used pass the responder's cap
  kSketchExhausted = 2,     // the initiator sent the last symbol of its sketch
  kNoProgress = 3,          // too many rounds without completing
  // The symbols peeled inconsistently (an item twice, or more items than symbols): a
  // 32-bit checksum coincidence (riblt.h) or a faulty peer. Negentropy settles it either way.
  kInconsistent = 4,
};
const char* FallbackReasonName(FallbackReason reason);

struct SymbolsFrame {
  uint64_t start = 0;
  bool last = false;  // the sender holds no symbol past this frame
  // On the wire each symbol keeps its id_xor, the low 32 bits of checksum_xor and, past
  // index 0, the low byte of count (the symbol at index 0 keeps its whole count: the
  // estimate needs the exact difference of the set sizes). EncodeRibltFrame drops the rest;
  // DecodeRibltFrame returns symbols so cut (checksum < 2^32, count 0..255 past index 0).
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
  // How many ids the initiator holds that the responder lacks. Only their number travels:
  // the initiator pulls (it fetches what it lacks), and the responder, which decoded these
  // ids, fetches them in its own pull; listing them would cost 32 bytes each for nothing.
  uint64_t initiator_only_count = 0;
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

// The encoded size of a symbol past index 0 (32 + 4 + 1 bytes), for budgeting.
constexpr size_t kEncodedSymbolSize = ItemId::kSize + 4 + 1;

}  // namespace topo::sync
