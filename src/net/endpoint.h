// The QUIC endpoint: one UDP socket that both accepts connections and dials them, speaking
// QUIC v1 (ngtcp2) with TLS 1.3 (GnuTLS), ALPN "topo/1", and whole messages on
// bidirectional streams. docs/PROTOCOL.md section 13 ("Transport") has the wire details.
//
//   EndpointOptions o;
//   o.bind = "0.0.0.0:0";
//   o.identity = device_key.Clone();
//   o.admit = [&](const crypto::PublicKey& peer) { return members.contains(peer); };
//   auto ep = Endpoint::Make(io, std::move(o));
//   (*ep)->on_connection = [&](std::shared_ptr<Connection> c) { c->on_message = ...; };
//   (*ep)->Connect("192.0.2.7:4433", their_key, [&](Result<std::shared_ptr<Connection>> c) {
//     if (c.ok()) { auto s = (*c)->OpenStream(); (*c)->Send(*s, AsBytes("hello")); }
//   });
//
// Identity. Each side presents a self-signed certificate made from its device key
// (net/certificate.h) and proves it holds the key in the TLS handshake. No CA is consulted:
// a dialer names the key it expects and the handshake fails unless the peer presents
// exactly that key; an accepting endpoint asks `admit` about every peer key once the
// handshake is done, and closes the connection with kErrorRefused when it says no. Nothing
// from a peer is delivered before its key has passed.
//
// Threading. Everything runs on the io_context passed to Make, which the caller runs on one
// thread; every method must be called on that thread, and every callback runs there. No
// callback runs inside another call into this API: callbacks are invoked from the event
// loop, or (on_connection, Connect's done on success, on_message and friends) right after
// the datagram that caused them was processed. A callback may call any method, including
// Close and Stop, but must not destroy the Endpoint.
//
// Lifetime. Connections are shared: the endpoint holds each one while it is open (and for
// its closing period); the owner may keep its own shared_ptr as long as it likes. A closed
// connection is an inert shell: peer(), remote_address() and close_info() still answer,
// everything else fails or does nothing. The endpoint drops a connection's callbacks after
// on_closed has run, so a callback that captures its own shared_ptr does not leak.
// Destroying the Endpoint without Stop drops every connection at once, silently (no
// packets, no callbacks).
#pragma once

#include <asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::net {

// Application error codes carried by CONNECTION_CLOSE frames (docs/PROTOCOL.md 13).
constexpr uint64_t kErrorNone = 0;          // a normal close
constexpr uint64_t kErrorRefused = 1;       // the accepting side's admit said no
constexpr uint64_t kErrorProtocol = 2;      // a framing violation (oversized message, ...)
constexpr uint64_t kErrorShuttingDown = 3;  // the endpoint is stopping
// Codes from here up belong to the layers above (the node).
constexpr uint64_t kFirstNodeError = 0x100;

constexpr char kAlpn[] = "topo/1";

struct EndpointOptions {
  // "HOST:PORT", numeric: "0.0.0.0:4433", "127.0.0.1:0", "[::]:0", "[::1]:0". Port 0 asks
  // the kernel for a free port (see Endpoint::local_address). An IPv6 socket also takes
  // IPv4 peers where the system allows it (IPv4-mapped addresses).
  std::string bind = "127.0.0.1:0";
  // The device key: its certificate is made from it at start (the endpoint keeps only
  // GnuTLS's copy, wiped when the endpoint goes). Required.
  std::optional<crypto::SigningKey> identity;
  // Decides every inbound peer after its handshake. Unset: every inbound connection is
  // refused (an endpoint that only dials).
  std::function<bool(const crypto::PublicKey& peer)> admit;

  // A connection silent this long closes (QUIC max_idle_timeout; the smaller of the two
  // sides' values applies).
  uint64_t idle_timeout_ms = 30'000;
  uint64_t keep_alive_ms = 10'000;  // send a PING after this much quiet; 0 = never
  uint64_t handshake_timeout_ms = 10'000;

  // Largest message either way. A peer's message over this closes the connection with
  // kErrorProtocol, detected from its length before any of it is kept. Both ends must use
  // the same value (the node uses the default).
  size_t max_message_bytes = 8 << 20;
  // Receive windows (QUIC initial_max_stream_data_*, initial_max_data). The window is given
  // back as messages are delivered, so this is also the most a peer can make us buffer:
  // max_data per connection. Make refuses a max_stream_data below max_message_bytes + 4
  // or a max_data below max_stream_data.
  uint64_t max_stream_data = 9 << 20;
  uint64_t max_data = 16 << 20;
  // Streams each peer may have open at once (both directions; QUIC initial_max_streams_bidi).
  uint64_t max_streams_bidi = 16;
  // Send() refuses a message that would queue more than this on one connection.
  size_t max_queued_bytes = 64 << 20;

  size_t max_connections = 256;        // all states together; more inbound are dropped
  size_t max_half_open = 64;           // inbound handshakes in progress
  size_t max_half_open_per_host = 16;  // the same from one IP address

  // The application protocol. Leave it: a peer with another is refused. Tests change it.
  std::string alpn = kAlpn;
};

// How a connection ended.
struct CloseInfo {
  bool closed = false;
  bool by_peer = false;      // the peer sent the close; otherwise we closed or timed out
  bool application = false;  // an application error code (the constants above); else QUIC/TLS
  uint64_t code = 0;
  std::string reason;
};

class Connection {
 public:
  virtual ~Connection() = default;

  // The peer's device key, checked in the handshake (dialed or admitted).
  virtual const crypto::PublicKey& peer() const = 0;
  // True when the peer dialed us.
  virtual bool inbound() const = 0;
  // "127.0.0.1:43211" / "[::1]:43211": where the connection started.
  virtual const std::string& remote_address() const = 0;
  // Handshake done (and admitted), not yet closed.
  virtual bool is_open() const = 0;

  // Opens a bidirectional stream. Fails while the peer's stream limit is reached (streams
  // count until both sides have closed them).
  virtual Result<int64_t> OpenStream() = 0;
  // Queues one message on a stream this side opened or the peer opened. Messages arrive
  // whole, in order per stream. Across the streams of a connection they are sent in the
  // order of the Send calls, each completely before the next: a large message delays the
  // ones queued after it on other streams (this is what keeps the receive windows free of
  // deadlock; docs/PROTOCOL.md). Fails when the message is over max_message_bytes, the queue
  // is over max_queued_bytes, the stream is closed or unknown, or the connection is closed.
  virtual Status Send(int64_t stream, ByteView message) = 0;
  // Ends a stream after the messages already queued on it. The peer's side ends it too
  // once it sees the end; Send on it then fails. The stream's slot is freed when both ends
  // are done (on_stream_closed).
  virtual Status CloseStream(int64_t stream) = 0;
  // Bytes queued (framing included) that the peer has not yet acknowledged.
  virtual size_t queued_bytes() const = 0;
  // Closes at once with an application error code and a reason (up to 1,024 bytes) that
  // the peer's on_closed sees. Queued messages not yet acknowledged may be lost: wait for
  // queued_bytes() == 0 first to be sure they arrived. on_closed follows (from the loop).
  virtual void Close(uint64_t app_error, std::string reason) = 0;
  // Valid once closed.
  virtual const CloseInfo& close_info() const = 0;

  // Callbacks, set by the owner (on_connection or Connect's done are the places: nothing is
  // delivered before those return).
  // A whole message; the owner may keep the bytes.
  std::function<void(int64_t stream, Bytes message)> on_message;
  std::function<void(int64_t stream)> on_stream_opened_by_peer;
  // Both ends finished the stream, or it was reset; its id is not reused.
  std::function<void(int64_t stream)> on_stream_closed;
  // Sending can progress again: acknowledgements made queued_bytes() fall, or the peer
  // allowed more streams (OpenStream may succeed). At most once per datagram processed.
  std::function<void()> on_writable;
  // The connection ended: closed by us or the peer (with its reason), idle timeout, an
  // error. Called once, only for connections that were handed out as open.
  std::function<void(const Status& why)> on_closed;
};

class Endpoint {
 public:
  // Binds the socket and makes the certificate. Errors: bad options, a bind that fails.
  static Result<std::unique_ptr<Endpoint>> Make(asio::io_context& io, EndpointOptions options);
  virtual ~Endpoint() = default;

  // The bound address with the real port: "127.0.0.1:43211", "[::1]:43211".
  virtual std::string local_address() const = 0;
  virtual const crypto::PublicKey& identity() const = 0;

  // Dials `host_port` (numeric, as in EndpointOptions::bind, same address family as the
  // bound socket) and calls `done` once: with the open connection after the handshake, or
  // with why not: handshake timeout, the peer presenting another key than
  // `expected_peer` (kRejected), the peer refusing us (kPermissionDenied), TLS or ALPN
  // failure, the endpoint stopping. `done` never runs inside this call.
  // Without `expected_peer` (an address the operator gave without a key) any key passes the
  // handshake: the caller decides what the peer it reached may do (Connection::peer()).
  virtual void Connect(const std::string& host_port, std::optional<crypto::PublicKey> expected_peer,
                       std::function<void(Result<std::shared_ptr<Connection>>)> done) = 0;

  // An inbound connection finished its handshake and was admitted.
  std::function<void(std::shared_ptr<Connection>)> on_connection;

  // Closes every connection with kErrorShuttingDown ("endpoint stopping"), fails pending
  // Connects, closes the socket, then calls `done` (from the loop, after the connections'
  // on_closed). Connect after Stop fails.
  virtual void Stop(std::function<void()> done) = 0;

  struct Stats {
    uint64_t datagrams_in = 0;
    uint64_t datagrams_out = 0;
    uint64_t datagrams_dropped = 0;  // received and ignored: malformed, unknown, over a limit
    uint64_t send_errors = 0;        // datagrams the socket would not take
    uint64_t handshakes_failed = 0;  // either direction, including refusals
    uint64_t handshakes_in_progress = 0;
    uint64_t connections_open = 0;
  };
  virtual Stats stats() const = 0;
};

}  // namespace topo::net
