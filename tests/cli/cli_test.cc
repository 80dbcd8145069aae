// Integration tests of the `topo` command-line interface, run as the real binary of this
// build in a fresh directory per test: help, init and identity, and every object command
// (create, update, show, log, list) with and without --json. Bundles and convergence are in
// cli_bundle_test.cc, errors in cli_error_test.cc.
#include <map>

#include "cli/cli_fixture.h"

namespace topo::cli_test {
namespace {

// ---------------------------------------------------------------------------------------
// Help

class CliHelpTest : public CliTest {};

TEST_F(CliHelpTest, TopLevelAndEverySubcommandPrintUsageAndExitZero) {
  const std::vector<Words> commands = {{},
                                       {"init"},
                                       {"identity"},
                                       {"object"},
                                       {"object", "create"},
                                       {"object", "update"},
                                       {"object", "show"},
                                       {"object", "log"},
                                       {"object", "list"},
                                       {"bundle"},
                                       {"bundle", "export"},
                                       {"bundle", "import"}};
  for (const auto& command : commands) {
    Words args = command;
    args.push_back("--help");
    TopoResult r = Topo(args);
    EXPECT_TRUE(Succeeded(r));
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << Describe(r);
  }
  TopoResult all = Topo({"--help-all"});
  EXPECT_TRUE(Succeeded(all));
  for (const char* word : {"init", "identity", "create", "update", "show", "log", "export",
                           "import", "--db", "--json", "--passphrase-file"})
    EXPECT_NE(all.out.find(word), std::string::npos) << word;
  // The update help lists the operation words of every kind.
  TopoResult update = Topo({"object", "update", "--help"});
  for (const char* word : {"add N", "set VALUE", "remove ELEMENT", "at KEY", "insert INDEX"})
    EXPECT_NE(update.out.find(word), std::string::npos) << word;
  EXPECT_TRUE(FilesIn(dir_.path()).empty());
}

TEST_F(CliHelpTest, MissingSubcommandOrArgumentIsAUsageError) {
  EXPECT_TRUE(FailedCleanly(Topo({}), 2, "subcommand is required"));
  EXPECT_TRUE(FailedCleanly(Topo({"object"}), 2, "subcommand is required"));
  EXPECT_TRUE(FailedCleanly(Topo({"bundle"}), 2, "subcommand is required"));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"object", "create"}), 2, "--type is required"));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"object", "show"}), 2, "id is required"));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"object", "update", "abcd"}), 2, "op is required"));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"bundle", "export"}), 2, "file is required"));
  EXPECT_TRUE(FailedCleanly(Topo({"--bogus", "init"}), 2, "--bogus"));
  EXPECT_TRUE(FilesIn(dir_.path()).empty());
}

// ---------------------------------------------------------------------------------------
// init and identity

class CliInitTest : public CliTest {};

TEST_F(CliInitTest, InitCreatesDatabaseAndPrivateKeyFile) {
  TopoResult r = At("a.db", {"init"});
  ASSERT_TRUE(Succeeded(r));
  EXPECT_NE(r.out.find("device  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(device)"), std::string::npos) << "default device name\n" << r.out;
  EXPECT_NE(r.out.find("a.db.keys (not encrypted)"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(Path("a.db")));
  EXPECT_EQ(FileMode(Path("a.db.keys")), 0600u);
  EXPECT_EQ(VertexCount(Path("a.db")), 0);
  EXPECT_EQ(Topo({"--db", "a.db", "object", "list"}).out, "no objects yet\n");
  EXPECT_EQ(Json("a.db", {"object", "list"}), json::array());
}

TEST_F(CliInitTest, InitJsonNamesTheKeysAndTheDevice) {
  json j = Init("a.db", "alice");
  EXPECT_TRUE(IsHexId(j["device_key"])) << j;
  EXPECT_TRUE(IsHexId(j["box_key"])) << j;
  EXPECT_TRUE(IsHexId(j["user_key"])) << j;
  EXPECT_EQ(j["device_name"], "alice");
  EXPECT_EQ(j["encrypted"], false);
  EXPECT_EQ(j["key_file"], "a.db.keys");
  EXPECT_EQ(j["database"], "a.db");
  EXPECT_NE(j["device_key"], j["user_key"]);
}

TEST_F(CliInitTest, IdentityShowsTheKeysInitMade) {
  json made = Init("a.db", "alice");
  json shown = Json("a.db", {"identity"});
  for (const char* k : {"device_key", "box_key", "user_key", "device_name", "key_file"})
    EXPECT_EQ(shown[k], made[k]) << k;
  EXPECT_FALSE(shown.contains("database"));
  TopoResult text = At("a.db", {"identity"});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_NE(text.out.find(made["device_key"].get<std::string>() + "  (alice)"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("user    " + made["user_key"].get<std::string>()), std::string::npos);
  // A second init opens what is there: same keys.
  json again = Init("a.db", "alice");
  EXPECT_EQ(again["device_key"], made["device_key"]);
  // Another database is another device and another user.
  json other = Init("b.db", "bob");
  EXPECT_NE(other["device_key"], made["device_key"]);
  EXPECT_NE(other["user_key"], made["user_key"]);
}

TEST_F(CliInitTest, TopoDbEnvironmentVariableStandsInForDb) {
  TopoResult init = Topo({"--json", "init", "--device-name", "env"}, {"TOPO_DB=e.db"});
  ASSERT_TRUE(Succeeded(init));
  EXPECT_EQ(ParseJson(init)["database"], "e.db");
  EXPECT_TRUE(fs::exists(Path("e.db.keys")));
  TopoResult create = Topo({"object", "create", "--type", "counter"}, {"TOPO_DB=e.db"});
  ASSERT_TRUE(Succeeded(create));
  EXPECT_EQ(Json("e.db", {"object", "list"}).size(), 1u);
}

TEST_F(CliInitTest, BadDeviceNamesAreRefusedAndCreateNothing) {
  EXPECT_TRUE(FailedCleanly(At("a.db", {"init", "--device-name", ""}), 1, "must not be empty"));
  EXPECT_TRUE(FailedCleanly(At("a.db", {"init", "--device-name", std::string(65, 'x')}), 1,
                            "at most 64 bytes"));
  EXPECT_TRUE(FilesIn(dir_.path()).empty());
  EXPECT_EQ(Init("a.db", std::string(64, 'x'))["device_name"], std::string(64, 'x'));
}

// ---------------------------------------------------------------------------------------
// object create / update / show / log / list

class CliObjectTest : public CliTest {
 protected:
  void SetUp() override { Init("a.db", "alice"); }
};

TEST_F(CliObjectTest, CreateEveryTypeAndListThem) {
  const std::map<std::string, json> initial = {{"counter", {{"value", 0}}},
                                               {"register", {{"value", nullptr}}},
                                               {"mvregister", {{"value", json::array()}}},
                                               {"set", {{"value", json::array()}}},
                                               {"map", {{"value", json::object()}}},
                                               {"list", {{"value", json::array()}}},
                                               {"doc",
                                                {{"title", nullptr},
                                                 {"count", 0},
                                                 {"status", json::array()},
                                                 {"tags", json::array()},
                                                 {"props", json::object()},
                                                 {"votes", json::object()},
                                                 {"nested", json::object()},
                                                 {"text", json::array()}}}};
  std::map<std::string, std::string> ids;
  for (const auto& type : kTypes) {
    // Text output: the id alone on a line.
    TopoResult text = At("a.db", {"object", "create", "--type", type});
    ASSERT_TRUE(Succeeded(text));
    ASSERT_EQ(text.out.size(), 65u) << text.out;
    EXPECT_TRUE(IsHexId(text.out.substr(0, 64)));
    EXPECT_EQ(State("a.db", text.out.substr(0, 64)), initial.at(type)) << type;
    // JSON output: {"object": id, "type": type}.
    ids[type] = Create("a.db", type);
    EXPECT_EQ(State("a.db", ids[type]), initial.at(type)) << type;
    EXPECT_EQ(Json("a.db", {"object", "show", ids[type]})["type"], type);
  }
  json list = Json("a.db", {"object", "list"});
  ASSERT_EQ(list.size(), 2 * kTypes.size());
  std::map<std::string, int> per_type;
  for (const auto& o : list) {
    EXPECT_TRUE(IsHexId(o["object"]));
    EXPECT_EQ(o["vertices"], 1);
    EXPECT_EQ(o["heads"], 1);
    ++per_type[o["type"]];
  }
  for (const auto& type : kTypes) EXPECT_EQ(per_type[type], 2) << type;
  TopoResult text = At("a.db", {"object", "list"});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_EQ(std::count(text.out.begin(), text.out.end(), '\n'), 14);
  EXPECT_NE(text.out.find(ids["doc"] + "  doc  1 vertices, 1 head\n"), std::string::npos)
      << text.out;
  EXPECT_EQ(VertexCount(Path("a.db")), 14);
}

TEST_F(CliObjectTest, CounterAddIncDec) {
  std::string id = Create("a.db", "counter");
  json add = Update("a.db", id, "", {"add", "5"});
  EXPECT_EQ(add["op"], json({{"op", "counter.add"}, {"delta", 5}}));
  EXPECT_EQ(Update("a.db", id, "", {"inc"})["op"]["delta"], 1);
  EXPECT_EQ(Update("a.db", id, "", {"dec"})["op"]["delta"], -1);
  EXPECT_EQ(Update("a.db", id, "value", {"add", "-3"})["op"]["delta"], -3);
  EXPECT_EQ(State("a.db", id), json({{"value", 2}}));
  // Text output: the new vertex's id alone.
  TopoResult text = At("a.db", {"object", "update", id, "add", "40"});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_EQ(text.out.size(), 65u) << text.out;
  EXPECT_EQ(State("a.db", id)["value"], 42);
}

TEST_F(CliObjectTest, RegisterSetKeepsTheLastValue) {
  std::string id = Create("a.db", "register");
  EXPECT_EQ(Update("a.db", id, "", {"set", "one"})["op"],
            json({{"op", "lww.set"}, {"value", "one"}}));
  Update("a.db", id, "", {"set", "two words"});
  EXPECT_EQ(State("a.db", id)["value"], "two words");
  Update("a.db", id, "", {"set", ""});
  EXPECT_EQ(State("a.db", id)["value"], "");
}

TEST_F(CliObjectTest, MvRegisterSetSupersedesWhatItSaw) {
  std::string id = Create("a.db", "mvregister");
  json first = Update("a.db", id, "", {"set", "one"});
  EXPECT_EQ(first["op"]["op"], "mv.set");
  EXPECT_EQ(first["op"]["supersedes"], json::array());
  EXPECT_EQ(State("a.db", id)["value"], json::array({"one"}));
  json second = Update("a.db", id, "", {"set", "two"});
  EXPECT_EQ(second["op"]["supersedes"],
            json::array({first["vertex"].get<std::string>().substr(0, 16)}));
  EXPECT_EQ(State("a.db", id)["value"], json::array({"two"}));
}

TEST_F(CliObjectTest, SetAddAndRemove) {
  std::string id = Create("a.db", "set");
  json add = Update("a.db", id, "", {"add", "x"});
  EXPECT_EQ(add["op"], json({{"op", "set.add"}, {"element", "x"}}));
  Update("a.db", id, "", {"add", "y"});
  Update("a.db", id, "", {"add", "z z"});
  json remove = Update("a.db", id, "", {"remove", "x"});
  EXPECT_EQ(remove["op"]["op"], "set.remove");
  EXPECT_EQ(remove["op"]["observed"],
            json::array({add["vertex"].get<std::string>().substr(0, 16)}));
  json value = State("a.db", id)["value"];
  std::set<std::string> elements(value.begin(), value.end());
  EXPECT_EQ(elements, (std::set<std::string>{"y", "z z"}));
}

TEST_F(CliObjectTest, MapPutRemoveAndAt) {
  std::string id = Create("a.db", "map");
  json put = Update("a.db", id, "", {"put", "k1", "v1"});
  EXPECT_EQ(put["op"]["op"], "map.update");
  EXPECT_EQ(put["op"]["key"], "k1");
  EXPECT_EQ(put["op"]["inner"], json({{"op", "lww.set"}, {"value", "v1"}}));
  Update("a.db", id, "", {"put", "k2", "v2"});
  EXPECT_EQ(Update("a.db", id, "", {"remove", "k1"})["op"]["op"], "map.remove");
  Update("a.db", id, "", {"at", "k3", "set", "v3"});
  Update("a.db", id, "", {"put", "k2", "v2b"});
  EXPECT_EQ(State("a.db", id)["value"], json({{"k2", "v2b"}, {"k3", "v3"}}));
}

TEST_F(CliObjectTest, ListInsertAppendDelete) {
  std::string id = Create("a.db", "list");
  json append = Update("a.db", id, "", {"append", "hello"});
  EXPECT_EQ(append["op"], json({{"op", "list.insert"}, {"after", nullptr}, {"values", "hello"}}));
  Update("a.db", id, "", {"insert", "0", ">"});
  Update("a.db", id, "", {"insert", "6", " world"});
  EXPECT_EQ(ListText(State("a.db", id)["value"]), ">hello world");
  json del = Update("a.db", id, "", {"delete", "0"});
  EXPECT_EQ(del["op"]["op"], "list.delete");
  EXPECT_EQ(del["op"]["elems"].size(), 1u);
  EXPECT_EQ(Update("a.db", id, "", {"delete", "5", "6"})["op"]["elems"].size(), 6u);
  EXPECT_EQ(ListText(State("a.db", id)["value"]), "hello");
  // One element per UTF-8 character.
  Update("a.db", id, "", {"append", "\xc3\xa9\xe2\x82\xac"});
  EXPECT_EQ(State("a.db", id)["value"].size(), 7u);
  Update("a.db", id, "", {"delete", "5", "2"});
  EXPECT_EQ(ListText(State("a.db", id)["value"]), "hello");
}

TEST_F(CliObjectTest, DocEveryFieldIncludingNestedMaps) {
  std::string id = Create("a.db", "doc");
  Update("a.db", id, "title", {"set", "Plan"});
  Update("a.db", id, "count", {"add", "3"});
  Update("a.db", id, "count", {"dec"});
  Update("a.db", id, "status", {"set", "draft"});
  Update("a.db", id, "tags", {"add", "red"});
  Update("a.db", id, "tags", {"add", "blue"});
  Update("a.db", id, "tags", {"remove", "red"});
  Update("a.db", id, "props", {"put", "color", "green"});
  Update("a.db", id, "votes", {"at", "alice", "add", "2"});
  Update("a.db", id, "votes", {"at", "bob", "inc"});
  json nested = Update("a.db", id, "nested", {"at", "a", "at", "b", "add", "x"});
  EXPECT_EQ(nested["op"]["inner"]["inner"], json({{"op", "set.add"}, {"element", "x"}}));
  Update("a.db", id, "nested", {"at", "a", "at", "c", "add", "y"});
  Update("a.db", id, "text", {"append", "hi!"});
  Update("a.db", id, "text", {"delete", "2"});
  json expected = {{"title", "Plan"},
                   {"count", 2},
                   {"status", {"draft"}},
                   {"tags", {"blue"}},
                   {"props", {{"color", "green"}}},
                   {"votes", {{"alice", 2}, {"bob", 1}}},
                   {"nested", {{"a", {{"b", {"x"}}, {"c", {"y"}}}}}},
                   {"text", {"h", "i"}}};
  EXPECT_EQ(State("a.db", id), expected);
  // Text show prints the same state, indented.
  TopoResult text = At("a.db", {"object", "show", id.substr(0, 8)});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_EQ(json::parse(text.out), expected);
  EXPECT_NE(text.out.find("\n  \"count\": 2"), std::string::npos) << text.out;
}

TEST_F(CliObjectTest, LogIsInLinearOrderWithOpNames) {
  std::string id = Create("a.db", "doc");
  Update("a.db", id, "title", {"set", "t"});
  Update("a.db", id, "count", {"inc"});
  Update("a.db", id, "status", {"set", "s"});
  Update("a.db", id, "tags", {"add", "x"});
  Update("a.db", id, "tags", {"remove", "x"});
  Update("a.db", id, "props", {"put", "k", "v"});
  Update("a.db", id, "props", {"remove", "k"});
  Update("a.db", id, "text", {"append", "ab"});
  Update("a.db", id, "text", {"delete", "0"});
  json log = Log("a.db", id);
  ExpectLinearOrder(log);
  EXPECT_EQ(OpNames(log), (std::vector<std::string>{"create", "lww.set", "counter.add", "mv.set",
                                                    "set.add", "set.remove", "map.update",
                                                    "map.remove", "list.insert", "list.delete"}));
  EXPECT_EQ(log[0]["op"]["type"], "doc");
  EXPECT_EQ(log[0]["id"], id);
  for (size_t i = 0; i < log.size(); ++i) EXPECT_EQ(log[i]["depth"], i);  // one writer: a chain
  EXPECT_EQ(log[1]["field"], 0);                                          // title
  EXPECT_EQ(log[9]["field"], 7);                                          // text
  EXPECT_EQ(log[1]["author"], Json("a.db", {"identity"})["device_key"]);
  // Text: one line per vertex, "DEPTH  SHORTID  by AUTHOR  OP".
  TopoResult text = At("a.db", {"object", "log", id});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_EQ(std::count(text.out.begin(), text.out.end(), '\n'), 10);
  EXPECT_EQ(text.out.rfind("0  " + id.substr(0, 16) + "  by ", 0), 0u) << text.out;
  EXPECT_NE(text.out.find("\"list.delete\""), std::string::npos);
}

TEST_F(CliObjectTest, ObjectIdsAcceptUniquePrefixes) {
  std::string id = Create("a.db", "counter");
  Create("a.db", "set");
  for (size_t n : {4, 5, 8, 63, 64}) {
    Update("a.db", id, "", {"inc"});
    EXPECT_EQ(Json("a.db", {"object", "show", id.substr(0, n)})["object"], id) << n;
  }
  EXPECT_EQ(State("a.db", id)["value"], 5);
}

}  // namespace
}  // namespace topo::cli_test
