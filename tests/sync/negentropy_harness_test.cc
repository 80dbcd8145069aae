// Two topo-negentropy-harness processes reconcile random sets the way hoytech/negentropy's
// test/fuzz.pl drives two harnesses: items and seal to both, initiate to the client, then
// every msg line of one is passed to the other until the client prints done.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "sync/reconcile_sets.h"
#include "util/encoding.h"

namespace topo::sync {
namespace {

const char* const kHarness = TOPO_BIN_DIR "/topo-negentropy-harness";

// One harness child with pipes to its stdin and from its stdout (stderr passes through, or
// goes to a pipe when capture_stderr).
class HarnessProcess {
 public:
  HarnessProcess(const std::vector<std::string>& env, bool capture_stderr = false) {
    signal(SIGPIPE, SIG_IGN);  // a dead child shows up as a failed write, not a dead test
    // O_CLOEXEC: a second child must not inherit this child's stdin pipe, or closing it
    // would never reach this child as end of input.
    int in[2], out[2], err[2];
    EXPECT_EQ(pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      if (capture_stderr) dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
      unsetenv("FRAMESIZELIMIT");
      unsetenv("TOPO_NEGENTROPY_STORAGE");
      for (const std::string& kv : env) putenv(const_cast<char*>(kv.c_str()));
      execl(kHarness, kHarness, static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
    err_ = fdopen(err[0], "r");
  }
  ~HarnessProcess() {
    CloseInput();
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (from_) fclose(from_);
    if (err_) fclose(err_);
  }

  bool Write(const std::string& s) {
    return fwrite(s.data(), 1, s.size(), to_) == s.size() && fflush(to_) == 0;
  }
  void Buffer(const std::string& s) { fwrite(s.data(), 1, s.size(), to_); }

  // The next line without its newline; false at end of output.
  bool ReadLine(std::string& line) {
    char* buf = nullptr;
    size_t cap = 0;
    ssize_t n = getline(&buf, &cap, from_);
    if (n < 0) {
      free(buf);
      return false;
    }
    line.assign(buf, n > 0 && buf[n - 1] == '\n' ? n - 1 : n);
    free(buf);
    return true;
  }

  void CloseInput() {
    if (to_) fclose(to_);
    to_ = nullptr;
  }
  // Closes stdin and waits: the exit status, or -1 when killed by a signal.
  int Wait() {
    CloseInput();
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string Stderr() {
    std::string all;
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, err_)) > 0) all.append(buf, n);
    return all;
  }

 private:
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
  FILE* err_ = nullptr;
};

struct Exchange {
  std::set<ItemId> have, need;
  size_t round_trips = 0;
  bool done = false;
};

std::vector<std::string> Env(uint64_t limit, const char* storage) {
  std::vector<std::string> env{std::string("TOPO_NEGENTROPY_STORAGE=") + storage};
  if (limit) env.push_back("FRAMESIZELIMIT=" + std::to_string(limit));
  return env;
}

void SendItems(HarnessProcess& p, const std::vector<Item>& items) {
  for (const Item& it : items)
    p.Buffer("item," + std::to_string(it.timestamp) + "," + HexEncode(it.id.view()) + "\n");
  ASSERT_TRUE(p.Write("seal\n"));
}

Exchange Drive(const testing::SetPair& pair, uint64_t limit1, uint64_t limit2) {
  Exchange x;
  HarnessProcess client(Env(limit1, "index")), server(Env(limit2, "vector"));
  SendItems(client, pair.a);
  SendItems(server, pair.b);
  EXPECT_TRUE(client.Write("initiate\n"));
  std::string line;
  while (client.ReadLine(line)) {
    if (line.rfind("have,", 0) == 0 || line.rfind("need,", 0) == 0) {
      auto id = HexDecodeFixed<32>(line.substr(5));
      EXPECT_TRUE(id.ok()) << line;
      if (id.ok()) (line[0] == 'h' ? x.have : x.need).insert(*id);
      continue;
    }
    if (line == "done") {
      x.done = true;
      break;
    }
    if (line.rfind("msg,", 0) != 0) {
      ADD_FAILURE() << "unexpected line from the client: " << line.substr(0, 80);
      break;
    }
    if (limit1) {
      EXPECT_LE((line.size() - 4) / 2, limit1);
    }
    ++x.round_trips;
    if (!server.Write(line + "\n") || !server.ReadLine(line) || line.rfind("msg,", 0) != 0) {
      ADD_FAILURE() << "the server did not answer: " << line.substr(0, 80);
      break;
    }
    if (limit2) {
      EXPECT_LE((line.size() - 4) / 2, limit2);
    }
    if (!client.Write(line + "\n")) break;
  }
  EXPECT_EQ(client.Wait(), 0);
  EXPECT_EQ(server.Wait(), 0);
  return x;
}

struct ProcessCase {
  const char* name;
  size_t common, only_a, only_b;
  uint64_t limit1, limit2;
};

class HarnessProcesses : public ::testing::TestWithParam<ProcessCase> {};

TEST_P(HarnessProcesses, ReconcileToTheTrueDifference) {
  const ProcessCase& c = GetParam();
  auto pair = testing::MakeSetPair(std::hash<std::string>()(c.name), c.common, c.only_a, c.only_b,
                                   c.common + c.only_a + c.only_b);
  Exchange x = Drive(pair, c.limit1, c.limit2);
  ASSERT_TRUE(x.done) << "the client never printed done";
  EXPECT_TRUE(x.have == pair.only_a) << x.have.size() << " have, expected " << pair.only_a.size();
  EXPECT_TRUE(x.need == pair.only_b) << x.need.size() << " need, expected " << pair.only_b.size();
}

INSTANTIATE_TEST_SUITE_P(
    Negentropy, HarnessProcesses,
    ::testing::Values(ProcessCase{"small", 900, 60, 40, 0, 0},
                      ProcessCase{"large_no_limit", 90000, 5000, 5000, 0, 0},
                      ProcessCase{"large_limits", 90000, 5000, 5000, 60000, 500000},
                      ProcessCase{"client_only", 100000, 0, 0, 0, 0},
                      ProcessCase{"tight_limits", 30000, 3000, 3000, 4096, 4096}),
    [](const ::testing::TestParamInfo<ProcessCase>& info) { return std::string(info.param.name); });

// As test/protoversion.pl: a server answers an unknown version with "msg,61" and then
// answers the v1 retry normally.
TEST(HarnessProcess, FallsBackToProtocolVersionOne) {
  HarnessProcess server(Env(0, "vector"));
  ASSERT_TRUE(server.Write("item,12345," + std::string(64, 'e') + "\nseal\n"));
  std::string line;
  ASSERT_TRUE(server.Write("msg,62aabbccddeeff\n"));
  ASSERT_TRUE(server.ReadLine(line));
  EXPECT_EQ(line, "msg,61");
  ASSERT_TRUE(server.Write("msg,6100000200\n"));
  ASSERT_TRUE(server.ReadLine(line));
  EXPECT_EQ(line, "msg,6100000201" + std::string(64, 'e'));
  EXPECT_EQ(server.Wait(), 0);
}

TEST(HarnessProcess, BadInputIsAnErrorWithNonZeroExit) {
  const std::vector<std::string> inputs = {
      "bogus\n",
      "item,1\n",
      "item,x," + std::string(64, 'e') + "\n",
      "item,1,abcd\n",
      "item,18446744073709551615," + std::string(64, 'e') + "\n",
      "initiate\n",
      "seal\nitem,1," + std::string(64, 'e') + "\n",
      "seal\nseal\n",
      "seal\nmsg,zz\n",
      "seal\nmsg,\n",
      "seal\nmsg,6100\n",
      "item,1," + std::string(64, 'e') + "\nitem,1," + std::string(64, 'e') + "\nseal\n",
  };
  for (const std::string& in : inputs) {
    HarnessProcess p(Env(0, "vector"), /*capture_stderr=*/true);
    p.Write(in);
    EXPECT_NE(p.Wait(), 0) << in;
    EXPECT_NE(p.Stderr().find("topo-negentropy-harness: "), std::string::npos) << in;
  }
  HarnessProcess tiny(Env(100, "vector"), true);
  tiny.Write("seal\n");
  EXPECT_NE(tiny.Wait(), 0) << "FRAMESIZELIMIT below 4096";
}

}  // namespace
}  // namespace topo::sync
