#include "sync/pull_planner.h"

namespace topo::sync {

void PullPlanner::Offer(Peer peer, const codec::ObjectId& object,
                        std::span<const codec::VertexId> ids) {
  auto& list = offered_[{peer, object}];
  for (const auto& id : ids) {
    if (done_.count(id)) continue;
    Wanted& w = wanted_[id];
    w.object = object;
    if (!w.holders.insert(peer).second) continue;
    ++held_[{peer, object}];
    list.push_back(id);
  }
}

bool PullPlanner::Eligible(const codec::VertexId& id, Peer peer) const {
  auto it = wanted_.find(id);
  return it != wanted_.end() && it->second.request == 0 && it->second.holders.count(peer);
}

std::optional<PullPlanner::Request> PullPlanner::Next(Peer peer, uint64_t now) {
  size_t out = 0;
  for (const auto& [token, live] : live_)
    if (live.peer == peer) ++out;
  if (out >= options_.per_peer) return std::nullopt;
  Request r;
  for (auto it = offered_.lower_bound({peer, codec::ObjectId{}});
       it != offered_.end() && it->first.first == peer; ++it) {
    const Key& key = it->first;
    auto take = [&](const codec::VertexId& id) {
      if (!Eligible(id, peer)) return;
      r.ids.push_back(id);
    };
    auto& retry = retry_[key];
    while (!retry.empty() && r.ids.size() < options_.chunk) {
      take(retry.front());
      retry.pop_front();
    }
    size_t& cursor = cursor_[key];
    const auto& list = it->second;
    while (cursor < list.size() && r.ids.size() < options_.chunk) take(list[cursor++]);
    if (!r.ids.empty()) {
      r.object = key.second;
      break;
    }
  }
  if (r.ids.empty()) return std::nullopt;
  r.token = ++last_token_;
  for (const auto& id : r.ids) wanted_.at(id).request = r.token;
  live_[r.token] = Live{peer, now + options_.timeout_ms, r.object, r.ids};
  return r;
}

void PullPlanner::Arrived(const codec::VertexId& id) {
  auto it = wanted_.find(id);
  if (it == wanted_.end()) return;
  for (Peer h : it->second.holders) --held_[{h, it->second.object}];
  wanted_.erase(it);
  done_.insert(id);
}

void PullPlanner::Release(uint64_t token, bool blame_peer) {
  auto it = live_.find(token);
  if (it == live_.end()) return;
  const Live live = std::move(it->second);
  live_.erase(it);
  for (const auto& id : live.ids) {
    auto w = wanted_.find(id);
    if (w == wanted_.end()) continue;  // arrived
    w->second.request = 0;
    // A peer that failed an id is not asked for it again while another peer holds it (with
    // one holder, asking it again is the only way on).
    if (blame_peer && w->second.holders.size() > 1 && w->second.holders.erase(live.peer))
      --held_[{live.peer, live.object}];
    for (Peer h : w->second.holders) retry_[{h, live.object}].push_back(id);
  }
}

void PullPlanner::Answered(uint64_t token) { Release(token, /*blame_peer=*/true); }

std::vector<uint64_t> PullPlanner::Expire(uint64_t now) {
  std::vector<uint64_t> late;
  for (const auto& [token, live] : live_)
    if (live.deadline <= now) late.push_back(token);
  for (uint64_t token : late) Release(token, /*blame_peer=*/true);
  return late;
}

void PullPlanner::PeerGone(Peer peer) {
  std::vector<uint64_t> tokens;
  for (const auto& [token, live] : live_)
    if (live.peer == peer) tokens.push_back(token);
  for (uint64_t token : tokens) Release(token, /*blame_peer=*/false);
  for (auto& [id, w] : wanted_) w.holders.erase(peer);
  for (auto it = offered_.begin(); it != offered_.end();)
    it = it->first.first == peer ? offered_.erase(it) : std::next(it);
  for (auto* m : {&cursor_, &held_})
    for (auto it = m->begin(); it != m->end();)
      it = it->first.first == peer ? m->erase(it) : std::next(it);
  for (auto it = retry_.begin(); it != retry_.end();)
    it = it->first.first == peer ? retry_.erase(it) : std::next(it);
}

size_t PullPlanner::HeldBy(Peer peer, const codec::ObjectId& object) const {
  auto it = held_.find({peer, object});
  return it == held_.end() ? 0 : it->second;
}

}  // namespace topo::sync
