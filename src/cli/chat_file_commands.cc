// Files in the team chat: send-file, files, save-file (the daemon's chat.send_file,
// chat.files, chat.save_file). A file is named by its FILE_ID: N.k, the k-th file of
// message #N (as `files`, `view` and `messages` show it; each device numbers its own), N
// for a message's only file, or a hex prefix of its manifest (the same on every device).
#include <sstream>

#include "cli/support.h"
#include "util/clock.h"

namespace topo::cli {
namespace {

using nlohmann::json;

struct ChatFileArgs {
  std::string channel, thread, text, name, path, file;
  uint64_t limit = 0;
  bool force = false;
};
ChatFileArgs cfargs;

std::string When(uint64_t now, uint64_t at) {
  uint64_t s = now > at ? (now - at) / 1000 : 0;
  if (s < 60) return "just now";
  if (s < 3600) return std::to_string(s / 60) + "m ago";
  if (s < 86400) return std::to_string(s / 3600) + "h ago";
  return std::to_string(s / 86400) + "d ago";
}

}  // namespace

void RegisterChatFiles(CLI::App& app, Globals& g) {
  auto* send = app.add_subcommand("send-file", "Share a file in a channel (or a thread)");
  send->add_option("--channel,-c", cfargs.channel,
                   "Channel: #name, name or id (default: #general)");
  send->add_option("--thread,-t", cfargs.thread,
                   "Share it in the thread of this message (#N or id)");
  send->add_option("--text,-m", cfargs.text, "The message that carries it (default: its name)");
  send->add_option("--name", cfargs.name, "The name to share it under (default: the file's name)");
  send->add_option("path", cfargs.path, "The file")->required();
  send->footer(
      "The file is chunked and encrypted into this database; the message carries its\n"
      "reference, so every member can fetch it (save-file) from any peer holding it.\n"
      "Example: topo send-file -c design mockups.pdf -m 'the mockups, v2'");
  send->callback(Run(g, [&g] {
    json params = json::object();
    if (!cfargs.channel.empty()) params["channel"] = cfargs.channel;
    if (!cfargs.thread.empty()) params["thread"] = cfargs.thread;
    if (!cfargs.text.empty()) params["text"] = cfargs.text;
    if (!cfargs.name.empty()) params["name"] = cfargs.name;
    json j = CallWithPath(g, "chat.send_file", params, "path", cfargs.path);
    Print(g, j,
          "sent " + (j.contains("number") ? "#" + std::to_string(j["number"].get<int64_t>()) : "") +
              " with " + j["name"].get<std::string>() + " (" + SizeText(j["size"].get<uint64_t>()) +
              ")" + (j.contains("file") ? ", file " + j["file"].get<std::string>() : ""));
  }));

  auto* files = app.add_subcommand("files", "The files shared in the workspace, newest first");
  files->add_option("--channel,-c", cfargs.channel, "Only in this channel");
  files->add_option("--limit,-n", cfargs.limit, "Of at most this many messages (default 50)");
  files->footer(
      "FILE_ID (first column) is what save-file takes. \"added\" and \"saved\" mark the files\n"
      "this database sent or saved already.\n"
      "Example: topo files -c design");
  files->callback(Run(g, [&g] {
    json params = json::object();
    if (!cfargs.channel.empty()) params["channel"] = cfargs.channel;
    if (cfargs.limit) params["limit"] = cfargs.limit;
    json all = Call(g, "chat.files", params);
    const uint64_t now = SystemClock::Instance().NowMs();
    std::ostringstream o;
    for (const auto& f : all) {
      o << f["file"].get<std::string>() << "  " << f["name"].get<std::string>() << "  "
        << SizeText(f["size"].get<uint64_t>()) << "  #" << f["channel_name"].get<std::string>()
        << "  " << f["author_name"].get<std::string>() << "  "
        << When(now, f["created_at"].get<uint64_t>());
      if (f["local"].is_string())
        o << "  (" << f["local"].get<std::string>()
          << (f["path"].is_string() && !f["path"].get<std::string>().empty()
                  ? " " + f["path"].get<std::string>()
                  : "")
          << ")";
      o << "\n";
    }
    Print(g, all, all.empty() ? "no files yet (send-file PATH)" : o.str());
  }));

  auto* save = app.add_subcommand("save-file", "Fetch a shared file from peers and write it");
  save->add_option("file", cfargs.file, "FILE_ID: N.k as files shows it, or a manifest prefix")
      ->required();
  save->add_option("path", cfargs.path, "Where to write it")->required();
  save->add_flag("--force", cfargs.force, "Replace a file already at PATH");
  save->footer(
      "Fetches the chunks this database lacks from connected peers, checks each and the whole\n"
      "file, and writes it (an interrupted save continues where it stopped).\n"
      "Example: topo save-file 12.1 ~/mockups.pdf");
  save->callback(Run(g, [&g] {
    json j = SaveUntilSaved(g, "chat.save_file", {{"file", cfargs.file}, {"force", cfargs.force}},
                            cfargs.path);
    Print(g, j, SavedText(j, cfargs.path));
  }));
}

}  // namespace topo::cli
