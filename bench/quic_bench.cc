// topo-bench quic: one connection over 127.0.0.1 between two endpoints in this process (one
// thread runs both ends, so they share a core), moving N MiB as messages of M KiB on one
// stream. Timed: from the first Send to the last message delivered. Checked: every message
// arrives whole and in order (a digest of each). In the same run, XChaCha20-Poly1305 over
// the same bytes on the same core: vs_aead puts the transport against a known cost.
#include <asio/io_context.hpp>
#include <cstdio>

#include "bench/benches.h"
#include "crypto/crypto.h"
#include "net/endpoint.h"

namespace topo::bench {
namespace {

crypto::SigningKey Key(uint8_t n) {
  Bytes seed(32, n);
  return Check(crypto::SigningKey::FromSeed(seed), "key");
}

double AeadMbPerSecond(size_t message_bytes, uint64_t total_bytes) {
  crypto::SecretBytes key = crypto::SecretBytes::Random(crypto::kAeadKeyBytes);
  Bytes plain(message_bytes, 0x5a);
  crypto::Nonce24 nonce{};
  Stopwatch clock;
  uint64_t done = 0;
  while (done < total_bytes) {
    Check(crypto::AeadEncrypt(key, nonce, {}, plain), "aead");
    done += message_bytes;
  }
  return done / 1e6 / clock.Seconds();
}

}  // namespace

Json RunQuic(const QuicOptions& options) {
  Expect(options.message_kib > 0, "quic: --message-kib must be positive");
  const size_t message_bytes = options.message_kib << 10;
  const uint64_t messages = (options.total_mib << 20) / message_bytes;
  Expect(messages > 0, "quic: at least one message");
  asio::io_context io;
  net::EndpointOptions so, co;
  so.identity = Key(1);
  co.identity = Key(2);
  so.admit = [](const crypto::PublicKey&) { return true; };
  auto server = Check(net::Endpoint::Make(io, std::move(so)), "server endpoint");
  auto client = Check(net::Endpoint::Make(io, std::move(co)), "client endpoint");

  std::shared_ptr<net::Connection> accepted;
  uint64_t received = 0, received_bytes = 0, out_of_order = 0;
  server->on_connection = [&](std::shared_ptr<net::Connection> c) {
    accepted = c;
    c->on_message = [&](int64_t, Bytes m) {
      // Each message starts with its index: order and wholeness are checked.
      uint64_t index = 0;
      if (m.size() == message_bytes)
        for (int i = 0; i < 8; ++i) index = index << 8 | m[i];
      if (m.size() != message_bytes || index != received || m.back() != static_cast<uint8_t>(index))
        ++out_of_order;
      ++received;
      received_bytes += m.size();
    };
  };
  std::shared_ptr<net::Connection> conn;
  std::string dial_error;
  client->Connect(server->local_address(), server->identity(),
                  [&](Result<std::shared_ptr<net::Connection>> r) {
                    if (r.ok())
                      conn = *r;
                    else
                      dial_error = r.status().ToString();
                  });
  while (!conn && dial_error.empty()) io.run_one();
  Expect(dial_error.empty(), "quic: dial: " + dial_error);
  while (!accepted) io.run_one_for(std::chrono::milliseconds(10));

  int64_t stream = Check(conn->OpenStream(), "open stream");
  Bytes message(message_bytes, 0);
  uint64_t sent = 0;
  // Keep at most 8 MiB queued: the owner's backpressure, driven by on_writable.
  auto fill = [&] {
    while (sent < messages && conn->queued_bytes() < (8u << 20)) {
      for (int i = 0; i < 8; ++i) message[i] = static_cast<uint8_t>(sent >> (56 - 8 * i));
      message.resize(message_bytes - 1);
      message.push_back(static_cast<uint8_t>(sent));
      Check(conn->Send(stream, message), "send");
      ++sent;
    }
  };
  conn->on_writable = fill;
  std::fprintf(stderr, "quic: %llu messages of %zu KiB\n",
               static_cast<unsigned long long>(messages), options.message_kib);
  Stopwatch clock;
  const double cpu_before = ProcessCpuSeconds();
  fill();
  while (received < messages) {
    Expect(conn->is_open(), "quic: the connection stayed open");
    Expect(clock.Seconds() < 600, "quic: done within 10 minutes");
    io.run_one_for(std::chrono::milliseconds(100));
  }
  const double seconds = clock.Seconds();
  const double cpu = ProcessCpuSeconds() - cpu_before;
  Expect(out_of_order == 0, "quic: every message whole and in order");
  net::Endpoint::Stats cs = client->stats(), ss = server->stats();
  bool stopped = false;
  client->Stop([&] { server->Stop([&] { stopped = true; }); });
  while (!stopped) io.run_one_for(std::chrono::milliseconds(10));

  const double mb_s = received_bytes / 1e6 / seconds;
  const double aead = AeadMbPerSecond(message_bytes, options.total_mib << 20);
  Json r;
  r["bytes"] = received_bytes;
  r["messages"] = messages;
  r["message_kib"] = options.message_kib;
  r["seconds"] = seconds;
  r["mb_per_s"] = mb_s;
  r["cpu_seconds"] = cpu;
  r["datagrams_client_out"] = cs.datagrams_out;
  r["datagrams_server_out"] = ss.datagrams_out;
  r["send_errors"] = cs.send_errors + ss.send_errors;
  r["aead_mb_per_s"] = aead;
  r["vs_aead"] = mb_s / aead;
  r["load_average"] = LoadAverage();
  return r;
}

}  // namespace topo::bench
