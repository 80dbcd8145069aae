#include "api/rpc_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>
#include <deque>

namespace topo::api {

class RpcServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(RpcServer& server, asio::local::stream_protocol::socket socket)
      : server_(server), socket_(std::move(socket)), in_(kMaxRpcLineBytes + 1) {}

  void Start() { Read(); }
  void Close() {
    asio::error_code ignored;
    socket_.close(ignored);
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
        auto reply = server_.methods_.HandleLine(line);
        if (reply) Write(std::move(*reply) + "\n");
      }
      if (!server_.closed_) Read();
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
      if (!out_.empty()) WriteNext();
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

RpcServer::~RpcServer() { Close(); }

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

void RpcServer::Close() {
  if (closed_) return;
  closed_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  for (auto& c : connections_) c->Close();
  connections_.clear();
  ::unlink(bound_.path().c_str());
}

}  // namespace topo::api
