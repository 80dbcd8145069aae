// Helpers for the net tests: an io_context run with a deadline, endpoints on loopback with
// seeded keys, and a dial that waits for its answer.
#pragma once

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "crypto/crypto.h"
#include "net/endpoint.h"

namespace topo::net::testing {

using namespace std::chrono_literals;

class Loop {
 public:
  asio::io_context io;

  // Runs the loop until `done()` or `limit` passes; false on timeout.
  template <class Pred>
  bool RunUntil(Pred done, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (io.stopped()) io.restart();
      io.run_one_for(5ms);
    }
    return true;
  }
  void RunFor(std::chrono::milliseconds d) {
    RunUntil([] { return false; }, d);
  }
};

inline crypto::SigningKey KeyNumber(uint8_t n) {
  Bytes seed(32, n);
  return std::move(crypto::SigningKey::FromSeed(seed)).value();
}

inline EndpointOptions TestOptions(uint8_t key, std::string bind = "127.0.0.1:0") {
  EndpointOptions o;
  o.bind = std::move(bind);
  o.identity = KeyNumber(key);
  o.admit = [](const crypto::PublicKey&) { return true; };
  return o;
}

inline std::unique_ptr<Endpoint> MakeEndpoint(Loop& loop, EndpointOptions o) {
  auto ep = Endpoint::Make(loop.io, std::move(o));
  EXPECT_TRUE(ep.ok()) << ep.status().ToString();
  return ep.ok() ? std::move(ep).value() : nullptr;
}

// Dials and waits for the answer (a failed Result on error or timeout).
inline Result<std::shared_ptr<Connection>> Dial(Loop& loop, Endpoint& from, const std::string& to,
                                                const crypto::PublicKey& expected,
                                                std::chrono::milliseconds limit = 10s) {
  // Shared with the callback: on a timeout it still runs later, after this returned.
  auto answer = std::make_shared<std::optional<Result<std::shared_ptr<Connection>>>>();
  from.Connect(to, expected,
               [answer](Result<std::shared_ptr<Connection>> r) { *answer = std::move(r); });
  if (!loop.RunUntil([&] { return answer->has_value(); }, limit))
    return Status::IOError("test: no answer to Connect in time");
  return std::move(**answer);
}

inline Result<std::shared_ptr<Connection>> Dial(Loop& loop, Endpoint& from, Endpoint& to) {
  return Dial(loop, from, to.local_address(), to.identity());
}

// Stops an endpoint and waits for it.
inline void StopAndWait(Loop& loop, Endpoint& ep) {
  bool stopped = false;
  ep.Stop([&] { stopped = true; });
  EXPECT_TRUE(loop.RunUntil([&] { return stopped; }, 5s));
}

}  // namespace topo::net::testing
