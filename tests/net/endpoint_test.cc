// The QUIC endpoint over loopback: handshakes with pinned keys, messages both ways, limits,
// timeouts, closing and stopping. Every test runs its loop with a deadline.
#include "net/endpoint.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "net_test_util.h"
#include "util/encoding.h"

namespace topo::net {
namespace {

using namespace testing;

// What one side of a connection saw.
struct Inbox {
  std::map<int64_t, std::vector<Bytes>> messages;
  std::vector<int64_t> opened_by_peer;
  std::vector<int64_t> closed_streams;
  std::optional<Status> closed;
  size_t count = 0;
  size_t writable = 0;

  void Attach(Connection& c) {
    c.on_message = [this](int64_t s, Bytes m) {
      messages[s].push_back(std::move(m));
      ++count;
    };
    c.on_stream_opened_by_peer = [this](int64_t s) { opened_by_peer.push_back(s); };
    c.on_stream_closed = [this](int64_t s) { closed_streams.push_back(s); };
    c.on_writable = [this] { ++writable; };
    c.on_closed = [this](const Status& why) { closed = why; };
  }
};

// A server endpoint that keeps what it accepts, each with an inbox.
struct Server {
  std::unique_ptr<Endpoint> ep;
  std::vector<std::shared_ptr<Connection>> accepted;
  std::vector<std::unique_ptr<Inbox>> inboxes;

  Server(Loop& loop, EndpointOptions o) : ep(MakeEndpoint(loop, std::move(o))) {
    if (!ep) return;
    ep->on_connection = [this](std::shared_ptr<Connection> c) {
      inboxes.push_back(std::make_unique<Inbox>());
      inboxes.back()->Attach(*c);
      accepted.push_back(std::move(c));
    };
  }
};

Bytes Text(const std::string& s) { return ToBytes(s); }

TEST(Endpoint, HandshakeAndMessagesBothWays) {
  Loop loop;
  Server server(loop, TestOptions(1));
  auto client = MakeEndpoint(loop, TestOptions(2));
  ASSERT_TRUE(server.ep && client);
  EXPECT_NE(server.ep->local_address().find("127.0.0.1:"), std::string::npos);

  auto dialed = Dial(loop, *client, *server.ep);
  ASSERT_TRUE(dialed.ok()) << dialed.status().ToString();
  std::shared_ptr<Connection> c = *dialed;
  Inbox client_inbox;
  client_inbox.Attach(*c);
  EXPECT_EQ(c->peer(), server.ep->identity());
  EXPECT_FALSE(c->inbound());
  EXPECT_EQ(c->remote_address(), server.ep->local_address());

  auto stream = c->OpenStream();
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ASSERT_TRUE(c->Send(*stream, Text("hello")).ok());
  ASSERT_TRUE(
      loop.RunUntil([&] { return !server.inboxes.empty() && server.inboxes[0]->count == 1; }));
  std::shared_ptr<Connection> s = server.accepted[0];
  Inbox& server_inbox = *server.inboxes[0];
  EXPECT_TRUE(s->inbound());
  EXPECT_EQ(s->peer(), client->identity());
  EXPECT_EQ(s->remote_address(), client->local_address());
  EXPECT_EQ(server_inbox.opened_by_peer, std::vector<int64_t>{*stream});
  EXPECT_EQ(server_inbox.messages[*stream][0], Text("hello"));

  // The answer on the same stream, then a stream the server opens.
  ASSERT_TRUE(s->Send(*stream, Text("world")).ok());
  auto back = s->OpenStream();
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(s->Send(*back, Text("from the server")).ok());
  ASSERT_TRUE(s->Send(*back, Bytes()).ok());  // an empty message is a message
  ASSERT_TRUE(loop.RunUntil([&] { return client_inbox.count == 3; }));
  EXPECT_EQ(client_inbox.messages[*stream], std::vector<Bytes>{Text("world")});
  EXPECT_EQ(client_inbox.messages[*back], (std::vector<Bytes>{Text("from the server"), Bytes()}));
  EXPECT_EQ(client_inbox.opened_by_peer, std::vector<int64_t>{*back});
  ASSERT_TRUE(loop.RunUntil([&] { return c->queued_bytes() == 0 && s->queued_bytes() == 0; }));
  EXPECT_GT(client_inbox.writable, 0u);

  EXPECT_EQ(server.ep->stats().connections_open, 1u);
  EXPECT_EQ(client->stats().connections_open, 1u);
  EXPECT_EQ(server.ep->stats().handshakes_failed, 0u);
  StopAndWait(loop, *client);
  StopAndWait(loop, *server.ep);
}

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// A connected pair on loopback, with inboxes on both sides.
struct Pair {
  Loop& loop;
  Server server;
  std::unique_ptr<Endpoint> client_ep;
  std::shared_ptr<Connection> client;
  Inbox client_inbox;

  Pair(Loop& l, EndpointOptions server_options, EndpointOptions client_options)
      : loop(l),
        server(l, std::move(server_options)),
        client_ep(MakeEndpoint(l, std::move(client_options))) {
    if (!server.ep || !client_ep) return;
    auto dialed = Dial(loop, *client_ep, *server.ep);
    EXPECT_TRUE(dialed.ok()) << dialed.status().ToString();
    if (!dialed.ok()) return;
    client = *dialed;
    client_inbox.Attach(*client);
    EXPECT_TRUE(loop.RunUntil([&] { return !server.accepted.empty(); }));
  }
  explicit Pair(Loop& l) : Pair(l, TestOptions(1), TestOptions(2)) {}
  bool ok() const { return client && !server.accepted.empty(); }
  Connection& accepted() { return *server.accepted[0]; }
  Inbox& server_inbox() { return *server.inboxes[0]; }
};

TEST(Endpoint, ManyMessagesAndALargeOneArriveWholeAndInOrder) {
  Loop loop;
  Pair p(loop);
  ASSERT_TRUE(p.ok());
  std::mt19937_64 rng(7);
  std::vector<int64_t> streams;
  for (int i = 0; i < 3; ++i) streams.push_back(*p.client->OpenStream());
  std::map<int64_t, std::vector<Bytes>> sent;
  size_t total = 0;
  for (int i = 0; i < 2000; ++i) {
    int64_t s = streams[rng() % streams.size()];
    Bytes m = RandomBytes(rng, rng() % 8192);
    ASSERT_TRUE(p.client->Send(s, m).ok());
    sent[s].push_back(std::move(m));
    ++total;
    if (i == 1000) {  // one large message in the middle of the others
      Bytes large = RandomBytes(rng, 4 << 20);
      ASSERT_TRUE(p.client->Send(streams[0], large).ok());
      sent[streams[0]].push_back(std::move(large));
      ++total;
    }
  }
  ASSERT_TRUE(loop.RunUntil([&] { return p.server_inbox().count == total; }, 60s))
      << p.server_inbox().count << " of " << total;
  EXPECT_EQ(p.server_inbox().messages, sent);
  ASSERT_TRUE(loop.RunUntil([&] { return p.client->queued_bytes() == 0; }));
  EXPECT_GT(p.client_inbox.writable, 0u);
}

TEST(Endpoint, ADialerThatPinsAnotherKeyIsRefused) {
  Loop loop;
  Server server(loop, TestOptions(1));
  auto client = MakeEndpoint(loop, TestOptions(2));
  ASSERT_TRUE(server.ep && client);
  crypto::PublicKey someone_else = KeyNumber(3).public_key();
  auto dialed = Dial(loop, *client, server.ep->local_address(), someone_else);
  ASSERT_FALSE(dialed.ok());
  EXPECT_EQ(dialed.status().code(), Code::kRejected) << dialed.status().ToString();
  EXPECT_NE(dialed.status().message().find("is not the device dialed"), std::string::npos)
      << dialed.status().message();
  EXPECT_NE(dialed.status().message().find(HexEncodeShort(someone_else)), std::string::npos);
  // The server never handed out a connection and counts the failure.
  ASSERT_TRUE(loop.RunUntil([&] { return server.ep->stats().handshakes_failed == 1; }));
  EXPECT_TRUE(server.accepted.empty());
  EXPECT_EQ(client->stats().handshakes_failed, 1u);
  EXPECT_EQ(server.ep->stats().connections_open, 0u);
}

TEST(Endpoint, AnAcceptorThatDoesNotAdmitRefusesTheDialer) {
  Loop loop;
  std::vector<crypto::PublicKey> asked;
  EndpointOptions so = TestOptions(1);
  so.admit = [&](const crypto::PublicKey& peer) {
    asked.push_back(peer);
    return false;
  };
  Server server(loop, std::move(so));
  auto client = MakeEndpoint(loop, TestOptions(2));
  ASSERT_TRUE(server.ep && client);
  auto dialed = Dial(loop, *client, *server.ep);
  ASSERT_FALSE(dialed.ok());
  EXPECT_EQ(dialed.status().code(), Code::kPermissionDenied) << dialed.status().ToString();
  EXPECT_NE(dialed.status().message().find("not admitted"), std::string::npos);
  EXPECT_EQ(asked, std::vector<crypto::PublicKey>{client->identity()});
  EXPECT_TRUE(server.accepted.empty());
  EXPECT_EQ(server.ep->stats().handshakes_failed, 1u);

  // An endpoint without an admit function refuses everyone.
  EndpointOptions closed_door = TestOptions(4);
  closed_door.admit = nullptr;
  auto dial_only = MakeEndpoint(loop, std::move(closed_door));
  ASSERT_TRUE(dial_only);
  auto refused = Dial(loop, *client, *dial_only);
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied) << refused.status().ToString();
}

TEST(Endpoint, APeerWithAnotherAlpnIsRefused) {
  Loop loop;
  Server server(loop, TestOptions(1));
  EndpointOptions co = TestOptions(2);
  co.alpn = "other/1";
  auto client = MakeEndpoint(loop, std::move(co));
  ASSERT_TRUE(server.ep && client);
  auto dialed = Dial(loop, *client, *server.ep);
  ASSERT_FALSE(dialed.ok());
  EXPECT_NE(dialed.status().message().find("TLS handshake"), std::string::npos)
      << dialed.status().ToString();
  EXPECT_TRUE(server.accepted.empty());
  ASSERT_TRUE(loop.RunUntil([&] { return server.ep->stats().handshakes_failed == 1; }));
}

TEST(Endpoint, CloseWithAReasonReachesThePeer) {
  Loop loop;
  Pair p(loop);
  ASSERT_TRUE(p.ok());
  auto s = p.client->OpenStream();
  ASSERT_TRUE(p.client->Send(*s, Text("last words")).ok());
  p.client->Close(kFirstNodeError + 5, "going away for a while");
  EXPECT_FALSE(p.client->is_open());
  EXPECT_FALSE(p.client->Send(*s, Text("too late")).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return p.server_inbox().closed && p.client_inbox.closed; }));
  const Status& why = *p.server_inbox().closed;
  EXPECT_NE(why.message().find("going away for a while"), std::string::npos) << why.ToString();
  const CloseInfo& info = p.accepted().close_info();
  EXPECT_TRUE(info.closed && info.by_peer && info.application);
  EXPECT_EQ(info.code, kFirstNodeError + 5);
  EXPECT_EQ(info.reason, "going away for a while");
  EXPECT_FALSE(p.client->close_info().by_peer);
  // What was sent just before the close still arrived.
  EXPECT_EQ(p.server_inbox().messages[*s], std::vector<Bytes>{Text("last words")});
  // The shells stay inert and their states go after the closing period.
  EXPECT_FALSE(p.accepted().OpenStream().ok());
  ASSERT_TRUE(loop.RunUntil([&] {
    return p.server.ep->stats().connections_open == 0 && p.client_ep->stats().connections_open == 0;
  }));
}

TEST(Endpoint, IdleTimeoutClosesASilentConnection) {
  Loop loop;
  EndpointOptions so = TestOptions(1), co = TestOptions(2);
  for (auto* o : {&so, &co}) {
    o->idle_timeout_ms = 300;
    o->keep_alive_ms = 0;
  }
  Pair p(loop, std::move(so), std::move(co));
  ASSERT_TRUE(p.ok());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop.RunUntil([&] { return p.client_inbox.closed && p.server_inbox().closed; }, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
  EXPECT_NE(p.client_inbox.closed->message().find("idle timeout"), std::string::npos)
      << p.client_inbox.closed->ToString();
  EXPECT_NE(p.server_inbox().closed->message().find("idle timeout"), std::string::npos);
  EXPECT_EQ(p.client_ep->stats().connections_open, 0u);
}

TEST(Endpoint, KeepAliveHoldsAQuietConnectionOpen) {
  Loop loop;
  EndpointOptions so = TestOptions(1), co = TestOptions(2);
  // Generous against a loaded machine that stalls the loop: four idle periods of quiet,
  // with pings every sixth of one.
  so.idle_timeout_ms = co.idle_timeout_ms = 1500;
  so.keep_alive_ms = 0;
  co.keep_alive_ms = 250;  // one side's pings are enough
  Pair p(loop, std::move(so), std::move(co));
  ASSERT_TRUE(p.ok());
  loop.RunFor(6000ms);
  EXPECT_FALSE(p.client_inbox.closed.has_value()) << p.client_inbox.closed->ToString();
  EXPECT_FALSE(p.server_inbox().closed.has_value()) << p.server_inbox().closed->ToString();
  auto s = p.client->OpenStream();
  ASSERT_TRUE(p.client->Send(*s, Text("still here")).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return p.server_inbox().count == 1; }));
}

TEST(Endpoint, AMessageOverTheLimitClosesTheConnection) {
  Loop loop;
  EndpointOptions so = TestOptions(1), co = TestOptions(2);
  so.max_message_bytes = 64 << 10;
  co.max_message_bytes = 1 << 20;  // a peer that does not keep to the agreed limit
  Pair p(loop, std::move(so), std::move(co));
  ASSERT_TRUE(p.ok());
  auto s = p.client->OpenStream();
  ASSERT_TRUE(p.client->Send(*s, Text("fine")).ok());
  ASSERT_TRUE(p.client->Send(*s, Bytes(100 << 10, 0x55)).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return p.client_inbox.closed && p.server_inbox().closed; }));
  EXPECT_EQ(p.server_inbox().messages[*s], std::vector<Bytes>{Text("fine")});
  EXPECT_EQ(p.server_inbox().closed->code(), Code::kRejected);
  EXPECT_NE(p.server_inbox().closed->message().find("exceeds the limit"), std::string::npos)
      << p.server_inbox().closed->ToString();
  EXPECT_EQ(p.client->close_info().code, kErrorProtocol);
  EXPECT_TRUE(p.client->close_info().by_peer);

  // Our own limit is checked before anything is queued.
  Loop loop2;
  Pair q(loop2);
  ASSERT_TRUE(q.ok());
  auto t = q.client->OpenStream();
  Status too_big = q.client->Send(*t, Bytes((8 << 20) + 1));
  EXPECT_EQ(too_big.code(), Code::kInvalidArgument) << too_big.ToString();
  EXPECT_EQ(q.client->queued_bytes(), 0u);
}

TEST(Endpoint, StopClosesEveryConnection) {
  Loop loop;
  Server server(loop, TestOptions(1));
  ASSERT_TRUE(server.ep);
  std::vector<std::unique_ptr<Endpoint>> clients;
  std::vector<std::shared_ptr<Connection>> conns;
  std::vector<std::unique_ptr<Inbox>> inboxes;
  for (uint8_t i = 0; i < 3; ++i) {
    clients.push_back(MakeEndpoint(loop, TestOptions(10 + i)));
    auto c = Dial(loop, *clients.back(), *server.ep);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    conns.push_back(*c);
    inboxes.push_back(std::make_unique<Inbox>());
    inboxes.back()->Attach(**c);
  }
  ASSERT_TRUE(loop.RunUntil([&] { return server.accepted.size() == 3; }));
  bool stopped = false;
  server.ep->Stop([&] {
    stopped = true;
    // The owners heard of every close before this.
    for (auto& in : server.inboxes) EXPECT_TRUE(in->closed.has_value());
  });
  ASSERT_TRUE(loop.RunUntil(
      [&] { return stopped && inboxes[0]->closed && inboxes[1]->closed && inboxes[2]->closed; }));
  for (auto& c : conns) {
    EXPECT_EQ(c->close_info().code, kErrorShuttingDown);
    EXPECT_EQ(c->close_info().reason, "endpoint stopping");
  }
  EXPECT_EQ(server.ep->stats().connections_open, 0u);
  // A stopped endpoint dials nobody, and nobody reaches it.
  auto after = Dial(loop, *server.ep, *clients[0]);
  EXPECT_FALSE(after.ok());
  auto to_stopped =
      Dial(loop, *clients[0], server.ep->local_address(), server.ep->identity(), 500ms);
  EXPECT_FALSE(to_stopped.ok());
  for (auto& c : clients) StopAndWait(loop, *c);
}

TEST(Endpoint, StopFailsADialInProgress) {
  Loop loop;
  auto client = MakeEndpoint(loop, TestOptions(2));
  asio::ip::udp::socket silent(loop.io,
                               asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::optional<Result<std::shared_ptr<Connection>>> answer;
  client->Connect("127.0.0.1:" + std::to_string(silent.local_endpoint().port()),
                  KeyNumber(1).public_key(),
                  [&](Result<std::shared_ptr<Connection>> r) { answer = std::move(r); });
  loop.RunFor(50ms);
  StopAndWait(loop, *client);
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(answer->ok());
  EXPECT_NE(answer->status().message().find("stopped"), std::string::npos)
      << answer->status().ToString();
}

TEST(Endpoint, StreamLimitAndStreamChurn) {
  Loop loop;
  Pair p(loop);
  ASSERT_TRUE(p.ok());
  std::vector<int64_t> open;
  for (int i = 0; i < 16; ++i) {
    auto s = p.client->OpenStream();
    ASSERT_TRUE(s.ok()) << i << ": " << s.status().ToString();
    open.push_back(*s);
  }
  auto refused = p.client->OpenStream();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("no more open streams"), std::string::npos);

  // Each stream closed by both ends frees its slot at the peer.
  for (int64_t s : open) ASSERT_TRUE(p.client->CloseStream(s).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return p.client_inbox.closed_streams.size() == 16; }));
  int rounds = 0;
  for (; rounds < 200; ++rounds) {
    // A slot comes back when the peer's MAX_STREAMS arrives (on_writable says so), which may
    // be a little after our side saw the stream close.
    std::optional<Result<int64_t>> s;
    ASSERT_TRUE(loop.RunUntil([&] { return (s = p.client->OpenStream())->ok(); })) << rounds;
    ASSERT_TRUE(p.client->Send(**s, Text("one")).ok());
    ASSERT_TRUE(p.client->CloseStream(**s).ok());
    EXPECT_FALSE(p.client->Send(**s, Text("after the end")).ok());
    size_t closed_before = p.client_inbox.closed_streams.size();
    ASSERT_TRUE(
        loop.RunUntil([&] { return p.client_inbox.closed_streams.size() > closed_before; }));
  }
  EXPECT_EQ(p.server_inbox().count, 200u);
  EXPECT_TRUE(loop.RunUntil([&] { return p.server_inbox().closed_streams.size() == 216; }));
}

TEST(Endpoint, Ipv6Loopback) {
  Loop loop;
  {
    asio::ip::udp::socket probe(loop.io);
    std::error_code ec;
    probe.open(asio::ip::udp::v6(), ec);
    if (!ec) probe.bind(asio::ip::udp::endpoint(asio::ip::make_address("::1"), 0), ec);
    if (ec) GTEST_SKIP() << "cannot bind [::1]: " << ec.message();
  }
  Pair p(loop, TestOptions(1, "[::1]:0"), TestOptions(2, "[::1]:0"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.server.ep->local_address().rfind("[::1]:", 0), 0u) << p.server.ep->local_address();
  EXPECT_EQ(p.client->remote_address(), p.server.ep->local_address());
  auto s = p.client->OpenStream();
  ASSERT_TRUE(p.client->Send(*s, Text("over six")).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return p.server_inbox().count == 1; }));
  ASSERT_TRUE(p.accepted().Send(*s, Text("and back")).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return p.client_inbox.count == 1; }));

  // An IPv4 socket cannot dial an IPv6 address.
  auto v4 = MakeEndpoint(loop, TestOptions(3));
  auto cross = Dial(loop, *v4, *p.server.ep);
  EXPECT_EQ(cross.status().code(), Code::kInvalidArgument) << cross.status().ToString();
}

TEST(Endpoint, ADialToASilentPortTimesOut) {
  Loop loop;
  EndpointOptions co = TestOptions(2);
  co.handshake_timeout_ms = 300;
  auto client = MakeEndpoint(loop, std::move(co));
  asio::ip::udp::socket silent(loop.io,
                               asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto dialed = Dial(loop, *client, "127.0.0.1:" + std::to_string(silent.local_endpoint().port()),
                     KeyNumber(1).public_key(), 5s);
  ASSERT_FALSE(dialed.ok());
  EXPECT_NE(dialed.status().message().find("timed out"), std::string::npos)
      << dialed.status().ToString();
  EXPECT_EQ(client->stats().handshakes_failed, 1u);
  EXPECT_EQ(client->stats().handshakes_in_progress, 0u);
}

TEST(Endpoint, BadOptionsAndAddressesAreRefused) {
  Loop loop;
  EndpointOptions no_key;
  EXPECT_EQ(Endpoint::Make(loop.io, std::move(no_key)).status().code(), Code::kInvalidArgument);
  EndpointOptions small_window = TestOptions(1);
  small_window.max_stream_data = small_window.max_message_bytes;
  EXPECT_EQ(Endpoint::Make(loop.io, std::move(small_window)).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Endpoint::Make(loop.io, TestOptions(1, "localhost:0")).status().code(),
            Code::kInvalidArgument);
  // A port already taken.
  auto first = MakeEndpoint(loop, TestOptions(1));
  auto second = Endpoint::Make(loop.io, TestOptions(2, first->local_address()));
  EXPECT_EQ(second.status().code(), Code::kIOError) << second.status().ToString();

  auto bad_dial = Dial(loop, *first, "not an address", KeyNumber(2).public_key());
  EXPECT_EQ(bad_dial.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace topo::net
