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
#include <memory>
#include <optional>
#include <string>

#include "node/log.h"
#include "object/replica.h"
#include "store/keystore.h"

namespace topo::node {

struct NodeOptions {
  std::string db;
  std::optional<std::string> passphrase;  // of the key file, kept for rewrites (AdoptUser)
  std::string bind;                       // the network address asked for ("" = none yet)
};

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

  // Asks the loop to stop: `on_stop` runs (the owner closes what it serves), then the loop
  // ends once nothing is pending.
  void Stop(std::string why);
  bool stopping() const { return stopping_; }
  std::function<void(const std::string& why)> on_stop;

 private:
  Node(asio::io_context& io, NodeOptions options, Log& log)
      : io_(io), options_(std::move(options)), log_(log) {}
  Status OpenReplica();

  asio::io_context& io_;
  NodeOptions options_;
  Log& log_;
  uint64_t started_at_ms_ = 0;
  std::unique_ptr<store::DeviceIdentity> identity_;
  std::unique_ptr<object::Replica> replica_;
  bool stopping_ = false;
};

}  // namespace topo::node
