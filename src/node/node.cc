#include "node/node.h"

#include <asio/post.hpp>

#include "node/identity.h"
#include "store/settings.h"
#include "util/clock.h"
#include "util/encoding.h"

namespace topo::node {

Result<std::unique_ptr<Node>> Node::Open(asio::io_context& io, NodeOptions options, Log& log) {
  std::unique_ptr<Node> n(new Node(io, std::move(options), log));
  n->started_at_ms_ = SystemClock::Instance().NowMs();
  if (PathExists(n->db())) {
    auto id = LoadIdentity(n->db(), n->options_.passphrase);
    if (!id.ok()) return id.status();
    n->identity_ = std::make_unique<store::DeviceIdentity>(std::move(id).value());
    if (auto s = n->OpenReplica(); !s.ok()) return s;
  }
  return n;
}

Node::~Node() = default;

void Node::SetAppliedListener(const std::string& name, AppliedListener listener) {
  if (listener)
    applied_listeners_[name] = std::move(listener);
  else
    applied_listeners_.erase(name);
}

void Node::NotifyApplied(std::span<const object::AppliedVertex> applied) {
  if (applied_listeners_.empty() || applied.empty()) return;
  // Posted: the commit that applied them may be inside a caller's work (an RPC's write).
  auto batch = std::make_shared<std::vector<object::AppliedVertex>>(applied.begin(), applied.end());
  std::weak_ptr<bool> alive = alive_;
  asio::post(io_, [this, alive, batch] {
    if (alive.expired()) return;
    // A copy: a listener may replace listeners.
    auto listeners = applied_listeners_;
    for (const auto& [name, fn] : listeners) fn(*batch);
  });
}

namespace {
// Vertices from peers held in the ingest pipeline, in batches of 2,048: three verifying while
// one applies. The loop thread applies a batch in one piece, neither reading the network nor
// acknowledging meanwhile, so a smaller batch keeps that pause short; with 4,096 (the
// replica's default) the receiver held 1 to 3 MiB more at no measured gain (16,384 held
// 6 MiB more, also at none).
constexpr size_t kIngestBatch = 2048;
constexpr size_t kIngestPending = 8192;
// NodeOptions::low_memory.
constexpr int kLowMemoryCacheKib = 1024;
constexpr size_t kLowMemoryIngestBatch = 512;
constexpr size_t kLowMemoryIngestPending = 1024;
// The store's caches: VertexMeta slots (120 bytes each) and the state store's overlays.
constexpr size_t kLowMemoryMetaCacheEntries = 2048;
constexpr size_t kLowMemoryStateCacheBytes = size_t{1} << 20;
constexpr size_t kLowMemoryStateCleanBytes = size_t{512} << 10;
// The engine's refs cache grows to 65,536 entries (7 MB) before it clears itself: dropped
// every 4,096 applied vertices instead.
constexpr size_t kLowMemoryEngineCacheVertices = 4096;
constexpr size_t kLowMemoryWantIds = 256;
constexpr size_t kLowMemoryWindow = 2;
constexpr size_t kLowMemoryFrameBytes = size_t{256} << 10;
constexpr size_t kLowMemoryQueuedNeeds = 2048;
constexpr uint64_t kLowMemoryNegentropyFrame = uint64_t{64} << 10;
}  // namespace

Status Node::OpenReplica() {
  object::ReplicaOptions o;
  o.create_if_missing = false;
  o.box = &identity_->box;
  if (options_.low_memory) {
    o.batch_size = kLowMemoryIngestBatch;
    o.meta_cache_entries = kLowMemoryMetaCacheEntries;
    o.state_cache.dirty_bytes = kLowMemoryStateCacheBytes;
    o.state_cache.scan_bytes = kLowMemoryStateCacheBytes;
    o.state_cache.clean_bytes = kLowMemoryStateCleanBytes;
    o.forget_engine_caches_every = kLowMemoryEngineCacheVertices;
  }
  auto r = object::Replica::Open(db(), identity_->device.Clone(), o);
  if (!r.ok()) return r.status();
  replica_ = std::move(r).value();
  if (options_.low_memory) {
    auto s =
        replica_->database().Exec("PRAGMA cache_size = -" + std::to_string(kLowMemoryCacheKib));
    if (!s.ok()) return s;
  }
  return StartNetwork();
}

namespace {
constexpr std::string_view kPeerPrefix = "peer.";
constexpr std::string_view kJoinPrefix = "join.pending.";
}  // namespace

Status Node::StartNetwork() {
  if (!options_.network) {
    // No network to observe the replica's commits: the node does.
    replica_->SetAppliedObserver(
        [this](std::span<const object::AppliedVertex> applied) { NotifyApplied(applied); });
    return Status::Ok();
  }
  NetworkOptions no;
  no.bind = options_.bind.empty() ? kDefaultBind : options_.bind;
  no.ingest_batch = kIngestBatch;
  no.ingest_max_pending = kIngestPending;
  if (options_.low_memory) {
    no.ingest_batch = kLowMemoryIngestBatch;
    no.ingest_max_pending = kLowMemoryIngestPending;
    no.session.want_ids = kLowMemoryWantIds;
    no.session.window = kLowMemoryWindow;
    no.session.vertices_frame_bytes = kLowMemoryFrameBytes;
    no.session.max_queued_needs = kLowMemoryQueuedNeeds;
    no.session.negentropy_frame_limit = kLowMemoryNegentropyFrame;
  }
  auto n = Network::Start(io_, *replica_, identity_->device, log_, no);
  if (!n.ok()) return n.status();
  network_ = std::move(n).value();
  network_->on_groups_changed = [this] {
    if (on_groups_changed) on_groups_changed();
  };
  network_->on_applied = [this](std::span<const object::AppliedVertex> applied) {
    NotifyApplied(applied);
  };
  // Known peers, and joins not yet applied, from the settings.
  auto peers = store::ListSettings(replica_->database(), std::string(kPeerPrefix));
  if (peers.ok())
    for (const auto& [key, device] : *peers) {
      std::optional<crypto::PublicKey> pinned;
      if (auto k = HexDecodeFixed<32>(device); k.ok()) pinned = *k;
      network_->AddPeer(key.substr(kPeerPrefix.size()), pinned);
    }
  auto joins = store::ListSettings(replica_->database(), std::string(kJoinPrefix));
  if (joins.ok())
    for (const auto& [key, text] : *joins) {
      auto link = codec::DecodeInviteLink(text);
      if (!link.ok()) continue;
      auto member = replica_->MayRead(identity_->device.public_key(), link->group);
      if (member.ok() && *member) {
        // A member now: the join is done, and the inviter stays a peer to keep connected
        // (it may be the only node that knows this one).
        bool kept = true;
        for (const auto& address : link->addresses)
          kept = AddPeer(address, link->inviter_device).ok() && kept;
        if (kept) (void)store::DeleteSetting(replica_->database(), key);
        continue;
      }
      network_->Join(*link, codec::MakeJoinOp(*link, identity_->cert));
    }
  return Status::Ok();
}

Status Node::AddPeer(const std::string& address, std::optional<crypto::PublicKey> key) {
  auto r = replica();
  if (!r.ok()) return r.status();
  if (auto s = store::PutSetting((*r)->database(), std::string(kPeerPrefix) + address,
                                 key ? HexEncode(key->view()) : "");
      !s.ok())
    return s;
  if (network_) network_->AddPeer(address, key);
  return Status::Ok();
}

Status Node::RememberJoin(const codec::InviteLink& link) {
  auto r = replica();
  if (!r.ok()) return r.status();
  if (auto s = store::PutSetting((*r)->database(),
                                 std::string(kJoinPrefix) + HexEncode(link.group.view()),
                                 codec::EncodeInviteLink(link));
      !s.ok())
    return s;
  if (network_ && !link.addresses.empty())
    network_->Join(link, codec::MakeJoinOp(link, identity_->cert));
  return Status::Ok();
}

Result<bool> Node::EnsureIdentity(const std::string& device_name) {
  if (identity_) return false;
  auto init = InitIdentity(db(), options_.passphrase, device_name);
  if (!init.ok()) return init.status();
  identity_ = std::make_unique<store::DeviceIdentity>(std::move(init->id));
  if (auto s = OpenReplica(); !s.ok()) {
    identity_.reset();
    return s;
  }
  log_.Info("created database " + db() + " for device " + identity_->device_name);
  return init->created;
}

Result<object::Replica*> Node::replica() {
  if (!replica_)
    return Status::NotFound("no database at " + db() + " (create one with: topo --db " + db() +
                            " init)");
  return replica_.get();
}

Result<store::DeviceIdentity*> Node::identity() {
  if (!identity_)
    return Status::NotFound("no database at " + db() + " (create one with: topo --db " + db() +
                            " init)");
  return identity_.get();
}

void Node::Stop(std::string why) {
  if (stopping_) return;
  stopping_ = true;
  log_.Info("stopping: " + why);
  auto finish = [this, why] {
    asio::post(io_, [this, why] {
      if (on_stop) on_stop(why);
    });
  };
  if (network_)
    network_->Stop(finish);
  else
    finish();
}

}  // namespace topo::node
