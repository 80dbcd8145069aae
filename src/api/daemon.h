// The daemon's main: a node on an event loop serving the JSON-RPC socket, until it is asked
// to stop (node.stop, SIGTERM, SIGINT) or its pid file disappears (the database's directory
// was removed under it). Used by `topo start` (detached or --foreground) and by every other
// command, which starts the daemon when none is running (cli/daemon_client.cc).
#pragma once

#include <optional>
#include <string>

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
};

// Runs the daemon in this process until it stops. `ready_fd` (from node::Detach, or -1) is
// told once the socket serves, or why the daemon could not start. Returns why it stopped.
Status RunDaemon(const DaemonOptions& options, int ready_fd);

// Starts a detached daemon for `options.db` and returns once it serves (or with its error).
// AlreadyExists when one runs already.
Status StartDetached(const DaemonOptions& options);

}  // namespace topo::api
