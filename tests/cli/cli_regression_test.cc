// Regressions: each test states behaviour a user expects that an earlier CLI got wrong
// (global options after the subcommand, commands other than init creating files, a lost
// key file silently replaced, a failed export truncating a file, ...).
#include "cli/cli_fixture.h"

namespace topo::cli_test {
namespace {

class CliRegressionTest : public CliTest {};

// `topo object show ID --json` is refused ("The following argument was not expected:
// --json"): the global options are only accepted before the subcommand, and the subcommands'
// help does not list them.
TEST_F(CliRegressionTest, GlobalOptionsAfterTheSubcommand) {
  Init("a.db", "alice");
  std::string id = Create("a.db", "counter");
  TopoResult r = Topo({"object", "show", id, "--json", "--db", "a.db"});
  EXPECT_TRUE(Succeeded(r));
  EXPECT_EQ(ParseJson(r)["object"], id);
}

// The message names an option that does not exist ("pass --passphrase"); the CLI takes
// --passphrase-file or TOPO_PASSPHRASE. Same for "drop --passphrase, or encrypt it with
// change-passphrase" on a plaintext file (there is no change-passphrase command).
TEST_F(CliRegressionTest, EncryptedKeyFileErrorNamesTheRealOptions) {
  WriteFile(Path("pass"), "pw");
  Json("e.db", {"--passphrase-file", "pass", "init"});
  StopDaemon("e.db");
  TopoResult r = At("e.db", {"object", "list"});
  EXPECT_TRUE(FailedCleanly(r, 1, "--passphrase-file"));
  EXPECT_NE(r.err.find("TOPO_PASSPHRASE"), std::string::npos) << r.err;
  Init("p.db", "plain");
  StopDaemon("p.db");
  TopoResult p = At("p.db", {"object", "list"}, {"TOPO_PASSPHRASE=pw"});
  EXPECT_TRUE(FailedCleanly(p, 1, "TOPO_PASSPHRASE"));
}

// A command that fails because the database cannot be opened still writes a new key file
// (the identity is created before the database is opened).
TEST_F(CliRegressionTest, FailedOpenLeavesNoKeyFileBehind) {
  WriteFile(Path("notadb.db"), "this is not an SQLite file");
  EXPECT_TRUE(FailedCleanly(At("notadb.db", {"object", "list"}), 1, "is not a topo database"));
  EXPECT_FALSE(fs::exists(Path("notadb.db.keys")));
  fs::create_directory(Path("dir.db"));
  EXPECT_TRUE(FailedCleanly(At("dir.db", {"init"}), 1, "cannot open database"));
  EXPECT_FALSE(fs::exists(Path("dir.db.keys")));
}

// A database whose key file is gone silently gets a brand-new identity (new device and
// user keys) on the next command; a user who lost or misplaced the key file is not told.
TEST_F(CliRegressionTest, ExistingDatabaseWithoutItsKeyFileIsRefused) {
  Init("a.db", "alice");
  Create("a.db", "counter");
  StopDaemon("a.db");
  fs::remove(Path("a.db.keys"));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"object", "list"}), 1, "a.db.keys"));
  EXPECT_FALSE(fs::exists(Path("a.db.keys")));
}

// Commands other than init on a path with no database create one (and an identity): a
// typo in --db answers "no objects yet" and leaves two new files.
TEST_F(CliRegressionTest, OnlyInitCreatesADatabase) {
  EXPECT_TRUE(FailedCleanly(At("typo.db", {"object", "list"}), 1, "typo.db"));
  WriteFile(Path("x.bndl"), "garbage");
  EXPECT_TRUE(FailedCleanly(At("typo.db", {"bundle", "import", "x.bndl"}), 1, ""));
  EXPECT_EQ(FilesIn(dir_.path()), std::set<std::string>{"x.bndl"});
}

// Hex is accepted in upper case for a full id but not for a prefix ("no object 597F").
TEST_F(CliRegressionTest, UpperCasePrefixResolves) {
  Init("a.db", "alice");
  std::string id = Create("a.db", "counter");
  std::string upper = id;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_TRUE(Succeeded(At("a.db", {"object", "show", upper})));
  EXPECT_TRUE(Succeeded(At("a.db", {"object", "show", upper.substr(0, 8)})));
}

// `object log` with a full 64-hex id that names no object exits 0 and prints nothing (or
// `[]` with --json); `object show` of the same id says "no object ...".
TEST_F(CliRegressionTest, LogOfAnAbsentFullIdIsAnError) {
  Init("a.db", "alice");
  EXPECT_TRUE(FailedCleanly(At("a.db", {"object", "log", std::string(64, '0')}), 1, "no object"));
}

// `bundle export FILE --object ID` with a full id that names no object fails, but only after
// opening FILE for writing: an existing bundle at FILE is replaced by a 9-byte stub.
TEST_F(CliRegressionTest, FailedExportLeavesAnExistingFileAlone) {
  Init("a.db", "alice");
  Create("a.db", "counter");
  Export("a.db", "keep.bndl");
  const std::string kept = ReadFile(Path("keep.bndl"));
  EXPECT_TRUE(
      FailedCleanly(At("a.db", {"bundle", "export", "keep.bndl", "--object", std::string(64, '0')}),
                    1, "no object"));
  EXPECT_EQ(ReadFile(Path("keep.bndl")), kept);
}

}  // namespace
}  // namespace topo::cli_test
