#include "graph/causal.h"

#include <unordered_set>
#include <vector>

namespace topo::graph {

Result<bool> IsAncestor(GraphStore& store, const VertexId& ancestor, const VertexId& descendant) {
  TOPO_ASSIGN_OR_RETURN(auto a, store.GetMeta(ancestor));
  TOPO_ASSIGN_OR_RETURN(auto d, store.GetMeta(descendant));
  if (!a || !d) return Status::NotFound("IsAncestor: vertex not applied");
  if (a->object != d->object || a->depth >= d->depth) return false;
  std::vector<VertexId> stack{descendant};
  std::unordered_set<VertexId, FixedBytesHash> seen{descendant};
  while (!stack.empty()) {
    VertexId v = stack.back();
    stack.pop_back();
    TOPO_ASSIGN_OR_RETURN(auto parents, store.GetParents(v));
    for (const auto& p : parents) {
      if (p == ancestor) return true;
      if (!seen.insert(p).second) continue;
      TOPO_ASSIGN_OR_RETURN(auto pm, store.GetMeta(p));
      if (pm && pm->depth > a->depth) stack.push_back(p);
    }
  }
  return false;
}

}  // namespace topo::graph
