#include "object/group_index.h"

#include <algorithm>
#include <set>

#include "util/encoding.h"

namespace topo::object {

size_t GroupIndex::KeyHash::operator()(const Key& k) const {
  size_t h = k.size();
  for (const auto& id : k) h = h * 1000003 ^ FixedBytesHash()(id);
  return h;
}

Status GroupIndex::Add(const codec::Vertex& v) {
  if (v.object() != group_)
    return Status::InvalidArgument("vertex " + HexEncodeShort(v.id) + " is not of group " +
                                   HexEncodeShort(group_));
  if (index_.count(v.id)) return Status::Ok();
  Node n;
  n.id = v.id;
  n.depth = v.depth;
  for (const auto& p : v.parents) {
    auto it = index_.find(p);
    if (it == index_.end())
      return Status::InvalidArgument("group vertex " + HexEncodeShort(v.id) + ": parent " +
                                     HexEncodeShort(p) + " is not indexed");
    n.parents.push_back(it->second);
  }
  if (v.is_genesis() || v.type == codec::kGroupOpType) {
    TOPO_ASSIGN_OR_RETURN(GroupVertex g, DecodeGroupVertex(v));
    n.acl = std::move(g);
  }
  for (uint32_t p : n.parents) nodes_[p].has_child = true;
  index_.emplace(v.id, static_cast<uint32_t>(nodes_.size()));
  nodes_.push_back(std::move(n));
  return Status::Ok();
}

std::vector<codec::VertexId> GroupIndex::Heads() const {
  std::vector<codec::VertexId> heads;
  for (const Node& n : nodes_)
    if (!n.has_child) heads.push_back(n.id);
  std::sort(heads.begin(), heads.end());
  return heads;
}

Result<std::shared_ptr<GroupIndex::Snapshot>> GroupIndex::Compute(const Key& key) {
  std::vector<uint32_t> start;
  for (const auto& id : key) {
    auto it = index_.find(id);
    if (it == index_.end())
      return Status::InvalidArgument("vertex " + HexEncodeShort(id) + " is not in group " +
                                     HexEncodeShort(group_));
    start.push_back(it->second);
  }
  auto snap = std::make_shared<Snapshot>();

  // One vertex whose parents' state is cached: that state, then the vertex (it is last in
  // (depth, id) order in its own past, since every other vertex there is shallower). Not
  // for a revocation: it may void joins concurrent with it that the parents' state holds.
  const Node& only = nodes_[start[0]];
  const bool revocation =
      only.acl && only.acl->op && std::holds_alternative<codec::RevokeInviteOp>(*only.acl->op);
  if (start.size() == 1 && !only.parents.empty() && !revocation) {
    const Node& n = nodes_[start[0]];
    Key pkey;
    for (uint32_t p : n.parents) pkey.push_back(nodes_[p].id);
    std::sort(pkey.begin(), pkey.end());
    auto it = cache_.find(pkey);
    if (it != cache_.end()) {
      const Snapshot& prev = *it->second.snapshot;
      snap->state = prev.state;
      snap->past = prev.past;
      snap->past.resize(nodes_.size(), false);
      snap->past[start[0]] = true;
      if (n.acl) {
        Status s = snap->state.Check(*n.acl, CheckMode::kFold);
        if (s.ok())
          snap->state.Apply(*n.acl);
        else
          snap->skipped.emplace_back(n.id, s.message());
      }
      return snap;
    }
  }

  // Otherwise fold the whole past (signature checks are cached in the vertices).
  snap->past.assign(nodes_.size(), false);
  std::vector<uint32_t> work = start, order;
  for (uint32_t s : start) snap->past[s] = true;
  while (!work.empty()) {
    uint32_t i = work.back();
    work.pop_back();
    if (nodes_[i].acl) order.push_back(i);
    for (uint32_t p : nodes_[i].parents)
      if (!snap->past[p]) {
        snap->past[p] = true;
        work.push_back(p);
      }
  }
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return std::tie(nodes_[a].depth, nodes_[a].id) < std::tie(nodes_[b].depth, nodes_[b].id);
  });
  // Joins voided by a concurrent revocation of their invite: a join J is voided by a
  // revocation R of its invite in this past unless J is in R's past (R came after J).
  std::set<codec::VertexId> cancelled;
  for (uint32_t r : order) {
    const auto& racl = *nodes_[r].acl;
    const auto* revoke = racl.op ? std::get_if<codec::RevokeInviteOp>(&*racl.op) : nullptr;
    if (!revoke) continue;
    std::vector<bool> r_past = PastOf(r);
    for (uint32_t j : order) {
      const auto& acl = *nodes_[j].acl;
      const auto* join = acl.op ? std::get_if<codec::JoinOp>(&*acl.op) : nullptr;
      if (join && join->invite == revoke->invite && !r_past[j]) cancelled.insert(nodes_[j].id);
    }
  }
  std::vector<GroupVertex> folded;
  folded.reserve(order.size());
  // The fold wants a contiguous span; copies keep the cached verification flags in sync
  // through the pointers below.
  for (uint32_t i : order) folded.push_back(*nodes_[i].acl);
  TOPO_ASSIGN_OR_RETURN(snap->state, GroupState::Fold(folded, &snap->skipped, &cancelled));
  for (size_t k = 0; k < order.size(); ++k) {
    nodes_[order[k]].acl->cert_verified = folded[k].cert_verified;
    nodes_[order[k]].acl->proof_verified = folded[k].proof_verified;
  }
  return snap;
}

std::vector<bool> GroupIndex::PastOf(uint32_t node) const {
  std::vector<bool> past(nodes_.size(), false);
  std::vector<uint32_t> work{node};
  past[node] = true;
  while (!work.empty()) {
    uint32_t i = work.back();
    work.pop_back();
    for (uint32_t p : nodes_[i].parents)
      if (!past[p]) {
        past[p] = true;
        work.push_back(p);
      }
  }
  return past;
}

void GroupIndex::Remember(const Key& key, std::shared_ptr<Snapshot> s) {
  lru_.push_front(key);
  cache_[key] = Entry{std::move(s), lru_.begin()};
  while (cache_.size() > cache_entries_) {
    cache_.erase(lru_.back());
    lru_.pop_back();
  }
}

Result<std::shared_ptr<GroupIndex::Snapshot>> GroupIndex::Lookup(const Key& key) {
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.pos);
    auto s = it->second.snapshot;
    // A snapshot made before later Adds has a shorter past vector: extend it (new vertices
    // cannot be in the past of an older frontier).
    if (s->past.size() < nodes_.size()) s->past.resize(nodes_.size(), false);
    return s;
  }
  TOPO_ASSIGN_OR_RETURN(auto s, Compute(key));
  Remember(key, s);
  return s;
}

Result<const GroupIndex::Snapshot*> GroupIndex::At(std::span<const codec::VertexId> frontier) {
  if (frontier.empty()) return Status::InvalidArgument("an empty group frontier");
  if (last_ && std::equal(frontier.begin(), frontier.end(), last_key_.begin(), last_key_.end())) {
    if (last_->past.size() < nodes_.size()) last_->past.resize(nodes_.size(), false);
    return last_.get();
  }
  Key key(frontier.begin(), frontier.end());
  std::sort(key.begin(), key.end());
  key.erase(std::unique(key.begin(), key.end()), key.end());
  TOPO_ASSIGN_OR_RETURN(last_, Lookup(key));
  // Remember the frontier as asked (sorted callers hit the fast path above).
  last_key_.assign(frontier.begin(), frontier.end());
  return last_.get();
}

bool GroupIndex::InPast(const Snapshot& snapshot, const codec::VertexId& id) const {
  auto it = index_.find(id);
  return it != index_.end() && it->second < snapshot.past.size() && snapshot.past[it->second];
}

Result<bool> GroupIndex::InPast(std::span<const codec::VertexId> frontier,
                                const codec::VertexId& id) {
  auto it = index_.find(id);
  if (it == index_.end())
    return Status::InvalidArgument("vertex " + HexEncodeShort(id) + " is not in group " +
                                   HexEncodeShort(group_));
  TOPO_ASSIGN_OR_RETURN(const Snapshot* s, At(frontier));
  return static_cast<bool>(s->past[it->second]);
}

size_t GroupIndex::ForEachShareTo(
    const crypto::PublicKey& device, size_t from,
    const std::function<void(const codec::VertexId&, const codec::SealedKey&)>& fn) const {
  auto from_list = [&](const codec::VertexId& epoch,
                       const std::vector<codec::DeviceKeyShare>& keys) {
    auto it = std::lower_bound(keys.begin(), keys.end(), device,
                               [](const auto& k, const auto& d) { return k.device < d; });
    if (it != keys.end() && it->device == device) fn(epoch, it->sealed);
  };
  for (size_t i = from; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    if (!n.acl) continue;
    const GroupVertex& g = *n.acl;
    if (g.params) {
      from_list(n.id, g.params->keys);
      continue;
    }
    if (!g.op) continue;
    std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, codec::AddMemberOp>) {
            for (const auto& s : op.keys)
              if (s.share.device == device) fn(s.epoch, s.share.sealed);
          } else if constexpr (std::is_same_v<T, codec::ShareKeysOp>) {
            for (const auto& s : op.shares)
              if (s.share.device == device) fn(s.epoch, s.share.sealed);
          } else if constexpr (std::is_same_v<T, codec::AddDeviceOp>) {
            if (op.cert.device_key == device)
              for (const auto& k : op.keys) fn(k.epoch, k.sealed);
          } else if constexpr (requires { op.keys; }) {
            from_list(n.id, op.keys);
          }
        },
        *g.op);
  }
  return nodes_.size();
}

}  // namespace topo::object
