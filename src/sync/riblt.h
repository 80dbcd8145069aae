// Rateless IBLT set reconciliation (Yang, Gilad, Alizadeh, "Practical Rateless Set
// Reconciliation", SIGCOMM 2024; reference code yangl1996/riblt, whose index mapping this
// follows bit for bit).
//
// Items are 32-byte vertex ids. A set defines an infinite sequence of coded symbols; symbol i
// is the XOR of the ids mapped to it, the XOR of their checksums and their number. Every
// item maps to index 0 and then to a sparse, random, increasing run of indices (index i is
// hit with probability 2/(i+2)), so the first m symbols of two sets, subtracted, let the
// difference be peeled out once m reaches about 1.35 times its size.
//
// A node keeps a RibltSketch per set: the first `capacity` symbols, updated on every insert
// and erase, so a session streams precomputed symbols and costs O(difference), not O(set).
// Symbols past the capacity come from EncodeRange over the whole set (the slow path); the
// session (riblt_session.h) does not take it and falls back to negentropy instead.
//
// The docs/PROTOCOL.md section "Set reconciliation: rateless IBLT" fixes the checksum and
// the mapping byte for byte; two nodes must agree on both.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_set>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace topo::sync {

using ItemId = Hash32;

// The item's checksum: SipHash-2-4 of the id under a fixed, public key (the 16 ASCII bytes
// "topo.riblt.v1.ck"), read little-endian. The key is fixed, not per session, because the
// sketches are precomputed and shared by every session; ids are BLAKE2b outputs that a
// peer cannot choose freely, and the worst a ground collision can do is make a session fall
// back to negentropy. It also seeds the item's index mapping.
uint64_t ItemChecksum(const ItemId& id);

// The indices of the coded symbols an item is mapped to: 0 first, then strictly larger
// indices (in theory; a step of 0 has probability about 2^-54 and is kept as the reference
// keeps it). The state is 16 bytes, so a decoder can hold one per decoded item.
class IndexMapping {
 public:
  // No index is ever this large; Next() saturates to it instead of overflowing.
  static constexpr uint64_t kEnd = UINT64_MAX;

  explicit IndexMapping(uint64_t seed) : prng_(seed) {}
  uint64_t index() const { return index_; }
  // Advances to the next index and returns it.
  uint64_t Next();

 private:
  uint64_t prng_;
  uint64_t index_ = 0;
};

// One coded symbol. Counts are kept with wrapping arithmetic so hostile input cannot cause
// signed overflow.
struct CodedSymbol {
  ItemId id_xor;
  uint64_t checksum_xor = 0;
  int64_t count = 0;

  // Adds (direction +1) or removes (-1) one item.
  void Apply(const ItemId& id, uint64_t checksum, int64_t direction);
  // this - other: the symbol of the difference of the two sets at this index.
  void Subtract(const CodedSymbol& other);
  bool IsZero() const { return count == 0 && checksum_xor == 0 && id_xor.IsZero(); }
  // Holds exactly one item (count +1 or -1) whose checksum matches: it can be peeled.
  bool IsPure() const;
  bool operator==(const CodedSymbol&) const = default;
};

// On the wire (docs/PROTOCOL.md, riblt frames version 2) a symbol carries only the low 32
// bits of its checksum and, past index 0, the low byte of its count: 37 bytes instead of
// 43, and the difference needs only ±1 and 0 told apart, which the 256-bit id_xor and the
// checksum settle. The decoder compares checksums and counts in those reduced terms.
constexpr uint64_t kWireChecksumMask = 0xffff'ffff;

// A sketch holds 4096 symbols (192 KiB) unless told otherwise: enough to decode about
// 3,000 differences; larger differences go to negentropy.
constexpr size_t kDefaultSketchCapacity = 4096;
// Hard bound on any sketch or decoder: 2^24 symbols (768 MiB) is far past any use.
constexpr size_t kMaxSketchCapacity = size_t{1} << 24;

// The first `capacity` coded symbols of a set, kept up to date as items come and go.
// Insert and Erase cost O(number of indices below capacity the item maps to), about
// 2 ln(capacity / 2) + 1 (17 for the default capacity).
//
// The sketch does not hold the set: inserting an id twice, or erasing an id that was not
// inserted, makes it the sketch of a multiset, and sessions against it fail to decode.
// Not thread-safe; copyable (a session snapshots it).
class RibltSketch {
 public:
  // REQUIRES: 1 <= capacity <= kMaxSketchCapacity.
  explicit RibltSketch(size_t capacity = kDefaultSketchCapacity);

  void Insert(const ItemId& id);
  void Erase(const ItemId& id);

  size_t capacity() const { return symbols_.size(); }
  // Items inserted minus items erased (symbol 0's count).
  int64_t size() const { return symbols_[0].count; }
  std::span<const CodedSymbol> symbols() const { return symbols_; }

 private:
  void Apply(const ItemId& id, int64_t direction);
  std::vector<CodedSymbol> symbols_;
};

// The slow path: coded symbols [begin, end) of the set `items`, computed from scratch in
// O(|items| * log(end)). Also the reference a sketch must equal.
// REQUIRES: begin <= end, end - begin <= kMaxSketchCapacity.
std::vector<CodedSymbol> EncodeRange(std::span<const ItemId> items, uint64_t begin, uint64_t end);

// Peels the difference between the peer's set (remote) and ours (local) out of the peer's
// coded symbols, which arrive in index order, one or a batch at a time. After each call,
// remote_only() and local_only() hold what has been peeled so far; complete() says every
// symbol received so far has been peeled to zero, which (since every item maps to index 0)
// means the difference is fully known.
//
// The decoder reads only what the wire carries: the low 32 bits of each remote checksum and,
// past index 0, the low byte of each remote count (it may be given whole symbols; the rest
// is ignored). A difference symbol's count is kept modulo 256 (as -128..127) and its
// checksum on 32 bits. A symbol at index j is peeled as item x when its count is ±1, the
// low 32 bits of ck(x) equal its checksum, and j is one of x's indices. A symbol holding
// several items passes all three by chance with probability about 2^-32 * 2 / (j + 2)
// (docs/PROTOCOL.md works out the odds per session: below 10^-6 at a difference of 1,000).
// A false peel leaves symbols that never all reach zero, or an item peeled twice
// (kCorruption): the session then falls back to negentropy. Completing with a wrong
// difference would need the 256-bit id_xor of every received symbol to cancel as well.
//
// Cost per received symbol: O(1) plus the decoded items mapped to it; per decoded item,
// O(log symbols received). Not thread-safe.
class RibltDecoder {
 public:
  // Copies the local symbols it needs (a snapshot: later changes to `local` do not reach
  // this decoder). Accepts at most min(max_symbols, local.capacity()) symbols.
  RibltDecoder(const RibltSketch& local, size_t max_symbols);

  // Adds the peer's symbols with indices [start, start + batch.size()).
  // Errors: kInvalidArgument when start is not symbols_received(); kRejected when the batch
  // goes past the symbol cap; kCorruption when the symbols cannot come from any set (an id
  // peeled twice, or more items than symbols). After an error the decoder is unusable.
  Status Add(uint64_t start, std::span<const CodedSymbol> batch);

  size_t symbols_received() const { return diff_.size(); }
  size_t max_symbols() const { return max_symbols_; }
  bool complete() const { return !diff_.empty() && nonzero_ == 0; }
  // Ids the peer has and we lack, and ids we have and the peer lacks, in peeling order.
  const std::vector<ItemId>& remote_only() const { return remote_only_; }
  const std::vector<ItemId>& local_only() const { return local_only_; }

  // Takes the low bytes of the peer's counts of the symbols right after those received
  // (indices [symbols_received(), + residues.size()), as far as max_symbols()), for the
  // estimate only: a byte per index instead of a whole symbol. The count difference at
  // such an index is read modulo 256 as -128..127, exact while the difference is below
  // about 30,000 (beyond it the estimate reads low, yet still far past any cap).
  // Errors: kInvalidArgument before the first symbol (symbol 0's count is needed).
  // A count byte, and the count of a symbol past index 0, is read as the count difference
  // nearest to its expectation c0 * 2 / (i + 2) with that low byte (see EstimateDifference),
  // so a one-sided difference (c0 large) still reads exactly.
  Status AddCountResidues(ByteView residues);

  // An estimate of the size of the whole difference from the count differences seen so far
  // (full symbols and residues; 0 before two indices). Index i holds each differing item
  // with probability about p = 2/(i+2), so its count minus c0 * p (c0 = symbol 0's count,
  // exactly remote minus local size) has variance d * p * (1 - p); the estimate averages
  // the normalized squares. With s samples its relative error is about sqrt(2 / s).
  double EstimateDifference() const;
  // Indices the estimate rests on (excluding index 0).
  size_t estimate_samples() const { return estimate_end_ > 0 ? estimate_end_ - 1 : 0; }

 private:
  struct Decoded {
    ItemId id;
    uint64_t checksum;
    int64_t sign;  // +1 remote only, -1 local only
    IndexMapping mapping;
  };
  struct Pending {  // a decoded item's next index at or past symbols_received()
    uint64_t index;
    uint32_t item;
    bool operator>(const Pending& o) const { return index > o.index; }
  };

  // Removes a decoded item from diff_[j], keeping nonzero_ and the pure queue current.
  void Remove(size_t j, const Decoded& item);
  Status Peel();
  // Feeds index j's count difference to the estimate, once per index, in index order: index
  // 0's exact difference, then for j >= 1 the difference's low byte.
  void SampleFirst(double count_difference);
  void Sample(size_t j, uint8_t count_difference_low);

  std::vector<CodedSymbol> local_;
  size_t max_symbols_;
  std::vector<CodedSymbol> diff_;  // remote - local - decoded items, per index
  size_t nonzero_ = 0;
  std::vector<uint32_t> pure_;  // indices that may be pure (checked again when popped)
  std::vector<Decoded> decoded_;
  std::vector<Pending> pending_;  // min-heap on index
  std::unordered_set<ItemId, FixedBytesHash> seen_;
  std::vector<uint64_t> indices_;  // scratch: a candidate's indices below symbols_received()
  std::vector<ItemId> remote_only_, local_only_;
  // For EstimateDifference: symbol 0's difference count, the running sum, and the first
  // index not yet sampled.
  double c0_ = 0;
  double estimate_sum_ = 0;
  size_t estimate_end_ = 0;
  bool failed_ = false;
};

}  // namespace topo::sync
