// One QUIC connection (internal to the endpoint): an ngtcp2_conn and its GnuTLS session,
// its timer, its streams of messages. The endpoint feeds it the datagrams addressed to its
// connection ids; it sends through the endpoint's socket.
//
// Phases: handshake -> open -> closing (we sent CONNECTION_CLOSE; it is repeated to
// stragglers) or draining (the peer closed) -> gone (state freed). Closing and draining
// last three PTOs, as RFC 9000 10.2 asks, then the endpoint forgets the connection.
//
// Nothing a peer sends runs application code inside ngtcp2: callbacks from ngtcp2 only
// record events, which are delivered after ngtcp2_conn_read_pkt returns.
#pragma once

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/endpoint.h"
#include "net/message_stream.h"
#include "net/tls.h"

namespace topo::net {

class QuicConnection;

// Length of every connection id this endpoint issues: short-header packets carry no
// length, so the endpoint finds the id by this.
constexpr size_t kCidBytes = 16;

// What a connection needs from the endpoint that owns it.
class ConnectionHost {
 public:
  virtual ~ConnectionHost() = default;
  virtual void SendDatagram(const asio::ip::udp::endpoint& to, ByteView datagram) = 0;
  virtual void AddCid(ByteView cid, QuicConnection* connection) = 0;
  virtual void RemoveCid(ByteView cid) = 0;
  virtual bool Admit(const crypto::PublicKey& peer) = 0;
  // The connection is open (for an inbound one: admitted).
  virtual void Opened(const std::shared_ptr<QuicConnection>& connection) = 0;
  // The handshake failed (timeout, TLS, key, refusal).
  virtual void HandshakeFailed(QuicConnection& connection) = 0;
  // Its closing period is over: forget it.
  virtual void Finished(QuicConnection& connection) = 0;
};

// The limits and parts every connection of an endpoint shares.
struct ConnectionConfig {
  asio::io_context* io = nullptr;
  const TlsContext* tls = nullptr;
  asio::ip::udp::endpoint local;
  uint64_t idle_timeout_ms = 0;
  uint64_t keep_alive_ms = 0;
  uint64_t handshake_timeout_ms = 0;
  size_t max_message_bytes = 0;
  uint64_t max_stream_data = 0;
  uint64_t max_data = 0;
  uint64_t max_streams_bidi = 0;
  size_t max_queued_bytes = 0;
};

// GnuTLS calls this when the peer's certificate arrived (TlsContext's verify function).
int VerifyPeerCertificate(gnutls_session_t session);

class QuicConnection final : public Connection,
                             public std::enable_shared_from_this<QuicConnection> {
 public:
  using ConnectDone = std::function<void(Result<std::shared_ptr<Connection>>)>;

  // A connection we dial. Start() sends the first Initial once the host knows it.
  static Result<std::shared_ptr<QuicConnection>> Dial(ConnectionHost& host,
                                                      const ConnectionConfig& config,
                                                      const asio::ip::udp::endpoint& remote,
                                                      std::optional<crypto::PublicKey> expected_peer);
  // A connection a peer dials: `initial` is the header of its first Initial packet
  // (ngtcp2_accept). Feed that packet with Receive next.
  static Result<std::shared_ptr<QuicConnection>> Accept(ConnectionHost& host,
                                                        const ConnectionConfig& config,
                                                        const asio::ip::udp::endpoint& remote,
                                                        const ngtcp2_pkt_hd& initial);
  ~QuicConnection() override;

  // Connection
  const crypto::PublicKey& peer() const override { return peer_; }
  bool inbound() const override { return inbound_; }
  const std::string& remote_address() const override { return remote_text_; }
  bool is_open() const override { return phase_ == Phase::kOpen; }
  Result<int64_t> OpenStream() override;
  Status Send(int64_t stream, ByteView message) override;
  Status CloseStream(int64_t stream) override;
  size_t queued_bytes() const override { return queued_bytes_; }
  void Close(uint64_t app_error, std::string reason) override;
  const CloseInfo& close_info() const override { return close_info_; }

  // For the endpoint.
  // Called once, with the open connection or why the dial failed.
  void set_connect_done(ConnectDone done) { connect_done_ = std::move(done); }
  // Registers the connection ids with the host; a dialing connection sends its Initial.
  void Start();
  void Receive(const asio::ip::udp::endpoint& from, ByteView datagram);
  // True once the peer's Initial carried a handshake message we could read: a first
  // packet that did not is forgotten at once (Discard), at no cost but the attempt.
  bool made_progress() const { return crypto_progress_; }
  void Discard();
  // Drops everything now: no packets, no callbacks (endpoint stop or destruction).
  void Abandon();
  bool handshaking() const { return phase_ == Phase::kHandshake; }
  const asio::ip::udp::endpoint& remote() const { return remote_; }
  // The reason a closing endpoint gives.
  void CloseForShutdown();

 private:
  enum class Phase { kHandshake, kOpen, kClosing, kDraining, kGone };
  struct Stream {
    explicit Stream(size_t max_message) : reader(max_message) {}
    MessageReader reader;
    SendBuffer send;
    bool local_fin = false;  // our end queued
    bool reset = false;      // shut down both ways; buffers dropped
  };
  struct SendEntry {
    int64_t stream;
    bool fin;  // the stream's end, not a message
  };
  struct Event {
    enum Kind { kMessage, kOpened, kClosed } kind;
    int64_t stream;
    Bytes message;
  };

  QuicConnection(ConnectionHost& host, const ConnectionConfig& config,
                 const asio::ip::udp::endpoint& remote, bool inbound);
  Status Init(const ngtcp2_cid& dcid, const ngtcp2_cid& scid, const ngtcp2_cid* original_dcid,
              uint32_t version);

  // Called by the ngtcp2 and GnuTLS callbacks (quic_connection.cc).
  friend struct Ngtcp2Callbacks;
  friend int VerifyPeerCertificate(gnutls_session_t session);
  bool CheckPeerCertificate(gnutls_session_t session);
  int OnHandshakeCompleted();
  void OnStreamOpen(int64_t stream);
  void OnStreamData(uint32_t flags, int64_t stream, ByteView data);
  void OnAcked(int64_t stream, uint64_t n);
  void OnStreamClose(int64_t stream);
  void AddCid(const ngtcp2_cid& cid);
  void RemoveCid(const ngtcp2_cid& cid);

  // After input (a datagram, a timer): admission, pending closes, events, output.
  void AfterInput();
  // Delivers the recorded events to the owner; `last` also while the peer's close drains.
  void Dispatch(bool last = false);
  void Flush();
  void Consumed(int64_t stream, ngtcp2_ssize n, bool fin);
  void ScheduleFlush();
  void ArmTimer();
  void OnTimer();
  void OnReadError(int rv);
  void CloseWithError(int liberr);
  void CloseApplication(uint64_t code, const std::string& reason, Status why);
  void StartClosing(const ngtcp2_connection_close_error& ccerr, Status why);
  void EnterDraining();
  void ArmClosingTimer();
  void Notify(Status why);
  void Finish();
  void Release();
  void ClearCallbacks();
  void ShutdownStream(int64_t id);
  ngtcp2_path Path(const asio::ip::udp::endpoint& remote);

  ConnectionHost* host_;
  ConnectionConfig config_;
  std::unique_ptr<asio::steady_timer> timer_;  // freed with the rest of the state
  uint64_t armed_expiry_ = UINT64_MAX;
  asio::ip::udp::endpoint remote_;
  std::string remote_text_;
  bool inbound_;
  crypto::PublicKey peer_;
  bool peer_checked_ = false;
  std::optional<crypto::PublicKey> expected_peer_;
  ngtcp2_cid original_dcid_{};  // an inbound connection's: the client's first choice
  ConnectDone connect_done_;

  ngtcp2_crypto_conn_ref conn_ref_{};
  // Declared before conn_ so that the connection is deleted first.
  TlsSession tls_;
  struct ConnFree {
    void operator()(ngtcp2_conn* c) const { ngtcp2_conn_del(c); }
  };
  std::unique_ptr<ngtcp2_conn, ConnFree> conn_;
  std::vector<Bytes> cids_;  // registered with the host

  Phase phase_ = Phase::kHandshake;
  bool opened_ = false;  // was handed to the owner as open
  bool notified_ = false;
  bool finished_ = false;
  bool handshake_completed_ = false;
  bool handshake_confirmed_ = false;
  bool crypto_progress_ = false;
  bool flush_posted_ = false;
  bool writable_pending_ = false;
  Status tls_failure_;  // why our certificate check or ALPN check refused the peer
  uint8_t tls_failure_alert_ = 0;
  std::string violation_;  // a framing violation found inside a callback

  std::map<int64_t, Stream> streams_;
  std::deque<SendEntry> send_order_;
  size_t queued_bytes_ = 0;
  std::deque<Event> events_;
  std::vector<int64_t> streams_to_shut_;

  Bytes close_packet_;
  asio::ip::udp::endpoint close_to_;
  int close_resends_ = 0;
  CloseInfo close_info_;
  Bytes tx_;
};

}  // namespace topo::net
