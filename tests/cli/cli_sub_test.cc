// `topo sub` (the chat's events as JSON lines) and `topo completions bash|zsh|fish`.
// sub: what a daemon applies streams out once each, resumable with --after and filtered by
// channel; a running sub ends with status 0 on SIGTERM; a second daemon's message arrives on
// the first's stream. completions: generated from the command tree, so every command is in
// each script, and the bash one parses and completes.
#include <cstdlib>
#include <future>
#include <sstream>

#include "cli/cli_fixture.h"

namespace topo::cli_test {
namespace {

// The JSON lines of a `topo sub` run.
std::vector<json> Lines(const TopoResult& r) {
  std::vector<json> out;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ADD_FAILURE() << "not a JSON object: " << line << Describe(r);
      continue;
    }
    out.push_back(j);
  }
  return out;
}

std::vector<std::string> KindsOf(const std::vector<json>& lines) {
  std::vector<std::string> out;
  for (const auto& j : lines) out.push_back(j.value("kind", "?"));
  return out;
}

// A `topo` process left running (the stream of `sub`), its stdout read line by line.
class Running {
 public:
  Running(const std::string& cwd, const Words& args) {
    std::string binary = TopoBinary();
    std::vector<std::string> argv_s{binary};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e)
      if (std::strncmp(*e, "TOPO_", 5) != 0) env_s.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    if (::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), envp.data()) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    fd_ = out[0];
  }
  ~Running() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
    if (fd_ >= 0) ::close(fd_);
  }
  bool started() const { return pid_ > 0; }

  // Reads lines until `want` accepts one (true) or 30 s pass (false).
  template <typename F>
  bool ReadUntil(F want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      for (size_t nl; (nl = buffer_.find('\n')) != std::string::npos;) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded()) {
          ADD_FAILURE() << "not JSON: " << line;
          continue;
        }
        lines.push_back(j);
        if (want(j)) return true;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) continue;
      char buf[4096];
      ssize_t got = ::read(fd_, buf, sizeof buf);
      if (got <= 0) return false;  // it exited
      buffer_.append(buf, static_cast<size_t>(got));
    }
  }
  // Sends `sig` and returns the exit status (128 + N when a signal killed it).
  int Stop(int sig) {
    ::kill(pid_, sig);
    return Wait();
  }
  // Stops reading its output (as `| head -1` does) and returns its exit status.
  int CloseOutput() {
    ::close(fd_);
    fd_ = -1;
    return Wait();
  }

  std::vector<json> lines;

 private:
  // Its exit status; -1 when it is still running after 30 s (then it is killed).
  int Wait() {
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    pid_t done = 0;
    while ((done = ::waitpid(pid_, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (done == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      return -1;
    }
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
  }
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
};

class CliSubTest : public CliTest {
 protected:
  // Every event the database holds, from seq 0.
  std::vector<json> Everything(const std::string& db, const Words& extra = {}) {
    Words args{"sub", "--after", "0", "--until-idle"};
    args.insert(args.end(), extra.begin(), extra.end());
    TopoResult r = At(db, args);
    EXPECT_TRUE(Succeeded(r));
    return Lines(r);
  }
  int64_t LastSeq(const std::string& db) {
    std::vector<json> all = Everything(db);
    return all.empty() ? 0 : all.back()["seq"].get<int64_t>();
  }
};

TEST_F(CliSubTest, StreamsASendAReactAndAnEditAsJsonLines) {
  Json("a.db", {"create-workspace", "--name", "acme", "--username", "alice"});
  // What creating #general wrote: the channel, its name and topic, alice's join.
  std::vector<json> before = Everything("a.db");
  EXPECT_EQ(KindsOf(before), (std::vector<std::string>{"channel", "channel", "channel", "member"}));
  ASSERT_FALSE(before.empty());
  EXPECT_EQ(before[0]["change"], "created");
  EXPECT_EQ(before[1]["value"], "general");
  EXPECT_EQ(before[3]["member_name"], "alice");
  EXPECT_TRUE(before[3]["joined"].get<bool>());
  const int64_t start = before.back()["seq"];
  // Without --after a stream starts at the end: nothing yet.
  TopoResult now = At("a.db", {"sub", "--until-idle"});
  EXPECT_TRUE(Succeeded(now));
  EXPECT_EQ(now.out, "");

  // A subscriber from `start` running while alice writes: it prints exactly three lines.
  auto sub = std::async(std::launch::async, [&] {
    return At("a.db", {"sub", "--after", std::to_string(start), "--count", "3"});
  });
  json sent = Json("a.db", {"send", "hello", "world"});
  std::string number = std::to_string(sent["number"].get<int64_t>());
  Json("a.db", {"react", number, "👍"});
  Json("a.db", {"edit", number, "hello, edited"});
  TopoResult r = sub.get();
  ASSERT_TRUE(Succeeded(r));
  std::vector<json> got = Lines(r);
  ASSERT_EQ(KindsOf(got), (std::vector<std::string>{"message", "reaction", "edit"}));
  int64_t seq = start;
  for (const auto& e : got) {
    EXPECT_GT(e["seq"].get<int64_t>(), seq) << e;
    seq = e["seq"];
    EXPECT_EQ(e["channel_name"], "general") << e;
    EXPECT_TRUE(IsHexId(e["channel"])) << e;
    EXPECT_EQ(e["author_name"], "alice") << e;
    EXPECT_TRUE(IsHexId(e["author"])) << e;
    EXPECT_EQ(e["number"], sent["number"]) << e;
    EXPECT_TRUE(IsHexId(e["message"])) << e;
  }
  // The text is as shown when the event was read: the edit's is the new one.
  EXPECT_TRUE(got[0]["text"] == "hello world" || got[0]["text"] == "hello, edited") << got[0];
  EXPECT_EQ(got[1]["emoji"], "👍");
  EXPECT_TRUE(got[1]["added"].get<bool>());
  EXPECT_EQ(got[2]["text"], "hello, edited");

  // Resuming after the reaction gives the edit alone, once.
  std::vector<json> rest = Everything("a.db");
  std::vector<json> after_react =
      Lines(At("a.db", {"sub", "--after", got[1]["seq"].dump(), "--until-idle"}));
  ASSERT_EQ(after_react.size(), 1u);
  EXPECT_EQ(after_react[0], rest.back());
  EXPECT_EQ(after_react[0]["kind"], "edit");

  // The channel filter, and a delete: the message's text is gone from every event.
  Json("a.db", {"channel", "create", "design"});
  Json("a.db", {"send", "-c", "design", "mockups"});
  Json("a.db", {"delete", number});
  std::vector<json> design = Everything("a.db", {"--channel", "design"});
  ASSERT_EQ(KindsOf(design), (std::vector<std::string>{"channel", "channel", "member", "message"}));
  for (const auto& e : design) EXPECT_EQ(e["channel_name"], "design") << e;
  EXPECT_EQ(design.back()["text"], "mockups");
  std::vector<json> general = Everything("a.db", {"-c", "general"});
  ASSERT_FALSE(general.empty());
  EXPECT_EQ(general.back()["kind"], "delete");
  for (const auto& e : general) {
    if (!e.contains("message")) continue;
    EXPECT_EQ(e["text"], "") << e;
    EXPECT_TRUE(e["deleted"].get<bool>()) << e;
  }

  // Errors: an unknown channel is one line and exit 1; a bad count a usage error.
  EXPECT_TRUE(
      FailedCleanly(At("a.db", {"sub", "-c", "nope", "--until-idle"}), 1, "no channel \"nope\""));
  EXPECT_EQ(At("a.db", {"sub", "--count", "many"}).exit_code, 2);
  TopoResult help = Topo({"sub", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Example: topo sub"), std::string::npos) << help.out;
}

TEST_F(CliSubTest, SigtermOrAGoneReaderEndsAStreamWithStatusZero) {
  Json("a.db", {"create-workspace", "--name", "acme", "--username", "alice"});
  Running sub(dir_.path(), {"--db", "a.db", "sub", "--after", "0"});
  ASSERT_TRUE(sub.started());
  // Its first line shows it is streaming (past setting up its signal handlers).
  ASSERT_TRUE(sub.ReadUntil([](const json&) { return true; }));
  EXPECT_EQ(sub.Stop(SIGTERM), 0);
  // A reader that goes away (`topo sub | head -1`) ends it too, while it waits for events.
  Running piped(dir_.path(), {"--db", "a.db", "sub", "--after", "0"});
  ASSERT_TRUE(piped.started());
  // All there is (the last of #general's creation is alice's join): it has nothing more
  // to write, so only noticing the closed pipe can end it.
  ASSERT_TRUE(piped.ReadUntil([](const json& e) { return e.value("kind", "") == "member"; }));
  EXPECT_EQ(piped.CloseOutput(), 0);
}

TEST_F(CliSubTest, ASecondDaemonsMessageArrivesOnTheFirstsStream) {
  Json("alice.db", {"create-workspace", "--name", "acme", "--username", "alice"});
  std::string link = Json("alice.db", {"invite", "--uses", "1"})["link"];
  Json("bob.db", {"accept", link, "--username", "bob"});
  ASSERT_TRUE(Eventually([&] {
    for (const auto& m : Json("alice.db", {"users"}))
      if (m["name"] == "bob") return true;
    return false;
  }));
  int64_t start = LastSeq("alice.db");
  Running sub(dir_.path(),
              {"--db", "alice.db", "sub", "--after", std::to_string(start), "-c", "general"});
  ASSERT_TRUE(sub.started());
  Json("bob.db", {"send", "hi from bob"});
  ASSERT_TRUE(sub.ReadUntil([](const json& e) {
    return e.value("kind", "") == "message" && e.value("text", "") == "hi from bob";
  })) << "lines: "
      << json(sub.lines).dump();
  EXPECT_EQ(sub.Stop(SIGINT), 0);
  const json& e = sub.lines.back();
  EXPECT_EQ(e["author_name"], "bob");
  EXPECT_FALSE(e["you"].get<bool>());
  EXPECT_EQ(e["channel_name"], "general");
  for (const auto& l : sub.lines) EXPECT_GT(l["seq"].get<int64_t>(), start) << l;
  // Once each: the stream printed each seq one time.
  std::set<int64_t> seqs;
  for (const auto& l : sub.lines) EXPECT_TRUE(seqs.insert(l["seq"].get<int64_t>()).second) << l;
}

// `topo sub` long-polls chat.events: several streams wait in the daemon at once, each gets
// a message sent meanwhile (in order, once), and when the daemon stops every stream ends by
// itself (the daemon answers the held polls and closes them; sub does not start another
// daemon), saying where to resume.
TEST_F(CliSubTest, ManyStreamsGetEachEventAndEndWhenTheDaemonStops) {
  Json("a.db", {"create-workspace", "--name", "acme", "--username", "alice"});
  int64_t start = LastSeq("a.db");
  // A long poll with nothing after `after` answers empty at the end of its (small) wait.
  json idle = Json("a.db", {"rpc", "call", "chat.events",
                            json{{"after", start}, {"wait_ms", 30}}.dump()});
  EXPECT_TRUE(idle["events"].empty()) << idle;
  EXPECT_EQ(idle["last"], start);
  EXPECT_TRUE(FailedCleanly(At("a.db", {"rpc", "call", "chat.events",
                                        json{{"after", start}, {"wait_ms", 30001}}.dump()}),
                            1, "at most 30000"));
  constexpr int kStreams = 6;
  std::vector<std::unique_ptr<Running>> subs;
  for (int i = 0; i < kStreams; ++i) {
    subs.push_back(std::make_unique<Running>(
        dir_.path(), Words{"--db", "a.db", "sub", "--after", std::to_string(start)}));
    ASSERT_TRUE(subs.back()->started());
  }
  Json("a.db", {"send", "first"});
  Json("a.db", {"send", "second"});
  for (auto& s : subs) {
    ASSERT_TRUE(s->ReadUntil([](const json& e) { return e.value("text", "") == "second"; }))
        << json(s->lines).dump();
    std::vector<std::string> texts;
    for (const auto& l : s->lines)
      if (l.value("kind", "") == "message") texts.push_back(l["text"]);
    EXPECT_EQ(texts, (std::vector<std::string>{"first", "second"}));
  }
  ASSERT_TRUE(Succeeded(At("a.db", {"stop"})));
  for (auto& s : subs) {
    // It exits by itself: ReadUntil sees its output close (false), then its status.
    EXPECT_FALSE(s->ReadUntil([](const json&) { return false; }));
    EXPECT_EQ(s->CloseOutput(), 1) << "the daemon stopped: an error, not a hang";
  }
}

// The top-level commands `topo --help` lists.
std::vector<std::string> TopLevelCommands(const std::string& help) {
  std::vector<std::string> out;
  std::istringstream in(help);
  std::string line;
  bool in_list = false;
  while (std::getline(in, line)) {
    if (line.rfind("Subcommands:", 0) == 0 || line.rfind("SUBCOMMANDS:", 0) == 0) {
      in_list = true;
      continue;
    }
    if (!in_list) continue;
    if (line.empty()) break;
    std::istringstream words(line);
    std::string name;
    words >> name;
    if (!name.empty()) out.push_back(name);
  }
  return out;
}

TEST_F(CliSubTest, CompletionScriptsNameEveryCommandAndBashRunsThem) {
  TopoResult help = Topo({"--help"});
  ASSERT_EQ(help.exit_code, 0);
  std::vector<std::string> commands = TopLevelCommands(help.out);
  ASSERT_GT(commands.size(), 20u) << help.out;
  for (const char* must : {"sub", "completions", "channel", "send", "file"})
    EXPECT_NE(std::find(commands.begin(), commands.end(), must), commands.end()) << must;

  TopoResult bash = Topo({"completions", "bash"});
  ASSERT_TRUE(Succeeded(bash));
  // The root's list of subcommands, as the script carries it.
  auto at = bash.out.find("'topo') echo '");
  ASSERT_NE(at, std::string::npos) << bash.out;
  std::string root = bash.out.substr(at + 14, bash.out.find('\'', at + 14) - at - 14);
  std::set<std::string> listed;
  std::istringstream words(root);
  for (std::string w; words >> w;) listed.insert(w);
  EXPECT_EQ(listed, std::set<std::string>(commands.begin(), commands.end()));

  std::string script = Path("topo.bash");
  WriteFile(script, bash.out);
  EXPECT_EQ(std::system(("bash -n " + script).c_str()), 0);
  // Load it and complete: the words typed so far -> what is offered.
  auto complete = [&](const std::string& words) {
    std::string out = Path("offered");
    std::string cmd = "bash -c 'source " + script + "; COMP_WORDS=(" + words +
                      "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _topo; "
                      "printf \"%s\\n\" \"${COMPREPLY[@]}\"' > " +
                      out;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::set<std::string> offered;
    std::istringstream in(ReadFile(out));
    for (std::string l; std::getline(in, l);) offered.insert(l);
    return offered;
  };
  EXPECT_EQ(complete("topo chan"), (std::set<std::string>{"channel", "channels"}));
  std::set<std::string> nested = complete("topo channel \"\"");
  for (const char* sub : {"create", "rename", "topic", "archive", "join", "leave"})
    EXPECT_TRUE(nested.count(sub)) << sub;
  EXPECT_FALSE(nested.count("send"));
  std::set<std::string> options = complete("topo --db x.db sub --");
  for (const char* opt : {"--channel", "--after", "--count", "--until-idle", "--db", "--json"})
    EXPECT_TRUE(options.count(opt)) << opt;
  EXPECT_TRUE(complete("topo channel create --").count("--topic"));

  for (const char* shell : {"zsh", "fish"}) {
    TopoResult r = Topo({"completions", shell});
    ASSERT_TRUE(Succeeded(r)) << shell;
    // zsh lists "name:description", fish each name alone.
    const std::string end = std::string(shell) == "zsh" ? ":" : "'";
    for (const auto& c : commands)
      EXPECT_NE(r.out.find("'" + c + end), std::string::npos) << shell << " lacks " << c;
    EXPECT_NE(r.out.find("'topo channel'"), std::string::npos) << shell;
    EXPECT_NE(r.out.find("until-idle"), std::string::npos) << shell;
  }
  // Where zsh and fish are installed, they parse their scripts, and fish completes with it.
  for (const char* shell : {"zsh", "fish"}) {
    if (std::system((std::string("command -v ") + shell + " >/dev/null 2>&1").c_str()) != 0)
      continue;
    std::string file = Path(std::string("topo.") + shell);
    WriteFile(file, Topo({"completions", shell}).out);
    EXPECT_EQ(std::system((std::string(shell) + " -n " + file).c_str()), 0) << shell;
  }
  if (std::system("command -v fish >/dev/null 2>&1") == 0) {
    std::string out = Path("fish-offered");
    std::string cmd =
        "fish -c 'source " + Path("topo.fish") + "; complete -C \"topo channel \"' > " + out;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    EXPECT_NE(ReadFile(out).find("create\tCreate a public channel"), std::string::npos)
        << ReadFile(out);
  }
  EXPECT_NE(Topo({"completions", "zsh"}).out.find("#compdef topo"), std::string::npos);
  EXPECT_NE(Topo({"completions", "fish"}).out.find("complete -c topo"), std::string::npos);

  // An unknown shell is a usage error.
  EXPECT_TRUE(FailedCleanly(Topo({"completions", "tcsh"}), 2, "tcsh"));
  EXPECT_EQ(Topo({"completions"}).exit_code, 2);
}

}  // namespace
}  // namespace topo::cli_test
