// Loading and creating a database's device identity, with errors that say what to do. Used
// by the daemon (and by `topo start`, which checks the identity before it detaches, so a
// wrong passphrase is reported on the terminal and not only in the log).
#pragma once

#include <optional>
#include <string>

#include "store/keystore.h"

namespace topo::node {

bool PathExists(const std::string& path);

// The identity of an existing database: NotFound when the database or its key file is
// missing (with the command that creates one), the keystore's error with a passphrase hint.
Result<store::DeviceIdentity> LoadIdentity(const std::string& db,
                                           const std::optional<std::string>& passphrase);

// Creates the database and this device's identity when missing, else loads them. `created`
// says whether the key file was made now. A database without its key file is refused
// (giving it a new identity would orphan what it signed).
struct Initialised {
  store::DeviceIdentity id;
  bool created = false;
};
Result<Initialised> InitIdentity(const std::string& db, const std::optional<std::string>& passphrase,
                                 const std::string& device_name);

// Adds what to do about a key file's passphrase to the keystore's error.
Status WithPassphraseHint(Status s);

}  // namespace topo::node
