// topo-sim: runs one deterministic simulation (sync/sim.h) and prints its result; with
// --trace, every event first. The same --seed and options give the same run.
//
//   topo-sim --seed 7 --nodes 5 [--writes N] [--objects K] [--group-objects K]
//            [--outsiders K] [--loss P] [--duplicate P] [--bandwidth MIN:MAX]
//            [--partitions K] [--crashes K] [--byzantine] [--trace] [--json]
//
// Exit status 0 when the honest nodes converged, lost nothing and leaked nothing (no vertex
// of the group reached a node not entitled to it), 1 when not, 2 on a usage or machinery
// error.
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
  app.add_option("--objects", o.objects, "open objects written to")->capture_default_str();
  app.add_option("--group-objects", o.group_objects, "objects inside node 0's group (0: no group)")
      ->capture_default_str();
  app.add_option("--outsiders", o.outsiders, "honest nodes never invited to the group")
      ->capture_default_str();
  app.add_option("--writes", o.writes, "writes during the write phase")->capture_default_str();
  app.add_option("--write-phase-ms", o.write_phase_ms, "virtual ms of writing and faults")
      ->capture_default_str();
  app.add_option("--latency-ms", o.latency_ms, "per frame")->capture_default_str();
  app.add_option("--jitter-ms", o.jitter_ms, "extra random delay (reordering)")
      ->capture_default_str();
  std::string bandwidth = std::to_string(o.min_bandwidth_bytes_per_s) + ":" +
                          std::to_string(o.max_bandwidth_bytes_per_s);
  app.add_option("--bandwidth", bandwidth,
                 "each directed link's bytes per second, drawn in MIN:MAX (0: unlimited)")
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
  {
    auto colon = bandwidth.find(':');
    std::string lo = bandwidth.substr(0, colon);
    std::string hi = colon == std::string::npos ? lo : bandwidth.substr(colon + 1);
    char* end = nullptr;
    o.min_bandwidth_bytes_per_s = std::strtoull(lo.c_str(), &end, 10);
    bool ok = !lo.empty() && *end == 0;
    o.max_bandwidth_bytes_per_s = std::strtoull(hi.c_str(), &end, 10);
    ok = ok && !hi.empty() && *end == 0;
    if (!ok || o.min_bandwidth_bytes_per_s > o.max_bandwidth_bytes_per_s) {
      std::cerr << "topo-sim: --bandwidth takes MIN:MAX bytes per second (MIN <= MAX), or 0\n";
      return 2;
    }
  }

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
                   {"bytes", r->bytes},
                   {"max_queue_ms", r->max_queue_ms},
                   {"group_writes", r->group_writes},
                   {"members", r->members},
                   {"leaked", r->leaked},
                   {"refused", r->refused},
                   {"sessions", r->sessions},
                   {"sessions_ended_by_violation", r->sessions_ended_by_violation},
                   {"crashes", r->crashes},
                   {"partitions", r->partitions},
                   {"problem", r->problem}};
  if (json) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "seed " << o.seed << ": " << (r->converged ? "converged" : "DID NOT CONVERGE")
              << " at " << r->end_time_ms << " ms; " << r->honest_writes << " writes ("
              << r->group_writes << " in the group, " << r->members << " members), "
              << r->vertices_per_node << " vertices per member, " << r->frames << " frames ("
              << r->frames_lost << " lost, " << r->frames_duplicated << " duplicated, " << r->bytes
              << " bytes, queued up to " << r->max_queue_ms << " ms), " << r->sessions
              << " sessions (" << r->sessions_ended_by_violation << " ended by a violation), "
              << r->crashes << " crashes, " << r->partitions << " partitions, " << r->leaked
              << " vertices leaked, " << r->refused << " requests refused"
              << (r->problem.empty() ? "" : "; " + r->problem) << "\n";
  }
  return r->converged && r->lost_nothing && r->leaked == 0 ? 0 : 1;
}
