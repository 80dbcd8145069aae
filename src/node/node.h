// The running node (docs/ARCHITECTURE.md, "The daemon"): one per database, on one asio
// event loop. It owns the device identity and the open Replica; the RPC layer above
// (api/service.h) reads and writes through it, on the loop's thread, never behind its back.
//
// A node may start before its database exists (`topo accept LINK` on a new device starts
// the daemon first): it then has no identity until EnsureIdentity() creates one, and every
// call that needs the replica fails with NotFound saying how to create it.
//
// Not thread-safe: everything runs on io()'s thread.
#pragma once

#include <asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "node/log.h"
#include "node/network.h"
#include "object/replica.h"
#include "store/keystore.h"

namespace topo::node {

struct NodeOptions {
  std::string db;
  std::optional<std::string> passphrase;  // of the key file, kept for rewrites (AdoptUser)
  // Where the network listens for peers ("HOST:PORT"); empty: kDefaultBind. A node without
  // a network (tests of the RPC layer) sets `network` false.
  std::string bind;
  bool network = true;
  // Trades speed for a lower peak memory (a small device; `topo start --low-memory`): a
  // smaller SQLite page cache and store caches, the engine's caches dropped every few
  // thousand vertices, a smaller ingest pipeline, smaller sync windows and fewer needed ids
  // held per session
  // (node.cc, kLowMemory*; docs/PERFORMANCE.md, "sync", has what each costs).
  bool low_memory = false;
};

constexpr char kDefaultBind[] = "127.0.0.1:0";

class Node {
 public:
  // Loads the identity and opens the replica when the database exists.
  static Result<std::unique_ptr<Node>> Open(asio::io_context& io, NodeOptions options, Log& log);
  ~Node();

  asio::io_context& io() { return io_; }
  Log& log() { return log_; }
  const NodeOptions& options() const { return options_; }
  const std::string& db() const { return options_.db; }
  uint64_t started_at_ms() const { return started_at_ms_; }

  bool has_identity() const { return identity_ != nullptr; }
  // Creates the database and the identity when missing (then opens the replica). Returns
  // whether they were created now.
  Result<bool> EnsureIdentity(const std::string& device_name);
  // NotFound (with the command that creates one) until there is an identity.
  Result<object::Replica*> replica();
  Result<store::DeviceIdentity*> identity();
  // The network, once there is an identity (nullptr before, or when options.network is off).
  Network* network() { return network_.get(); }

  // Peers to keep connected, kept in the database's settings (peer.<address> = device key
  // hex or ""): dialed now and whenever the node starts.
  Status AddPeer(const std::string& address, std::optional<crypto::PublicKey> key);
  // After accepting an invite: remembers the link until the join is applied here and dials
  // the inviter with the join claim.
  Status RememberJoin(const codec::InviteLink& link);

  // Asks the loop to stop: `on_stop` runs (the owner closes what it serves), then the loop
  // ends once nothing is pending.
  void Stop(std::string why);
  bool stopping() const { return stopping_; }
  std::function<void(const std::string& why)> on_stop;
  // A group changed through the network (vertices from a peer, or written here): the api
  // layer does what that calls for (share keys with a new member, ...). Posted, coalesced.
  std::function<void()> on_groups_changed;
  // Vertices were applied to the replica (a local write, or what peers sent), after their
  // commit: each listener runs later on the loop (posted), with the batch, once per commit.
  // By name: setting a name again replaces its listener, an empty function removes it.
  using AppliedListener = std::function<void(std::span<const object::AppliedVertex>)>;
  void SetAppliedListener(const std::string& name, AppliedListener listener);

 private:
  Node(asio::io_context& io, NodeOptions options, Log& log)
      : io_(io), options_(std::move(options)), log_(log) {}
  Status OpenReplica();
  Status StartNetwork();
  void NotifyApplied(std::span<const object::AppliedVertex> applied);

  asio::io_context& io_;
  NodeOptions options_;
  Log& log_;
  uint64_t started_at_ms_ = 0;
  std::unique_ptr<store::DeviceIdentity> identity_;
  std::unique_ptr<object::Replica> replica_;
  std::unique_ptr<Network> network_;
  bool stopping_ = false;
  std::map<std::string, AppliedListener> applied_listeners_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for posted notifications
};

}  // namespace topo::node
