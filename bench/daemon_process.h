// A `topo` daemon run by a benchmark: the real binary (build/bin/topo, found next to
// topo-bench), started in the foreground as a child of this process (`topo --db DB start
// --foreground`) and driven over its JSON-RPC socket, so that what is timed is what a user
// runs, and the daemon's memory and CPU time are its own (read from /proc/PID).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "api/rpc_client.h"
#include "bench/harness.h"

namespace topo::bench {

// The topo binary beside this one (/proc/self/exe's directory), or `override` when set.
// Throws Failure when it is not there.
std::string TopoBinary(const std::string& override_path);

class DaemonProcess {
 public:
  struct Options {
    std::string topo;  // the binary
    std::string db;    // need not exist: a daemon starts without a database
    std::string log;   // the daemon's stderr (its log, in the foreground)
    std::string log_level = "info";
    std::vector<std::string> start_args;  // after `start --foreground`, e.g. --low-memory
    std::vector<std::string> env;         // NAME=VALUE set in the daemon's environment
  };
  // Starts the daemon and returns once its socket answers node.status (10 s at most).
  // The daemon gets SIGKILL if this process dies. Throws Failure when it does not start.
  explicit DaemonProcess(Options options);
  ~DaemonProcess();  // Stop()
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  // One JSON-RPC call; throws Failure with the daemon's error.
  nlohmann::json Call(const std::string& method, const nlohmann::json& params,
                      uint64_t timeout_ms = 120'000);
  // The process's peak resident set (VmHWM) and current one (VmRSS), in KiB, while it runs.
  uint64_t PeakRssKb() const;
  uint64_t RssKb() const;
  // /proc/PID/status's RssAnon, RssFile and RssShmem (KiB): what the resident set is made of.
  nlohmann::json RssParts() const;
  // User + system CPU time of every thread of the process so far, in seconds.
  double CpuSeconds() const;
  // Asks it to stop (node.stop), waits up to 15 s, then kills it. Idempotent.
  void Stop();

 private:
  Options options_;
  pid_t pid_ = -1;
  std::optional<api::RpcClient> rpc_;
};

}  // namespace topo::bench
