// What every command shares: failures as one line, calling the daemon (started when none
// runs), printing text or JSON.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "util/status.h"

namespace topo::cli {

// A failed command: printed as one line, exit status 1.
struct Failure {
  Status status;
};

template <typename T>
T Check(Result<T> r) {
  if (!r.ok()) throw Failure{r.status()};
  return std::move(r).value();
}
inline void Check(Status s) {
  if (!s.ok()) throw Failure{std::move(s)};
}

std::optional<std::string> Passphrase(const Globals& g);
void RequireDb(const Globals& g);
// --db as an absolute path (the daemon does not share the command's working directory).
std::string AbsoluteDb(const Globals& g);
std::string Absolute(const std::string& path);

// How a call may start the daemon when none serves the database.
enum class Start {
  kExisting,  // only for an existing database: otherwise "no database at ..." (nothing started)
  kCreates,   // the method creates the database (init, create-workspace, accept, accept-link)
};
// Calls `method` on the daemon of --db, starting it first when none runs. Adds --workspace
// to the params when given.
nlohmann::json Call(Globals& g, const std::string& method, nlohmann::json params,
                    Start start = Start::kExisting);

// Calls a method whose `param` is a path: the daemon (which does not share the command's
// working directory) gets it absolute; its error messages name the path as the user typed it.
nlohmann::json CallWithPath(Globals& g, const std::string& method, nlohmann::json params,
                            const std::string& param, const std::string& typed);

void Print(const Globals& g, const nlohmann::json& j, const std::string& text);
std::string ReportText(const nlohmann::json& report);

// Workspace commands (cli/workspace.cc) and the daemon's (cli/daemon_commands.cc).
void RegisterWorkspace(CLI::App& app, Globals& g);
// The team chat's commands (cli/chat_commands.cc).
void RegisterChat(CLI::App& app, Globals& g);
// `members` / `users`, and `peer list` / `peers`.
void PrintMembers(Globals& g);
void PrintPeers(Globals& g);
void RegisterDaemon(CLI::App& app, Globals& g);
// File commands (cli/files.cc).
void RegisterFiles(CLI::App& app, Globals& g);
// Calls a method that saves a file (file.save, chat.save_file) again every 100 ms until its
// state is "saved", showing the percentage on stderr when that is a terminal; the last
// answer. `typed_path` goes as the "path" parameter (CallWithPath).
nlohmann::json SaveUntilSaved(Globals& g, const std::string& method, const nlohmann::json& params,
                              const std::string& typed_path);
// "saved PATH: NAME, SIZE in N chunk(s)", and how many chunks came from peers if any.
std::string SavedText(const nlohmann::json& saved, const std::string& typed_path);
// "512 bytes", "3.3 MiB".
std::string SizeText(uint64_t bytes);
// Files in the chat: send-file, files, save-file (cli/chat_file_commands.cc).
void RegisterChatFiles(CLI::App& app, Globals& g);
// `sub` (cli/sub_command.cc) and `completions` (cli/completions.cc).
void RegisterSub(CLI::App& app, Globals& g);
void RegisterCompletions(CLI::App& app, Globals& g);

// Wraps a command body: failures become one line on stderr and exit status 1.
std::function<void()> Run(Globals& g, std::function<void()> body);

}  // namespace topo::cli
