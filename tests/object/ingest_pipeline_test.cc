// IngestPipeline: vertices handed over as they arrive end applied whatever their order, once
// each, forged ones refused without losing the genuine ones, while the pipeline never holds
// more than its bound; blocked vertices are durable once Finish() returns.
#include "object/ingest_pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "testing/temp_dir.h"

namespace topo::object {
namespace {

std::unique_ptr<Replica> Open(const std::string& path = ":memory:") {
  ReplicaOptions o;
  o.verify_threads = 2;
  auto r = Replica::Open(path, crypto::SigningKey::Generate(), o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

// A source replica holding one counter object of `ops` + 1 vertices; Raws() lists them
// parents first.
struct Source {
  std::unique_ptr<Replica> replica = Open();
  codec::ObjectId object;

  explicit Source(int ops) {
    object = *replica->CreateObject("counter");
    auto field = replica->FieldOf(object, "value");
    for (int i = 0; i < ops; ++i)
      EXPECT_TRUE(replica->Submit(object, *field, codec::CrdtOp{codec::CounterAdd{1}}).ok());
  }
  std::vector<Bytes> Raws() {
    std::vector<Bytes> raws;
    EXPECT_TRUE(replica
                    ->ForEachInOrder(object,
                                     [&](const graph::VertexMeta&, ByteView raw) {
                                       raws.emplace_back(raw.begin(), raw.end());
                                       return true;
                                     })
                    .ok());
    return raws;
  }
  std::string Fingerprint() { return *replica->Fingerprint(); }
};

IngestPipelineOptions Small() {
  IngestPipelineOptions o;
  o.batch_size = 8;
  o.max_pending = 16;
  return o;
}

// Hands `raws` to the pipeline `step` at a time, checking the bound after every call.
void Feed(IngestPipeline& pipe, const std::vector<Bytes>& raws, size_t step) {
  for (size_t i = 0; i < raws.size(); i += step) {
    std::vector<Bytes> part(raws.begin() + i, raws.begin() + std::min(raws.size(), i + step));
    ASSERT_TRUE(pipe.Add(std::move(part)).ok());
    EXPECT_LE(pipe.pending(), pipe.max_pending());
    ASSERT_TRUE(pipe.ApplyReady().ok());
  }
}

TEST(IngestPipeline, ChildrenBeforeParentsEndApplied) {
  Source src(60);
  std::vector<Bytes> raws = src.Raws();
  std::reverse(raws.begin(), raws.end());  // every vertex comes before its parent
  auto dst = Open();
  IngestPipeline pipe(*dst, Small());
  Feed(pipe, raws, 7);
  // Until the genesis, the last to come, everything waits.
  ASSERT_TRUE(pipe.Finish().ok());
  const auto& s = pipe.report().stats;
  EXPECT_EQ(pipe.added(), raws.size());
  EXPECT_EQ(pipe.pending(), 0u);
  EXPECT_EQ(s.applied, raws.size());
  EXPECT_EQ(s.cascaded, raws.size() - 1);
  EXPECT_EQ(s.blocked, raws.size() - 1);
  EXPECT_EQ(s.duplicate + s.rejected + s.invalid, 0u);
  EXPECT_EQ(*dst->graph_store().BlockedCount(), 0u);
  EXPECT_EQ(*dst->Fingerprint(), src.Fingerprint());
}

TEST(IngestPipeline, DuplicatesApplyOnce) {
  Source src(30);
  const std::vector<Bytes> raws = src.Raws();
  std::vector<Bytes> twice = raws;
  twice.insert(twice.end(), raws.begin(), raws.end());
  twice.insert(twice.begin() + 5, raws[9]);  // again before it first came: waits, then dup
  auto dst = Open();
  IngestPipeline pipe(*dst, Small());
  Feed(pipe, twice, 5);
  ASSERT_TRUE(pipe.Finish().ok());
  const auto& s = pipe.report().stats;
  EXPECT_EQ(s.applied, raws.size());
  EXPECT_EQ(s.duplicate, raws.size() + 1);
  EXPECT_EQ(s.rejected + s.invalid, 0u);
  EXPECT_EQ(*dst->Fingerprint(), src.Fingerprint());
}

TEST(IngestPipeline, ForgedSignatureRefusedGenuineVerticesApplied) {
  Source src(40);
  const std::vector<Bytes> raws = src.Raws();
  // Forged copies (same id, broken signature) of two genuine vertices: one comes before the
  // genuine vertex, one after it.
  auto forge = [&](size_t i) {
    codec::Vertex v = *codec::DecodeVertex(raws[i]);
    v.signature.bytes[0] ^= 0x40;
    return codec::EncodeVertex(v);
  };
  std::vector<Bytes> delivery;
  for (size_t i = 0; i < raws.size(); ++i) {
    if (i == 10) delivery.push_back(forge(10));
    delivery.push_back(raws[i]);
    if (i == 20) delivery.push_back(forge(20));
  }
  auto dst = Open();
  IngestPipeline pipe(*dst, Small());
  Feed(pipe, delivery, 6);
  ASSERT_TRUE(pipe.Finish().ok());
  const auto& r = pipe.report();
  EXPECT_EQ(r.stats.invalid, 2u);
  EXPECT_EQ(r.stats.applied, raws.size());
  EXPECT_EQ(r.stats.rejected + r.stats.duplicate, 0u);
  ASSERT_EQ(r.problems.size(), 2u);
  for (const auto& p : r.problems) EXPECT_NE(p.find("signature"), std::string::npos) << p;
  // Not recorded as rejected: a forger cannot poison a genuine vertex's id.
  EXPECT_EQ(*dst->graph_store().RejectedCount(), 0u);
  EXPECT_EQ(*dst->Fingerprint(), src.Fingerprint());
}

TEST(IngestPipeline, HoldsNoMoreThanItsBound) {
  Source src(100);
  const std::vector<Bytes> raws = src.Raws();
  auto dst = Open();
  uint64_t commits = 0;
  dst->SetAppliedObserver([&](std::span<const AppliedVertex>) { ++commits; });
  IngestPipeline pipe(*dst, Small());
  EXPECT_EQ(pipe.max_pending(), 16u);
  // Up to the bound, Add only queues: nothing applies.
  ASSERT_TRUE(pipe.Add(std::vector<Bytes>(raws.begin(), raws.begin() + 16)).ok());
  EXPECT_EQ(pipe.pending(), 16u);
  EXPECT_FALSE(pipe.has_room());
  EXPECT_EQ(pipe.report().stats.applied, 0u);
  EXPECT_EQ(commits, 0u);
  // Past it, Add applies the oldest batches first: a caller that hands over everything at
  // once still never has more than 16 held.
  ASSERT_TRUE(pipe.Add(std::vector<Bytes>(raws.begin() + 16, raws.end())).ok());
  EXPECT_LE(pipe.pending(), 16u);
  EXPECT_GE(pipe.report().stats.applied, raws.size() - 16);
  EXPECT_EQ(commits, (raws.size() - pipe.pending()) / 8);  // one transaction per batch of 8
  ASSERT_TRUE(pipe.Finish().ok());
  EXPECT_EQ(pipe.report().stats.applied, raws.size());
  EXPECT_TRUE(pipe.has_room());
  EXPECT_EQ(*dst->Fingerprint(), src.Fingerprint());
}

TEST(IngestPipeline, ApplyReadyAppliesWhatIsVerifiedWithoutFinish) {
  Source src(4);
  const std::vector<Bytes> raws = src.Raws();  // 5 vertices: less than a batch
  auto dst = Open();
  std::atomic<int> announced{0};
  IngestPipelineOptions o = Small();
  o.on_ready = [&] { announced.fetch_add(1); };
  IngestPipeline pipe(*dst, o);
  ASSERT_TRUE(pipe.Add(raws).ok());
  // Once all that is held is verified, a partial batch goes in: nothing would come sooner.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (pipe.pending() > 0 && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(pipe.ApplyReady().ok());
    if (pipe.pending() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(pipe.report().stats.applied, raws.size());
  EXPECT_GE(announced.load(), 1);
  EXPECT_EQ(*dst->Fingerprint(), src.Fingerprint());
}

TEST(IngestPipeline, BlockedVerticesAreDurableAfterFinish) {
  Source src(20);
  const std::vector<Bytes> raws = src.Raws();
  testing::TempDir dir;
  const std::string path = dir.File("replica.db");
  {
    auto dst = Open(path);
    IngestPipeline pipe(*dst, Small());
    // Everything but the genesis: all of it waits for it.
    Feed(pipe, std::vector<Bytes>(raws.begin() + 1, raws.end()), 4);
    ASSERT_TRUE(pipe.Finish().ok());
    EXPECT_EQ(pipe.report().stats.blocked, raws.size() - 1);
    EXPECT_EQ(pipe.report().stats.applied, 0u);
  }
  auto dst = Open(path);
  EXPECT_EQ(*dst->graph_store().BlockedCount(), raws.size() - 1);
  IngestPipeline pipe(*dst, Small());
  ASSERT_TRUE(pipe.Add({raws[0]}).ok());
  ASSERT_TRUE(pipe.Finish().ok());
  EXPECT_EQ(pipe.report().stats.applied, raws.size());
  EXPECT_EQ(*dst->Fingerprint(), src.Fingerprint());
}

}  // namespace
}  // namespace topo::object
