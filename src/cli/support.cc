#include "cli/support.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "util/encoding.h"

namespace topo::cli {

using nlohmann::json;

std::optional<std::string> Passphrase(const Globals& g) {
  if (!g.passphrase_file.empty()) {
    std::ifstream in(g.passphrase_file);
    if (!in) throw Failure{Status::IOError("cannot read passphrase file " + g.passphrase_file)};
    std::string line;
    std::getline(in, line);
    return line;
  }
  if (const char* env = std::getenv("TOPO_PASSPHRASE"); env && *env) return std::string(env);
  return std::nullopt;
}

void RequireDb(const Globals& g) {
  if (g.db.empty())
    throw Failure{Status::InvalidArgument("no database: pass --db PATH or set TOPO_DB")};
}

bool Exists(const std::string& path) {
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

store::DeviceIdentity Identity(const Globals& g) {
  RequireDb(g);
  const std::string keys = store::KeyFilePath(g.db);
  if (!Exists(g.db))
    throw Failure{Status::NotFound("no database at " + g.db + " (create one with: topo --db " +
                                   g.db + " init)")};
  if (!Exists(keys)) {
    store::OpenOptions o;
    o.create_if_missing = false;
    Check(store::Database::Open(g.db, o));  // a file that is no database says so first
    throw Failure{Status::NotFound("the key file " + keys + " of database " + g.db +
                                   " is missing: without it this device cannot sign")};
  }
  auto id = store::LoadIdentity(keys, Passphrase(g));
  if (!id.ok()) throw Failure{WithPassphraseHint(id.status())};
  return std::move(id).value();
}

Initialised InitIdentity(const Globals& g, const std::string& device_name) {
  RequireDb(g);
  const std::string keys = store::KeyFilePath(g.db);
  bool had_db = Exists(g.db), had_keys = Exists(keys);
  // The database first: a path that cannot hold one must not get a key file either.
  Check(store::Database::Open(g.db));
  if (had_db && !had_keys)
    throw Failure{Status::AlreadyExists("database " + g.db + " exists but its key file " + keys +
                                        " is missing: refusing to give it a new identity")};
  store::KeystoreOptions ko;
  ko.passphrase = Passphrase(g);
  ko.device_name = device_name;
  ko.pwhash = crypto::PwHashParams::Interactive();
  auto id = store::LoadOrCreateIdentity(keys, ko);
  if (!id.ok()) {
    if (!had_db) std::remove(g.db.c_str());
    throw Failure{WithPassphraseHint(id.status())};
  }
  return Initialised{std::move(id).value(), !had_keys};
}

Session OpenReplica(const Globals& g) { return OpenReplica(g, Identity(g)); }

Session OpenReplica(const Globals& g, store::DeviceIdentity id) {
  Session s{std::move(id), nullptr};
  object::ReplicaOptions o;
  o.create_if_missing = false;
  o.box = &s.id.box;
  s.replica = Check(object::Replica::Open(g.db, s.id.device.Clone(), o));
  return s;
}

codec::ObjectId ResolveObject(object::Replica& r, const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.size() == 64) {
    auto id = HexDecodeFixed<32>(lower);
    if (!id.ok()) throw Failure{Status::InvalidArgument("\"" + text + "\" is not an object id")};
    auto heads = Check(r.Heads(*id));
    if (heads.empty()) throw Failure{Status::NotFound("no object " + text)};
    return *id;
  }
  if (lower.size() < 4 || !HexDecode(lower.size() % 2 ? lower + "0" : lower).ok())
    throw Failure{Status::InvalidArgument("\"" + text + "\" is not an object id")};
  std::optional<codec::ObjectId> found;
  for (const auto& info : Check(r.ListObjects())) {
    if (HexEncode(info.id.view()).rfind(lower, 0) == 0) {
      if (found)
        throw Failure{Status::InvalidArgument("object id prefix \"" + text + "\" is ambiguous")};
      found = info.id;
    }
  }
  if (!found) throw Failure{Status::NotFound("no object " + text)};
  return *found;
}

void Print(const Globals& g, const json& j, const std::string& text) {
  if (g.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << text;
    if (!text.empty() && text.back() != '\n') std::cout << "\n";
  }
}

json ReportJson(const object::IngestReport& r) {
  return {{"applied", r.stats.applied},     {"cascaded", r.stats.cascaded},
          {"duplicate", r.stats.duplicate}, {"blocked", r.stats.blocked},
          {"rejected", r.stats.rejected},   {"invalid", r.stats.invalid},
          {"problems", r.problems}};
}

std::string ReportText(const object::IngestReport& r) {
  std::ostringstream o;
  o << r.stats.applied << " applied, " << r.stats.duplicate << " already here, " << r.stats.blocked
    << " waiting for parents, " << r.stats.rejected << " rejected, " << r.stats.invalid
    << " invalid\n";
  for (const auto& p : r.problems) o << "  " << p << "\n";
  return o.str();
}

std::function<void()> Run(Globals& g, std::function<void()> body) {
  return [&g, body = std::move(body)] {
    try {
      body();
    } catch (const Failure& f) {
      std::cerr << "topo: " << f.status.message() << "\n";
      g.exit_code = 1;
    } catch (const std::exception& e) {
      std::cerr << "topo: internal error: " << e.what() << "\n";
      g.exit_code = 1;
    }
  };
}

}  // namespace topo::cli
