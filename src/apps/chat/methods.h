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

// chat.send_file, chat.files, chat.save_file (apps/chat/methods_files.cc): files shared in
// a channel. They reuse file.add, file.save and chat.send, which must be in `t` already.
void AddChatFileMethods(api::MethodTable& t, node::Node& n);

// How the chat names a file it carries: "N.k", the k-th file (from 1) of the message this
// device numbers N. Like message numbers, each device's own.
std::string FileId(int64_t number, size_t index);

// Blueprint, projector and methods. Call once at start-up (the topo binary's main, tests'
// main) before any replica opens. Idempotent.
Status RegisterApp();

}  // namespace topo::apps::chat
