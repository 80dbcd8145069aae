// Internal to the CRDT implementation: the list (RGA). object/crdt.h documents semantics
// and layout; the public list readers and builders are declared there.
#pragma once

#include <vector>

#include "object/crdt.h"

namespace topo::object::internal {

// Applies a list.insert or list.delete (REQUIRES: op.kind() == kList, CheckCrdtOp ok).
// Appends {"", false} to effects when the list may have changed.
Status ApplyListOp(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
                   const CrdtOp& op, const OpContext& ctx, std::vector<Effect>& effects);

}  // namespace topo::object::internal
