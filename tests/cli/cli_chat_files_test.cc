// Files in the team chat through the CLI (send-file, files, save-file): alice shares a file
// in #general and bob, on another daemon, lists it and saves the exact bytes; files go to
// the channel or thread named and list by channel; and every error a user can cause is one
// line that names the problem, with nothing posted or stored.
#include "cli/cli_fixture.h"
#include "cli/seeded_file.h"

namespace topo::cli_test {
namespace {

class CliChatFilesTest : public CliTest {
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

TEST_F(CliChatFilesTest, AFileSentInAChannelIsListedAndSavedByAnotherMember) {
  AliceAndBob();
  WriteSeeded(Path("report.bin"), 2'500'000, 20261122);
  const std::string want = Sha256Of(Path("report.bin"));

  json sent = Json("alice.db", {"send-file", "report.bin", "-m", "the Q3 report"});
  const std::string alice_id = sent.value("file", "");
  EXPECT_EQ(alice_id, std::to_string(sent["number"].get<int64_t>()) + ".1") << sent;
  EXPECT_EQ(sent["name"], "report.bin");
  EXPECT_EQ(sent["size"], 2'500'000);
  const std::string ref = sent.value("ref", "");
  EXPECT_EQ(ref.rfind("topo-file:", 0), 0u) << sent;

  // The message carries the file; view shows it with its FILE_ID.
  json mine = Json("alice.db", {"messages"});
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]["text"], "the Q3 report");
  ASSERT_EQ(mine[0]["files"].size(), 1u);
  EXPECT_EQ(mine[0]["files"][0]["file"], alice_id);
  EXPECT_EQ(mine[0]["files"][0]["ref"], ref);
  TopoResult view = At("alice.db", {"view"});
  EXPECT_TRUE(Succeeded(view));
  EXPECT_NE(view.out.find("📎 " + alice_id + " report.bin (2.4 MiB)"), std::string::npos)
      << view.out;

  // Bob's daemon gets the message; he lists the file and saves it.
  json listed;
  ASSERT_TRUE(Eventually([&] {
    TopoResult r = AtJson("bob.db", {"files"});
    listed = json::parse(r.out, nullptr, false);
    return r.exit_code == 0 && listed.is_array() && listed.size() == 1;
  })) << listed;
  const json f = listed[0];
  EXPECT_EQ(f["name"], "report.bin");
  EXPECT_EQ(f["size"], 2'500'000);
  EXPECT_EQ(f["channel_name"], "general");
  EXPECT_EQ(f["author_name"], "alice");
  EXPECT_EQ(f["you"], false);
  EXPECT_EQ(f["text"], "the Q3 report");
  EXPECT_EQ(f["ref"], ref);
  EXPECT_TRUE(f["local"].is_null()) << "bob has not saved it yet: " << f;
  const std::string bob_id = f.value("file", "");
  TopoResult messages = At("bob.db", {"messages"});
  EXPECT_NE(messages.out.find("📎 " + bob_id + " report.bin"), std::string::npos) << messages.out;

  json saved = Json("bob.db", {"save-file", bob_id, "report-bob.bin"});
  EXPECT_EQ(saved["state"], "saved");
  EXPECT_EQ(saved["file"], bob_id);
  EXPECT_EQ(saved["fetch"]["fetched"], 3) << "2.5 MB is three 1 MiB chunks, all from alice";
  EXPECT_EQ(Sha256Of(Path("report-bob.bin")), want) << "bob has the exact bytes";

  // Each side knows it holds the file.
  json bob_files = Json("bob.db", {"files"});
  ASSERT_EQ(bob_files.size(), 1u);
  EXPECT_EQ(bob_files[0]["local"], "saved");
  EXPECT_TRUE(EndsWith(bob_files[0].value("path", ""), "/report-bob.bin")) << bob_files[0];
  json alice_files = Json("alice.db", {"files"});
  ASSERT_EQ(alice_files.size(), 1u);
  EXPECT_EQ(alice_files[0]["local"], "added");
  EXPECT_EQ(alice_files[0]["you"], true);

  // By a prefix of its manifest (the same on every device), as text: nothing is fetched again.
  const std::string prefix = f.value("manifest", "").substr(0, 10);
  ASSERT_EQ(prefix.size(), 10u);
  TopoResult again = At("bob.db", {"save-file", prefix, "again.bin"});
  EXPECT_TRUE(Succeeded(again));
  EXPECT_EQ(again.out, "saved again.bin: report.bin, 2.4 MiB in 3 chunk(s)\n");
  EXPECT_EQ(Sha256Of(Path("again.bin")), want);
}

TEST_F(CliChatFilesTest, FilesGoToTheChannelOrThreadNamedAndListByChannel) {
  Json("a.db", {"create-workspace", "--name", "acme", "--username", "alice"});
  Json("a.db", {"channel", "create", "design"});
  WriteFile(Path("a.txt"), "alpha");
  WriteFile(Path("b.txt"), "beta");
  const int64_t root = Json("a.db", {"send", "the plan"})["number"];
  json a = Json("a.db", {"send-file", "--thread", std::to_string(root), "a.txt"});
  json b = Json("a.db", {"send-file", "-c", "#design", "b.txt", "--name", "beta.txt"});

  // Newest first; the text defaults to the file's name.
  json all = Json("a.db", {"files"});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["name"], "beta.txt");
  EXPECT_EQ(all[0]["text"], "beta.txt");
  EXPECT_EQ(all[0]["channel_name"], "design");
  EXPECT_EQ(all[1]["name"], "a.txt");
  EXPECT_EQ(all[1]["channel_name"], "general");
  EXPECT_EQ(Json("a.db", {"files", "--limit", "1"}).size(), 1u);
  json design = Json("a.db", {"files", "-c", "design"});
  ASSERT_EQ(design.size(), 1u);
  EXPECT_EQ(design[0]["file"], b["file"]);
  json general = Json("a.db", {"files", "-c", "general"});
  ASSERT_EQ(general.size(), 1u);
  EXPECT_EQ(general[0]["file"], a["file"]);

  // The reply is in the thread, not in the channel's list.
  json thread = Json("a.db", {"messages", "--thread", std::to_string(root)});
  ASSERT_EQ(thread.size(), 2u);
  ASSERT_EQ(thread[1]["files"].size(), 1u);
  EXPECT_EQ(thread[1]["files"][0]["name"], "a.txt");
  EXPECT_EQ(Json("a.db", {"messages"}).size(), 1u);

  // A message's only file by its number alone, or as #N.1.
  const std::string number = std::to_string(b["number"].get<int64_t>());
  Json("a.db", {"save-file", number, "b-copy.txt"});
  EXPECT_EQ(ReadFile(Path("b-copy.txt")), "beta");
  Json("a.db", {"save-file", "#" + a["file"].get<std::string>(), "a-copy.txt"});
  EXPECT_EQ(ReadFile(Path("a-copy.txt")), "alpha");

  TopoResult text = At("a.db", {"files"});
  EXPECT_TRUE(Succeeded(text));
  EXPECT_EQ(
      text.out.rfind(b["file"].get<std::string>() + "  beta.txt  4 bytes  #design  alice  ", 0), 0u)
      << text.out;
}

TEST_F(CliChatFilesTest, ErrorsNameTheProblemAndPostNothing) {
  Json("a.db", {"create-workspace", "--name", "acme", "--username", "alice"});
  Json("a.db", {"channel", "create", "old"});
  Json("a.db", {"channel", "archive", "old"});
  WriteFile(Path("note.txt"), "hello");

  // A refused send-file posts nothing and stores nothing.
  const std::string before = DumpTables(Path("a.db"));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"send-file", "nope.bin"}), 1, "no file at nope.bin"));
  EXPECT_TRUE(
      FailedCleanly(At("a.db", {"send-file", "-c", "nope", "note.txt"}), 1, "no channel \"nope\""));
  EXPECT_TRUE(
      FailedCleanly(At("a.db", {"send-file", "--thread", "999", "note.txt"}), 1, "no message 999"));
  EXPECT_TRUE(
      FailedCleanly(At("a.db", {"send-file", "-c", "old", "note.txt"}), 1, "#old is archived"));
  EXPECT_EQ(DumpTables(Path("a.db")), before);
  EXPECT_TRUE(Json("a.db", {"messages"}).empty());
  EXPECT_TRUE(Json("a.db", {"files"}).empty());
  EXPECT_TRUE(Json("a.db", {"file", "list"})["files"].empty()) << "no chunks were stored";
  EXPECT_TRUE(FailedCleanly(At("a.db", {"files", "-c", "nope"}), 1, "no channel \"nope\""));

  // FILE_IDs that name nothing.
  json sent = Json("a.db", {"send-file", "note.txt"});
  const std::string number = std::to_string(sent["number"].get<int64_t>());
  const std::string id = sent.value("file", "");
  EXPECT_TRUE(FailedCleanly(At("a.db", {"save-file", "999.1", "x.txt"}), 1, "no file 999.1"));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"save-file", number + ".2", "x.txt"}), 1,
                            "no file " + number + ".2"));
  const std::string hi = std::to_string(Json("a.db", {"send", "hi"})["number"].get<int64_t>());
  EXPECT_TRUE(FailedCleanly(At("a.db", {"save-file", hi, "x.txt"}), 1,
                            "message " + hi + " carries no file"));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"save-file", "zz", "x.txt"}), 1, "is not a file id"));
  EXPECT_TRUE(
      FailedCleanly(At("a.db", {"save-file", "0000000000ff", "x.txt"}), 1, "no file 0000000000ff"));
  EXPECT_FALSE(fs::exists(Path("x.txt")));

  // An existing destination is kept unless --force.
  WriteFile(Path("taken.txt"), "old");
  EXPECT_TRUE(FailedCleanly(At("a.db", {"save-file", id, "taken.txt"}), 1,
                            "taken.txt already exists (--force replaces it)"));
  EXPECT_EQ(ReadFile(Path("taken.txt")), "old");
  EXPECT_TRUE(Succeeded(At("a.db", {"save-file", id, "taken.txt", "--force"})));
  EXPECT_EQ(ReadFile(Path("taken.txt")), "hello");
}

}  // namespace
}  // namespace topo::cli_test
