// The JSON-RPC server on a Unix socket beside the database (node/daemon.h: SocketPath): one
// JSON text per line each way; requests on a connection are answered in order. The socket is
// 0600 (only the database's owner may drive the node). A line over kMaxRpcLineBytes, or
// more than kMaxRpcConnections clients at once, closes the offending connection.
//
// Long polls: a handler may defer its reply (api/jsonrpc.h, DeferReply). The connection then
// holds the request (reading nothing more from that client, so replies stay in order) and
// runs the handler again at every Wake() and, last, when the request's wait ends, or at
// Release() or Close(). Nothing blocks: the loop serves everyone else meanwhile.
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
  // Something changed (vertices applied): every held request is run again, soon (posted;
  // many wakes before it runs count as one).
  void Wake();
  // The node is stopping: every held request is answered now (its final run), and none is
  // held from now on.
  void Release();
  size_t held() const;

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
  bool released_ = false;
  bool wake_posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace topo::api
