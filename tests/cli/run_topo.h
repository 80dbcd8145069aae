// Runs the `topo` binary of this build as a user would, for the CLI integration tests:
// arguments as given (no shell), a working directory, and an environment that is the test's
// own minus every TOPO_* variable (so a developer's TOPO_DB or TOPO_PASSPHRASE cannot leak
// in) plus the entries the caller adds. stdin is /dev/null; stdout and stderr are captured
// apart. A run that outlives kTopoTimeout is killed and reported as exit code -1.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace topo::cli_test {

constexpr std::chrono::seconds kTopoTimeout{30};

struct TopoResult {
  std::string command;  // the arguments joined by spaces, for failure messages
  int exit_code = -1;   // exit status; 128 + N when killed by signal N; -1 if it never ran
  std::string out;
  std::string err;
};

inline std::string TopoBinary() { return std::string(TOPO_BIN_DIR) + "/topo"; }

// Runs `topo args...` in `cwd`, with `extra_env` ("NAME=value") added to the environment.
inline TopoResult RunTopo(const std::vector<std::string>& args, const std::string& cwd,
                          const std::vector<std::string>& extra_env = {}) {
  TopoResult result;
  result.command = "topo";
  for (const auto& a : args) result.command += " " + a;

  std::string binary = TopoBinary();
  std::vector<char*> argv;
  argv.push_back(binary.data());
  std::vector<std::string> arg_copy(args);
  for (auto& a : arg_copy) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "TOPO_", 5) != 0) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.err = "pipe: " + std::string(std::strerror(errno));
    return result;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = "pipe: " + std::string(std::strerror(errno));
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    result.err = "cannot run " + binary + ": " + std::strerror(rc);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return result;
  }

  // Drain both pipes together, so a child that fills one never blocks on it.
  auto deadline = std::chrono::steady_clock::now() + kTopoTimeout;
  std::array<pollfd, 2> fds{{{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}}};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  bool timed_out = false;
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  if (timed_out) ::kill(pid, SIGKILL);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    result.exit_code = -1;
    result.err += "[killed after " + std::to_string(kTopoTimeout.count()) + " s]";
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  return result;
}

}  // namespace topo::cli_test
