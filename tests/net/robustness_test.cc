// What strangers can send an endpoint: random datagrams, damaged and replayed Initials,
// floods of handshakes, unknown versions. Each must cost little, leave no state behind, and
// leave the endpoint serving honest peers.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "net/address.h"
#include "net/endpoint.h"
#include "net_test_util.h"

namespace topo::net {
namespace {

using namespace testing;
using asio::ip::udp;

// A plain UDP socket on 127.0.0.1: the attacker, or a silent peer that records what it gets.
class RawSocket {
 public:
  explicit RawSocket(Loop& loop)
      : socket_(loop.io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    socket_.non_blocking(true);
  }
  std::string address() const { return FormatHostPort(socket_.local_endpoint()); }
  void SendTo(const std::string& host_port, ByteView d) {
    std::error_code ec;
    socket_.send_to(asio::buffer(d.data(), d.size()), *ParseHostPort(host_port), 0, ec);
  }
  std::optional<Bytes> TryReceive() {
    Bytes buf(65536);
    std::error_code ec;
    udp::endpoint from;
    size_t n = socket_.receive_from(asio::buffer(buf), from, 0, ec);
    if (ec) return std::nullopt;
    buf.resize(n);
    return buf;
  }

 private:
  udp::socket socket_;
};

// An honest dial and one message each way: the endpoint still serves.
void ExpectServing(Loop& loop, Endpoint& server) {
  std::shared_ptr<Connection> accepted;
  size_t got = 0;
  server.on_connection = [&](std::shared_ptr<Connection> c) {
    accepted = c;
    c->on_message = [&, raw = c.get()](int64_t s, Bytes m) {
      ++got;
      EXPECT_TRUE(raw->Send(s, m).ok());
    };
  };
  auto client = MakeEndpoint(loop, TestOptions(99));
  auto c = Dial(loop, *client, server);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  size_t echoed = 0;
  (*c)->on_message = [&](int64_t, Bytes) { ++echoed; };
  auto s = (*c)->OpenStream();
  ASSERT_TRUE((*c)->Send(*s, ToBytes("ping")).ok());
  EXPECT_TRUE(loop.RunUntil([&] { return echoed == 1; }));
  EXPECT_EQ(got, 1u);
  StopAndWait(loop, *client);
  server.on_connection = nullptr;
}

// Sends with pauses so the endpoint keeps up and the kernel drops nothing; returns how many
// datagrams the endpoint saw.
void SendAll(Loop& loop, RawSocket& from, Endpoint& to, const std::vector<Bytes>& datagrams) {
  uint64_t before = to.stats().datagrams_in;
  for (size_t i = 0; i < datagrams.size(); ++i) {
    from.SendTo(to.local_address(), datagrams[i]);
    if (i % 32 == 31 || i + 1 == datagrams.size()) {
      uint64_t want = before + i + 1;
      loop.RunUntil([&] { return to.stats().datagrams_in >= want; }, 2s);
    }
  }
}

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// A long-header packet of `version` with random connection ids and a random body: it parses
// as a header, never decrypts.
Bytes ForgedLongHeader(std::mt19937_64& rng, uint32_t version, size_t size) {
  Bytes p;
  p.push_back(static_cast<uint8_t>(0xc0 | (rng() & 0x0f)));  // long header, Initial type
  for (int shift = 24; shift >= 0; shift -= 8) p.push_back(static_cast<uint8_t>(version >> shift));
  size_t dcid = 8 + rng() % 13, scid = rng() % 21;
  p.push_back(static_cast<uint8_t>(dcid));
  Append(p, RandomBytes(rng, dcid));
  p.push_back(static_cast<uint8_t>(scid));
  Append(p, RandomBytes(rng, scid));
  p.push_back(0);  // no token
  size_t rest = size > p.size() + 2 ? size - p.size() - 2 : 0;
  p.push_back(static_cast<uint8_t>(0x40 | ((rest >> 8) & 0x3f)));  // 2-byte length varint
  p.push_back(static_cast<uint8_t>(rest));
  Append(p, RandomBytes(rng, rest));
  return p;
}

TEST(Robustness, RandomDatagramsLeaveTheEndpointServing) {
  Loop loop;
  auto server = MakeEndpoint(loop, TestOptions(1));
  RawSocket attacker(loop);
  std::mt19937_64 rng(20240605);
  std::vector<Bytes> junk;
  for (int i = 0; i < 5000; ++i) {
    switch (i % 5) {
      case 0:  // anything at all, empty included
        junk.push_back(RandomBytes(rng, rng() % 1500));
        break;
      case 1:  // an Initial of QUIC v1 that will not decrypt (reaches ngtcp2_accept and beyond)
        junk.push_back(ForgedLongHeader(rng, 1, 1200 + rng() % 200));
        break;
      case 2: {  // a short header for a connection that does not exist
        Bytes b = RandomBytes(rng, 20 + rng() % 1300);
        b[0] = static_cast<uint8_t>(0x40 | (b[0] & 0x3f));
        junk.push_back(std::move(b));
        break;
      }
      case 3:  // a long header too short for anything
        junk.push_back(ForgedLongHeader(rng, 1, rng() % 60));
        break;
      case 4:  // an Initial of v1, too small to be a first packet
        junk.push_back(ForgedLongHeader(rng, 1, 100 + rng() % 1000));
        break;
    }
  }
  SendAll(loop, attacker, *server, junk);
  Endpoint::Stats st = server->stats();
  EXPECT_EQ(st.datagrams_in, junk.size());
  // Each was dropped, except random long headers of unknown versions big enough to earn a
  // version negotiation (one small answer each, nothing kept).
  EXPECT_EQ(st.datagrams_dropped + st.datagrams_out, junk.size());
  EXPECT_LT(st.datagrams_out, junk.size() / 20);
  EXPECT_EQ(st.handshakes_in_progress, 0u);
  EXPECT_EQ(st.handshakes_failed, 0u);
  EXPECT_EQ(st.connections_open, 0u);
  ExpectServing(loop, *server);
}

// The first datagram a real client sends (an Initial with its ClientHello), caught by a
// silent socket it was told to dial.
std::vector<Bytes> CaptureInitials(Loop& loop, size_t n) {
  RawSocket trap(loop);
  EndpointOptions o = TestOptions(50);
  o.handshake_timeout_ms = 60'000;
  auto client = MakeEndpoint(loop, std::move(o));
  std::set<Bytes> seen_dcids;
  std::vector<Bytes> initials;
  for (size_t i = 0; i < n; ++i)
    client->Connect(trap.address(), KeyNumber(1).public_key(), [](auto) {});
  loop.RunUntil([&] {
    while (auto d = trap.TryReceive()) {
      Bytes dcid(d->begin() + 6, d->begin() + 6 + (*d)[5]);
      if (seen_dcids.insert(dcid).second) initials.push_back(std::move(*d));
    }
    return initials.size() == n;
  });
  StopAndWait(loop, *client);
  EXPECT_EQ(initials.size(), n);
  return initials;
}

TEST(Robustness, DamagedAndReplayedInitialsLeaveNoState) {
  Loop loop;
  Bytes initial = CaptureInitials(loop, 1).at(0);
  ASSERT_GE(initial.size(), 1200u);
  EndpointOptions so = TestOptions(1);
  so.handshake_timeout_ms = 500;
  auto server = MakeEndpoint(loop, std::move(so));
  RawSocket attacker(loop);
  std::mt19937_64 rng(11);

  std::vector<Bytes> damaged;
  for (size_t len = 0; len < initial.size(); len += 13)
    damaged.emplace_back(initial.begin(), initial.begin() + len);
  damaged.emplace_back(initial.begin(), initial.end() - 1);
  for (int i = 0; i < 300; ++i) {
    Bytes b = initial;
    b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    damaged.push_back(std::move(b));
  }
  SendAll(loop, attacker, *server, damaged);
  EXPECT_EQ(server->stats().handshakes_in_progress, 0u);
  EXPECT_EQ(server->stats().handshakes_failed, 0u);

  // The intact Initial starts one handshake; replays and damaged copies of it neither add
  // another nor break it.
  SendAll(loop, attacker, *server, {initial});
  EXPECT_EQ(server->stats().handshakes_in_progress, 1u);
  std::vector<Bytes> replays(20, initial);
  SendAll(loop, attacker, *server, replays);
  SendAll(loop, attacker, *server, damaged);
  EXPECT_EQ(server->stats().handshakes_in_progress, 1u);
  // Nobody finishes it: it times out and goes.
  EXPECT_TRUE(loop.RunUntil([&] { return server->stats().handshakes_in_progress == 0; }, 3s));
  EXPECT_EQ(server->stats().handshakes_failed, 1u);
  ExpectServing(loop, *server);
}

TEST(Robustness, HalfOpenHandshakesAreCapped) {
  Loop loop;
  std::vector<Bytes> initials = CaptureInitials(loop, 10);
  ASSERT_EQ(initials.size(), 10u);
  RawSocket attacker(loop);

  EndpointOptions capped_total = TestOptions(1);
  capped_total.max_half_open = 4;
  capped_total.handshake_timeout_ms = 500;
  auto a = MakeEndpoint(loop, std::move(capped_total));
  SendAll(loop, attacker, *a, initials);
  EXPECT_EQ(a->stats().handshakes_in_progress, 4u);
  EXPECT_EQ(a->stats().datagrams_dropped, 6u);

  EndpointOptions capped_per_host = TestOptions(2);
  capped_per_host.max_half_open_per_host = 3;
  capped_per_host.handshake_timeout_ms = 500;
  auto b = MakeEndpoint(loop, std::move(capped_per_host));
  SendAll(loop, attacker, *b, initials);
  EXPECT_EQ(b->stats().handshakes_in_progress, 3u);

  // The slots come back when the handshakes time out; honest peers get in again.
  EXPECT_TRUE(loop.RunUntil(
      [&] {
        return a->stats().handshakes_in_progress == 0 && b->stats().handshakes_in_progress == 0;
      },
      3s));
  ExpectServing(loop, *a);
  ExpectServing(loop, *b);
}

TEST(Robustness, UnknownVersionsGetAVersionNegotiation) {
  Loop loop;
  auto server = MakeEndpoint(loop, TestOptions(1));
  RawSocket peer(loop);
  std::mt19937_64 rng(3);
  Bytes probe = ForgedLongHeader(rng, 0x1a2a3a4a, 1200);
  peer.SendTo(server->local_address(), probe);
  std::optional<Bytes> answer;
  ASSERT_TRUE(loop.RunUntil([&] { return (answer = peer.TryReceive()).has_value(); }, 2s));
  ASSERT_GE(answer->size(), 7u);
  EXPECT_TRUE((*answer)[0] & 0x80);
  EXPECT_EQ(Bytes(answer->begin() + 1, answer->begin() + 5), Bytes(4, 0));  // version 0
  // Its ids are the probe's, swapped.
  size_t dcid_len = probe[5], scid_len = probe[6 + dcid_len];
  Bytes probe_dcid(probe.begin() + 6, probe.begin() + 6 + dcid_len);
  Bytes probe_scid(probe.begin() + 7 + dcid_len, probe.begin() + 7 + dcid_len + scid_len);
  size_t at = 5;
  Bytes answer_dcid(answer->begin() + at + 1, answer->begin() + at + 1 + (*answer)[at]);
  at += 1 + (*answer)[at];
  Bytes answer_scid(answer->begin() + at + 1, answer->begin() + at + 1 + (*answer)[at]);
  at += 1 + (*answer)[at];
  EXPECT_EQ(answer_dcid, probe_scid);
  EXPECT_EQ(answer_scid, probe_dcid);
  bool lists_v1 = false;
  for (; at + 4 <= answer->size(); at += 4)
    lists_v1 |= (*answer)[at] == 0 && (*answer)[at + 1] == 0 && (*answer)[at + 2] == 0 &&
                (*answer)[at + 3] == 1;
  EXPECT_TRUE(lists_v1);

  // Under 1,200 bytes nothing comes back: no amplification.
  peer.SendTo(server->local_address(), ForgedLongHeader(rng, 0x1a2a3a4a, 600));
  loop.RunFor(100ms);
  EXPECT_FALSE(peer.TryReceive().has_value());
  EXPECT_EQ(server->stats().handshakes_in_progress, 0u);
}

}  // namespace
}  // namespace topo::net
