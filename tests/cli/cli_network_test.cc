// Daemons on loopback: a workspace made, joined through invite links over QUIC, written on
// every side, converged live; a removed device disconnected and refused; a daemon killed in
// the middle of a sync restarted.
#include <signal.h>

#include <chrono>
#include <thread>

#include "api/rpc_client.h"
#include "cli/cli_fixture.h"
#include "node/daemon.h"

namespace topo::cli_test {
namespace {

class CliNetworkTest : public CliTest {
 protected:
  json StateOr(const std::string& db, const std::string& id) {
    TopoResult r = AtJson(db, {"object", "show", id});
    if (r.exit_code != 0) return json();
    json j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json() : j["state"];
  }
  std::set<std::string> PeerDevices(const std::string& db) {
    std::set<std::string> out;
    TopoResult r = AtJson(db, {"rpc", "call", "peer.list"});
    json j = json::parse(r.out, nullptr, false);
    if (j.is_discarded()) return out;
    for (const auto& p : j["peers"]) out.insert(p["device"].get<std::string>());
    return out;
  }
  std::string DeviceKey(const std::string& db) { return Json(db, {"identity"})["device_key"]; }
  size_t Members(const std::string& db) {
    TopoResult r = AtJson(db, {"members"});
    json j = json::parse(r.out, nullptr, false);
    return r.exit_code == 0 && !j.is_discarded() ? j.size() : size_t{0};
  }
};

TEST_F(CliNetworkTest, ThreeDaemonsJoinThroughLinksAndConvergeLive) {
  Json("alice.db", {"create-workspace", "--name", "acme", "--username", "alice"});
  json status = Json("alice.db", {"status"});
  ASSERT_TRUE(status["listening"].is_string()) << status;
  EXPECT_EQ(status["listening"].get<std::string>().rfind("127.0.0.1:", 0), 0u);

  // The invite link carries alice's address and device key: accepting dials her.
  std::string link_bob = Json("alice.db", {"invite", "--uses", "1"})["link"];
  std::string link_carol = Json("alice.db", {"invite", "--uses", "1"})["link"];
  Json("bob.db", {"accept", link_bob, "--username", "bob"});
  Json("carol.db", {"accept", link_carol, "--username", "carol"});

  ASSERT_TRUE(Eventually([&] { return Members("alice.db") == 3; })) << Members("alice.db");
  ASSERT_TRUE(Eventually([&] { return Members("bob.db") == 3 && Members("carol.db") == 3; }))
      << Members("bob.db") << " " << Members("carol.db");

  // An object inside the workspace, written on every side.
  std::string id = Json("alice.db", {"object", "create", "--type", "counter"})["object"];
  ASSERT_TRUE(Eventually([&] { return !StateOr("bob.db", id).is_null(); }))
      << "the new object reaches bob";
  ASSERT_TRUE(Eventually([&] { return !StateOr("carol.db", id).is_null(); }));
  Update("alice.db", id, "", {"add", "1"});
  Update("bob.db", id, "", {"add", "10"});
  Update("carol.db", id, "", {"add", "100"});
  for (const char* db : {"alice.db", "bob.db", "carol.db"})
    EXPECT_TRUE(Eventually([&] { return StateOr(db, id)["value"] == 111; }))
        << db << ": " << StateOr(db, id);
}

TEST_F(CliNetworkTest, ARemovedDeviceIsDisconnectedAndRefused) {
  Json("alice.db", {"create-workspace", "--name", "acme", "--username", "alice"});
  std::string link = Json("alice.db", {"invite"})["link"];
  Json("bob.db", {"accept", link, "--username", "bob"});
  Json("carol.db", {"accept", link, "--username", "carol"});
  const std::string bob = DeviceKey("bob.db"), carol = DeviceKey("carol.db");
  ASSERT_TRUE(Eventually([&] { return Members("alice.db") == 3; }));
  ASSERT_TRUE(Eventually([&] {
    auto peers = PeerDevices("alice.db");
    return peers.count(bob) && peers.count(carol);
  }));
  std::string id = Json("alice.db", {"object", "create", "--type", "counter"})["object"];
  ASSERT_TRUE(Eventually([&] { return !StateOr("carol.db", id).is_null(); }));

  Json("alice.db", {"remove", "carol", "--bar"});
  EXPECT_TRUE(Eventually([&] { return !PeerDevices("alice.db").count(carol); }))
      << "alice's node closes carol's connection once carol is removed";
  Update("alice.db", id, "", {"add", "5"});
  ASSERT_TRUE(Eventually([&] { return StateOr("bob.db", id)["value"] == 5; }));
  // Carol is refused from then on: she dials again and again, and gets nothing new.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_FALSE(PeerDevices("alice.db").count(carol));
  EXPECT_NE(StateOr("carol.db", id)["value"], 5);
}

TEST_F(CliNetworkTest, ADaemonKilledInTheMiddleOfALargeSyncRestartsAndConverges) {
  Json("alice.db", {"create-workspace", "--name", "acme", "--username", "alice"});
  std::string id = Json("alice.db", {"object", "create", "--type", "counter"})["object"];
  // Thousands of vertices in one object, written through one JSON-RPC batch on alice's
  // socket (a command per write would take minutes).
  constexpr int kWrites = 4000;
  json batch = json::array();
  for (int i = 0; i < kWrites; ++i)
    batch.push_back({{"jsonrpc", "2.0"},
                     {"id", i},
                     {"method", "object.update"},
                     {"params", {{"object", id}, {"op", {"add", "1"}}}}});
  {
    auto client = api::RpcClient::Connect(node::SocketPath(Path("alice.db")));
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    auto reply = client->RoundTrip(batch.dump(), 120'000);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    json replies = json::parse(*reply, nullptr, false);
    ASSERT_TRUE(replies.is_array() && replies.size() == kWrites) << reply->substr(0, 300);
    for (const auto& r : replies) ASSERT_TRUE(r.contains("result")) << r;
  }
  ASSERT_EQ(StateOr("alice.db", id)["value"], kWrites);

  // Bob accepts, and his daemon dies while it syncs: killed as soon as vertices of the
  // object reach it, with no chance to close anything.
  std::string link = Json("alice.db", {"invite"})["link"];
  Json("bob.db", {"accept", link, "--username", "bob"});
  json status = Json("bob.db", {"status"});
  ASSERT_TRUE(status["pid"].is_number()) << status;
  const pid_t pid = status["pid"].get<pid_t>();
  auto bob = api::RpcClient::Connect(node::SocketPath(Path("bob.db")));
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  ASSERT_TRUE(Eventually(
      [&] {
        auto peers = bob->Call("peer.list", json::object(), 5'000);
        if (!peers.ok()) return false;
        for (const auto& p : (*peers)["peers"])
          if (p.contains("sync") && p["sync"]["vertices_received"].get<uint64_t>() > 100)
            return true;
        return false;
      },
      10, 1))
      << "bob's sync starts";
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(Eventually([&] { return !node::RunningDaemon(Path("bob.db")); }, 10));
  const int64_t at_kill = VertexCount(Path("bob.db"));
  EXPECT_LT(at_kill, kWrites) << "the kill came before the sync was over";
  // Alice writes on while bob is down.
  Update("alice.db", id, "", {"add", "1"});

  // Any command of bob's starts his daemon again: from what his database remembers (the
  // join, the inviter's address) it dials alice and gets everything, exactly as she has it.
  EXPECT_TRUE(Eventually([&] { return StateOr("bob.db", id)["value"] == kWrites + 1; }, 25))
      << "bob after the restart: " << StateOr("bob.db", id) << ", " << at_kill
      << " vertices at the kill";
  EXPECT_NE(Json("bob.db", {"status"})["pid"], pid);
  json alice_objects = Json("alice.db", {"object", "list"});
  auto objects = [&](const std::string& db) {
    TopoResult r = AtJson(db, {"object", "list"});
    return json::parse(r.out, nullptr, false);
  };
  EXPECT_TRUE(Eventually([&] { return objects("bob.db") == alice_objects; }, 10))
      << objects("bob.db") << "\nalice: " << alice_objects;
  json bob_log = Log("bob.db", id), alice_log = Log("alice.db", id);
  EXPECT_TRUE(bob_log == alice_log)
      << "the logs differ: " << bob_log.size() << " and " << alice_log.size() << " vertices";
  EXPECT_EQ(Members("bob.db"), 2u);
  EXPECT_EQ(Members("alice.db"), 2u);
}

}  // namespace
}  // namespace topo::cli_test
