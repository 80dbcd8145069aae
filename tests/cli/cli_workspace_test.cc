// Workspace commands through the real binary: the life of a workspace exchanged as bundles
// (create, invite, accept, keys, write on both sides, promote, remove), and their errors.
#include <chrono>
#include <thread>

#include "cli/cli_fixture.h"

namespace topo::cli_test {
namespace {

class CliWorkspaceTest : public CliTest {
 protected:
  // alice makes a workspace; bob joins it through bundles and ends up holding its key.
  void AliceAndBob() {
    json ws = Json("a.db", {"create-workspace", "--name", "acme", "--username", "alice",
                            "--device-name", "laptop"});
    ASSERT_TRUE(IsHexId(ws["workspace"])) << ws;
    workspace_ = ws["workspace"];
    // --offline: the link names no address, so this is the bundle path alone (the network
    // path is CliNetworkTest's).
    json inv = Json("a.db", {"invite", "--uses", "1", "--expires", "7d", "--offline"});
    std::string link = inv["link"];
    ASSERT_EQ(link.rfind("topo://invite/v1/", 0), 0u) << link;
    Export("a.db", "a1");
    Init("b.db", "phone");
    Report("b.db", "a1");
    json acc = Json("b.db", {"accept", link, "--username", "bob"});
    EXPECT_EQ(acc["workspace"], workspace_);
    EXPECT_EQ(acc["workspace_here"], true);
    Export("b.db", "b1");
    json healed = Report("a.db", "b1");
    EXPECT_NE(healed["after"].get<std::string>().find("shared keys"), std::string::npos) << healed;
    Export("a.db", "a2");
    json got = Report("b.db", "a2");
    EXPECT_NE(got["after"].get<std::string>().find("published your display name"),
              std::string::npos)
        << got;
    Export("b.db", "b2");
    Report("a.db", "b2");
  }

  std::map<std::string, json> MembersByName(const std::string& db) {
    std::map<std::string, json> out;
    for (const auto& m : Json(db, {"members"})) out[m["name"]] = m;
    return out;
  }

  std::string workspace_;
};

TEST_F(CliWorkspaceTest, TheLifeOfAWorkspaceThroughBundles) {
  AliceAndBob();
  for (const char* db : {"a.db", "b.db"}) {
    auto members = MembersByName(db);
    ASSERT_EQ(members.size(), 2u) << db;
    EXPECT_EQ(members["alice"]["role"], "owner");
    EXPECT_EQ(members["bob"]["role"], "member");
    EXPECT_EQ(members["bob"]["devices"][0]["name"], "phone");
  }
  json wss = Json("b.db", {"workspaces"});
  ASSERT_EQ(wss.size(), 1u);
  EXPECT_EQ(wss[0]["name"], "acme");
  EXPECT_EQ(wss[0]["default"], true);

  // An encrypted object both sides write.
  json doc = Json("a.db", {"object", "create", "--type", "doc", "--workspace", workspace_});
  EXPECT_EQ(doc["workspace"], workspace_);
  std::string id = doc["object"];
  Update("a.db", id, "title", {"set", "roadmap"});
  Export("a.db", "a3");
  Report("b.db", "a3");
  EXPECT_EQ(State("b.db", id)["title"], "roadmap");
  Update("b.db", id, "count", {"add", "2"});
  Export("b.db", "b3");
  Report("a.db", "b3");
  EXPECT_EQ(State("a.db", id)["count"], 2);
  // The title is in no stored vertex in the clear (the decrypted state and projection rows
  // hold it, as the local copy of what this device may read).
  std::string rows = DumpTables(Path("a.db"));
  std::string vertices = rows.substr(0, rows.find("heads:"));
  ASSERT_NE(vertices.find("vertices:"), std::string::npos);
  EXPECT_EQ(vertices.find(HexEncode(AsBytes("roadmap"))), std::string::npos);
  EXPECT_NE(rows.find(HexEncode(AsBytes("roadmap"))), std::string::npos);

  // Promote bob: he may now invite.
  Json("a.db", {"grant-admin", "bob"});
  Export("a.db", "a4");
  Report("b.db", "a4");
  EXPECT_EQ(MembersByName("b.db")["bob"]["role"], "admin");
  EXPECT_TRUE(Succeeded(At("b.db", {"invite"})));
  Json("a.db", {"revoke-admin", "bob"});

  // Remove bob: a new epoch he cannot open; his writes are refused.
  json rm = Json("a.db", {"remove", "bob", "--bar"});
  EXPECT_TRUE(IsHexId(rm["vertex"]));
  Update("a.db", id, "title", {"set", "secret plans"});
  Export("a.db", "a5");
  Report("b.db", "a5");
  EXPECT_EQ(State("a.db", id)["title"], "secret plans");
  EXPECT_EQ(State("b.db", id)["title"], "roadmap");
  EXPECT_EQ(MembersByName("a.db").count("bob"), 0u);
  EXPECT_TRUE(FailedCleanly(At("b.db", {"object", "update", id, "--field", "title", "set", "x"}), 1,
                            "not a member"));
}

TEST_F(CliWorkspaceTest, ManagementCommandsAndTheirErrors) {
  AliceAndBob();
  // A member is not an admin: refused, and nothing changes.
  std::string before = Snapshot("b.db");
  EXPECT_TRUE(FailedCleanly(At("b.db", {"invite"}), 1, "only admins invite"));
  EXPECT_TRUE(FailedCleanly(At("b.db", {"remove", "alice"}), 1, "only admins remove"));
  EXPECT_TRUE(FailedCleanly(At("b.db", {"grant-admin", "bob"}), 1, "only admins change roles"));
  EXPECT_EQ(Snapshot("b.db"), before);
  // Unknown names and ids, bad durations, bad links.
  EXPECT_TRUE(FailedCleanly(At("a.db", {"remove", "carol"}), 1, "no member \"carol\""));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"invite", "--expires", "soon"}), 1, "not a duration"));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"revoke-invite", "ffffffff"}), 1, "no invite"));
  EXPECT_TRUE(FailedCleanly(At("c.db", {"accept", "https://example.org", "--username", "c"}), 1,
                            "not a topo invite link"));
  EXPECT_FALSE(fs::exists(Path("c.db")));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"leave"}), 1, "owner transfers ownership"));
  // Invites: list and revoke.
  json inv = Json("a.db", {"invite", "--role", "admin"});
  json listed = Json("a.db", {"invites"});
  ASSERT_EQ(listed.size(), 2u);
  std::string invite_id = inv["invite"];
  Json("a.db", {"revoke-invite", invite_id.substr(0, 8)});
  bool revoked = false;
  for (const auto& i : Json("a.db", {"invites"}))
    if (i["invite"] == invite_id) revoked = i["status"] == "revoked";
  EXPECT_TRUE(revoked);
  // A revoked invite admits nobody.
  Export("a.db", "a9");
  Init("c.db", "tablet");
  Report("c.db", "a9");
  EXPECT_TRUE(
      FailedCleanly(At("c.db", {"accept", inv["link"], "--username", "carol"}), 1, "revoked"));
  // Ownership moves; the old owner may then leave.
  Json("a.db", {"transfer", "bob"});
  EXPECT_EQ(MembersByName("a.db")["bob"]["role"], "owner");
  EXPECT_TRUE(Succeeded(At("a.db", {"leave"})));
  EXPECT_EQ(MembersByName("a.db").count("alice"), 0u);
}

TEST_F(CliWorkspaceTest, AnExpiredInviteAdmitsNobody) {
  Json("a.db", {"create-workspace", "--name", "w", "--username", "alice"});
  json inv = Json("a.db", {"invite", "--expires", "1s"});
  Export("a.db", "a1");
  Init("b.db", "phone");
  Report("b.db", "a1");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_TRUE(
      FailedCleanly(At("b.db", {"accept", inv["link"], "--username", "bob"}), 1, "expired"));
}

TEST_F(CliWorkspaceTest, WorkspaceSelection) {
  EXPECT_TRUE(FailedCleanly(At("a.db", {"members"}), 1, "no database"));
  Init("a.db", "laptop");
  EXPECT_TRUE(FailedCleanly(At("a.db", {"members"}), 1, "no workspace here yet"));
  std::string w1 =
      Json("a.db", {"create-workspace", "--name", "one", "--username", "al"})["workspace"];
  std::string w2 =
      Json("a.db", {"create-workspace", "--name", "two", "--username", "al"})["workspace"];
  // The last created is the default; `use` and --workspace pick another.
  EXPECT_EQ(Json("a.db", {"invite"})["workspace"], w2);
  Json("a.db", {"use", w1.substr(0, 6)});
  EXPECT_EQ(Json("a.db", {"invite"})["workspace"], w1);
  EXPECT_EQ(Json("a.db", {"--workspace", w2, "invite"})["workspace"], w2);
  EXPECT_TRUE(FailedCleanly(At("a.db", {"--workspace", "0000", "invite"}), 1, "no workspace 0000"));
  EXPECT_EQ(Json("a.db", {"workspaces"}).size(), 2u);
  // Help for every workspace command.
  for (const char* c : {"create-workspace", "invite", "accept", "link-device", "accept-link",
                        "members", "devices", "invites", "revoke-invite", "remove", "grant-admin",
                        "revoke-admin", "transfer", "leave", "rotate", "workspaces", "use"}) {
    TopoResult r = Topo({c, "--help"});
    EXPECT_TRUE(Succeeded(r)) << c;
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << c;
  }
}

// Device linking: alice adds a second device through a link; it takes over her user key,
// her workspaces (also one the link did not name) and the keys to read what was written
// before, and writes as her.
TEST_F(CliWorkspaceTest, ASecondDeviceThroughALink) {
  AliceAndBob();
  json doc = Json("a.db", {"object", "create", "--type", "doc", "--workspace", workspace_});
  std::string id = doc["object"];
  Update("a.db", id, "title", {"set", "roadmap"});
  std::string side =
      Json("a.db", {"create-workspace", "--name", "side", "--username", "al"})["workspace"];
  json link = Json("a.db", {"--workspace", workspace_, "link-device", "--expires", "2h", "--offline"});
  EXPECT_GT(link["expires_at"].get<uint64_t>(), 0u);
  Export("a.db", "l1");
  // A device link is not a member invite, and a member of its own cannot be linked.
  Report("b.db", "l1");
  EXPECT_TRUE(
      FailedCleanly(At("b.db", {"accept", link["link"], "--username", "x"}), 1, "accept-link"));
  EXPECT_TRUE(FailedCleanly(At("b.db", {"accept-link", link["link"], "--device-name", "x"}), 1,
                            "as its own user"));
  Json("a2.db", {"accept-link", link["link"], "--device-name", "tablet"});
  Report("a2.db", "l1");
  Export("a2.db", "l2");
  json certified = Report("a.db", "l2");
  EXPECT_NE(certified["after"].get<std::string>().find("added your new device to 2 workspace"),
            std::string::npos)
      << certified;
  Export("a.db", "l3");
  json adopted = Report("a2.db", "l3");
  EXPECT_NE(adopted["after"].get<std::string>().find("now acts for user"), std::string::npos)
      << adopted;

  EXPECT_EQ(Json("a2.db", {"identity"})["user_key"], Json("a.db", {"identity"})["user_key"]);
  EXPECT_TRUE(IsHexId(Json("a2.db", {"identity"})["user_key"]));
  auto wss = Json("a2.db", {"workspaces"});
  ASSERT_EQ(wss.size(), 2u);
  for (const auto& w : wss) EXPECT_EQ(w["role"], "owner") << w;
  EXPECT_EQ(Json("a2.db", {"--workspace", side, "members"}).size(), 1u);
  auto alice = MembersByName("a2.db")["alice"];
  ASSERT_EQ(alice["devices"].size(), 2u) << alice;
  for (const auto& d : Json("a2.db", {"devices"})) EXPECT_TRUE(d["certified"]) << d;
  // It reads what was written before it came, and writes as alice.
  EXPECT_EQ(State("a2.db", id)["title"], "roadmap");
  Update("a2.db", id, "count", {"add", "3"});
  Export("a2.db", "l4");
  Report("a.db", "l4");
  Report("b.db", "l4");
  EXPECT_EQ(State("a.db", id)["count"], 3);
  EXPECT_EQ(State("b.db", id)["count"], 3);
  EXPECT_EQ(MembersByName("b.db")["alice"]["devices"].size(), 2u);
  // The link was for one device.
  Export("a.db", "l5");
  Init("a3.db", "spare");
  Report("a3.db", "l5");
  EXPECT_TRUE(FailedCleanly(At("a3.db", {"accept-link", link["link"], "--device-name", "spare"}), 1,
                            "used up"));
}

}  // namespace
}  // namespace topo::cli_test
