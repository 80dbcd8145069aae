#include "api/jsonrpc.h"

#include <gtest/gtest.h>

namespace topo::api {
namespace {

MethodTable Table() {
  MethodTable t;
  t.Add({"math.add", "Adds", {{"a", "integer"}, {"b", "integer"}}, "the sum", {{"a", 1}, {"b", 2}}},
        [](const json& p) -> Result<json> {
          auto a = UintParam(p, "a", 0);
          auto b = UintParam(p, "b", 0);
          if (!a.ok()) return a.status();
          if (!b.ok()) return b.status();
          return json(*a + *b);
        });
  t.Add({"fail.notfound", "Fails", {}, "nothing", json::object()},
        [](const json&) -> Result<json> { return Status::NotFound("no such thing"); });
  t.Add({"fail.throws", "Throws", {}, "nothing", json::object()},
        [](const json&) -> Result<json> { throw std::runtime_error("boom"); });
  return t;
}

json Reply(MethodTable& t, const std::string& line) {
  auto r = t.HandleLine(line);
  EXPECT_TRUE(r.has_value()) << line;
  return r ? json::parse(*r) : json();
}

TEST(JsonRpc, ACallReturnsItsResultWithTheSameId) {
  auto t = Table();
  json r = Reply(t, R"({"jsonrpc":"2.0","id":7,"method":"math.add","params":{"a":2,"b":3}})");
  EXPECT_EQ(r["jsonrpc"], "2.0");
  EXPECT_EQ(r["id"], 7);
  EXPECT_EQ(r["result"], 5);
  json s = Reply(t, R"({"jsonrpc":"2.0","id":"x","method":"math.add","params":{"a":1}})");
  EXPECT_EQ(s["id"], "x");
  EXPECT_EQ(s["result"], 1);
}

TEST(JsonRpc, SpecErrorCodes) {
  auto t = Table();
  EXPECT_EQ(Reply(t, "{not json")["error"]["code"], kParseError);
  EXPECT_EQ(Reply(t, "[]")["error"]["code"], kInvalidRequest);
  EXPECT_EQ(Reply(t, "42")["error"]["code"], kInvalidRequest);
  EXPECT_EQ(Reply(t, R"({"id":1,"method":"math.add"})")["error"]["code"], kInvalidRequest);
  EXPECT_EQ(Reply(t, R"({"jsonrpc":"2.0","id":1,"method":5})")["error"]["code"], kInvalidRequest);
  EXPECT_EQ(Reply(t, R"({"jsonrpc":"2.0","id":{},"method":"math.add"})")["error"]["code"],
            kInvalidRequest);
  EXPECT_EQ(Reply(t, R"({"jsonrpc":"2.0","id":1,"method":"nope"})")["error"]["code"],
            kMethodNotFound);
  EXPECT_EQ(Reply(t, R"({"jsonrpc":"2.0","id":1,"method":"math.add","params":[1,2]})")["error"]
                     ["code"],
            kInvalidParams);
  EXPECT_EQ(Reply(t, R"({"jsonrpc":"2.0","id":1,"method":"math.add","params":3})")["error"]["code"],
            kInvalidRequest);
}

TEST(JsonRpc, AHandlerStatusTravelsAndComesBack) {
  auto t = Table();
  json r = Reply(t, R"({"jsonrpc":"2.0","id":1,"method":"fail.notfound"})");
  EXPECT_EQ(r["error"]["code"], kStatusErrorBase - static_cast<int>(Code::kNotFound));
  Status s = StatusFromError(r["error"]);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "no such thing");
  json bad = Reply(t, R"({"jsonrpc":"2.0","id":2,"method":"math.add","params":{"a":"x"}})");
  EXPECT_EQ(StatusFromError(bad["error"]).code(), Code::kInvalidArgument);
  EXPECT_NE(bad["error"]["message"].get<std::string>().find("\"a\""), std::string::npos);
  json thrown = Reply(t, R"({"jsonrpc":"2.0","id":3,"method":"fail.throws"})");
  EXPECT_EQ(StatusFromError(thrown["error"]).code(), Code::kInternal);
  EXPECT_NE(thrown["error"]["message"].get<std::string>().find("boom"), std::string::npos);
}

TEST(JsonRpc, NotificationsGetNoReplyAndBatchesAreServed) {
  auto t = Table();
  EXPECT_FALSE(t.HandleLine(R"({"jsonrpc":"2.0","method":"math.add","params":{"a":1}})"));
  EXPECT_FALSE(t.HandleLine(R"({"jsonrpc":"2.0","method":"nope"})"));
  json r = Reply(t, R"([{"jsonrpc":"2.0","id":1,"method":"math.add","params":{"a":1,"b":1}},
                        {"jsonrpc":"2.0","method":"math.add"},
                        {"jsonrpc":"2.0","id":2,"method":"nope"}])");
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]["result"], 2);
  EXPECT_EQ(r[1]["error"]["code"], kMethodNotFound);
  EXPECT_FALSE(t.HandleLine(R"([{"jsonrpc":"2.0","method":"math.add"}])"));
}

TEST(JsonRpc, ClientHelpersRoundTrip) {
  auto t = Table();
  json request = MakeRequest(9, "math.add", {{"a", 4}, {"b", 4}});
  auto reply = t.Handle(request);
  ASSERT_TRUE(reply);
  auto result = ParseResponse(*reply, 9);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(*result, 8);
  EXPECT_EQ(ParseResponse(*reply, 10).status().code(), Code::kCorruption) << "another id";
  EXPECT_EQ(ParseResponse(json{{"result", 1}}, 9).status().code(), Code::kCorruption);
}

TEST(JsonRpc, DescribeGivesParamsResultAndARunnableExample) {
  auto t = Table();
  const MethodSpec* spec = t.Find("math.add");
  ASSERT_NE(spec, nullptr);
  json d = DescribeJson(*spec);
  EXPECT_EQ(d["method"], "math.add");
  EXPECT_EQ(d["params"]["a"], "integer");
  EXPECT_EQ(d["result"], "the sum");
  auto reply = t.Handle(d["example"]);
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["result"], 3) << "the example is a request that works";
  EXPECT_EQ(t.List().size(), 3u);
  EXPECT_EQ(t.Find("nope"), nullptr);
}

TEST(JsonRpc, ParamReaders) {
  json p{{"s", "x"}, {"n", 5}, {"neg", -1}, {"b", true}, {"l", {"a", "b"}}, {"bad", {1}}};
  EXPECT_EQ(*StringParam(p, "s"), "x");
  EXPECT_EQ(StringParam(p, "n").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(StringParam(p, "missing").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(*UintParam(p, "n", 0), 5u);
  EXPECT_EQ(*UintParam(p, "missing", 7), 7u);
  EXPECT_FALSE(UintParam(p, "neg", 0).ok());
  EXPECT_TRUE(*BoolParam(p, "b", false));
  EXPECT_FALSE(BoolParam(p, "s", false).ok());
  EXPECT_EQ(StringListParam(p, "l", true)->size(), 2u);
  EXPECT_FALSE(StringListParam(p, "bad", false).ok());
  EXPECT_FALSE(StringListParam(p, "missing", true).ok());
  EXPECT_TRUE(StringListParam(p, "missing", false)->empty());
}

}  // namespace
}  // namespace topo::api
