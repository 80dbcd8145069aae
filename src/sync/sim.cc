#include "sync/sim.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>

#include "codec/identity.h"
#include "object/replica.h"
#include "sync/pull_planner.h"
#include "sync/replica_index.h"
#include "sync/replica_source.h"
#include "util/encoding.h"

namespace topo::sync {
namespace {

// Sessions in the simulator: what each asks at once, and the bound on a peer's hello (no
// node here holds more than a few objects, so a hello offering more is a lie).
constexpr size_t kWantIds = 256;
constexpr size_t kWindow = 4;
constexpr size_t kMaxOffers = 1024;
// A generous size for one vertex on the wire (sealed group content is the largest).
constexpr uint64_t kVertexBytes = 512;

// Virtual time as a node sees it: the simulation's clock plus the node's skew.
class SkewedClock final : public Clock {
 public:
  SkewedClock(const uint64_t& now, int64_t skew) : now_(now), skew_(skew) {}
  uint64_t NowMs() const override {
    // Start in 2026 so skews never go below the epoch.
    return static_cast<uint64_t>(static_cast<int64_t>(1'790'000'000'000 + now_) + skew_);
  }

 private:
  const uint64_t& now_;
  int64_t skew_;
};

struct Node {
  int index = 0;
  bool up = true;
  bool byzantine = false;
  bool invited = false;  // node 0 (the group's creator) counts as invited
  int side = 0;          // partition side
  std::string path;
  std::optional<crypto::SigningKey> key;   // the device key
  std::optional<crypto::SigningKey> user;  // the user key behind the device's certificate
  std::optional<crypto::BoxKey> box;
  codec::DeviceCertificate cert;
  // The join this node wrote (once it did): its id, and the claim it shows its peers when
  // it connects, so they serve it the group object its join waits for.
  std::optional<codec::VertexId> join;
  std::optional<codec::JoinOp> claim;
  bool group_changed = false;  // a vertex of the group applied here since the last heal
  std::unique_ptr<SkewedClock> clock;
  std::unique_ptr<object::Replica> replica;
  std::unique_ptr<ReplicaIndex> sets;  // one per node, shared by its peers' views
  // Splits what this node needs among its sessions (one peer number per other node).
  std::unique_ptr<PullPlanner> planner;
};

// One direction of a link: frames leave one after another at its bandwidth.
struct Link {
  uint64_t bandwidth = 0;  // bytes per second; 0 = unlimited
  uint64_t busy_until_us = 0;
};

struct Conn {
  int a = 0, b = 0;  // node indexes, a < b
  uint64_t epoch = 0;
  bool active = false;
  bool start_pending = false;
  uint64_t inflight = 0;
  bool oversized_sent = false;  // the byzantine side sends one frame over the bound per session
  Link link[2];                 // [0]: a to b, [1]: b to a
  // Each side's view of its replica for this peer, and its session over it.
  std::unique_ptr<ReplicaSource> va, vb;
  std::unique_ptr<Session> sa, sb;
};

enum class Kind {
  kDeliver,
  kWrite,
  kJoin,
  kCrash,
  kRestart,
  kPartition,
  kHeal,
  kStart,
  kTick,
  kCheck
};

struct Event {
  Kind kind;
  int conn = -1;
  uint64_t epoch = 0;
  bool to_b = false;
  Bytes frame;
  int node = -1;

  static Event Of(Kind kind) { return Event{kind, -1, 0, false, {}, -1}; }
  static Event ForConn(Kind kind, int conn) { return Event{kind, conn, 0, false, {}, -1}; }
  static Event ForNode(Kind kind, int node) { return Event{kind, -1, 0, false, {}, node}; }
  static Event Deliver(int conn, uint64_t epoch, bool to_b, Bytes frame) {
    return Event{Kind::kDeliver, conn, epoch, to_b, std::move(frame), -1};
  }
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& o) : o_(o), rng_(o.seed) {}

  Result<SimResult> Run() {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(o_.dir, ec);
    if (ec) return Status::IOError("cannot create " + o_.dir + ": " + ec.message());
    // Epoch keys, invite secrets, sealed boxes and content nonces come from the seed too.
    crypto::SeededRandomScope random(o_.seed);
    TOPO_RETURN_IF_ERROR(Setup());
    while (!queue_.empty()) {
      auto it = queue_.begin();
      now_ = it->first;
      Event e = std::move(it->second);
      queue_.erase(it);
      if (now_ > o_.max_time_ms) break;
      TOPO_RETURN_IF_ERROR(Handle(e));
      if (done_) break;
      Pump();
    }
    if (!done_) {
      result_.problem =
          "did not settle within " + std::to_string(o_.max_time_ms) + " ms: " + result_.problem;
    }
    result_.end_time_ms = now_;
    TOPO_RETURN_IF_ERROR(CountHeldLeaks());
    for (auto& c : conns_) Close(*c);
    for (auto& n : nodes_) Down(*n);
    fs::remove_all(o_.dir, ec);
    return result_;
  }

 private:
  void Trace(const std::string& line) {
    if (o_.trace) o_.trace(std::to_string(now_) + " " + line);
  }
  void At(uint64_t t, Event e) { queue_.emplace(t, std::move(e)); }
  uint64_t Rand(uint64_t n) { return n ? rng_() % n : 0; }
  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  bool Honest(const Node& n) const { return !n.byzantine; }
  std::string Name(const Node& n) const { return "node " + std::to_string(n.index); }
  SimNode Info(const Node& n) const { return SimNode{n.index, n.user->public_key()}; }

  // The group and the objects inside it.
  bool InGroup(const codec::ObjectId& object) const {
    return group_ && (object == *group_ || group_set_.count(object));
  }

  Status Open(Node& n) {
    object::ReplicaOptions ro;
    ro.clock = n.clock.get();
    ro.verify_threads = 1;
    ro.box = &*n.box;
    uint64_t counter = n.index * 1'000'000ull + result_.crashes * 10'000ull;
    ro.genesis_nonce = [this, &n, counter]() mutable {
      FixedBytes<16> nonce;
      uint64_t v = o_.seed ^ (counter++ * 0x9e3779b97f4a7c15ull);
      for (int i = 0; i < 8; ++i) nonce.bytes[i] = static_cast<uint8_t>(v >> (8 * i));
      nonce.bytes[8] = static_cast<uint8_t>(n.index);
      return nonce;
    };
    TOPO_ASSIGN_OR_RETURN(n.replica, object::Replica::Open(n.path, n.key->Clone(), ro));
    if (o_.on_open) TOPO_RETURN_IF_ERROR(o_.on_open(*n.replica, Info(n)));
    TOPO_ASSIGN_OR_RETURN(n.sets, ReplicaIndex::Make(*n.replica));
    n.sets->SetOnApplied([this, &n](std::span<const object::AppliedVertex> batch) {
      for (const auto& v : batch)
        if (group_ && v.object == *group_) n.group_changed = true;
    });
    n.group_changed = true;  // a restart heals whatever a crash interrupted
    PullPlanner::Options po;
    po.chunk = kWantIds;
    po.per_peer = kWindow;
    po.timeout_ms = 500;
    n.planner = std::make_unique<PullPlanner>(po);
    n.up = true;
    return Status::Ok();
  }

  void Down(Node& n) {
    n.planner.reset();
    n.sets.reset();
    n.replica.reset();
    n.up = false;
  }

  Status MakeIdentity(Node& n) {
    FixedBytes<32> seed;
    for (int k = 0; k < 8; ++k) seed.bytes[k] = static_cast<uint8_t>(o_.seed >> (8 * k));
    seed.bytes[8] = static_cast<uint8_t>(n.index);
    seed.bytes[9] = 0x51;
    TOPO_ASSIGN_OR_RETURN(auto key, crypto::SigningKey::FromSeed(seed.view()));
    n.key.emplace(std::move(key));
    seed.bytes[9] = 0x52;
    TOPO_ASSIGN_OR_RETURN(auto user, crypto::SigningKey::FromSeed(seed.view()));
    n.user.emplace(std::move(user));
    seed.bytes[9] = 0x53;
    TOPO_ASSIGN_OR_RETURN(auto box, crypto::BoxKey::FromSecret(seed.view()));
    n.box.emplace(std::move(box));
    TOPO_ASSIGN_OR_RETURN(n.cert, codec::MakeDeviceCertificate(*n.user, n.key->public_key(),
                                                               n.box->public_key(), Name(n), 1));
    return Status::Ok();
  }

  Status Setup() {
    const int honest = o_.nodes - (o_.byzantine && o_.nodes > 2 ? 1 : 0);
    // Node 0 and the honest nodes before the last `outsiders` ones are in the group.
    const int members = std::max(1, honest - std::max(0, o_.outsiders));
    for (int i = 0; i < o_.nodes; ++i) {
      auto n = std::make_unique<Node>();
      n->index = i;
      n->byzantine = o_.byzantine && i == o_.nodes - 1 && o_.nodes > 2;
      n->invited = o_.group_objects > 0 && !n->byzantine && i < members;
      n->path = o_.dir + "/node" + std::to_string(i) + ".db";
      TOPO_RETURN_IF_ERROR(MakeIdentity(*n));
      int64_t skew = o_.max_clock_skew_ms
                         ? static_cast<int64_t>(Rand(2 * o_.max_clock_skew_ms + 1)) -
                               static_cast<int64_t>(o_.max_clock_skew_ms)
                         : 0;
      n->clock = std::make_unique<SkewedClock>(now_, skew);
      nodes_.push_back(std::move(n));
      TOPO_RETURN_IF_ERROR(Open(*nodes_.back()));
    }
    // Node 0 makes the objects; sync spreads them.
    Node& zero = *nodes_[0];
    for (int k = 0; k < o_.objects; ++k) {
      TOPO_ASSIGN_OR_RETURN(auto id, zero.replica->CreateObject(k % 2 ? "set" : "counter"));
      objects_.push_back(id);
    }
    if (o_.group_objects > 0) {
      TOPO_ASSIGN_OR_RETURN(auto g, zero.replica->CreateGroup(zero.cert, true));
      group_ = g;
      group_ledger_.insert(g);
      for (int k = 0; k < o_.group_objects; ++k) {
        codec::ObjectId id;
        if (o_.create_group_object) {
          TOPO_ASSIGN_OR_RETURN(id, o_.create_group_object(*zero.replica, Info(zero), g, k));
          // What the app wrote in making it (a channel's name, say) must reach every member.
          TOPO_RETURN_IF_ERROR(
              zero.replica->ForEachInOrder(id, [this](const graph::VertexMeta& m, ByteView) {
                group_ledger_.insert(m.id);
                return true;
              }));
        } else {
          TOPO_ASSIGN_OR_RETURN(id, zero.replica->CreateObject(k % 2 ? "set" : "counter", g));
        }
        group_objects_.push_back(id);
        group_set_.insert(id);
        group_ledger_.insert(id);
      }
      // One link, handed to every invitee out of band (as a user sends it).
      TOPO_ASSIGN_OR_RETURN(auto link, zero.replica->Invite(g, {}));
      invite_ = link;
      group_ledger_.insert(link.invite);
      std::string who;
      for (auto& n : nodes_)
        if (n->invited && n->index != 0) {
          who += " " + std::to_string(n->index);
          At(1 + Rand(o_.write_phase_ms / 2), Event::ForNode(Kind::kJoin, n->index));
        }
      Trace("node 0 creates group " + HexEncodeShort(g) + ", invites" +
            (who.empty() ? " nobody" : who));
    }
    for (int a = 0; a < o_.nodes; ++a)
      for (int b = a + 1; b < o_.nodes; ++b) {
        auto c = std::make_unique<Conn>();
        c->a = a;
        c->b = b;
        for (auto& l : c->link) {
          uint64_t lo = std::min(o_.min_bandwidth_bytes_per_s, o_.max_bandwidth_bytes_per_s);
          l.bandwidth =
              o_.max_bandwidth_bytes_per_s ? lo + Rand(o_.max_bandwidth_bytes_per_s - lo + 1) : 0;
        }
        conns_.push_back(std::move(c));
        At(0, Event::ForConn(Kind::kStart, static_cast<int>(conns_.size() - 1)));
      }
    for (int w = 0; w < o_.writes; ++w) At(1 + Rand(o_.write_phase_ms), Event::Of(Kind::kWrite));
    for (int p = 0; p < o_.partitions; ++p) {
      uint64_t t = 1 + Rand(o_.write_phase_ms / 2);
      At(t, Event::Of(Kind::kPartition));
      At(t + 1 + Rand(o_.write_phase_ms / 2), Event::Of(Kind::kHeal));
    }
    for (int c = 0; c < o_.crashes; ++c) {
      int node = static_cast<int>(Rand(o_.nodes));
      uint64_t t = 1 + Rand(o_.write_phase_ms / 2);
      At(t, Event::ForNode(Kind::kCrash, node));
      At(t + 1 + Rand(o_.write_phase_ms / 2), Event::ForNode(Kind::kRestart, node));
    }
    for (uint64_t t = 100; t < o_.max_time_ms; t += 100) At(t, Event::Of(Kind::kTick));
    for (uint64_t t = o_.write_phase_ms + 1000; t < o_.max_time_ms; t += 1000)
      At(t, Event::Of(Kind::kCheck));
    return Status::Ok();
  }

  bool Reachable(const Conn& c) const {
    const Node& a = *nodes_[c.a];
    const Node& b = *nodes_[c.b];
    return a.up && b.up && (!partitioned_ || a.side == b.side);
  }

  void Close(Conn& c) {
    if (!c.active) return;
    c.active = false;
    ++c.epoch;
    c.inflight = 0;
    // A closed connection's unsent bytes go with it: the next one starts with empty queues.
    for (auto& l : c.link) l.busy_until_us = std::min(l.busy_until_us, now_ * 1000);
    c.sa.reset();
    c.sb.reset();
    c.va.reset();
    c.vb.reset();
    // What each side had asked of the other goes to its other peers.
    if (nodes_[c.a]->planner) nodes_[c.a]->planner->PeerGone(static_cast<uint64_t>(c.b));
    if (nodes_[c.b]->planner) nodes_[c.b]->planner->PeerGone(static_cast<uint64_t>(c.a));
  }

  void ScheduleStart(int index, uint64_t delay) {
    Conn& c = *conns_[index];
    if (c.start_pending) return;
    c.start_pending = true;
    At(now_ + delay, Event::ForConn(Kind::kStart, index));
  }

  // The session's request timeout follows the link's slower direction: a window of want
  // answers must fit in it, or on a slow link every answer would come late and be asked
  // again. (A node sets it from its transport's estimates the same way.)
  uint64_t RequestTimeoutMs(const Conn& c) const {
    uint64_t slowest = 0;
    for (const auto& l : c.link)
      if (l.bandwidth && (!slowest || l.bandwidth < slowest)) slowest = l.bandwidth;
    uint64_t base = 500;
    if (!slowest) return base;
    return base + kWindow * kWantIds * kVertexBytes * 1000 / slowest;
  }

  SessionOptions SessionOpts(Node& self, int peer, const Conn& c) const {
    SessionOptions so;
    so.planner = self.planner.get();
    so.peer = static_cast<uint64_t>(peer);
    so.request_timeout_ms = RequestTimeoutMs(c);
    so.max_attempts = 20;
    so.want_ids = kWantIds;
    so.window = kWindow;
    so.max_offers = kMaxOffers;
    return so;
  }

  // What `self` offers `peer`: what the peer's device may read (Replica::MayRead, asked
  // anew for every hello and every request, so a join applied meanwhile counts), and the
  // group object alone when the peer showed a join claim that holds here. The claim is
  // checked once, when the session starts, as a node checks it when the peer connects.
  ReplicaSource::MayOffer MayOfferTo(Node& self, const Node& peer) {
    if (o_.offer_everything) return nullptr;
    object::Replica* replica = self.replica.get();
    crypto::PublicKey device = peer.key->public_key();
    std::optional<codec::JoinOp> claim = peer.claim;
    if (peer.byzantine) {
      // It shows an invitee's claim as its own: the claim names that invitee's device.
      for (const auto& n : nodes_)
        if (n->claim) {
          claim = n->claim;
          break;
        }
    }
    bool joiner = false;
    if (group_ && claim) {
      auto r = replica->MayReadAsJoiner(device, *group_, *claim);
      joiner = r.ok() && *r;
    }
    std::optional<codec::ObjectId> group = group_;
    return [replica, device, joiner, group](const codec::ObjectId& object) {
      auto r = replica->MayRead(device, object);
      if (r.ok() && *r) return true;
      auto former = replica->MayReadAsFormerMember(device, object);  // as node::Network
      if (former.ok() && *former) return true;
      return joiner && object == *group;
    };
  }

  Status Handle(Event& e) {
    switch (e.kind) {
      case Kind::kStart: {
        Conn& c = *conns_[e.conn];
        c.start_pending = false;
        if (c.active || !Reachable(c)) return Status::Ok();
        c.active = true;
        c.oversized_sent = false;
        ++result_.sessions;
        Node& a = *nodes_[c.a];
        Node& b = *nodes_[c.b];
        c.va = std::make_unique<ReplicaSource>(*a.sets, MayOfferTo(a, b));
        c.vb = std::make_unique<ReplicaSource>(*b.sets, MayOfferTo(b, a));
        c.sa = std::make_unique<Session>(*c.va, SessionOpts(a, c.b, c));
        c.sb = std::make_unique<Session>(*c.vb, SessionOpts(b, c.a, c));
        c.sa->Start(now_);
        c.sb->Start(now_);
        Trace("session " + std::to_string(c.a) + "-" + std::to_string(c.b) + " starts");
        return Status::Ok();
      }
      case Kind::kDeliver: {
        Conn& c = *conns_[e.conn];
        if (e.epoch != c.epoch || !c.active) return Status::Ok();  // the session is gone
        --c.inflight;
        Session& to = e.to_b ? *c.sb : *c.sa;
        Status s = to.Receive(e.frame, now_);
        if (!s.ok()) {
          // What arrived before the violation was asked for: it is kept.
          Ingest(*nodes_[c.a], *c.sa);
          Ingest(*nodes_[c.b], *c.sb);
          ++result_.sessions_ended_by_violation;
          Trace("session " + std::to_string(c.a) + "-" + std::to_string(c.b) +
                " ended: " + s.message());
          Close(c);
          ScheduleStart(e.conn, o_.resync_ms);
        }
        return Status::Ok();
      }
      case Kind::kTick:
        for (auto& c : conns_)
          if (c->active) {
            c->sa->Tick(now_);
            c->sb->Tick(now_);
          }
        return Status::Ok();
      case Kind::kWrite:
        return Write();
      case Kind::kJoin:
        return Join(*nodes_[e.node]);
      case Kind::kCrash: {
        Node& n = *nodes_[e.node];
        if (!n.up) return Status::Ok();
        ++result_.crashes;
        Trace(Name(n) + " crashes");
        for (auto& c : conns_)
          if (c->a == n.index || c->b == n.index) Close(*c);
        Down(n);
        return Status::Ok();
      }
      case Kind::kRestart: {
        Node& n = *nodes_[e.node];
        if (n.up) return Status::Ok();
        Trace(Name(n) + " restarts from its store");
        TOPO_RETURN_IF_ERROR(Open(n));
        for (size_t i = 0; i < conns_.size(); ++i)
          if (conns_[i]->a == n.index || conns_[i]->b == n.index)
            ScheduleStart(static_cast<int>(i), 1);
        return Status::Ok();
      }
      case Kind::kPartition: {
        if (partitioned_) return Status::Ok();
        ++result_.partitions;
        partitioned_ = true;
        for (auto& n : nodes_) n->side = static_cast<int>(Rand(2));
        nodes_[0]->side = 0;
        nodes_[1]->side = 1;
        std::string sides;
        for (auto& n : nodes_) sides += std::to_string(n->side);
        Trace("partition " + sides);
        for (auto& c : conns_)
          if (!Reachable(*c)) Close(*c);
        return Status::Ok();
      }
      case Kind::kHeal:
        if (!partitioned_) return Status::Ok();
        partitioned_ = false;
        Trace("heal");
        for (size_t i = 0; i < conns_.size(); ++i) ScheduleStart(static_cast<int>(i), 1);
        return Status::Ok();
      case Kind::kCheck:
        return Check();
    }
    return Status::Ok();
  }

  Status Write() {
    int who = static_cast<int>(Rand(o_.nodes));
    Node& n = *nodes_[who];
    // A node outside the group writes to open objects only (it never holds the others).
    const size_t total = objects_.size() + (n.invited ? group_objects_.size() : 0);
    if (!n.up || n.byzantine || total == 0) return Status::Ok();
    size_t pick = Rand(total);
    const bool in_group = pick >= objects_.size();
    const codec::ObjectId& obj = in_group ? group_objects_[pick - objects_.size()] : objects_[pick];
    if (in_group && o_.write_group_object) return WriteByHook(n, obj);
    auto field = n.replica->FieldOf(obj, "value");
    if (!field.ok()) return Status::Ok();  // not here yet
    auto bp = n.replica->BlueprintOf(obj);
    if (!bp.ok()) return Status::Ok();
    codec::CrdtOp op = (*bp)->name == "counter"
                           ? codec::CrdtOp{codec::CounterAdd{1}}
                           : codec::CrdtOp{codec::SetAdd{ToBytes("e" + std::to_string(Rand(20)))}};
    auto id = n.replica->Submit(obj, *field, op);
    if (!id.ok()) {
      // Inside the group: not a member yet, or the key has not come.
      Trace(Name(n) + " cannot write to " + HexEncodeShort(obj) + " yet: " + id.status().message());
      return Status::Ok();
    }
    (in_group ? group_ledger_ : ledger_).insert(*id);
    ++result_.honest_writes;
    if (in_group) ++result_.group_writes;
    Trace(Name(n) + " writes " + HexEncodeShort(*id) + (in_group ? " in the group" : ""));
    return Status::Ok();
  }

  // The app's write (SimOptions::write_group_object) to one of the group's objects.
  Status WriteByHook(Node& n, const codec::ObjectId& obj) {
    if (!n.replica->BlueprintOf(obj).ok()) return Status::Ok();  // not here yet
    auto id = o_.write_group_object(*n.replica, Info(n), obj, rng_);
    if (!id.ok()) {
      Trace(Name(n) + " does not write to " + HexEncodeShort(obj) + ": " + id.status().message());
      return Status::Ok();
    }
    group_ledger_.insert(*id);
    ++result_.honest_writes;
    ++result_.group_writes;
    Trace(Name(n) + " writes " + HexEncodeShort(*id) + " in the group (app)");
    return Status::Ok();
  }

  // An invitee accepts the link: its join waits (blocked) until the group comes by sync.
  Status Join(Node& n) {
    if (!n.up) {
      At(now_ + 1000, Event::ForNode(Kind::kJoin, n.index));
      return Status::Ok();
    }
    TOPO_ASSIGN_OR_RETURN(auto id, n.replica->AcceptInvite(*invite_, n.cert));
    n.join = id;
    n.claim = codec::MakeJoinOp(*invite_, n.cert);
    group_ledger_.insert(id);
    Trace(Name(n) + " writes its join " + HexEncodeShort(id));
    return Status::Ok();
  }

  // A member that saw the group change shares the keys with devices that lack them (a
  // join that just applied here).
  void HealKeys(Node& n) {
    if (!n.group_changed || !group_ || !n.up || !Honest(n)) return;
    auto r = n.replica->HealKeys(*group_);
    n.group_changed = false;  // also for its own share-keys, just applied
    if (!r.ok()) {
      if (r.status().code() != Code::kNotFound)  // NotFound: the group is not here yet
        Trace(Name(n) + " cannot share keys: " + r.status().message());
      return;
    }
    if (!*r) return;
    group_ledger_.insert(**r);
    Trace(Name(n) + " shares the group's keys in " + HexEncodeShort(**r));
  }

  bool Holds(Node& n, const codec::VertexId& id, Status& error) {
    auto meta = n.replica->graph_store().GetMeta(id);
    if (!meta.ok()) {
      error = meta.status();
      return false;
    }
    return meta->has_value();
  }

  // After the write phase: does every honest node hold everything it may read, identically?
  Status Check() {
    if (now_ < o_.write_phase_ms) return Status::Ok();
    std::map<bool, std::string> fingerprint;  // by "is a member of the group"
    std::map<bool, int> state_of;             // the node whose app state the others match
    if (o_.state) result_.states.resize(nodes_.size());
    std::map<codec::ObjectId, std::vector<codec::VertexId>> open_heads;
    uint64_t vertices = 0, members = 0;
    for (auto& n : nodes_) {
      if (!Honest(*n)) continue;
      if (!n->up) return Status::Ok();  // a restart is still to come
      const bool member = n->invited;
      Status error = Status::Ok();
      for (const auto* ledger : {&ledger_, &group_ledger_}) {
        if (ledger == &group_ledger_ && !member) continue;
        for (const auto& id : *ledger) {
          if (Holds(*n, id, error)) continue;
          TOPO_RETURN_IF_ERROR(error);
          result_.problem = Name(*n) + " lacks " + HexEncodeShort(id) +
                            (ledger == &group_ledger_ ? " (of the group)" : "");
          return Status::Ok();
        }
      }
      for (const auto& o : objects_) {
        TOPO_ASSIGN_OR_RETURN(auto heads, n->replica->Heads(o));
        auto [it, first] = open_heads.emplace(o, heads);
        if (!first && it->second != heads) {
          result_.problem = Name(*n) + " has other heads of open object " + HexEncodeShort(o);
          return Status::Ok();
        }
      }
      TOPO_ASSIGN_OR_RETURN(auto fp, n->replica->Fingerprint());
      auto [it, first] = fingerprint.emplace(member, fp);
      if (!first && it->second != fp) {
        result_.problem = "fingerprints differ (" + Name(*n) + ")";
        return Status::Ok();
      }
      if (o_.state) {
        TOPO_ASSIGN_OR_RETURN(result_.states[n->index], o_.state(*n->replica, Info(*n)));
        auto [s, first_state] = state_of.emplace(member, n->index);
        if (!first_state && result_.states[s->second] != result_.states[n->index]) {
          result_.problem = "app states differ: " + Name(*nodes_[s->second]) + " and " + Name(*n) +
                            (member ? " (members)" : " (outsiders)");
          return Status::Ok();
        }
      }
      if (member) ++members;
      if (member || !group_) {
        TOPO_ASSIGN_OR_RETURN(auto objs, n->replica->ListObjects());
        vertices = 0;
        for (const auto& o : objs) vertices += o.vertices;
      }
    }
    result_.converged = true;
    result_.lost_nothing = true;
    result_.vertices_per_node = vertices;
    result_.members = group_ ? members : 0;
    result_.problem.clear();
    done_ = true;
    Trace("settled: " + std::to_string(vertices) + " vertices on every member, " +
          std::to_string(ledger_.size()) + " open writes everywhere");
    return Status::Ok();
  }

  // Is `to` entitled to `object`'s vertices from `from`, by the simulation's own account
  // (not by asking the replicas)? Open objects: yes. The group's: only an invitee; the group
  // object once it has written its join; the objects inside once `from` holds that join.
  bool Entitled(Node& from, const Node& to, const codec::ObjectId& object) {
    if (!InGroup(object)) return true;
    if (!to.invited) return false;
    if (to.index == 0) return true;
    if (!to.join) return false;
    Status error = Status::Ok();
    if (Holds(from, *to.join, error)) return true;
    return object == *group_;
  }

  // Vertices of the group in a frame an honest node sends to a peer not entitled to them;
  // and requests it refused (objects it does not offer that peer).
  void CountSentLeaks(Node& from, const Node& to, const Bytes& frame) {
    if (!group_ || !Honest(from)) return;
    auto f = DecodeFrame(frame);
    if (!f.ok()) return;
    if (const auto* e = std::get_if<ErrorFrame>(&f->body))
      if (e->code == Code::kPermissionDenied) ++result_.refused;
    const auto* v = std::get_if<VerticesFrame>(&f->body);
    if (!v) return;
    for (const auto& raw : v->vertices) {
      auto vertex = codec::DecodeVertex(raw);
      if (vertex.ok() && !Entitled(from, to, vertex->object())) {
        ++result_.leaked;
        Trace("LEAK: " + Name(from) + " sends " + HexEncodeShort(vertex->id) + " to " + Name(to));
      }
    }
  }

  // At the end: vertices of the group held by a node never invited into it.
  Status CountHeldLeaks() {
    if (!group_) return Status::Ok();
    for (auto& n : nodes_) {
      if (n->invited || !n->up) continue;
      TOPO_ASSIGN_OR_RETURN(auto objs, n->replica->ListObjects());
      for (const auto& o : objs)
        if (InGroup(o.id)) {
          result_.leaked += o.vertices;
          Trace("LEAK: " + Name(*n) + " holds " + std::to_string(o.vertices) + " vertices of " +
                HexEncodeShort(o.id));
        }
    }
    return Status::Ok();
  }

  codec::ObjectId RandomId() {
    codec::ObjectId id;
    for (auto& x : id.bytes) x = static_cast<uint8_t>(rng_());
    return id;
  }

  // What a byzantine node sends instead of, or besides, an honest frame.
  void Misbehave(Conn& c, bool from_b, std::vector<Bytes>& frames) {
    Node& self = *nodes_[from_b ? c.b : c.a];
    // Request ids this node never issued: its honest session numbers from 1 upwards.
    const uint64_t never_issued = 1'000'000 + Rand(1000);
    uint64_t roll = Rand(12);
    Bytes bad;
    if (roll == 0) {
      bad.resize(1 + Rand(64));
      for (auto& x : bad) x = static_cast<uint8_t>(rng_());
    } else if (roll == 1) {
      // Vertices nobody asked for (a copy of a real one, so it decodes).
      Bytes raw;
      if (!ledger_.empty()) {
        auto got = self.replica->graph_store().GetRaw(*ledger_.begin());
        if (got.ok()) raw = *got;
      }
      if (raw.empty()) raw = {1, 2, 3};
      bad = EncodeFrame({never_issued, VerticesFrame{true, {raw}}});
    } else if (roll == 2) {
      // An endless claim: an object with a trillion items.
      bad = EncodeFrame({0, HelloFrame{{{RandomId(), 1'000'000'000'000}}}});
    } else if (roll == 3 && !frames.empty()) {
      // A forged copy of an honest frame: one byte flipped.
      bad = frames[Rand(frames.size())];
      bad[Rand(bad.size())] ^= static_cast<uint8_t>(1 + Rand(255));
    } else if (roll == 4) {
      // An oversized claim: more objects than any node here holds, each claiming items.
      HelloFrame hello;
      size_t n = kMaxOffers + 1 + Rand(1000);
      for (size_t i = 0; i < n; ++i) hello.objects.push_back({RandomId(), 1 + Rand(1000)});
      std::sort(hello.objects.begin(), hello.objects.end(),
                [](const auto& x, const auto& y) { return x.object < y.object; });
      hello.objects.erase(
          std::unique(hello.objects.begin(), hello.objects.end(),
                      [](const auto& x, const auto& y) { return x.object == y.object; }),
          hello.objects.end());
      bad = EncodeFrame({1, std::move(hello)});
    } else if (roll == 5) {
      // An answer to a reconciliation never asked for.
      bad = EncodeFrame({never_issued, ReconciledFrame{RandomId(), Algorithm::kRiblt, {0}}});
    } else if (roll == 6) {
      // A vertices frame whose counts and lengths promise more than it holds.
      bad.push_back(kFrameVersion);
      bad.push_back(4);                                             // vertices
      bad.push_back(1);                                             // request id 1
      bad.push_back(1);                                             // last
      for (uint8_t b : {0x80, 0x20}) bad.push_back(b);              // 4,096 vertices
      for (uint8_t b : {0xff, 0xff, 0xff, 0x7f}) bad.push_back(b);  // the first: 256 MiB
      bad.push_back(0);
    } else if (roll == 7 && !c.oversized_sent) {
      // A frame over the size bound: in one session of four, once (it holds its link for
      // seconds, and the simulator's memory while it travels).
      c.oversized_sent = true;
      if (Rand(4) != 0) return;
      bad.push_back(kFrameVersion);
      bad.push_back(4);
      bad.push_back(1);
      bad.resize(kMaxFrameBytes + 1, 0);
    } else if (roll == 8 && group_) {
      // Requests for the group's objects, which it may not read: wants of their vertices
      // and a reconciliation.
      std::vector<codec::VertexId> ids(group_ledger_.begin(), group_ledger_.end());
      if (ids.size() > kMaxWantIds) ids.resize(kMaxWantIds);
      codec::ObjectId target =
          group_objects_.empty() || Rand(2) ? *group_ : group_objects_[Rand(group_objects_.size())];
      frames.push_back(EncodeFrame({never_issued, WantFrame{target, ids}}));
      bad = EncodeFrame({never_issued + 1, ReconcileFrame{target, Algorithm::kNegentropy, {0x61}}});
    } else {
      return;
    }
    frames.push_back(std::move(bad));
  }

  void Ship(int index, bool from_b) {
    Conn& c = *conns_[index];
    Session& from = from_b ? *c.sb : *c.sa;
    Node& sender = *nodes_[from_b ? c.b : c.a];
    Node& receiver = *nodes_[from_b ? c.a : c.b];
    Link& link = c.link[from_b ? 1 : 0];
    std::vector<Bytes> frames = from.TakeOutgoing();
    if (sender.byzantine && Rand(3) == 0) Misbehave(c, from_b, frames);
    const uint64_t now_us = now_ * 1000;
    for (auto& f : frames) {
      ++result_.frames;
      result_.bytes += f.size();
      CountSentLeaks(sender, receiver, f);
      // The frame leaves after the ones before it on this link, at the link's bandwidth.
      uint64_t leaves_us = std::max(now_us, link.busy_until_us);
      if (Honest(sender))
        result_.max_queue_ms = std::max(result_.max_queue_ms, (leaves_us - now_us) / 1000);
      if (link.bandwidth) leaves_us += (f.size() * 1'000'000 + link.bandwidth - 1) / link.bandwidth;
      link.busy_until_us = leaves_us;
      if (Uniform() < o_.loss) {
        ++result_.frames_lost;
        continue;
      }
      uint64_t at = (leaves_us + 999) / 1000 + o_.latency_ms + Rand(o_.jitter_ms + 1);
      if (Uniform() < o_.duplicate) {
        ++result_.frames_duplicated;
        ++c.inflight;
        At(at + Rand(o_.jitter_ms + 1), Event::Deliver(index, c.epoch, !from_b, f));
      }
      ++c.inflight;
      At(at, Event::Deliver(index, c.epoch, !from_b, std::move(f)));
    }
  }

  void Ingest(Node& n, Session& s) {
    auto arrived = s.TakeArrived();
    if (arrived.empty() || !n.up) return;
    auto r = n.replica->Ingest(std::move(arrived));
    if (!r.ok()) Trace(Name(n) + " ingest failed: " + r.status().message());
    HealKeys(n);
  }

  // After each event: frames out, arrivals in, finished sessions closed and restarted later.
  void Pump() {
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = *conns_[i];
      if (!c.active) continue;
      Ship(static_cast<int>(i), false);
      Ship(static_cast<int>(i), true);
      Ingest(*nodes_[c.a], *c.sa);
      Ingest(*nodes_[c.b], *c.sb);
      if (c.sa->PullComplete() && c.sb->PullComplete() && c.inflight == 0) {
        Close(c);
        ScheduleStart(static_cast<int>(i), o_.resync_ms);
      }
    }
    for (auto& n : nodes_) HealKeys(*n);
  }

  SimOptions o_;
  std::mt19937_64 rng_;
  uint64_t now_ = 0;
  std::multimap<uint64_t, Event> queue_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<codec::ObjectId> objects_;  // open ones
  std::optional<codec::ObjectId> group_;
  std::vector<codec::ObjectId> group_objects_;  // inside the group
  std::set<codec::ObjectId> group_set_;
  std::optional<codec::InviteLink> invite_;
  std::set<codec::VertexId> ledger_;        // honest writes to open objects
  std::set<codec::VertexId> group_ledger_;  // the group's vertices members must all hold
  bool partitioned_ = false;
  bool done_ = false;
  SimResult result_;
};

}  // namespace

Result<SimResult> RunSimulation(const SimOptions& options) {
  if (options.nodes < 2 || options.nodes > 64)
    return Status::InvalidArgument("--nodes must be 2 to 64");
  if (options.dir.empty()) return Status::InvalidArgument("a directory for the nodes is needed");
  if (options.loss < 0 || options.loss >= 1 || options.duplicate < 0 || options.duplicate >= 1)
    return Status::InvalidArgument("loss and duplicate are probabilities below 1");
  if (options.objects < 0 || options.group_objects < 0 ||
      options.objects + options.group_objects + 1 > static_cast<int>(kMaxOffers))
    return Status::InvalidArgument("--objects and --group-objects: 0 to 1,000 together");
  Simulation sim(options);
  return sim.Run();
}

}  // namespace topo::sync
