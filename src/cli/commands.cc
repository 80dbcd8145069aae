#include "cli/commands.h"
#include "cli/support.h"

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
    auto init = InitIdentity(g, *device_name);
    if (!init.created && !g.json) std::cerr << "topo: " << g.db << " was initialised already\n";
    show_identity(init.id, init.created);
  }));
  auto* identity = app.add_subcommand("identity", "Show this device's identity");
  identity->callback(Run(g, [&g, show_identity] { show_identity(Identity(g), false); }));
}

void RegisterObject(CLI::App& app, Globals& g) {
  auto* obj = app.add_subcommand("object", "Create, change and read objects");
  obj->require_subcommand(1);

  auto* create = obj->add_subcommand("create", "Create an object; prints its id");
  auto* type = &args.type;
  create->add_option("--type", *type, "counter | register | mvregister | set | map | list | doc")
      ->required();
  create->footer(
      "With --workspace ID the object is inside that workspace: its content is encrypted for\n"
      "the workspace's members. Example: topo object create --type doc --workspace 3e3ae4c3");
  create->callback(Run(g, [&g, type] {
    auto r = OpenReplica(g);
    codec::ObjectId id;
    json j{{"type", *type}};
    if (g.workspace.empty()) {
      id = Check(r->CreateObject(*type));
    } else {
      auto group = WorkspaceFor(g, *r);
      id = Check(r->CreateObject(*type, group));
      j["workspace"] = HexEncode(group.view());
    }
    j["object"] = HexEncode(id.view());
    Print(g, j, HexEncode(id.view()));
  }));

  auto* update =
      obj->add_subcommand("update", "Apply an operation: object update ID [--field F] OP ARGS...");
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
    auto op = Check(
        object::ParseOpWords(r->state(), id, object::FieldPrefix(f), bp->fields[f].type, *words));
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
      json j{{"id", HexEncode(m.id.view())},
             {"depth", m.depth},
             {"created_at", m.created_at},
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
      text << m.depth << "  " << HexEncodeShort(m.id) << "  by " << HexEncodeShort(m.author) << "  "
           << j["op"].dump() << "\n";
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
      all.push_back({{"object", HexEncode(info.id.view())},
                     {"type", info.blueprint},
                     {"vertices", info.vertices},
                     {"heads", info.heads}});
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
    std::string after = AfterImport(g, r);
    json j = ReportJson(report);
    j["after"] = after;
    Print(g, j, ReportText(report) + after);
  }));
}

}  // namespace

void RegisterCommands(CLI::App& app, Globals& g) {
  RegisterIdentity(app, g);
  RegisterObject(app, g);
  RegisterBundle(app, g);
  RegisterWorkspace(app, g);
}

}  // namespace topo::cli
