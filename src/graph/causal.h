// Causal queries over an object's hash graph.
#pragma once

#include "graph/graph_store.h"

namespace topo::graph {

// The deterministic topological order every replica agrees on: (depth, id) ascending.
inline bool LinearBefore(const VertexMeta& a, const VertexMeta& b) {
  return a.depth != b.depth ? a.depth < b.depth : a.id < b.id;
}

// True when `ancestor` is in the strict causal past of `descendant`. Walks back from the
// descendant, visiting only vertices deeper than the ancestor (a vertex at the same or a
// smaller depth cannot have it as an ancestor), so memory is bounded by the vertices between
// the two, never by the whole graph. Both must be applied.
Result<bool> IsAncestor(GraphStore& store, const VertexId& ancestor, const VertexId& descendant);

}  // namespace topo::graph
