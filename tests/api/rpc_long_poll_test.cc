// Long polls on the RPC server (api/jsonrpc.h, DeferReply): a held request is answered when
// the server is woken and its handler has something to say, or at the end of its wait; many
// held requests end when the server is released or closed, and the loop then ends by itself.
// Nothing here asserts a timing: only what each answer holds and that everything ends.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <future>
#include <thread>

#include "api/rpc_client.h"
#include "api/rpc_server.h"
#include "testing/temp_dir.h"

namespace topo::api {
namespace {

// A server whose "poll" method answers {value} once the counter is past `after`, and
// otherwise defers up to `wait_ms`; "bump" adds one to the counter and wakes the server.
class Polled {
 public:
  explicit Polled(const std::string& socket) {
    methods_.Add({"poll", "test", {}, "", json::object()}, [this](const json& p) -> Result<json> {
      uint64_t after = p.value("after", uint64_t{0});
      uint64_t wait_ms = p.value("wait_ms", uint64_t{0});
      if (counter_ <= after && DeferReply(wait_ms)) return json::object();
      ++answered_;
      return json{{"value", counter_}};
    });
    methods_.Add({"bump", "test", {}, "", json::object()}, [this](const json&) -> Result<json> {
      ++counter_;
      server_->Wake();
      return json{{"value", counter_}};
    });
    auto s = RpcServer::Listen(io_, socket, methods_, log_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Polled() {
    if (thread_.joinable()) {
      io_.stop();
      thread_.join();
    }
  }
  // Runs `fn` on the loop and returns its result.
  template <typename F>
  auto OnLoop(F fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto done = task.get_future();
    asio::post(io_, [&task] { task(); });
    return done.get();
  }
  size_t Held() {
    return OnLoop([this] { return server_->held(); });
  }
  // True once `n` requests are held (within 30 s).
  bool WaitHeld(size_t n) {
    for (int i = 0; i < 3000; ++i) {
      if (Held() == n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // Waits for the loop to end by itself (nothing left to run), within 30 s.
  bool LoopEnds() {
    for (int i = 0; i < 3000 && !io_.stopped(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!io_.stopped()) return false;
    thread_.join();
    return true;
  }

  RpcServer& server() { return *server_; }
  uint64_t answered() {
    return OnLoop([this] { return answered_; });
  }

 private:
  asio::io_context io_;
  node::Log log_;
  MethodTable methods_;
  std::unique_ptr<RpcServer> server_;
  std::thread thread_;
  uint64_t counter_ = 0;
  uint64_t answered_ = 0;
};

TEST(RpcLongPoll, AHeldRequestIsAnsweredWhenSomethingHappens) {
  testing::TempDir dir;
  const std::string sock = dir.File("p.sock");
  Polled p(sock);
  auto waiting = std::async(std::launch::async, [&] {
    auto c = RpcClient::Connect(sock);
    EXPECT_TRUE(c.ok());
    return c->Call("poll", {{"after", 0}, {"wait_ms", 30'000}}, 60'000);
  });
  ASSERT_TRUE(p.WaitHeld(1));
  EXPECT_EQ(p.answered(), 0u) << "held, not answered";
  // Another client is served meanwhile (the loop is not blocked), and its change wakes the
  // held request, which then answers with it.
  auto other = RpcClient::Connect(sock);
  ASSERT_TRUE(other.ok());
  auto bumped = other->Call("bump", json::object(), 10'000);
  ASSERT_TRUE(bumped.ok()) << bumped.status().ToString();
  auto got = waiting.get();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)["value"], 1);
  EXPECT_EQ(p.Held(), 0u);
  // Without a wait it answers at once, as before.
  auto now = other->Call("poll", {{"after", 5}}, 10'000);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ((*now)["value"], 1);
}

TEST(RpcLongPoll, AWaitThatEndsWithNothingAnswersWithWhatThereIs) {
  testing::TempDir dir;
  const std::string sock = dir.File("p.sock");
  Polled p(sock);
  auto c = RpcClient::Connect(sock);
  ASSERT_TRUE(c.ok());
  auto got = c->Call("poll", {{"after", 0}, {"wait_ms", 20}}, 60'000);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)["value"], 0);
  // The connection reads on after a held request: the next one is served.
  auto bumped = c->Call("bump", json::object(), 10'000);
  ASSERT_TRUE(bumped.ok());
  EXPECT_EQ((*bumped)["value"], 1);
  // A wake with nothing new for a request keeps it held: it answers at its wait's end.
  auto second = RpcClient::Connect(sock);
  ASSERT_TRUE(second.ok());
  auto waiting = std::async(std::launch::async, [&] {
    auto c2 = RpcClient::Connect(sock);
    EXPECT_TRUE(c2.ok());
    return c2->Call("poll", {{"after", 5}, {"wait_ms", 200}}, 60'000);
  });
  ASSERT_TRUE(p.WaitHeld(1));
  ASSERT_TRUE(second->Call("bump", json::object(), 10'000).ok());
  auto late = waiting.get();
  ASSERT_TRUE(late.ok());
  EXPECT_EQ((*late)["value"], 2);
}

// Many clients held at once; the node stops (Release answers them all with what there is),
// then the server closes (as the daemon's account is retired): every call ends, and the
// loop ends by itself, held by nothing.
TEST(RpcLongPoll, ManyHeldRequestsEndWhenTheServerIsReleasedAndClosed) {
  testing::TempDir dir;
  const std::string sock = dir.File("p.sock");
  Polled p(sock);
  constexpr size_t kClients = 24;
  std::vector<std::future<Result<json>>> calls;
  for (size_t i = 0; i < kClients; ++i)
    calls.push_back(std::async(std::launch::async, [&] {
      auto c = RpcClient::Connect(sock);
      EXPECT_TRUE(c.ok());
      return c->Call("poll", {{"after", 0}, {"wait_ms", 30'000}}, 60'000);
    }));
  ASSERT_TRUE(p.WaitHeld(kClients));
  p.OnLoop([&] {
    p.server().Release();
    return 0;
  });
  for (auto& f : calls) {
    auto got = f.get();
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ((*got)["value"], 0);
  }
  // Released: a new long poll is answered at once, and its connection closed after.
  auto late = RpcClient::Connect(sock);
  ASSERT_TRUE(late.ok());
  auto answered = late->Call("poll", {{"after", 0}, {"wait_ms", 30'000}}, 60'000);
  ASSERT_TRUE(answered.ok());
  EXPECT_EQ((*answered)["value"], 0);
  EXPECT_FALSE(late->Call("poll", {{"after", 0}}, 10'000).ok()) << "closed";

  // Held again on a fresh server, then closed outright: the calls fail, nothing hangs.
  const std::string sock2 = dir.File("q.sock");
  Polled q(sock2);
  std::vector<std::future<Result<json>>> more;
  for (size_t i = 0; i < kClients; ++i)
    more.push_back(std::async(std::launch::async, [&] {
      auto c = RpcClient::Connect(sock2);
      EXPECT_TRUE(c.ok());
      return c->Call("poll", {{"after", 0}, {"wait_ms", 30'000}}, 60'000);
    }));
  ASSERT_TRUE(q.WaitHeld(kClients));
  q.OnLoop([&] {
    q.server().Close();
    return 0;
  });
  for (auto& f : more) EXPECT_FALSE(f.get().ok());
  EXPECT_TRUE(q.LoopEnds()) << "no timer of a held request keeps the loop alive";
}

}  // namespace
}  // namespace topo::api
