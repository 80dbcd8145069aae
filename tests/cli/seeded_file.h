// Files for the CLI's file tests: seeded pseudo-random contents (the same bytes for the same
// seed, on every run) and their sha256, computed by sha256sum without reading the file into
// the test's memory.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace topo::cli_test {

// Writes `bytes` seeded pseudo-random bytes to `path`, a MiB at a time.
inline void WriteSeeded(const std::string& path, uint64_t bytes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string block;
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min<uint64_t>(bytes - done, 1 << 20);
    block.resize(n);
    for (uint64_t i = 0; i + 8 <= n; i += 8) {
      uint64_t v = rng();
      std::memcpy(&block[i], &v, 8);
    }
    for (uint64_t i = n - n % 8; i < n; ++i) block[i] = static_cast<char>(rng());
    out.write(block.data(), static_cast<std::streamsize>(n));
    done += n;
  }
  ASSERT_TRUE(out.good());
}

// sha256sum's digest of the file (streamed by the tool, not read into this process).
inline std::string Sha256Of(const std::string& path) {
  std::string cmd = "sha256sum '" + path + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return "popen failed";
  char buf[65] = {};
  size_t n = std::fread(buf, 1, 64, p);
  ::pclose(p);
  return std::string(buf, n);
}

}  // namespace topo::cli_test
