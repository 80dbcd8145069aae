// What every libFuzzer target in fuzz/ shares: failing with a message, writing seed inputs,
// reading a file back, a private work directory, and the LLVMFuzzerInitialize hook that
// writes the seeds when TOPO_FUZZ_WRITE_SEEDS=<dir> is set (scripts/fuzz.sh) and exits.
//
// Header-only: each target is its own executable built from one .cc file. A target defines
// the name its failures are reported under, and names its seed writer:
//
//   const char topo::fuzz::kTargetName[] = "vertex_fuzz";
//   ...
//   TOPO_FUZZ_SEEDS(topo::WriteSeeds)
#pragma once

#include <stdlib.h>  // mkdtemp

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>

#include "util/bytes.h"

namespace topo::fuzz {

// The prefix of Fail()'s message; defined once by each target.
extern const char kTargetName[];

// Reports `what` on stderr as "<target>: <what>" and aborts, which libFuzzer counts as a
// finding.
[[noreturn]] inline void Fail(std::string_view what) {
  std::fprintf(stderr, "%s: %.*s\n", kTargetName, static_cast<int>(what.size()), what.data());
  std::abort();
}

// Writes `b` to the file `dir`/`name`.
inline void WriteSeed(const std::string& dir, const std::string& name, ByteView b) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!out) Fail("cannot write seed");
}

// The whole content of the file at `path` (empty when it cannot be read).
inline Bytes ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A private directory, topo-<tag>-fuzz-XXXXXX, removed with everything in it when the object
// is destroyed (at exit, for a static one). On tmpfs (/dev/shm) when there is one, else in
// /tmp: what the targets write there is fsynced or renamed, which a disk makes slow.
class WorkDirectory {
 public:
  explicit WorkDirectory(std::string_view tag) {
    std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    path_ = base + "/topo-" + std::string(tag) + "-fuzz-XXXXXX";
    if (!::mkdtemp(path_.data())) Fail("mkdtemp");
  }
  ~WorkDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  WorkDirectory(const WorkDirectory&) = delete;
  WorkDirectory& operator=(const WorkDirectory&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// With TOPO_FUZZ_WRITE_SEEDS=<dir> set: write_seeds(dir), then exit(0) (which runs the
// static destructors, so work directories go too). Otherwise nothing.
inline void WriteSeedsIfAsked(void (*write_seeds)(const std::string& dir)) {
  if (const char* dir = std::getenv("TOPO_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
}

}  // namespace topo::fuzz

// Defines the target's LLVMFuzzerInitialize: `fn`, a void(const std::string& dir), writes the
// seed inputs to dir when TOPO_FUZZ_WRITE_SEEDS=<dir> is set, and the process then exits.
#define TOPO_FUZZ_SEEDS(fn)                            \
  extern "C" int LLVMFuzzerInitialize(int*, char***) { \
    ::topo::fuzz::WriteSeedsIfAsked(fn);               \
    return 0;                                          \
  }
