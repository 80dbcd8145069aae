// The network's part in moving files: carrying the chunk exchange's messages
// (node/chunk_exchange.h) on the admitted peers' connections. Kept apart from network.cc's
// sync and admission code; network.cc calls in at three places (a session starts, a
// connection ends, a chunk message arrives).
#include <chrono>

#include "node/network.h"
#include "util/clock.h"
#include "util/encoding.h"

namespace topo::node {

namespace {
uint64_t NowMs() { return SystemClock::Instance().NowMs(); }
}  // namespace

void Network::OnChunkPeer(const crypto::PublicKey& peer, bool up) {
  if (!chunks_ || stopping_) return;
  if (up)
    chunks_->PeerUp(peer, NowMs());
  else
    chunks_->PeerDown(peer, NowMs());
  PumpChunks();
}

Status Network::OnChunkMessage(const crypto::PublicKey& peer, size_t queued_to_peer, uint8_t kind,
                               ByteView body) {
  // Only admitted peers get here (Network::OnMessage refuses the others first).
  Status s = kind == kMessageChunkRequest ? chunks_->OnRequest(peer, body, queued_to_peer)
                                          : chunks_->OnReply(peer, body, NowMs());
  PumpChunks();
  return s;
}

void Network::PumpChunks() {
  // A request to a peer gone meanwhile comes back through PeerDown or its timeout.
  for (auto& o : chunks_->TakeOutgoing()) (void)SendToPeer(o.peer, o.message);
  for (const auto& note : chunks_->TakeNotes()) log_.Info(note);
  auto deadline = chunks_->NextDeadline();
  if (!deadline || stopping_) {
    chunk_timer_.cancel();
    return;
  }
  const uint64_t now = NowMs();
  chunk_timer_.expires_after(std::chrono::milliseconds(*deadline > now ? *deadline - now : 0));
  chunk_timer_.async_wait([this](asio::error_code ec) {
    if (ec || stopping_) return;  // re-armed, cancelled, or the network is stopping
    chunks_->Tick(NowMs());
    PumpChunks();
  });
}

Status Network::FetchChunks(const codec::ChunkAddress& job,
                            const std::vector<codec::ChunkAddress>& addresses) {
  Status s = chunks_->Fetch(job, addresses, NowMs());
  PumpChunks();
  return s;
}

std::optional<FetchProgress> Network::ChunkFetchProgress(const codec::ChunkAddress& job) const {
  return chunks_->Progress(job);
}

void Network::ForgetChunkFetch(const codec::ChunkAddress& job) { chunks_->Forget(job); }

nlohmann::json Network::ChunkStatsJson() const {
  const ChunkExchange::Stats& s = chunks_->stats();
  return {{"chunks_served", s.requests_served},
          {"not_held", s.not_held},
          {"busy", s.busy},
          {"chunks_fetched", s.fetched},
          {"rejected", s.rejected},
          {"unsolicited", s.unsolicited}};
}

}  // namespace topo::node
