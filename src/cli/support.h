// What every command shares: failures as one line, identity and replica loading, id
// resolution, printing text or JSON.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "object/replica.h"
#include "store/keystore.h"

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
bool Exists(const std::string& path);
// Adds what to do about a key file's passphrase to the keystore's error.
Status WithPassphraseHint(Status s);
// Loads the identity of an existing database. Only `init` (and the commands that start a
// replica: create-workspace, accept) create one.
store::DeviceIdentity Identity(const Globals& g);
// Creates the database and this device's identity when missing, else loads them (`init`,
// and the commands that can start a replica: create-workspace, accept). `created` says
// whether the key file was made now.
struct Initialised {
  store::DeviceIdentity id;
  bool created = false;
};
Initialised InitIdentity(const Globals& g, const std::string& device_name);

// An open replica with the identity it acts as (the replica reads group content with the
// identity's box key, so the identity lives as long as the replica).
struct Session {
  store::DeviceIdentity id;
  std::unique_ptr<object::Replica> replica;
  object::Replica& operator*() { return *replica; }
  object::Replica* operator->() { return replica.get(); }
};
Session OpenReplica(const Globals& g);
Session OpenReplica(const Globals& g, store::DeviceIdentity id);

// Full hex id, or a unique prefix of at least 4 hex characters among this replica's objects.
codec::ObjectId ResolveObject(object::Replica& r, const std::string& text);

void Print(const Globals& g, const nlohmann::json& j, const std::string& text);
nlohmann::json ReportJson(const object::IngestReport& r);
std::string ReportText(const object::IngestReport& r);

// Workspace commands (cli/workspace.cc).
void RegisterWorkspace(CLI::App& app, Globals& g);
// The workspace --workspace names (or the default one).
codec::ObjectId WorkspaceFor(const Globals& g, object::Replica& r);
// After `bundle import`: certifies this user's newly linked devices, takes over the user
// identity another device handed to this one (rewriting the key file), hands keys to
// members that lack them, publishes display names waiting for a key. Lines for the user,
// or empty.
std::string AfterImport(const Globals& g, Session& s);

// Wraps a command body: failures become one line on stderr and exit status 1.
std::function<void()> Run(Globals& g, std::function<void()> body);

}  // namespace topo::cli
