#include "node/identity.h"

#include <sys/stat.h>

#include <cstdio>

#include "store/database.h"

namespace topo::node {

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status WithPassphraseHint(Status s) {
  const std::string& m = s.message();
  if (m.find("no passphrase was given") != std::string::npos)
    return Status(s.code(), m + ": pass --passphrase-file FILE or set TOPO_PASSPHRASE");
  if (m.find("but a passphrase was given") != std::string::npos)
    return Status(s.code(), m + ": leave out --passphrase-file and TOPO_PASSPHRASE");
  return s;
}

Result<store::DeviceIdentity> LoadIdentity(const std::string& db,
                                           const std::optional<std::string>& passphrase) {
  if (db.empty()) return Status::InvalidArgument("no database: pass --db PATH or set TOPO_DB");
  const std::string keys = store::KeyFilePath(db);
  if (!PathExists(db))
    return Status::NotFound("no database at " + db + " (create one with: topo --db " + db +
                            " init)");
  if (!PathExists(keys)) {
    store::OpenOptions o;
    o.create_if_missing = false;
    auto opened = store::Database::Open(db, o);  // a file that is no database says so first
    if (!opened.ok()) return opened.status();
    return Status::NotFound("the key file " + keys + " of database " + db +
                            " is missing: without it this device cannot sign");
  }
  auto id = store::LoadIdentity(keys, passphrase);
  if (!id.ok()) return WithPassphraseHint(id.status());
  return id;
}

Result<Initialised> InitIdentity(const std::string& db, const std::optional<std::string>& passphrase,
                                 const std::string& device_name) {
  if (db.empty()) return Status::InvalidArgument("no database: pass --db PATH or set TOPO_DB");
  const std::string keys = store::KeyFilePath(db);
  bool had_db = PathExists(db), had_keys = PathExists(keys);
  // The database first: a path that cannot hold one must not get a key file either.
  if (auto opened = store::Database::Open(db); !opened.ok()) return opened.status();
  if (had_db && !had_keys)
    return Status::AlreadyExists("database " + db + " exists but its key file " + keys +
                                 " is missing: refusing to give it a new identity");
  store::KeystoreOptions ko;
  ko.passphrase = passphrase;
  ko.device_name = device_name;
  ko.pwhash = crypto::PwHashParams::Interactive();
  auto id = store::LoadOrCreateIdentity(keys, ko);
  if (!id.ok()) {
    if (!had_db) std::remove(db.c_str());
    return WithPassphraseHint(id.status());
  }
  return Initialised{std::move(id).value(), !had_keys};
}

}  // namespace topo::node
