#include "api/service.h"

#include "api/methods.h"

namespace topo::api {

namespace {
std::vector<MethodExtension>& Extensions() {
  static std::vector<MethodExtension> all;
  return all;
}
}  // namespace

void RegisterMethodExtension(MethodExtension extension) {
  Extensions().push_back(std::move(extension));
}

Service::Service(node::Node& node) : node_(node) {
  AddNodeMethods(methods_, node_);
  AddObjectMethods(methods_, node_);
  AddPeerMethods(methods_, node_);
  AddWorkspaceMethods(methods_, node_);
  AddFileMethods(methods_, node_);
  for (const auto& extend : Extensions()) extend(methods_, node_);
  // Vertices from peers changed a group: do what an import would (share keys with a new
  // member, certify a linked device, ...).
  node_.on_groups_changed = [this] {
    try {
      std::string done = AfterImport(node_);
      if (!done.empty()) node_.log().Info("after a group change: " + done);
    } catch (const Failure& f) {
      node_.log().Warn("after a group change: " + f.status.message());
    }
  };
}

}  // namespace topo::api
