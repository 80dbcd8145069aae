#include "node/chunk_exchange.h"

#include "util/encoding.h"

namespace topo::node {

namespace {

Bytes Reply(const codec::ChunkAddress& address, uint8_t status, ByteView data = {}) {
  Bytes m;
  m.reserve(34 + data.size());
  m.push_back(kMessageChunkReply);
  Append(m, address.view());
  m.push_back(status);
  Append(m, data);
  return m;
}

}  // namespace

ChunkExchange::ChunkExchange(store::FileStore& store, ChunkExchangeOptions options)
    : store_(store), options_(options) {}

void ChunkExchange::Note(const codec::ChunkAddress& job, const std::string& text) {
  notes_.push_back("file " + HexEncodeShort(job) + ": " + text);
}

// ---- peers ----

void ChunkExchange::PeerUp(const PeerId& peer, uint64_t now_ms) {
  if (!peers_.emplace(peer, 0).second) return;
  // A new peer may hold what no one else had.
  for (auto& [id, job] : jobs_) {
    if (job.progress.done || job.progress.failed) continue;
    for (const auto& a : job.nowhere) job.queue.push_back(a);
    job.nowhere.clear();
  }
  Schedule(now_ms);
}

void ChunkExchange::PeerDown(const PeerId& peer, uint64_t now_ms) {
  if (!peers_.erase(peer)) return;
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.peer != peer) {
      ++it;
      continue;
    }
    auto jt = jobs_.find(it->second.job);
    codec::ChunkAddress address = it->first;
    it = in_flight_.erase(it);
    if (jt != jobs_.end()) {
      --jt->second.progress.in_flight;
      Requeue(jt->second, address, peer, /*refused=*/false);
    }
  }
  Schedule(now_ms);
}

// ---- serving ----

Status ChunkExchange::OnRequest(const PeerId& peer, ByteView body, size_t queued_to_peer) {
  if (body.size() != 32) return Status::Corruption("a malformed chunk request");
  const codec::ChunkAddress address = codec::ChunkAddress::FromView(body);
  if (queued_to_peer > options_.serve_queue_bytes) {
    ++stats_.busy;
    out_.push_back({peer, Reply(address, kChunkBusy)});
    return Status::Ok();
  }
  auto chunk = store_.GetChunk(address);
  if (!chunk.ok() || !chunk->has_value()) {
    if (!chunk.ok()) notes_.push_back("serving a chunk: " + chunk.status().message());
    ++stats_.not_held;
    out_.push_back({peer, Reply(address, kChunkNotHeld)});
    return Status::Ok();
  }
  ++stats_.requests_served;
  out_.push_back({peer, Reply(address, kChunkData, **chunk)});
  return Status::Ok();
}

// ---- fetching ----

Status ChunkExchange::Fetch(const codec::ChunkAddress& job_id,
                            const std::vector<codec::ChunkAddress>& addresses, uint64_t now_ms) {
  auto [it, fresh] = jobs_.try_emplace(job_id);
  Job& job = it->second;
  if (!fresh && (job.progress.done || job.progress.failed)) {
    Forget(job_id);
    return Fetch(job_id, addresses, now_ms);
  }
  uint64_t added = 0;
  for (const auto& a : addresses) {
    if (job.wanted.count(a)) continue;
    auto held = store_.HasChunk(a);
    if (!held.ok()) {
      if (fresh) jobs_.erase(it);
      return held.status();
    }
    ++job.progress.total;
    if (*held) {
      ++job.progress.held;
      continue;
    }
    job.wanted.insert(a);
    job.queue.push_back(a);
    ++added;
  }
  if (added)
    Note(job_id, "fetching " + std::to_string(added) + " of " + std::to_string(job.progress.total) +
                     " chunks from " + std::to_string(peers_.size()) + " connected peer(s)");
  Schedule(now_ms);
  return Status::Ok();
}

std::optional<FetchProgress> ChunkExchange::Progress(const codec::ChunkAddress& job) const {
  auto it = jobs_.find(job);
  if (it == jobs_.end()) return std::nullopt;
  return it->second.progress;
}

void ChunkExchange::Forget(const codec::ChunkAddress& job) {
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.job == job) {
      if (auto p = peers_.find(it->second.peer); p != peers_.end() && p->second) --p->second;
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
  jobs_.erase(job);
}

bool ChunkExchange::Eligible(const Job& job, const codec::ChunkAddress& address,
                             const PeerId& peer) const {
  if (job.liars.count(peer)) return false;
  auto r = job.refused.find(address);
  return r == job.refused.end() || !r->second.count(peer);
}

void ChunkExchange::Requeue(Job& job, const codec::ChunkAddress& address, const PeerId& peer,
                            bool refused) {
  if (!job.wanted.count(address)) return;
  if (refused) job.refused[address].insert(peer);
  job.queue.push_front(address);
}

void ChunkExchange::Schedule(uint64_t now_ms) {
  std::vector<PeerId> peers;
  peers.reserve(peers_.size());
  for (const auto& [p, _] : peers_) peers.push_back(p);
  auto all_full = [&] {
    if (in_flight_.size() >= options_.max_in_flight) return true;
    for (const auto& [_, n] : peers_)
      if (n < options_.max_in_flight_per_peer) return false;
    return true;
  };
  for (auto& [id, job] : jobs_) {
    if (job.progress.done || job.progress.failed) continue;
    // Busy answers whose wait is over may be asked again: no timer is needed for them.
    std::erase_if(job.retry_at, [&](const auto& r) { return r.second <= now_ms; });
    // Each queued chunk is looked at once per pass at most.
    for (size_t n = job.queue.size(); n > 0 && !peers.empty() && !all_full(); --n) {
      codec::ChunkAddress a = job.queue.front();
      job.queue.pop_front();
      if (!job.wanted.count(a) || in_flight_.count(a)) continue;
      if (auto r = job.retry_at.find(a); r != job.retry_at.end() && r->second > now_ms) {
        job.queue.push_back(a);
        continue;
      }
      std::optional<PeerId> chosen;
      bool eligible = false;
      for (size_t i = 0; i < peers.size(); ++i) {
        const PeerId& p = peers[(rotate_ + i) % peers.size()];
        if (!Eligible(job, a, p)) continue;
        eligible = true;
        if (peers_[p] >= options_.max_in_flight_per_peer) continue;
        chosen = p;
        rotate_ = (rotate_ + i + 1) % peers.size();
        break;
      }
      if (!eligible) {
        job.nowhere.push_back(a);
        continue;
      }
      if (!chosen) {
        job.queue.push_back(a);
        continue;
      }
      job.retry_at.erase(a);
      in_flight_[a] = Request{id, *chosen, now_ms + options_.request_timeout_ms};
      ++peers_[*chosen];
      ++job.progress.in_flight;
      Bytes m;
      m.reserve(33);
      m.push_back(kMessageChunkRequest);
      Append(m, a.view());
      out_.push_back({*chosen, std::move(m)});
    }
  }
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it) Settle(it->first, it->second, now_ms);
}

void ChunkExchange::Settle(const codec::ChunkAddress& job_id, Job& job, uint64_t now_ms) {
  FetchProgress& p = job.progress;
  if (p.done || p.failed) return;
  if (job.wanted.empty()) {
    p.done = true;
    Note(job_id, "all " + std::to_string(p.total) + " chunks held (" + std::to_string(p.fetched) +
                     " fetched" +
                     (p.rejected ? ", " + std::to_string(p.rejected) + " rejected" : "") + ")");
    return;
  }
  const std::string missing =
      std::to_string(job.wanted.size()) + " of " + std::to_string(p.total) + " chunks missing";
  if (peers_.empty()) {
    if (!job.no_peer_since) job.no_peer_since = now_ms;
    if (now_ms - *job.no_peer_since >= options_.no_peer_wait_ms)
      Fail(job_id, job,
           Status::NotFound("no peer is connected to fetch the file from (" + missing + ")"));
    return;
  }
  job.no_peer_since.reset();
  if (p.in_flight == 0 && job.queue.empty() && !job.nowhere.empty())
    Fail(job_id, job,
         Status::NotFound("no connected peer has chunk " + HexEncode(job.nowhere.front().view()) +
                          " (" + missing + "; asked " + std::to_string(peers_.size()) +
                          " peer(s))"));
}

void ChunkExchange::Fail(const codec::ChunkAddress& job_id, Job& job, Status why) {
  Note(job_id, "fetch failed: " + why.message());
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.job == job_id) {
      if (auto p = peers_.find(it->second.peer); p != peers_.end() && p->second) --p->second;
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
  job.progress.in_flight = 0;
  job.queue.clear();
  job.nowhere.clear();
  job.retry_at.clear();
  job.progress.failed = std::move(why);
}

void ChunkExchange::Arrived(const codec::ChunkAddress& job_id, Job& job,
                            const codec::ChunkAddress& address) {
  ++job.progress.fetched;
  // Every fetch that wanted it has it now.
  for (auto& [id, j] : jobs_) {
    if (j.progress.done || j.progress.failed || !j.wanted.erase(address)) continue;
    ++j.progress.held;
    j.refused.erase(address);
    j.retry_at.erase(address);
    const uint64_t tenths = j.progress.total ? j.progress.held * 10 / j.progress.total : 10;
    if (j.progress.total >= 10 && tenths > j.noted_tenths && tenths < 10) {
      j.noted_tenths = tenths;
      Note(id, std::to_string(tenths * 10) + "% (" + std::to_string(j.progress.held) + " of " +
                   std::to_string(j.progress.total) + " chunks)");
    }
  }
  (void)job_id;
}

Status ChunkExchange::OnReply(const PeerId& peer, ByteView body, uint64_t now_ms) {
  if (body.size() < 33) return Status::Corruption("a malformed chunk reply");
  const codec::ChunkAddress address = codec::ChunkAddress::FromView(body.subspan(0, 32));
  const uint8_t status = body[32];
  ByteView data = body.subspan(33);
  if (status == kChunkData) {
    if (data.size() < crypto::kAeadTagBytes || data.size() > codec::kMaxChunkCiphertextBytes)
      return Status::Corruption("a chunk reply of " + std::to_string(data.size()) + " bytes");
  } else if (status == kChunkNotHeld || status == kChunkBusy) {
    if (!data.empty()) return Status::Corruption("a malformed chunk reply");
  } else {
    return Status::Corruption("a chunk reply of unknown status " + std::to_string(status));
  }

  auto it = in_flight_.find(address);
  if (it == in_flight_.end() || it->second.peer != peer) {
    // Late (after a timeout) or never asked: nothing is kept.
    ++stats_.unsolicited;
    return Status::Ok();
  }
  const codec::ChunkAddress job_id = it->second.job;
  in_flight_.erase(it);
  if (auto p = peers_.find(peer); p != peers_.end() && p->second) --p->second;
  auto jt = jobs_.find(job_id);
  if (jt == jobs_.end()) return Status::Ok();
  Job& job = jt->second;
  --job.progress.in_flight;

  if (status == kChunkBusy) {
    job.retry_at[address] = now_ms + options_.busy_retry_ms;
    Requeue(job, address, peer, /*refused=*/false);
  } else if (status == kChunkNotHeld) {
    Requeue(job, address, peer, /*refused=*/true);
  } else if (codec::AddressOfChunk(data) != address) {
    // Whatever these bytes are, they are not the chunk: nothing is stored, and this peer is
    // not asked for anything else of this file.
    ++stats_.rejected;
    ++job.progress.rejected;
    job.liars.insert(peer);
    Note(job_id, "peer " + HexEncodeShort(peer) + " sent bytes that do not match chunk " +
                     HexEncodeShort(address) + ": rejected; asking another peer");
    Requeue(job, address, peer, /*refused=*/true);
  } else if (Status s = store_.PutChunk(address, data); !s.ok()) {
    Fail(job_id, job, Status::IOError("storing a chunk: " + s.message()));
  } else {
    ++stats_.fetched;
    Arrived(job_id, job, address);
  }
  Schedule(now_ms);
  return Status::Ok();
}

void ChunkExchange::Tick(uint64_t now_ms) {
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.deadline > now_ms) {
      ++it;
      continue;
    }
    const Request req = it->second;
    const codec::ChunkAddress address = it->first;
    it = in_flight_.erase(it);
    if (auto p = peers_.find(req.peer); p != peers_.end() && p->second) --p->second;
    auto jt = jobs_.find(req.job);
    if (jt == jobs_.end()) continue;
    --jt->second.progress.in_flight;
    Note(req.job, "peer " + HexEncodeShort(req.peer) + " did not answer for chunk " +
                      HexEncodeShort(address) + "; asking another peer");
    Requeue(jt->second, address, req.peer, /*refused=*/true);
  }
  Schedule(now_ms);
}

std::optional<uint64_t> ChunkExchange::NextDeadline() const {
  std::optional<uint64_t> next;
  auto consider = [&](uint64_t t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [_, r] : in_flight_) consider(r.deadline);
  for (const auto& [_, job] : jobs_) {
    if (job.progress.done || job.progress.failed) continue;
    for (const auto& [_, t] : job.retry_at) consider(t);
    if (job.no_peer_since) consider(*job.no_peer_since + options_.no_peer_wait_ms);
  }
  return next;
}

std::vector<ChunkExchange::Outgoing> ChunkExchange::TakeOutgoing() {
  std::vector<Outgoing> out;
  out.swap(out_);
  return out;
}

std::vector<std::string> ChunkExchange::TakeNotes() {
  std::vector<std::string> notes;
  notes.swap(notes_);
  return notes;
}

}  // namespace topo::node
