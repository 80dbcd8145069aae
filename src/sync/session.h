// A sync session with one peer, sans I/O (docs/design/sync.md): the caller moves frames
// (sync/frame.h) and passes the time; the session decides what to send, checks what it
// receives, and hands over the vertices it asked for.
//
//   Session s(source);
//   s.Start(now);                     then send s.TakeOutgoing()
//   s.Receive(frame, now);            for each frame from the peer; an error ends the session
//   s.Tick(now);                      at s.NextDeadline(): re-asks what timed out
//   s.TakeArrived();                  vertices to prepare (graph::PrepareAll) and ingest
//
// Both sides pull: each reconciles every object the peer offers (rateless IBLT first,
// negentropy when it falls back), asks for what it lacks in bounded want frames with a
// window of them outstanding, and serves the peer's requests for the objects it offers.
// The ids a pull holds are bounded (SessionOptions::max_queued_needs): a large difference
// is fetched window by window of the reconciliation, not listed whole first.
// A vertex arrives only in answer to a want naming its id; anything else is a protocol
// violation. Requests that time out are asked again (a reconciliation restarts), so the
// session also runs over links that lose, reorder or duplicate frames.
//
// Not thread-safe. The source must outlive the session.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "sync/frame.h"
#include "sync/negentropy.h"
#include "sync/pull_planner.h"
#include "sync/range_storage.h"
#include "sync/riblt.h"
#include "sync/riblt_session.h"

namespace topo::sync {

// What a session reads of this node: the objects it may offer the peer and their sets.
class SyncSource {
 public:
  virtual ~SyncSource() = default;
  // The objects offered to this session's peer (the caller filters by what the peer may
  // read), strictly ascending, with their item counts.
  virtual std::vector<HelloFrame::Offer> Offers() = 0;
  virtual bool Offered(const codec::ObjectId& object) = 0;
  // The object's sets, kept current on insert; nullptr when this node holds none of it.
  virtual const RibltSketch* Sketch(const codec::ObjectId& object) = 0;
  virtual const RangeStorage* Items(const codec::ObjectId& object) = 0;
  // An applied vertex of `object`: its depth (to serve parents first) and encoding.
  struct StoredVertex {
    uint64_t depth = 0;
    Bytes raw;
  };
  virtual std::optional<StoredVertex> Vertex(const codec::ObjectId& object,
                                             const codec::VertexId& id) = 0;
};

struct SessionOptions {
  uint64_t request_timeout_ms = 10'000;
  size_t max_attempts = 4;  // per reconciliation and per want, then the object is given up
  size_t want_ids = 512;    // ids per want frame (<= kMaxWantIds)
  size_t window = 4;        // want frames outstanding
  size_t vertices_frame_bytes = size_t{1} << 20;
  size_t parallel_reconciles = 8;  // objects reconciled at once
  // Bounds this side's negentropy messages (so the ids an answer lists: 8,192 at 256 KiB).
  uint64_t negentropy_frame_limit = size_t{256} << 10;
  // Memory bound of a pull: while this many needed ids of an object wait to be wanted, its
  // negentropy reconciliation holds its next message, and sends it once wants have drained
  // the queue below the bound. So a session holds O(this + one answer + the window) ids, not
  // every id the peer has and this side lacks. (An answer to a held message lists ids the
  // peer holds from where the last one stopped; the protocol keeps no positions, so a set
  // grown meanwhile is fine.)
  size_t max_queued_needs = 8'192;
  RibltSessionOptions riblt;
  // A hello offering more objects than this ends the session (a violation): the node sets
  // it from what it expects a peer to hold, so an oversized claim costs one decoded frame,
  // not a pull per claimed object. At most kMaxHelloObjects (the frame's own bound).
  size_t max_offers = kMaxHelloObjects;
  // Several sources: the node's planner, shared by its sessions (one `peer` number each),
  // decides what this session asks for, so needed ids are split among the peers holding
  // them and re-planned when one stalls or fails. Unset: the session asks its peer for
  // everything it lacks. The node calls planner->PeerGone(peer) when the session ends.
  PullPlanner* planner = nullptr;
  PullPlanner::Peer peer = 0;
};

struct SessionStats {
  uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
  uint64_t reconcile_rounds = 0;  // answers received to this side's reconcile requests
  uint64_t fallbacks = 0;         // objects that went on to negentropy
  uint64_t retries = 0;           // requests asked again after a timeout
  uint64_t vertices_received = 0, vertices_sent = 0;
  uint64_t objects_done = 0, objects_given_up = 0;
  uint64_t reconciles_held = 0;  // negentropy messages held back by max_queued_needs
  uint64_t max_needs_held = 0;   // the most needed ids queued or wanted at once, all objects
};

class Session {
 public:
  explicit Session(SyncSource& source, SessionOptions options = {});
  ~Session();

  // Queues this side's hello.
  void Start(uint64_t now_ms);
  // Takes one frame from the peer. A non-ok Status means the peer broke the protocol (a
  // malformed frame, an answer to nothing, a vertex it was not asked for, a reconciliation
  // message that does not decode): the caller ends the session; an error frame for the peer
  // is already queued.
  Status Receive(ByteView frame, uint64_t now_ms);
  // The peer announced new vertices of `object` (a live write it holds; node/network.h):
  // asks for those this side lacks, as if a reconciliation had found them. An object the
  // peer's hello did not offer gets a pull that fetches at once (what the peer serves is
  // still up to its Offered()). Before the peer's hello it does nothing: the
  // reconciliation will find them.
  void Announced(const codec::ObjectId& object, std::span<const codec::VertexId> ids,
                 uint64_t now_ms);
  // Asks again whatever has waited past its deadline. Call at NextDeadline().
  void Tick(uint64_t now_ms);
  std::optional<uint64_t> NextDeadline() const;

  // Frames to send, in order.
  std::vector<Bytes> TakeOutgoing();
  // Vertices that arrived for this side's wants (their ids checked; signatures not yet).
  // Take them after every Receive, also one that failed: what arrived before a violation
  // was asked for, and the planner counts it as arrived.
  std::vector<Bytes> TakeArrived();

  // The peer's hello came, every object it offered is reconciled and every vertex this side
  // asked for has come (or its object was given up).
  bool PullComplete() const;
  // Objects this side gave up on, with why (refused by the peer, or out of attempts).
  const std::vector<std::pair<codec::ObjectId, std::string>>& given_up() const { return given_up_; }
  const SessionStats& stats() const { return stats_; }

 private:
  struct Pull;
  struct Want {
    codec::ObjectId object;
    std::set<codec::VertexId> ids;    // not yet arrived
    std::set<codec::VertexId> asked;  // every id the want named (duplicates are dropped)
    std::vector<codec::VertexId> order;
    uint64_t deadline = 0;
    size_t attempts = 0;
    uint64_t token = 0;  // the planner's, when there is one
  };

  uint64_t NextRequest() { return ++last_request_; }
  void Send(uint64_t request, FrameBody body);
  Status Violation(uint64_t request, std::string why);
  void StartPulls(uint64_t now);
  void StartReconcile(Pull& p, uint64_t now);
  void SendReconcile(Pull& p, Algorithm algorithm, Bytes payload, uint64_t now);
  void StartNegentropy(Pull& p, uint64_t now);
  void GiveUp(Pull& p, std::string why);
  void AddNeeds(Pull& p, const std::vector<ItemId>& ids);
  void SendWants(uint64_t now);
  size_t QueuedNeeds(const Pull& p) const;
  void SendHeldReconciles(uint64_t now);
  void NoteNeedsHeld();
  void FinishIfDone(Pull& p);
  bool PullDone(const Pull& p) const;
  Status OnHello(uint64_t seen, const HelloFrame& f, uint64_t now);
  Status OnReconcileAnswer(uint64_t request, const ReconciledFrame& f, uint64_t now);
  Status OnReconcileRequest(uint64_t request, const ReconcileFrame& f);
  void OnWant(uint64_t request, const WantFrame& f);
  Status OnVertices(uint64_t request, VerticesFrame& f, uint64_t now);
  void OnError(uint64_t request, const ErrorFrame& f, uint64_t now);

  SyncSource& source_;
  SessionOptions options_;
  uint64_t last_request_ = 0;
  bool hello_received_ = false;
  bool hello_acked_ = false;  // the peer has our hello
  uint64_t hello_deadline_ = 0;
  std::map<codec::ObjectId, std::unique_ptr<Pull>> pulls_;
  std::deque<codec::ObjectId> waiting_;  // pulls not started (parallelism bound)
  struct Reconciling {
    codec::ObjectId object;
    uint64_t deadline = 0;
  };
  std::map<uint64_t, Reconciling> reconciling_;  // this side's reconcile requests
  std::map<uint64_t, Want> wants_;
  // Responder state for the peer's riblt sessions, by object: the responder, and the last
  // request and answer (a duplicated request is answered again, not fed twice).
  struct Responding {
    std::unique_ptr<RibltResponder> responder;
    uint64_t last_request = 0;
    Bytes last_answer;
  };
  std::map<codec::ObjectId, Responding> responding_;
  std::vector<Bytes> outgoing_;
  std::vector<Bytes> arrived_;
  std::vector<std::pair<codec::ObjectId, std::string>> given_up_;
  SessionStats stats_;
};

}  // namespace topo::sync
