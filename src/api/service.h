// The node's JSON-RPC methods (docs/RPC.md lists them; `topo rpc methods` prints them):
// node.*, identity.*, object.*, bundle.*, workspace.* and device.*. Each runs on the node's
// loop against its replica; results are the JSON the CLI prints with --json.
#pragma once

#include <memory>

#include "api/jsonrpc.h"
#include "node/node.h"

namespace topo::api {

class Service {
 public:
  explicit Service(node::Node& node);
  MethodTable& methods() { return methods_; }

 private:
  node::Node& node_;
  MethodTable methods_;
};

}  // namespace topo::api
