// The chat's event journal: what `topo sub` and chat.events stream to bots and UIs.
//
// The projector (apps/chat/projector.h) appends one row to a LOCAL table for every entry it
// applies, in the order this replica applies them:
//
//   chat_events   seq (INTEGER PRIMARY KEY AUTOINCREMENT), vid, channel, kind,
//                 user (who wrote the entry), target (the message, or the member), detail
//                 (a reaction's emoji), flag (reaction added / member joined), at
//
// `seq` is this replica's own counter: it grows with every applied entry and is never
// reused, so a reader that remembers the last seq it saw resumes exactly there. The journal
// is not a projection ("proj_*"): its order is the order of arrival, which differs between
// replicas, so Replica::ProjectionDump and Fingerprint leave it out (as they leave out
// chat_read). One row per vertex (the engine applies each vertex once: object/app.h), also
// for an entry that arrives late or out of order (content that waited for an epoch key): it
// gets the seq of when it was applied. vid has no index: nothing looks an event up by it.
// (Until 2026-11 the table was chat_journal, with vid UNIQUE; its rows move to chat_events
// when a replica opens, seq kept, and it stays there empty.)
// The journal holds no message text: reads join it with the current tables, so an event
// shows the text as it is now, and a deleted message's text is gone from every event.
//
// Not thread-safe: used on the node's thread, like the Replica.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apps/chat/chat.h"
#include "object/app.h"
#include "store/projection.h"

namespace topo::apps::chat {

// The journal's schema statements (the projector runs them with its own).
constexpr size_t kJournalSchemaSize = 5;
extern const char* const kJournalSchema[kJournalSchemaSize];

// The write that journals an applied entry (OnEntry), or nothing for an entry that changes
// nothing whoever reads it (a join or leave for someone else by a non-admin).
std::optional<store::ProjectionWrite> JournalEntry(const object::AppContext& ctx, const Entry& e);
// The write that journals a channel's creation (OnCreate).
store::ProjectionWrite JournalCreate(const object::AppContext& ctx);
// Journals a change to the members of a private channel or direct conversation made by an
// operation of the channel's own group (add-member, remove, leave: group vertices, which the
// projector does not see; apps/chat/group_events.h writes them after their commit), as a
// member event of the channel: `author` who wrote it, `member` who joined or left.
Status JournalGroupMember(object::Replica& r, const codec::VertexId& vid,
                          const codec::ObjectId& channel,
                          const std::optional<crypto::PublicKey>& author,
                          const crypto::PublicKey& member, bool joined, uint64_t at);

enum class EventKind { kMessage, kEdit, kDelete, kReaction, kMember, kChannel };
// "message", "edit", "delete", "reaction", "member", "channel".
std::string_view EventKindName(EventKind k);

// What changed on a channel event.
enum class ChannelChange { kCreated, kName, kTopic, kArchived };
std::string_view ChannelChangeName(ChannelChange c);

struct Event {
  int64_t seq = 0;
  EventKind kind = EventKind::kMessage;
  codec::VertexId vertex;
  codec::ObjectId channel;
  std::string channel_name;                 // as the channel is named now ("" if unnamed)
  std::optional<crypto::PublicKey> author;  // who wrote the entry
  uint64_t at = 0;                          // the entry's created_at (ms)
  // kMessage, kEdit, kDelete, kReaction: the message as it is shown now.
  std::optional<Message> message;
  // kReaction: the emoji, and whether it was added (else taken back).
  std::string emoji;
  bool added = false;
  // kMember: who joined or left.
  std::optional<crypto::PublicKey> member;
  bool joined = false;
  // kChannel: what changed, and the value the entry set (archived: "1" or "0").
  ChannelChange change = ChannelChange::kCreated;
  std::string value;
};

struct EventQuery {
  int64_t after = 0;                         // only events with seq > after
  std::optional<codec::ObjectId> workspace;  // only this workspace's channels
  std::optional<codec::ObjectId> channel;    // only this channel
  size_t limit = 100;                        // at most this many journal rows are read
};

struct EventPage {
  std::vector<Event> events;  // seq ascending
  // Where the next read resumes (pass it as `after`): past every journal row this read
  // looked at, including rows it left out (another channel, an entry that changed nothing
  // shown: an edit by someone not the author, a delete nobody was allowed to make, an
  // edit, delete or reaction whose message has not arrived: the message's own event shows
  // its state once it does).
  int64_t last = 0;
};

// The events after q.after, joined with the current tables.
Result<EventPage> ReadEvents(object::Replica& r, Chat& chat, const EventQuery& q);
// The journal's newest seq (0 when empty): a subscription that starts now resumes there.
Result<int64_t> JournalEnd(object::Replica& r);

}  // namespace topo::apps::chat
