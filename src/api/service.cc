#include "api/service.h"

#include "api/methods.h"

namespace topo::api {

Service::Service(node::Node& node) : node_(node) {
  AddNodeMethods(methods_, node_);
  AddObjectMethods(methods_, node_);
  AddWorkspaceMethods(methods_, node_);
}

}  // namespace topo::api
