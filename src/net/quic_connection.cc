#include "net/quic_connection.h"

#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "net/address.h"
#include "util/encoding.h"

namespace topo::net {
namespace {

constexpr size_t kTxBufferBytes = 1500;     // >= ngtcp2's largest packet (1452 with PMTUD)
constexpr size_t kMaxPacketsPerFlush = 64;  // then yield to the loop
constexpr int kMaxCloseResends = 8;
constexpr size_t kMaxReasonBytes = 1024;
constexpr uint8_t kAlertBadCertificate = 42;
constexpr uint8_t kAlertNoApplicationProtocol = 120;
// Paths with a smaller minimum RTT (loopback, a LAN) are not paced (see Flush).
constexpr ngtcp2_duration kPacedMinRtt = 2 * NGTCP2_MILLISECONDS;

ngtcp2_tstamp Now() {
  return static_cast<ngtcp2_tstamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

asio::ip::udp::endpoint ToEndpoint(const ngtcp2_addr& a) {
  asio::ip::udp::endpoint e;
  if (a.addr != nullptr && a.addrlen <= e.capacity()) {
    std::memcpy(e.data(), a.addr, a.addrlen);
    e.resize(a.addrlen);
  }
  return e;
}

std::string AlertName(uint8_t alert) {
  const char* name = gnutls_alert_get_name(static_cast<gnutls_alert_description_t>(alert));
  return name ? std::string(name) : "alert " + std::to_string(alert);
}

// A reason from the wire, fit for a log line: control bytes become '?'.
std::string Printable(const uint8_t* data, size_t n) {
  std::string s(reinterpret_cast<const char*>(data), std::min(n, kMaxReasonBytes));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

std::string ErrorCode(uint64_t code) { return "(error " + std::to_string(code) + ")"; }

QuicConnection* Self(void* user_data) { return static_cast<QuicConnection*>(user_data); }

}  // namespace

// The ngtcp2 callbacks: each records what happened on the connection and returns; none
// runs application code.
struct Ngtcp2Callbacks {
  static int RecvCryptoData(ngtcp2_conn* conn, ngtcp2_crypto_level level, uint64_t offset,
                            const uint8_t* data, size_t len, void* user) {
    Self(user)->crypto_progress_ = true;
    return ngtcp2_crypto_recv_crypto_data_cb(conn, level, offset, data, len, user);
  }
  static int HandshakeCompleted(ngtcp2_conn*, void* user) {
    return Self(user)->OnHandshakeCompleted();
  }
  static int HandshakeConfirmed(ngtcp2_conn*, void* user) {
    Self(user)->handshake_confirmed_ = true;
    return 0;
  }
  static int RecvStreamData(ngtcp2_conn*, uint32_t flags, int64_t stream, uint64_t /*offset*/,
                            const uint8_t* data, size_t len, void* user, void*) {
    Self(user)->OnStreamData(flags, stream, ByteView(data, len));
    return 0;
  }
  static int AckedStreamDataOffset(ngtcp2_conn*, int64_t stream, uint64_t /*offset*/, uint64_t len,
                                   void* user, void*) {
    Self(user)->OnAcked(stream, len);
    return 0;
  }
  static int StreamOpen(ngtcp2_conn*, int64_t stream, void* user) {
    Self(user)->OnStreamOpen(stream);
    return 0;
  }
  static int StreamClose(ngtcp2_conn*, uint32_t, int64_t stream, uint64_t, void* user, void*) {
    Self(user)->OnStreamClose(stream);
    return 0;
  }
  static int StreamReset(ngtcp2_conn*, int64_t stream, uint64_t, uint64_t, void* user, void*) {
    Self(user)->streams_to_shut_.push_back(stream);
    return 0;
  }
  static int StreamStopSending(ngtcp2_conn*, int64_t stream, uint64_t, void* user, void*) {
    Self(user)->streams_to_shut_.push_back(stream);
    return 0;
  }
  static int ExtendMaxLocalStreamsBidi(ngtcp2_conn*, uint64_t, void* user) {
    Self(user)->writable_pending_ = true;  // OpenStream may succeed again
    return 0;
  }
  static void Rand(uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) {
    crypto::RandomFill(dest, len);
  }
  static int GetNewConnectionId(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t cidlen,
                                void* user) {
    crypto::RandomFill(cid->data, cidlen);
    cid->datalen = cidlen;
    crypto::RandomFill(token, NGTCP2_STATELESS_RESET_TOKENLEN);
    Self(user)->AddCid(*cid);
    return 0;
  }
  static int RemoveConnectionId(ngtcp2_conn*, const ngtcp2_cid* cid, void* user) {
    Self(user)->RemoveCid(*cid);
    return 0;
  }
  static ngtcp2_conn* GetConn(ngtcp2_crypto_conn_ref* ref) {
    return Self(ref->user_data)->conn_.get();
  }

  static ngtcp2_callbacks Make(bool server) {
    ngtcp2_callbacks cb;
    std::memset(&cb, 0, sizeof cb);
    if (server) {
      cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    } else {
      cb.client_initial = ngtcp2_crypto_client_initial_cb;
      cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
    }
    cb.recv_crypto_data = RecvCryptoData;
    cb.handshake_completed = HandshakeCompleted;
    cb.handshake_confirmed = HandshakeConfirmed;
    cb.encrypt = ngtcp2_crypto_encrypt_cb;
    cb.decrypt = ngtcp2_crypto_decrypt_cb;
    cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb.recv_stream_data = RecvStreamData;
    cb.acked_stream_data_offset = AckedStreamDataOffset;
    cb.stream_open = StreamOpen;
    cb.stream_close = StreamClose;
    cb.stream_reset = StreamReset;
    cb.stream_stop_sending = StreamStopSending;
    cb.extend_max_local_streams_bidi = ExtendMaxLocalStreamsBidi;
    cb.rand = Rand;
    cb.get_new_connection_id = GetNewConnectionId;
    cb.remove_connection_id = RemoveConnectionId;
    cb.update_key = ngtcp2_crypto_update_key_cb;
    cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    return cb;
  }
};

int VerifyPeerCertificate(gnutls_session_t session) {
  auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
  if (ref == nullptr) return GNUTLS_E_CERTIFICATE_ERROR;
  return Self(ref->user_data)->CheckPeerCertificate(session) ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
}

// ---- construction ----

QuicConnection::QuicConnection(ConnectionHost& host, const ConnectionConfig& config,
                               const asio::ip::udp::endpoint& remote, bool inbound)
    : host_(&host),
      config_(config),
      timer_(std::make_unique<asio::steady_timer>(*config.io)),
      remote_(remote),
      remote_text_(FormatHostPort(remote)),
      inbound_(inbound) {
  tx_.resize(kTxBufferBytes);
}

QuicConnection::~QuicConnection() = default;

Result<std::shared_ptr<QuicConnection>> QuicConnection::Dial(
    ConnectionHost& host, const ConnectionConfig& config, const asio::ip::udp::endpoint& remote,
    std::optional<crypto::PublicKey> expected_peer) {
  std::shared_ptr<QuicConnection> c(new QuicConnection(host, config, remote, false));
  c->expected_peer_ = expected_peer;
  ngtcp2_cid dcid, scid;
  dcid.datalen = 18;  // RFC 9000 7.2: at least 8 unpredictable bytes
  crypto::RandomFill(dcid.data, dcid.datalen);
  scid.datalen = kCidBytes;
  crypto::RandomFill(scid.data, scid.datalen);
  TOPO_RETURN_IF_ERROR(c->Init(dcid, scid, nullptr, NGTCP2_PROTO_VER_V1));
  return c;
}

Result<std::shared_ptr<QuicConnection>> QuicConnection::Accept(
    ConnectionHost& host, const ConnectionConfig& config, const asio::ip::udp::endpoint& remote,
    const ngtcp2_pkt_hd& initial) {
  std::shared_ptr<QuicConnection> c(new QuicConnection(host, config, remote, true));
  ngtcp2_cid scid;
  scid.datalen = kCidBytes;
  crypto::RandomFill(scid.data, scid.datalen);
  c->original_dcid_ = initial.dcid;
  // The client's token, if any, is not passed on: only a token the server validated may be,
  // and this endpoint issues none (no Retry, no NEW_TOKEN).
  TOPO_RETURN_IF_ERROR(c->Init(initial.scid, scid, &initial.dcid, initial.version));
  return c;
}

Status QuicConnection::Init(const ngtcp2_cid& dcid, const ngtcp2_cid& scid,
                            const ngtcp2_cid* original_dcid, uint32_t version) {
  ngtcp2_callbacks callbacks = Ngtcp2Callbacks::Make(inbound_);
  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = Now();
  settings.handshake_timeout = config_.handshake_timeout_ms * NGTCP2_MILLISECONDS;
  // Fixed windows: they are the bound on what a peer makes us buffer (no auto-tuning).
  settings.max_window = 0;
  settings.max_stream_window = 0;

  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_stream_data_bidi_local = config_.max_stream_data;
  params.initial_max_stream_data_bidi_remote = config_.max_stream_data;
  params.initial_max_stream_data_uni = 0;
  params.initial_max_data = config_.max_data;
  params.initial_max_streams_bidi = config_.max_streams_bidi;
  params.initial_max_streams_uni = 0;
  params.max_idle_timeout = config_.idle_timeout_ms * NGTCP2_MILLISECONDS;
  if (original_dcid != nullptr) params.original_dcid = *original_dcid;

  conn_ref_.get_conn = Ngtcp2Callbacks::GetConn;
  conn_ref_.user_data = this;
  auto tls = config_.tls->NewSession(inbound_, &conn_ref_);
  if (!tls.ok()) return tls.status();
  tls_ = std::move(tls).value();

  ngtcp2_path path = Path(remote_);
  ngtcp2_conn* raw = nullptr;
  int rv = inbound_ ? ngtcp2_conn_server_new(&raw, &dcid, &scid, &path, version, &callbacks,
                                             &settings, &params, nullptr, this)
                    : ngtcp2_conn_client_new(&raw, &dcid, &scid, &path, version, &callbacks,
                                             &settings, &params, nullptr, this);
  if (rv != 0) return Status::Internal(std::string("quic: ") + ngtcp2_strerror(rv));
  conn_.reset(raw);
  ngtcp2_conn_set_tls_native_handle(raw, tls_.get());
  if (config_.keep_alive_ms > 0)
    ngtcp2_conn_set_keep_alive_timeout(raw, config_.keep_alive_ms * NGTCP2_MILLISECONDS);
  return Status::Ok();
}

ngtcp2_path QuicConnection::Path(const asio::ip::udp::endpoint& remote) {
  ngtcp2_path p;
  p.local.addr = const_cast<ngtcp2_sockaddr*>(config_.local.data());
  p.local.addrlen = static_cast<ngtcp2_socklen>(config_.local.size());
  p.remote.addr = const_cast<ngtcp2_sockaddr*>(remote.data());
  p.remote.addrlen = static_cast<ngtcp2_socklen>(remote.size());
  p.user_data = nullptr;
  return p;
}

void QuicConnection::Start() {
  std::vector<ngtcp2_cid> scids(ngtcp2_conn_get_num_scid(conn_.get()));
  ngtcp2_conn_get_scid(conn_.get(), scids.data());
  for (const ngtcp2_cid& cid : scids) AddCid(cid);
  // Repeated Initials still carry the id the client chose.
  if (inbound_) AddCid(original_dcid_);
  if (!inbound_) Flush();
}

void QuicConnection::AddCid(const ngtcp2_cid& cid) {
  if (host_ == nullptr) return;
  Bytes id(cid.data, cid.data + cid.datalen);
  host_->AddCid(id, this);
  cids_.push_back(std::move(id));
}

void QuicConnection::RemoveCid(const ngtcp2_cid& cid) {
  ByteView id(cid.data, cid.datalen);
  auto it = std::find_if(cids_.begin(), cids_.end(), [&](const Bytes& b) {
    return std::equal(b.begin(), b.end(), id.begin(), id.end());
  });
  if (it == cids_.end()) return;
  if (host_) host_->RemoveCid(*it);
  cids_.erase(it);
}

// ---- the TLS side ----

bool QuicConnection::CheckPeerCertificate(gnutls_session_t session) {
  auto key = PeerDeviceKey(session);
  if (!key.ok()) {
    tls_failure_ = Status::Rejected("the peer at " + remote_text_ +
                                    " presented a bad certificate: " + key.status().message());
    return false;
  }
  if (expected_peer_ && *key != *expected_peer_) {
    tls_failure_ = Status::Rejected(
        "the peer at " + remote_text_ + " is not the device dialed: expected key " +
        HexEncodeShort(*expected_peer_) + "..., it presented " + HexEncodeShort(*key) + "...");
    return false;
  }
  peer_ = *key;
  peer_checked_ = true;
  return true;
}

int QuicConnection::OnHandshakeCompleted() {
  handshake_completed_ = true;
  std::string alpn = SelectedAlpn(tls_.get());
  if (alpn != config_.tls->alpn()) {
    tls_failure_ =
        Status::Rejected("the peer at " + remote_text_ + " does not speak " + config_.tls->alpn());
    tls_failure_alert_ = kAlertNoApplicationProtocol;
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (!peer_checked_) {  // GnuTLS requires the certificate; this is a second lock
    tls_failure_ = Status::Rejected("the peer at " + remote_text_ + " sent no certificate");
    tls_failure_alert_ = kAlertBadCertificate;
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

// ---- streams (inside ngtcp2 callbacks: record only) ----

void QuicConnection::OnStreamOpen(int64_t id) {
  streams_.try_emplace(id, config_.max_message_bytes);
  events_.push_back(Event{Event::kOpened, id, {}});
}

void QuicConnection::OnStreamData(uint32_t flags, int64_t id, ByteView data) {
  if (!violation_.empty()) return;
  auto it = streams_.try_emplace(id, config_.max_message_bytes).first;
  Stream& s = it->second;
  if (s.reset) return;
  std::vector<Bytes> messages;
  Status st = s.reader.Feed(data, messages);
  for (Bytes& m : messages) events_.push_back(Event{Event::kMessage, id, std::move(m)});
  if (!st.ok()) {
    violation_ = "stream " + std::to_string(id) + ": " + st.message();
    return;
  }
  if (flags & NGTCP2_STREAM_DATA_FLAG_FIN) {
    if (s.reader.pending_bytes() > 0) {
      violation_ = "stream " + std::to_string(id) + " ended in the middle of a message";
      return;
    }
    if (!s.local_fin) {  // the peer ended the stream: end ours after what is queued
      s.local_fin = true;
      send_order_.push_back(SendEntry{id, true});
    }
  }
}

void QuicConnection::OnAcked(int64_t id, uint64_t n) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second.reset) return;
  size_t released = it->second.send.Ack(n);
  queued_bytes_ -= released;
  if (released > 0) writable_pending_ = true;
}

void QuicConnection::OnStreamClose(int64_t id) {
  auto it = streams_.find(id);
  if (it != streams_.end()) {
    Stream& s = it->second;
    // An incomplete message never delivered: give its share of the connection window back.
    ngtcp2_conn_extend_max_offset(conn_.get(), s.reader.pending_bytes());
    if (!s.reset) queued_bytes_ -= s.send.unacked_bytes();
    streams_.erase(it);
  }
  // Keep the peer's allowance of concurrent streams constant.
  if (!ngtcp2_conn_is_local_stream(conn_.get(), id))
    ngtcp2_conn_extend_max_streams_bidi(conn_.get(), 1);
  events_.push_back(Event{Event::kClosed, id, {}});
}

void QuicConnection::ShutdownStream(int64_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second.reset) return;
  Stream& s = it->second;
  ngtcp2_conn_shutdown_stream(conn_.get(), id, kErrorNone);
  s.reset = true;
  // The send buffer stays until ngtcp2 closes the stream (it may still point into it), but
  // no longer counts as queued.
  queued_bytes_ -= s.send.unacked_bytes();
  ngtcp2_conn_extend_max_offset(conn_.get(), s.reader.pending_bytes());
  s.reader.Reset();
}

// ---- the owner's API ----

Result<int64_t> QuicConnection::OpenStream() {
  if (phase_ != Phase::kOpen) return Status::IOError("the connection is closed");
  int64_t id = -1;
  int rv = ngtcp2_conn_open_bidi_stream(conn_.get(), &id, nullptr);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
    return Status::Rejected("the peer allows no more open streams now; close one first");
  if (rv != 0) return Status::Internal(std::string("quic: ") + ngtcp2_strerror(rv));
  streams_.try_emplace(id, config_.max_message_bytes);
  return id;
}

Status QuicConnection::Send(int64_t stream, ByteView message) {
  if (phase_ != Phase::kOpen) return Status::IOError("the connection is closed");
  if (message.size() > config_.max_message_bytes)
    return Status::InvalidArgument("a message of " + std::to_string(message.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(config_.max_message_bytes));
  auto it = streams_.find(stream);
  if (it == streams_.end())
    return Status::NotFound("no stream " + std::to_string(stream) + " on this connection");
  if (it->second.local_fin || it->second.reset)
    return Status::IOError("stream " + std::to_string(stream) + " is closed");
  size_t framed = kFrameHeaderBytes + message.size();
  if (queued_bytes_ + framed > config_.max_queued_bytes)
    return Status::Rejected("the send queue is full (" + std::to_string(queued_bytes_) +
                            " bytes not yet acknowledged)");
  it->second.send.Push(message);
  queued_bytes_ += framed;
  send_order_.push_back(SendEntry{stream, false});
  ScheduleFlush();
  return Status::Ok();
}

Status QuicConnection::CloseStream(int64_t stream) {
  if (phase_ != Phase::kOpen) return Status::IOError("the connection is closed");
  auto it = streams_.find(stream);
  if (it == streams_.end())
    return Status::NotFound("no stream " + std::to_string(stream) + " on this connection");
  if (it->second.local_fin || it->second.reset) return Status::Ok();
  it->second.local_fin = true;
  send_order_.push_back(SendEntry{stream, true});
  ScheduleFlush();
  return Status::Ok();
}

void QuicConnection::Close(uint64_t app_error, std::string reason) {
  if (phase_ != Phase::kHandshake && phase_ != Phase::kOpen) return;
  if (reason.size() > kMaxReasonBytes) reason.resize(kMaxReasonBytes);
  Flush();  // what the windows allow goes out before the close
  if (phase_ != Phase::kHandshake && phase_ != Phase::kOpen) return;
  std::string shown = reason.empty() ? "no reason given" : reason;
  CloseApplication(app_error, reason,
                   Status::IOError("closed by us: " + shown + " " + ErrorCode(app_error)));
}

void QuicConnection::CloseForShutdown() {
  if (phase_ == Phase::kHandshake && !inbound_) {
    // A dial still in its handshake: the caller hears that the endpoint stopped.
    ngtcp2_connection_close_error ccerr;
    std::string reason = "endpoint stopping";
    ngtcp2_connection_close_error_set_application_error(
        &ccerr, kErrorShuttingDown, reinterpret_cast<const uint8_t*>(reason.data()), reason.size());
    close_info_ = CloseInfo{true, false, true, kErrorShuttingDown, reason};
    StartClosing(ccerr, Status::IOError("the endpoint stopped before the handshake finished"));
    return;
  }
  Close(kErrorShuttingDown, "endpoint stopping");
}

// ---- input ----

void QuicConnection::Receive(const asio::ip::udp::endpoint& from, ByteView datagram) {
  auto self = shared_from_this();
  if (phase_ == Phase::kClosing) {
    // RFC 9000 10.2.1: answer stragglers with the close again, a bounded number of times.
    if (close_resends_ < kMaxCloseResends && host_ != nullptr && !close_packet_.empty()) {
      ++close_resends_;
      host_->SendDatagram(close_to_, close_packet_);
    }
    return;
  }
  if (phase_ != Phase::kHandshake && phase_ != Phase::kOpen) return;
  ngtcp2_path path = Path(from);
  int rv =
      ngtcp2_conn_read_pkt(conn_.get(), &path, nullptr, datagram.data(), datagram.size(), Now());
  if (rv != 0) {
    OnReadError(rv);
    return;
  }
  AfterInput();
}

void QuicConnection::AfterInput() {
  auto self = shared_from_this();
  if (phase_ == Phase::kHandshake) {
    if (inbound_ && handshake_completed_) {
      if (host_ == nullptr || !host_->Admit(peer_)) {
        CloseApplication(
            kErrorRefused, "not admitted",
            Status::PermissionDenied("refused " + HexEncodeShort(peer_) + "...: not admitted"));
        return;
      }
      if (phase_ != Phase::kHandshake) return;  // admit stopped the endpoint
      phase_ = Phase::kOpen;
      opened_ = true;
      host_->Opened(self);
    } else if (!inbound_ && handshake_confirmed_) {
      phase_ = Phase::kOpen;
      opened_ = true;
      if (host_) host_->Opened(self);
      ConnectDone done = std::move(connect_done_);
      connect_done_ = nullptr;
      if (done) done(std::shared_ptr<Connection>(self));
    }
  }
  if (phase_ != Phase::kHandshake && phase_ != Phase::kOpen) return;
  for (int64_t id : std::exchange(streams_to_shut_, {})) ShutdownStream(id);
  if (!violation_.empty()) {
    Dispatch();  // the messages that came whole before it
    if (phase_ != Phase::kHandshake && phase_ != Phase::kOpen) return;
    std::string why = violation_;
    CloseApplication(kErrorProtocol, why,
                     Status::Rejected("protocol violation by the peer: " + why));
    return;
  }
  Dispatch();
  Flush();
}

void QuicConnection::Dispatch(bool last) {
  auto self = shared_from_this();
  while (!events_.empty() && (phase_ == Phase::kOpen || (last && opened_ && conn_))) {
    Event e = std::move(events_.front());
    events_.pop_front();
    switch (e.kind) {
      case Event::kMessage: {
        // The window comes back only now: what a peer makes us hold is bounded by it.
        uint64_t credit = kFrameHeaderBytes + e.message.size();
        ngtcp2_conn_extend_max_stream_offset(conn_.get(), e.stream, credit);
        ngtcp2_conn_extend_max_offset(conn_.get(), credit);
        if (on_message) on_message(e.stream, std::move(e.message));
        break;
      }
      case Event::kOpened:
        if (on_stream_opened_by_peer) on_stream_opened_by_peer(e.stream);
        break;
      case Event::kClosed:
        if (on_stream_closed) on_stream_closed(e.stream);
        break;
    }
  }
  if (phase_ == Phase::kOpen && writable_pending_) {
    writable_pending_ = false;
    if (on_writable) on_writable();
  }
}

void QuicConnection::OnReadError(int rv) {
  switch (rv) {
    case NGTCP2_ERR_DRAINING:
      // What arrived before the close is still delivered, to an owner who can no longer
      // send or close (the phase says so already).
      phase_ = Phase::kDraining;
      Dispatch(/*last=*/true);
      EnterDraining();
      return;
    case NGTCP2_ERR_DROP_CONN:
    case NGTCP2_ERR_RETRY:
      phase_ = Phase::kGone;
      close_info_ = CloseInfo{true, false, false, 0, "dropped"};
      Notify(Status::IOError("the connection to " + remote_text_ + " was dropped"));
      Finish();
      return;
    case NGTCP2_ERR_RECV_VERSION_NEGOTIATION:
      phase_ = Phase::kGone;
      close_info_ = CloseInfo{true, true, false, 0, "version negotiation"};
      Notify(Status::IOError("the peer at " + remote_text_ + " does not speak QUIC v1"));
      Finish();
      return;
    default:
      CloseWithError(rv);
  }
}

// ---- output ----

void QuicConnection::Flush() {
  if (!conn_ || (phase_ != Phase::kHandshake && phase_ != Phase::kOpen)) return;
  ngtcp2_conn* conn = conn_.get();
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  ngtcp2_tstamp ts = Now();
  size_t mtu = std::max<size_t>(1, ngtcp2_conn_get_max_tx_udp_payload_size(conn));
  size_t max_packets =
      std::clamp<size_t>(ngtcp2_conn_get_send_quantum(conn) / mtu, 1, kMaxPacketsPerFlush);
  bool blocked = false;  // the head message waits for flow control: nothing after it goes
  bool more = false;
  size_t packets = 0;
  for (;;) {
    int64_t stream_id = -1;
    ngtcp2_vec vec{nullptr, 0};
    size_t vcnt = 0;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    bool fin = false;
    while (phase_ == Phase::kOpen && !blocked && !send_order_.empty()) {
      const SendEntry& head = send_order_.front();
      auto it = streams_.find(head.stream);
      if (it == streams_.end() || it->second.reset) {
        send_order_.pop_front();
        continue;
      }
      if (head.fin) {
        stream_id = head.stream;
        fin = true;
        flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
        break;
      }
      ByteView unsent = it->second.send.Unsent();
      if (unsent.empty()) {
        send_order_.pop_front();
        continue;
      }
      stream_id = head.stream;
      vec.base = const_cast<uint8_t*>(unsent.data());
      vec.len = unsent.size();
      vcnt = 1;
      break;
    }
    ngtcp2_ssize taken = -1;
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(conn, &ps.path, &pi, tx_.data(), tx_.size(), &taken,
                                               flags, stream_id, vcnt ? &vec : nullptr, vcnt, ts);
    if (n < 0) {
      if (n == NGTCP2_ERR_WRITE_MORE) {
        Consumed(stream_id, taken, fin);
        continue;
      }
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
        blocked = true;
        continue;
      }
      if (n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND) {
        // Gone at ngtcp2 (reset under us): its queue no longer counts, its entries are skipped.
        auto it = streams_.find(stream_id);
        if (it != streams_.end() && !it->second.reset) {
          queued_bytes_ -= it->second.send.unacked_bytes();
          it->second.reset = true;
        }
        continue;
      }
      CloseWithError(static_cast<int>(n));
      return;
    }
    if (stream_id >= 0 && taken >= 0) Consumed(stream_id, taken, fin);
    if (n == 0) break;
    if (host_)
      host_->SendDatagram(ToEndpoint(ps.path.remote), ByteView(tx_.data(), static_cast<size_t>(n)));
    if (++packets >= max_packets) {
      more = true;
      break;
    }
  }
  // Pacing only on paths whose minimum RTT says they cross a network (kPacedMinRtt): there a
  // burst may overflow a router's queue. On loopback and a LAN what is in flight stays
  // bounded by the congestion window, sent as the ACKs clock it, as TCP without a pacing
  // qdisc does. ngtcp2 0.12 paces at cwnd / smoothed RTT, and a peer that pauses to commit a
  // batch of vertices leaves our packets in its socket buffer meanwhile, which counts as RTT:
  // after such a pause the smoothed RTT was 10 to 700 ms on loopback (minimum 0.1 ms), and
  // the pacing let through 64 KB per 0.8 of it, so both daemons of a sync sat idle a tenth
  // of the time (docs/PERFORMANCE.md, "Sync between daemons").
  ngtcp2_conn_stat cstat;
  ngtcp2_conn_get_conn_stat(conn, &cstat);
  if (cstat.min_rtt >= kPacedMinRtt) ngtcp2_conn_update_pkt_tx_time(conn, ts);
  if (more) ScheduleFlush();
  ArmTimer();
}

void QuicConnection::Consumed(int64_t stream, ngtcp2_ssize n, bool fin) {
  if (send_order_.empty() || send_order_.front().stream != stream || n < 0) return;
  if (fin) {
    send_order_.pop_front();
    return;
  }
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  if (it->second.send.Consume(static_cast<size_t>(n))) send_order_.pop_front();
}

void QuicConnection::ScheduleFlush() {
  if (flush_posted_ || phase_ == Phase::kGone) return;
  flush_posted_ = true;
  asio::post(*config_.io, [w = weak_from_this()] {
    if (auto self = w.lock()) {
      self->flush_posted_ = false;
      self->Flush();
    }
  });
}

void QuicConnection::ArmTimer() {
  if (!conn_ || !timer_) return;
  ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn_.get());
  // A wait that ends no later than the new expiry is kept: it fires early, ngtcp2 finds
  // nothing due, and OnTimer arms again. The expiry moves with almost every packet (ack
  // delay, loss detection), and re-arming the timer cost a timerfd_settime system call each
  // time, 5% of a syncing receiver's loop thread.
  if (expiry >= armed_expiry_) return;
  armed_expiry_ = expiry;
  timer_->expires_at(std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::nanoseconds(expiry))));
  timer_->async_wait([w = weak_from_this()](const std::error_code& ec) {
    if (ec) return;
    if (auto self = w.lock()) self->OnTimer();
  });
}

void QuicConnection::OnTimer() {
  auto self = shared_from_this();
  armed_expiry_ = UINT64_MAX;
  if (phase_ == Phase::kClosing || phase_ == Phase::kDraining) {
    Finish();
    return;
  }
  if (!conn_ || (phase_ != Phase::kHandshake && phase_ != Phase::kOpen)) return;
  int rv = ngtcp2_conn_handle_expiry(conn_.get(), Now());
  if (rv == NGTCP2_ERR_IDLE_CLOSE) {
    phase_ = Phase::kGone;
    close_info_ = CloseInfo{true, false, false, 0, "idle timeout"};
    Notify(Status::IOError("idle timeout: nothing from " + remote_text_ + " for " +
                           std::to_string(config_.idle_timeout_ms) + " ms"));
    Finish();
    return;
  }
  if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    phase_ = Phase::kGone;
    close_info_ = CloseInfo{true, false, false, 0, "handshake timeout"};
    Notify(Status::IOError("the handshake with " + remote_text_ + " timed out after " +
                           std::to_string(config_.handshake_timeout_ms) + " ms"));
    Finish();
    return;
  }
  if (rv != 0) {
    CloseWithError(rv);
    return;
  }
  Flush();
}

// ---- closing ----

void QuicConnection::CloseWithError(int rv) {
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  Status why;
  if (rv == NGTCP2_ERR_CRYPTO || !tls_failure_.ok()) {
    uint8_t alert =
        tls_failure_alert_ ? tls_failure_alert_ : ngtcp2_conn_get_tls_alert(conn_.get());
    if (alert == 0) alert = kAlertBadCertificate;
    ngtcp2_connection_close_error_set_transport_error_tls_alert(&ccerr, alert, nullptr, 0);
    why = tls_failure_.ok() ? Status::IOError("the TLS handshake with " + remote_text_ +
                                              " failed: " + AlertName(alert))
                            : tls_failure_;
  } else {
    ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, rv, nullptr, 0);
    why = Status::IOError("QUIC error with " + remote_text_ + ": " + ngtcp2_strerror(rv));
  }
  close_info_ = CloseInfo{true, false, false, ccerr.error_code, why.message()};
  StartClosing(ccerr, why);
}

void QuicConnection::CloseApplication(uint64_t code, const std::string& reason, Status why) {
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_set_application_error(
      &ccerr, code, reinterpret_cast<const uint8_t*>(reason.data()), reason.size());
  close_info_ = CloseInfo{true, false, true, code, reason};
  StartClosing(ccerr, std::move(why));
}

void QuicConnection::StartClosing(const ngtcp2_connection_close_error& ccerr, Status why) {
  if (!conn_ || (phase_ != Phase::kHandshake && phase_ != Phase::kOpen)) return;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(conn_.get(), &ps.path, &pi, tx_.data(),
                                                      tx_.size(), &ccerr, Now());
  if (n > 0) {
    close_packet_.assign(tx_.data(), tx_.data() + n);
    close_to_ = ToEndpoint(ps.path.remote);
    if (host_) host_->SendDatagram(close_to_, close_packet_);
    phase_ = Phase::kClosing;
  } else {
    phase_ = Phase::kDraining;  // nothing to repeat: just wait out the period
  }
  ArmClosingTimer();
  Notify(std::move(why));
}

void QuicConnection::EnterDraining() {
  ngtcp2_connection_close_error ccerr;
  ngtcp2_conn_get_connection_close_error(conn_.get(), &ccerr);
  std::string reason = Printable(ccerr.reason, ccerr.reasonlen);
  bool application = ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION;
  close_info_ = CloseInfo{true, true, application, ccerr.error_code, reason};
  std::string shown = reason.empty() ? "no reason given" : reason;
  Status why;
  if (application && ccerr.error_code == kErrorRefused) {
    why = Status::PermissionDenied("the peer at " + remote_text_ + " refused us: " + shown);
  } else if (application) {
    why = Status::IOError("closed by the peer: " + shown + " " + ErrorCode(ccerr.error_code));
  } else if ((ccerr.error_code & ~uint64_t{0xff}) == NGTCP2_CRYPTO_ERROR) {
    why = Status::IOError("the peer at " + remote_text_ + " aborted the TLS handshake: " +
                          AlertName(static_cast<uint8_t>(ccerr.error_code & 0xff)));
  } else {
    why =
        Status::IOError("the peer at " + remote_text_ + " closed the connection: transport error " +
                        std::to_string(ccerr.error_code) + (reason.empty() ? "" : ", " + reason));
  }
  phase_ = Phase::kDraining;
  ArmClosingTimer();
  Notify(std::move(why));
}

void QuicConnection::ArmClosingTimer() {
  if (!timer_) return;
  ngtcp2_duration pto = conn_ ? ngtcp2_conn_get_pto(conn_.get()) : NGTCP2_SECONDS;
  armed_expiry_ = 0;  // not an ngtcp2 expiry
  timer_->expires_after(std::chrono::nanoseconds(3 * pto));
  timer_->async_wait([w = weak_from_this()](const std::error_code& ec) {
    if (ec) return;
    if (auto self = w.lock()) self->OnTimer();
  });
}

void QuicConnection::Notify(Status why) {
  if (notified_) return;
  notified_ = true;
  close_info_.closed = true;
  // A first packet that never became a handshake is not a failed handshake (Discard).
  if (!opened_ && host_ != nullptr && (!inbound_ || crypto_progress_))
    host_->HandshakeFailed(*this);
  asio::post(*config_.io, [self = shared_from_this(), why = std::move(why)] {
    if (self->opened_) {
      if (self->on_closed) self->on_closed(why);
    } else if (self->connect_done_) {
      ConnectDone done = std::move(self->connect_done_);
      self->connect_done_ = nullptr;
      done(why);
    }
  });
}

void QuicConnection::Finish() {
  if (finished_) return;
  finished_ = true;
  auto self = shared_from_this();  // the host drops its reference below
  phase_ = Phase::kGone;
  if (host_ != nullptr) {
    for (const Bytes& id : cids_) host_->RemoveCid(id);
    host_->Finished(*this);
    host_ = nullptr;
  }
  cids_.clear();
  Release();
  // After the close notification (posted earlier, so it runs first): drop the callbacks,
  // which may hold this connection.
  asio::post(*config_.io, [self] { self->ClearCallbacks(); });
}

void QuicConnection::Discard() {
  notified_ = true;  // the owner never heard of it
  Finish();
}

void QuicConnection::Abandon() {
  finished_ = notified_ = true;
  phase_ = Phase::kGone;
  host_ = nullptr;
  cids_.clear();
  if (!close_info_.closed) close_info_ = CloseInfo{true, false, false, 0, "endpoint gone"};
  Release();
  connect_done_ = nullptr;
  ClearCallbacks();
}

void QuicConnection::Release() {
  timer_.reset();  // cancels its wait
  conn_.reset();   // before the TLS session it uses
  tls_.reset();
  events_.clear();
  send_order_.clear();
  streams_.clear();
  queued_bytes_ = 0;
}

void QuicConnection::ClearCallbacks() {
  on_message = nullptr;
  on_stream_opened_by_peer = nullptr;
  on_stream_closed = nullptr;
  on_writable = nullptr;
  on_closed = nullptr;
}

}  // namespace topo::net
