#include "node/network.h"

#include <asio/post.hpp>
#include <chrono>

#include "codec/reader.h"
#include "store/database.h"
#include "util/clock.h"
#include "util/encoding.h"
#include "util/varint.h"

namespace topo::node {

using nlohmann::json;

// One connected peer.
struct Network::Link {
  explicit Link(asio::io_context& io) : timer(io), admission_timer(io) {}
  std::shared_ptr<net::Connection> conn;
  Admission admission = Admission::kPending;
  std::optional<codec::ObjectId> joiner_group;  // kJoiner: the group it may read
  std::optional<codec::JoinOp> join_claim;
  uint64_t peer_number = 0;
  // The current session pair's stream, and the session.
  int64_t stream = -1;
  std::unique_ptr<sync::ReplicaSource> source;
  std::unique_ptr<sync::Session> session;
  // The figures of the sessions this connection had before the current one (Describe
  // reports the sum), and how many it had.
  sync::SessionStats earlier;
  uint64_t sessions = 0;
  std::set<int64_t> old_streams;  // replaced sessions' streams, closed
  int64_t pending_stream = -1;    // opened by the peer before it was admitted
  asio::steady_timer timer;       // the session's next deadline, or earlier (Arm)
  bool timer_armed = false;
  uint64_t armed_deadline = 0;
  asio::steady_timer admission_timer;
};

namespace {

uint64_t NowMs() { return SystemClock::Instance().NowMs(); }

const char* AdmissionName(int a) {
  switch (a) {
    case 1:
      return "member";
    case 2:
      return "configured";
    case 3:
      return "joiner";
    default:
      return "pending";
  }
}

Bytes Message(uint8_t kind, ByteView body) {
  Bytes m;
  m.reserve(body.size() + 1);
  m.push_back(kind);
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

}  // namespace

Network::Network(asio::io_context& io, object::Replica& replica, Log& log, NetworkOptions options)
    : io_(io),
      replica_(replica),
      log_(log),
      options_(std::move(options)),
      redial_timer_(io),
      chunk_timer_(io) {}

Network::~Network() {
  if (index_) index_->SetOnApplied(nullptr);
}

Result<std::unique_ptr<Network>> Network::Start(asio::io_context& io, object::Replica& replica,
                                                const crypto::SigningKey& device, Log& log,
                                                NetworkOptions options) {
  std::unique_ptr<Network> n(new Network(io, replica, log, std::move(options)));
  auto index = sync::ReplicaIndex::Make(replica);
  if (!index.ok()) return index.status();
  n->index_ = std::move(index).value();
  Network* self = n.get();
  n->index_->SetOnApplied(
      [self](std::span<const object::AppliedVertex> applied) { self->OnApplied(applied); });
  object::IngestPipelineOptions po;
  po.batch_size = n->options_.ingest_batch;
  po.max_pending = n->options_.ingest_max_pending;
  po.on_ready = [self] {
    // From a verify worker: hand the applying to the loop, once.
    asio::post(self->io_, [self] { self->ApplyArrived(); });
  };
  n->pipeline_ = std::make_unique<object::IngestPipeline>(replica, po);
  auto files = store::FileStore::Open(replica.database());
  if (!files.ok()) return files.status();
  n->files_ = std::make_unique<store::FileStore>(std::move(files).value());
  n->chunks_ = std::make_unique<ChunkExchange>(*n->files_, n->options_.chunks);

  net::EndpointOptions eo;
  eo.bind = n->options_.bind;
  eo.identity = device.Clone();
  eo.idle_timeout_ms = n->options_.idle_timeout_ms;
  eo.keep_alive_ms = n->options_.keep_alive_ms;
  // Any authenticated key may finish the handshake; admission is decided from what the
  // peer is (Admit) or proves (a join claim) right after.
  eo.admit = [self](const crypto::PublicKey&) { return !self->stopping_; };
  auto ep = net::Endpoint::Make(io, std::move(eo));
  if (!ep.ok()) return ep.status();
  n->endpoint_ = std::move(ep).value();
  n->endpoint_->on_connection = [self](std::shared_ptr<net::Connection> c) {
    self->OnConnection(std::move(c), nullptr);
  };
  n->log_.Info("listening on " + n->endpoint_->local_address());
  n->Redial();
  return n;
}

Network::Admission Network::Admit(const crypto::PublicKey& peer) const {
  const crypto::PublicKey& self = endpoint_->identity();
  auto groups = replica_.ListGroups();
  if (!groups.ok()) return Admission::kPending;
  for (const auto& g : *groups) {
    auto st = replica_.GroupStateOf(g);
    if (!st.ok()) continue;
    if (st->devices().count(peer) && st->devices().count(self)) return Admission::kMember;
  }
  return Admission::kPending;
}

bool Network::MayOffer(Link& l, const codec::ObjectId& object) {
  if (l.admission == Admission::kPending) return false;
  if (l.admission == Admission::kJoiner && l.joiner_group && l.join_claim && object == *l.joiner_group) {
    auto ok = replica_.MayReadAsJoiner(l.conn->peer(), object, *l.join_claim);
    if (ok.ok() && *ok) return true;
  }
  auto ok = replica_.MayRead(l.conn->peer(), object);
  if (ok.ok() && *ok) return true;
  // A device removed from a group it shares no more with this node (a private channel; it
  // is still in the workspace, so it stays connected) is served that group's membership
  // operations, never what is inside: so it learns its removal.
  auto former = replica_.MayReadAsFormerMember(l.conn->peer(), object);
  return former.ok() && *former;
}

void Network::AddPeer(const std::string& address, std::optional<crypto::PublicKey> key) {
  for (auto& k : known_)
    if (k.address == address && k.key == key) return;
  known_.push_back(Known{address, key, std::nullopt, false});
  Dial(known_.back());
}

void Network::Join(const codec::InviteLink& link, const codec::JoinOp& join) {
  for (const auto& address : link.addresses) {
    known_.push_back(Known{address, link.inviter_device, std::make_pair(link.group, join), false});
    Dial(known_.back());
  }
}

void Network::Dial(Known& k) {
  if (stopping_ || k.dialing) return;
  if (k.key && links_.count(*k.key)) return;
  if (!k.key) {
    // An address without a key: once reached, the peer is known by the key it proved.
    for (const auto& [peer, l] : links_)
      if (l->conn->remote_address() == k.address) return;
  }
  k.dialing = true;
  std::string address = k.address;
  std::optional<crypto::PublicKey> key = k.key;
  log_.Debug("dialing " + address + (key ? " (" + HexEncodeShort(*key) + ")" : ""));
  endpoint_->Connect(address, key, [this, address, key](Result<std::shared_ptr<net::Connection>> c) {
    Known* known = nullptr;
    for (auto& k : known_)
      if (k.address == address && k.key == key) {
        k.dialing = false;
        known = &k;
      }
    if (!c.ok()) {
      log_.Debug("dialing " + address + " failed: " + c.status().message());
      return;
    }
    OnConnection(std::move(c).value(), known);
  });
}

void Network::Redial() {
  if (stopping_) return;
  for (auto& k : known_) Dial(k);
  redial_timer_.expires_after(std::chrono::milliseconds(options_.redial_ms));
  redial_timer_.async_wait([this](asio::error_code ec) {
    if (!ec) Redial();
  });
}

void Network::OnConnection(std::shared_ptr<net::Connection> c, Known* known) {
  const crypto::PublicKey peer = c->peer();
  const crypto::PublicKey& self = endpoint_->identity();
  if (auto it = links_.find(peer); it != links_.end()) {
    if (it->second->conn->inbound() == c->inbound()) {
      // The same side dialed again, which it does only once it has no connection: the
      // older one is dead on that side (a restart, a lost path) though it looks open here
      // until it idles out.
      Drop(*it->second, kCloseDuplicate, "replaced by a newer connection");
    } else {
      // Both dialed at once: keep the connection dialed by the smaller key, on both sides.
      const crypto::PublicKey& dialer_new = c->inbound() ? peer : self;
      const crypto::PublicKey& smaller = peer < self ? peer : self;
      if (dialer_new != smaller) {
        c->Close(kCloseDuplicate, "already connected");
        return;
      }
      Drop(*it->second, kCloseDuplicate, "replaced by a simultaneous connection");
    }
  }
  // A replaced connection's chunk requests are asked again (its on_closed will not say so).
  if (links_.count(peer)) OnChunkPeer(peer, false);
  auto link = std::make_unique<Link>(io_);
  Link& l = *link;
  l.conn = c;
  l.peer_number = next_peer_++;
  l.admission = Admit(peer);
  if (l.admission == Admission::kPending && !c->inbound()) l.admission = Admission::kConfigured;
  links_[peer] = std::move(link);
  log_.Info(std::string(c->inbound() ? "accepted " : "connected to ") + HexEncodeShort(peer) +
            " at " + c->remote_address() + " as " + AdmissionName(static_cast<int>(l.admission)));

  c->on_message = [this, peer](int64_t stream, Bytes message) {
    auto it = links_.find(peer);
    if (it != links_.end()) OnMessage(*it->second, stream, std::move(message));
  };
  c->on_stream_opened_by_peer = [this, peer](int64_t stream) {
    auto it = links_.find(peer);
    if (it == links_.end()) return;
    Link& l = *it->second;
    if (l.admission == Admission::kPending)
      l.pending_stream = stream;
    else
      StartSession(l, stream);
  };
  c->on_writable = [this, peer] {
    auto it = links_.find(peer);
    if (it != links_.end()) Pump(*it->second);
  };
  std::weak_ptr<net::Connection> weak = c;
  c->on_closed = [this, peer, weak](const Status& why) {
    auto it = links_.find(peer);
    if (it == links_.end() || it->second->conn != weak.lock()) return;
    log_.Info("disconnected from " + HexEncodeShort(peer) + ": " + why.message());
    std::unique_ptr<Link> gone = std::move(it->second);
    links_.erase(it);
    OnChunkPeer(peer, false);
    // Destroyed from the loop, not inside the connection's own callback.
    asio::post(io_, [gone = std::shared_ptr<Link>(std::move(gone))] {});
  };

  if (!c->inbound()) {
    auto stream = c->OpenStream();
    if (!stream.ok()) {
      Drop(l, kCloseProtocol, "cannot open a stream: " + stream.status().message());
      return;
    }
    if (known && known->join) {
      ByteView group = known->join->first.view();
      Bytes body(group.begin(), group.end());
      Bytes op = codec::EncodeGroupOp(codec::GroupOp{known->join->second});
      body.insert(body.end(), op.begin(), op.end());
      (void)c->Send(*stream, Message(kMessageJoinClaim, body));
    }
    StartSession(l, *stream);
    return;
  }
  if (l.admission == Admission::kPending) {
    l.admission_timer.expires_after(std::chrono::milliseconds(options_.admission_timeout_ms));
    l.admission_timer.async_wait([this, peer](asio::error_code ec) {
      if (ec) return;  // cancelled: `this` may be gone
      auto it = links_.find(peer);
      if (it == links_.end() || it->second->admission != Admission::kPending) return;
      Drop(*it->second, kCloseNotAdmitted, "not a member of a shared group, and no invite");
    });
  }
}

void Network::StartSession(Link& l, int64_t stream) {
  if (l.stream >= 0 && l.stream != stream) {
    l.old_streams.insert(l.stream);
    (void)l.conn->CloseStream(l.stream);
  }
  l.stream = stream;
  if (l.session) {
    const sync::SessionStats& st = l.session->stats();
    l.earlier.bytes_in += st.bytes_in;
    l.earlier.bytes_out += st.bytes_out;
    l.earlier.frames_in += st.frames_in;
    l.earlier.frames_out += st.frames_out;
    l.earlier.vertices_received += st.vertices_received;
    l.earlier.vertices_sent += st.vertices_sent;
  }
  ++l.sessions;
  Link* lp = &l;
  l.source = std::make_unique<sync::ReplicaSource>(
      *index_, [this, lp](const codec::ObjectId& object) { return MayOffer(*lp, object); });
  l.session = std::make_unique<sync::Session>(*l.source, options_.session);
  l.session->Start(NowMs());
  Pump(l);
  OnChunkPeer(l.conn->peer(), true);
}

void Network::OnMessage(Link& l, int64_t stream, Bytes message) {
  if (message.empty()) return Drop(l, kCloseProtocol, "an empty message");
  const uint8_t kind = message[0];
  ByteView body = ByteView(message).subspan(1);
  if (kind == kMessageJoinClaim) {
    if (l.admission != Admission::kPending) return;  // already in: the claim is moot
    if (body.size() < 32) return Drop(l, kCloseProtocol, "a short join claim");
    codec::ObjectId group = codec::ObjectId::FromView(body.subspan(0, 32));
    auto op = codec::DecodeGroupOp(body.subspan(32));
    const auto* join = op.ok() ? std::get_if<codec::JoinOp>(&*op) : nullptr;
    if (!join) return Drop(l, kCloseProtocol, "a join claim that is not a join");
    auto ok = replica_.MayReadAsJoiner(l.conn->peer(), group, *join);
    if (!ok.ok() || !*ok)
      return Drop(l, kCloseNotAdmitted, "the join claim proves no open invite here");
    l.admission = Admission::kJoiner;
    l.joiner_group = group;
    l.join_claim = *join;
    l.admission_timer.cancel();
    log_.Info("admitted " + HexEncodeShort(l.conn->peer()) + " as a joiner of group " +
              HexEncodeShort(group));
    if (l.pending_stream >= 0) StartSession(l, l.pending_stream);
    return;
  }
  if (l.admission == Admission::kPending)
    return Drop(l, kCloseNotAdmitted, "a sync message before admission");
  if (kind == kMessageChunkRequest || kind == kMessageChunkReply) {
    // On any stream: not part of a sync session.
    Status s = OnChunkMessage(l.conn->peer(), l.conn->queued_bytes(), kind, body);
    if (!s.ok()) Drop(l, kCloseProtocol, s.message());
    return;
  }
  if (kind == kMessageResync) {
    if (!body.empty()) return Drop(l, kCloseProtocol, "a resync request with a body");
    if (l.conn->inbound()) return Drop(l, kCloseProtocol, "a resync request from the dialer");
    auto fresh = l.conn->OpenStream();
    if (fresh.ok()) StartSession(l, *fresh);
    return;
  }
  if (stream != l.stream) {
    if (l.old_streams.count(stream)) return;  // the tail of a replaced session
    StartSession(l, stream);  // the peer started a new session pair
  }
  if (kind == kMessageSync) {
    Status s;
    {
      // The frame's lookups (the vertices answering a want, a range's items, the ids a
      // reconciliation found) share one snapshot and one read lock: outside a transaction
      // each takes and releases SQLite's lock itself, with system calls that cost as much
      // as the lookup. Receive only reads; the pipeline writes later, in Pump.
      std::optional<store::ReadTransaction> read;
      if (!replica_.database().in_transaction()) {
        auto r = store::ReadTransaction::Begin(replica_.database());
        if (r.ok()) read.emplace(std::move(r).value());
      }
      s = l.session->Receive(body, NowMs());
    }
    Pump(l);
    if (!s.ok()) Drop(l, kCloseProtocol, "sync: " + s.message());
    return;
  }
  if (kind == kMessageAnnounce) {
    codec::Reader r(body);
    codec::ObjectId object;
    uint64_t n = 0;
    if (!r.Fixed("object", object).ok() || !r.VarintMax("count", kMaxAnnounceIds, n).ok() ||
        n == 0)
      return Drop(l, kCloseProtocol, "a malformed announce");
    std::vector<codec::VertexId> ids(n);
    for (auto& id : ids)
      if (!r.Fixed("id", id).ok()) return Drop(l, kCloseProtocol, "a malformed announce");
    if (!r.ExpectEnd("announce").ok()) return Drop(l, kCloseProtocol, "a malformed announce");
    l.session->Announced(object, ids, NowMs());
    Pump(l);
    return;
  }
  Drop(l, kCloseProtocol, "an unknown message kind " + std::to_string(kind));
}

bool Network::SendToPeer(const crypto::PublicKey& peer, ByteView message) {
  auto it = links_.find(peer);
  if (it == links_.end() || !it->second->conn->is_open() || it->second->stream < 0) return false;
  Status s = it->second->conn->Send(it->second->stream, message);
  if (!s.ok()) log_.Warn("sending to " + HexEncodeShort(peer) + ": " + s.message());
  return s.ok();
}

void Network::Pump(Link& l) {
  if (!l.session || !l.conn->is_open()) return;
  for (auto& frame : l.session->TakeOutgoing()) {
    Status s = l.conn->Send(l.stream, Message(kMessageSync, frame));
    if (!s.ok()) {
      log_.Warn("sending to " + HexEncodeShort(l.conn->peer()) + ": " + s.message());
      break;
    }
  }
  auto arrived = l.session->TakeArrived();
  if (!arrived.empty()) {
    if (Status s = pipeline_->Add(std::move(arrived)); !s.ok())
      log_.Error("ingest: " + s.message());
  }
  Arm(l);
}

void Network::Arm(Link& l) {
  auto deadline = l.session ? l.session->NextDeadline() : std::nullopt;
  // A wait that ends no later than the next deadline is kept: it fires early and Tick finds
  // nothing due. Re-arming after every message (each want moves the deadlines) cost a
  // timerfd_settime system call each time. With no deadline it fires once for nothing.
  if (!deadline || (l.timer_armed && l.armed_deadline <= *deadline)) return;
  l.timer_armed = true;
  l.armed_deadline = *deadline;
  uint64_t now = NowMs();
  l.timer.expires_after(std::chrono::milliseconds(*deadline > now ? *deadline - now : 0));
  crypto::PublicKey peer = l.conn->peer();
  l.timer.async_wait([this, peer](asio::error_code ec) {
    if (ec) return;  // cancelled (re-armed, or the link or the network is gone)
    auto it = links_.find(peer);
    if (it == links_.end()) return;
    it->second->timer_armed = false;
    if (!it->second->session) return;
    it->second->session->Tick(NowMs());
    Pump(*it->second);
  });
}

void Network::ApplyArrived() {
  if (Status s = pipeline_->ApplyReady(); !s.ok()) log_.Error("ingest: " + s.message());
  // Nothing more in flight: blocked vertices held in memory go to the store.
  if (pipeline_->pending() == 0) {
    if (Status s = pipeline_->Finish(); !s.ok()) log_.Error("ingest: " + s.message());
  }
}

void Network::Drop(Link& l, uint64_t code, const std::string& why) {
  log_.Info("closing " + HexEncodeShort(l.conn->peer()) + ": " + why);
  l.conn->Close(code, why);
}

void Network::OnApplied(std::span<const object::AppliedVertex> applied) {
  std::map<codec::ObjectId, std::vector<codec::VertexId>> by_object;
  for (const auto& a : applied) by_object[a.object].push_back(a.id);
  bool groups_changed = false;
  auto groups = replica_.ListGroups();
  for (const auto& [object, ids] : by_object) {
    if (groups.ok() && std::find(groups->begin(), groups->end(), object) != groups->end())
      groups_changed = true;
    // Big batches are what a sync brings: the peers reconcile them; new writes are small.
    if (ids.size() <= kMaxAnnounceIds) Announce(object, ids);
  }
  if (groups_changed) {
    CheckMembership();
    if (!groups_changed_posted_) {
      groups_changed_posted_ = true;
      asio::post(io_, [this] {
        groups_changed_posted_ = false;
        if (on_groups_changed && !stopping_) on_groups_changed();
      });
    }
  }
  if (on_applied) on_applied(applied);
}

void Network::Announce(const codec::ObjectId& object, const std::vector<codec::VertexId>& ids) {
  Bytes body(object.view().begin(), object.view().end());
  PutVarint(body, ids.size());
  for (const auto& id : ids) body.insert(body.end(), id.view().begin(), id.view().end());
  Bytes message = Message(kMessageAnnounce, body);
  for (auto& [peer, l] : links_) {
    if (!l->session || !l->conn->is_open() || !MayOffer(*l, object)) continue;
    (void)l->conn->Send(l->stream, message);
  }
}

void Network::CheckMembership() {
  std::vector<Link*> resync;
  for (auto& [peer, l] : links_) {
    Admission now = Admit(peer);
    if (l->admission == Admission::kMember && now != Admission::kMember) {
      Drop(*l, kCloseRemoved, "no longer a member of a group shared with this node");
      continue;
    }
    if (l->admission == Admission::kPending && now == Admission::kMember) {
      l->admission = now;
      l->admission_timer.cancel();
      if (l->pending_stream >= 0) StartSession(*l, l->pending_stream);
      continue;
    }
    if (l->admission != Admission::kPending) {
      if (now == Admission::kMember) l->admission = now;
      resync.push_back(l.get());
    }
  }
  // What each may read changed: a fresh session pair offers it (the peer follows on the
  // new stream). Only the side that dialed opens it, so both do not at once; the other
  // side asks it to (kMessageResync).
  for (Link* l : resync) {
    if (!l->conn->is_open()) continue;
    if (l->conn->inbound()) {
      // The dialer opens it: ask.
      if (l->stream >= 0) (void)l->conn->Send(l->stream, Message(kMessageResync, {}));
      continue;
    }
    auto stream = l->conn->OpenStream();
    if (stream.ok()) StartSession(*l, *stream);
  }
}

json Network::Describe() const {
  json peers = json::array();
  for (const auto& [peer, l] : links_) {
    json p{{"device", HexEncode(peer.view())},
           {"address", l->conn->remote_address()},
           {"inbound", l->conn->inbound()},
           {"admission", AdmissionName(static_cast<int>(l->admission))}};
    if (l->session) {
      // Sums over the connection's sessions (a membership change starts a new one), except
      // pull_complete and objects_done, which are the current session's.
      const auto& st = l->session->stats();
      p["sync"] = {{"pull_complete", l->session->PullComplete()},
                   {"sessions", l->sessions},
                   {"vertices_received", l->earlier.vertices_received + st.vertices_received},
                   {"vertices_sent", l->earlier.vertices_sent + st.vertices_sent},
                   {"bytes_in", l->earlier.bytes_in + st.bytes_in},
                   {"bytes_out", l->earlier.bytes_out + st.bytes_out},
                   {"frames_in", l->earlier.frames_in + st.frames_in},
                   {"frames_out", l->earlier.frames_out + st.frames_out},
                   {"objects_done", st.objects_done}};
    }
    peers.push_back(std::move(p));
  }
  json known = json::array();
  for (const auto& k : known_)
    known.push_back({{"address", k.address},
                     {"device", k.key ? json(HexEncode(k.key->view())) : json(nullptr)},
                     {"joining", k.join.has_value()}});
  const object::IngestReport& ingested = pipeline_->report();
  const net::Endpoint::Stats es = endpoint_->stats();
  return {{"listening", endpoint_->local_address()},
          {"peers", peers},
          {"known", known},
          {"ingest_pending", pipeline_->pending()},
          {"ingest",
           {{"applied", ingested.stats.applied},
            {"duplicate", ingested.stats.duplicate},
            {"blocked", ingested.stats.blocked},
            {"rejected", ingested.stats.rejected},
            {"invalid", ingested.stats.invalid}}},
          {"datagrams",
           {{"in", es.datagrams_in}, {"out", es.datagrams_out}, {"dropped", es.datagrams_dropped}}},
          {"files", ChunkStatsJson()}};
}

void Network::Stop(std::function<void()> done) {
  stopping_ = true;
  redial_timer_.cancel();
  chunk_timer_.cancel();
  for (auto& [_, l] : links_) {
    l->timer.cancel();
    l->timer_armed = false;
    l->admission_timer.cancel();
  }
  (void)pipeline_->Finish();
  endpoint_->Stop(std::move(done));
}

}  // namespace topo::node
