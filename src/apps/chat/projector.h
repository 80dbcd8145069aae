// The chat's blueprint and projector (object/app.h): "chat-channel", one object per channel
// inside a workspace group, whose single log field "events" carries chat entries
// (apps/chat/entry.h). The projector keeps these tables (all in the replica's database):
//
//   proj_chat_channels   id, workspace, creator, created_at, grp (the group it lives in:
//                        the workspace, or a private channel's own group), kind
//                        (0 public, 1 private, 2 direct; apps/chat/entry.h)
//   proj_chat_meta       one row per rename / topic / archive entry that its author was
//                        allowed to write; the value shown is the latest (created_at, vid)
//   proj_chat_members    channel, user, joined: the latest join/leave per user
//   proj_chat_messages   one row per post: the current text (the author's latest edit),
//                        or NULL with deleted = 1 once the author or an admin deleted it.
//                        Its rowid is the message's local short number. Its id (the
//                        post's vertex) is not UNIQUE: found through an index on its
//                        first 8 bytes (schema version 2; object/app.h SchemaVersion).
//   proj_chat_edits      every edit (vid, target, user, text) of a message not deleted
//   proj_chat_deletes    every delete (the tombstones)
//   proj_chat_reactions  target, user, emoji -> on/off, latest (created_at, vid) wins
//   chat_fts             FTS5 index of the messages' current text, one document per
//                        message row (written by the projections of posts, edits, deletes)
//   chat_read            this device's read marker per channel (local, not replicated)
//   chat_feed            every applied entry in arrival order (local: apps/chat/events.h)
//
// A rebuild (Replica::RebuildProjections, or a newer schema version at open) drops and
// makes again the proj_chat_* tables and chat_fts from the vertices, keeping each message's
// number; chat_read and chat_feed stay as they are.
//
// Rules (each decided from the entry and its vertex's ACL context, or in SQL from facts that
// are there in any order, so the proj_ tables depend only on the set of vertices applied):
//  - roles are those of the group the channel lives in: the workspace's for a public
//    channel, the channel's own group's for a private channel or a direct conversation
//    (whose creator is its owner).
//  - rename and archive: the channel's creator or an admin/owner; topic: anyone.
//  - join/leave: the user themselves, or an admin/owner.
//  - edit: only the message's author's edits are shown; a deleted message keeps none.
//  - delete: the author or an admin/owner; it wins over every edit in any order, and the
//    text, mentions, files and edits are removed from the tables (the sealed vertices stay).
//  - reactions: per (message, user, emoji), the latest (created_at, vertex id) add/remove.
#pragma once

#include <string_view>

#include "util/status.h"

namespace topo::apps::chat {

constexpr std::string_view kChannelBlueprint = "chat-channel";
constexpr uint32_t kEventsField = 0;

// Registers the blueprint and projector (object::RegisterBlueprint); call once at start-up,
// before a replica opens. Idempotent.
Status Register();

}  // namespace topo::apps::chat
