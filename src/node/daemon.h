// The daemon's lifecycle and the files it keeps beside its database (docs/ARCHITECTURE.md):
//
//   DB.sock   the JSON-RPC socket (api/rpc_server.h), 0600
//   DB.pid    the daemon's pid, held with flock() for its whole life: a second daemon on the
//             same database is refused, and a stale file (the holder died) is taken over
//   DB.log    the log (node/log.h)
//
// Detach() forks the daemon off the terminal; the parent waits until the daemon says it is
// serving (or why it could not) so that `topo start` reports the outcome, not a guess.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "util/status.h"

namespace topo::node {

std::string SocketPath(const std::string& db);
std::string PidPath(const std::string& db);
std::string LogPath(const std::string& db);

// A path short enough for a sockaddr_un (108 bytes). A longer one is reached through
// /proc/self/fd/N/NAME, N an O_PATH descriptor of its directory held by this object.
class UnixSocketPath {
 public:
  static Result<UnixSocketPath> For(const std::string& path);
  UnixSocketPath(UnixSocketPath&& o) noexcept : path_(std::move(o.path_)), dir_fd_(o.dir_fd_) {
    o.dir_fd_ = -1;
  }
  UnixSocketPath& operator=(UnixSocketPath&&) = delete;
  ~UnixSocketPath();
  const std::string& path() const { return path_; }

 private:
  UnixSocketPath(std::string path, int fd) : path_(std::move(path)), dir_fd_(fd) {}
  std::string path_;
  int dir_fd_ = -1;
};

// The pid file, locked. AlreadyExists (naming the holder's pid) when a live daemon holds it.
class PidLock {
 public:
  static Result<PidLock> Acquire(const std::string& db);
  PidLock(PidLock&& o) noexcept : path_(std::move(o.path_)), fd_(o.fd_) { o.fd_ = -1; }
  PidLock& operator=(PidLock&&) = delete;
  ~PidLock();  // removes the file and releases the lock
  // Writes this process's pid (after Detach, which changes it).
  Status WritePid();

 private:
  PidLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

// The pid of the daemon serving `db`, when one runs (its pid file is locked).
std::optional<pid_t> RunningDaemon(const std::string& db);

// Forks the daemon: the child detaches (new session, stdin and stdout on /dev/null, stderr
// on the log file) and gets `ready_fd`, which it hands to SignalReady once serving. The parent
// waits for that and returns `is_daemon = false` when the daemon serves, or the daemon's
// error. Call before any thread starts.
struct Detached {
  bool is_daemon = false;
  int ready_fd = -1;
};
Result<Detached> Detach(const std::string& log_path);
void SignalReady(int& ready_fd, const Status& outcome);

}  // namespace topo::node
