// Workspace (group) commands: create-workspace, invite, accept, link-device, accept-link,
// members, devices, invites, revoke-invite, remove, grant-admin, revoke-admin, transfer,
// leave, rotate, workspaces, use. Each calls the daemon's workspace.* or device.* method.
#include <iostream>
#include <sstream>

#include "cli/support.h"

namespace topo::cli {
namespace {

using nlohmann::json;

struct WorkspaceArgs {
  std::string name, username, device_name = "device", link, target, duration;
  std::string role = "member";
  uint64_t uses = 0;
  bool history = false, bar = false, offline = false;
  std::vector<std::string> addresses;
};
WorkspaceArgs wargs;

std::string ShortHex(const std::string& hex) { return hex.substr(0, 16); }

}  // namespace

void PrintMembers(Globals& g) {
  json all = Call(g, "workspace.members", json::object());
  std::ostringstream text;
  for (const auto& m : all) {
    std::string name = m["name"];
    size_t devices = m["devices"].size();
    text << ShortHex(m["user"]) << "  " << (name.empty() ? "(no name yet)" : name) << "  "
         << m["role"].get<std::string>() << "  " << devices
         << (devices == 1 ? " device" : " devices") << (m["you"].get<bool>() ? "  (you)" : "")
         << "\n";
  }
  Print(g, all, text.str());
}

void RegisterWorkspace(CLI::App& app, Globals& g) {
  auto* create = app.add_subcommand("create-workspace",
                                    "Create a workspace (an encrypted group); prints its id");
  create->add_option("--name", wargs.name, "Workspace name (encrypted)")->required();
  create->add_option("--username", wargs.username, "Your display name in it")->required();
  create->add_option("--device-name", wargs.device_name,
                     "This device's name (when the database is new)");
  create->add_flag("--history", wargs.history, "New members can read what was written before");
  create->footer("Example: topo --db alice.db create-workspace --name acme --username alice");
  create->callback(Run(g, [&g] {
    json j = Call(g, "workspace.create",
                  {{"name", wargs.name},
                   {"username", wargs.username},
                   {"device_name", wargs.device_name},
                   {"history", wargs.history}},
                  Start::kCreates);
    Print(g, j, j["workspace"].get<std::string>());
  }));

  auto* invite = app.add_subcommand("invite", "Invite someone; prints the invite link");
  invite->add_option("--uses", wargs.uses, "How many joins it admits (default: unlimited)");
  invite->add_option("--expires", wargs.duration, "Lifetime, e.g. 30m, 12h, 7d (default: none)");
  invite->add_option("--role", wargs.role, "member | admin")
      ->check(CLI::IsMember({"member", "admin"}));
  invite->add_option("--address", wargs.addresses,
                     "HOST:PORT where you can be reached (default: where the daemon listens)");
  invite->add_flag("--offline", wargs.offline,
                   "The link carries no address: the invitee joins through bundles");
  invite->footer("Example: topo invite --uses 1 --expires 7d");
  invite->callback(Run(g, [&g] {
    json params{{"uses", wargs.uses},
                {"role", wargs.role},
                {"addresses", wargs.addresses},
                {"offline", wargs.offline}};
    if (!wargs.duration.empty()) params["expires"] = wargs.duration;
    json j = Call(g, "workspace.invite", params);
    Print(g, j, j["link"].get<std::string>());
  }));

  auto* accept = app.add_subcommand("accept", "Join a workspace with an invite link");
  accept->add_option("link", wargs.link, "The topo://invite/v1/... link")->required();
  accept->add_option("--username", wargs.username, "Your display name in it")->required();
  accept->add_option("--device-name", wargs.device_name,
                     "This device's name (when the database is new)");
  accept->footer(
      "The daemon dials the inviter at the link's addresses, proves the invite, and receives\n"
      "the workspace and its key within seconds (see: topo members). A link without an\n"
      "address (invite --offline) joins through bundles: send your join to the inviter\n"
      "(topo bundle export FILE) and import theirs (topo bundle import FILE).");
  accept->callback(Run(g, [&g] {
    json j = Call(g, "workspace.accept",
                  {{"link", wargs.link},
                   {"username", wargs.username},
                   {"device_name", wargs.device_name}},
                  Start::kCreates);
    Print(g, j,
          "joined workspace " + j["workspace"].get<std::string>() +
              (j.value("dialing", false)
                   ? "\nthe daemon is dialing the inviter: `topo members` lists you once you are in"
                   : "\nnext: send your join to the inviter (topo bundle export FILE) and import "
                     "their bundle to receive the workspace and its key"));
  }));

  auto* link = app.add_subcommand(
      "link-device", "Add another device of yours: prints a one-use device link for it");
  link->add_option("--expires", wargs.duration, "Lifetime of the link (default: 1d)");
  link->add_flag("--offline", wargs.offline,
                 "The link carries no address: the new device joins through bundles");
  link->footer(
      "Example: topo --db laptop.db link-device\n"
      "then on the new device: topo --db phone.db accept-link LINK --device-name phone\n"
      "and exchange bundles both ways (twice) until the new device reads the workspace.");
  link->callback(Run(g, [&g] {
    json params{{"offline", wargs.offline}};
    if (!wargs.duration.empty()) params["expires"] = wargs.duration;
    json j = Call(g, "device.link", params);
    Print(g, j, j["link"].get<std::string>());
  }));

  auto* accept_link = app.add_subcommand(
      "accept-link", "Make this (new) device another device of the user who made the link");
  accept_link->add_option("link", wargs.link, "The link printed by link-device")->required();
  accept_link->add_option("--device-name", wargs.device_name, "This device's name")->required();
  accept_link->footer(
      "Example: topo --db phone.db accept-link LINK --device-name phone\n"
      "Then send your join to the other device (topo bundle export FILE) and import its "
      "answer: that device certifies this one and hands it your user key and workspaces.");
  accept_link->callback(Run(g, [&g] {
    json j = Call(g, "device.accept_link",
                  {{"link", wargs.link}, {"device_name", wargs.device_name}}, Start::kCreates);
    Print(g, j,
          "linked to workspace " + j["workspace"].get<std::string>() +
              "\nnext: send your join to your other device (topo bundle export FILE) and "
              "import its bundle");
  }));

  auto* workspaces = app.add_subcommand("workspaces", "List the workspaces in this database");
  workspaces->callback(Run(g, [&g] {
    json all = Call(g, "workspace.list", json::object());
    std::ostringstream text;
    for (const auto& w : all) {
      std::string name = w["name"], role = w["role"];
      text << (w["default"].get<bool>() ? "* " : "  ") << w["workspace"].get<std::string>()
           << "  " << (name.empty() ? "(name not readable yet)" : name) << "  "
           << w["members"].get<uint64_t>()
           << " members, you: " << (role == "none" ? "not a member" : role) << "\n";
    }
    Print(g, all, text.str().empty() ? "no workspaces yet" : text.str());
  }));

  auto* use = app.add_subcommand("use", "Make a workspace the default for later commands");
  use->add_option("workspace", wargs.target, "Workspace id (or a unique prefix)")->required();
  use->callback(Run(g, [&g] {
    json j = Call(g, "workspace.use", {{"workspace", wargs.target}});
    Print(g, j, "using " + j["workspace"].get<std::string>());
  }));

  auto* members = app.add_subcommand("members", "List the members of the workspace");
  members->callback(Run(g, [&g] { PrintMembers(g); }));

  auto* devices = app.add_subcommand("devices", "List the member devices of the workspace");
  devices->callback(Run(g, [&g] {
    json all = Call(g, "workspace.devices", json::object());
    std::ostringstream text;
    for (const auto& d : all) {
      std::string owner = d["user_name"];
      text << ShortHex(d["device"]) << "  " << d["name"].get<std::string>() << "  of "
           << (owner.empty() ? ShortHex(d["user"]) : owner)
           << (d["certified"].get<bool>() ? "" : "  (linked, waiting for its user's certificate)")
           << (d["this_device"].get<bool>() ? "  (this device)" : "") << "\n";
    }
    Print(g, all, text.str());
  }));

  auto* invites = app.add_subcommand("invites", "List the workspace's invites");
  invites->callback(Run(g, [&g] {
    json all = Call(g, "workspace.invites", json::object());
    std::ostringstream text;
    for (const auto& i : all) {
      uint64_t max_uses = i["max_uses"];
      bool device_link = i["purpose"] == "device";
      text << ShortHex(i["invite"]) << "  "
           << (device_link ? std::string("device link") : i["role"].get<std::string>()) << "  "
           << i["uses"].get<uint64_t>() << "/"
           << (max_uses ? std::to_string(max_uses) : "unlimited") << " uses  "
           << i["status"].get<std::string>() << "\n";
    }
    Print(g, all, text.str().empty() ? "no invites" : text.str());
  }));

  auto* revoke = app.add_subcommand("revoke-invite", "Close an invite");
  revoke->add_option("invite", wargs.target, "Invite id (or a unique prefix; see: invites)")
      ->required();
  revoke->callback(Run(g, [&g] {
    json j = Call(g, "workspace.revoke_invite", {{"invite", wargs.target}});
    Print(g, j, "revoked invite " + ShortHex(j["invite"]));
  }));

  // remove, grant-admin, revoke-admin, transfer: one USER argument each.
  struct UserCommand {
    const char* name;
    const char* method;
    const char* help;
    const char* done;
  };
  static const UserCommand kUserCommands[] = {
      {"remove", "workspace.remove",
       "Remove a member (and their devices); starts a new key epoch", "removed"},
      {"grant-admin", "workspace.grant_admin", "Make a member an admin", "made admin"},
      {"revoke-admin", "workspace.revoke_admin", "Make an admin a member again",
       "no longer admin"},
      {"transfer", "workspace.transfer", "Give ownership to another member (you become an admin)",
       "now owns it"},
  };
  for (const UserCommand& uc : kUserCommands) {
    auto* cmd = app.add_subcommand(uc.name, uc.help);
    cmd->add_option("user", wargs.target, "Display name or user key (see: members)")->required();
    if (std::string(uc.name) == "remove")
      cmd->add_flag("--bar", wargs.bar, "Refuse their later joins");
    cmd->footer(std::string("Example: topo ") + uc.name + " bob");
    cmd->callback(Run(g, [&g, &uc] {
      json params{{"user", wargs.target}};
      if (std::string(uc.name) == "remove") params["bar"] = wargs.bar;
      json j = Call(g, uc.method, params);
      Print(g, j, wargs.target + " " + uc.done);
    }));
  }

  auto* leave = app.add_subcommand("leave", "Leave the workspace; starts a new key epoch");
  leave->callback(Run(g, [&g] {
    json j = Call(g, "workspace.leave", json::object());
    Print(g, j, "left workspace " + j["workspace"].get<std::string>());
  }));

  auto* rotate = app.add_subcommand("rotate", "Start a new key epoch for the current devices");
  rotate->callback(Run(g, [&g] {
    json j = Call(g, "workspace.rotate", json::object());
    Print(g, j, "new epoch " + ShortHex(j["vertex"]));
  }));
}

}  // namespace topo::cli
