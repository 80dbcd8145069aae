// A blocking JSON-RPC client for the daemon's Unix socket (the CLI's; tests use it too).
#pragma once

#include <string>
#include <utility>

#include "api/jsonrpc.h"

namespace topo::api {

class RpcClient {
 public:
  // NotFound when nothing listens at `socket_path` (no daemon), IOError for other failures.
  static Result<RpcClient> Connect(const std::string& socket_path);
  RpcClient(RpcClient&& o) noexcept : fd_(o.fd_), next_id_(o.next_id_), buffer_(std::move(o.buffer_)) {
    o.fd_ = -1;
  }
  RpcClient& operator=(RpcClient&& o) noexcept {
    std::swap(fd_, o.fd_);
    std::swap(next_id_, o.next_id_);
    std::swap(buffer_, o.buffer_);
    return *this;
  }
  ~RpcClient();

  // Sends one request and waits for its response (timeout_ms 0: no limit). The result, or
  // the Status the daemon's error stands for.
  Result<json> Call(const std::string& method, const json& params, uint64_t timeout_ms = 0);
  // Sends a raw line and returns the raw reply line (for `topo rpc call` and tests).
  Result<std::string> RoundTrip(const std::string& line, uint64_t timeout_ms = 0);

 private:
  explicit RpcClient(int fd) : fd_(fd) {}
  int fd_ = -1;
  uint64_t next_id_ = 1;
  std::string buffer_;
};

}  // namespace topo::api
