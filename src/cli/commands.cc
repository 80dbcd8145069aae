#include "cli/commands.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "codec/object_payload.h"
#include "object/op_text.h"
#include "object/replica.h"
#include "store/keystore.h"
#include "util/encoding.h"

namespace topo::cli {
namespace {

using nlohmann::json;

// Storage for every command's options: CLI11 writes into these while parsing.
struct Args {
  std::string device_name = "device";
  std::string type, update_id, field = "value", show_id, log_id;
  std::vector<std::string> words;
  std::string export_file, export_object, import_file;
};
Args args;

// A failed command: printed as one line, exit status 1.
struct Failure {
  Status status;
};

template <typename T>
T Check(Result<T> r) {
  if (!r.ok()) throw Failure{r.status()};
  return std::move(r).value();
}
void Check(Status s) {
  if (!s.ok()) throw Failure{std::move(s)};
}

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

// Adds what to do about a key file's passphrase to the keystore's error.
Status WithPassphraseHint(Status s) {
  const std::string& m = s.message();
  if (m.find("no passphrase was given") != std::string::npos)
    return Status(s.code(), m + ": pass --passphrase-file FILE or set TOPO_PASSPHRASE");
  if (m.find("but a passphrase was given") != std::string::npos)
    return Status(s.code(), m + ": leave out --passphrase-file and TOPO_PASSPHRASE");
  return s;
}

// Loads the identity of an existing database. Only `init` creates one.
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

std::unique_ptr<object::Replica> OpenReplica(const Globals& g) {
  auto id = Identity(g);
  object::ReplicaOptions o;
  o.create_if_missing = false;
  return Check(object::Replica::Open(g.db, std::move(id.device), o));
}

// Full hex id, or a unique prefix of at least 4 hex characters among this replica's objects.
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
  return {{"applied", r.stats.applied}, {"cascaded", r.stats.cascaded},
          {"duplicate", r.stats.duplicate}, {"blocked", r.stats.blocked},
          {"rejected", r.stats.rejected}, {"invalid", r.stats.invalid},
          {"problems", r.problems}};
}

std::string ReportText(const object::IngestReport& r) {
  std::ostringstream o;
  o << r.stats.applied << " applied, " << r.stats.duplicate << " already here, "
    << r.stats.blocked << " waiting for parents, " << r.stats.rejected << " rejected, "
    << r.stats.invalid << " invalid\n";
  for (const auto& p : r.problems) o << "  " << p << "\n";
  return o.str();
}

// Wraps a command body: failures become one line on stderr and exit status 1.
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

void RegisterIdentity(CLI::App& app, Globals& g) {
  auto* init = app.add_subcommand("init", "Create the database and this device's identity");
  auto* device_name = &args.device_name;
  init->add_option("--device-name", *device_name, "A name for this device");
  auto show_identity = [&g](const store::DeviceIdentity& id, bool created) {
    json j{{"device_key", HexEncode(id.device.public_key().view())},
           {"box_key", HexEncode(id.box.public_key().view())},
           {"user_key", HexEncode(id.user.public_key().view())},
           {"device_name", id.device_name},
           {"key_file", store::KeyFilePath(g.db)},
           {"encrypted", Check(store::IsEncrypted(store::KeyFilePath(g.db)))}};
    if (created) j["database"] = g.db;
    std::ostringstream o;
    o << "device  " << j["device_key"].get<std::string>() << "  (" << id.device_name << ")\n"
      << "box     " << j["box_key"].get<std::string>() << "\n"
      << "user    " << j["user_key"].get<std::string>() << "\n"
      << "keys    " << j["key_file"].get<std::string>()
      << (j["encrypted"].get<bool>() ? " (passphrase-encrypted)" : " (not encrypted)") << "\n";
    Print(g, j, o.str());
  };
  init->callback(Run(g, [&g, device_name, show_identity] {
    RequireDb(g);
    const std::string keys = store::KeyFilePath(g.db);
    bool had_db = Exists(g.db), had_keys = Exists(keys);
    // The database first: a path that cannot hold one must not get a key file either.
    Check(store::Database::Open(g.db));
    if (had_db && !had_keys)
      throw Failure{Status::AlreadyExists("database " + g.db + " exists but its key file " +
                                          keys + " is missing: refusing to give it a new identity")};
    store::KeystoreOptions ko;
    ko.passphrase = Passphrase(g);
    ko.device_name = *device_name;
    ko.pwhash = crypto::PwHashParams::Interactive();
    auto id = store::LoadOrCreateIdentity(keys, ko);
    if (!id.ok()) {
      if (!had_db) std::remove(g.db.c_str());
      throw Failure{WithPassphraseHint(id.status())};
    }
    if (had_keys && !g.json) std::cerr << "topo: " << g.db << " was initialised already\n";
    show_identity(*id, !had_keys);
  }));
  auto* identity = app.add_subcommand("identity", "Show this device's identity");
  identity->callback(Run(g, [&g, show_identity] { show_identity(Identity(g), false); }));
}

void RegisterObject(CLI::App& app, Globals& g) {
  auto* obj = app.add_subcommand("object", "Create, change and read objects");
  obj->require_subcommand(1);

  auto* create = obj->add_subcommand("create", "Create an object; prints its id");
  auto* type = &args.type;
  create->add_option("--type", *type,
                     "counter | register | mvregister | set | map | list | doc")
      ->required();
  create->callback(Run(g, [&g, type] {
    auto r = OpenReplica(g);
    auto id = Check(r->CreateObject(*type));
    Print(g, json{{"object", HexEncode(id.view())}, {"type", *type}}, HexEncode(id.view()));
  }));

  auto* update = obj->add_subcommand(
      "update", "Apply an operation: object update ID [--field F] OP ARGS...");
  auto* uid = &args.update_id;
  auto* field = &args.field;
  auto* words = &args.words;
  update->add_option("id", *uid, "Object id (or a unique prefix)")->required();
  update->add_option("--field", *field, "Field of the object (default: value)");
  update->add_option("op", *words, "Operation and its arguments, e.g. add 5")->required();
  update->footer(
      "Operations by field kind:\n"
      "  counter     add N | inc | dec\n"
      "  register    set VALUE\n"
      "  mvregister  set VALUE\n"
      "  set         add ELEMENT | remove ELEMENT\n"
      "  map         put KEY VALUE | remove KEY | at KEY <op of the value>\n"
      "  list        insert INDEX TEXT | append TEXT | delete INDEX [COUNT]\n"
      "A value that starts with '-' goes after --: object update ID set -- -5\n"
      "Example: topo --db a.db object update 3e3ae4c3 --field votes at alice add 1");
  update->prefix_command(false);
  update->callback(Run(g, [&g, uid, field, words] {
    auto r = OpenReplica(g);
    auto id = ResolveObject(*r, *uid);
    const object::Blueprint* bp = Check(r->BlueprintOf(id));
    std::string fname = *field;
    if (fname == "value" && bp->FieldIndex("value") < 0)
      throw Failure{Status::InvalidArgument("a " + bp->name + " has several fields: pass --field")};
    uint32_t f = Check(r->FieldOf(id, fname));
    auto op = Check(object::ParseOpWords(r->state(), id, object::FieldPrefix(f),
                                         bp->fields[f].type, *words));
    auto vid = Check(r->Submit(id, f, op));
    Print(g, json{{"vertex", HexEncode(vid.view())}, {"op", object::OpToJson(op)}},
          HexEncode(vid.view()));
  }));

  auto* show = obj->add_subcommand("show", "Print an object's state as JSON");
  auto* sid = &args.show_id;
  show->add_option("id", *sid, "Object id (or a unique prefix)")->required();
  show->callback(Run(g, [&g, sid] {
    auto r = OpenReplica(g);
    auto id = ResolveObject(*r, *sid);
    auto state = Check(r->Show(id));
    if (g.json) {
      json j{{"object", HexEncode(id.view())},
             {"type", Check(r->BlueprintOf(id))->name},
             {"state", state}};
      std::cout << j.dump() << "\n";
    } else {
      std::cout << state.dump(2) << "\n";
    }
  }));

  auto* log = obj->add_subcommand("log", "Print an object's vertices in linear order");
  auto* lid = &args.log_id;
  log->add_option("id", *lid, "Object id (or a unique prefix)")->required();
  log->callback(Run(g, [&g, lid] {
    auto r = OpenReplica(g);
    auto id = ResolveObject(*r, *lid);
    Check(r->BlueprintOf(id));
    json all = json::array();
    std::ostringstream text;
    Check(r->ForEachInOrder(id, [&](const graph::VertexMeta& m, ByteView raw) {
      json j{{"id", HexEncode(m.id.view())}, {"depth", m.depth}, {"created_at", m.created_at},
             {"author", HexEncode(m.author.view())}};
      auto v = codec::DecodeVertex(raw);
      if (v.ok()) {
        std::vector<std::string> parents;
        for (auto& p : v->parents) parents.push_back(HexEncodeShort(p));
        j["parents"] = parents;
        if (v->is_genesis()) {
          auto gp = codec::DecodeGenesisPayload(v->payload);
          j["op"] = json{{"op", "create"}, {"type", gp.ok() ? gp->blueprint : "?"}};
        } else if (auto p = codec::DecodeOpPayload(v->payload); p.ok()) {
          j["field"] = p->field;
          j["op"] = object::OpToJson(p->op);
        }
      }
      text << m.depth << "  " << HexEncodeShort(m.id) << "  by " << HexEncodeShort(m.author)
           << "  " << j["op"].dump() << "\n";
      all.push_back(std::move(j));
      return true;
    }));
    Print(g, all, text.str());
  }));

  auto* list = obj->add_subcommand("list", "List the objects in this replica");
  list->callback(Run(g, [&g] {
    auto r = OpenReplica(g);
    json all = json::array();
    std::ostringstream text;
    for (const auto& info : Check(r->ListObjects())) {
      all.push_back({{"object", HexEncode(info.id.view())}, {"type", info.blueprint},
                     {"vertices", info.vertices}, {"heads", info.heads}});
      text << HexEncode(info.id.view()) << "  " << info.blueprint << "  " << info.vertices
           << " vertices, " << info.heads << (info.heads == 1 ? " head\n" : " heads\n");
    }
    Print(g, all, text.str().empty() ? "no objects yet" : text.str());
  }));
}

void RegisterBundle(CLI::App& app, Globals& g) {
  auto* bundle = app.add_subcommand("bundle", "Exchange vertices through files (offline sync)");
  bundle->require_subcommand(1);
  auto* exp = bundle->add_subcommand("export", "Write vertices to a bundle file");
  auto* efile = &args.export_file;
  auto* eobj = &args.export_object;
  exp->add_option("file", *efile, "Bundle file to write")->required();
  exp->add_option("--object", *eobj, "Only this object (default: every object)");
  exp->callback(Run(g, [&g, efile, eobj] {
    auto r = OpenReplica(g);
    std::optional<codec::ObjectId> only;
    if (!eobj->empty()) only = ResolveObject(*r, *eobj);
    uint64_t n = Check(r->ExportBundle(*efile, only));
    Print(g, json{{"file", *efile}, {"vertices", n}},
          "wrote " + std::to_string(n) + " vertices to " + *efile);
  }));
  auto* imp = bundle->add_subcommand("import", "Ingest the vertices of a bundle file");
  auto* ifile = &args.import_file;
  imp->add_option("file", *ifile, "Bundle file to read")->required();
  imp->callback(Run(g, [&g, ifile] {
    auto r = OpenReplica(g);
    auto report = Check(r->ImportBundle(*ifile));
    Print(g, ReportJson(report), ReportText(report));
  }));
}

}  // namespace

void RegisterCommands(CLI::App& app, Globals& g) {
  RegisterIdentity(app, g);
  RegisterObject(app, g);
  RegisterBundle(app, g);
}

}  // namespace topo::cli
