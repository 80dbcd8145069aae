// The RPC server and client over a real Unix socket, with a node on a temporary database.
#include "api/rpc_server.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <fstream>
#include <iterator>
#include <thread>

#include "api/rpc_client.h"
#include "api/service.h"
#include "node/node.h"
#include "testing/temp_dir.h"

namespace topo::api {
namespace {

// Runs a node and its RPC server on a thread; calls come from the test's thread.
class Served {
 public:
  explicit Served(const std::string& db) {
    node::NodeOptions o;
    o.db = db;
    auto n = node::Node::Open(io_, o, log_);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    node_ = std::move(n).value();
    service_ = std::make_unique<Service>(*node_);
    auto s = RpcServer::Listen(io_, db + ".sock", service_->methods(), log_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    node_->on_stop = [this](const std::string&) { server_->Close(); };
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Served() {
    io_.stop();
    thread_.join();
  }

 private:
  asio::io_context io_;
  node::Log log_;
  std::unique_ptr<node::Node> node_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<RpcServer> server_;
  std::thread thread_;
};

TEST(RpcServer, ANewNodeCreatesItsDatabaseAndServesObjects) {
  testing::TempDir dir;
  const std::string db = dir.File("n.db");
  Served served(db);
  auto client = RpcClient::Connect(db + ".sock");
  ASSERT_TRUE(client.ok()) << client.status().ToString();

  auto before = client->Call("object.list", json::object(), 10'000);
  EXPECT_EQ(before.status().code(), Code::kNotFound) << "no database yet";
  EXPECT_NE(before.status().message().find("init"), std::string::npos);

  auto id = client->Call("identity.init", {{"device_name", "n1"}}, 10'000);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ((*id)["device_name"], "n1");
  EXPECT_TRUE((*id)["created"].get<bool>());

  auto obj = client->Call("object.create", {{"type", "counter"}}, 10'000);
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  std::string object = (*obj)["object"];
  ASSERT_TRUE(client->Call("object.update", {{"object", object.substr(0, 8)}, {"op", {"add", "41"}}},
                           10'000)
                  .ok());
  ASSERT_TRUE(client->Call("object.update", {{"object", object}, {"op", {"inc"}}}, 10'000).ok());
  auto shown = client->Call("object.show", {{"object", object}}, 10'000);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ((*shown)["state"]["value"], 42);

  auto bad = client->Call("object.update", {{"object", object}, {"op", {"frobnicate"}}}, 10'000);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  auto missing = client->Call("object.show", {{"object", "ffffffff"}}, 10'000);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);

  auto status = client->Call("node.status", json::object(), 10'000);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["objects"].size(), 1u);
  EXPECT_EQ((*status)["identity"]["device_name"], "n1");
}

TEST(RpcServer, MalformedLinesGetErrorsAndTheConnectionKeepsWorking) {
  testing::TempDir dir;
  const std::string db = dir.File("m.db");
  Served served(db);
  auto client = RpcClient::Connect(db + ".sock");
  ASSERT_TRUE(client.ok());
  for (const char* line : {"{", "[]", "null", "{\"jsonrpc\":\"2.0\",\"id\":1}", "\xff\xfe"}) {
    auto raw = client->RoundTrip(line, 10'000);
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    json r = json::parse(*raw, nullptr, false);
    ASSERT_FALSE(r.is_discarded()) << *raw;
    EXPECT_TRUE(r.contains("error")) << *raw;
  }
  auto methods = client->Call("node.methods", json::object(), 10'000);
  ASSERT_TRUE(methods.ok());
  EXPECT_GT(methods->size(), 20u);
  // Several clients at once.
  auto second = RpcClient::Connect(db + ".sock");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->Call("node.describe", {{"method", "object.update"}}, 10'000).ok());
  EXPECT_TRUE(client->Call("node.status", json::object(), 10'000).ok());
}

TEST(RpcServer, NoDaemonIsNotFound) {
  testing::TempDir dir;
  auto client = RpcClient::Connect(dir.File("none.db.sock"));
  EXPECT_EQ(client.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace topo::api

namespace topo::api {
namespace {

// docs/RPC.md is generated from `topo rpc describe`; a method added without regenerating it
// fails here.
TEST(RpcDocs, EveryMethodIsDocumented) {
  std::ifstream in(std::string(TOPO_SOURCE_DIR) + "/docs/RPC.md");
  ASSERT_TRUE(in) << "docs/RPC.md";
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  testing::TempDir dir;
  asio::io_context io;
  node::Log log;
  node::NodeOptions o;
  o.db = dir.File("d.db");
  auto n = node::Node::Open(io, o, log);
  ASSERT_TRUE(n.ok());
  Service service(**n);
  size_t count = 0;
  for (const MethodSpec* m : service.methods().List()) {
    EXPECT_NE(doc.find("### `" + m->name + "`"), std::string::npos) << m->name;
    for (const auto& [param, _] : m->params)
      EXPECT_NE(doc.find("| `" + param + "` |"), std::string::npos) << m->name << " " << param;
    ++count;
  }
  EXPECT_GT(count, 20u);
}

}  // namespace
}  // namespace topo::api
