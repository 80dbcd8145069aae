// The file commands: file add, save, status and list (the daemon's file.* methods), and the
// save loop that the chat's save-file shares (cli/chat_file_commands.cc).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/support.h"

namespace topo::cli {
namespace {

using nlohmann::json;

struct FileArgs {
  std::string path, ref, name, mime;
  bool force = false;
};
FileArgs fargs;

std::string Describe(const json& j) {
  std::ostringstream o;
  o << (j.value("name", "").empty() ? std::string("(no name)") : j["name"].get<std::string>())
    << ", " << SizeText(j.value("size", uint64_t{0})) << " in " << j.value("chunks", uint64_t{0})
    << " chunk(s)";
  return o.str();
}

}  // namespace

std::string SizeText(uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

json SaveUntilSaved(Globals& g, const std::string& method, const json& params,
                    const std::string& typed_path) {
  const bool show = !g.json && ::isatty(STDERR_FILENO);
  int64_t shown = -1;
  for (;;) {
    json j = CallWithPath(g, method, params, "path", typed_path);
    if (j.value("state", "") == "saved") {
      if (shown >= 0) std::cerr << "\n";
      return j;
    }
    const int64_t percent = j.value("percent", int64_t{0});
    if (show && percent != shown) {
      std::cerr << "\rfetching " << percent << "%" << std::flush;
      shown = percent;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string SavedText(const json& saved, const std::string& typed_path) {
  const uint64_t fetched =
      saved.contains("fetch") ? saved["fetch"].value("fetched", uint64_t{0}) : 0;
  return "saved " + typed_path + ": " + Describe(saved) +
         (fetched ? " (" + std::to_string(fetched) + " fetched from peers)" : "");
}

void RegisterFiles(CLI::App& app, Globals& g) {
  auto* file = app.add_subcommand("file", "Encrypted files: add, save, status, list");
  file->require_subcommand(1);

  auto* add = file->add_subcommand("add", "Chunk, encrypt and store a file; print its reference");
  add->add_option("path", fargs.path, "The file to add")->required();
  add->add_option("--name", fargs.name, "The name to record (default: the file's name)");
  add->add_option("--mime", fargs.mime, "A MIME type to record, e.g. image/png");
  add->footer(
      "The reference (topo-file:...) names the file and carries its key: whoever holds it can\n"
      "fetch the chunks from any peer that has them and read the file. Give it only to those\n"
      "who may read the file.\n"
      "Example: topo --db alice.db file add report.pdf");
  add->callback(Run(g, [&g] {
    json params = json::object();
    if (!fargs.name.empty()) params["name"] = fargs.name;
    if (!fargs.mime.empty()) params["mime"] = fargs.mime;
    json j = CallWithPath(g, "file.add", params, "path", fargs.path);
    Print(g, j, "added " + Describe(j) + "\nref " + j["ref"].get<std::string>() + "\n");
  }));

  auto* save = file->add_subcommand("save", "Fetch a file from peers as needed and write it");
  save->add_option("ref", fargs.ref, "The file's reference, topo-file:...")->required();
  save->add_option("path", fargs.path, "Where to write it")->required();
  save->add_flag("--force", fargs.force, "Replace a file already at PATH");
  save->footer(
      "Chunks this database holds are not fetched again, so an interrupted save continues\n"
      "where it stopped. Every chunk is checked on arrival and the whole file before it is\n"
      "written (to a temporary file, renamed into place).\n"
      "Example: topo --db bob.db file save topo-file:ae3f... ~/report.pdf");
  save->callback(Run(g, [&g] {
    json j =
        SaveUntilSaved(g, "file.save", {{"ref", fargs.ref}, {"force", fargs.force}}, fargs.path);
    Print(g, j, SavedText(j, fargs.path));
  }));

  auto* status = file->add_subcommand("status", "Which chunks of a file this database holds");
  status->add_option("ref", fargs.ref, "The file's reference, topo-file:...")->required();
  status->footer("Example: topo --db bob.db file status topo-file:ae3f...");
  status->callback(Run(g, [&g] {
    json j = Call(g, "file.status", {{"ref", fargs.ref}});
    std::ostringstream o;
    o << "file     " << j["manifest"].get<std::string>().substr(0, 16) << "\n";
    if (!j["manifest_held"].get<bool>()) {
      o << "manifest not held here (topo file save fetches it)\n";
    } else {
      o << "name     " << Describe(j) << "\n"
        << "held     " << j["held"].get<uint64_t>() << " of " << j["chunks"].get<uint64_t>()
        << " chunks" << (j["complete"].get<bool>() ? " (complete)" : "") << "\n";
      for (const auto& m : j["missing"]) o << "  missing " << m.get<std::string>() << "\n";
    }
    if (!j["fetch"].is_null())
      o << "fetch    " << j["fetch"]["held"].get<uint64_t>() << " of "
        << j["fetch"]["total"].get<uint64_t>() << " held, "
        << j["fetch"]["in_flight"].get<uint64_t>() << " in flight, "
        << j["fetch"]["rejected"].get<uint64_t>() << " rejected\n";
    Print(g, j, o.str());
  }));

  auto* list = file->add_subcommand("list", "Files added or saved in this database");
  list->footer("Example: topo --db alice.db file list");
  list->callback(Run(g, [&g] {
    json j = Call(g, "file.list", json::object());
    std::ostringstream o;
    for (const auto& f : j["files"])
      o << f["manifest"].get<std::string>().substr(0, 16) << "  " << f["origin"].get<std::string>()
        << "  " << Describe(f) << "\n  " << f["ref"].get<std::string>() << "\n";
    if (j["files"].empty()) o << "no files\n";
    Print(g, j, o.str());
  }));
}

}  // namespace topo::cli
