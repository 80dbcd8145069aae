// The node's network on 127.0.0.1: who is admitted after the handshake, what hostile peers'
// messages and datagrams do, and that the node keeps serving its honest peers through it
// all with its data unchanged. Everything runs on io_contexts driven by the test thread,
// with a deadline; the hostile side is a raw net::Endpoint speaking the node's wire
// (node/network.h) by hand.
#include "node/network.h"

#include <gtest/gtest.h>

#include <asio/ip/udp.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "net/address.h"
#include "node/files.h"
#include "sync/frame.h"
#include "testing/temp_dir.h"
#include "util/encoding.h"
#include "util/varint.h"

namespace topo::node {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A device of its own user, with its replica in a file of `dir` and, once started, its
// network.
struct Device {
  Device(const topo::testing::TempDir& dir, const std::string& name,
         crypto::SigningKey device_key = crypto::SigningKey::Generate())
      : key(std::move(device_key)) {
    cert = *codec::MakeDeviceCertificate(user, key.public_key(), box.public_key(), name, 1);
    object::ReplicaOptions o;
    o.box = &box;
    o.verify_threads = 1;
    auto r = object::Replica::Open(dir.File(name + ".db"), key.Clone(), o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    replica = std::move(r).value();
    log.set_level(LogLevel::kWarn);
  }
  const crypto::PublicKey& device() const { return key.public_key(); }
  object::Replica* operator->() { return replica.get(); }

  crypto::SigningKey user = crypto::SigningKey::Generate();
  crypto::SigningKey key;
  crypto::BoxKey box = crypto::BoxKey::Generate();
  codec::DeviceCertificate cert;
  std::unique_ptr<object::Replica> replica;
  Log log;
  std::unique_ptr<Network> net;  // destroyed before the replica
};

// What the node stores, as a user would see it: every object's state, frontier and the
// projections (Fingerprint), and the objects with their vertex counts.
std::string Stored(Device& d) {
  auto fp = d->Fingerprint();
  EXPECT_TRUE(fp.ok()) << fp.status().ToString();
  std::string s = fp.ok() ? *fp : "?";
  auto objects = d->ListObjects();
  EXPECT_TRUE(objects.ok());
  if (objects.ok())
    for (const auto& o : *objects)
      s += " " + HexEncodeShort(o.id) + ":" + std::to_string(o.vertices);
  return s;
}

bool Holds(Device& d, const codec::ObjectId& object) {
  auto objects = d->ListObjects();
  if (!objects.ok()) return false;
  for (const auto& o : *objects)
    if (o.id == object) return true;
  return false;
}

// `at` holds every vertex `from` holds of `object`.
bool SameHeads(Device& at, Device& from, const codec::ObjectId& object) {
  auto a = at->Heads(object);
  auto b = from->Heads(object);
  return a.ok() && b.ok() && !b->empty() && *a == *b;
}

// A node message: the kind byte, then its body.
Bytes Message(uint8_t kind, ByteView body = {}) {
  Bytes m;
  m.push_back(kind);
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

Bytes JoinClaim(const codec::ObjectId& group, const codec::JoinOp& join) {
  Bytes body(group.view().begin(), group.view().end());
  Append(body, codec::EncodeGroupOp(codec::GroupOp{join}));
  return Message(kMessageJoinClaim, body);
}

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// One connection of a raw endpoint to a node: what it received, and how it ended.
struct Probe {
  struct Seen {
    std::vector<Bytes> messages;
    std::optional<net::CloseInfo> closed;
  };
  std::shared_ptr<net::Connection> conn;
  std::shared_ptr<Seen> seen = std::make_shared<Seen>();
  int64_t stream = -1;

  bool closed() const { return seen->closed.has_value(); }
};

class NetworkTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Every network stops (closing its connections) before its replica goes.
    size_t stopping = 0, stopped = 0;
    for (Device* d : {&alice, &bob, &carol, &mallory})
      if (d->net) {
        ++stopping;
        d->net->Stop([&] { ++stopped; });
      }
    for (auto& [ep, _] : endpoints_) {
      ++stopping;
      ep->Stop([&] { ++stopped; });
    }
    EXPECT_TRUE(RunUntil([&] { return stopped == stopping; }, 5s));
  }

  // Runs the loops (the test's, and `also` when given: a second process's) until `done()`
  // or `limit` passes; false on timeout.
  template <class Pred>
  bool RunUntil(Pred done, std::chrono::milliseconds limit = 10s,
                asio::io_context* also = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (io.stopped()) io.restart();
      if (!also) {
        io.run_one_for(5ms);
        continue;
      }
      if (also->stopped()) also->restart();
      if (io.poll() + also->poll() == 0) std::this_thread::sleep_for(1ms);
    }
    return true;
  }
  void RunFor(std::chrono::milliseconds d, asio::io_context* also = nullptr) {
    RunUntil([] { return false; }, d, also);
  }

  NetworkOptions Options() {
    NetworkOptions o;
    o.admission_timeout_ms = 300;
    o.redial_ms = 200;
    return o;
  }
  void Start(Device& d, asio::io_context* on = nullptr) {
    auto n = Network::Start(on ? *on : io, *d.replica, d.key, d.log, Options());
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    d.net = std::move(n).value();
  }

  // Alice's workspace: a group holding a counter, and an open counter beside it, each written.
  void MakeAlicesData() {
    auto g = alice->CreateGroup(alice.cert, /*history_visible=*/true);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    group = *g;
    auto c = alice->CreateObject("counter", group);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    secret = *c;
    auto o = alice->CreateObject("counter");
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    open = *o;
    for (int i = 0; i < 5; ++i) {
      Write(alice, secret);
      Write(alice, open);
    }
  }
  void Write(Device& d, const codec::ObjectId& object) {
    auto field = d->FieldOf(object, "value");
    ASSERT_TRUE(field.ok()) << field.status().ToString();
    auto v = d->Submit(object, *field, codec::CrdtOp{codec::CounterAdd{1}});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
  }
  // `who` becomes a member of alice's group through an invite and bundles (no network).
  void JoinThroughBundles(Device& who) {
    auto link = alice->Invite(group, {});
    ASSERT_TRUE(link.ok()) << link.status().ToString();
    ASSERT_TRUE(who->AcceptInvite(*link, who.cert).ok());
    Send(alice, who);  // the group arrives; the join applies there
    Send(who, alice);  // and here
    ASSERT_TRUE(alice->HealAllGroups().ok());
    auto st = alice->GroupStateOf(group);
    ASSERT_TRUE(st.ok() && st->devices().count(who.device()));
  }
  void Send(Device& from, Device& to) {
    std::string path = dir.File("bundle");
    ASSERT_TRUE(from->ExportBundle(path).ok());
    auto r = to->ImportBundle(path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // Dials `to`'s node as the device key `as` (a raw endpoint: no node behind it), opens the
  // first stream and records what comes back.
  Probe Dial(const crypto::SigningKey& as, Device& to) {
    net::Endpoint* ep = EndpointFor(as);
    Probe p;
    auto answer = std::make_shared<std::optional<Result<std::shared_ptr<net::Connection>>>>();
    ep->Connect(to.net->local_address(), to.device(),
                [answer](Result<std::shared_ptr<net::Connection>> r) { *answer = std::move(r); });
    EXPECT_TRUE(RunUntil([&] { return answer->has_value(); }));
    if (!answer->has_value() || !(*answer)->ok()) {
      ADD_FAILURE() << "dial failed: "
                    << (answer->has_value() ? (*answer)->status().ToString() : "no answer");
      return p;
    }
    p.conn = ***answer;
    std::weak_ptr<net::Connection> weak = p.conn;
    p.conn->on_message = [seen = p.seen](int64_t, Bytes m) {
      seen->messages.push_back(std::move(m));
    };
    p.conn->on_closed = [seen = p.seen, weak](const Status&) {
      if (auto c = weak.lock()) seen->closed = c->close_info();
    };
    auto s = p.conn->OpenStream();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    p.stream = s.ok() ? *s : -1;
    return p;
  }
  net::Endpoint* EndpointFor(const crypto::SigningKey& as) {
    for (auto& [ep, key] : endpoints_)
      if (key == as.public_key()) return ep.get();
    net::EndpointOptions o;
    o.bind = "127.0.0.1:0";
    o.identity = as.Clone();
    auto ep = net::Endpoint::Make(io, std::move(o));
    EXPECT_TRUE(ep.ok()) << ep.status().ToString();
    endpoints_.emplace_back(std::move(ep).value(), as.public_key());
    return endpoints_.back().first.get();
  }

  // The node closed the probe's connection with `code`, its reason containing `why`.
  ::testing::AssertionResult ClosedWith(Probe& p, uint64_t code, const std::string& why,
                                        std::chrono::milliseconds limit = 5s) {
    if (!p.conn) return ::testing::AssertionFailure() << "never connected";
    if (!RunUntil([&] { return p.closed(); }, limit))
      return ::testing::AssertionFailure() << "still open after " << limit.count() << " ms";
    const net::CloseInfo& c = *p.seen->closed;
    if (!c.by_peer || !c.application || c.code != code || c.reason.find(why) == std::string::npos)
      return ::testing::AssertionFailure()
             << "closed by_peer=" << c.by_peer << " application=" << c.application
             << " code=" << c.code << " reason=\"" << c.reason << "\"; expected code " << code
             << " with \"" << why << "\"";
    return ::testing::AssertionSuccess();
  }

  // The peers `d`'s node has a connection with, and with what admission.
  std::map<std::string, std::string> Peers(Device& d) {
    std::map<std::string, std::string> out;
    const json described = d.net->Describe();
    for (const auto& p : described["peers"])
      out[p["device"].get<std::string>()] = p["admission"].get<std::string>();
    return out;
  }
  bool Connected(Device& at, Device& who) {
    return Peers(at).count(HexEncode(who.device().view())) > 0;
  }

  // Bob, a member, connects to alice and is served her new write in the group.
  void BobConnectsAndConverges() {
    JoinThroughBundles(bob);
    Start(bob);
    bob.net->AddPeer(alice.net->local_address(), alice.device());
    Write(alice, secret);
    ASSERT_TRUE(RunUntil([&] { return Connected(alice, bob) && SameHeads(bob, alice, secret); }))
        << "bob, a member, is served the group's objects";
    EXPECT_EQ(Peers(alice)[HexEncode(bob.device().view())], "member");
  }
  // A new write of alice's reaches bob over the connection he has.
  void AliceStillServesBob() {
    Write(alice, secret);
    EXPECT_TRUE(RunUntil([&] { return SameHeads(bob, alice, secret); }))
        << "alice's node keeps serving bob";
  }

  asio::io_context io;
  topo::testing::TempDir dir;
  Device alice{dir, "alice"}, bob{dir, "bob"}, carol{dir, "carol"}, mallory{dir, "mallory"};
  codec::ObjectId group, secret, open;
  std::vector<std::pair<std::unique_ptr<net::Endpoint>, crypto::PublicKey>> endpoints_;
};

// ---- admission ----

TEST_F(NetworkTest, AnUnknownDeviceIsRefusedAndServedNothing) {
  MakeAlicesData();
  Start(alice);
  const std::string before = Stored(alice);
  crypto::SigningKey stranger = crypto::SigningKey::Generate();

  // Silent: closed once the admission time is up.
  Probe silent = Dial(stranger, alice);
  EXPECT_TRUE(ClosedWith(silent, kCloseNotAdmitted, "not a member"));
  // Starts a sync session (a hello, as a node would): closed at once, before any session.
  Probe talker = Dial(stranger, alice);
  sync::Frame hello{0, sync::HelloFrame{{{open, 1}}}};
  ASSERT_TRUE(
      talker.conn->Send(talker.stream, Message(kMessageSync, sync::EncodeFrame(hello))).ok());
  EXPECT_TRUE(ClosedWith(talker, kCloseNotAdmitted, "before admission"));
  // An announce is no better.
  Probe announcer = Dial(stranger, alice);
  Bytes announce(open.view().begin(), open.view().end());
  PutVarint(announce, 1);
  announce.insert(announce.end(), 32, 9);
  ASSERT_TRUE(announcer.conn->Send(announcer.stream, Message(kMessageAnnounce, announce)).ok());
  EXPECT_TRUE(ClosedWith(announcer, kCloseNotAdmitted, "before admission"));
  // Nor may it ask for a file chunk (alice holds one), or push one.
  store::FileStore files = std::move(store::FileStore::Open(alice->database())).value();
  Bytes chunk(100, 5);
  ASSERT_TRUE(files.PutChunk(codec::AddressOfChunk(chunk), chunk).ok());
  Probe asker = Dial(stranger, alice);
  ASSERT_TRUE(
      asker.conn
          ->Send(asker.stream, Message(kMessageChunkRequest, codec::AddressOfChunk(chunk).view()))
          .ok());
  EXPECT_TRUE(ClosedWith(asker, kCloseNotAdmitted, "before admission"));
  for (Probe* p : {&silent, &talker, &announcer, &asker})
    EXPECT_TRUE(p->seen->messages.empty()) << "a refused peer is sent nothing at all";

  // A whole node of a device nobody invited, dialing alice again and again: it gets none of
  // her objects, not even the open one, and she takes nothing from it.
  auto own = carol->CreateObject("counter");
  ASSERT_TRUE(own.ok());
  const std::string carol_before = Stored(carol);
  Start(carol);
  carol.net->AddPeer(alice.net->local_address(), alice.device());
  RunFor(1500ms);  // several redials
  EXPECT_FALSE(Holds(carol, group));
  EXPECT_FALSE(Holds(carol, secret));
  EXPECT_FALSE(Holds(carol, open));
  EXPECT_FALSE(Holds(alice, *own));
  EXPECT_EQ(Stored(carol), carol_before);
  EXPECT_EQ(Stored(alice), before) << "what alice stores is unchanged";
  EXPECT_FALSE(Connected(alice, carol));

  // The same path serves a member: bob, once in the group, gets all of it.
  BobConnectsAndConverges();
  EXPECT_TRUE(RunUntil([&] { return SameHeads(bob, alice, open); }));
}

TEST_F(NetworkTest, AJoinClaimThatProvesNothingIsRefused) {
  MakeAlicesData();
  auto l = alice->Invite(group, {});
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  codec::InviteLink link = *l;
  Start(alice);
  link.addresses = {alice.net->local_address()};
  const std::string before = Stored(alice);

  // Without the invite's secret: a guessed one.
  codec::InviteLink guessed = link;
  guessed.secret.bytes[0] ^= 1;
  codec::JoinOp wrong_secret = codec::MakeJoinOp(guessed, carol.cert);
  // For an invite that is not there (another vertex id), secret and all.
  codec::InviteLink elsewhere = link;
  elsewhere.invite.bytes[5] ^= 1;
  codec::JoinOp wrong_invite = codec::MakeJoinOp(elsewhere, carol.cert);
  // Bob's genuine claim, shown by carol: its certificate names bob's device.
  codec::JoinOp bobs_claim = codec::MakeJoinOp(link, bob.cert);
  // Carol's genuine claim, for a group alice does not have.
  codec::ObjectId unknown_group = group;
  unknown_group.bytes[0] ^= 1;
  codec::JoinOp carols_claim = codec::MakeJoinOp(link, carol.cert);

  struct Case {
    const char* what;
    Bytes message;
  };
  std::vector<Case> cases = {
      {"a guessed secret", JoinClaim(group, wrong_secret)},
      {"an invite that is not there", JoinClaim(group, wrong_invite)},
      {"another device's claim", JoinClaim(group, bobs_claim)},
      {"a group alice does not have", JoinClaim(unknown_group, carols_claim)},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.what);
    Probe p = Dial(carol.key, alice);
    ASSERT_TRUE(p.conn->Send(p.stream, c.message).ok());
    // A sync hello right behind it, as a joining node sends: it must not be answered.
    sync::Frame hello{0, sync::HelloFrame{}};
    (void)p.conn->Send(p.stream, Message(kMessageSync, sync::EncodeFrame(hello)));
    EXPECT_TRUE(ClosedWith(p, kCloseNotAdmitted, "proves no open invite"));
    EXPECT_TRUE(p.seen->messages.empty());
  }
  // Claims that do not even decode are a protocol error.
  Bytes short_claim = JoinClaim(group, carols_claim);
  short_claim.resize(20);
  Bytes not_a_join = Message(kMessageJoinClaim, group.view());
  Append(not_a_join, codec::EncodeGroupOp(codec::GroupOp{codec::SetRoleOp{}}));
  Bytes garbage = Message(kMessageJoinClaim, group.view());
  garbage.push_back(0xff);
  for (const auto& [message, why] :
       std::vector<std::pair<Bytes, std::string>>{{short_claim, "a short join claim"},
                                                  {not_a_join, "not a join"},
                                                  {garbage, "not a join"}}) {
    SCOPED_TRACE(why);
    Probe p = Dial(carol.key, alice);
    ASSERT_TRUE(p.conn->Send(p.stream, message).ok());
    EXPECT_TRUE(ClosedWith(p, kCloseProtocol, why));
    EXPECT_TRUE(p.seen->messages.empty());
  }

  // Carol's node dialing the inviter with bob's claim, the way a joiner dials: it gets
  // nothing of the group, however long it tries.
  Start(carol);
  carol.net->Join(link, bobs_claim);
  RunFor(1500ms);
  EXPECT_FALSE(Holds(carol, group));
  EXPECT_FALSE(Holds(carol, secret));
  EXPECT_EQ(Stored(alice), before) << "what alice stores is unchanged";

  // Bob with his own claim is let in: he gets the group, his join applies on both sides, and
  // then he is a member served everything in it.
  ASSERT_TRUE(bob->AcceptInvite(link, bob.cert).ok());
  Start(bob);
  bob.net->Join(link, bobs_claim);
  EXPECT_TRUE(RunUntil([&] {
    auto st = alice->GroupStateOf(group);
    return st.ok() && st->devices().count(bob.device()) && SameHeads(bob, alice, group);
  })) << "a claim that proves the invite admits its device";
  auto st = alice->GroupStateOf(group);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->devices().count(carol.device()));
  EXPECT_FALSE(Holds(carol, group));
}

// ---- hostile members ----

TEST_F(NetworkTest, MalformedMessagesFromAMemberCloseOnlyItsConnection) {
  MakeAlicesData();
  JoinThroughBundles(mallory);
  Start(alice);
  BobConnectsAndConverges();
  const std::string before = Stored(alice);

  Bytes announce_base(secret.view().begin(), secret.view().end());
  auto Announce = [&](uint64_t count, size_t ids, size_t extra) {
    Bytes b = announce_base;
    PutVarint(b, count);
    for (size_t i = 0; i < ids; ++i) b.insert(b.end(), 32, static_cast<uint8_t>(i + 1));
    b.insert(b.end(), extra, 0);
    return Message(kMessageAnnounce, b);
  };
  Bytes truncated_announce = Announce(2, 2, 0);
  truncated_announce.resize(truncated_announce.size() - 1);
  Bytes truncated_hello =
      Message(kMessageSync, sync::EncodeFrame(sync::Frame{0, sync::HelloFrame{{{secret, 3}}}}));
  truncated_hello.resize(truncated_hello.size() - 1);
  Bytes unknown_frame = Message(kMessageSync);
  unknown_frame.push_back(sync::kFrameVersion);
  unknown_frame.push_back(77);  // no such frame type
  unknown_frame.push_back(0);   // request id
  Bytes hello_id_2 = Message(kMessageSync, sync::EncodeFrame(sync::Frame{2, sync::HelloFrame{}}));
  Bytes unasked = Message(
      kMessageSync, sync::EncodeFrame(sync::Frame{1, sync::VerticesFrame{true, {Bytes(100, 3)}}}));

  struct Case {
    const char* what;
    Bytes message;
    std::string why;  // in the close reason
  };
  std::vector<Case> cases = {
      {"empty", Bytes(), "an empty message"},
      {"kind 0", Message(0, AsBytes("x")), "unknown message kind 0"},
      {"kind 7", Message(7), "unknown message kind 7"},
      {"resync from the dialer", Message(kMessageResync), "a resync request from the dialer"},
      {"resync with a body", Message(kMessageResync, AsBytes("x")), "a resync request with a body"},
      {"chunk request, short", Message(kMessageChunkRequest, Bytes(31, 1)),
       "a malformed chunk request"},
      {"chunk reply, unknown status", Message(kMessageChunkReply, Bytes(33, 9)),
       "a chunk reply of unknown status"},
      {"kind 255", Message(255, Bytes(100, 7)), "unknown message kind 255"},
      {"announce, empty", Message(kMessageAnnounce), "a malformed announce"},
      {"announce, no count", Message(kMessageAnnounce, secret.view()), "a malformed announce"},
      {"announce of 0 ids", Announce(0, 0, 0), "a malformed announce"},
      {"announce over the bound", Announce(kMaxAnnounceIds + 1, kMaxAnnounceIds + 1, 0),
       "a malformed announce"},
      {"announce, truncated", truncated_announce, "a malformed announce"},
      {"announce, trailing bytes", Announce(1, 1, 3), "a malformed announce"},
      {"sync, empty frame", Message(kMessageSync), "sync:"},
      {"sync, unknown frame type", unknown_frame, "sync:"},
      {"sync, truncated hello", truncated_hello, "sync:"},
      {"sync, a hello with request id 2", hello_id_2, "sync:"},
      {"sync, vertices nobody asked for", unasked, "sync:"},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.what);
    Probe p = Dial(mallory.key, alice);
    ASSERT_TRUE(p.conn->Send(p.stream, c.message).ok());
    EXPECT_TRUE(ClosedWith(p, kCloseProtocol, c.why));
  }

  // A join claim from a member is moot, well-formed or not: ignored, and the connection
  // stays (the empty message behind it is what closes it).
  Bytes short_claim = Message(kMessageJoinClaim, Bytes(10, 1));
  for (const Bytes& claim : {short_claim, Message(kMessageJoinClaim)}) {
    Probe p = Dial(mallory.key, alice);
    ASSERT_TRUE(p.conn->Send(p.stream, claim).ok());
    ASSERT_TRUE(p.conn->Send(p.stream, Bytes()).ok());
    EXPECT_TRUE(ClosedWith(p, kCloseProtocol, "an empty message"));
  }

  // Seeded random messages of every kind, each on a new connection: the node either closes
  // it with a protocol error or goes on.
  std::mt19937_64 rng(20240611);
  size_t closed = 0;
  for (int i = 0; i < 60; ++i) {
    Probe p = Dial(mallory.key, alice);
    Bytes m = RandomBytes(rng, rng() % 300);
    if (!m.empty()) m[0] = static_cast<uint8_t>(rng() % 7);  // mostly known kinds
    ASSERT_TRUE(p.conn->Send(p.stream, m).ok());
    RunUntil([&] { return p.closed(); }, 200ms);
    if (p.closed()) {
      ++closed;
      EXPECT_EQ(p.seen->closed->code, kCloseProtocol) << "message " << i << ": " << HexEncode(m);
    } else {
      p.conn->Close(net::kErrorNone, "done");
    }
  }
  EXPECT_GT(closed, 40u);

  EXPECT_EQ(Stored(alice), before) << "what alice stores is unchanged";
  EXPECT_TRUE(Connected(alice, bob)) << "bob's connection was never touched";
  AliceStillServesBob();
}

TEST_F(NetworkTest, RandomDatagramsLeaveTheNodeServing) {
  MakeAlicesData();
  Start(alice);
  BobConnectsAndConverges();
  const std::string before = Stored(alice);

  asio::ip::udp::socket attacker(io,
                                 asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto to = net::ParseHostPort(alice.net->local_address());
  ASSERT_TRUE(to.ok());
  std::mt19937_64 rng(7);
  for (int i = 0; i < 3000; ++i) {
    Bytes d = RandomBytes(rng, rng() % 1400);
    if (i % 3 == 1 && !d.empty())
      d[0] = static_cast<uint8_t>(0x40 | (d[0] & 0x3f));  // short header
    if (i % 3 == 2 && d.size() > 5) {                     // a QUIC v1 long header
      d[0] = static_cast<uint8_t>(0xc0 | (d[0] & 0x0f));
      d[1] = d[2] = d[3] = 0;
      d[4] = 1;
    }
    std::error_code ec;
    attacker.send_to(asio::buffer(d.data(), d.size()), *to, 0, ec);
    if (i % 50 == 49) RunFor(5ms);  // let the node keep up, so the kernel drops few
  }
  RunFor(200ms);

  EXPECT_EQ(Stored(alice), before);
  EXPECT_TRUE(Connected(alice, bob));
  AliceStillServesBob();
  // And a new member still gets in.
  JoinThroughBundles(mallory);
  Probe p = Dial(mallory.key, alice);
  ASSERT_TRUE(p.conn
                  ->Send(p.stream, Message(kMessageSync,
                                           sync::EncodeFrame(sync::Frame{0, sync::HelloFrame{}})))
                  .ok());
  EXPECT_TRUE(RunUntil([&] { return !p.seen->messages.empty(); }))
      << "a member's session is answered";
  EXPECT_FALSE(p.closed());
}

// ---- a peer that crashed ----

// A device key that sorts after `other` (or before it).
crypto::SigningKey KeyAfter(const crypto::PublicKey& other, bool after) {
  for (;;) {
    crypto::SigningKey k = crypto::SigningKey::Generate();
    if ((other < k.public_key()) == after) return k;
  }
}

// Bob's process dies (no close reaches alice, whose connection to him stays open until it
// idles out) and starts again on a new port: he dials alice and is served at once, whichever
// of their keys sorts first (simultaneous dials keep the connection the smaller key made).
TEST_F(NetworkTest, APeerThatCrashedIsServedAgainWhenItRedials) {
  MakeAlicesData();
  Start(alice);
  for (bool after : {true, false}) {
    SCOPED_TRACE(after ? "bob's key sorts after alice's" : "bob's key sorts before alice's");
    Device b(dir, after ? "bob-after" : "bob-before", KeyAfter(alice.device(), after));
    JoinThroughBundles(b);
    {
      asio::io_context crashed;  // bob's first process: its loop stops running for good
      Start(b, &crashed);
      b.net->AddPeer(alice.net->local_address(), alice.device());
      Write(alice, secret);
      ASSERT_TRUE(RunUntil([&] { return Connected(alice, b) && SameHeads(b, alice, secret); }, 10s,
                           &crashed));
      b.net.reset();  // silently: no packet leaves
    }
    ASSERT_TRUE(Connected(alice, b)) << "alice still holds the dead connection";
    Start(b);
    b.net->AddPeer(alice.net->local_address(), alice.device());
    Write(alice, secret);
    EXPECT_TRUE(RunUntil([&] { return SameHeads(b, alice, secret); }, 5s))
        << "bob is served again well before the old connection idles out";
    bool stopped = false;
    b.net->Stop([&] { stopped = true; });
    EXPECT_TRUE(RunUntil([&] { return stopped; }, 5s));
    b.net.reset();
  }
}

// ---- files ----

// A file of `bytes` seeded bytes at `path`.
void WriteSeeded(const std::string& path, size_t bytes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string content(bytes, '\0');
  for (auto& c : content) c = static_cast<char>(rng());
  std::ofstream(path, std::ios::binary) << content;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

store::FileStore FilesOf(Device& d) {
  return std::move(store::FileStore::Open(d->database())).value();
}

class NetworkFileTest : public NetworkTest {
 protected:
  // Bob fetches `f` from his peers the way file.save does (the manifest, then the chunks)
  // and writes it; the fetch's figures.
  FetchProgress FetchAndSave(const AddedFile& f, const std::string& out) {
    const codec::ChunkAddress job = f.ref.manifest;
    EXPECT_TRUE(bob.net->FetchChunks(job, {job}).ok());
    auto settled = [&] {
      auto p = bob.net->ChunkFetchProgress(job);
      return p && (p->done || p->failed);
    };
    EXPECT_TRUE(RunUntil(settled)) << "the manifest arrives";
    store::FileStore files = FilesOf(bob);
    auto manifest = OpenManifest(files, f.ref);
    EXPECT_TRUE(manifest.ok()) << manifest.status().ToString();
    if (!manifest.ok()) return {};
    EXPECT_TRUE(bob.net->FetchChunks(job, manifest->chunks).ok());
    EXPECT_TRUE(RunUntil(settled, 30s)) << "the chunks arrive";
    FetchProgress p = *bob.net->ChunkFetchProgress(job);
    EXPECT_FALSE(p.failed) << p.failed->ToString();
    Status written = WriteFile(files, f.ref, *manifest, out, false);
    EXPECT_TRUE(written.ok()) << written.ToString();
    return p;
  }
};

TEST_F(NetworkFileTest, AFileAddedOnOneNodeIsFetchedAndSavedOnAnother) {
  MakeAlicesData();
  Start(alice);
  BobConnectsAndConverges();
  const std::string source = dir.File("photo.raw");
  WriteSeeded(source, (size_t{3} << 20) + 4321, 7);  // 4 chunks
  store::FileStore files = FilesOf(alice);
  auto f = AddFile(files, source, "", "image/x-raw", 1);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->manifest.chunks.size(), 4u);

  const std::string out = dir.File("photo-bob.raw");
  FetchProgress p = FetchAndSave(*f, out);
  EXPECT_EQ(p.fetched, 4u);
  EXPECT_EQ(p.rejected, 0u);
  EXPECT_EQ(ReadAll(out), ReadAll(source)) << "bob wrote the exact bytes";

  // Everything is held now: a second fetch asks nobody.
  ASSERT_TRUE(bob.net->FetchChunks(f->ref.manifest, f->manifest.chunks).ok());
  auto again = bob.net->ChunkFetchProgress(f->ref.manifest);
  ASSERT_TRUE(again && again->done);
  EXPECT_EQ(again->fetched, 0u);
  AliceStillServesBob();
}

TEST_F(NetworkFileTest, ChunksFromALyingPeerAreRejectedAndAnHonestPeerServesThem) {
  MakeAlicesData();
  JoinThroughBundles(mallory);
  Start(alice);
  BobConnectsAndConverges();
  const std::string source = dir.File("doc.bin");
  WriteSeeded(source, (size_t{4} << 20) + 1, 11);  // 5 chunks
  store::FileStore files = FilesOf(alice);
  auto f = AddFile(files, source, "", "", 1);
  ASSERT_TRUE(f.ok()) << f.status().ToString();

  // Mallory, a member, connects to bob and answers every chunk request with junk of a
  // plausible size.
  Probe m = Dial(mallory.key, bob);
  auto asked = std::make_shared<size_t>(0);
  std::weak_ptr<net::Connection> weak = m.conn;
  m.conn->on_message = [asked, weak](int64_t stream, Bytes message) {
    auto c = weak.lock();
    if (!c || message.empty() || message[0] != kMessageChunkRequest || message.size() != 33) return;
    ++*asked;
    Bytes reply = {kMessageChunkReply};
    reply.insert(reply.end(), message.begin() + 1, message.end());
    reply.push_back(kChunkData);
    reply.resize(reply.size() + 1000, 0x42);
    (void)c->Send(stream, reply);
  };
  // Her first message opens the stream; bob then counts her as a peer to fetch from.
  ASSERT_TRUE(m.conn->Send(m.stream, Message(kMessageChunkRequest, Bytes(32, 1))).ok());
  ASSERT_TRUE(RunUntil([&] { return Connected(bob, mallory); }));
  RunFor(100ms);

  const std::string out = dir.File("doc-bob.bin");
  FetchProgress p = FetchAndSave(*f, out);
  EXPECT_GE(*asked, 1u) << "mallory was asked for chunks";
  EXPECT_EQ(bob.net->Describe()["files"]["rejected"], *asked) << "every junk answer was rejected";
  EXPECT_EQ(ReadAll(out), ReadAll(source)) << "bob wrote the exact bytes all the same";
}

}  // namespace
}  // namespace topo::node
