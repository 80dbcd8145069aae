// The node's JSON-RPC methods (docs/RPC.md lists them; `topo rpc methods` prints them):
// node.*, identity.*, object.*, bundle.*, workspace.* and device.*. Each runs on the node's
// loop against its replica; results are the JSON the CLI prints with --json.
#pragma once

#include <functional>
#include <memory>

#include "api/jsonrpc.h"
#include "node/node.h"

namespace topo::api {

// Methods an app adds to every Service made after it registers them (the chat's chat.*;
// apps sit above the api layer, so they call in rather than being called). Register at
// start-up, before a daemon runs.
using MethodExtension = std::function<void(MethodTable&, node::Node&)>;
void RegisterMethodExtension(MethodExtension extension);

class Service {
 public:
  explicit Service(node::Node& node);
  MethodTable& methods() { return methods_; }

 private:
  node::Node& node_;
  MethodTable methods_;
};

}  // namespace topo::api
