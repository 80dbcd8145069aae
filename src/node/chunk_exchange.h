// ChunkExchange: asking peers for file chunks and answering their requests (docs/PROTOCOL.md
// section 15, "Chunk messages"). Sans-I/O: messages and times in, messages to send and log
// notes out; node::Network carries them on the peers' connections.
//
// Wire, each message one u8 kind then its body (the kinds continue node/network.h's):
//   4 chunk request  [32] chunk address
//   5 chunk reply    [32] chunk address, u8 status, then for status 0 the ciphertext
//                    (16..codec::kMaxChunkCiphertextBytes bytes); status 0 data, 1 not
//                    held, 2 busy (ask again later)
//
// Serving. Any admitted peer may ask for any chunk by address: chunks are ciphertext that
// only a holder of the file's reference can read, and an address is unguessable without
// the reference or the manifest. A reply is queued only while the peer's connection holds
// less than serve_queue_bytes unsent; above that the answer is "busy", so what one peer can
// make this node buffer is bounded.
//
// Fetching. A fetch (a job, named by the file's manifest address) wants a list of chunk
// addresses; chunks already held count as arrived (that is what makes an interrupted fetch
// resume). Each missing chunk is asked of one connected peer at a time, at most
// max_in_flight_per_peer per peer and max_in_flight in all. Every arrival is checked against
// its address before it is stored: a peer that sends other bytes is not asked anything
// more for this job and the chunk goes to the next peer, as after "not held" or a timeout.
// A fetch fails, naming a missing chunk, when every connected peer was asked for a chunk
// and none had it, or when no peer has been connected for no_peer_wait_ms.
//
// Not done yet: a fetch lives in memory, so after a restart it continues only when
// file.save is called again (the chunks already held are kept and not fetched again); the
// busy threshold is per connection, with no node-wide budget for all peers together; a
// valid chunk that arrives after its request timed out is dropped, not kept; peers are
// asked in turn, with no record of who holds what.
//
// Not thread-safe: the node's loop.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "codec/file.h"
#include "store/file_store.h"

namespace topo::node {

constexpr uint8_t kMessageChunkRequest = 4;
constexpr uint8_t kMessageChunkReply = 5;
constexpr uint8_t kChunkData = 0;
constexpr uint8_t kChunkNotHeld = 1;
constexpr uint8_t kChunkBusy = 2;

struct ChunkExchangeOptions {
  size_t max_in_flight_per_peer = 8;
  size_t max_in_flight = 16;
  uint64_t request_timeout_ms = 30'000;
  uint64_t busy_retry_ms = 100;
  // A fetch with no peer connected fails after this long.
  uint64_t no_peer_wait_ms = 10'000;
  size_t serve_queue_bytes = size_t{8} << 20;
};

struct FetchProgress {
  uint64_t total = 0;    // chunks the fetch wants, held ones included
  uint64_t held = 0;     // of those, held now
  uint64_t fetched = 0;  // arrived from peers and verified during this fetch
  uint64_t in_flight = 0;
  uint64_t rejected = 0;  // arrivals whose bytes did not match their address
  bool done = false;      // every wanted chunk is held
  std::optional<Status> failed;
};

class ChunkExchange {
 public:
  using PeerId = crypto::PublicKey;
  struct Outgoing {
    PeerId peer;
    Bytes message;  // kind byte included
  };
  struct Stats {
    uint64_t requests_served = 0, not_held = 0, busy = 0;
    uint64_t fetched = 0, rejected = 0, unsolicited = 0;
  };

  // The store must outlive the exchange.
  explicit ChunkExchange(store::FileStore& store, ChunkExchangeOptions options = {});

  // An admitted peer connected (idempotent), or its connection ended.
  void PeerUp(const PeerId& peer, uint64_t now_ms);
  void PeerDown(const PeerId& peer, uint64_t now_ms);

  // A chunk request or reply from an admitted peer. `queued_to_peer`: bytes waiting on its
  // connection. Corruption for a malformed message: the caller closes the connection.
  Status OnRequest(const PeerId& peer, ByteView body, size_t queued_to_peer);
  Status OnReply(const PeerId& peer, ByteView body, uint64_t now_ms);
  // Time passed: timeouts, busy retries, a fetch waiting for peers.
  void Tick(uint64_t now_ms);
  std::optional<uint64_t> NextDeadline() const;

  // Wants `addresses` under `job`. A running fetch of that job gains the addresses it did
  // not want yet; a finished or failed one starts again. IOError when the store fails.
  Status Fetch(const codec::ChunkAddress& job, const std::vector<codec::ChunkAddress>& addresses,
               uint64_t now_ms);
  std::optional<FetchProgress> Progress(const codec::ChunkAddress& job) const;
  void Forget(const codec::ChunkAddress& job);

  std::vector<Outgoing> TakeOutgoing();
  // Lines for the daemon's log: a fetch's progress (every 10%), lying peers, failures.
  std::vector<std::string> TakeNotes();
  const Stats& stats() const { return stats_; }
  size_t peers() const { return peers_.size(); }

 private:
  struct Job {
    std::deque<codec::ChunkAddress> queue;     // to ask, in order
    std::set<codec::ChunkAddress> wanted;      // not held yet (queued, in flight, or nowhere)
    std::vector<codec::ChunkAddress> nowhere;  // every connected peer was asked: none had it
    std::map<codec::ChunkAddress, std::set<PeerId>> refused;  // who said no, timed out, or lied
    std::map<codec::ChunkAddress, uint64_t> retry_at;         // "busy": not before
    std::set<PeerId> liars;
    FetchProgress progress;
    std::optional<uint64_t> no_peer_since;  // when the last peer went, with chunks missing
    uint64_t noted_tenths = 0;
  };
  struct Request {
    codec::ChunkAddress job;
    PeerId peer;
    uint64_t deadline;
  };

  void Schedule(uint64_t now_ms);
  void Settle(const codec::ChunkAddress& job_id, Job& job, uint64_t now_ms);
  void Fail(const codec::ChunkAddress& job_id, Job& job, Status why);
  void Arrived(const codec::ChunkAddress& job_id, Job& job, const codec::ChunkAddress& address);
  // The request ended without the chunk: `refused` marks the peer as not to be asked again
  // for it.
  void Requeue(Job& job, const codec::ChunkAddress& address, const PeerId& peer, bool refused);
  bool Eligible(const Job& job, const codec::ChunkAddress& address, const PeerId& peer) const;
  void Note(const codec::ChunkAddress& job, const std::string& text);

  store::FileStore& store_;
  ChunkExchangeOptions options_;
  std::map<codec::ChunkAddress, Job> jobs_;
  std::map<codec::ChunkAddress, Request> in_flight_;  // by chunk address
  std::map<PeerId, size_t> peers_;                    // connected: requests in flight to each
  size_t rotate_ = 0;                                 // spreads chunks over peers
  std::vector<Outgoing> out_;
  std::vector<std::string> notes_;
  Stats stats_;
};

}  // namespace topo::node
