// CLI integration tests of offline exchange: bundle export and import, and two replicas
// (alice and bob) that edit the same objects concurrently and converge through bundles.
#include <map>

#include "cli/cli_fixture.h"
#include "codec/bundle.h"

namespace topo::cli_test {
namespace {

// ---------------------------------------------------------------------------------------
// bundle export / import

class CliBundleTest : public CliTest {
 protected:
  void SetUp() override {
    Init("a.db", "alice");
    Init("b.db", "bob");
    doc_ = Create("a.db", "doc");
    Update("a.db", doc_, "title", {"set", "t"});
    Update("a.db", doc_, "text", {"append", "hello"});
    counter_ = Create("a.db", "counter");
    Update("a.db", counter_, "", {"add", "7"});
  }
  std::string doc_, counter_;  // 3 and 2 vertices
};

TEST_F(CliBundleTest, ExportEverythingAndImportReportsAppliedThenDuplicates) {
  TopoResult text = At("a.db", {"bundle", "export", "all.bndl"});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_EQ(text.out, "wrote 5 vertices to all.bndl\n");
  EXPECT_EQ(Json("a.db", {"bundle", "export", "all2.bndl"}),
            json({{"file", "all2.bndl"}, {"vertices", 5}}));
  EXPECT_EQ(ReadFile(Path("all.bndl")), ReadFile(Path("all2.bndl")));

  json first = Report("b.db", "all.bndl");
  EXPECT_EQ(first["applied"], 5);
  EXPECT_EQ(first["duplicate"], 0);
  for (const char* k : {"blocked", "rejected", "invalid", "cascaded"}) EXPECT_EQ(first[k], 0) << k;
  EXPECT_EQ(first["problems"], json::array());
  json again = Report("b.db", "all.bndl");
  EXPECT_EQ(again["applied"], 0);
  EXPECT_EQ(again["duplicate"], 5);
  TopoResult again_text = At("b.db", {"bundle", "import", "all.bndl"});
  ASSERT_TRUE(Succeeded(again_text));
  EXPECT_EQ(again_text.out,
            "0 applied, 5 already here, 0 waiting for parents, 0 rejected, 0 invalid\n");

  EXPECT_EQ(Json("b.db", {"object", "list"}), Json("a.db", {"object", "list"}));
  for (const auto& id : {doc_, counter_}) {
    EXPECT_EQ(AtJson("b.db", {"object", "show", id}).out,
              AtJson("a.db", {"object", "show", id}).out);
    EXPECT_EQ(AtJson("b.db", {"object", "log", id}).out, AtJson("a.db", {"object", "log", id}).out);
  }
  EXPECT_EQ(VertexCount(Path("b.db")), 5);
}

TEST_F(CliBundleTest, ExportOneObject) {
  json j = Json("a.db", {"bundle", "export", "doc.bndl", "--object", doc_.substr(0, 6)});
  EXPECT_EQ(j["vertices"], 3);
  TopoResult text = At("a.db", {"bundle", "export", "counter.bndl", "--object", counter_});
  ASSERT_TRUE(Succeeded(text));
  EXPECT_EQ(text.out, "wrote 2 vertices to counter.bndl\n");

  EXPECT_EQ(Report("b.db", "doc.bndl")["applied"], 3);
  json list = Json("b.db", {"object", "list"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["object"], doc_);
  EXPECT_EQ(State("b.db", doc_), State("a.db", doc_));
  TopoResult absent = At("b.db", {"object", "show", counter_});
  EXPECT_TRUE(FailedCleanly(absent, 1, "no object"));

  EXPECT_EQ(Report("b.db", "counter.bndl")["applied"], 2);
  EXPECT_EQ(State("b.db", counter_)["value"], 7);
}

TEST_F(CliBundleTest, LaterEditsTravelInALaterBundle) {
  Export("a.db", "one.bndl");
  EXPECT_EQ(Report("b.db", "one.bndl")["applied"], 5);
  Update("a.db", counter_, "", {"inc"});
  Update("a.db", doc_, "text", {"insert", "5", "!"});
  Export("a.db", "two.bndl");
  json r = Report("b.db", "two.bndl");
  EXPECT_EQ(r["applied"], 2);
  EXPECT_EQ(r["duplicate"], 5);
  EXPECT_EQ(State("b.db", counter_)["value"], 8);
  EXPECT_EQ(ListText(State("b.db", doc_)["text"]), "hello!");
}

TEST_F(CliBundleTest, ForgedVertexInAnIntactBundleIsNotApplied) {
  // A bundle whose frame and digest are fine but whose second counter vertex carries a
  // bad signature (its last byte flipped): that vertex is refused, its descendant waits.
  Update("a.db", counter_, "", {"add", "100"});
  Export("a.db", "good.bndl");
  std::vector<Bytes> raws;
  ASSERT_TRUE(codec::ReadBundle(Path("good.bndl"), [&](Bytes raw) {
                raws.push_back(std::move(raw));
                return Status::Ok();
              }).ok());
  ASSERT_EQ(raws.size(), 6u);
  size_t forged = raws.size();
  for (size_t i = 0; i < raws.size(); ++i) {
    auto v = codec::DecodeVertex(raws[i]);
    ASSERT_TRUE(v.ok());
    if (v->object() == HexDecodeFixed<32>(counter_).value() && v->depth == 1) forged = i;
  }
  ASSERT_LT(forged, raws.size());
  raws[forged].back() ^= 0x01;
  {
    codec::BundleWriter w(Path("forged.bndl"));
    ASSERT_TRUE(w.status().ok());
    for (const auto& raw : raws) ASSERT_TRUE(w.Add(raw).ok());
    ASSERT_TRUE(w.Finish().ok());
  }
  json r = Report("b.db", "forged.bndl");
  EXPECT_EQ(r["applied"], 4);  // the doc (3) and the counter's genesis
  EXPECT_EQ(r["invalid"], 1);
  EXPECT_EQ(r["blocked"], 1);  // "add 100" waits for its parent
  EXPECT_FALSE(r["problems"].empty());
  EXPECT_EQ(State("b.db", counter_)["value"], 0);
  // The genuine bundle then fills the gap and releases the waiting vertex.
  json fix = Report("b.db", "good.bndl");
  EXPECT_EQ(fix["invalid"], 0);
  EXPECT_EQ(State("b.db", counter_)["value"], 107);
  EXPECT_EQ(AtJson("b.db", {"object", "show", counter_}).out,
            AtJson("a.db", {"object", "show", counter_}).out);
}

// ---------------------------------------------------------------------------------------
// Two replicas edit the same objects offline and converge through bundles.

class CliConvergenceTest : public CliTest {};

TEST_F(CliConvergenceTest, AliceAndBobConvergeAfterConcurrentEdits) {
  Init("alice.db", "alice");
  Init("bob.db", "bob");
  std::map<std::string, std::string> id;
  for (const auto& type : kTypes) id[type] = Create("alice.db", type);
  Update("alice.db", id["counter"], "", {"add", "5"});
  Update("alice.db", id["set"], "", {"add", "red"});
  Update("alice.db", id["set"], "", {"add", "blue"});
  Update("alice.db", id["register"], "", {"set", "first"});
  Update("alice.db", id["mvregister"], "", {"set", "first"});
  Update("alice.db", id["map"], "", {"put", "k", "v"});
  Update("alice.db", id["list"], "", {"append", "hello"});
  Update("alice.db", id["doc"], "tags", {"add", "x"});
  Update("alice.db", id["doc"], "text", {"append", "ab"});
  const int shared = 7 + 9;
  Export("alice.db", "alice1.bndl");
  EXPECT_EQ(Report("bob.db", "alice1.bndl")["applied"], shared);

  // Offline and concurrent.
  Update("alice.db", id["counter"], "", {"add", "3"});
  Update("bob.db", id["counter"], "", {"add", "4"});
  Update("bob.db", id["counter"], "", {"dec"});
  Update("alice.db", id["set"], "", {"remove", "red"});
  Update("bob.db", id["set"], "", {"add", "red"});  // add wins over the concurrent remove
  Update("bob.db", id["set"], "", {"remove", "blue"});
  Update("alice.db", id["set"], "", {"add", "green"});
  Update("alice.db", id["register"], "", {"set", "alice"});
  Update("bob.db", id["register"], "", {"set", "bob"});
  Update("alice.db", id["mvregister"], "", {"set", "alice"});
  Update("bob.db", id["mvregister"], "", {"set", "bob"});
  Update("alice.db", id["map"], "", {"put", "a", "1"});
  Update("bob.db", id["map"], "", {"put", "b", "2"});
  Update("alice.db", id["list"], "", {"insert", "5", " world"});
  Update("bob.db", id["list"], "", {"insert", "5", " there"});
  Update("alice.db", id["doc"], "title", {"set", "by alice"});
  Update("bob.db", id["doc"], "title", {"set", "by bob"});
  Update("alice.db", id["doc"], "tags", {"remove", "x"});
  Update("bob.db", id["doc"], "tags", {"add", "y"});
  Update("alice.db", id["doc"], "votes", {"at", "alice", "inc"});
  Update("bob.db", id["doc"], "votes", {"at", "bob", "add", "2"});
  Update("alice.db", id["doc"], "nested", {"at", "a", "at", "b", "add", "x"});
  Update("bob.db", id["doc"], "nested", {"at", "a", "at", "b", "add", "y"});
  Update("alice.db", id["doc"], "text", {"insert", "1", "A"});
  Update("bob.db", id["doc"], "text", {"insert", "1", "B"});
  const int alice_new = 12, bob_new = 13;

  Export("alice.db", "alice2.bndl");
  Export("bob.db", "bob2.bndl");
  json at_alice = Report("alice.db", "bob2.bndl");
  EXPECT_EQ(at_alice["applied"], bob_new);
  EXPECT_EQ(at_alice["duplicate"], shared);
  json at_bob = Report("bob.db", "alice2.bndl");
  EXPECT_EQ(at_bob["applied"], alice_new);
  EXPECT_EQ(at_bob["duplicate"], shared);

  for (const auto& type : kTypes) {
    SCOPED_TRACE(type);
    TopoResult a = AtJson("alice.db", {"object", "show", id[type]});
    TopoResult b = AtJson("bob.db", {"object", "show", id[type]});
    EXPECT_TRUE(Succeeded(a));
    EXPECT_EQ(a.out, b.out);
    json log = Log("alice.db", id[type]);
    ExpectLinearOrder(log);
    EXPECT_EQ(log, Log("bob.db", id[type]));
  }
  EXPECT_EQ(Json("alice.db", {"object", "list"}), Json("bob.db", {"object", "list"}));
  EXPECT_EQ(VertexCount(Path("alice.db")), shared + alice_new + bob_new);
  EXPECT_EQ(VertexCount(Path("bob.db")), shared + alice_new + bob_new);

  // What converged is what each CRDT promises.
  EXPECT_EQ(State("bob.db", id["counter"])["value"], 5 + 3 + 4 - 1);
  json set = State("bob.db", id["set"])["value"];
  EXPECT_EQ(std::set<std::string>(set.begin(), set.end()), (std::set<std::string>{"red", "green"}));
  json reg = State("bob.db", id["register"])["value"];
  EXPECT_TRUE(reg == "alice" || reg == "bob") << reg;
  json mv = State("bob.db", id["mvregister"])["value"];
  EXPECT_EQ(std::set<std::string>(mv.begin(), mv.end()), (std::set<std::string>{"alice", "bob"}));
  EXPECT_EQ(State("bob.db", id["map"])["value"], json({{"k", "v"}, {"a", "1"}, {"b", "2"}}));
  std::string text = ListText(State("bob.db", id["list"])["value"]);
  EXPECT_TRUE(text == "hello world there" || text == "hello there world") << text;
  json doc = State("bob.db", id["doc"]);
  EXPECT_TRUE(doc["title"] == "by alice" || doc["title"] == "by bob") << doc;
  EXPECT_EQ(doc["tags"], json::array({"y"}));
  EXPECT_EQ(doc["votes"], json({{"alice", 1}, {"bob", 2}}));
  EXPECT_EQ(doc["nested"], json({{"a", {{"b", {"x", "y"}}}}}));
  std::string doc_text = ListText(doc["text"]);
  EXPECT_TRUE(doc_text == "aABb" || doc_text == "aBAb") << doc_text;

  // A second exchange brings nothing new.
  Export("alice.db", "alice3.bndl");
  EXPECT_EQ(Report("bob.db", "alice3.bndl")["applied"], 0);
}

}  // namespace
}  // namespace topo::cli_test
