// ChunkExchange (node/chunk_exchange.h) without a network: exchanges over in-memory stores,
// their messages carried by the test (and altered, to play a lying peer), time passed by
// hand. Files go in and out through node/files.h, so the bytes written are checked too.
#include "node/chunk_exchange.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <iterator>

#include "node/files.h"
#include "testing/temp_dir.h"
#include "util/encoding.h"

namespace topo::node {
namespace {

using ::topo::testing::TempDir;

crypto::PublicKey Id(uint8_t b) {
  crypto::PublicKey k;
  k.bytes.fill(b);
  return k;
}

struct Peer {
  explicit Peer(uint8_t id, ChunkExchangeOptions o = {}) : id(Id(id)) {
    db = std::move(store::Database::Open(":memory:")).value();
    files = std::make_unique<store::FileStore>(std::move(store::FileStore::Open(*db)).value());
    exchange = std::make_unique<ChunkExchange>(*files, o);
  }
  crypto::PublicKey id;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::FileStore> files;
  std::unique_ptr<ChunkExchange> exchange;
  uint64_t requests_received = 0;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class ChunkExchangeTest : public ::testing::Test {
 protected:
  // A file of `bytes` deterministic bytes, added to `p`'s store.
  AddedFile AddTo(Peer& p, size_t bytes, uint8_t seed = 1) {
    std::string content(bytes, '\0');
    uint32_t x = seed;
    for (auto& c : content) {
      x = x * 1103515245 + 12345;
      c = static_cast<char>(x >> 24);
    }
    source = dir.File("source");
    std::ofstream(source, std::ios::binary) << content;
    auto added = AddFile(*p.files, source, "", "", 1);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    return std::move(added).value();
  }
  // Copies `which` of the file's chunks (and its manifest) from one store to another.
  void Copy(Peer& from, Peer& to, const AddedFile& f, std::function<bool(size_t)> which) {
    auto manifest = from.files->GetChunk(f.ref.manifest);
    ASSERT_TRUE(manifest.ok() && manifest->has_value());
    ASSERT_TRUE(to.files->PutChunk(f.ref.manifest, **manifest).ok());
    for (size_t i = 0; i < f.manifest.chunks.size(); ++i) {
      if (!which(i)) continue;
      auto c = from.files->GetChunk(f.manifest.chunks[i]);
      ASSERT_TRUE(c.ok() && c->has_value());
      ASSERT_TRUE(to.files->PutChunk(f.manifest.chunks[i], **c).ok());
    }
  }
  // Carries every message between the peers until none is left. `alter` may change a
  // message on its way (from, to, message).
  void Run(std::vector<Peer*> peers, std::function<void(Peer&, Peer&, Bytes&)> alter = nullptr) {
    for (bool moved = true; moved;) {
      moved = false;
      for (Peer* from : peers) {
        for (auto& o : from->exchange->TakeOutgoing()) {
          moved = true;
          Peer* to = nullptr;
          for (Peer* p : peers)
            if (p->id == o.peer) to = p;
          ASSERT_NE(to, nullptr);
          if (alter) alter(*from, *to, o.message);
          ByteView body = ByteView(o.message).subspan(1);
          if (o.message[0] == kMessageChunkRequest) {
            ++to->requests_received;
            ASSERT_TRUE(to->exchange->OnRequest(from->id, body, 0).ok());
          } else {
            ASSERT_TRUE(to->exchange->OnReply(from->id, body, now).ok());
          }
        }
      }
    }
  }
  void Connect(Peer& a, Peer& b) {
    a.exchange->PeerUp(b.id, now);
    b.exchange->PeerUp(a.id, now);
  }
  // Fetches the manifest, then the chunks, as file.save does; the progress at the end.
  FetchProgress Fetch(Peer& client, std::vector<Peer*> all, const AddedFile& f,
                      std::function<void(Peer&, Peer&, Bytes&)> alter = nullptr) {
    EXPECT_TRUE(client.exchange->Fetch(f.ref.manifest, {f.ref.manifest}, now).ok());
    Run(all, alter);
    auto manifest = OpenManifest(*client.files, f.ref);
    EXPECT_TRUE(manifest.ok()) << manifest.status().ToString();
    if (!manifest.ok()) return {};
    EXPECT_TRUE(client.exchange->Fetch(f.ref.manifest, manifest->chunks, now).ok());
    Run(all, alter);
    return *client.exchange->Progress(f.ref.manifest);
  }
  // Writes the file out of `p`'s store: the bytes must be those added.
  void ExpectSavesExactly(Peer& p, const AddedFile& f) {
    std::string out = dir.File("saved");
    std::remove(out.c_str());
    ASSERT_TRUE(WriteFile(*p.files, f.ref, f.manifest, out, false).ok());
    EXPECT_EQ(ReadAll(out), ReadAll(source));
  }

  TempDir dir;
  std::string source;
  uint64_t now = 1'000;
};

// 64 KiB chunks are not chosen by AddFile (1 MiB is the smallest it picks), so files here
// are a few MiB to have several chunks.
constexpr size_t kFileBytes = (size_t{5} << 20) + 123;  // 6 chunks

TEST_F(ChunkExchangeTest, FetchesAFileFromAPeerAndItSavesToTheExactBytes) {
  Peer alice(1), bob(2);
  AddedFile f = AddTo(alice, kFileBytes);
  ASSERT_EQ(f.manifest.chunks.size(), 6u);
  Connect(alice, bob);
  FetchProgress p = Fetch(bob, {&alice, &bob}, f);
  EXPECT_TRUE(p.done);
  EXPECT_FALSE(p.failed);
  EXPECT_EQ(p.fetched, 6u);
  EXPECT_EQ(p.held, 6u);
  EXPECT_EQ(alice.exchange->stats().requests_served, 7u);  // the manifest and 6 chunks
  ExpectSavesExactly(bob, f);
}

TEST_F(ChunkExchangeTest, AResumedFetchAsksOnlyForTheChunksNotHeld) {
  Peer alice(1), bob(2);
  AddedFile f = AddTo(alice, kFileBytes);
  // Bob got the manifest and chunks 0, 2 and 4 before he was interrupted.
  Copy(alice, bob, f, [](size_t i) { return i % 2 == 0; });
  Connect(alice, bob);
  ASSERT_TRUE(bob.exchange->Fetch(f.ref.manifest, f.manifest.chunks, now).ok());
  Run({&alice, &bob});
  auto p = bob.exchange->Progress(f.ref.manifest);
  ASSERT_TRUE(p && p->done);
  EXPECT_EQ(p->total, 6u);
  EXPECT_EQ(p->fetched, 3u);
  EXPECT_EQ(alice.requests_received, 3u) << "chunks already held are not asked for";
  ExpectSavesExactly(bob, f);
}

TEST_F(ChunkExchangeTest, ALyingPeerIsCaughtByTheAddressAndAnotherPeerServes) {
  Peer alice(1), mallory(3), bob(2);
  AddedFile f = AddTo(alice, kFileBytes);
  Copy(alice, mallory, f, [](size_t) { return true; });
  Connect(alice, bob);
  Connect(mallory, bob);
  // Mallory answers with other bytes of the right length for every chunk.
  size_t lies = 0;
  auto lie = [&](Peer& from, Peer&, Bytes& m) {
    if (&from == &mallory && m[0] == kMessageChunkReply && m[33] == kChunkData) {
      m.back() ^= 0x5a;
      ++lies;
    }
  };
  FetchProgress p = Fetch(bob, {&alice, &mallory, &bob}, f, lie);
  EXPECT_TRUE(p.done);
  EXPECT_GE(lies, 1u) << "mallory was asked";
  EXPECT_EQ(p.rejected, lies);
  EXPECT_EQ(bob.exchange->stats().rejected, lies);
  // Caught once per fetch: after a lie mallory is asked nothing more for that file (the
  // manifest fetch and the chunk fetch are two; each may meet one lie, plus what was
  // already in flight to her).
  EXPECT_LE(mallory.requests_received, 2 * ChunkExchangeOptions{}.max_in_flight_per_peer);
  for (const auto& c : f.manifest.chunks) {
    auto got = bob.files->GetChunk(c);
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(codec::AddressOfChunk(**got), c) << "nothing but the true bytes is stored";
  }
  ExpectSavesExactly(bob, f);
}

TEST_F(ChunkExchangeTest, WhenNoPeerHasAChunkTheFetchFailsNamingIt) {
  Peer alice(1), carol(3), bob(2);
  AddedFile f = AddTo(alice, kFileBytes);
  // Alice lost chunk 3: neither she nor carol (who has nothing) can serve it.
  Copy(alice, carol, f, [](size_t) { return false; });
  ASSERT_TRUE(alice.db
                  ->Exec("DELETE FROM file_chunks WHERE address = x'" +
                         HexEncode(f.manifest.chunks[3].view()) + "'")
                  .ok());
  Connect(alice, bob);
  Connect(carol, bob);
  FetchProgress p = Fetch(bob, {&alice, &carol, &bob}, f);
  ASSERT_TRUE(p.failed);
  EXPECT_FALSE(p.done);
  EXPECT_EQ(p.failed->code(), Code::kNotFound);
  EXPECT_NE(p.failed->message().find(HexEncode(f.manifest.chunks[3].view())), std::string::npos)
      << p.failed->message();
  EXPECT_NE(p.failed->message().find("1 of 6 chunks missing"), std::string::npos)
      << p.failed->message();
  EXPECT_EQ(p.held, 5u) << "what could be fetched was kept";
  // Asking again starts a new fetch.
  ASSERT_TRUE(bob.exchange->Fetch(f.ref.manifest, f.manifest.chunks, now).ok());
  EXPECT_FALSE(bob.exchange->Progress(f.ref.manifest)->failed) << "a failed fetch starts anew";
}

TEST_F(ChunkExchangeTest, WithNoPeerTheFetchWaitsThenFails) {
  Peer bob(2);
  codec::ChunkAddress manifest = codec::AddressOfChunk(Bytes(40, 1));
  ASSERT_TRUE(bob.exchange->Fetch(manifest, {manifest}, now).ok());
  EXPECT_TRUE(bob.exchange->TakeOutgoing().empty());
  ASSERT_TRUE(bob.exchange->NextDeadline());
  EXPECT_EQ(*bob.exchange->NextDeadline(), now + ChunkExchangeOptions{}.no_peer_wait_ms);
  bob.exchange->Tick(now + 1);
  EXPECT_FALSE(bob.exchange->Progress(manifest)->failed);
  bob.exchange->Tick(*bob.exchange->NextDeadline());
  auto p = bob.exchange->Progress(manifest);
  ASSERT_TRUE(p->failed);
  EXPECT_NE(p->failed->message().find("no peer is connected"), std::string::npos);
}

TEST_F(ChunkExchangeTest, BusyAndSilentPeersAreAskedAgainLaterOrReplaced) {
  ChunkExchangeOptions full;
  full.serve_queue_bytes = 0;  // any queued byte makes alice busy
  Peer alice(1, full), carol(3), bob(2);
  AddedFile f = AddTo(alice, kFileBytes);
  Connect(alice, bob);
  ASSERT_TRUE(bob.exchange->Fetch(f.ref.manifest, {f.ref.manifest}, now).ok());
  auto out = bob.exchange->TakeOutgoing();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(alice.exchange->OnRequest(bob.id, ByteView(out[0].message).subspan(1), 1).ok());
  auto busy = alice.exchange->TakeOutgoing();
  ASSERT_EQ(busy.size(), 1u);
  EXPECT_EQ(busy[0].message[33], kChunkBusy);
  ASSERT_TRUE(bob.exchange->OnReply(alice.id, ByteView(busy[0].message).subspan(1), now).ok());
  EXPECT_TRUE(bob.exchange->TakeOutgoing().empty()) << "not asked again at once";
  ASSERT_EQ(*bob.exchange->NextDeadline(), now + ChunkExchangeOptions{}.busy_retry_ms);
  now += ChunkExchangeOptions{}.busy_retry_ms;
  bob.exchange->Tick(now);
  auto again = bob.exchange->TakeOutgoing();
  ASSERT_EQ(again.size(), 1u) << "asked again after the wait";
  EXPECT_EQ(again[0].peer, alice.id);

  // Alice says nothing now: after the timeout the request goes to carol (who lacks it).
  Connect(carol, bob);
  now += ChunkExchangeOptions{}.request_timeout_ms;
  bob.exchange->Tick(now);
  auto replaced = bob.exchange->TakeOutgoing();
  ASSERT_EQ(replaced.size(), 1u);
  EXPECT_EQ(replaced[0].peer, carol.id);
}

TEST_F(ChunkExchangeTest, MalformedMessagesAreErrorsAndUnaskedChunksAreNotStored) {
  Peer alice(1), bob(2);
  Connect(alice, bob);
  EXPECT_EQ(alice.exchange->OnRequest(bob.id, Bytes(31, 0), 0).code(), Code::kCorruption);
  EXPECT_EQ(alice.exchange->OnRequest(bob.id, Bytes(33, 0), 0).code(), Code::kCorruption);
  auto reply = [](uint8_t status, size_t data) {
    Bytes b(32, 7);
    b.push_back(status);
    b.insert(b.end(), data, 1);
    return b;
  };
  EXPECT_EQ(bob.exchange->OnReply(alice.id, Bytes(32, 0), now).code(), Code::kCorruption);
  EXPECT_EQ(bob.exchange->OnReply(alice.id, reply(3, 0), now).code(), Code::kCorruption);
  EXPECT_EQ(bob.exchange->OnReply(alice.id, reply(kChunkNotHeld, 1), now).code(),
            Code::kCorruption);
  EXPECT_EQ(bob.exchange->OnReply(alice.id, reply(kChunkData, 15), now).code(), Code::kCorruption);
  EXPECT_EQ(
      bob.exchange->OnReply(alice.id, reply(kChunkData, codec::kMaxChunkCiphertextBytes + 1), now)
          .code(),
      Code::kCorruption);
  // Well-formed but never asked for (even with the right address): ignored, not stored.
  Bytes data(100, 9);
  codec::ChunkAddress address = codec::AddressOfChunk(data);
  Bytes unasked(address.view().begin(), address.view().end());
  unasked.push_back(kChunkData);
  Append(unasked, data);
  EXPECT_TRUE(bob.exchange->OnReply(alice.id, unasked, now).ok());
  EXPECT_FALSE(*bob.files->HasChunk(address));
  EXPECT_EQ(bob.exchange->stats().unsolicited, 1u);
  // A request for a chunk not held is answered "not held".
  ASSERT_TRUE(alice.exchange->OnRequest(bob.id, address.view(), 0).ok());
  auto out = alice.exchange->TakeOutgoing();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].message.size(), 34u);
  EXPECT_EQ(out[0].message[33], kChunkNotHeld);
}

}  // namespace
}  // namespace topo::node
