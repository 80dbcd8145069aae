// topo-sim: runs one deterministic simulation (sync/sim.h) and prints its result; with
// --trace, every event first. The same --seed and options give the same run.
//
//   topo-sim --seed 7 --nodes 5 [--writes N] [--loss P] [--duplicate P] [--partitions K]
//            [--crashes K] [--byzantine] [--trace] [--json]
//
// Exit status 0 when the honest nodes converged and lost nothing, 1 when not, 2 on a usage
// or machinery error.
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "sync/sim.h"

int main(int argc, char** argv) {
  topo::sync::SimOptions o;
  bool json = false, trace = false;
  CLI::App app{"topo-sim: a deterministic simulation of topo nodes syncing"};
  app.add_option("--seed", o.seed, "the seed: it fixes the whole run")->capture_default_str();
  app.add_option("--nodes", o.nodes, "nodes (2..64)")->capture_default_str();
  app.add_option("--objects", o.objects, "objects written to")->capture_default_str();
  app.add_option("--writes", o.writes, "writes during the write phase")->capture_default_str();
  app.add_option("--write-phase-ms", o.write_phase_ms, "virtual ms of writing and faults")
      ->capture_default_str();
  app.add_option("--latency-ms", o.latency_ms, "per frame")->capture_default_str();
  app.add_option("--jitter-ms", o.jitter_ms, "extra random delay (reordering)")
      ->capture_default_str();
  app.add_option("--loss", o.loss, "probability a frame is lost")->capture_default_str();
  app.add_option("--duplicate", o.duplicate, "probability a frame is duplicated")
      ->capture_default_str();
  app.add_option("--partitions", o.partitions, "network splits, each healed")
      ->capture_default_str();
  app.add_option("--crashes", o.crashes, "node crashes, each restarted from disk")
      ->capture_default_str();
  app.add_option("--clock-skew-ms", o.max_clock_skew_ms, "largest clock error of a node")
      ->capture_default_str();
  app.add_flag("--byzantine", o.byzantine, "the last node sends garbage and forgeries");
  app.add_flag("--trace", trace, "print every event");
  app.add_flag("--json", json, "the result as one JSON object");
  app.footer("Example: topo-sim --seed 7 --nodes 5 --byzantine --trace");
  CLI11_PARSE(app, argc, argv);

  std::string tmpl = (std::filesystem::temp_directory_path() / "topo-sim-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::cerr << "topo-sim: cannot create a temporary directory\n";
    return 2;
  }
  o.dir = tmpl;
  if (trace) o.trace = [](const std::string& line) { std::cout << line << "\n"; };
  auto r = topo::sync::RunSimulation(o);
  std::error_code ignored;
  std::filesystem::remove_all(tmpl, ignored);
  if (!r.ok()) {
    std::cerr << "topo-sim: " << r.status().message() << "\n";
    return 2;
  }
  nlohmann::json j{{"seed", o.seed},
                   {"nodes", o.nodes},
                   {"converged", r->converged},
                   {"lost_nothing", r->lost_nothing},
                   {"end_time_ms", r->end_time_ms},
                   {"honest_writes", r->honest_writes},
                   {"vertices_per_node", r->vertices_per_node},
                   {"frames", r->frames},
                   {"frames_lost", r->frames_lost},
                   {"frames_duplicated", r->frames_duplicated},
                   {"sessions", r->sessions},
                   {"sessions_ended_by_violation", r->sessions_ended_by_violation},
                   {"crashes", r->crashes},
                   {"partitions", r->partitions},
                   {"problem", r->problem}};
  if (json) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "seed " << o.seed << ": " << (r->converged ? "converged" : "DID NOT CONVERGE")
              << " at " << r->end_time_ms << " ms; " << r->honest_writes << " writes, "
              << r->vertices_per_node << " vertices per node, " << r->frames << " frames ("
              << r->frames_lost << " lost, " << r->frames_duplicated << " duplicated), "
              << r->sessions << " sessions (" << r->sessions_ended_by_violation
              << " ended by a violation), " << r->crashes << " crashes, " << r->partitions
              << " partitions" << (r->problem.empty() ? "" : "; " + r->problem) << "\n";
  }
  return r->converged && r->lost_nothing ? 0 : 1;
}
