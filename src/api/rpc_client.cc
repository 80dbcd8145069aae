#include "api/rpc_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "node/daemon.h"

namespace topo::api {

Result<RpcClient> RpcClient::Connect(const std::string& socket_path) {
  auto path = node::UnixSocketPath::For(socket_path);
  if (!path.ok()) return path.status();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(std::string("socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path->path().data(), path->path().size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    if (e == ENOENT || e == ECONNREFUSED)
      return Status::NotFound("no daemon listens on " + socket_path);
    return Status::IOError("cannot connect to " + socket_path + ": " + std::strerror(e));
  }
  return RpcClient(fd);
}

RpcClient::~RpcClient() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::string> RpcClient::RoundTrip(const std::string& line, uint64_t timeout_ms) {
  std::string out = line + "\n";
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(std::string("the daemon's socket: ") + std::strerror(errno));
    }
    sent += static_cast<size_t>(n);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string reply = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return reply;
    }
    if (buffer_.size() > kMaxRpcLineBytes) return Status::Corruption("the daemon's reply is too large");
    int wait = -1;
    if (timeout_ms) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return Status::IOError("the daemon did not answer in time");
      wait = static_cast<int>(left);
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return Status::IOError("the daemon did not answer in time");
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::IOError("the daemon closed the connection");
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

Result<json> RpcClient::Call(const std::string& method, const json& params, uint64_t timeout_ms) {
  uint64_t id = next_id_++;
  // Bytes that are not UTF-8 (a user's argument) are replaced, never a crash.
  auto reply = RoundTrip(
      MakeRequest(id, method, params).dump(-1, ' ', false, json::error_handler_t::replace),
      timeout_ms);
  if (!reply.ok()) return reply.status();
  json response = json::parse(*reply, nullptr, false);
  if (response.is_discarded()) return Status::Corruption("the daemon's reply is not JSON");
  return ParseResponse(response, id);
}

}  // namespace topo::api
