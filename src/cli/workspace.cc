// Workspace (group) commands: create-workspace, invite, accept, link-device, accept-link,
// members, devices, invites, revoke-invite, remove, grant-admin, revoke-admin, transfer,
// leave, rotate, workspaces, use.
#include <algorithm>
#include <iostream>
#include <sstream>

#include "cli/support.h"
#include "codec/group.h"
#include "codec/reader.h"
#include "object/crdt.h"
#include "store/settings.h"
#include "util/encoding.h"

namespace topo::cli {
namespace {

using nlohmann::json;

struct WorkspaceArgs {
  std::string name, username, device_name = "device", link, target, duration;
  std::string role = "member";
  uint64_t uses = 0;
  bool history = false, bar = false;
  std::vector<std::string> addresses;
};
WorkspaceArgs wargs;

constexpr std::string_view kDefaultWorkspace = "workspace.default";
std::string PendingNameKey(const codec::ObjectId& g) {
  return "workspace." + HexEncode(g.view()) + ".username";
}

// "90s", "30m", "12h", "7d" -> milliseconds.
uint64_t ParseDuration(const std::string& text) {
  auto bad = [&] {
    return Failure{Status::InvalidArgument("\"" + text +
                                           "\" is not a duration (examples: 90s, 30m, 12h, 7d)")};
  };
  if (text.size() < 2) throw bad();
  uint64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1000;
      break;
    case 'm':
      unit = 60'000;
      break;
    case 'h':
      unit = 3'600'000;
      break;
    case 'd':
      unit = 86'400'000;
      break;
    default:
      throw bad();
  }
  uint64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9' || n > 1'000'000'000) throw bad();
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (n == 0) throw bad();
  return n * unit;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The workspace a command acts on: --workspace (id or unique prefix), else the default
// (set by create-workspace, accept and use), else the only one.
codec::ObjectId ResolveWorkspace(const Globals& g, object::Replica& r) {
  auto groups = Check(r.ListGroups());
  std::string want = g.workspace;
  if (want.empty()) {
    if (auto d = Check(store::GetSetting(r.database(), kDefaultWorkspace))) want = *d;
  }
  if (want.empty()) {
    if (groups.size() == 1) return groups[0];
    if (groups.empty())
      throw Failure{Status::NotFound(
          "no workspace here yet: create one with create-workspace, or join with accept")};
    throw Failure{Status::InvalidArgument("this database holds " + std::to_string(groups.size()) +
                                          " workspaces: pass --workspace ID (see: workspaces)")};
  }
  want = Lower(want);
  std::optional<codec::ObjectId> found;
  for (const auto& id : groups)
    if (HexEncode(id.view()).rfind(want, 0) == 0) {
      if (found)
        throw Failure{Status::InvalidArgument("workspace id \"" + want + "\" is ambiguous")};
      found = id;
    }
  if (!found) throw Failure{Status::NotFound("no workspace " + want + " here (see: workspaces)")};
  return *found;
}

json Profiles(object::Replica& r, const codec::ObjectId& group) {
  auto shown = r.Show(group);
  if (!shown.ok() || !shown->contains("profiles")) return json::object();
  return (*shown)["profiles"];
}

std::string DisplayName(const json& profiles, const crypto::PublicKey& user) {
  std::string hex = HexEncode(user.view());
  if (profiles.contains(hex) && profiles[hex].is_string()) return profiles[hex];
  return "";
}

// A member by display name, or by user key (hex, or a unique prefix of 4+ characters).
crypto::PublicKey ResolveUser(object::Replica& r, const codec::ObjectId& group,
                              const object::GroupState& st, const std::string& text) {
  json profiles = Profiles(r, group);
  std::vector<crypto::PublicKey> matches;
  for (const auto& [user, _] : st.members())
    if (DisplayName(profiles, user) == text) matches.push_back(user);
  if (matches.empty() && text.size() >= 4) {
    std::string lower = Lower(text);
    for (const auto& [user, _] : st.members())
      if (HexEncode(user.view()).rfind(lower, 0) == 0) matches.push_back(user);
  }
  if (matches.empty())
    throw Failure{Status::NotFound("no member \"" + text + "\" in this workspace (see: members)")};
  if (matches.size() > 1)
    throw Failure{
        Status::InvalidArgument("\"" + text + "\" names several members: use their user key")};
  return matches[0];
}

// Publishes display names this device chose before it could read its workspace, for every
// workspace where it now holds the key. Returns how many it published.
int PublishPendingNames(object::Replica& r, const crypto::PublicKey& user) {
  int published = 0;
  for (const auto& [key, name] : Check(store::ListSettings(r.database(), "workspace."))) {
    const std::string suffix = ".username";
    if (key.size() != 10 + 64 + suffix.size() ||
        key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    auto group = HexDecodeFixed<32>(key.substr(10, 64));
    if (!group.ok()) continue;
    auto st = r.GroupStateOf(*group);
    if (!st.ok() || !st->RoleOf(user)) continue;
    if (!r.engine().KeyringOf(*group).KeyFor(st->current_epoch())) continue;
    uint32_t field = Check(r.FieldOf(*group, "profiles"));
    codec::CrdtOp op{codec::MapUpdate{HexEncode(user.view()),
                                      std::make_shared<codec::CrdtOp>(codec::CrdtOp{
                                          codec::LwwSet{Bytes(name.begin(), name.end())}})}};
    Check(r.Submit(*group, field, op));
    Check(store::DeleteSetting(r.database(), key));
    ++published;
  }
  return published;
}

void CheckName(const std::string& what, const std::string& value) {
  if (value.empty() || value.size() > 64 || !codec::IsValidUtf8(value))
    throw Failure{Status::InvalidArgument(what + " must be 1 to 64 bytes of UTF-8")};
}

json MemberJson(const object::GroupState& st, const json& profiles, const crypto::PublicKey& user,
                const object::GroupMember& m) {
  json devices = json::array();
  for (const auto& d : m.devices)
    devices.push_back({{"device", HexEncode(d.view())}, {"name", st.devices().at(d).name}});
  return {{"user", HexEncode(user.view())},
          {"name", DisplayName(profiles, user)},
          {"role", codec::RoleName(m.role)},
          {"devices", devices}};
}

// Writes an invite (a member invite or a device link) and prints its link.
void WriteInvite(const Globals& g, object::Replica& r, const codec::ObjectId& group,
                 const object::InviteOptions& o) {
  auto link = Check(r.Invite(group, o));
  std::string text = codec::EncodeInviteLink(link);
  Print(g,
        json{{"link", text},
             {"invite", HexEncode(link.invite.view())},
             {"workspace", HexEncode(group.view())},
             {"expires_at", o.expires_at}},
        text);
}

// When the group is here, the invite a link names must be of the kind the command expects
// (a link holds no purpose: a device link given to `accept`, or a member invite given to
// `accept-link`, would otherwise do the other thing).
void CheckLinkPurpose(object::Replica& r, const codec::InviteLink& link,
                      codec::InvitePurpose want) {
  auto st = r.GroupStateOf(link.group);
  if (!st.ok()) return;
  auto it = st->invites().find(link.invite);
  if (it == st->invites().end() || it->second.op.purpose == want) return;
  throw Failure{Status::InvalidArgument(
      want == codec::InvitePurpose::kDevice
          ? "this link invites a new member: use accept LINK --username NAME"
          : "this link adds a device of the user who made it: use accept-link LINK "
            "--device-name NAME")};
}

}  // namespace

// Called by `bundle import` after ingesting. Returns lines for the user (empty when nothing).
std::string AfterImport(const Globals& g, Session& s) {
  std::string out;
  // On the new device: another device of the user handed it the user identity.
  auto handover = Check(s->FindUserHandover(s.id.box, s.id.user.public_key()));
  if (handover) {
    bool acts_for_own_user = false;
    for (const auto& group : Check(s->ListGroups())) {
      auto st = Check(s->GroupStateOf(group));
      if (st.UserOf(s.id.device.public_key()) == s.id.user.public_key()) acts_for_own_user = true;
    }
    if (acts_for_own_user) {
      out += "ignored a device link to user " + HexEncodeShort(handover->cert.user_key) +
             ": this device is a member as its own user\n";
    } else {
      Check(store::AdoptUser(store::KeyFilePath(g.db), Passphrase(g), handover->user,
                             handover->cert));
      s.id.user = std::move(handover->user);
      s.id.cert = handover->cert;
      s.id.device_name = handover->cert.device_name;
      out += "this device now acts for user " + HexEncodeShort(s.id.user.public_key()) +
             ", linked as " + s.id.device_name + "\n";
    }
  }
  // This user's new devices (joined through link-device) get a certificate, the user key
  // and the epoch keys, in every workspace of the user.
  auto certified = Check(s->CertifyLinkedDevices(s.id.user));
  if (!certified.empty())
    out += "added your new device to " + std::to_string(certified.size()) +
           " workspace(s): send it a bundle\n";
  auto healed = Check(s->HealAllGroups());
  int names = PublishPendingNames(*s, s.id.user.public_key());
  if (!healed.empty())
    out += "shared keys with new members in " + std::to_string(healed.size()) +
           " workspace(s): send them a bundle\n";
  if (names) out += "published your display name in " + std::to_string(names) + " workspace(s)\n";
  return out;
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
    CheckName("--name", wargs.name);
    CheckName("--username", wargs.username);
    auto init = InitIdentity(g, wargs.device_name);
    auto s = OpenReplica(g, std::move(init.id));
    auto group = Check(s->CreateGroup(s.id.cert, wargs.history));
    uint32_t name_field = Check(s->FieldOf(group, "name"));
    Check(s->Submit(group, name_field,
                    codec::CrdtOp{codec::LwwSet{Bytes(wargs.name.begin(), wargs.name.end())}}));
    Check(store::PutSetting(s->database(), PendingNameKey(group), wargs.username));
    PublishPendingNames(*s, s.id.user.public_key());
    Check(store::PutSetting(s->database(), kDefaultWorkspace, HexEncode(group.view())));
    Print(g, json{{"workspace", HexEncode(group.view())}, {"name", wargs.name}},
          HexEncode(group.view()));
  }));

  auto* invite = app.add_subcommand("invite", "Invite someone; prints the invite link");
  invite->add_option("--uses", wargs.uses, "How many joins it admits (default: unlimited)");
  invite->add_option("--expires", wargs.duration, "Lifetime, e.g. 30m, 12h, 7d (default: none)");
  invite->add_option("--role", wargs.role, "member | admin")
      ->check(CLI::IsMember({"member", "admin"}));
  invite->add_option("--address", wargs.addresses, "HOST:PORT where you can be reached");
  invite->footer("Example: topo invite --uses 1 --expires 7d");
  invite->callback(Run(g, [&g] {
    auto s = OpenReplica(g);
    auto group = ResolveWorkspace(g, *s);
    object::InviteOptions o;
    o.role = *codec::ParseRole(wargs.role);
    o.max_uses = wargs.uses;
    if (!wargs.duration.empty())
      o.expires_at = SystemClock::Instance().NowMs() + ParseDuration(wargs.duration);
    o.addresses = wargs.addresses;
    WriteInvite(g, *s, group, o);
  }));

  auto* accept = app.add_subcommand("accept", "Join a workspace with an invite link");
  accept->add_option("link", wargs.link, "The topo://invite/v1/... link")->required();
  accept->add_option("--username", wargs.username, "Your display name in it")->required();
  accept->add_option("--device-name", wargs.device_name,
                     "This device's name (when the database is new)");
  accept->footer(
      "Until peers connect over the network, send your join to the inviter as a bundle:\n"
      "  topo --db bob.db accept LINK --username bob && topo --db bob.db bundle export "
      "join.bundle\n"
      "and import theirs (topo bundle import FILE) to receive the workspace and its key.");
  accept->callback(Run(g, [&g] {
    CheckName("--username", wargs.username);
    auto link = Check(codec::DecodeInviteLink(wargs.link));
    auto init = InitIdentity(g, wargs.device_name);
    auto s = OpenReplica(g, std::move(init.id));
    CheckLinkPurpose(*s, link, codec::InvitePurpose::kMember);
    auto join = Check(s->AcceptInvite(link, s.id.cert));
    Check(store::PutSetting(s->database(), PendingNameKey(link.group), wargs.username));
    Check(store::PutSetting(s->database(), kDefaultWorkspace, HexEncode(link.group.view())));
    PublishPendingNames(*s, s.id.user.public_key());
    bool here = s->GroupStateOf(link.group).ok();
    Print(g,
          json{{"workspace", HexEncode(link.group.view())},
               {"join", HexEncode(join.view())},
               {"workspace_here", here}},
          "joined workspace " + HexEncode(link.group.view()) +
              "\nnext: send your join to the inviter (topo bundle export FILE) and import "
              "their bundle to receive the workspace and its key");
  }));

  auto* link = app.add_subcommand(
      "link-device", "Add another device of yours: prints a one-use device link for it");
  link->add_option("--expires", wargs.duration, "Lifetime of the link (default: 1d)");
  link->footer(
      "Example: topo --db laptop.db link-device\n"
      "then on the new device: topo --db phone.db accept-link LINK --device-name phone\n"
      "and exchange bundles both ways (twice) until the new device reads the workspace.");
  link->callback(Run(g, [&g] {
    auto s = OpenReplica(g);
    auto group = ResolveWorkspace(g, *s);
    object::InviteOptions o;
    o.purpose = codec::InvitePurpose::kDevice;
    o.max_uses = 1;
    o.expires_at = SystemClock::Instance().NowMs() +
                   ParseDuration(wargs.duration.empty() ? "1d" : wargs.duration);
    WriteInvite(g, *s, group, o);
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
    CheckName("--device-name", wargs.device_name);
    auto link = Check(codec::DecodeInviteLink(wargs.link));
    auto init = InitIdentity(g, wargs.device_name);
    auto s = OpenReplica(g, std::move(init.id));
    // The device will take over the linking user's identity: it must not be a member of
    // anything as its own user (those memberships would be orphaned).
    for (const auto& group : Check(s->ListGroups())) {
      auto st = Check(s->GroupStateOf(group));
      if (st.UserOf(s.id.device.public_key()) == s.id.user.public_key())
        throw Failure{Status::InvalidArgument(
            "this device is a member of workspace " + HexEncodeShort(group) +
            " as its own user; link a new database instead (--db NEW)")};
    }
    CheckLinkPurpose(*s, link, codec::InvitePurpose::kDevice);
    auto join = Check(s->AcceptInvite(link, s.id.cert));
    Check(store::PutSetting(s->database(), kDefaultWorkspace, HexEncode(link.group.view())));
    Print(g, json{{"workspace", HexEncode(link.group.view())}, {"join", HexEncode(join.view())}},
          "linked to workspace " + HexEncode(link.group.view()) +
              "\nnext: send your join to your other device (topo bundle export FILE) and "
              "import its bundle");
  }));

  auto* workspaces = app.add_subcommand("workspaces", "List the workspaces in this database");
  workspaces->callback(Run(g, [&g] {
    auto s = OpenReplica(g);
    auto def = Check(store::GetSetting(s->database(), kDefaultWorkspace));
    json all = json::array();
    std::ostringstream text;
    for (const auto& id : Check(s->ListGroups())) {
      auto st = Check(s->GroupStateOf(id));
      auto shown = s->Show(id);
      std::string name = shown.ok() && (*shown)["name"].is_string() ? (*shown)["name"] : "";
      bool is_default = def && *def == HexEncode(id.view());
      auto role = st.RoleOf(s.id.user.public_key());
      all.push_back({{"workspace", HexEncode(id.view())},
                     {"name", name},
                     {"members", st.members().size()},
                     {"role", role ? codec::RoleName(*role) : "none"},
                     {"default", is_default}});
      text << (is_default ? "* " : "  ") << HexEncode(id.view()) << "  "
           << (name.empty() ? "(name not readable yet)" : name) << "  " << st.members().size()
           << " members, you: " << (role ? codec::RoleName(*role) : "not a member") << "\n";
    }
    Print(g, all, text.str().empty() ? "no workspaces yet" : text.str());
  }));

  auto* use = app.add_subcommand("use", "Make a workspace the default for later commands");
  use->add_option("workspace", wargs.target, "Workspace id (or a unique prefix)")->required();
  use->callback(Run(g, [&g] {
    auto s = OpenReplica(g);
    Globals pick = g;
    pick.workspace = wargs.target;
    auto group = ResolveWorkspace(pick, *s);
    Check(store::PutSetting(s->database(), kDefaultWorkspace, HexEncode(group.view())));
    Print(g, json{{"workspace", HexEncode(group.view())}}, "using " + HexEncode(group.view()));
  }));

  auto* members = app.add_subcommand("members", "List the members of the workspace");
  members->callback(Run(g, [&g] {
    auto s = OpenReplica(g);
    auto group = ResolveWorkspace(g, *s);
    auto st = Check(s->GroupStateOf(group));
    json profiles = Profiles(*s, group);
    json all = json::array();
    std::ostringstream text;
    for (const auto& [user, m] : st.members()) {
      all.push_back(MemberJson(st, profiles, user, m));
      std::string name = DisplayName(profiles, user);
      text << HexEncodeShort(user) << "  " << (name.empty() ? "(no name yet)" : name) << "  "
           << codec::RoleName(m.role) << "  " << m.devices.size()
           << (m.devices.size() == 1 ? " device" : " devices")
           << (user == s.id.user.public_key() ? "  (you)" : "") << "\n";
    }
    Print(g, all, text.str());
  }));

  auto* devices = app.add_subcommand("devices", "List the member devices of the workspace");
  devices->callback(Run(g, [&g] {
    auto s = OpenReplica(g);
    auto group = ResolveWorkspace(g, *s);
    auto st = Check(s->GroupStateOf(group));
    json profiles = Profiles(*s, group);
    json all = json::array();
    std::ostringstream text;
    for (const auto& [device, d] : st.devices()) {
      std::string owner = DisplayName(profiles, d.user);
      all.push_back({{"device", HexEncode(device.view())},
                     {"name", d.name},
                     {"user", HexEncode(d.user.view())},
                     {"user_name", owner},
                     {"certified", d.certified}});
      text << HexEncodeShort(device) << "  " << d.name << "  of "
           << (owner.empty() ? HexEncodeShort(d.user) : owner)
           << (d.certified ? "" : "  (linked, waiting for its user's certificate)")
           << (device == s.id.device.public_key() ? "  (this device)" : "") << "\n";
    }
    Print(g, all, text.str());
  }));

  auto* invites = app.add_subcommand("invites", "List the workspace's invites");
  invites->callback(Run(g, [&g] {
    auto s = OpenReplica(g);
    auto group = ResolveWorkspace(g, *s);
    auto st = Check(s->GroupStateOf(group));
    uint64_t now = SystemClock::Instance().NowMs();
    json all = json::array();
    std::ostringstream text;
    for (const auto& [id, inv] : st.invites()) {
      bool expired = inv.op.expires_at != 0 && now >= inv.op.expires_at;
      bool used_up = inv.op.max_uses != 0 && inv.uses >= inv.op.max_uses;
      std::string status = inv.revoked ? "revoked"
                           : expired   ? "expired"
                           : used_up   ? "used up"
                                       : "open";
      const bool device_link = inv.op.purpose == codec::InvitePurpose::kDevice;
      all.push_back({{"invite", HexEncode(id.view())},
                     {"purpose", device_link ? "device" : "member"},
                     {"role", codec::RoleName(inv.op.role)},
                     {"uses", inv.uses},
                     {"max_uses", inv.op.max_uses},
                     {"expires_at", inv.op.expires_at},
                     {"status", status}});
      text << HexEncodeShort(id) << "  "
           << (device_link ? std::string("device link") : codec::RoleName(inv.op.role)) << "  "
           << inv.uses << "/" << (inv.op.max_uses ? std::to_string(inv.op.max_uses) : "unlimited")
           << " uses  " << status << "\n";
    }
    Print(g, all, text.str().empty() ? "no invites" : text.str());
  }));

  auto* revoke = app.add_subcommand("revoke-invite", "Close an invite");
  revoke->add_option("invite", wargs.target, "Invite id (or a unique prefix; see: invites)")
      ->required();
  revoke->callback(Run(g, [&g] {
    auto s = OpenReplica(g);
    auto group = ResolveWorkspace(g, *s);
    auto st = Check(s->GroupStateOf(group));
    std::string want = Lower(wargs.target);
    std::optional<codec::VertexId> found;
    for (const auto& [id, _] : st.invites())
      if (want.size() >= 4 && HexEncode(id.view()).rfind(want, 0) == 0) {
        if (found)
          throw Failure{Status::InvalidArgument("invite id \"" + want + "\" is ambiguous")};
        found = id;
      }
    if (!found) throw Failure{Status::NotFound("no invite " + wargs.target + " (see: invites)")};
    auto v = Check(s->RevokeInvite(group, *found));
    Print(g, json{{"vertex", HexEncode(v.view())}, {"invite", HexEncode(found->view())}},
          "revoked invite " + HexEncodeShort(*found));
  }));

  // remove, grant-admin, revoke-admin, transfer: one USER argument each.
  struct UserCommand {
    const char* name;
    const char* help;
    const char* done;
    std::function<Result<codec::VertexId>(object::Replica&, const codec::ObjectId&,
                                          const crypto::PublicKey&)>
        run;
  };
  static const UserCommand kUserCommands[] = {
      {"remove", "Remove a member (and their devices); starts a new key epoch", "removed",
       [](object::Replica& r, const codec::ObjectId& grp, const crypto::PublicKey& u) {
         return r.RemoveMember(grp, u, wargs.bar);
       }},
      {"grant-admin", "Make a member an admin", "made admin",
       [](object::Replica& r, const codec::ObjectId& grp, const crypto::PublicKey& u) {
         return r.SetRole(grp, u, codec::Role::kAdmin);
       }},
      {"revoke-admin", "Make an admin a member again", "no longer admin",
       [](object::Replica& r, const codec::ObjectId& grp, const crypto::PublicKey& u) {
         return r.SetRole(grp, u, codec::Role::kMember);
       }},
      {"transfer", "Give ownership to another member (you become an admin)", "now owns it",
       [](object::Replica& r, const codec::ObjectId& grp, const crypto::PublicKey& u) {
         return r.TransferOwnership(grp, u);
       }},
  };
  for (const UserCommand& uc : kUserCommands) {
    auto* cmd = app.add_subcommand(uc.name, uc.help);
    cmd->add_option("user", wargs.target, "Display name or user key (see: members)")->required();
    if (std::string(uc.name) == "remove")
      cmd->add_flag("--bar", wargs.bar, "Refuse their later joins");
    cmd->footer(std::string("Example: topo ") + uc.name + " bob");
    cmd->callback(Run(g, [&g, &uc] {
      auto s = OpenReplica(g);
      auto group = ResolveWorkspace(g, *s);
      auto st = Check(s->GroupStateOf(group));
      auto user = ResolveUser(*s, group, st, wargs.target);
      auto v = Check(uc.run(*s, group, user));
      Print(g, json{{"vertex", HexEncode(v.view())}, {"user", HexEncode(user.view())}},
            wargs.target + " " + uc.done);
    }));
  }

  auto* leave = app.add_subcommand("leave", "Leave the workspace; starts a new key epoch");
  leave->callback(Run(g, [&g] {
    auto s = OpenReplica(g);
    auto group = ResolveWorkspace(g, *s);
    auto v = Check(s->Leave(group));
    Print(g, json{{"vertex", HexEncode(v.view())}}, "left workspace " + HexEncode(group.view()));
  }));

  auto* rotate = app.add_subcommand("rotate", "Start a new key epoch for the current devices");
  rotate->callback(Run(g, [&g] {
    auto s = OpenReplica(g);
    auto group = ResolveWorkspace(g, *s);
    auto v = Check(s->Rotate(group));
    Print(g, json{{"vertex", HexEncode(v.view())}}, "new epoch " + HexEncodeShort(v));
  }));
}

// For `object create --workspace`.
codec::ObjectId WorkspaceFor(const Globals& g, object::Replica& r) {
  return ResolveWorkspace(g, r);
}

}  // namespace topo::cli
