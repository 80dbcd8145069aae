#include "sync/riblt.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>

#include "crypto/short_hash.h"
#include "util/encoding.h"

namespace topo::sync {
namespace {

const crypto::ShortHashKey kChecksumKey =
    crypto::ShortHashKey::FromView(AsBytes("topo.riblt.v1.ck"));

int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

void XorInto(ItemId& acc, const ItemId& id) {
  // Four 64-bit words: the compiler turns this into two vector XORs.
  uint64_t a[4], b[4];
  std::memcpy(a, acc.data(), 32);
  std::memcpy(b, id.data(), 32);
  for (int i = 0; i < 4; ++i) a[i] ^= b[i];
  std::memcpy(acc.data(), a, 32);
}

// A difference symbol in the decoder's reduced terms (riblt.h, kWireChecksumMask): the
// checksum on its wire bits, the count modulo 256 as -128..127.
void Reduce(CodedSymbol& c) {
  c.checksum_xor &= kWireChecksumMask;
  c.count = static_cast<int8_t>(static_cast<uint8_t>(c.count));
}

}  // namespace

uint64_t ItemChecksum(const ItemId& id) { return crypto::ShortHash(kChecksumKey, id.view()); }

uint64_t IndexMapping::Next() {
  if (index_ == kEnd) return kEnd;
  // The reference's step, operation for operation (so the same doubles round the same way):
  // with u = r / 2^64 uniform in [0, 1), step = ceil((i + 1.5) * ((1 - u)^(-1/2) - 1)),
  // where (1 - u)^(-1/2) is approximated by 2^32 / sqrt(r + 1).
  prng_ *= 0xda942042e4dd58b5ULL;
  const double r = static_cast<double>(prng_);
  const double scale = 4294967296.0 / std::sqrt(r + 1.0) - 1.0;
  const double step = std::ceil((static_cast<double>(index_) + 1.5) * scale);
  // Past 2^64 the reference's conversion is undefined; no index that large is ever used.
  if (step >= 18446744073709551616.0) {
    index_ = kEnd;
    return kEnd;
  }
  const uint64_t s = static_cast<uint64_t>(step);
  index_ = s > kEnd - index_ ? kEnd : index_ + s;
  return index_;
}

void CodedSymbol::Apply(const ItemId& id, uint64_t checksum, int64_t direction) {
  XorInto(id_xor, id);
  checksum_xor ^= checksum;
  count = WrapAdd(count, direction);
}

void CodedSymbol::Subtract(const CodedSymbol& other) {
  XorInto(id_xor, other.id_xor);
  checksum_xor ^= other.checksum_xor;
  count = WrapSub(count, other.count);
}

bool CodedSymbol::IsPure() const {
  return (count == 1 || count == -1) && ItemChecksum(id_xor) == checksum_xor;
}

RibltSketch::RibltSketch(size_t capacity)
    : symbols_(std::clamp<size_t>(capacity, 1, kMaxSketchCapacity)) {}

void RibltSketch::Insert(const ItemId& id) { Apply(id, +1); }
void RibltSketch::Erase(const ItemId& id) { Apply(id, -1); }

void RibltSketch::Apply(const ItemId& id, int64_t direction) {
  const uint64_t checksum = ItemChecksum(id);
  IndexMapping m(checksum);
  for (uint64_t i = 0; i < symbols_.size(); i = m.Next())
    symbols_[i].Apply(id, checksum, direction);
}

std::vector<CodedSymbol> EncodeRange(std::span<const ItemId> items, uint64_t begin, uint64_t end) {
  if (end < begin) end = begin;
  if (end - begin > kMaxSketchCapacity) end = begin + kMaxSketchCapacity;
  std::vector<CodedSymbol> out(end - begin);
  for (const ItemId& id : items) {
    const uint64_t checksum = ItemChecksum(id);
    IndexMapping m(checksum);
    for (uint64_t i = 0; i < end; i = m.Next())
      if (i >= begin) out[i - begin].Apply(id, checksum, +1);
  }
  return out;
}

RibltDecoder::RibltDecoder(const RibltSketch& local, size_t max_symbols)
    : max_symbols_(std::min(max_symbols, local.capacity())) {
  auto s = local.symbols().first(max_symbols_);
  local_.assign(s.begin(), s.end());
}

void RibltDecoder::Remove(size_t j, const Decoded& item) {
  CodedSymbol& c = diff_[j];
  const bool was_zero = c.IsZero();
  c.Apply(item.id, item.checksum, -item.sign);
  Reduce(c);
  const bool is_zero = c.IsZero();
  if (was_zero && !is_zero) ++nonzero_;
  if (!was_zero && is_zero) --nonzero_;
  if (c.count == 1 || c.count == -1) pure_.push_back(static_cast<uint32_t>(j));
}

Status RibltDecoder::Add(uint64_t start, std::span<const CodedSymbol> batch) {
  if (failed_) return Status::InvalidArgument("riblt decoder: used after an error");
  if (start != diff_.size())
    return Status::InvalidArgument("riblt decoder: symbols start at " + std::to_string(start) +
                                   ", expected " + std::to_string(diff_.size()));
  if (batch.size() > max_symbols_ - diff_.size()) {
    failed_ = true;
    return Status::Rejected("riblt decoder: more than " + std::to_string(max_symbols_) +
                            " symbols");
  }
  for (const CodedSymbol& remote : batch) {
    const size_t j = diff_.size();
    CodedSymbol c = remote;
    c.Subtract(local_[j]);
    // The difference count before any peeling feeds the estimate; index 0's travels whole.
    if (j == 0)
      SampleFirst(static_cast<double>(c.count));
    else
      Sample(j, static_cast<uint8_t>(c.count));
    Reduce(c);
    diff_.push_back(c);
    if (!c.IsZero()) ++nonzero_;
    if (c.count == 1 || c.count == -1) pure_.push_back(static_cast<uint32_t>(j));
    // Take out the items already decoded that map here.
    while (!pending_.empty() && pending_.front().index == j) {
      std::pop_heap(pending_.begin(), pending_.end(), std::greater<>());
      Pending& p = pending_.back();
      Decoded& item = decoded_[p.item];
      Remove(j, item);
      p.index = item.mapping.Next();
      std::push_heap(pending_.begin(), pending_.end(), std::greater<>());
    }
  }
  Status s = Peel();
  if (!s.ok()) failed_ = true;
  return s;
}

Status RibltDecoder::Peel() {
  while (!pure_.empty()) {
    const uint32_t j = pure_.back();
    pure_.pop_back();
    const CodedSymbol c = diff_[j];
    if (c.count != 1 && c.count != -1) continue;  // changed since it was queued
    const uint64_t checksum = ItemChecksum(c.id_xor);
    if ((checksum & kWireChecksumMask) != c.checksum_xor) continue;  // several items
    // An item sits in every one of its indices, so j must be one of them: this turns away
    // most of the mixtures that match 32 checksum bits by chance, at no cost for a true
    // item, whose indices below diff_.size() are walked to peel it anyway.
    IndexMapping mapping(checksum);
    indices_.clear();
    bool maps_here = false;
    for (uint64_t i = 0; i < diff_.size(); i = mapping.Next()) {
      indices_.push_back(i);
      maps_here |= i == j;
    }
    if (!maps_here) continue;
    if (decoded_.size() >= diff_.size())
      return Status::Corruption(
          "riblt decoder: more items than symbols; the peer's symbols "
          "do not come from a set");
    if (!seen_.insert(c.id_xor).second)
      return Status::Corruption("riblt decoder: item " + HexEncodeShort(c.id_xor) +
                                " peeled twice; the peer's symbols do not come from a set");
    decoded_.push_back(Decoded{c.id_xor, checksum, c.count, mapping});
    (c.count == 1 ? remote_only_ : local_only_).push_back(c.id_xor);
    const uint32_t item = static_cast<uint32_t>(decoded_.size() - 1);
    const Decoded& d = decoded_.back();
    for (uint64_t i : indices_) Remove(i, d);
    pending_.push_back(Pending{d.mapping.index(), item});
    std::push_heap(pending_.begin(), pending_.end(), std::greater<>());
  }
  return Status::Ok();
}

void RibltDecoder::SampleFirst(double count_difference) {
  if (estimate_end_ != 0) return;
  estimate_end_ = 1;
  c0_ = count_difference;
}

void RibltDecoder::Sample(size_t j, uint8_t count_difference_low) {
  if (j != estimate_end_) return;  // already sampled from a residue
  ++estimate_end_;
  const double p = 2.0 / (static_cast<double>(j) + 2.0);
  const double expected = c0_ * p;
  // Of the counts with this low byte, the one nearest the expectation: exact while the
  // deviation stays within ±127, that is up to differences of thousands at low indices.
  // |c0| < 2^63 and p <= 2/3, so the rounding fits in an int64.
  const int64_t e = std::llround(expected);
  const auto offset =
      static_cast<int8_t>(static_cast<uint8_t>(count_difference_low - static_cast<uint8_t>(e)));
  const double dev = static_cast<double>(e) - expected + static_cast<double>(offset);
  estimate_sum_ += dev * dev / (p * (1.0 - p));
}

Status RibltDecoder::AddCountResidues(ByteView residues) {
  if (diff_.empty())
    return Status::InvalidArgument("riblt decoder: count residues before the first symbol");
  const size_t start = diff_.size();
  const size_t n = std::min(residues.size(), max_symbols_ - start);
  for (size_t k = 0; k < n; ++k) {
    const uint8_t local = static_cast<uint8_t>(local_[start + k].count);
    Sample(start + k, static_cast<uint8_t>(residues[k] - local));
  }
  return Status::Ok();
}

double RibltDecoder::EstimateDifference() const {
  if (estimate_end_ < 2) return 0;
  return estimate_sum_ / static_cast<double>(estimate_end_ - 1);
}

}  // namespace topo::sync
