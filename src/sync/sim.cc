#include "sync/sim.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>

#include "object/replica.h"
#include "sync/pull_planner.h"
#include "sync/replica_source.h"
#include "util/encoding.h"

namespace topo::sync {
namespace {

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
  int side = 0;  // partition side
  std::string path;
  std::optional<crypto::SigningKey> key;
  std::unique_ptr<SkewedClock> clock;
  std::unique_ptr<object::Replica> replica;
  std::unique_ptr<ReplicaSource> source;
  // Splits what this node needs among its sessions (one peer number per other node).
  std::unique_ptr<PullPlanner> planner;
};

struct Conn {
  int a = 0, b = 0;  // node indexes, a < b
  uint64_t epoch = 0;
  bool active = false;
  bool start_pending = false;
  uint64_t inflight = 0;
  std::unique_ptr<Session> sa, sb;
};

enum class Kind { kDeliver, kWrite, kCrash, kRestart, kPartition, kHeal, kStart, kTick, kCheck };

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

  Status Open(Node& n) {
    object::ReplicaOptions ro;
    ro.clock = n.clock.get();
    ro.verify_threads = 1;
    uint64_t counter = n.index * 1'000'000ull + result_.crashes * 10'000ull;
    ro.genesis_nonce = [this, &n, counter]() mutable {
      FixedBytes<16> nonce;
      uint64_t v = o_.seed ^ (counter++ * 0x9e3779b97f4a7c15ull);
      for (int i = 0; i < 8; ++i) nonce.bytes[i] = static_cast<uint8_t>(v >> (8 * i));
      nonce.bytes[8] = static_cast<uint8_t>(n.index);
      return nonce;
    };
    TOPO_ASSIGN_OR_RETURN(n.replica, object::Replica::Open(n.path, n.key->Clone(), ro));
    TOPO_ASSIGN_OR_RETURN(n.source, ReplicaSource::Make(*n.replica));
    PullPlanner::Options po;
    po.chunk = 256;
    po.per_peer = 4;
    po.timeout_ms = 500;
    n.planner = std::make_unique<PullPlanner>(po);
    n.up = true;
    return Status::Ok();
  }

  void Down(Node& n) {
    n.planner.reset();
    n.source.reset();
    n.replica.reset();
    n.up = false;
  }

  Status Setup() {
    for (int i = 0; i < o_.nodes; ++i) {
      auto n = std::make_unique<Node>();
      n->index = i;
      n->byzantine = o_.byzantine && i == o_.nodes - 1 && o_.nodes > 2;
      n->path = o_.dir + "/node" + std::to_string(i) + ".db";
      FixedBytes<32> seed;
      for (int k = 0; k < 8; ++k) seed.bytes[k] = static_cast<uint8_t>(o_.seed >> (8 * k));
      seed.bytes[8] = static_cast<uint8_t>(i);
      seed.bytes[9] = 0x51;
      TOPO_ASSIGN_OR_RETURN(auto key, crypto::SigningKey::FromSeed(seed.view()));
      n->key.emplace(std::move(key));
      int64_t skew = o_.max_clock_skew_ms
                         ? static_cast<int64_t>(Rand(2 * o_.max_clock_skew_ms + 1)) -
                               static_cast<int64_t>(o_.max_clock_skew_ms)
                         : 0;
      n->clock = std::make_unique<SkewedClock>(now_, skew);
      nodes_.push_back(std::move(n));
      TOPO_RETURN_IF_ERROR(Open(*nodes_.back()));
    }
    // Node 0 makes the objects; sync spreads them.
    for (int k = 0; k < o_.objects; ++k) {
      TOPO_ASSIGN_OR_RETURN(auto id, nodes_[0]->replica->CreateObject(k % 2 ? "set" : "counter"));
      objects_.push_back(id);
    }
    for (int a = 0; a < o_.nodes; ++a)
      for (int b = a + 1; b < o_.nodes; ++b) {
        auto c = std::make_unique<Conn>();
        c->a = a;
        c->b = b;
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
    c.sa.reset();
    c.sb.reset();
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

  SessionOptions SessionOpts(Node& self, int peer) const {
    SessionOptions so;
    so.planner = self.planner.get();
    so.peer = static_cast<uint64_t>(peer);
    so.request_timeout_ms = 500;
    so.max_attempts = 20;
    so.want_ids = 256;
    return so;
  }

  Status Handle(Event& e) {
    switch (e.kind) {
      case Kind::kStart: {
        Conn& c = *conns_[e.conn];
        c.start_pending = false;
        if (c.active || !Reachable(c)) return Status::Ok();
        c.active = true;
        ++result_.sessions;
        c.sa = std::make_unique<Session>(*nodes_[c.a]->source, SessionOpts(*nodes_[c.a], c.b));
        c.sb = std::make_unique<Session>(*nodes_[c.b]->source, SessionOpts(*nodes_[c.b], c.a));
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
      case Kind::kCrash: {
        Node& n = *nodes_[e.node];
        if (!n.up) return Status::Ok();
        ++result_.crashes;
        Trace("node " + std::to_string(n.index) + " crashes");
        for (auto& c : conns_)
          if (c->a == n.index || c->b == n.index) Close(*c);
        Down(n);
        return Status::Ok();
      }
      case Kind::kRestart: {
        Node& n = *nodes_[e.node];
        if (n.up) return Status::Ok();
        Trace("node " + std::to_string(n.index) + " restarts from its store");
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
    if (!n.up || n.byzantine || objects_.empty()) return Status::Ok();
    const codec::ObjectId& obj = objects_[Rand(objects_.size())];
    auto field = n.replica->FieldOf(obj, "value");
    if (!field.ok()) return Status::Ok();  // not here yet
    auto bp = n.replica->BlueprintOf(obj);
    if (!bp.ok()) return Status::Ok();
    codec::CrdtOp op = (*bp)->name == "counter"
                           ? codec::CrdtOp{codec::CounterAdd{1}}
                           : codec::CrdtOp{codec::SetAdd{ToBytes("e" + std::to_string(Rand(20)))}};
    TOPO_ASSIGN_OR_RETURN(auto id, n.replica->Submit(obj, *field, op));
    ledger_.insert(id);
    ++result_.honest_writes;
    Trace("node " + std::to_string(who) + " writes " + HexEncodeShort(id));
    return Status::Ok();
  }

  // After the write phase: is every honest node holding everything, identically?
  Status Check() {
    if (now_ < o_.write_phase_ms) return Status::Ok();
    std::string first;
    uint64_t vertices = 0;
    for (auto& n : nodes_) {
      if (!Honest(*n) || !n->up) {
        if (Honest(*n)) return Status::Ok();  // a restart is still to come
        continue;
      }
      for (const auto& id : ledger_) {
        TOPO_ASSIGN_OR_RETURN(auto meta, n->replica->graph_store().GetMeta(id));
        if (!meta) {
          result_.problem = "node " + std::to_string(n->index) + " lacks " + HexEncodeShort(id);
          return Status::Ok();
        }
      }
      TOPO_ASSIGN_OR_RETURN(auto fp, n->replica->Fingerprint());
      TOPO_ASSIGN_OR_RETURN(auto objs, n->replica->ListObjects());
      uint64_t count = 0;
      for (const auto& o : objs) count += o.vertices;
      if (first.empty()) {
        first = fp;
        vertices = count;
      } else if (fp != first) {
        result_.problem = "fingerprints differ (node " + std::to_string(n->index) + ")";
        return Status::Ok();
      }
    }
    result_.converged = true;
    result_.lost_nothing = true;
    result_.vertices_per_node = vertices;
    result_.problem.clear();
    done_ = true;
    Trace("settled: " + std::to_string(vertices) + " vertices on every honest node");
    return Status::Ok();
  }

  // What a byzantine node sends instead of, or besides, an honest frame.
  void Misbehave(Conn& c, bool from_b, std::vector<Bytes>& frames) {
    uint64_t roll = Rand(6);
    Bytes bad;
    if (roll == 0) {
      bad.resize(1 + Rand(64));
      for (auto& x : bad) x = static_cast<uint8_t>(rng_());
    } else if (roll == 1) {
      // Vertices nobody asked for (a copy of a real one, so it decodes).
      Bytes raw;
      if (!ledger_.empty()) {
        Node& self = *nodes_[from_b ? c.b : c.a];
        auto got = self.replica->graph_store().GetRaw(*ledger_.begin());
        if (got.ok()) raw = *got;
      }
      if (raw.empty()) raw = {1, 2, 3};
      bad = EncodeFrame({1'000'000 + Rand(1000), VerticesFrame{true, {raw}}});
    } else if (roll == 2) {
      // An endless claim: an object with a trillion items.
      codec::ObjectId fake;
      for (auto& x : fake.bytes) x = static_cast<uint8_t>(rng_());
      bad = EncodeFrame({0, HelloFrame{{{fake, 1'000'000'000'000}}}});
    } else if (roll == 3 && !frames.empty()) {
      // A forged copy of an honest frame: one byte flipped.
      bad = frames[Rand(frames.size())];
      bad[Rand(bad.size())] ^= static_cast<uint8_t>(1 + Rand(255));
    } else {
      return;
    }
    frames.push_back(std::move(bad));
  }

  void Ship(int index, bool from_b) {
    Conn& c = *conns_[index];
    Session& from = from_b ? *c.sb : *c.sa;
    std::vector<Bytes> frames = from.TakeOutgoing();
    if (nodes_[from_b ? c.b : c.a]->byzantine && Rand(3) == 0) Misbehave(c, from_b, frames);
    for (auto& f : frames) {
      ++result_.frames;
      if (Uniform() < o_.loss) {
        ++result_.frames_lost;
        continue;
      }
      uint64_t at = now_ + o_.latency_ms + Rand(o_.jitter_ms + 1);
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
    if (!r.ok())
      Trace("node " + std::to_string(n.index) + " ingest failed: " + r.status().message());
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
  }

  SimOptions o_;
  std::mt19937_64 rng_;
  uint64_t now_ = 0;
  std::multimap<uint64_t, Event> queue_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<codec::ObjectId> objects_;
  std::set<codec::VertexId> ledger_;
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
  Simulation sim(options);
  return sim.Run();
}

}  // namespace topo::sync
