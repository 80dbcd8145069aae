// CLI integration tests of errors: each must be one line on stderr, a non-zero exit, no
// trace of a crash, and leave the database (and the directory) as it was. Also the key
// file's protections: its permissions and its passphrase.
#include <map>

#include "cli/cli_fixture.h"
#include "object/replica.h"

namespace topo::cli_test {
namespace {

const char kNoDbError[] = "no database: pass --db PATH or set TOPO_DB";

// ---------------------------------------------------------------------------------------
// Errors: one line on stderr, non-zero exit, and the database as it was.

class CliErrorTest : public CliTest {
 protected:
  void SetUp() override {
    Init("a.db", "alice");
    doc_ = Create("a.db", "doc");
    Update("a.db", doc_, "title", {"set", "t"});
    Update("a.db", doc_, "tags", {"add", "x"});
    Update("a.db", doc_, "props", {"put", "k", "v"});
    Update("a.db", doc_, "nested", {"at", "a", "at", "b", "add", "x"});
    counter_ = Create("a.db", "counter");
    Update("a.db", counter_, "", {"add", "2"});
    set_ = Create("a.db", "set");
    Update("a.db", set_, "", {"add", "x"});
    list_ = Create("a.db", "list");
    Update("a.db", list_, "", {"append", "abc"});
    map_ = Create("a.db", "map");
    ids_ = {doc_, counter_, set_, list_, map_};
    before_ = Snapshot("a.db");
    files_before_ = FilesIn(dir_.path());
  }

  void ExpectUnchanged() {
    EXPECT_EQ(Snapshot("a.db"), before_);
    EXPECT_EQ(FilesIn(dir_.path()), files_before_);
  }

  // Runs `topo --db a.db ARGS...`, expects a clean one-line refusal and no change.
  void ExpectRefused(const Words& args, const std::string& needle, int exit_code = 1) {
    EXPECT_TRUE(FailedCleanly(At("a.db", args), exit_code, needle));
    Words json_args{"--json"};
    json_args.insert(json_args.end(), args.begin(), args.end());
    EXPECT_TRUE(FailedCleanly(At("a.db", json_args), exit_code, needle)) << "with --json";
    ExpectUnchanged();
  }

  std::string doc_, counter_, set_, list_, map_, before_;
  std::vector<std::string> ids_;
  std::set<std::string> files_before_;
};

TEST_F(CliErrorTest, MissingDbForEveryCommand) {
  const std::vector<Words> commands = {{"init"},
                                       {"identity"},
                                       {"object", "create", "--type", "counter"},
                                       {"object", "update", counter_, "inc"},
                                       {"object", "show", counter_},
                                       {"object", "log", counter_},
                                       {"object", "list"},
                                       {"bundle", "export", "x.bndl"},
                                       {"bundle", "import", "x.bndl"}};
  for (const auto& command : commands) {
    EXPECT_TRUE(FailedCleanly(Topo(command), 1, kNoDbError));
    Words with_json{"--json"};
    with_json.insert(with_json.end(), command.begin(), command.end());
    EXPECT_TRUE(FailedCleanly(Topo(with_json), 1, kNoDbError));
  }
  EXPECT_TRUE(FailedCleanly(Topo({"object", "list"}, {"TOPO_DB="}), 1, kNoDbError));
  ExpectUnchanged();
}

TEST_F(CliErrorTest, UnknownType) {
  ExpectRefused({"object", "create", "--type", "spreadsheet"},
                "unknown object type \"spreadsheet\" (known: counter, register, mvregister, "
                "set, map, list, doc)");
  ExpectRefused({"object", "create", "--type", ""}, "unknown object type");
  ExpectRefused({"object", "create", "--type", "Counter"}, "unknown object type");
}

TEST_F(CliErrorTest, UnknownOrMissingField) {
  ExpectRefused({"object", "update", doc_, "--field", "body", "set", "x"},
                "a doc has no field \"body\" (fields: title, count, status, tags, props, votes, "
                "nested, text)");
  ExpectRefused({"object", "update", counter_, "--field", "count", "inc"},
                "a counter has no field \"count\"");
  ExpectRefused({"object", "update", doc_, "set", "x"}, "a doc has several fields: pass --field");
}

TEST_F(CliErrorTest, UnknownOpForEveryKind) {
  ExpectRefused({"object", "update", counter_, "set", "1"},
                "unknown operation \"set\" (a counter takes: add N | inc | dec)");
  ExpectRefused({"object", "update", doc_, "--field", "title", "add", "x"},
                "unknown operation \"add\"");
  ExpectRefused({"object", "update", doc_, "--field", "status", "put", "x"},
                "unknown operation \"put\"");
  ExpectRefused({"object", "update", set_, "put", "x"},
                "unknown operation \"put\" (a set takes: add ELEMENT | remove ELEMENT)");
  ExpectRefused({"object", "update", map_, "frob", "k", "v"}, "unknown operation \"frob\"");
  ExpectRefused({"object", "update", list_, "push", "x"}, "unknown operation \"push\"");
  // The op of a map's value is checked against the value's kind.
  ExpectRefused({"object", "update", doc_, "--field", "votes", "put", "alice", "1"},
                "unknown operation \"set\" (a counter takes");
  ExpectRefused({"object", "update", doc_, "--field", "nested", "at", "a", "add", "x"},
                "unknown operation \"add\"");
  ExpectRefused({"object", "update", doc_, "--field", "nested", "at", "a"},
                "\"at\" needs a key and more");
}

TEST_F(CliErrorTest, WrongNumberOfArguments) {
  ExpectRefused({"object", "update", counter_, "inc", "2"}, "\"inc\" takes 0 argument(s)");
  ExpectRefused({"object", "update", counter_, "add"}, "\"add\" takes 1 argument(s)");
  ExpectRefused({"object", "update", set_, "add", "a", "b"}, "\"add\" takes 1 argument(s)");
  ExpectRefused({"object", "update", map_, "put", "k"}, "\"put\" needs a key and more");
  ExpectRefused({"object", "update", map_, "put", "k", "v", "w"}, "\"put\" takes 2 argument(s)");
  ExpectRefused({"object", "update", list_, "delete", "0", "1", "2"},
                "\"delete\" takes INDEX [COUNT]");
}

TEST_F(CliErrorTest, BadIntegers) {
  ExpectRefused({"object", "update", counter_, "add", "abc"}, "amount \"abc\" is not an integer");
  ExpectRefused({"object", "update", counter_, "add", "1.5"}, "amount \"1.5\" is not an integer");
  ExpectRefused({"object", "update", counter_, "add", "5x"}, "is not an integer");
  ExpectRefused({"object", "update", counter_, "add", "99999999999999999999"}, "is not an integer");
  ExpectRefused({"object", "update", list_, "insert", "one", "x"},
                "index \"one\" is not an integer");
  ExpectRefused({"object", "update", list_, "delete", "-1"}, "index must not be negative");
  ExpectRefused({"object", "update", list_, "delete", "0", "x"}, "count \"x\" is not an integer");
}

TEST_F(CliErrorTest, ObjectIdNotFound) {
  std::string absent(64, '0');
  ExpectRefused({"object", "show", absent}, "no object 0000");
  ExpectRefused({"object", "update", absent, "inc"}, "no object 0000");
  ExpectRefused({"object", "update", absent, "--field", "title", "set", "x"}, "no object 0000");
  // (`object log` and `bundle export --object` with an absent full id: CliRegressionTest.)
  // A prefix that matches none of the five objects.
  std::string other;
  for (char c : std::string("0123456789abcdef")) {
    other = std::string(6, c);
    if (std::none_of(ids_.begin(), ids_.end(), [&](auto& id) { return id.rfind(other, 0) == 0; }))
      break;
  }
  ExpectRefused({"object", "show", other}, "no object " + other);
  ExpectRefused({"object", "update", other, "inc"}, "no object " + other);
  ExpectRefused({"object", "log", other}, "no object " + other);
  ExpectRefused({"bundle", "export", "x.bndl", "--object", other}, "no object " + other);
}

TEST_F(CliErrorTest, InvalidOrShortIds) {
  for (const std::string bad : {"abc", "a", "zzzz", "12 34", "xyz123", "-", "0x1234"}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(FailedCleanly(At("a.db", {"object", "show", "--", bad}), 1, "is not an object id"));
  }
  ExpectRefused({"object", "show", "abc"}, "\"abc\" is not an object id");
  ExpectRefused({"object", "update", "zzzz", "inc"}, "\"zzzz\" is not an object id");
  ExpectRefused({"object", "log", "12"}, "\"12\" is not an object id");
  ExpectRefused({"bundle", "export", "x.bndl", "--object", "q"}, "\"q\" is not an object id");
}

TEST_F(CliErrorTest, AmbiguousPrefix) {
  // Object ids are random: make objects in-process until two share their first 4 hex digits
  // (a birthday search over 65536 prefixes: a few hundred objects).
  std::string a, b;
  {
    auto identity = store::LoadIdentity(store::KeyFilePath(Path("a.db")), std::nullopt);
    ASSERT_TRUE(identity.ok()) << identity.status().message();
    auto replica = object::Replica::Open(Path("a.db"), std::move(identity->device));
    ASSERT_TRUE(replica.ok()) << replica.status().message();
    std::map<std::string, std::string> by_prefix;
    for (const auto& id : ids_) by_prefix[id.substr(0, 4)] = id;
    for (int i = 0; i < 20000 && a.empty(); ++i) {
      auto made = (*replica)->CreateObject("counter");
      ASSERT_TRUE(made.ok()) << made.status().message();
      std::string hex = HexEncode(made->view());
      auto [it, fresh] = by_prefix.emplace(hex.substr(0, 4), hex);
      if (!fresh) {
        a = it->second;
        b = hex;
      }
    }
  }
  ASSERT_FALSE(a.empty());
  size_t common = 0;
  while (a[common] == b[common]) ++common;
  before_ = Snapshot("a.db");
  std::string prefix = a.substr(0, 4);
  ExpectRefused({"object", "show", prefix}, "object id prefix \"" + prefix + "\" is ambiguous");
  ExpectRefused({"object", "update", prefix, "inc"}, "is ambiguous");
  ExpectRefused({"object", "log", prefix}, "is ambiguous");
  ExpectRefused({"bundle", "export", "x.bndl", "--object", prefix}, "is ambiguous");
  // One more digit tells them apart.
  EXPECT_EQ(Json("a.db", {"object", "show", a.substr(0, common + 1)})["object"], a);
  EXPECT_EQ(Json("a.db", {"object", "show", b.substr(0, common + 1)})["object"], b);
}

TEST_F(CliErrorTest, RemovingWhatIsNotThere) {
  ExpectRefused({"object", "update", set_, "remove", "nope"}, "element is not in the set");
  ExpectRefused({"object", "update", doc_, "--field", "tags", "remove", "nope"},
                "element is not in the set");
  ExpectRefused({"object", "update", map_, "remove", "nokey"}, "no key \"nokey\" in the map");
  ExpectRefused(
      {"object", "update", doc_, "--field", "nested", "at", "a", "at", "b", "remove", "nope"},
      "element is not in the set");
}

TEST_F(CliErrorTest, ListIndexOutOfRange) {
  ExpectRefused({"object", "update", list_, "delete", "3"},
                "list delete of [3, 4) is past the end (size 3)");
  ExpectRefused({"object", "update", list_, "delete", "1", "5"}, "past the end (size 3)");
  ExpectRefused({"object", "update", list_, "insert", "4", "x"},
                "list insert at 4 is past the end (size 3)");
  ExpectRefused({"object", "update", list_, "delete", "0", "0"}, "list delete of no elements");
  ExpectRefused({"object", "update", list_, "append", ""}, "nothing to insert");
  ExpectRefused({"object", "update", list_, "append", "\xff\xfe"}, "text is not valid UTF-8");
}

TEST_F(CliErrorTest, ImportMissingFile) {
  ExpectRefused({"bundle", "import", "nowhere.bndl"},
                "cannot open bundle nowhere.bndl: No such file or directory");
  ExpectRefused({"bundle", "import", "."}, "");
}

TEST_F(CliErrorTest, ImportOfACorruptedBundleAppliesNothing) {
  // Another replica's bundle (new objects, so an import would change a.db).
  Init("b.db", "bob");
  std::string doc = Create("b.db", "doc");
  for (int i = 0; i < 8; ++i) Update("b.db", doc, "count", {"inc"});
  Update("b.db", doc, "text", {"append", "some text to make the bundle longer"});
  Export("b.db", "good.bndl");
  WriteFile(Path("bad.bndl"), "");
  files_before_ = FilesIn(dir_.path());
  const std::string good = ReadFile(Path("good.bndl"));
  ASSERT_GT(good.size(), 1000u);

  // A byte flipped anywhere: the middle, the header, a length, the digest.
  std::vector<size_t> positions = {good.size() / 2, 0, 8, 9, 10, good.size() - 33, good.size() - 1};
  for (size_t k = 1; k < 16; ++k) positions.push_back(good.size() * k / 16);
  for (size_t pos : positions) {
    SCOPED_TRACE("byte " + std::to_string(pos) + " of " + std::to_string(good.size()));
    std::string bad = good;
    bad[pos] = static_cast<char>(bad[pos] ^ 0xff);
    WriteFile(Path("bad.bndl"), bad);
    TopoResult r = At("a.db", {"bundle", "import", "bad.bndl"});
    EXPECT_TRUE(FailedCleanly(r, 1, ""));
    if (pos == good.size() / 2) {
      EXPECT_NE(r.err.find("bundle digest does not match: the file is damaged"), std::string::npos)
          << r.err;
    }
    EXPECT_EQ(Snapshot("a.db"), before_);
  }
  // Cut short anywhere, or with bytes after its end.
  for (size_t len : {size_t{0}, size_t{4}, size_t{9}, size_t{10}, good.size() / 3, good.size() / 2,
                     good.size() - 32, good.size() - 1}) {
    SCOPED_TRACE("truncated to " + std::to_string(len));
    WriteFile(Path("bad.bndl"), good.substr(0, len));
    EXPECT_TRUE(FailedCleanly(At("a.db", {"bundle", "import", "bad.bndl"}), 1, "bundle"));
    EXPECT_EQ(Snapshot("a.db"), before_);
  }
  WriteFile(Path("bad.bndl"), good.substr(0, good.size() / 2));
  ExpectRefused({"bundle", "import", "bad.bndl"}, "bundle is truncated");
  WriteFile(Path("bad.bndl"), good + "x");
  ExpectRefused({"bundle", "import", "bad.bndl"}, "bundle has trailing bytes");
  WriteFile(Path("bad.bndl"), "not a bundle at all");
  ExpectRefused({"bundle", "import", "bad.bndl"}, "bad.bndl is not a topo bundle");

  // The intact file still imports, whole.
  EXPECT_EQ(Report("a.db", "good.bndl")["applied"], 10);
  EXPECT_EQ(State("a.db", doc)["count"], 8);
}

TEST_F(CliErrorTest, ExportToAnUnwritablePath) {
  ExpectRefused({"bundle", "export", "no-such-dir/x.bndl"},
                "cannot create bundle no-such-dir/x.bndl: No such file or directory");
  fs::create_directory(Path("adir"));
  files_before_ = FilesIn(dir_.path());
  ExpectRefused({"bundle", "export", "adir"}, "cannot create bundle adir");
  ExpectRefused({"bundle", "export", "a.db.keys/x.bndl"},
                "cannot create bundle a.db.keys/x.bndl: Not a directory");
  // A full disk.
  ExpectRefused({"bundle", "export", "/dev/full"}, "No space left on device");
  EXPECT_TRUE(fs::is_empty(Path("adir")));
}

TEST_F(CliErrorTest, KeyFileReadableByOthersIsRefused) {
  const std::string keys = Path("a.db.keys");
  StopDaemon("a.db");
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    ASSERT_EQ(::chmod(keys.c_str(), mode), 0);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", mode);
    std::string message = "key file a.db.keys has mode " + std::string(octal) +
                          "; it must be 0600 (chmod 600 a.db.keys)";
    for (const Words& command : std::vector<Words>{{"identity"},
                                                   {"init"},
                                                   {"object", "list"},
                                                   {"object", "show", counter_},
                                                   {"object", "update", counter_, "inc"},
                                                   {"object", "create", "--type", "set"},
                                                   {"bundle", "export", "x.bndl"},
                                                   {"bundle", "import", "x.bndl"}}) {
      EXPECT_TRUE(FailedCleanly(At("a.db", command), 1, message));
    }
    EXPECT_EQ(FileMode(keys), mode) << "the CLI must not change the mode itself";
  }
  ASSERT_EQ(::chmod(keys.c_str(), 0600), 0);
  ExpectUnchanged();
  ASSERT_EQ(::chmod(keys.c_str(), 0400), 0);  // stricter is fine
  EXPECT_TRUE(Succeeded(At("a.db", {"object", "list"})));
}

TEST_F(CliErrorTest, ValuesThatLookLikeOptionsNeedADoubleDash) {
  // CLI11 reads "-x" as an option: a usage error that changes nothing; after "--" it is a
  // value. (Negative numbers pass as values.)
  ExpectRefused({"object", "update", doc_, "--field", "title", "set", "-x"}, "-x", 2);
  Update("a.db", doc_, "title", {"--", "set", "-x"});
  EXPECT_EQ(State("a.db", doc_)["title"], "-x");
}

// ---------------------------------------------------------------------------------------
// Passphrase-encrypted key files

class CliPassphraseTest : public CliTest {
 protected:
  void SetUp() override {
    WriteFile(Path("pass"), "correct horse\n");
    WriteFile(Path("wrong"), "wrong horse\n");
  }
  const Words kEnv{"TOPO_PASSPHRASE=correct horse"};
};

TEST_F(CliPassphraseTest, InitWithPassphraseFileEncryptsTheKeyFile) {
  json made = Json("e.db", {"--passphrase-file", "pass", "init", "--device-name", "alice"});
  EXPECT_EQ(made["encrypted"], true);
  const std::string keys = ReadFile(Path("e.db.keys"));
  ASSERT_GT(keys.size(), 9u);
  EXPECT_EQ(keys.substr(0, 8), "TOPOKEY1");
  EXPECT_EQ(keys[8], 1) << "mode byte: passphrase-encrypted";
  EXPECT_EQ(keys.find("alice"), std::string::npos) << "the device name is inside the ciphertext";
  EXPECT_EQ(FileMode(Path("e.db.keys")), 0600u);
  TopoResult text = At("e.db", {"--passphrase-file", "pass", "identity"});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_NE(text.out.find("e.db.keys (passphrase-encrypted)"), std::string::npos) << text.out;

  // The running daemon unlocked the key file when it started: it serves without the
  // passphrase (the socket is the owner's alone).
  EXPECT_TRUE(Succeeded(At("e.db", {"identity"})));
  // A daemon starting without the passphrase is refused, clearly.
  for (const Words& command :
       std::vector<Words>{{"identity"}, {"object", "list"}, {"object", "create", "--type", "set"}}) {
    StopDaemon("e.db");
    EXPECT_TRUE(FailedCleanly(At("e.db", command), 1, "key file e.db.keys is encrypted"));
  }
  // With it, from a file (its trailing newline is not part of it) or from the environment.
  EXPECT_EQ(Json("e.db", {"--passphrase-file", "pass", "identity"})["device_key"],
            made["device_key"]);
  EXPECT_EQ(Json("e.db", {"identity"}, kEnv)["device_key"], made["device_key"]);
  std::string id = Create("e.db", "counter", kEnv);
  Update("e.db", id, "", {"add", "3"}, kEnv);
  EXPECT_TRUE(Succeeded(At("e.db", {"--passphrase-file", "pass", "object", "update", id, "inc"})));
  EXPECT_EQ(State("e.db", id, kEnv)["value"], 4);
}

TEST_F(CliPassphraseTest, WrongMissingOrEmptyPassphraseChangesNothing) {
  Json("e.db", {"--passphrase-file", "pass", "init"});
  std::string id = Create("e.db", "counter", kEnv);
  const std::string before = Snapshot("e.db", kEnv);
  StopDaemon("e.db");
  EXPECT_TRUE(FailedCleanly(At("e.db", {"object", "update", id, "inc"}), 1, "is encrypted"));
  EXPECT_TRUE(
      FailedCleanly(At("e.db", {"--passphrase-file", "wrong", "object", "update", id, "inc"}), 1,
                    "wrong passphrase or corrupted key file e.db.keys"));
  EXPECT_TRUE(FailedCleanly(At("e.db", {"object", "update", id, "inc"}, {"TOPO_PASSPHRASE=nope"}),
                            1, "wrong passphrase"));
  EXPECT_TRUE(FailedCleanly(At("e.db", {"--passphrase-file", "missing", "object", "list"}), 1,
                            "cannot read passphrase file missing"));
  EXPECT_EQ(Snapshot("e.db", kEnv), before);

  // An empty passphrase cannot make a key file.
  WriteFile(Path("empty"), "");
  EXPECT_TRUE(FailedCleanly(At("f.db", {"--passphrase-file", "empty", "init"}), 1,
                            "a passphrase must not be empty"));
  EXPECT_FALSE(fs::exists(Path("f.db")));
  EXPECT_FALSE(fs::exists(Path("f.db.keys")));
}

TEST_F(CliPassphraseTest, PassphraseForAPlaintextKeyFileIsRefused) {
  Init("p.db", "plain");
  const std::string before = Snapshot("p.db");
  StopDaemon("p.db");
  EXPECT_TRUE(FailedCleanly(At("p.db", {"--passphrase-file", "pass", "object", "list"}), 1,
                            "key file p.db.keys is not encrypted"));
  StopDaemon("p.db");
  EXPECT_TRUE(FailedCleanly(At("p.db", {"object", "list"}, kEnv), 1, "is not encrypted"));
  EXPECT_EQ(Snapshot("p.db"), before);
}

}  // namespace
}  // namespace topo::cli_test
