#include "net/endpoint.h"

#include <ngtcp2/ngtcp2.h>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>

#include <array>
#include <unordered_map>
#include <vector>

#include "net/address.h"
#include "net/message_stream.h"
#include "net/quic_connection.h"
#include "net/tls.h"

namespace topo::net {
namespace {

using asio::ip::udp;

constexpr size_t kReceiveBufferBytes = 65536;  // the largest UDP payload
constexpr int kDatagramsPerWakeup = 64;        // then let the loop run other work
constexpr int kSocketBufferBytes = 4 << 20;    // asked for; the kernel may give less

std::string CidKey(ByteView cid) { return std::string(AsChars(cid)); }

class QuicEndpoint final : public Endpoint, public ConnectionHost {
 public:
  QuicEndpoint(asio::io_context& io, EndpointOptions options, std::unique_ptr<TlsContext> tls,
               udp::socket socket)
      : io_(io),
        options_(std::move(options)),
        identity_(options_.identity->public_key()),
        tls_(std::move(tls)),
        socket_(std::move(socket)),
        local_(socket_.local_endpoint()) {
    rx_.resize(kReceiveBufferBytes);
    config_.io = &io_;
    config_.tls = tls_.get();
    config_.local = local_;
    config_.idle_timeout_ms = options_.idle_timeout_ms;
    config_.keep_alive_ms = options_.keep_alive_ms;
    config_.handshake_timeout_ms = options_.handshake_timeout_ms;
    config_.max_message_bytes = options_.max_message_bytes;
    config_.max_stream_data = options_.max_stream_data;
    config_.max_data = options_.max_data;
    config_.max_streams_bidi = options_.max_streams_bidi;
    config_.max_queued_bytes = options_.max_queued_bytes;
    // The TLS context holds GnuTLS's copy of the key; ours need not stay in memory.
    options_.identity.reset();
    StartReceive();
  }

  ~QuicEndpoint() override {
    life_.reset();
    for (auto& [ptr, c] : connections_) c->Abandon();
    connections_.clear();
    cids_.clear();
    std::error_code ignored;
    socket_.close(ignored);
  }

  std::string local_address() const override { return FormatHostPort(local_); }
  const crypto::PublicKey& identity() const override { return identity_; }

  void Connect(const std::string& host_port, std::optional<crypto::PublicKey> expected_peer,
               std::function<void(Result<std::shared_ptr<Connection>>)> done) override {
    auto fail = [&](Status why) {
      asio::post(io_, [done = std::move(done), why = std::move(why)] { done(why); });
    };
    if (stopping_) return fail(Status::IOError("the endpoint is stopped"));
    auto remote = ParseHostPort(host_port);
    if (!remote.ok()) return fail(remote.status());
    udp::endpoint to = *remote;
    if (to.address().is_v4() && local_.address().is_v6()) {
      to = udp::endpoint(asio::ip::make_address_v6(asio::ip::v4_mapped, to.address().to_v4()),
                         to.port());
    } else if (to.address().is_v6() && local_.address().is_v4()) {
      return fail(Status::InvalidArgument("cannot dial the IPv6 address " + host_port +
                                          " from the IPv4 socket " + local_address()));
    }
    if (connections_.size() >= options_.max_connections)
      return fail(
          Status::Rejected("too many connections (" + std::to_string(connections_.size()) + ")"));
    auto c = QuicConnection::Dial(*this, config_, to, expected_peer);
    if (!c.ok()) return fail(c.status());
    std::shared_ptr<QuicConnection> conn = std::move(c).value();
    conn->set_connect_done(std::move(done));
    connections_.emplace(conn.get(), conn);
    conn->Start();
  }

  void Stop(std::function<void()> done) override {
    if (stopping_) {
      if (done) asio::post(io_, std::move(done));
      return;
    }
    stopping_ = true;
    std::vector<std::shared_ptr<QuicConnection>> all;
    for (auto& [ptr, c] : connections_) all.push_back(c);
    for (auto& c : all) c->CloseForShutdown();
    // Posted after the closes' notifications, so the owners hear of them first.
    asio::post(io_, [this, life = std::weak_ptr<int>(life_), all = std::move(all),
                     done = std::move(done)] {
      if (life.expired()) return;
      for (auto& c : all) c->Abandon();
      for (auto& [ptr, c] : connections_) c->Abandon();
      connections_.clear();
      cids_.clear();
      std::error_code ignored;
      socket_.close(ignored);
      if (done) done();
    });
  }

  Stats stats() const override {
    Stats s = stats_;
    for (auto& [ptr, c] : connections_) {
      if (c->is_open()) ++s.connections_open;
      if (c->handshaking()) ++s.handshakes_in_progress;
    }
    return s;
  }

  // ConnectionHost
  void SendDatagram(const udp::endpoint& to, ByteView datagram) override {
    std::error_code ec;
    socket_.send_to(asio::buffer(datagram.data(), datagram.size()), to, 0, ec);
    // A full socket buffer loses the datagram like the network would; QUIC recovers.
    if (ec) {
      ++stats_.send_errors;
    } else {
      ++stats_.datagrams_out;
    }
  }
  void AddCid(ByteView cid, QuicConnection* connection) override {
    cids_[CidKey(cid)] = connection;
  }
  void RemoveCid(ByteView cid) override { cids_.erase(CidKey(cid)); }
  bool Admit(const crypto::PublicKey& peer) override {
    return options_.admit ? options_.admit(peer) : false;
  }
  void Opened(const std::shared_ptr<QuicConnection>& connection) override {
    if (connection->inbound() && on_connection) on_connection(connection);
  }
  void HandshakeFailed(QuicConnection&) override { ++stats_.handshakes_failed; }
  void Finished(QuicConnection& connection) override { connections_.erase(&connection); }

 private:
  void StartReceive() {
    socket_.async_receive_from(
        asio::buffer(rx_), rx_from_,
        [this, life = std::weak_ptr<int>(life_)](const std::error_code& ec, size_t n) {
          if (life.expired() || !socket_.is_open()) return;
          if (ec == asio::error::operation_aborted) return;
          if (!ec) {
            OnDatagram(rx_from_, ByteView(rx_.data(), n));
            // Take what else is waiting without another trip through the loop.
            for (int i = 1; i < kDatagramsPerWakeup && socket_.is_open(); ++i) {
              std::error_code again;
              size_t m = socket_.receive_from(asio::buffer(rx_), rx_from_, 0, again);
              if (again) break;
              OnDatagram(rx_from_, ByteView(rx_.data(), m));
            }
          }
          if (socket_.is_open()) StartReceive();
        });
  }

  void OnDatagram(const udp::endpoint& from, ByteView d) {
    ++stats_.datagrams_in;
    if (d.empty()) {
      ++stats_.datagrams_dropped;
      return;
    }
    ngtcp2_version_cid vc;
    int rv = ngtcp2_pkt_decode_version_cid(&vc, d.data(), d.size(), kCidBytes);
    if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
      // A long header of a version we lack, in a datagram of at least 1,200 bytes (ngtcp2
      // checks), so the answer is smaller than the question.
      SendVersionNegotiation(vc, from);
      return;
    }
    if (rv != 0) {
      ++stats_.datagrams_dropped;
      return;
    }
    auto it = cids_.find(CidKey(ByteView(vc.dcid, vc.dcidlen)));
    if (it != cids_.end()) {
      it->second->Receive(from, d);
      return;
    }
    // An unknown connection id: only a client's first Initial may start a connection. No
    // stateless reset is sent for the rest (docs/PROTOCOL.md).
    ngtcp2_pkt_hd hd;
    if (vc.version == 0 || ngtcp2_accept(&hd, d.data(), d.size()) != 0 || stopping_ ||
        !RoomForHandshake(from)) {
      ++stats_.datagrams_dropped;
      return;
    }
    auto c = QuicConnection::Accept(*this, config_, from, hd);
    if (!c.ok()) {
      ++stats_.datagrams_dropped;
      return;
    }
    std::shared_ptr<QuicConnection> conn = std::move(c).value();
    connections_.emplace(conn.get(), conn);
    conn->Start();
    conn->Receive(from, d);
    if (!conn->made_progress()) {
      // Not a ClientHello we could read (a forged or damaged Initial): forget it now.
      ++stats_.datagrams_dropped;
      conn->Discard();
    }
  }

  bool RoomForHandshake(const udp::endpoint& from) const {
    if (connections_.size() >= options_.max_connections) return false;
    size_t half_open = 0, same_host = 0;
    for (auto& [ptr, c] : connections_) {
      if (!c->inbound() || !c->handshaking()) continue;
      ++half_open;
      if (c->remote().address() == from.address()) ++same_host;
    }
    return half_open < options_.max_half_open && same_host < options_.max_half_open_per_host;
  }

  void SendVersionNegotiation(const ngtcp2_version_cid& vc, const udp::endpoint& to) {
    uint8_t random[5];
    crypto::RandomFill(random, sizeof random);
    // A reserved version first (RFC 9000 15: greasing), then the one we speak.
    uint32_t grease = (uint32_t{random[0]} << 24 | uint32_t{random[1]} << 16 |
                       uint32_t{random[2]} << 8 | random[3]);
    grease = (grease & 0xf0f0f0f0u) | 0x0a0a0a0au;
    std::array<uint32_t, 2> versions{grease, NGTCP2_PROTO_VER_V1};
    std::array<uint8_t, 1 + 4 + 1 + 255 + 1 + 255 + 8> buf;
    ngtcp2_ssize n =
        ngtcp2_pkt_write_version_negotiation(buf.data(), buf.size(), random[4], vc.scid, vc.scidlen,
                                             vc.dcid, vc.dcidlen, versions.data(), versions.size());
    if (n > 0) SendDatagram(to, ByteView(buf.data(), static_cast<size_t>(n)));
  }

  asio::io_context& io_;
  EndpointOptions options_;
  crypto::PublicKey identity_;
  std::unique_ptr<TlsContext> tls_;
  udp::socket socket_;
  udp::endpoint local_;
  ConnectionConfig config_;
  std::unordered_map<QuicConnection*, std::shared_ptr<QuicConnection>> connections_;
  std::unordered_map<std::string, QuicConnection*> cids_;
  Bytes rx_;
  udp::endpoint rx_from_;
  Stats stats_;
  bool stopping_ = false;
  // Handlers left in the loop check this before touching the endpoint.
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

Status CheckOptions(const EndpointOptions& o) {
  auto bad = [](const std::string& why) { return Status::InvalidArgument("endpoint: " + why); };
  if (!o.identity) return bad("an identity (the device key) is required");
  if (o.max_message_bytes == 0 || o.max_message_bytes > 0xffffffffu)
    return bad("max_message_bytes must be 1 to 2^32-1");
  if (o.max_stream_data < o.max_message_bytes + kFrameHeaderBytes)
    return bad("max_stream_data must hold one whole message (max_message_bytes + 4)");
  if (o.max_data < o.max_stream_data) return bad("max_data must be at least max_stream_data");
  if (o.max_streams_bidi == 0 || o.max_streams_bidi > (uint64_t{1} << 60))
    return bad("max_streams_bidi must be 1 to 2^60");
  if (o.max_queued_bytes < o.max_message_bytes + kFrameHeaderBytes)
    return bad("max_queued_bytes must hold one whole message");
  if (o.handshake_timeout_ms == 0) return bad("handshake_timeout_ms must be positive");
  if (o.max_connections == 0) return bad("max_connections must be positive");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Endpoint>> Endpoint::Make(asio::io_context& io, EndpointOptions options) {
  TOPO_RETURN_IF_ERROR(CheckOptions(options));
  auto bind = ParseHostPort(options.bind);
  if (!bind.ok()) return bind.status();
  auto tls = TlsContext::Make(*options.identity, options.alpn, VerifyPeerCertificate);
  if (!tls.ok()) return tls.status();

  udp::socket socket(io);
  std::error_code ec;
  socket.open(bind->protocol(), ec);
  if (!ec) socket.bind(*bind, ec);
  if (!ec) socket.non_blocking(true, ec);
  if (ec) return Status::IOError("cannot bind " + options.bind + ": " + ec.message());
  std::error_code ignored;
  socket.set_option(asio::socket_base::receive_buffer_size(kSocketBufferBytes), ignored);
  socket.set_option(asio::socket_base::send_buffer_size(kSocketBufferBytes), ignored);
  return std::unique_ptr<Endpoint>(
      new QuicEndpoint(io, std::move(options), std::move(tls).value(), std::move(socket)));
}

}  // namespace topo::net
