#include "cli/commands.h"

#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/support.h"

namespace topo::cli {
namespace {

using nlohmann::json;

// Storage for every command's options: CLI11 writes into these while parsing.
struct Args {
  std::string device_name = "device";
  std::string type, update_id, field, show_id, log_id;
  std::vector<std::string> words;
  std::string export_file, export_object, import_file;
};
Args args;

std::string ShortHex(const std::string& hex) { return hex.substr(0, 16); }

// A bundle method: the daemon gets the file's absolute path (CallWithPath).
json CallWithFile(Globals& g, const std::string& method, json params, const std::string& typed) {
  return CallWithPath(g, method, std::move(params), "file", typed);
}

void RegisterIdentity(CLI::App& app, Globals& g) {
  auto* init = app.add_subcommand("init", "Create the database and this device's identity");
  auto* device_name = &args.device_name;
  init->add_option("--device-name", *device_name, "A name for this device");
  auto show_identity = [&g](const json& j) {
    std::ostringstream o;
    o << "device  " << j["device_key"].get<std::string>() << "  ("
      << j["device_name"].get<std::string>() << ")\n"
      << "box     " << j["box_key"].get<std::string>() << "\n"
      << "user    " << j["user_key"].get<std::string>() << "\n"
      << "keys    " << j["key_file"].get<std::string>()
      << (j["encrypted"].get<bool>() ? " (passphrase-encrypted)" : " (not encrypted)") << "\n";
    Print(g, j, o.str());
  };
  init->callback(Run(g, [&g, device_name, show_identity] {
    json j = Call(g, "identity.init", {{"device_name", *device_name}}, Start::kCreates);
    bool created = j.value("created", false);
    if (!created && !g.json) std::cerr << "topo: " << g.db << " was initialised already\n";
    j.erase("created");
    if (!created) j.erase("database");
    show_identity(j);
  }));
  auto* identity = app.add_subcommand("identity", "Show this device's identity");
  identity->callback(
      Run(g, [&g, show_identity] { show_identity(Call(g, "identity.show", json::object())); }));
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
    json j = Call(g, "object.create", {{"type", *type}});
    Print(g, j, j["object"].get<std::string>());
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
    json params{{"object", *uid}, {"op", *words}};
    if (!field->empty()) params["field"] = *field;
    json j = Call(g, "object.update", params);
    Print(g, j, j["vertex"].get<std::string>());
  }));

  auto* show = obj->add_subcommand("show", "Print an object's state as JSON");
  auto* sid = &args.show_id;
  show->add_option("id", *sid, "Object id (or a unique prefix)")->required();
  show->callback(Run(g, [&g, sid] {
    json j = Call(g, "object.show", {{"object", *sid}});
    Print(g, j, j["state"].dump(2));
  }));

  auto* log = obj->add_subcommand("log", "Print an object's vertices in linear order");
  auto* lid = &args.log_id;
  log->add_option("id", *lid, "Object id (or a unique prefix)")->required();
  log->callback(Run(g, [&g, lid] {
    json all = Call(g, "object.log", {{"object", *lid}});
    std::ostringstream text;
    for (const auto& j : all)
      text << j["depth"].get<uint64_t>() << "  " << ShortHex(j["id"]) << "  by "
           << ShortHex(j["author"]) << "  " << j.value("op", json(nullptr)).dump() << "\n";
    Print(g, all, text.str());
  }));

  auto* list = obj->add_subcommand("list", "List the objects in this replica");
  list->callback(Run(g, [&g] {
    json all = Call(g, "object.list", json::object());
    std::ostringstream text;
    for (const auto& j : all) {
      uint64_t heads = j["heads"];
      text << j["object"].get<std::string>() << "  " << j["type"].get<std::string>() << "  "
           << j["vertices"].get<uint64_t>() << " vertices, " << heads
           << (heads == 1 ? " head\n" : " heads\n");
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
    json params = json::object();
    if (!eobj->empty()) params["object"] = *eobj;
    json j = CallWithFile(g, "bundle.export", params, *efile);
    j["file"] = *efile;
    Print(g, j,
          "wrote " + std::to_string(j["vertices"].get<uint64_t>()) + " vertices to " + *efile);
  }));
  auto* imp = bundle->add_subcommand("import", "Ingest the vertices of a bundle file");
  auto* ifile = &args.import_file;
  imp->add_option("file", *ifile, "Bundle file to read")->required();
  imp->callback(Run(g, [&g, ifile] {
    json j = CallWithFile(g, "bundle.import", json::object(), *ifile);
    Print(g, j, ReportText(j) + j["after"].get<std::string>());
  }));
}

void RegisterRebuild(CLI::App& app, Globals& g) {
  auto* rebuild = app.add_subcommand(
      "rebuild", "Rewrite the projection tables (objects' values, the chat's) from the vertices");
  rebuild->footer(
      "Reads every vertex and applies each chat entry again, in one transaction: an\n"
      "interrupted rebuild leaves the tables as they were. Message numbers, read markers\n"
      "and the event journal (topo sub) stay as they are. Needed only after a bug in a\n"
      "projector; a newer topo migrates its own tables when it opens a database.\n"
      "The daemon logs its progress to DB.log (beside the database) every 16,384 vertices.\n"
      "Example: topo --db alice.db rebuild --json");
  rebuild->callback(Run(g, [&g] {
    // The daemon answers when it is done; its log has the progress.
    if (!g.json && isatty(STDERR_FILENO))
      std::cerr << "rebuilding (progress in " << g.db << ".log) ...\n";
    json j = Call(g, "replica.rebuild", json::object());
    std::string apps;
    for (const auto& a : j["apps"]) apps += (apps.empty() ? "" : ", ") + a.get<std::string>();
    Print(g, j,
          "rebuilt " + std::to_string(j["objects"].get<uint64_t>()) + " objects' values" +
              (apps.empty() ? std::string()
                            : " and the tables of " + apps + " from " +
                                  std::to_string(j["vertices"].get<uint64_t>()) + " vertices") +
              " in " + std::to_string(j["ms"].get<int64_t>()) + " ms");
  }));
}

}  // namespace

void RegisterCommands(CLI::App& app, Globals& g) {
  RegisterIdentity(app, g);
  RegisterObject(app, g);
  RegisterBundle(app, g);
  RegisterRebuild(app, g);
  RegisterWorkspace(app, g);
  RegisterDaemon(app, g);
  RegisterFiles(app, g);
  RegisterChat(app, g);
  RegisterChatFiles(app, g);
  RegisterSub(app, g);
  RegisterCompletions(app, g);
}

}  // namespace topo::cli
