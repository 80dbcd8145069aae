#include "sync/riblt_session.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace topo::sync {
namespace {

// The least symbols per difference item that ever decode (the asymptotic 1.35, less a
// little for small differences' luck).
constexpr double kMinOverhead = 1.3;

std::vector<ItemId> Sorted(std::vector<ItemId> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

// ---- initiator ----

RibltInitiator::RibltInitiator(const RibltSketch& sketch, RibltSessionOptions options)
    : symbols_(sketch.symbols().begin(), sketch.symbols().end()), options_(options) {}

Bytes RibltInitiator::SymbolsFrom(size_t count, size_t residues) {
  SymbolsFrame f;
  f.start = sent_;
  count = std::min({count, symbols_.size() - sent_, static_cast<size_t>(kMaxSymbolsPerFrame)});
  f.symbols.assign(symbols_.begin() + sent_, symbols_.begin() + sent_ + count);
  sent_ += count;
  f.last = sent_ == symbols_.size();
  residues =
      std::min({residues, symbols_.size() - sent_, static_cast<size_t>(kMaxSymbolsPerFrame)});
  for (size_t i = sent_; i < sent_ + residues; ++i)
    f.count_residues.push_back(static_cast<uint8_t>(symbols_[i].count));
  return EncodeRibltFrame(f);
}

Result<Bytes> RibltInitiator::Fail(Status s) {
  outcome_ = RibltOutcome::kFailed;
  return s;
}

Bytes RibltInitiator::Start() {
  started_ = true;
  return SymbolsFrom(std::max<size_t>(options_.initial_symbols, 1), options_.estimate_counts);
}

Result<Bytes> RibltInitiator::Receive(ByteView bytes) {
  if (!started_ || outcome_ != RibltOutcome::kRunning)
    return Fail(Status::Rejected("riblt initiator: a frame outside a running session"));
  Result<RibltFrame> frame = DecodeRibltFrame(bytes);
  if (!frame.ok()) return Fail(frame.status());

  if (auto* more = std::get_if<MoreFrame>(&*frame)) {
    if (more->start != sent_)
      return Fail(Status::Rejected("riblt initiator: MORE from " + std::to_string(more->start) +
                                   " after " + std::to_string(sent_) + " symbols sent"));
    if (sent_ == symbols_.size())
      return Fail(Status::Rejected("riblt initiator: MORE after the last symbol"));
    return SymbolsFrom(more->count, 0);
  }
  if (auto* done = std::get_if<DoneFrame>(&*frame)) {
    // An honest decode peels at most one item per symbol.
    if (done->initiator_only_count + done->responder_only.size() > sent_)
      return Fail(Status::Rejected("riblt initiator: DONE names more ids than symbols sent"));
    responder_lacks_ = done->initiator_only_count;
    need_ = std::move(done->responder_only);
    outcome_ = RibltOutcome::kComplete;
    return Bytes{};
  }
  if (auto* fallback = std::get_if<FallbackFrame>(&*frame)) {
    reason_ = fallback->reason;
    outcome_ = RibltOutcome::kFallback;
    return Bytes{};
  }
  return Fail(Status::Rejected("riblt initiator: SYMBOLS from the responder"));
}

// ---- responder ----

RibltResponder::RibltResponder(const RibltSketch& sketch, RibltSessionOptions options)
    : decoder_(sketch, options.max_symbols), options_(options) {
  asked_ = decoder_.max_symbols();  // the first frame may carry up to the cap
}

Result<Bytes> RibltResponder::Fail(Status s) {
  outcome_ = RibltOutcome::kFailed;
  return s;
}

Bytes RibltResponder::Finish(FallbackReason reason) {
  outcome_ = RibltOutcome::kFallback;
  reason_ = reason;
  return EncodeRibltFrame(FallbackFrame{reason});
}

Result<Bytes> RibltResponder::Receive(ByteView bytes) {
  if (outcome_ != RibltOutcome::kRunning)
    return Fail(Status::Rejected("riblt responder: a frame outside a running session"));
  Result<RibltFrame> frame = DecodeRibltFrame(bytes);
  if (!frame.ok()) return Fail(frame.status());
  auto* symbols = std::get_if<SymbolsFrame>(&*frame);
  if (!symbols) return Fail(Status::Rejected("riblt responder: expected a SYMBOLS frame"));

  const size_t received = decoder_.symbols_received();
  if (symbols->start != received)
    return Fail(Status::Rejected("riblt responder: symbols from " + std::to_string(symbols->start) +
                                 ", expected " + std::to_string(received)));
  if (symbols->symbols.size() > asked_)
    return Fail(Status::Rejected("riblt responder: " + std::to_string(symbols->symbols.size()) +
                                 " symbols, asked for " + std::to_string(asked_)));
  if (received > 0 && symbols->symbols.size() < asked_ && !symbols->last)
    return Fail(Status::Rejected("riblt responder: fewer symbols than asked in a frame not last"));
  if (Status s = decoder_.Add(symbols->start, symbols->symbols); !s.ok()) {
    // The checks above leave only kCorruption: an item peeled twice or more items than
    // symbols, which a false peel on 32 checksum bits can cause as well as a faulty peer.
    if (s.code() == Code::kCorruption) return Finish(FallbackReason::kInconsistent);
    return Fail(s);
  }
  if (!symbols->count_residues.empty()) {
    if (Status s = decoder_.AddCountResidues(symbols->count_residues); !s.ok())
      return Fail(Status::Rejected("riblt responder: count bytes before any symbol"));
  }

  if (decoder_.complete()) {
    have_ = Sorted(decoder_.local_only());
    need_ = Sorted(decoder_.remote_only());
    outcome_ = RibltOutcome::kComplete;
    return EncodeRibltFrame(DoneFrame{need_.size(), have_});
  }
  if (symbols->last) return Finish(FallbackReason::kSketchExhausted);
  if (rounds_ >= options_.max_rounds) return Finish(FallbackReason::kNoProgress);

  const size_t have_symbols = decoder_.symbols_received();
  const size_t cap = decoder_.max_symbols();
  if (have_symbols >= cap) return Finish(FallbackReason::kDifferenceTooLarge);
  const size_t decoded = decoder_.local_only().size() + decoder_.remote_only().size();
  const double estimate = std::max(decoder_.EstimateDifference(), static_cast<double>(decoded));
  // Give up at once when even a low reading of the estimate (2.5 standard errors down)
  // needs more symbols than the cap allows: streaming them would only delay negentropy.
  const double samples = static_cast<double>(std::max<size_t>(decoder_.estimate_samples(), 1));
  const double low = estimate * (1.0 - 2.5 * std::sqrt(2.0 / samples));
  if (low * kMinOverhead > static_cast<double>(cap))
    return Finish(FallbackReason::kDifferenceTooLarge);

  // Ask for enough to reach estimate x (overhead + 2.5 / sqrt(estimate)): the symbols a
  // difference needs spread by about 1 / sqrt(d) around 1.38 d (0.1 d at d = 100), and the
  // second term covers most of that spread. Since what is held did not decode, ask for at
  // least a tenth more than held.
  double target =
      std::ceil(estimate * (options_.overhead + 2.5 / std::sqrt(std::max(estimate, 1.0))));
  target = std::max(target, static_cast<double>(have_symbols + have_symbols / 10 + 8));
  const size_t total = static_cast<size_t>(std::min(target, static_cast<double>(cap)));
  asked_ = std::min<size_t>(total - have_symbols, kMaxSymbolsPerFrame);
  ++rounds_;
  return EncodeRibltFrame(MoreFrame{have_symbols, asked_});
}

}  // namespace topo::sync
