// topo: the command-line interface. Every command takes --db PATH (or TOPO_DB) and --json,
// and talks to that database's daemon over JSON-RPC, starting it when none runs.
// Errors are one line on stderr and exit status 1 (2 for usage errors), and leave the
// database as it was.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "apps/chat/methods.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  using topo::cli::Globals;
  // The team chat: its blueprint for the replica, its chat.* methods for the daemon.
  if (auto s = topo::apps::chat::RegisterApp(); !s.ok()) {
    std::cerr << "topo: " << s.message() << "\n";
    return 1;
  }
  CLI::App app{"topo: a peer-to-peer, end-to-end encrypted, local-first replication engine"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every command");
  Globals g;
  app.add_option("--db", g.db, "Database file (the key file sits beside it as PATH.keys)")
      ->envname("TOPO_DB");
  app.add_flag("--json", g.json, "Print results as JSON");
  app.add_option("--passphrase-file", g.passphrase_file,
                 "File holding the passphrase that encrypts the key file (or TOPO_PASSPHRASE)");
  app.add_option("--workspace", g.workspace,
                 "Workspace id (or a unique prefix) where the database holds several");
  app.add_option("--log-level", g.log_level,
                 "The daemon's log level when this command starts it: debug | info | warn | "
                 "error");
  // Global options may come after the subcommand too: `topo object show ID --json`.
  app.fallthrough();
  topo::cli::RegisterCommands(app, g);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "topo: " << e.what() << " (try --help)\n";
    return 2;
  }
  return g.exit_code;
}
