#include "sync/session.h"

#include <algorithm>
#include <unordered_set>

#include "util/encoding.h"

namespace topo::sync {
namespace {

// The sets of an object this node holds nothing of.
const RibltSketch& EmptySketch() {
  static const RibltSketch empty;
  return empty;
}
const RangeStorage& EmptyItems() {
  static const SortedVectorStorage empty = [] {
    SortedVectorStorage s;
    (void)s.Seal();
    return s;
  }();
  return empty;
}

}  // namespace

struct Session::Pull {
  codec::ObjectId object;
  enum class Phase { kWaiting, kRiblt, kNegentropy, kFetch, kDone } phase = Phase::kWaiting;
  std::unique_ptr<RibltInitiator> riblt;
  std::optional<Negentropy> negentropy;
  size_t attempts = 0;  // reconciliations started
  // Ids reconciled as needed that have not arrived: queued in to_ask or named by a want.
  // Dedupes what reconciliation reports twice; an id leaves it when its vertex arrives or
  // the peer's answer to the want lacks it.
  std::unordered_set<codec::VertexId, FixedBytesHash> pending;
  std::deque<codec::VertexId> to_ask;
  // The next negentropy message, held while to_ask is at max_queued_needs.
  std::optional<Bytes> held;
};

Session::Session(SyncSource& source, SessionOptions options) : source_(source), options_(options) {
  options_.want_ids = std::clamp<size_t>(options_.want_ids, 1, kMaxWantIds);
  options_.window = std::max<size_t>(options_.window, 1);
  options_.parallel_reconciles = std::max<size_t>(options_.parallel_reconciles, 1);
  options_.max_attempts = std::max<size_t>(options_.max_attempts, 1);
}

Session::~Session() = default;

void Session::Send(uint64_t request, FrameBody body) {
  Bytes b = EncodeFrame({request, std::move(body)});
  ++stats_.frames_out;
  stats_.bytes_out += b.size();
  outgoing_.push_back(std::move(b));
}

Status Session::Violation(uint64_t request, std::string why) {
  Send(request, ErrorFrame{Code::kRejected, why.substr(0, kMaxErrorBytes)});
  return Status::Rejected("peer broke the sync protocol: " + why);
}

// Hellos: request id 0 = "I have not seen yours", 1 = "I have". A side sends its hello
// until it hears a 1, and answers every 0 with a 1, so a lost hello or a lost answer is
// made good and a duplicated one changes nothing.
void Session::Start(uint64_t now_ms) {
  Send(0, HelloFrame{source_.Offers()});
  hello_deadline_ = now_ms + options_.request_timeout_ms;
}

std::vector<Bytes> Session::TakeOutgoing() {
  std::vector<Bytes> out;
  out.swap(outgoing_);
  return out;
}

std::vector<Bytes> Session::TakeArrived() {
  std::vector<Bytes> out;
  out.swap(arrived_);
  return out;
}

bool Session::PullDone(const Pull& p) const {
  if (p.phase == Pull::Phase::kDone) return true;
  if (p.phase != Pull::Phase::kFetch || !options_.planner) return false;
  // With a planner, ids this peer holds may come from another session: done when no want
  // of this object is out and the planner wants nothing more this peer holds.
  for (const auto& [_, w] : wants_)
    if (w.object == p.object) return false;
  return options_.planner->HeldBy(options_.peer, p.object) == 0;
}

bool Session::PullComplete() const {
  if (!hello_received_ || !waiting_.empty()) return false;
  for (const auto& [_, p] : pulls_)
    if (!PullDone(*p)) return false;
  return true;
}

std::optional<uint64_t> Session::NextDeadline() const {
  std::optional<uint64_t> next;
  auto consider = [&](uint64_t d) {
    if (!next || d < *next) next = d;
  };
  for (const auto& [_, r] : reconciling_) consider(r.deadline);
  for (const auto& [_, w] : wants_) consider(w.deadline);
  if (!hello_acked_) consider(hello_deadline_);
  return next;
}

// ---- pulling: reconcile, then want ----

void Session::GiveUp(Pull& p, std::string why) {
  if (p.phase == Pull::Phase::kDone) return;
  p.phase = Pull::Phase::kDone;
  p.to_ask.clear();
  p.pending.clear();
  p.held.reset();
  for (auto it = reconciling_.begin(); it != reconciling_.end();)
    it = it->second.object == p.object ? reconciling_.erase(it) : std::next(it);
  for (auto it = wants_.begin(); it != wants_.end();) {
    if (it->second.object != p.object) {
      ++it;
      continue;
    }
    if (options_.planner) options_.planner->Answered(it->second.token);
    it = wants_.erase(it);
  }
  ++stats_.objects_given_up;
  given_up_.emplace_back(p.object, std::move(why));
}

void Session::StartPulls(uint64_t now) {
  while (!waiting_.empty() && reconciling_.size() < options_.parallel_reconciles) {
    Pull& p = *pulls_.at(waiting_.front());
    waiting_.pop_front();
    StartReconcile(p, now);
  }
}

void Session::SendReconcile(Pull& p, Algorithm algorithm, Bytes payload, uint64_t now) {
  uint64_t request = NextRequest();
  reconciling_[request] = Reconciling{p.object, now + options_.request_timeout_ms};
  Send(request, ReconcileFrame{p.object, algorithm, std::move(payload)});
}

void Session::StartReconcile(Pull& p, uint64_t now) {
  if (++p.attempts > options_.max_attempts) return GiveUp(p, "reconciliation timed out");
  const RibltSketch* sketch = source_.Sketch(p.object);
  p.phase = Pull::Phase::kRiblt;
  p.negentropy.reset();
  p.held.reset();
  p.riblt = std::make_unique<RibltInitiator>(sketch ? *sketch : EmptySketch(), options_.riblt);
  SendReconcile(p, Algorithm::kRiblt, p.riblt->Start(), now);
}

void Session::StartNegentropy(Pull& p, uint64_t now) {
  const RangeStorage* items = source_.Items(p.object);
  auto n = Negentropy::Create(items ? *items : EmptyItems(), options_.negentropy_frame_limit);
  if (!n.ok()) return GiveUp(p, "negentropy: " + n.status().message());
  p.phase = Pull::Phase::kNegentropy;
  p.riblt.reset();
  p.held.reset();
  p.negentropy.emplace(std::move(n).value());
  SendReconcile(p, Algorithm::kNegentropy, p.negentropy->Initiate(), now);
}

void Session::AddNeeds(Pull& p, const std::vector<ItemId>& ids) {
  if (options_.planner) {
    options_.planner->Offer(options_.peer, p.object, ids);
    return;
  }
  for (const auto& id : ids)
    if (p.pending.insert(id).second) p.to_ask.push_back(id);
  NoteNeedsHeld();
}

size_t Session::QueuedNeeds(const Pull& p) const {
  return options_.planner ? options_.planner->HeldBy(options_.peer, p.object) : p.to_ask.size();
}

void Session::NoteNeedsHeld() {
  uint64_t held = 0;
  if (options_.planner) {
    held = options_.planner->pending();
  } else {
    for (const auto& [_, p] : pulls_) held += p->pending.size();
  }
  stats_.max_needs_held = std::max(stats_.max_needs_held, held);
}

void Session::SendHeldReconciles(uint64_t now) {
  for (auto& [_, pp] : pulls_) {
    Pull& p = *pp;
    if (!p.held || QueuedNeeds(p) >= options_.max_queued_needs) continue;
    Bytes message = std::move(*p.held);
    p.held.reset();
    SendReconcile(p, Algorithm::kNegentropy, std::move(message), now);
  }
}

void Session::Announced(const codec::ObjectId& object, std::span<const codec::VertexId> ids,
                        uint64_t now) {
  if (!hello_received_) return;
  std::vector<ItemId> missing;
  for (const auto& id : ids)
    if (!source_.Vertex(object, id)) missing.push_back(id);
  if (missing.empty()) return;
  auto it = pulls_.find(object);
  if (it == pulls_.end()) {
    auto p = std::make_unique<Pull>();
    p->object = object;
    p->phase = Pull::Phase::kFetch;
    it = pulls_.emplace(object, std::move(p)).first;
  }
  Pull& p = *it->second;
  AddNeeds(p, missing);
  if (p.phase == Pull::Phase::kDone) {
    p.phase = Pull::Phase::kFetch;
    --stats_.objects_done;
  }
  SendWants(now);
  FinishIfDone(p);
}

void Session::FinishIfDone(Pull& p) {
  if (options_.planner) {
    if (PullDone(p) && p.phase != Pull::Phase::kDone) {
      p.phase = Pull::Phase::kDone;
      ++stats_.objects_done;
    }
    return;
  }
  if (p.phase != Pull::Phase::kFetch || !p.to_ask.empty()) return;
  for (const auto& [_, w] : wants_)
    if (w.object == p.object) return;
  p.phase = Pull::Phase::kDone;
  ++stats_.objects_done;
}

void Session::SendWants(uint64_t now) {
  if (options_.planner) {
    while (wants_.size() < options_.window) {
      auto r = options_.planner->Next(options_.peer, now);
      if (!r) return;
      Want w;
      w.object = r->object;
      w.order = r->ids;
      w.ids.insert(r->ids.begin(), r->ids.end());
      w.asked = w.ids;
      w.deadline = now + options_.request_timeout_ms;
      w.attempts = 1;
      w.token = r->token;
      uint64_t request = NextRequest();
      Send(request, WantFrame{r->object, std::move(r->ids)});
      wants_.emplace(request, std::move(w));
    }
    SendHeldReconciles(now);
    return;
  }
  for (auto& [object, pp] : pulls_) {
    Pull& p = *pp;
    while (wants_.size() < options_.window && !p.to_ask.empty()) {
      Want w;
      w.object = object;
      w.deadline = now + options_.request_timeout_ms;
      w.attempts = 1;
      while (!p.to_ask.empty() && w.order.size() < options_.want_ids) {
        w.order.push_back(p.to_ask.front());
        w.ids.insert(p.to_ask.front());
        p.to_ask.pop_front();
      }
      w.asked = w.ids;
      uint64_t request = NextRequest();
      Send(request, WantFrame{object, w.order});
      wants_.emplace(request, std::move(w));
    }
    if (wants_.size() >= options_.window) break;
  }
  SendHeldReconciles(now);
}

void Session::Tick(uint64_t now) {
  if (!hello_acked_ && hello_deadline_ <= now) {
    ++stats_.retries;
    Send(hello_received_ ? 1 : 0, HelloFrame{source_.Offers()});
    hello_deadline_ = now + options_.request_timeout_ms;
  }
  std::vector<std::pair<codec::ObjectId, bool>> restart;  // object, was negentropy
  for (auto it = reconciling_.begin(); it != reconciling_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    Pull& p = *pulls_.at(it->second.object);
    restart.emplace_back(p.object, p.phase == Pull::Phase::kNegentropy);
    it = reconciling_.erase(it);
  }
  for (const auto& [object, was_negentropy] : restart) {
    Pull& p = *pulls_.at(object);
    ++stats_.retries;
    if (was_negentropy && p.attempts < options_.max_attempts) {
      ++p.attempts;
      StartNegentropy(p, now);
    } else {
      StartReconcile(p, now);
    }
  }
  std::vector<uint64_t> late;
  for (const auto& [request, w] : wants_)
    if (w.deadline <= now) late.push_back(request);
  for (uint64_t request : late) {
    if (!wants_.count(request)) continue;  // its object was given up meanwhile
    auto node = wants_.extract(request);
    Want& w = node.mapped();
    ++stats_.retries;
    if (options_.planner) {
      // The planner gives the ids to another peer that holds them (or this one again).
      options_.planner->Answered(w.token);
      FinishIfDone(*pulls_.at(w.object));
      continue;
    }
    if (++w.attempts > options_.max_attempts) {
      GiveUp(*pulls_.at(w.object), "vertices did not come");
      continue;
    }
    std::vector<codec::VertexId> order;
    for (const auto& id : w.order)
      if (w.ids.count(id)) order.push_back(id);
    w.order = order;
    w.deadline = now + options_.request_timeout_ms;
    uint64_t again = NextRequest();
    Send(again, WantFrame{w.object, std::move(order)});
    wants_.emplace(again, std::move(w));
  }
  if (options_.planner) SendWants(now);
}

// ---- receiving ----

Status Session::Receive(ByteView bytes, uint64_t now) {
  ++stats_.frames_in;
  stats_.bytes_in += bytes.size();
  auto frame = DecodeFrame(bytes);
  if (!frame.ok()) return Violation(0, "malformed frame: " + frame.status().message());
  const uint64_t request = frame->request_id;
  Status s = std::visit(
      [&](auto& body) -> Status {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, HelloFrame>) return OnHello(request, body, now);
        if constexpr (std::is_same_v<T, ReconcileFrame>) return OnReconcileRequest(request, body);
        if constexpr (std::is_same_v<T, ReconciledFrame>)
          return OnReconcileAnswer(request, body, now);
        if constexpr (std::is_same_v<T, WantFrame>) {
          OnWant(request, body);
          return Status::Ok();
        }
        if constexpr (std::is_same_v<T, VerticesFrame>) return OnVertices(request, body, now);
        if constexpr (std::is_same_v<T, ErrorFrame>) {
          OnError(request, body, now);
          return Status::Ok();
        }
      },
      frame->body);
  if (!s.ok()) return s;
  StartPulls(now);
  SendWants(now);
  return Status::Ok();
}

Status Session::OnHello(uint64_t seen, const HelloFrame& f, uint64_t /*now*/) {
  if (seen > 1) return Violation(0, "a hello with request id " + std::to_string(seen));
  if (f.objects.size() > options_.max_offers)
    return Violation(0, "a hello offering " + std::to_string(f.objects.size()) +
                            " objects, over this node's bound of " +
                            std::to_string(options_.max_offers));
  if (seen == 1) hello_acked_ = true;
  if (seen == 0) Send(1, HelloFrame{source_.Offers()});
  if (hello_received_) return Status::Ok();  // again: its first copy counts
  hello_received_ = true;
  for (const auto& offer : f.objects) {
    if (offer.items == 0) continue;
    auto p = std::make_unique<Pull>();
    p->object = offer.object;
    waiting_.push_back(offer.object);
    pulls_.emplace(offer.object, std::move(p));
  }
  return Status::Ok();
}

Status Session::OnReconcileAnswer(uint64_t request, const ReconciledFrame& f, uint64_t now) {
  auto it = reconciling_.find(request);
  if (it == reconciling_.end()) {
    // An answer to a request asked again or given up (late or duplicated): dropped.
    if (request <= last_request_) return Status::Ok();
    return Violation(request, "an answer to a reconcile never asked");
  }
  if (it->second.object != f.object)
    return Violation(request, "a reconcile answer for another object");
  Pull& p = *pulls_.at(f.object);
  reconciling_.erase(it);
  ++stats_.reconcile_rounds;
  if (p.phase == Pull::Phase::kRiblt && f.algorithm == Algorithm::kRiblt) {
    auto next = p.riblt->Receive(f.payload);
    if (!next.ok()) return Violation(request, "riblt: " + next.status().message());
    if (!next->empty()) {
      SendReconcile(p, Algorithm::kRiblt, std::move(next).value(), now);
    } else if (p.riblt->outcome() == RibltOutcome::kComplete) {
      AddNeeds(p, p.riblt->need());
      p.riblt.reset();
      p.phase = Pull::Phase::kFetch;
    } else {
      ++stats_.fallbacks;
      StartNegentropy(p, now);
    }
  } else if (p.phase == Pull::Phase::kNegentropy && f.algorithm == Algorithm::kNegentropy) {
    auto step = p.negentropy->Reconcile(f.payload);
    if (!step.ok()) return Violation(request, "negentropy: " + step.status().message());
    AddNeeds(p, step->need);
    if (step->reply && QueuedNeeds(p) >= options_.max_queued_needs) {
      p.held = std::move(*step->reply);  // sent by SendHeldReconciles as wants drain
      ++stats_.reconciles_held;
    } else if (step->reply) {
      SendReconcile(p, Algorithm::kNegentropy, std::move(*step->reply), now);
    } else {
      p.negentropy.reset();
      p.phase = Pull::Phase::kFetch;
    }
  } else {
    return Violation(request, "a reconcile answer of the wrong algorithm");
  }
  FinishIfDone(p);
  return Status::Ok();
}

Status Session::OnVertices(uint64_t request, VerticesFrame& f, uint64_t now) {
  auto it = wants_.find(request);
  if (it == wants_.end()) {
    if (request <= last_request_) return Status::Ok();  // late: asked again meanwhile
    return Violation(request, "vertices for a want never made");
  }
  Want& w = it->second;
  for (auto& raw : f.vertices) {
    auto v = codec::DecodeVertex(raw);
    if (!v.ok())
      return Violation(request, "a vertex that does not decode: " + v.status().message());
    if (v->object() == w.object && !w.ids.count(v->id) && w.asked.count(v->id))
      continue;  // a duplicated frame: it came already
    if (v->object() != w.object || !w.ids.erase(v->id))
      return Violation(request, "vertex " + HexEncodeShort(v->id) + " was not asked for");
    ++stats_.vertices_received;
    if (options_.planner) options_.planner->Arrived(v->id);
    if (auto p = pulls_.find(w.object); p != pulls_.end()) p->second->pending.erase(v->id);
    arrived_.push_back(std::move(raw));
  }
  if (!f.last) {
    w.deadline = now + options_.request_timeout_ms;  // more is coming
    return Status::Ok();
  }
  // What the peer did not send it does not hold (any more): nothing to wait for.
  codec::ObjectId object = w.object;
  if (options_.planner) options_.planner->Answered(w.token);
  Pull& p = *pulls_.at(object);
  for (const auto& id : w.ids) p.pending.erase(id);
  wants_.erase(it);
  FinishIfDone(p);
  return Status::Ok();
}

void Session::OnError(uint64_t request, const ErrorFrame& f, uint64_t /*now*/) {
  std::optional<codec::ObjectId> object;
  if (auto it = reconciling_.find(request); it != reconciling_.end()) object = it->second.object;
  if (auto it = wants_.find(request); it != wants_.end()) object = it->second.object;
  if (object) GiveUp(*pulls_.at(*object), "the peer refused: " + f.message);
}

// ---- serving ----

Status Session::OnReconcileRequest(uint64_t request, const ReconcileFrame& f) {
  if (!source_.Offered(f.object)) {
    Send(request, ErrorFrame{Code::kPermissionDenied, "object not offered"});
    return Status::Ok();
  }
  if (f.algorithm == Algorithm::kNegentropy) {
    const RangeStorage* items = source_.Items(f.object);
    auto n = Negentropy::Create(items ? *items : EmptyItems(), options_.negentropy_frame_limit);
    if (!n.ok()) {
      Send(request, ErrorFrame{Code::kInternal, n.status().message()});
      return Status::Ok();
    }
    auto step = n->Reconcile(f.payload);
    if (!step.ok()) return Violation(request, "negentropy: " + step.status().message());
    Send(request, ReconciledFrame{f.object, Algorithm::kNegentropy, std::move(*step->reply)});
    return Status::Ok();
  }
  Responding& r = responding_[f.object];
  if (r.responder && request == r.last_request) {  // a duplicate: the same answer again
    Send(request, ReconciledFrame{f.object, Algorithm::kRiblt, r.last_answer});
    return Status::Ok();
  }
  auto frame = DecodeRibltFrame(f.payload);
  if (!frame.ok()) return Violation(request, "riblt: " + frame.status().message());
  const auto* symbols = std::get_if<SymbolsFrame>(&*frame);
  if (symbols && symbols->start == 0) {
    // A reconciliation (re)starts: a fresh responder over the sketch as it is now.
    const RibltSketch* sketch = source_.Sketch(f.object);
    r.responder =
        std::make_unique<RibltResponder>(sketch ? *sketch : EmptySketch(), options_.riblt);
  }
  if (!r.responder) {
    Send(request, ErrorFrame{Code::kInvalidArgument, "riblt: no reconciliation under way"});
    return Status::Ok();
  }
  auto answer = r.responder->Receive(f.payload);
  if (!answer.ok()) {
    r.responder.reset();
    if (answer.status().code() == Code::kCorruption)
      return Violation(request, "riblt: " + answer.status().message());
    // Out of turn (a request duplicated or reordered across a restart): say so; the peer
    // restarts or gives up.
    Send(request, ErrorFrame{answer.status().code(), answer.status().message()});
    return Status::Ok();
  }
  r.last_request = request;
  r.last_answer = *answer;
  Send(request, ReconciledFrame{f.object, Algorithm::kRiblt, std::move(answer).value()});
  return Status::Ok();
}

void Session::OnWant(uint64_t request, const WantFrame& f) {
  if (!source_.Offered(f.object)) {
    Send(request, ErrorFrame{Code::kPermissionDenied, "object not offered"});
    return;
  }
  std::vector<SyncSource::StoredVertex> found;
  for (const auto& id : f.ids)
    if (auto v = source_.Vertex(f.object, id)) found.push_back(std::move(*v));
  // Parents first: a parent is shallower than its children.
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.depth < b.depth; });
  VerticesFrame frame;
  frame.last = false;
  size_t bytes = VerticesFrameOverhead();
  for (auto& v : found) {
    size_t entry = VertexEntryBytes(v.raw.size());
    if (!frame.vertices.empty() && bytes + entry > options_.vertices_frame_bytes) {
      Send(request, std::move(frame));
      frame = VerticesFrame{};
      frame.last = false;
      bytes = VerticesFrameOverhead();
    }
    bytes += entry;
    frame.vertices.push_back(std::move(v.raw));
    ++stats_.vertices_sent;
  }
  frame.last = true;
  Send(request, std::move(frame));
}

}  // namespace topo::sync
