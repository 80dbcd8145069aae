// The CLI's commands. Each registers on a CLI11 app and reports through Globals.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace topo::cli {

struct Globals {
  std::string db;
  bool json = false;
  std::string passphrase_file;
  std::string workspace;  // --workspace: which group, where a database holds several
  std::string log_level = "info";  // the daemon's, when this command starts it
  int exit_code = 0;
};

void RegisterCommands(CLI::App& app, Globals& g);

}  // namespace topo::cli
