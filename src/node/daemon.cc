#include "node/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace topo::node {

std::string SocketPath(const std::string& db) { return db + ".sock"; }
std::string PidPath(const std::string& db) { return db + ".pid"; }
std::string LogPath(const std::string& db) { return db + ".log"; }

constexpr size_t kMaxSunPath = 107;

Result<UnixSocketPath> UnixSocketPath::For(const std::string& path) {
  if (path.size() <= kMaxSunPath) return UnixSocketPath(path, -1);
  std::filesystem::path p(path);
  std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open directory " + dir + ": " + std::strerror(errno));
  std::string shortened = "/proc/self/fd/" + std::to_string(fd) + "/" + p.filename().string();
  if (shortened.size() > kMaxSunPath) {
    ::close(fd);
    return Status::InvalidArgument("the socket's file name is too long: " + path);
  }
  return UnixSocketPath(std::move(shortened), fd);
}

UnixSocketPath::~UnixSocketPath() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

Result<PidLock> PidLock::Acquire(const std::string& db) {
  std::string path = PidPath(db);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    auto pid = RunningDaemon(db);
    return Status::AlreadyExists("a daemon already serves " + db +
                                 (pid ? " (pid " + std::to_string(*pid) + ")" : ""));
  }
  return PidLock(std::move(path), fd);
}

Status PidLock::WritePid() {
  std::string text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) !=
                                      static_cast<ssize_t>(text.size()))
    return Status::IOError("cannot write " + path_);
  return Status::Ok();
}

PidLock::~PidLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());
  ::close(fd_);
}

std::optional<pid_t> RunningDaemon(const std::string& db) {
  int fd = ::open(PidPath(db).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<pid_t> pid;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    pid_t p = n > 0 ? static_cast<pid_t>(std::atol(buf)) : 0;
    if (p > 0) pid = p;
  }
  ::close(fd);
  return pid;
}

Result<Detached> Detach(const std::string& log_path) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Status::IOError("pipe failed");
  pid_t child = ::fork();
  if (child < 0) return Status::IOError(std::string("fork failed: ") + std::strerror(errno));
  if (child > 0) {
    ::close(pipefd[1]);
    std::string reply;
    char buf[512];
    for (;;) {
      ssize_t n = ::read(pipefd[0], buf, sizeof buf);
      if (n > 0) {
        reply.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    ::close(pipefd[0]);
    // The intermediate child exits at once; reap it.
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (reply == "ok") return Detached{false, -1};
    if (reply.empty())
      return Status::Internal("the daemon exited before it was ready (see " + log_path + ")");
    // "E<code> <message>" (SignalReady).
    size_t space = reply.find(' ');
    int code = reply[0] == 'E' && space != std::string::npos ? std::atoi(reply.c_str() + 1) : 0;
    if (code <= 0 || code > static_cast<int>(Code::kInternal)) return Status::Internal(reply);
    return Status(static_cast<Code>(code), reply.substr(space + 1));
  }
  // The intermediate child: a new session, then the daemon is its child (never a session
  // leader, so it can never acquire a terminal).
  ::close(pipefd[0]);
  ::setsid();
  pid_t daemon = ::fork();
  if (daemon < 0) ::_exit(1);
  if (daemon > 0) ::_exit(0);
  ::umask(077);
  int null = ::open("/dev/null", O_RDWR);
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(log >= 0 ? log : null, 2);
  }
  if (null > 2) ::close(null);
  if (log > 2) ::close(log);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  return Detached{true, pipefd[1]};
}

void SignalReady(int& ready_fd, const Status& outcome) {
  if (ready_fd < 0) return;
  std::string text = outcome.ok() ? std::string("ok")
                                  : "E" + std::to_string(static_cast<int>(outcome.code())) + " " +
                                        outcome.message();
  ssize_t unused = ::write(ready_fd, text.data(), text.size());
  (void)unused;
  ::close(ready_fd);
  ready_fd = -1;
}

}  // namespace topo::node
