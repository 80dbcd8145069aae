// The chat's JSON-RPC methods (chat.*; docs/RPC.md lists them), and the one call that makes
// a process chat-capable: Register() adds the blueprint (apps/chat/projector.h) and these
// methods to every api::Service made afterwards.
#pragma once

#include "api/jsonrpc.h"
#include "node/node.h"

namespace topo::apps::chat {

void AddMethods(api::MethodTable& t, node::Node& n);
// chat.events (apps/chat/methods_events.cc); AddMethods calls it.
void AddEventMethods(api::MethodTable& t, node::Node& n);

// Blueprint, projector and methods. Call once at start-up (the topo binary's main, tests'
// main) before any replica opens. Idempotent.
Status RegisterApp();

}  // namespace topo::apps::chat
