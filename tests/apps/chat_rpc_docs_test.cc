// docs/RPC.md documents the chat's methods too (scripts/gen-rpc-doc.sh regenerates it from
// the topo binary, which registers the chat).
#include <gtest/gtest.h>

#include <asio.hpp>
#include <fstream>
#include <iterator>

#include "api/service.h"
#include "apps/chat/methods.h"
#include "testing/temp_dir.h"

namespace topo::apps::chat {
namespace {

TEST(ChatRpcDocs, EveryChatMethodIsRegisteredAndDocumented) {
  ASSERT_TRUE(RegisterApp().ok());
  ASSERT_TRUE(RegisterApp().ok());  // idempotent
  std::ifstream in(std::string(TOPO_SOURCE_DIR) + "/docs/RPC.md");
  ASSERT_TRUE(in) << "docs/RPC.md";
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  testing::TempDir dir;
  asio::io_context io;
  node::Log log;
  node::NodeOptions o;
  o.db = dir.File("d.db");
  auto n = node::Node::Open(io, o, log);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  api::Service service(**n);
  size_t chat = 0;
  for (const api::MethodSpec* m : service.methods().List()) {
    EXPECT_NE(doc.find("### `" + m->name + "`"), std::string::npos) << m->name;
    for (const auto& [param, _] : m->params)
      EXPECT_NE(doc.find("| `" + param + "` |"), std::string::npos) << m->name << " " << param;
    if (m->name.rfind("chat.", 0) == 0) ++chat;
  }
  EXPECT_EQ(chat, 23u);
  // create-workspace is wrapped to make #general.
  const api::MethodSpec* create = service.methods().Find("workspace.create");
  ASSERT_NE(create, nullptr);
  EXPECT_NE(create->summary.find("#general"), std::string::npos);
}

}  // namespace
}  // namespace topo::apps::chat
