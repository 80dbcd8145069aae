#include "api/daemon.h"

#include <unistd.h>

#include <asio/io_context.hpp>
#include <cstdio>

#include "api/host.h"
#include "node/daemon.h"

namespace topo::api {

Status RunDaemon(const DaemonOptions& options, int ready_fd) {
  asio::io_context io;
  HostOptions ho;
  ho.primary = options.db;
  ho.passphrase = options.passphrase;
  ho.bind = options.bind;
  ho.log_level = options.log_level;
  ho.log_to_stderr = options.log_to_stderr;
  ho.low_memory = options.low_memory;
  Host host(io, std::move(ho));
  if (auto s = host.OpenPrimary(); !s.ok()) {
    node::SignalReady(ready_fd, s);
    return s;
  }
  host.OpenAtStart(options.accounts);
  node::SignalReady(ready_fd, Status::Ok());
  io.run();
  host.log().Info("the daemon (pid " + std::to_string(::getpid()) + ") ends: no account serves");
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
