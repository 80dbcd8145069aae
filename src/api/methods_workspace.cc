// workspace.*, device.* and bundle.import methods (workspaces are groups:
// docs/design/groups.md).
#include <algorithm>

#include "api/methods.h"
#include "codec/group.h"
#include "codec/reader.h"
#include "object/crdt.h"
#include "store/settings.h"
#include "util/clock.h"
#include "util/encoding.h"

namespace topo::api {

namespace {

constexpr std::string_view kDefaultWorkspace = "workspace.default";
std::string PendingNameKey(const codec::ObjectId& g) {
  return "workspace." + HexEncode(g.view()) + ".username";
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Str(const json& params, const char* name) { return Check(StringParam(params, name)); }


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

json MemberJson(const object::GroupState& st, const json& profiles, const crypto::PublicKey& user,
                const object::GroupMember& m, bool you) {
  json devices = json::array();
  for (const auto& d : m.devices)
    devices.push_back({{"device", HexEncode(d.view())}, {"name", st.devices().at(d).name}});
  return {{"user", HexEncode(user.view())},
          {"name", DisplayName(profiles, user)},
          {"role", codec::RoleName(m.role)},
          {"devices", devices},
          {"you", you}};
}

// Writes an invite (a member invite or a device link).
json WriteInvite(object::Replica& r, const codec::ObjectId& group, const object::InviteOptions& o) {
  auto link = Check(r.Invite(group, o));
  return json{{"link", codec::EncodeInviteLink(link)},
              {"invite", HexEncode(link.invite.view())},
              {"workspace", HexEncode(group.view())},
              {"expires_at", o.expires_at}};
}

// When the group is here, the invite a link names must be of the kind the method expects
// (a link holds no purpose: a device link given to accept, or a member invite given to
// accept-link, would otherwise do the other thing).
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

// After an import: takes over the user identity another device handed to this one
// (rewriting the key file), certifies this user's newly linked devices, hands keys to
// members that lack them, publishes display names waiting for a key. Lines for the user.
std::string AfterImport(node::Node& n) {
  auto o = OpenNode(n);
  std::string out;
  auto handover = Check(o.r.FindUserHandover(o.id.box, o.id.user.public_key()));
  if (handover) {
    bool acts_for_own_user = false;
    for (const auto& group : Check(o.r.ListGroups())) {
      auto st = Check(o.r.GroupStateOf(group));
      if (st.UserOf(o.id.device.public_key()) == o.id.user.public_key()) acts_for_own_user = true;
    }
    if (acts_for_own_user) {
      out += "ignored a device link to user " + HexEncodeShort(handover->cert.user_key) +
                    ": this device is a member as its own user" + "\n";
    } else {
      Check(store::AdoptUser(store::KeyFilePath(n.db()), n.options().passphrase, handover->user,
                             handover->cert));
      o.id.user = std::move(handover->user);
      o.id.cert = handover->cert;
      o.id.device_name = handover->cert.device_name;
      out += "this device now acts for user " + HexEncodeShort(o.id.user.public_key()) +
                    ", linked as " + o.id.device_name + "\n";
    }
  }
  auto certified = Check(o.r.CertifyLinkedDevices(o.id.user));
  if (!certified.empty())
    out += "added your new device to " + std::to_string(certified.size()) +
                  " workspace(s): send it a bundle" + "\n";
  auto healed = Check(o.r.HealAllGroups());
  int names = PublishPendingNames(o.r, o.id.user.public_key());
  if (!healed.empty())
    out += "shared keys with new members in " + std::to_string(healed.size()) +
                  " workspace(s): send them a bundle" + "\n";
  if (names)
    out += "published your display name in " + std::to_string(names) + " workspace(s)" + "\n";
  return out;
}

namespace {

const std::pair<std::string, std::string> kWorkspaceParam{
    "workspace", "string, optional: workspace id or unique prefix (default: the default one)"};

}  // namespace

codec::ObjectId ResolveWorkspace(object::Replica& r, const json& params) {
  auto groups = Check(r.ListGroups());
  std::string want = OptionalString(params, "workspace").value_or("");
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
  uint64_t v = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9' || v > 1'000'000'000) throw bad();
    v = v * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (v == 0) throw bad();
  return v * unit;
}

void CheckName(const std::string& what, const std::string& value) {
  if (value.empty() || value.size() > 64 || !codec::IsValidUtf8(value))
    throw Failure{Status::InvalidArgument(what + " must be 1 to 64 bytes of UTF-8")};
}

void AddWorkspaceMethods(MethodTable& t, node::Node& n) {
  AddMethod(t,
            {"bundle.import",
             "Ingests the vertices of a bundle file, then does what the import calls for",
             {{"file", "string, required: absolute path of the bundle to read"}},
             "{applied, cascaded, duplicate, blocked, rejected, invalid, problems, after}",
             {{"file", "/tmp/bob.bundle"}}},
            [&n](const json& params) {
              auto o = OpenNode(n);
              auto report = Check(o.r.ImportBundle(Str(params, "file")));
              json j = ReportJson(report);
              j["after"] = AfterImport(n);
              return j;
            });

  AddMethod(t,
            {"workspace.create",
             "Creates a workspace (an encrypted group); creates the database when new",
             {{"name", "string, required: the workspace's name (encrypted)"},
              {"username", "string, required: your display name in it"},
              {"device_name", "string, optional: this device's name when the database is new"},
              {"history", "bool, optional: new members can read what was written before"}},
             "{workspace, name}",
             {{"name", "acme"}, {"username", "alice"}}},
            [&n](const json& params) {
              std::string name = Str(params, "name"), username = Str(params, "username");
              CheckName("--name", name);
              CheckName("--username", username);
              bool history = Check(BoolParam(params, "history", false));
              Check(n.EnsureIdentity(OptionalString(params, "device_name").value_or("device")));
              auto o = OpenNode(n);
              auto group = Check(o.r.CreateGroup(o.id.cert, history));
              uint32_t name_field = Check(o.r.FieldOf(group, "name"));
              Check(o.r.Submit(group, name_field,
                               codec::CrdtOp{codec::LwwSet{Bytes(name.begin(), name.end())}}));
              Check(store::PutSetting(o.r.database(), PendingNameKey(group), username));
              PublishPendingNames(o.r, o.id.user.public_key());
              Check(store::PutSetting(o.r.database(), kDefaultWorkspace, HexEncode(group.view())));
              return json{{"workspace", HexEncode(group.view())}, {"name", name}};
            });

  AddMethod(t,
            {"workspace.invite",
             "Invites someone: returns an invite link",
             {kWorkspaceParam,
              {"uses", "integer, optional: how many joins it admits (default 0: unlimited)"},
              {"expires", "string, optional: lifetime, e.g. 30m, 12h, 7d (default: none)"},
              {"role", "string, optional: member | admin (default member)"},
              {"addresses", "array of strings, optional: HOST:PORT where you can be reached "
                            "(default: where this node listens)"},
              {"offline", "bool, optional: the link carries no address (the invitee joins "
                          "through bundles)"}},
             "{link, invite, workspace, expires_at}",
             {{"uses", 1}, {"expires", "7d"}}},
            [&n](const json& params) {
              auto o = OpenNode(n);
              auto group = ResolveWorkspace(o.r, params);
              object::InviteOptions io;
              std::string role = OptionalString(params, "role").value_or("member");
              auto parsed = codec::ParseRole(role);
              if (!parsed || (*parsed != codec::Role::kMember && *parsed != codec::Role::kAdmin))
                throw Failure{Status::InvalidArgument("role must be member or admin")};
              io.role = *parsed;
              io.max_uses = Check(UintParam(params, "uses", 0));
              if (auto d = OptionalString(params, "expires"); d && !d->empty())
                io.expires_at = SystemClock::Instance().NowMs() + ParseDuration(*d);
              io.addresses = Check(StringListParam(params, "addresses", false));
              // Where the invitee can reach this node, unless the caller said.
              if (io.addresses.empty() && n.network() && !Check(BoolParam(params, "offline", false)))
                io.addresses.push_back(n.network()->local_address());
              return WriteInvite(o.r, group, io);
            });

  AddMethod(t,
            {"workspace.accept",
             "Joins a workspace with an invite link; creates the database when new",
             {{"link", "string, required: the topo://invite/v1/... link"},
              {"username", "string, required: your display name in it"},
              {"device_name", "string, optional: this device's name when the database is new"}},
             "{workspace, join, workspace_here}",
             {{"link", "topo://invite/v1/..."}, {"username", "bob"}}},
            [&n](const json& params) {
              std::string username = Str(params, "username");
              CheckName("--username", username);
              auto link = Check(codec::DecodeInviteLink(Str(params, "link")));
              Check(n.EnsureIdentity(OptionalString(params, "device_name").value_or("device")));
              auto o = OpenNode(n);
              CheckLinkPurpose(o.r, link, codec::InvitePurpose::kMember);
              auto join = Check(o.r.AcceptInvite(link, o.id.cert));
              Check(n.RememberJoin(link));
              Check(store::PutSetting(o.r.database(), PendingNameKey(link.group), username));
              Check(store::PutSetting(o.r.database(), kDefaultWorkspace,
                                      HexEncode(link.group.view())));
              PublishPendingNames(o.r, o.id.user.public_key());
              bool here = o.r.GroupStateOf(link.group).ok();
              return json{{"workspace", HexEncode(link.group.view())},
                          {"join", HexEncode(join.view())},
                          {"workspace_here", here},
                          {"dialing", n.network() != nullptr && !link.addresses.empty()}};
            });

  AddMethod(t,
            {"device.link",
             "A one-use link that makes a new device another device of this user",
             {kWorkspaceParam,
              {"expires", "string, optional: the link's lifetime (default 1d)"},
              {"offline", "bool, optional: the link carries no address (bundles only)"}},
             "{link, invite, workspace, expires_at}",
             {{"expires", "1h"}}},
            [&n](const json& params) {
              auto o = OpenNode(n);
              auto group = ResolveWorkspace(o.r, params);
              object::InviteOptions io;
              io.purpose = codec::InvitePurpose::kDevice;
              io.max_uses = 1;
              std::string d = OptionalString(params, "expires").value_or("");
              io.expires_at = SystemClock::Instance().NowMs() + ParseDuration(d.empty() ? "1d" : d);
              if (n.network() && !Check(BoolParam(params, "offline", false)))
                io.addresses.push_back(n.network()->local_address());
              return WriteInvite(o.r, group, io);
            });

  AddMethod(t,
            {"device.accept_link",
             "Makes this (new) device another device of the user who made the link",
             {{"link", "string, required: the link device.link returned"},
              {"device_name", "string, required: this device's name"}},
             "{workspace, join}",
             {{"link", "topo://invite/v1/..."}, {"device_name", "phone"}}},
            [&n](const json& params) {
              std::string device_name = Str(params, "device_name");
              CheckName("--device-name", device_name);
              auto link = Check(codec::DecodeInviteLink(Str(params, "link")));
              Check(n.EnsureIdentity(device_name));
              auto o = OpenNode(n);
              // The device will take over the linking user's identity: it must not be a member
              // of anything as its own user (those memberships would be orphaned).
              for (const auto& group : Check(o.r.ListGroups())) {
                auto st = Check(o.r.GroupStateOf(group));
                if (st.UserOf(o.id.device.public_key()) == o.id.user.public_key())
                  throw Failure{Status::InvalidArgument(
                      "this device is a member of workspace " + HexEncodeShort(group) +
                      " as its own user; link a new database instead (--db NEW)")};
              }
              CheckLinkPurpose(o.r, link, codec::InvitePurpose::kDevice);
              auto join = Check(o.r.AcceptInvite(link, o.id.cert));
              Check(n.RememberJoin(link));
              Check(store::PutSetting(o.r.database(), kDefaultWorkspace,
                                      HexEncode(link.group.view())));
              return json{{"workspace", HexEncode(link.group.view())},
                          {"join", HexEncode(join.view())}};
            });

  AddMethod(t, {"workspace.list", "The workspaces in this database", {},
                "[{workspace, name, members, role, default}]", json::object()},
            [&n](const json&) {
              auto o = OpenNode(n);
              auto def = Check(store::GetSetting(o.r.database(), kDefaultWorkspace));
              json all = json::array();
              for (const auto& id : Check(o.r.ListGroups())) {
                auto st = Check(o.r.GroupStateOf(id));
                auto shown = o.r.Show(id);
                std::string name =
                    shown.ok() && (*shown)["name"].is_string() ? (*shown)["name"] : "";
                auto role = st.RoleOf(o.id.user.public_key());
                all.push_back({{"workspace", HexEncode(id.view())},
                               {"name", name},
                               {"members", st.members().size()},
                               {"role", role ? codec::RoleName(*role) : "none"},
                               {"default", def && *def == HexEncode(id.view())}});
              }
              return all;
            });

  AddMethod(t,
            {"workspace.use",
             "Makes a workspace the default for later calls",
             {{"workspace", "string, required: workspace id or unique prefix"}},
             "{workspace}",
             {{"workspace", "3e3ae4c3"}}},
            [&n](const json& params) {
              auto o = OpenNode(n);
              Str(params, "workspace");
              auto group = ResolveWorkspace(o.r, params);
              Check(store::PutSetting(o.r.database(), kDefaultWorkspace, HexEncode(group.view())));
              return json{{"workspace", HexEncode(group.view())}};
            });

  AddMethod(t, {"workspace.members", "The workspace's members", {kWorkspaceParam},
                "[{user, name, role, devices, you}]", json::object()},
            [&n](const json& params) {
              auto o = OpenNode(n);
              auto group = ResolveWorkspace(o.r, params);
              auto st = Check(o.r.GroupStateOf(group));
              json profiles = Profiles(o.r, group);
              json all = json::array();
              for (const auto& [user, m] : st.members())
                all.push_back(
                    MemberJson(st, profiles, user, m, user == o.id.user.public_key()));
              return all;
            });

  AddMethod(t, {"workspace.devices", "The workspace's member devices", {kWorkspaceParam},
                "[{device, name, user, user_name, certified, this_device}]", json::object()},
            [&n](const json& params) {
              auto o = OpenNode(n);
              auto group = ResolveWorkspace(o.r, params);
              auto st = Check(o.r.GroupStateOf(group));
              json profiles = Profiles(o.r, group);
              json all = json::array();
              for (const auto& [device, d] : st.devices())
                all.push_back({{"device", HexEncode(device.view())},
                               {"name", d.name},
                               {"user", HexEncode(d.user.view())},
                               {"user_name", DisplayName(profiles, d.user)},
                               {"certified", d.certified},
                               {"this_device", device == o.id.device.public_key()}});
              return all;
            });

  AddMethod(t, {"workspace.invites", "The workspace's invites", {kWorkspaceParam},
                "[{invite, purpose, role, uses, max_uses, expires_at, status}]", json::object()},
            [&n](const json& params) {
              auto o = OpenNode(n);
              auto group = ResolveWorkspace(o.r, params);
              auto st = Check(o.r.GroupStateOf(group));
              uint64_t now = SystemClock::Instance().NowMs();
              json all = json::array();
              for (const auto& [id, inv] : st.invites()) {
                bool expired = inv.op.expires_at != 0 && now >= inv.op.expires_at;
                bool used_up = inv.op.max_uses != 0 && inv.uses >= inv.op.max_uses;
                std::string status = inv.revoked ? "revoked"
                                     : expired   ? "expired"
                                     : used_up   ? "used up"
                                                 : "open";
                all.push_back({{"invite", HexEncode(id.view())},
                               {"purpose", inv.op.purpose == codec::InvitePurpose::kDevice
                                               ? "device"
                                               : "member"},
                               {"role", codec::RoleName(inv.op.role)},
                               {"uses", inv.uses},
                               {"max_uses", inv.op.max_uses},
                               {"expires_at", inv.op.expires_at},
                               {"status", status}});
              }
              return all;
            });

  AddMethod(t,
            {"workspace.revoke_invite",
             "Closes an invite",
             {kWorkspaceParam, {"invite", "string, required: invite id or unique prefix"}},
             "{vertex, invite}",
             {{"invite", "9f2c41aa"}}},
            [&n](const json& params) {
              auto o = OpenNode(n);
              auto group = ResolveWorkspace(o.r, params);
              auto st = Check(o.r.GroupStateOf(group));
              std::string text = Str(params, "invite");
              std::string want = Lower(text);
              std::optional<codec::VertexId> found;
              for (const auto& [id, _] : st.invites())
                if (want.size() >= 4 && HexEncode(id.view()).rfind(want, 0) == 0) {
                  if (found)
                    throw Failure{
                        Status::InvalidArgument("invite id \"" + want + "\" is ambiguous")};
                  found = id;
                }
              if (!found) throw Failure{Status::NotFound("no invite " + text + " (see: invites)")};
              auto v = Check(o.r.RevokeInvite(group, *found));
              return json{{"vertex", HexEncode(v.view())}, {"invite", HexEncode(found->view())}};
            });

  // remove, grant_admin, revoke_admin, transfer: one user parameter each.
  struct UserMethod {
    const char* name;
    const char* summary;
    std::function<Result<codec::VertexId>(object::Replica&, const codec::ObjectId&,
                                          const crypto::PublicKey&, bool bar)>
        run;
  };
  static const UserMethod kUserMethods[] = {
      {"workspace.remove", "Removes a member (and their devices); starts a new key epoch",
       [](object::Replica& r, const codec::ObjectId& g, const crypto::PublicKey& u, bool bar) {
         return r.RemoveMember(g, u, bar);
       }},
      {"workspace.grant_admin", "Makes a member an admin",
       [](object::Replica& r, const codec::ObjectId& g, const crypto::PublicKey& u, bool) {
         return r.SetRole(g, u, codec::Role::kAdmin);
       }},
      {"workspace.revoke_admin", "Makes an admin a member again",
       [](object::Replica& r, const codec::ObjectId& g, const crypto::PublicKey& u, bool) {
         return r.SetRole(g, u, codec::Role::kMember);
       }},
      {"workspace.transfer", "Gives ownership to another member (you become an admin)",
       [](object::Replica& r, const codec::ObjectId& g, const crypto::PublicKey& u, bool) {
         return r.TransferOwnership(g, u);
       }},
  };
  for (const UserMethod& um : kUserMethods) {
    MethodSpec spec{um.name,
                    um.summary,
                    {kWorkspaceParam, {"user", "string, required: display name or user key"}},
                    "{vertex, user}",
                    {{"user", "bob"}}};
    if (std::string(um.name) == "workspace.remove")
      spec.params.push_back({"bar", "bool, optional: refuse their later joins"});
    AddMethod(t, std::move(spec), [&n, &um](const json& params) {
      auto o = OpenNode(n);
      auto group = ResolveWorkspace(o.r, params);
      auto st = Check(o.r.GroupStateOf(group));
      auto user = ResolveUser(o.r, group, st, Str(params, "user"));
      bool bar = Check(BoolParam(params, "bar", false));
      auto v = Check(um.run(o.r, group, user, bar));
      return json{{"vertex", HexEncode(v.view())}, {"user", HexEncode(user.view())}};
    });
  }

  AddMethod(t, {"workspace.leave", "Leaves the workspace; starts a new key epoch",
                {kWorkspaceParam}, "{vertex, workspace}", json::object()},
            [&n](const json& params) {
              auto o = OpenNode(n);
              auto group = ResolveWorkspace(o.r, params);
              auto v = Check(o.r.Leave(group));
              return json{{"vertex", HexEncode(v.view())}, {"workspace", HexEncode(group.view())}};
            });
  AddMethod(t, {"workspace.rotate", "Starts a new key epoch for the current devices",
                {kWorkspaceParam}, "{vertex}", json::object()},
            [&n](const json& params) {
              auto o = OpenNode(n);
              auto group = ResolveWorkspace(o.r, params);
              auto v = Check(o.r.Rotate(group));
              return json{{"vertex", HexEncode(v.view())}};
            });
}

}  // namespace topo::api
