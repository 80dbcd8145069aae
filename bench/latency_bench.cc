// topo-bench latency: how long a local write on one node takes to be applied on a connected
// node (benches.h, docs/PERFORMANCE.md).
//
// Two nodes in this process, each a node::Node with its network and the RPC methods
// (api::Service, called in-process: the same handlers the daemon serves, without the
// socket), each on its own io_context thread, connected over QUIC on loopback. A creates a
// workspace and a doc in it, B joins with an invite link; once B reads A's writes, A makes
// one write at a time (object.update, counter add) and B's Network::on_applied hook notes
// when B committed it. Latency: from just before A's handler starts to the moment B's
// commit of that vertex returned (both steady_clock, one process).
#include <algorithm>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <cinttypes>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "api/service.h"
#include "bench/benches.h"
#include "util/encoding.h"

namespace topo::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

// One node on its own loop thread, called through its RPC method table.
class LoopNode {
 public:
  LoopNode(const std::string& db, const std::string& name)
      : name_(name), work_(io_.get_executor()) {
    log_.set_level(node::LogLevel::kWarn);
    node::NodeOptions o;
    o.db = db;
    node_ = Check(node::Node::Open(io_, o, log_), "opening node " + name);
    service_ = std::make_unique<api::Service>(*node_);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LoopNode() {
    Run([this] { node_->Stop("benchmark done"); });
    work_.reset();
    thread_.join();
    service_.reset();
    node_.reset();
  }

  // Runs `fn` on the loop and waits for it.
  template <typename F>
  auto Run(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto done = task.get_future();
    asio::post(io_, [&task] { task(); });
    return done.get();
  }

  // Calls a method on the loop; `started` and `finished` get the times just before its
  // handler ran and just after it returned.
  nlohmann::json Call(const std::string& method, const nlohmann::json& params,
                      SteadyClock::time_point* started = nullptr,
                      SteadyClock::time_point* finished = nullptr) {
    auto r = Run([&] {
      const uint64_t id = ++next_id_;
      const nlohmann::json request = api::MakeRequest(id, method, params);
      if (started) *started = SteadyClock::now();
      auto reply = service_->methods().Handle(request);
      if (finished) *finished = SteadyClock::now();
      return api::ParseResponse(*reply, id);
    });
    if (!r.ok()) throw Failure{name_ + ": " + method + ": " + r.status().ToString()};
    return std::move(r).value();
  }

  node::Node& node() { return *node_; }

 private:
  std::string name_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  node::Log log_;
  std::unique_ptr<node::Node> node_;
  std::unique_ptr<api::Service> service_;
  std::thread thread_;
  uint64_t next_id_ = 0;
};

// When B applied each vertex of the doc (filled on B's loop thread).
class Arrivals {
 public:
  void Note(const std::string& id, SteadyClock::time_point at) {
    std::lock_guard<std::mutex> lock(mu_);
    at_.emplace(id, at);
    cv_.notify_all();
  }
  std::optional<SteadyClock::time_point> Wait(const std::string& id,
                                              std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, limit, [&] { return at_.count(id) > 0; })) return std::nullopt;
    return at_.at(id);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, SteadyClock::time_point> at_;
};

}  // namespace

Json RunLatency(const LatencyOptions& options) {
  Expect(options.messages >= 1, "at least one message");
  TempDir tmp("latency");
  const std::string load_before = LoadAverage();
  LoopNode a(tmp.File("a.db"), "a");
  LoopNode b(tmp.File("b.db"), "b");
  const std::string workspace =
      a.Call("workspace.create",
             {{"name", "bench"}, {"username", "a"}, {"device_name", "a"}})["workspace"];
  const std::string object =
      a.Call("object.create", {{"type", "doc"}, {"workspace", workspace}})["object"];
  const std::string link =
      a.Call("workspace.invite", {{"workspace", workspace}, {"uses", 1}})["link"];
  Stopwatch join_clock;
  b.Call("workspace.accept", {{"link", link}, {"username", "b"}, {"device_name", "b"}});
  Arrivals arrivals;
  const codec::ObjectId doc = Check(HexDecodeFixed<32>(object), "object id");
  b.Run([&] {
    node::Network* net = b.node().network();
    Expect(net != nullptr, "b has a network after accepting");
    net->on_applied = [&arrivals, doc](std::span<const object::AppliedVertex> applied) {
      const auto now = SteadyClock::now();
      for (const auto& v : applied)
        if (v.object == doc) arrivals.Note(HexEncode(v.id.view()), now);
    };
  });

  // One write on A: its vertex id and when the handler started.
  const nlohmann::json update{{"object", object}, {"field", "count"}, {"op", {"add", "1"}}};
  auto write = [&](SteadyClock::time_point* started,
                   SteadyClock::time_point* finished = nullptr) -> std::string {
    return a.Call("object.update", update, started, finished)["vertex"];
  };

  // B reads A's writes once its join applied on A, A shared the epoch key with it and the
  // sessions restarted for the new membership: write until one arrives.
  std::fprintf(stderr, "latency: waiting for b to join\n");
  bool joined = false;
  while (!joined) {
    Expect(join_clock.Seconds() < 60, "b receives a's writes within 60 s of accepting");
    joined = arrivals.Wait(write(nullptr), std::chrono::milliseconds(500)).has_value();
  }
  const double join_s = join_clock.Seconds();
  for (uint64_t i = 0; i < options.warmup; ++i)
    Expect(arrivals.Wait(write(nullptr), std::chrono::seconds(5)).has_value(),
           "a warm-up write reaches b");

  std::fprintf(stderr, "latency: %" PRIu64 " writes\n", options.messages);
  std::vector<double> ms, local_ms;
  uint64_t lost = 0;
  Progress progress("latency", options.messages);
  Stopwatch run_clock;
  for (uint64_t i = 0; i < options.messages; ++i) {
    SteadyClock::time_point started, finished;
    const std::string id = write(&started, &finished);
    local_ms.push_back(std::chrono::duration<double, std::milli>(finished - started).count());
    auto arrived = arrivals.Wait(id, std::chrono::milliseconds(options.timeout_ms));
    if (arrived)
      ms.push_back(std::chrono::duration<double, std::milli>(*arrived - started).count());
    else
      ++lost;
    progress.Update(i + 1);
    if (options.gap_ms) std::this_thread::sleep_for(std::chrono::milliseconds(options.gap_ms));
  }
  const double run_s = run_clock.Seconds();
  Expect(lost == 0, std::to_string(lost) + " writes did not reach b within " +
                        std::to_string(options.timeout_ms) + " ms");
  const nlohmann::json shown_a = a.Call("object.show", {{"object", object}});
  const nlohmann::json shown_b = b.Call("object.show", {{"object", object}});
  Expect(shown_a["state"] == shown_b["state"], "b shows a's state");
  const nlohmann::json peers = b.Call("peer.list", nlohmann::json::object());
  b.Run([&] { b.node().network()->on_applied = nullptr; });

  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double v : ms) sum += v;
  Json r;
  r["messages"] = options.messages;
  r["p50_ms"] = Percentile(sorted, 0.50);
  r["p99_ms"] = Percentile(sorted, 0.99);
  r["max_ms"] = sorted.empty() ? 0 : sorted.back();
  Json d;
  d["mean_ms"] = sorted.empty() ? 0 : sum / static_cast<double>(sorted.size());
  d["p90_ms"] = Percentile(sorted, 0.90);
  // The write itself on a (object.update: sign, seal, apply, commit, announce).
  std::sort(local_ms.begin(), local_ms.end());
  d["local_write_p50_ms"] = Percentile(local_ms, 0.50);
  d["local_write_p99_ms"] = Percentile(local_ms, 0.99);
  d["min_ms"] = sorted.empty() ? 0 : sorted.front();
  d["over_2_ms"] = std::count_if(ms.begin(), ms.end(), [](double v) { return v > 2; });
  d["over_10_ms"] = std::count_if(ms.begin(), ms.end(), [](double v) { return v > 10; });
  d["gap_ms"] = options.gap_ms;
  d["warmup"] = options.warmup;
  d["join_s"] = join_s;
  d["run_s"] = run_s;
  d["b_sessions"] = peers["peers"].empty() || !peers["peers"][0].contains("sync")
                        ? nlohmann::json(0)
                        : peers["peers"][0]["sync"]["sessions"];
  d["load_average_before"] = load_before;
  d["load_average_after"] = LoadAverage();
  r["detail"] = std::move(d);
  const bool at_size = options.messages >= 1000;
  r["goal"] = Json{{"p50", "< 2 ms"},
                   {"p50_met", GoalVerdict(at_size, r["p50_ms"].get<double>() < 2, "1,000")},
                   {"p99", "< 10 ms"},
                   {"p99_met", GoalVerdict(at_size, r["p99_ms"].get<double>() < 10, "1,000")}};
  return r;
}

}  // namespace topo::bench
