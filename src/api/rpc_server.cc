#include "api/rpc_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <deque>
#include <vector>

namespace topo::api {

class RpcServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(RpcServer& server, asio::local::stream_protocol::socket socket)
      : server_(server),
        socket_(std::move(socket)),
        in_(kMaxRpcLineBytes + 1),
        wait_(socket_.get_executor()) {}

  void Start() { Read(); }
  void Close() {
    held_.reset();
    wait_.cancel();
    asio::error_code ignored;
    socket_.close(ignored);
  }
  bool holding() const { return held_.has_value(); }

  // Runs the held request again; `final`: its wait is over, it must be answered now.
  void Retry(bool final) {
    if (!held_) return;
    auto out = server_.methods_.HandleHeld(*held_, final || server_.released_);
    if (out.held) return;  // still nothing to say
    held_.reset();
    wait_.cancel();
    // Stopping: the long poll is answered and its connection closes once the answer is out,
    // so its client learns at once that the daemon goes (instead of polling it again).
    if (server_.released_) closing_ = true;
    if (out.reply) Write(std::move(*out.reply) + "\n");
    if (closing_) {
      if (out_.empty()) Drop();
      return;
    }
    if (!server_.closed_) Read();
  }

 private:
  void Read() {
    auto self = shared_from_this();
    asio::async_read_until(socket_, in_, '\n', [this, self](asio::error_code ec, size_t n) {
      if (ec) {
        if (ec == asio::error::not_found)
          server_.log_.Warn("rpc: a client sent a line over the size limit; closed");
        Drop();
        return;
      }
      std::string line(asio::buffers_begin(in_.data()),
                       asio::buffers_begin(in_.data()) + static_cast<std::ptrdiff_t>(n - 1));
      in_.consume(n);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) {
        auto out = server_.methods_.HandleLineDeferrable(line);
        if (out.held) {
          Hold(std::move(*out.held), out.wait_ms);
          return;  // reads on once it is answered (Retry)
        }
        if (out.reply) Write(std::move(*out.reply) + "\n");
      }
      if (!server_.closed_) Read();
    });
  }

  void Hold(json request, uint64_t wait_ms) {
    held_ = std::move(request);
    if (server_.released_) {
      Retry(/*final=*/true);
      return;
    }
    auto self = shared_from_this();
    wait_.expires_after(std::chrono::milliseconds(wait_ms));
    wait_.async_wait([this, self](asio::error_code ec) {
      if (ec || server_.closed_) return;
      Retry(/*final=*/true);
    });
  }

  void Write(std::string text) {
    out_.push_back(std::move(text));
    if (out_.size() == 1) WriteNext();
  }

  void WriteNext() {
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(out_.front()), [this, self](asio::error_code ec, size_t) {
      if (ec) {
        Drop();
        return;
      }
      out_.pop_front();
      if (!out_.empty())
        WriteNext();
      else if (closing_)
        Drop();
    });
  }

  void Drop() {
    Close();
    server_.connections_.erase(shared_from_this());
  }

  RpcServer& server_;
  asio::local::stream_protocol::socket socket_;
  asio::streambuf in_;
  std::deque<std::string> out_;
  std::optional<json> held_;   // a request whose reply is deferred
  bool closing_ = false;       // closes once what is written is out
  asio::steady_timer wait_;    // when its wait ends
};

RpcServer::RpcServer(asio::io_context& io, MethodTable& methods, node::Log& log, std::string path,
                     node::UnixSocketPath bound)
    : io_(io),
      methods_(methods),
      log_(log),
      path_(std::move(path)),
      bound_(std::move(bound)),
      acceptor_(io) {}

Result<std::unique_ptr<RpcServer>> RpcServer::Listen(asio::io_context& io,
                                                     const std::string& socket_path,
                                                     MethodTable& methods, node::Log& log) {
  auto bound = node::UnixSocketPath::For(socket_path);
  if (!bound.ok()) return bound.status();
  std::unique_ptr<RpcServer> s(
      new RpcServer(io, methods, log, socket_path, std::move(bound).value()));
  ::unlink(s->bound_.path().c_str());
  asio::error_code ec;
  asio::local::stream_protocol::endpoint ep(s->bound_.path());
  mode_t old = ::umask(077);  // the socket file is created 0600
  s->acceptor_.open(ep.protocol(), ec);
  if (!ec) s->acceptor_.bind(ep, ec);
  ::umask(old);
  if (!ec) s->acceptor_.listen(16, ec);
  if (ec) return Status::IOError("cannot listen on " + socket_path + ": " + ec.message());
  s->Accept();
  return s;
}

RpcServer::~RpcServer() {
  Close();
  *alive_ = false;
}

void RpcServer::Accept() {
  acceptor_.async_accept([this](asio::error_code ec, asio::local::stream_protocol::socket socket) {
    if (closed_) return;
    if (!ec) {
      if (connections_.size() >= kMaxRpcConnections) {
        log_.Warn("rpc: too many clients; refused one");
      } else {
        auto c = std::make_shared<Connection>(*this, std::move(socket));
        connections_.insert(c);
        c->Start();
      }
    }
    Accept();
  });
}

void RpcServer::Wake() {
  if (closed_ || wake_posted_) return;
  wake_posted_ = true;
  std::weak_ptr<bool> alive = alive_;
  asio::post(io_, [this, alive] {
    if (alive.expired()) return;
    wake_posted_ = false;
    if (closed_) return;
    std::vector<std::shared_ptr<Connection>> held;
    for (const auto& c : connections_)
      if (c->holding()) held.push_back(c);
    for (const auto& c : held) c->Retry(/*final=*/false);
  });
}

void RpcServer::Release() {
  if (released_) return;
  released_ = true;
  std::vector<std::shared_ptr<Connection>> held;
  for (const auto& c : connections_)
    if (c->holding()) held.push_back(c);
  for (const auto& c : held) c->Retry(/*final=*/true);
}

size_t RpcServer::held() const {
  size_t n = 0;
  for (const auto& c : connections_) n += c->holding() ? 1 : 0;
  return n;
}

void RpcServer::Close() {
  if (closed_) return;
  closed_ = true;
  released_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  for (auto& c : connections_) c->Close();
  connections_.clear();
  ::unlink(bound_.path().c_str());
}

}  // namespace topo::api
