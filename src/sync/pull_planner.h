// PullPlanner: one node's needs across all its sync sessions (docs/design/sync.md). Each
// session tells it which ids its peer holds (what reconciliation found); each session asks
// it what to request next. An id is asked of one peer at a time; ids are split among the
// peers that hold them in chunks; a request that times out or whose peer goes away puts its
// ids back for another peer (the slow peer is skipped for those ids); an id that arrives
// from anyone is done everywhere. Sans I/O: time is passed in.
//
// Not thread-safe. Peers are small integers the caller chooses (one per session).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <vector>

#include "codec/vertex.h"

namespace topo::sync {

class PullPlanner {
 public:
  using Peer = uint64_t;
  struct Options {
    size_t chunk = 512;            // ids per request
    size_t per_peer = 4;           // requests outstanding per peer
    uint64_t timeout_ms = 10'000;  // a request unanswered this long is re-planned
  };
  struct Request {
    uint64_t token = 0;
    codec::ObjectId object;
    std::vector<codec::VertexId> ids;
  };

  explicit PullPlanner(Options options) : options_(options) {}
  PullPlanner() : PullPlanner(Options{}) {}

  // `peer` holds these ids of `object` (what reconciliation with it found this node lacks).
  // Ids that already arrived are ignored.
  void Offer(Peer peer, const codec::ObjectId& object, std::span<const codec::VertexId> ids);
  // The next request for `peer`: up to `chunk` ids it holds that no live request covers
  // and that nobody has delivered; nullopt when there is none or the peer has `per_peer`
  // requests out.
  std::optional<Request> Next(Peer peer, uint64_t now);
  // An id arrived (from any peer): done.
  void Arrived(const codec::VertexId& id);
  // The peer answered request `token` in full: ids it did not deliver go back to the pool,
  // never to be asked of that peer again.
  void Answered(uint64_t token);
  // The peer is gone (session ended): its requests' ids go back to the pool, and what it
  // offered is forgotten.
  void PeerGone(Peer peer);
  // Requests past their deadline: their ids go back to the pool for other peers. Returns
  // the tokens re-planned (the sessions drop those requests).
  std::vector<uint64_t> Expire(uint64_t now);

  // Ids wanted and not yet arrived.
  size_t pending() const { return wanted_.size(); }
  bool Wants(const codec::VertexId& id) const { return wanted_.count(id) > 0; }
  // Ids of `object` wanted that `peer` holds (offered, not failed): its session is not done
  // while this is not zero.
  size_t HeldBy(Peer peer, const codec::ObjectId& object) const;

 private:
  using Key = std::pair<Peer, codec::ObjectId>;
  struct Wanted {
    codec::ObjectId object;
    std::set<Peer> holders;  // peers that offered it and did not fail it
    uint64_t request = 0;    // the live request covering it, or 0
  };
  struct Live {
    Peer peer = 0;
    uint64_t deadline = 0;
    codec::ObjectId object;
    std::vector<codec::VertexId> ids;
  };
  void Release(uint64_t token, bool blame_peer);
  bool Eligible(const codec::VertexId& id, Peer peer) const;

  Options options_;
  uint64_t last_token_ = 0;
  std::unordered_map<codec::VertexId, Wanted, FixedBytesHash> wanted_;
  std::set<codec::VertexId> done_;
  std::map<uint64_t, Live> live_;
  // Per peer and object: the ids it offered in offer order, how far Next has taken them,
  // ids put back for it after another peer failed them, and how many it holds still wanted.
  std::map<Key, std::vector<codec::VertexId>> offered_;
  std::map<Key, size_t> cursor_;
  std::map<Key, std::deque<codec::VertexId>> retry_;
  std::map<Key, size_t> held_;
};

}  // namespace topo::sync
