// The daemon's commands: start, stop, status, rpc; and the daemon every command starts.
#include <signal.h>

#include <chrono>
#include <thread>

#include "cli/cli_fixture.h"

namespace topo::cli_test {
namespace {

class CliDaemonTest : public CliTest {};

// Running: exists and is not a zombie (the daemon is re-parented; who reaps it varies).
bool Alive(int pid) {
  if (::kill(pid, 0) != 0) return false;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'Z';
}

TEST_F(CliDaemonTest, StartStatusStop) {
  Init("a.db", "alice");
  StopDaemon("a.db");
  json off = Json("a.db", {"status"});
  EXPECT_EQ(off["running"], false);
  EXPECT_FALSE(fs::exists(Path("a.db.sock")));

  json started = Json("a.db", {"start", "--log-level", "debug"});
  int pid = started["pid"];
  EXPECT_TRUE(Alive(pid));
  EXPECT_EQ(FileMode(Path("a.db.sock")) & 0077, 0u) << "only the owner may drive the node";
  TopoResult again = At("a.db", {"start"});
  EXPECT_TRUE(FailedCleanly(again, 1, "a daemon already serves"));

  std::string id = Create("a.db", "counter");
  json on = Json("a.db", {"status"});
  EXPECT_EQ(on["running"], true);
  EXPECT_EQ(on["pid"], pid);
  EXPECT_EQ(on["log_level"], "debug");
  EXPECT_EQ(on["identity"]["device_name"], "alice");
  ASSERT_EQ(on["objects"].size(), 1u);
  EXPECT_EQ(on["objects"][0]["object"], id);
  TopoResult text = At("a.db", {"status"});
  EXPECT_NE(text.out.find("running  pid " + std::to_string(pid)), std::string::npos) << text.out;

  json stopped = Json("a.db", {"stop"});
  EXPECT_EQ(stopped["stopped"], true);
  EXPECT_FALSE(Alive(pid));
  EXPECT_FALSE(fs::exists(Path("a.db.sock")));
  EXPECT_FALSE(fs::exists(Path("a.db.pid")));
  EXPECT_NE(ReadFile(Path("a.db.log")).find("stopping: asked over RPC"), std::string::npos);
  EXPECT_EQ(Json("a.db", {"stop"})["running"], false) << "stopping twice is fine";
  // The next command starts it again, and the data is all there.
  EXPECT_EQ(State("a.db", id)["value"], 0);
}

TEST_F(CliDaemonTest, RpcMethodsDescribeAndCall) {
  Init("a.db", "alice");
  json methods = Json("a.db", {"rpc", "methods"});
  std::set<std::string> names;
  for (const auto& m : methods) names.insert(m["method"]);
  for (const char* want : {"node.status", "node.stop", "object.create", "object.update",
                           "object.show", "bundle.import", "workspace.invite", "workspace.accept",
                           "device.link"})
    EXPECT_TRUE(names.count(want)) << want;

  json d = Json("a.db", {"rpc", "describe", "object.update"});
  EXPECT_TRUE(d["params"].contains("op"));
  EXPECT_EQ(d["example"]["method"], "object.update");
  EXPECT_TRUE(FailedCleanly(At("a.db", {"rpc", "describe", "nope"}), 1, "no method nope"));

  json created = Json("a.db", {"rpc", "call", "object.create", R"({"type": "set"})"});
  std::string id = created["object"];
  WriteFile(Path("params.json"), R"({"object": ")" + id + R"(", "op": ["add", "x"]})");
  EXPECT_TRUE(Succeeded(At("a.db", {"rpc", "call", "object.update", "--file", "params.json"})));
  EXPECT_EQ(State("a.db", id)["value"], json::array({"x"}));

  EXPECT_TRUE(FailedCleanly(At("a.db", {"rpc", "call", "object.show", "{not json"}), 1,
                            "params must be a JSON object"));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"rpc", "call", "nope"}), 1, "no method nope"));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"rpc", "call", "object.show", "{}"}), 1,
                            "missing parameter \"object\""));
  EXPECT_TRUE(FailedCleanly(
      At("a.db", {"rpc", "call", "object.show", "{}", "--file", "params.json"}), 1, "one way"));
}

TEST_F(CliDaemonTest, BadLogLevelIsRefused) {
  Init("a.db", "alice");
  StopDaemon("a.db");
  EXPECT_TRUE(FailedCleanly(At("a.db", {"start", "--log-level", "loud"}), 1, "--log-level"));
  EXPECT_EQ(Json("a.db", {"status"})["running"], false);
}

TEST_F(CliDaemonTest, ADaemonWhoseFilesAreRemovedStopsByItself) {
  Init("a.db", "alice");
  int pid = Json("a.db", {"status"})["pid"];
  ASSERT_TRUE(Alive(pid));
  fs::remove(Path("a.db.pid"));
  for (int i = 0; i < 100 && Alive(pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(Alive(pid)) << "the daemon should notice within its 2 s watch interval";
}

}  // namespace
}  // namespace topo::cli_test
