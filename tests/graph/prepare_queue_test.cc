// PrepareQueue: vertices pushed in any sizes come out prepared, in push order, each once,
// exactly as Prepare() makes them; a forged one is refused without disturbing its neighbours.
#include "graph/prepare_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "testing/vertex_factory.h"

namespace topo::graph {
namespace {

using testing::VertexFactory;

// A chain of n vertices, parents first, as signed encodings.
std::vector<Bytes> Chain(VertexFactory& f, size_t n) {
  std::vector<codec::Vertex> vs;
  vs.reserve(n);
  vs.push_back(f.Genesis());
  while (vs.size() < n) vs.push_back(f.Child({&vs.back()}));
  std::vector<Bytes> raws;
  for (const auto& v : vs) raws.push_back(VertexFactory::Raw(v));
  return raws;
}

TEST(PrepareQueue, KeepsPushOrderAcrossUnitsAndPushSizes) {
  VertexFactory f(7);
  const std::vector<Bytes> raws = Chain(f, 300);
  PrepareQueueOptions o;
  o.threads = 3;
  o.unit = 5;  // many units, several workers: order must not depend on who finished first
  PrepareQueue q(o);
  // Pushes of 1, 2, 3, ... vertices: small pushes fill the last unit, large ones split.
  size_t pushed = 0;
  for (size_t k = 1; pushed < raws.size(); ++k) {
    std::vector<Bytes> part;
    for (size_t i = 0; i < k && pushed < raws.size(); ++i) part.push_back(raws[pushed++]);
    q.Push(std::move(part));
  }
  EXPECT_EQ(q.size(), raws.size());
  std::vector<Prepared> out;
  while (out.size() < raws.size()) {
    auto batch = q.Take(37);
    ASSERT_FALSE(batch.empty());
    for (auto& p : batch) out.push_back(std::move(p));
  }
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.ready(), 0u);
  ASSERT_EQ(out.size(), raws.size());
  for (size_t i = 0; i < raws.size(); ++i) {
    ASSERT_TRUE(out[i].vertex.has_value()) << i << ": " << out[i].error;
    EXPECT_EQ(out[i].raw, raws[i]) << i;
    EXPECT_EQ(out[i].vertex->id, Prepare(raws[i]).vertex->id) << i;
  }
  // Take on an empty queue returns nothing at once.
  EXPECT_TRUE(q.Take(10).empty());
}

TEST(PrepareQueue, RefusesAForgedSignatureAndKeepsTheOthers) {
  VertexFactory f(8);
  std::vector<Bytes> raws = Chain(f, 40);
  codec::Vertex forged = *codec::DecodeVertex(raws[17]);
  forged.signature.bytes[3] ^= 1;
  raws[17] = codec::EncodeVertex(forged);
  Bytes garbage;
  garbage.push_back(0xff);
  raws.push_back(garbage);

  PrepareQueueOptions o;
  o.threads = 2;
  o.unit = 4;
  PrepareQueue q(o);
  q.Push(raws);
  auto out = q.Take(raws.size());
  ASSERT_EQ(out.size(), raws.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (i == 17) {
      EXPECT_FALSE(out[i].vertex.has_value());
      EXPECT_NE(out[i].error.find("signature"), std::string::npos) << out[i].error;
    } else if (i == raws.size() - 1) {
      EXPECT_FALSE(out[i].vertex.has_value());
      EXPECT_FALSE(out[i].error.empty());
    } else {
      EXPECT_TRUE(out[i].vertex.has_value()) << i << ": " << out[i].error;
    }
    EXPECT_EQ(out[i].raw, raws[i]);  // refused or not, the bytes come back
  }
}

TEST(PrepareQueue, TakeReadyNeverWaitsAndOnReadyAnnouncesWork) {
  VertexFactory f(9);
  const std::vector<Bytes> raws = Chain(f, 64);
  std::atomic<int> announced{0};
  PrepareQueueOptions o;
  o.threads = 2;
  o.unit = 8;
  o.on_ready = [&] { announced.fetch_add(1); };
  auto q = std::make_unique<PrepareQueue>(o);
  q->Push(raws);
  // TakeReady returns at most `max`, and at least what ready() said a moment before (more
  // may have become ready since, never less).
  std::vector<Prepared> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (out.size() < raws.size() && std::chrono::steady_clock::now() < deadline) {
    const size_t ready = q->ready();
    auto some = q->TakeReady(10);
    EXPECT_LE(some.size(), 10u);
    EXPECT_GE(some.size(), std::min<size_t>(ready, 10));
    for (auto& p : some) out.push_back(std::move(p));
    if (some.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(out.size(), raws.size());
  for (size_t i = 0; i < raws.size(); ++i) EXPECT_EQ(out[i].raw, raws[i]) << i;
  q.reset();                            // joins the workers: every announcement has been made
  EXPECT_EQ(announced.load(), 64 / 8);  // one per unit prepared
}

TEST(PrepareQueue, DestroyedWithWorkPendingDropsIt) {
  VertexFactory f(10);
  const std::vector<Bytes> raws = Chain(f, 200);
  {
    PrepareQueueOptions o;
    o.threads = 2;
    o.unit = 1;
    PrepareQueue q(o);
    q.Push(raws);
    auto first = q.Take(1);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_TRUE(first[0].vertex.has_value());
  }                           // joins the workers without preparing the rest
  PrepareQueue never_pushed;  // starts no thread
  EXPECT_EQ(never_pushed.size(), 0u);
}

}  // namespace
}  // namespace topo::graph
