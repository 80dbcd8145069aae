// One daemon process hosting several accounts (databases): start --account, account add and
// remove, accounts; two accounts of one process joining a workspace over loopback QUIC and
// chatting; one account stopped (or its pid file removed) while the other serves on; the
// remembered accounts opened again at a restart; and every refusal.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cli/cli_fixture.h"

namespace topo::cli_test {
namespace {

class CliAccountsTest : public CliTest {
 protected:
  // Running: exists and is not a zombie (the daemon is re-parented; who reaps it varies).
  static bool Alive(int pid) {
    if (::kill(pid, 0) != 0) return false;
    std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
    size_t close = stat.rfind(')');
    return close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'Z';
  }
  static int FreeUdpPort() {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    ::close(fd);
    return port;
  }
  int Pid(const std::string& db) { return Json(db, {"status"})["pid"]; }
  // Two databases with a workspace each, their daemons stopped.
  void TwoDatabases(const std::string& a, const std::string& b) {
    Json(a, {"create-workspace", "--name", "work", "--username", "alice"});
    Json(b, {"create-workspace", "--name", "home", "--username", "al"});
    StopDaemon(a);
    StopDaemon(b);
  }
  // daemon.accounts of the daemon serving `db`: absolute path -> account.
  std::map<std::string, json> Accounts(const std::string& db) {
    std::map<std::string, json> out;
    json j = Json(db, {"accounts"});
    for (const auto& a : j["accounts"]) out[a["db"]] = a;
    return out;
  }
  bool SentBy(const std::string& db, const std::string& text) {
    TopoResult r = AtJson(db, {"messages"});
    json all = json::parse(r.out, nullptr, false);
    if (r.exit_code != 0 || !all.is_array()) return false;
    for (const auto& m : all)
      if (m["text"] == text) return true;
    return false;
  }
  size_t Members(const std::string& db) {
    TopoResult r = AtJson(db, {"members"});
    json j = json::parse(r.out, nullptr, false);
    return r.exit_code == 0 && !j.is_discarded() ? j.size() : size_t{0};
  }
};

TEST_F(CliAccountsTest, OneProcessServesTwoDatabases) {
  TwoDatabases("work.db", "home.db");
  TopoResult started = AtJson("work.db", {"start", "--account", "home.db"});
  ASSERT_TRUE(Succeeded(started));
  const int pid = ParseJson(started)["pid"];
  EXPECT_TRUE(Alive(pid));
  EXPECT_EQ(Pid("work.db"), pid);
  EXPECT_EQ(Pid("home.db"), pid) << "home.db is served by the same process";
  EXPECT_EQ(FileMode(Path("home.db.sock")) & 0077, 0u);
  EXPECT_EQ(std::stoi(ReadFile(Path("home.db.pid"))), pid);

  // Each answers with its own data.
  json work = Json("work.db", {"workspaces"}), home = Json("home.db", {"workspaces"});
  ASSERT_EQ(work.size(), 1u);
  ASSERT_EQ(home.size(), 1u);
  EXPECT_EQ(work[0]["name"], "work");
  EXPECT_EQ(home[0]["name"], "home");
  Json("home.db", {"send", "only at home"});
  EXPECT_TRUE(SentBy("home.db", "only at home"));
  EXPECT_FALSE(SentBy("work.db", "only at home"));

  // `accounts` on either socket lists both.
  for (const char* db : {"work.db", "home.db"}) {
    json j = Json(db, {"accounts"});
    EXPECT_EQ(j["pid"], pid);
    ASSERT_EQ(j["accounts"].size(), 2u) << j;
    EXPECT_EQ(j["accounts"][0]["db"], Path("work.db")) << "the first account comes first";
    EXPECT_TRUE(j["accounts"][0]["primary"].get<bool>());
    const json& h = j["accounts"][1];
    EXPECT_EQ(h["db"], Path("home.db"));
    EXPECT_EQ(h["socket"], Path("home.db.sock"));
    EXPECT_EQ(h["state"], "serving");
    EXPECT_TRUE(h["remembered"].get<bool>());
    EXPECT_EQ(h["workspaces"], 1);
    EXPECT_EQ(h["user_key"], Json("home.db", {"identity"})["user_key"]);
    EXPECT_NE(h["device_key"], j["accounts"][0]["device_key"]);
  }
  TopoResult text = At("home.db", {"accounts"});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_NE(text.out.find("pid " + std::to_string(pid) + ", 2 accounts"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find(Path("home.db") + "  serving"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("1 workspace"), std::string::npos) << text.out;
}

TEST_F(CliAccountsTest, TheDaemonMethodsAreListedAndDocumented) {
  Json("a.db", {"init"});
  std::set<std::string> names;
  for (const auto& m : Json("a.db", {"rpc", "methods"})) names.insert(m["method"]);
  const std::string doc = ReadFile(std::string(TOPO_SOURCE_DIR) + "/docs/RPC.md");
  for (const char* want : {"daemon.accounts", "daemon.open_account", "daemon.remove_account"}) {
    EXPECT_TRUE(names.count(want)) << want;
    EXPECT_NE(doc.find("### `" + std::string(want) + "`"), std::string::npos)
        << want << " is missing from docs/RPC.md (scripts/gen-rpc-doc.sh)";
  }
}

// Two nodes in one process over real QUIC on loopback: bob's account joins alice's
// workspace through an invite link, and they chat.
TEST_F(CliAccountsTest, TwoAccountsOfOneProcessChatOverLoopback) {
  Json("alice.db", {"create-workspace", "--name", "acme", "--username", "alice"});
  const int pid = Pid("alice.db");
  json added =
      Json("alice.db", {"account", "add", "bob.db", "--create", "--device-name", "bob-pc"});
  EXPECT_EQ(added["created"], true);
  EXPECT_EQ(added["pid"], pid);
  EXPECT_EQ(Pid("bob.db"), pid);
  EXPECT_EQ(Json("bob.db", {"identity"})["device_name"], "bob-pc");

  std::string link = Json("alice.db", {"invite"})["link"];
  Json("bob.db", {"accept", link, "--username", "bob"});
  ASSERT_TRUE(Eventually([&] { return Members("alice.db") == 2 && Members("bob.db") == 2; }))
      << Members("alice.db") << " " << Members("bob.db");
  Json("alice.db", {"send", "hello bob, from the same process"});
  EXPECT_TRUE(Eventually([&] { return SentBy("bob.db", "hello bob, from the same process"); }));
  Json("bob.db", {"send", "hi alice"});
  EXPECT_TRUE(Eventually([&] { return SentBy("alice.db", "hi alice"); }));
  EXPECT_EQ(Pid("bob.db"), pid);
  EXPECT_EQ(Accounts("alice.db")[Path("bob.db")]["workspaces"], 1);
}

TEST_F(CliAccountsTest, StoppingOneAccountLeavesTheOthersServing) {
  TwoDatabases("work.db", "home.db");
  Json("other.db", {"init"});
  StopDaemon("other.db");
  ASSERT_TRUE(Succeeded(At("work.db", {"start", "--account", "home.db", "--account", "other.db"})));
  const int pid = Pid("work.db");

  TopoResult stopped = At("home.db", {"stop"});
  ASSERT_TRUE(Succeeded(stopped));
  EXPECT_NE(stopped.out.find("still serves 2 other accounts"), std::string::npos) << stopped.out;
  EXPECT_TRUE(Alive(pid));
  EXPECT_FALSE(fs::exists(Path("home.db.pid")));
  EXPECT_FALSE(fs::exists(Path("home.db.sock")));
  EXPECT_EQ(Pid("work.db"), pid);
  EXPECT_EQ(Json("work.db", {"workspaces"}).size(), 1u);
  auto accounts = Accounts("work.db");
  EXPECT_EQ(accounts.size(), 2u);
  EXPECT_FALSE(accounts.count(Path("home.db")));
  EXPECT_NE(ReadFile(Path("home.db.log")).find("stopping: asked over RPC"), std::string::npos);

  // A removed pid file stops that account alone (the watch is per account).
  fs::remove(Path("other.db.pid"));
  EXPECT_TRUE(Eventually([&] { return !fs::exists(Path("other.db.sock")); }, 10))
      << "the account notices within its 2 s watch interval";
  EXPECT_TRUE(Alive(pid));
  EXPECT_EQ(Accounts("work.db").size(), 1u);

  // The last one ends the process.
  StopDaemon("work.db");
  EXPECT_FALSE(Alive(pid));
}

TEST_F(CliAccountsTest, ARestartOpensTheRememberedAccountsAgain) {
  TwoDatabases("work.db", "home.db");
  ASSERT_TRUE(Succeeded(At("work.db", {"start", "--account", "home.db"})));
  // A UDP port free a moment ago, for new.db's network (remembered with it).
  const std::string bind = "127.0.0.1:" + std::to_string(FreeUdpPort());
  Json("work.db", {"account", "add", "new.db", "--create", "--bind", bind});
  EXPECT_EQ(Accounts("work.db")[Path("new.db")]["listening"], bind);
  StopDaemon("home.db");
  StopDaemon("new.db");
  const int old = Pid("work.db");
  StopDaemon("work.db");
  EXPECT_FALSE(Alive(old));

  // Any command starts the daemon again, with the accounts it remembers.
  EXPECT_EQ(Json("work.db", {"workspaces"}).size(), 1u);
  const int pid = Pid("work.db");
  EXPECT_NE(pid, old);
  auto accounts = Accounts("work.db");
  ASSERT_EQ(accounts.size(), 3u);
  EXPECT_EQ(accounts[Path("home.db")]["state"], "serving");
  EXPECT_EQ(accounts[Path("new.db")]["state"], "serving");
  EXPECT_EQ(accounts[Path("new.db")]["listening"], bind);
  EXPECT_EQ(Pid("home.db"), pid);
  EXPECT_EQ(Json("home.db", {"workspaces"})[0]["name"], "home");

  // Removed: stopped and forgotten (its database stays).
  ASSERT_TRUE(Succeeded(At("work.db", {"account", "remove", "new.db"})));
  EXPECT_FALSE(fs::exists(Path("new.db.pid")));
  EXPECT_TRUE(fs::exists(Path("new.db")));
  EXPECT_TRUE(Alive(pid));
  StopDaemon("home.db");
  StopDaemon("work.db");
  Json("work.db", {"workspaces"});
  accounts = Accounts("work.db");
  EXPECT_EQ(accounts.size(), 2u);
  EXPECT_TRUE(accounts.count(Path("home.db")));
  EXPECT_FALSE(accounts.count(Path("new.db")));
}

TEST_F(CliAccountsTest, ARememberedAccountThatCannotOpenDoesNotStopTheOthers) {
  TwoDatabases("work.db", "home.db");
  ASSERT_TRUE(Succeeded(At("work.db", {"start", "--account", "home.db"})));
  StopDaemon("home.db");
  StopDaemon("work.db");
  // home.db gets a daemon of its own first: the restarted work.db cannot host it.
  Json("home.db", {"workspaces"});
  Json("work.db", {"workspaces"});
  const int home_pid = Pid("home.db");
  const int pid = Pid("work.db");
  EXPECT_NE(pid, home_pid);
  json home = Accounts("work.db")[Path("home.db")];
  EXPECT_EQ(home["state"], "failed");
  EXPECT_NE(home["error"].get<std::string>().find("a daemon already serves"), std::string::npos)
      << home;
  EXPECT_NE(ReadFile(Path("work.db.log")).find("cannot host " + Path("home.db")),
            std::string::npos);
  EXPECT_EQ(Pid("home.db"), home_pid);
  TopoResult text = At("work.db", {"accounts"});
  EXPECT_NE(text.out.find("failed"), std::string::npos) << text.out;
}

TEST_F(CliAccountsTest, RefusalsSayWhy) {
  Json("work.db", {"init"});
  const int pid = Pid("work.db");

  // No database there.
  EXPECT_TRUE(
      FailedCleanly(At("work.db", {"account", "add", "missing.db"}), 1,
                    "no database at missing.db (create one with: topo --db missing.db init"));
  EXPECT_FALSE(fs::exists(Path("missing.db")));
  EXPECT_FALSE(fs::exists(Path("missing.db.log")));
  EXPECT_FALSE(fs::exists(Path("missing.db.pid")));

  // Served by another daemon: named with its pid.
  Json("other.db", {"init"});
  const int other = Pid("other.db");
  EXPECT_TRUE(
      FailedCleanly(At("work.db", {"account", "add", "other.db"}), 1,
                    "a daemon already serves other.db (pid " + std::to_string(other) + ")"));

  // The key file's passphrase: none, a wrong one, then the right one.
  Json("enc.db", {"init"}, {"TOPO_PASSPHRASE=correct-horse"});
  StopDaemon("enc.db");
  EXPECT_TRUE(FailedCleanly(At("work.db", {"account", "add", "enc.db"}), 1,
                            "pass --passphrase-file FILE or set TOPO_PASSPHRASE"));
  EXPECT_TRUE(FailedCleanly(At("work.db", {"account", "add", "enc.db"}, {"TOPO_PASSPHRASE=wrong"}),
                            1, "wrong passphrase"));
  EXPECT_FALSE(fs::exists(Path("enc.db.pid"))) << "a failed open leaves no pid lock";
  WriteFile(Path("pass"), "correct-horse\n");
  json added = Json("work.db", {"--passphrase-file", "pass", "account", "add", "enc.db"});
  EXPECT_EQ(added["pid"], pid);
  EXPECT_EQ(Pid("enc.db"), pid);
  EXPECT_EQ(ReadFile(Path("enc.db.log")).find("correct-horse"), std::string::npos)
      << "the passphrase is never logged";
  EXPECT_EQ(ReadFile(Path("work.db.log")).find("correct-horse"), std::string::npos);

  // Hosted here already (itself, or one added).
  EXPECT_TRUE(FailedCleanly(
      At("work.db", {"account", "add", "enc.db"}, {"TOPO_PASSPHRASE=correct-horse"}), 1,
      "enc.db is already hosted by this daemon (pid " + std::to_string(pid) + ")"));
  EXPECT_TRUE(FailedCleanly(At("enc.db", {"account", "add", "work.db"}), 1,
                            "work.db is already hosted by this daemon"));

  // The first account is not removed (it keeps the list); an unknown one is not there.
  EXPECT_TRUE(FailedCleanly(At("work.db", {"account", "remove", "work.db"}), 1,
                            "stop it with: topo --db work.db stop"));
  EXPECT_TRUE(FailedCleanly(At("work.db", {"account", "remove", "other.db"}), 1,
                            "other.db is not hosted by this daemon"));

  // start --account with one that cannot open: the daemon serves the others, and says so.
  StopDaemon("enc.db");
  StopDaemon("work.db");
  TopoResult started = At("work.db", {"start", "--account", "missing.db"});
  EXPECT_EQ(started.exit_code, 1) << Describe(started);
  EXPECT_NE(started.err.find("topo: cannot host " + Path("missing.db") + ": no database at"),
            std::string::npos)
      << started.err;
  EXPECT_NE(started.out.find("started, pid"), std::string::npos) << started.out;
  EXPECT_EQ(Json("work.db", {"workspaces"}).size(), 0u);
}

}  // namespace
}  // namespace topo::cli_test
