// The daemon's main: its accounts (api/host.h; one database each, the one it was started for
// first) on one event loop, each serving its JSON-RPC socket until it is asked to stop
// (node.stop, SIGTERM, SIGINT) or its pid file disappears (the database's directory was
// removed under it); the daemon ends with its last account. Used by `topo start` (detached
// or --foreground) and by every other command, which starts the daemon when none is running
// (cli/support.cc, Call).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "node/log.h"
#include "util/status.h"

namespace topo::api {

struct DaemonOptions {
  std::string db;  // absolute
  std::optional<std::string> passphrase;
  std::string bind;  // HOST:PORT asked for with --bind ("" = none)
  node::LogLevel log_level = node::LogLevel::kInfo;
  bool log_to_stderr = false;  // --foreground
  bool low_memory = false;     // --low-memory (node::NodeOptions::low_memory)
  // More databases to host in this process (`start --account`, absolute), opened with
  // `passphrase` and remembered like those of `account add`. One that fails is logged and
  // listed by daemon.accounts; the daemon serves the others.
  std::vector<std::string> accounts;
};

// Runs the daemon in this process until it stops. `ready_fd` (from node::Detach, or -1) is
// told once the sockets serve, or why the daemon could not start (only the first database
// failing stops it). Returns why it stopped.
Status RunDaemon(const DaemonOptions& options, int ready_fd);

// Starts a detached daemon for `options.db` and returns once it serves (or with its error).
// AlreadyExists when one runs already.
Status StartDetached(const DaemonOptions& options);

}  // namespace topo::api
