#include "bench/daemon_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "node/daemon.h"

namespace topo::bench {

namespace {

// The value of a "Name:   123 kB" line of /proc/PID/status; 0 when absent.
uint64_t StatusField(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name, 0) == 0) return std::strtoull(line.c_str() + name.size(), nullptr, 10);
  return 0;
}

bool Exited(pid_t pid) {
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  return r == pid || (r < 0 && errno == ECHILD);
}

}  // namespace

std::string TopoBinary(const std::string& override_path) {
  std::string path = override_path;
  if (path.empty()) {
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw Failure{"cannot read /proc/self/exe: " + ec.message()};
    path = (self.parent_path() / "topo").string();
  }
  if (::access(path.c_str(), X_OK) != 0)
    throw Failure{"no topo binary at " + path +
                  " (build it: ninja -C build topo; or pass --topo PATH)"};
  return path;
}

DaemonProcess::DaemonProcess(Options options) : options_(std::move(options)) {
  std::vector<std::string> args{options_.topo,      "--db",  options_.db,   "--log-level",
                                options_.log_level, "start", "--foreground"};
  args.insert(args.end(), options_.start_args.begin(), options_.start_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  std::fflush(stdout);
  std::fflush(stderr);
  pid_ = ::fork();
  if (pid_ < 0) throw Failure{std::string("fork: ") + std::strerror(errno)};
  if (pid_ == 0) {
    // The daemon must not outlive the benchmark (an interrupted run leaves nothing behind).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    int null = ::open("/dev/null", O_RDWR);
    int log = ::open(options_.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
    }
    if (log >= 0) ::dup2(log, STDERR_FILENO);
    // The key files the benchmark writes have no passphrase.
    ::unsetenv("TOPO_PASSPHRASE");
    ::unsetenv("TOPO_DB");
    for (const auto& e : options_.env) {
      size_t eq = e.find('=');
      if (eq != std::string::npos) ::setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
    }
    ::execv(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  const std::string socket = node::SocketPath(options_.db);
  for (int i = 0; i < 500; ++i) {
    if (Exited(pid_)) {
      pid_ = -1;
      throw Failure{"the daemon for " + options_.db + " exited at start (see " + options_.log +
                    ")"};
    }
    auto client = api::RpcClient::Connect(socket);
    if (client.ok()) {
      rpc_.emplace(std::move(client).value());
      if (rpc_->Call("node.status", nlohmann::json::object(), 10'000).ok()) return;
      rpc_.reset();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Stop();
  throw Failure{"the daemon for " + options_.db + " did not answer within 10 s (see " +
                options_.log + ")"};
}

DaemonProcess::~DaemonProcess() {
  try {
    Stop();
  } catch (...) {
  }
}

nlohmann::json DaemonProcess::Call(const std::string& method, const nlohmann::json& params,
                                   uint64_t timeout_ms) {
  if (!rpc_) throw Failure{"the daemon for " + options_.db + " is not running"};
  auto r = rpc_->Call(method, params, timeout_ms);
  if (!r.ok())
    throw Failure{method + " on " + options_.db + ": " + r.status().ToString() + " (see " +
                  options_.log + ")"};
  return std::move(r).value();
}

uint64_t DaemonProcess::PeakRssKb() const { return pid_ > 0 ? StatusField(pid_, "VmHWM:") : 0; }
uint64_t DaemonProcess::RssKb() const { return pid_ > 0 ? StatusField(pid_, "VmRSS:") : 0; }

nlohmann::json DaemonProcess::RssParts() const {
  return {{"anon_kb", pid_ > 0 ? StatusField(pid_, "RssAnon:") : 0},
          {"file_kb", pid_ > 0 ? StatusField(pid_, "RssFile:") : 0},
          {"shmem_kb", pid_ > 0 ? StatusField(pid_, "RssShmem:") : 0}};
}

double DaemonProcess::CpuSeconds() const {
  if (pid_ <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string line;
  std::getline(in, line);
  size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(line.substr(close + 2));
  std::string f;
  double ticks = 0;
  // After "(comm) ": state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> f; ++i)
    if (i >= 14) ticks += std::strtod(f.c_str(), nullptr);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

void DaemonProcess::Stop() {
  if (pid_ <= 0) return;
  if (rpc_) (void)rpc_->Call("node.stop", nlohmann::json::object(), 10'000);
  rpc_.reset();
  for (int i = 0; i < 1500 && !Exited(pid_); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!Exited(pid_)) {
    std::fprintf(stderr, "the daemon for %s did not stop within 15 s: killing it\n",
                 options_.db.c_str());
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

}  // namespace topo::bench
