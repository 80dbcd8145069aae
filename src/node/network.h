// The node's network (docs/ARCHITECTURE.md, "The network"): the QUIC endpoint, admission,
// one sync session per connected peer, and live announcements of new vertices.
//
// Admission. The endpoint authenticates every peer's device key in the handshake. The
// network then admits a peer when:
//   - it is a current member device of a group this node is a member of (kMember), or
//   - the operator configured it (`topo peer add`, kConfigured: served only what it may
//     read, like anyone), or
//   - it proves an open invite in its first message (a join claim: the JoinOp it wrote with
//     the invite secret, bound to its own device key; object::Replica::MayReadAsJoiner):
//     it is served the group object only, until its join applies here and it is a member.
// A peer that is none of these within NetworkOptions::admission_timeout_ms is closed
// (kCloseNotAdmitted). A group change that leaves an admitted member outside every shared
// group closes its connection at once.
//
// Wire (docs/PROTOCOL.md, "Node messages"). The dialer opens stream 0; each message on a
// stream is one u8 kind then its body:
//   1 sync       a sync frame (sync/frame.h) for this stream's session
//   2 join claim [32] group, the encoded JoinOp (codec/group.h)
//   3 announce   [32] object, varint n (1..kMaxAnnounceIds), n * [32] vertex id
//   4, 5         chunk request and reply of files (node/chunk_exchange.h), on any stream
//   6 resync     (empty) from the acceptor: open a new stream, a fresh session pair
// A new stream (opened by either side) starts a fresh session pair: that is how the node
// resynchronises after a membership change; the older stream is closed.
//
// Not thread-safe: runs on the node's loop.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "codec/group.h"
#include "net/endpoint.h"
#include "node/chunk_exchange.h"
#include "node/log.h"
#include "object/ingest_pipeline.h"
#include "object/replica.h"
#include "sync/replica_index.h"
#include "sync/replica_source.h"
#include "sync/session.h"

namespace topo::node {

constexpr uint8_t kMessageSync = 1;
constexpr uint8_t kMessageJoinClaim = 2;
constexpr uint8_t kMessageAnnounce = 3;
// The acceptor asks the dialer for a fresh session pair (empty body): what it may offer
// changed (a group change here), and only the dialer opens streams.
constexpr uint8_t kMessageResync = 6;
constexpr size_t kMaxAnnounceIds = 256;
constexpr uint64_t kAdmissionTimeoutMs = 10'000;
// Connection close codes of the node (above net::kFirstNodeError).
constexpr uint64_t kCloseNotAdmitted = net::kFirstNodeError + 1;
constexpr uint64_t kCloseRemoved = net::kFirstNodeError + 2;
constexpr uint64_t kCloseProtocol = net::kFirstNodeError + 3;
constexpr uint64_t kCloseDuplicate = net::kFirstNodeError + 4;

struct NetworkOptions {
  std::string bind = "127.0.0.1:0";
  uint64_t redial_ms = 3'000;  // known peers not connected are dialed again after this
  uint64_t idle_timeout_ms = 30'000;
  uint64_t keep_alive_ms = 10'000;
  // An inbound peer neither a member nor proving an invite by then is closed.
  uint64_t admission_timeout_ms = kAdmissionTimeoutMs;
  sync::SessionOptions session;
  // The ingest pipeline of vertices from peers (object/ingest_pipeline.h): vertices per
  // transaction and vertices held at most; 0 keeps the pipeline's defaults (the replica's
  // batch_size, four batches).
  size_t ingest_batch = 0;
  size_t ingest_max_pending = 0;
  ChunkExchangeOptions chunks;  // fetching and serving file chunks
};

class Network {
 public:
  // Starts listening. The replica and identity must outlive the network.
  static Result<std::unique_ptr<Network>> Start(asio::io_context& io, object::Replica& replica,
                                                const crypto::SigningKey& device, Log& log,
                                                NetworkOptions options);
  ~Network();

  std::string local_address() const { return endpoint_->local_address(); }

  // A peer to keep connected: dialed now and again whenever not connected. `key` pins it;
  // without one any key is accepted at the handshake and admission decides.
  void AddPeer(const std::string& address, std::optional<crypto::PublicKey> key);
  // Dials the inviter of `link` and proves the invite with `join` (this device's JoinOp for
  // it), redialing until the join is applied on both sides.
  void Join(const codec::InviteLink& link, const codec::JoinOp& join);

  // Peers (with their sync figures, summed over every session of the connection), known
  // addresses, what the ingest pipeline did since start, the endpoint's datagrams, and the
  // chunks served and fetched.
  nlohmann::json Describe() const;
  // Called (posted to the loop, coalesced) after a batch changed a group.
  std::function<void()> on_groups_changed;
  // Called on the loop after each committed batch of the replica (local writes and
  // vertices from peers), once the network has acted on it. For benchmarks and tests
  // (topo-bench latency times a write's arrival with it); the node sets nothing here.
  std::function<void(std::span<const object::AppliedVertex>)> on_applied;
  // Files (node/chunk_exchange.h, network_files.cc): fetches `addresses` from the connected
  // peers under `job` (a file's manifest address), and what came of it so far.
  Status FetchChunks(const codec::ChunkAddress& job,
                     const std::vector<codec::ChunkAddress>& addresses);
  std::optional<FetchProgress> ChunkFetchProgress(const codec::ChunkAddress& job) const;
  void ForgetChunkFetch(const codec::ChunkAddress& job);

  // Closes every connection, then calls `done`.
  void Stop(std::function<void()> done);

  // The replica applied a batch (the index passes it on): announce new vertices to the
  // peers that may read them, and act on membership changes.
  void OnApplied(std::span<const object::AppliedVertex> applied);

 private:
  enum class Admission { kPending, kMember, kConfigured, kJoiner };
  struct Link;
  struct Known {
    std::string address;
    std::optional<crypto::PublicKey> key;
    std::optional<std::pair<codec::ObjectId, codec::JoinOp>> join;  // a pending join to prove
    bool dialing = false;
  };

  Network(asio::io_context& io, object::Replica& replica, Log& log, NetworkOptions options);
  void OnConnection(std::shared_ptr<net::Connection> c, Known* known);
  void Dial(Known& k);
  void Redial();
  Admission Admit(const crypto::PublicKey& peer) const;
  bool MayOffer(Link& l, const codec::ObjectId& object);
  void StartSession(Link& l, int64_t stream);
  void OnMessage(Link& l, int64_t stream, Bytes message);
  void Pump(Link& l);
  void Arm(Link& l);
  void Drop(Link& l, uint64_t code, const std::string& why);
  void Announce(const codec::ObjectId& object, const std::vector<codec::VertexId>& ids);
  void CheckMembership();
  void ApplyArrived();
  // Files (network_files.cc): a peer came or went, a chunk message, sending what the chunk
  // exchange has to send and arming its timer.
  void OnChunkPeer(const crypto::PublicKey& peer, bool up);
  // A malformed message is an error: the caller closes the connection.
  Status OnChunkMessage(const crypto::PublicKey& peer, size_t queued_to_peer, uint8_t kind,
                        ByteView body);
  void PumpChunks();
  // Sends on the peer's current stream; false when it has no open one.
  bool SendToPeer(const crypto::PublicKey& peer, ByteView message);
  nlohmann::json ChunkStatsJson() const;

  asio::io_context& io_;
  object::Replica& replica_;
  Log& log_;
  NetworkOptions options_;
  std::unique_ptr<net::Endpoint> endpoint_;
  std::unique_ptr<sync::ReplicaIndex> index_;
  std::unique_ptr<object::IngestPipeline> pipeline_;
  bool apply_posted_ = false;
  std::unique_ptr<store::FileStore> files_;
  std::unique_ptr<ChunkExchange> chunks_;
  std::map<crypto::PublicKey, std::unique_ptr<Link>> links_;  // admitted or pending
  std::vector<Known> known_;
  asio::steady_timer redial_timer_;
  asio::steady_timer chunk_timer_;
  bool stopping_ = false;
  bool groups_changed_posted_ = false;
  uint64_t next_peer_ = 1;
};

}  // namespace topo::node
