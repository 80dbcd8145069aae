// The JSON-RPC server on a Unix socket beside the database (node/daemon.h: SocketPath): one
// JSON text per line each way; requests on a connection are answered in order. The socket is
// 0600 (only the database's owner may drive the node). A line over kMaxRpcLineBytes, or
// more than kMaxRpcConnections clients at once, closes the offending connection.
#pragma once

#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <memory>
#include <set>
#include <string>

#include "api/jsonrpc.h"
#include "node/daemon.h"
#include "node/log.h"

namespace topo::api {

constexpr size_t kMaxRpcConnections = 64;

class RpcServer {
 public:
  // Binds `socket_path` (a stale socket file left by a dead daemon is replaced; the caller
  // holds the pid lock, so no live daemon owns it).
  static Result<std::unique_ptr<RpcServer>> Listen(asio::io_context& io, const std::string& socket_path,
                                                   MethodTable& methods, node::Log& log);
  ~RpcServer();
  // Stops accepting and closes every connection; removes the socket file.
  void Close();
  size_t connections() const { return connections_.size(); }

 private:
  class Connection;
  RpcServer(asio::io_context& io, MethodTable& methods, node::Log& log, std::string path,
            node::UnixSocketPath bound);
  void Accept();

  asio::io_context& io_;
  MethodTable& methods_;
  node::Log& log_;
  std::string path_;
  node::UnixSocketPath bound_;
  asio::local::stream_protocol::acceptor acceptor_;
  std::set<std::shared_ptr<Connection>> connections_;
  bool closed_ = false;
};

}  // namespace topo::api
