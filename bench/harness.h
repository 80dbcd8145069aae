// The benchmark harness: timing, progress on stderr, temporary directories, and child
// processes whose peak memory is their own.
//
// Benchmarks print figures; they never assert timings. They do check correctness (every
// vertex applied, replicas converged) and exit non-zero when it fails: a fast wrong answer
// is not a figure.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace topo::bench {

// Keys keep the order they were set in, so the printed figures read in a chosen order.
using Json = nlohmann::ordered_json;

// A benchmark that cannot go on: printed as one line on stderr, exit status 1.
struct Failure {
  std::string message;
};

template <typename T>
T Check(Result<T> r, std::string_view what) {
  if (!r.ok()) throw Failure{std::string(what) + ": " + r.status().ToString()};
  return std::move(r).value();
}
void Check(const Status& s, std::string_view what);
// A correctness check: throws Failure when `ok` is false.
void Expect(bool ok, const std::string& what);

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  double Ms() const { return Seconds() * 1e3; }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Prints "<what>: 30% (300000/1000000) 2.1 s" to stderr each time another tenth is done.
class Progress {
 public:
  Progress(std::string what, uint64_t total) : what_(std::move(what)), total_(total) {}
  void Update(uint64_t done);

 private:
  std::string what_;
  uint64_t total_;
  int printed_tenths_ = 0;
  Stopwatch clock_;
};

// A fresh directory (mkdtemp under $TMPDIR or /tmp), removed with its contents on
// destruction unless Keep() was called.
class TempDir {
 public:
  explicit TempDir(std::string_view tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// CPU time (user + system, every thread) this process has used, in seconds.
double ProcessCpuSeconds();
// CPU time the calling thread has used, in seconds.
double ThreadCpuSeconds();
// /proc/loadavg's first three fields ("7.11 5.50 4.12"): other work on the machine skews
// wall-clock figures, so each result records it.
std::string LoadAverage();

// This process's peak resident set (VmHWM) in KiB; 0 when /proc is not readable.
uint64_t PeakRssKb();
// Size of a file in bytes; 0 when it does not exist.
uint64_t FileSize(const std::string& path);
// Asks the kernel to drop the file's clean pages from the page cache, so the next read comes
// from the disk (best effort: no error when it cannot).
void DropFromPageCache(const std::string& path);

struct ChildResult {
  Json output;  // the one JSON object the child printed on stdout
  // wait4's ru_maxrss. Linux carries it across exec, so it includes the image forked from
  // the parent; the child's own VmHWM (PeakRssKb) is the figure to report.
  uint64_t maxrss_kb = 0;
};
// Runs this binary again (fork + exec of /proc/self/exe) with `args`, so the child starts
// with a clean address space and its peak RSS is its own. The child's stderr passes
// through; its stdout must be one JSON object. Throws Failure when the child fails.
ChildResult RunChild(const std::vector<std::string>& args);

// The p-quantile (0 < p <= 1, nearest rank) of `sorted` (ascending); 0 when empty.
double Percentile(const std::vector<double>& sorted, double p);

// A goal's verdict: true or false when the run is at the size the goal names, else the
// string "not judged (the goal is at <size>)".
Json GoalVerdict(bool at_goal_size, bool met, const std::string& goal_size);

// Formats figures for people: "12,345" / "1.23".
std::string Thousands(double v);
// Prints a result object as aligned "key  value" lines (nested objects indented).
void PrintHuman(const Json& result, int indent = 0);

}  // namespace topo::bench
