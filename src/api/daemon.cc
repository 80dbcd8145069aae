#include "api/daemon.h"

#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <cstdlib>

#include "api/rpc_server.h"
#include "api/service.h"
#include "node/daemon.h"
#include "node/identity.h"
#include "node/node.h"

namespace topo::api {

namespace {

constexpr auto kWatchInterval = std::chrono::seconds(2);

// Stops the node when its pid file is gone (the database's directory was removed).
void Watch(asio::steady_timer& timer, node::Node& n, const std::string& pid_path) {
  timer.expires_after(kWatchInterval);
  timer.async_wait([&timer, &n, pid_path](asio::error_code ec) {
    if (ec || n.stopping()) return;
    if (!node::PathExists(pid_path)) {
      n.Stop("its pid file " + pid_path + " was removed");
      return;
    }
    Watch(timer, n, pid_path);
  });
}

}  // namespace

Status RunDaemon(const DaemonOptions& options, int ready_fd) {
  node::Log log;
  log.set_level(options.log_level);
  if (!options.log_to_stderr) {
    if (auto s = log.OpenFile(node::LogPath(options.db)); !s.ok()) {
      node::SignalReady(ready_fd, s);
      return s;
    }
  }
  std::optional<node::PidLock> lock;
  auto fail = [&](Status s) {
    log.Error("cannot start: " + s.message());
    lock.reset();  // before the starter hears of it: it may start another daemon at once
    node::SignalReady(ready_fd, s);
    return s;
  };
  if (auto acquired = node::PidLock::Acquire(options.db); acquired.ok())
    lock.emplace(std::move(acquired).value());
  else
    return fail(acquired.status());
  if (auto s = lock->WritePid(); !s.ok()) return fail(s);

  asio::io_context io;
  node::NodeOptions no;
  no.db = options.db;
  no.passphrase = options.passphrase;
  no.bind = options.bind;
  no.low_memory = options.low_memory;
  auto n = node::Node::Open(io, no, log);
  if (!n.ok()) return fail(n.status());
  Service service(**n);
  auto server = RpcServer::Listen(io, node::SocketPath(options.db), service.methods(), log);
  if (!server.ok()) return fail(server.status());

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](asio::error_code ec, int sig) {
    if (!ec) (*n)->Stop(sig == SIGINT ? "SIGINT" : "SIGTERM");
  });
  asio::steady_timer watch(io);
  Watch(watch, **n, node::PidPath(options.db));
  asio::steady_timer linger(io);
  (*n)->on_stop = [&](const std::string&) {
    signals.cancel();
    watch.cancel();
    // Lets the reply to node.stop reach its client before the connections close.
    linger.expires_after(std::chrono::milliseconds(100));
    linger.async_wait([&](asio::error_code) { (*server)->Close(); });
  };

  log.Info("serving " + options.db + " on " + node::SocketPath(options.db) + " (pid " +
           std::to_string(::getpid()) + ")");
  node::SignalReady(ready_fd, Status::Ok());
  io.run();
  log.Info("stopped");
  return Status::Ok();
}

Status StartDetached(const DaemonOptions& options) {
  if (auto pid = node::RunningDaemon(options.db))
    return Status::AlreadyExists("a daemon already serves " + options.db + " (pid " +
                                 std::to_string(*pid) + ")");
  auto d = node::Detach(node::LogPath(options.db));
  if (!d.ok()) return d.status();
  if (!d->is_daemon) return Status::Ok();
  Status s = RunDaemon(options, d->ready_fd);
  std::fflush(nullptr);
  ::_exit(s.ok() ? 0 : 1);
}

}  // namespace topo::api
