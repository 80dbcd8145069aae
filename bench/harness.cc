#include "bench/harness.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace topo::bench {

void Check(const Status& s, std::string_view what) {
  if (!s.ok()) throw Failure{std::string(what) + ": " + s.ToString()};
}

void Expect(bool ok, const std::string& what) {
  if (!ok) throw Failure{"check failed: " + what};
}

void Progress::Update(uint64_t done) {
  if (total_ == 0) return;
  int tenths = static_cast<int>(std::min<uint64_t>(10, done * 10 / total_));
  if (tenths <= printed_tenths_) return;
  printed_tenths_ = tenths;
  std::fprintf(stderr, "%s: %3d%% (%llu/%llu) %.1f s\n", what_.c_str(), tenths * 10,
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
               clock_.Seconds());
}

TempDir::TempDir(std::string_view tag) {
  const char* base = std::getenv("TMPDIR");
  std::string templ =
      std::string(base && *base ? base : "/tmp") + "/topo-bench-" + std::string(tag) + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data()))
    throw Failure{"cannot create a temporary directory " + templ + ": " + std::strerror(errno)};
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (keep_) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

double ProcessCpuSeconds() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

double ThreadCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

uint64_t PeakRssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  return 0;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

void DropFromPageCache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fdatasync(fd);  // dirty pages cannot be dropped
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

ChildResult RunChild(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe(fds) != 0) throw Failure{std::string("pipe: ") + std::strerror(errno)};
  std::vector<std::string> argv_s{"topo-bench"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) throw Failure{std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execv("/proc/self/exe", argv.data());
    std::fprintf(stderr, "exec /proc/self/exe: %s\n", std::strerror(errno));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  struct rusage ru {};
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Failure{"child '" + (args.empty() ? std::string() : args[0]) + "' failed (status " +
                  std::to_string(status) + ")"};
  ChildResult r;
  try {
    r.output = Json::parse(out);
  } catch (const std::exception& e) {
    throw Failure{"child printed no JSON: " + out.substr(0, 200)};
  }
  r.maxrss_kb = static_cast<uint64_t>(ru.ru_maxrss);
  return r;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

Json GoalVerdict(bool at_goal_size, bool met, const std::string& goal_size) {
  if (!at_goal_size) return "not judged (the goal is at " + goal_size + ")";
  return met;
}

std::string Thousands(double v) {
  char buf[64];
  if (std::fabs(v) >= 1000 || v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    std::string s = buf;
    size_t start = s[0] == '-' ? 1 : 0;
    for (size_t i = s.size(); i > start + 3; i -= 3) s.insert(i - 3, ",");
    return s;
  }
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

namespace {

std::string Scalar(const Json& v) {
  if (v.is_number_float()) return Thousands(v.get<double>());
  if (v.is_number_integer()) return Thousands(static_cast<double>(v.get<int64_t>()));
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// An object whose values are all objects of scalars with the same keys prints as a table.
bool IsTable(const Json& v) {
  if (!v.is_object() || v.size() < 2) return false;
  const Json* first = nullptr;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const Json& row = it.value();
    if (!row.is_object() || row.empty()) return false;
    for (auto c = row.begin(); c != row.end(); ++c)
      if (c.value().is_structured()) return false;
    if (!first) {
      first = &row;
      continue;
    }
    if (row.size() != first->size()) return false;
    auto a = row.begin();
    for (auto b = first->begin(); b != first->end(); ++a, ++b)
      if (a.key() != b.key()) return false;
  }
  return true;
}

void PrintTable(const Json& table, int indent) {
  std::string pad(static_cast<size_t>(indent), ' ');
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header{""};
  for (auto c = table.begin().value().begin(); c != table.begin().value().end(); ++c)
    header.push_back(c.key());
  cells.push_back(header);
  for (auto it = table.begin(); it != table.end(); ++it) {
    std::vector<std::string> line{it.key()};
    for (auto c = it.value().begin(); c != it.value().end(); ++c) line.push_back(Scalar(c.value()));
    cells.push_back(std::move(line));
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& line : cells)
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  for (const auto& line : cells) {
    std::string out = pad;
    for (size_t i = 0; i < line.size(); ++i) {
      std::string cell = line[i];
      if (i == 0)
        cell.resize(width[0], ' ');
      else
        cell = std::string(width[i] - cell.size() + 2, ' ') + cell;
      out += cell;
    }
    std::printf("%s\n", out.c_str());
  }
}

}  // namespace

void PrintHuman(const Json& result, int indent) {
  size_t width = 0;
  for (auto it = result.begin(); it != result.end(); ++it) width = std::max(width, it.key().size());
  for (auto it = result.begin(); it != result.end(); ++it) {
    std::string pad(static_cast<size_t>(indent), ' ');
    const Json& v = it.value();
    if (v.is_object()) {
      std::printf("%s%s:\n", pad.c_str(), it.key().c_str());
      if (IsTable(v))
        PrintTable(v, indent + 2);
      else
        PrintHuman(v, indent + 2);
      continue;
    }
    std::string text = Scalar(v);
    std::printf("%s%-*s  %s\n", pad.c_str(), static_cast<int>(width), it.key().c_str(),
                text.c_str());
  }
}

}  // namespace topo::bench
