// topo file add | save | status | list: a file's way from one daemon to another over
// loopback, a 200 MB round trip in bounded memory, and every error a user can cause.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include "cli/cli_fixture.h"
#include "cli/seeded_file.h"
#include "codec/file.h"
#include "node/daemon.h"

namespace topo::cli_test {
namespace {

// The daemon's peak resident memory (VmHWM), in KiB.
uint64_t PeakRssKib(const std::string& db_path) {
  std::ifstream pidf(node::PidPath(db_path));
  int pid = 0;
  pidf >> pid;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

class CliFileTest : public CliTest {
 protected:
  size_t Members(const std::string& db) {
    TopoResult r = AtJson(db, {"members"});
    json j = json::parse(r.out, nullptr, false);
    return r.exit_code == 0 && !j.is_discarded() ? j.size() : size_t{0};
  }
  // Alice's workspace with bob in it, both daemons connected.
  void AliceAndBob() {
    Json("alice.db", {"create-workspace", "--name", "acme", "--username", "alice"});
    std::string link = Json("alice.db", {"invite", "--uses", "1"})["link"];
    Json("bob.db", {"accept", link, "--username", "bob"});
    ASSERT_TRUE(Eventually([&] { return Members("bob.db") == 2 && Members("alice.db") == 2; }));
  }
};

TEST_F(CliFileTest, A200MegabyteFileRoundTripsBetweenTwoDaemonsInBoundedMemory) {
  AliceAndBob();
  const uint64_t kBytes = 200'000'000;
  WriteSeeded(Path("big.bin"), kBytes, 20261122);
  const std::string want = Sha256Of(Path("big.bin"));

  auto t0 = std::chrono::steady_clock::now();
  json added = Json("alice.db", {"file", "add", "big.bin"});
  auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(added["size"], kBytes);
  EXPECT_EQ(added["chunks"], (kBytes + (1 << 20) - 1) >> 20);
  EXPECT_EQ(added["name"], "big.bin");
  const std::string ref = added["ref"];
  ASSERT_EQ(ref.rfind("topo-file:", 0), 0u);

  json saved = Json("bob.db", {"file", "save", ref, "big-bob.bin"});
  auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(saved["state"], "saved");
  EXPECT_EQ(saved["fetch"]["fetched"], added["chunks"]);
  EXPECT_EQ(saved["fetch"]["rejected"], 0);
  EXPECT_EQ(Sha256Of(Path("big-bob.bin")), want) << "bob has the exact bytes";

  const uint64_t alice_kib = PeakRssKib(Path("alice.db"));
  const uint64_t bob_kib = PeakRssKib(Path("bob.db"));
  using ms = std::chrono::milliseconds;
  std::printf(
      "200 MB: add %lld ms, save (fetch + write) %lld ms; peak RSS alice %llu KiB, "
      "bob %llu KiB\n",
      static_cast<long long>(std::chrono::duration_cast<ms>(t1 - t0).count()),
      static_cast<long long>(std::chrono::duration_cast<ms>(t2 - t1).count()),
      static_cast<unsigned long long>(alice_kib), static_cast<unsigned long long>(bob_kib));
  EXPECT_GT(alice_kib, 0u);
  EXPECT_LT(alice_kib, 64u * 1024) << "the sender's peak RSS";
  EXPECT_LT(bob_kib, 64u * 1024) << "the receiver's peak RSS";

  // Bob holds every chunk now; status says so, and the file is listed as saved.
  json status = Json("bob.db", {"file", "status", ref});
  EXPECT_EQ(status["complete"], true);
  EXPECT_EQ(status["held"], added["chunks"]);
  json list = Json("bob.db", {"file", "list"});
  ASSERT_EQ(list["files"].size(), 1u);
  EXPECT_EQ(list["files"][0]["origin"], "saved");
  EXPECT_EQ(list["files"][0]["ref"], ref);
}

TEST_F(CliFileTest, SavingFetchesFromAPeerAndResumesWithWhatIsHeld) {
  AliceAndBob();
  WriteSeeded(Path("a.bin"), 3'500'000, 5);
  const std::string ref = Json("alice.db", {"file", "add", "a.bin", "--mime", "x/y"})["ref"];
  json before = Json("bob.db", {"file", "status", ref});
  EXPECT_EQ(before["manifest_held"], false);
  json saved = Json("bob.db", {"file", "save", ref, "a-bob.bin"});
  EXPECT_EQ(saved["fetch"]["fetched"], 4);
  EXPECT_EQ(ReadFile(Path("a-bob.bin")), ReadFile(Path("a.bin")));
  // Saved again elsewhere: everything is held, nothing is fetched.
  json again = Json("bob.db", {"file", "save", ref, "a-again.bin"});
  EXPECT_EQ(again["state"], "saved");
  EXPECT_FALSE(again.contains("fetch") && again["fetch"]["fetched"] != 0) << again;
  EXPECT_EQ(ReadFile(Path("a-again.bin")), ReadFile(Path("a.bin")));
  // Bob's daemon stops having lost two chunks (as if it had been stopped mid-fetch): after a
  // restart, saving fetches those two and nothing else.
  StopDaemon("bob.db");
  const std::string manifest =
      HexEncode(std::move(codec::ParseFileRef(ref)).value().manifest.view());
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(Path("bob.db").c_str(), &raw), SQLITE_OK);
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
    const std::string sql =
        "DELETE FROM file_chunks WHERE rowid IN (SELECT rowid FROM file_chunks WHERE address != "
        "x'" +
        manifest + "' ORDER BY rowid LIMIT 2)";
    ASSERT_EQ(sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_changes(db.get()), 2);
  }
  json partial = Json("bob.db", {"file", "status", ref});
  EXPECT_EQ(partial["held"], 2);
  EXPECT_EQ(partial["missing_count"], 2);
  ASSERT_TRUE(Eventually([&] { return Members("bob.db") == 2; }));
  json resumed = Json("bob.db", {"file", "save", ref, "a-resumed.bin"});
  EXPECT_EQ(resumed["fetch"]["fetched"], 2) << "only what was missing is fetched";
  EXPECT_EQ(ReadFile(Path("a-resumed.bin")), ReadFile(Path("a.bin")));
  // The text output.
  TopoResult text = At("bob.db", {"file", "save", ref, "a-text.bin"});
  EXPECT_TRUE(Succeeded(text));
  EXPECT_NE(text.out.find("saved a-text.bin: a.bin, 3.3 MiB in 4 chunk(s)"), std::string::npos)
      << text.out;
}

TEST_F(CliFileTest, ErrorsNameTheProblem) {
  Init("alice.db", "laptop");
  WriteFile(Path("note.txt"), "hello");
  const std::string ref = Json("alice.db", {"file", "add", "note.txt"})["ref"];

  EXPECT_TRUE(FailedCleanly(At("alice.db", {"file", "add", "nope.bin"}), 1, "no file at nope.bin"));
  fs::create_directory(Path("folder"));
  EXPECT_TRUE(FailedCleanly(At("alice.db", {"file", "add", "folder"}), 1, "folder is a directory"));
  if (::geteuid() != 0) {  // root reads anything
    WriteFile(Path("secret.txt"), "x");
    fs::permissions(Path("secret.txt"), fs::perms::none);
    EXPECT_TRUE(
        FailedCleanly(At("alice.db", {"file", "add", "secret.txt"}), 1, "cannot read secret.txt"));
  }
  EXPECT_TRUE(FailedCleanly(At("alice.db", {"file", "save", "topo-file:abc", "x.txt"}), 1,
                            "not a file reference"));
  EXPECT_TRUE(FailedCleanly(At("alice.db", {"file", "save", "https://example.com", "x.txt"}), 1,
                            "not a file reference"));
  EXPECT_TRUE(
      FailedCleanly(At("alice.db", {"file", "status", "topo-file:"}), 1, "not a file reference"));
  // A reference with the right manifest and another key: the manifest does not open.
  codec::FileRef wrong = std::move(codec::ParseFileRef(ref)).value();
  wrong.key = crypto::SecretBytes::Random(32);
  EXPECT_TRUE(FailedCleanly(At("alice.db", {"file", "save", codec::EncodeFileRef(wrong), "x.txt"}),
                            1, "does not open the manifest"));

  // The destination: taken (unless --force), a directory, in a directory that is not there.
  WriteFile(Path("taken.txt"), "old");
  EXPECT_TRUE(FailedCleanly(At("alice.db", {"file", "save", ref, "taken.txt"}), 1,
                            "taken.txt already exists (--force replaces it)"));
  EXPECT_EQ(ReadFile(Path("taken.txt")), "old");
  EXPECT_TRUE(
      FailedCleanly(At("alice.db", {"file", "save", ref, "folder"}), 1, "folder is a directory"));
  EXPECT_TRUE(
      FailedCleanly(At("alice.db", {"file", "save", ref, "no/such/dir/x.txt"}), 1, "no directory"));
  EXPECT_TRUE(Succeeded(At("alice.db", {"file", "save", ref, "taken.txt", "--force"})));
  EXPECT_EQ(ReadFile(Path("taken.txt")), "hello");
  // Nothing but the saved files is left in the directory (no temporary files).
  for (const auto& name : FilesIn(Path("")))
    EXPECT_EQ(name.find(".topo-"), std::string::npos) << name;

  // A file no peer has: alice has no peer at all, so the error says so once it gives up.
  codec::FileRef unknown{codec::AddressOfChunk(Bytes(10, 1)), crypto::SecretBytes::Random(32)};
  TopoResult r = At("alice.db", {"file", "save", codec::EncodeFileRef(unknown), "u.txt"});
  EXPECT_TRUE(
      FailedCleanly(r, 1, "no peer is connected to fetch the file from (1 of 1 chunks missing)"));
  EXPECT_FALSE(fs::exists(Path("u.txt")));
}

TEST_F(CliFileTest, AChunkNoConnectedPeerHasIsNamed) {
  AliceAndBob();
  // A file on a third daemon, outside the workspace and never connected: bob's peer (alice)
  // does not have it.
  Init("carol.db", "carol");
  WriteFile(Path("c.txt"), "carol's");
  const std::string ref = Json("carol.db", {"file", "add", "c.txt"})["ref"];
  const std::string manifest =
      HexEncode(std::move(codec::ParseFileRef(ref)).value().manifest.view());
  EXPECT_TRUE(FailedCleanly(At("bob.db", {"file", "save", ref, "c-bob.txt"}), 1,
                            "no connected peer has chunk " + manifest));
}

}  // namespace
}  // namespace topo::cli_test
