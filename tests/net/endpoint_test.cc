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

}  // namespace
}  // namespace topo::net
