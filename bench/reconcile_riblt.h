// topo-bench reconcile --algo riblt: a rateless IBLT session between two sets of N items that
// differ in D (half on each side), over sketches kept up to date on insert as a live node
// keeps them. To be folded with the negentropy bench into one `reconcile --algo` command.
#pragma once

#include <cstdint>
#include <string>

#include "bench/harness.h"

namespace topo::bench {

struct ReconcileRibltOptions {
  uint64_t items = 1'000'000;       // per side
  uint64_t diff = 1'000;            // items on one side only, split evenly
  uint64_t capacity = 4096;         // sketch symbols kept on insert
  uint64_t initial = 64;            // symbols in the initiator's first frame
  uint64_t estimate_counts = 1984;  // count bytes after them, for the estimate
  double overhead = 1.55;           // symbols asked: estimate x (overhead + 2.5 / sqrt(estimate))
  uint64_t trials = 1;              // sessions, each over a fresh difference
  uint64_t seed = 1;
  std::string algo = "riblt";
};
Json RunReconcileRiblt(const ReconcileRibltOptions& options);

}  // namespace topo::bench
