// Member events for private channels and direct conversations. Their membership is their
// group's (add-member, remove, leave: group operations, which the chat projector does not
// see), so these events are journaled after the commit that applied the group vertices:
// node::Node's applied listener calls JournalGroupChanges with each committed batch. A
// member removed from a channel learns its removal this way too: peers serve a group's
// membership operations to its former member devices (object::Replica::MayReadAsFormerMember),
// so its `topo sub` shows the member event that names it, and the channel leaves its list.
// An event is journaled only when the op took effect as the state now stands (the removed
// user is not a member, the added one is); one lost to a crash between the commit and
// this write is not journaled again (the journal is a feed, not state).
// Not thread-safe: used on the node's thread, like the Replica.
#pragma once

#include <span>

#include "object/replica.h"

namespace topo::apps::chat {

Status JournalGroupChanges(object::Replica& r, std::span<const object::AppliedVertex> applied);

}  // namespace topo::apps::chat
