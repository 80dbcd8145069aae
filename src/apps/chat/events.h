// The chat's event journal: what `topo sub` and chat.events stream to bots and UIs.
//
// The projector (apps/chat/projector.h) appends one row to a LOCAL table for every entry it
// applies, in the order this replica applies them:
//
//   chat_feed   seq (INTEGER PRIMARY KEY, no AUTOINCREMENT), vid, channel, kind (EventKind's
//               number), user (who wrote the entry), target (the message, or the member;
//               NULL for a message event: its own vid), detail (a reaction's emoji, a
//               channel change's name), flag (reaction added / member joined), at
//
// `seq` is this replica's own counter: it grows with every applied entry and is never
// reused (the rowid, max + 1, and nothing deletes journal rows), so a reader that remembers
// the last seq it saw resumes exactly there. The journal
// is not a projection ("proj_*"): its order is the order of arrival, which differs between
// replicas, so Replica::ProjectionDump and Fingerprint leave it out (as they leave out
// chat_read). One row per vertex (the engine applies each vertex once: object/app.h), also
// for an entry that arrives late or out of order (content that waited for an epoch key): it
// gets the seq of when it was applied. No index but seq: nothing looks an event up by vid,
// and reads go by seq. (The table was chat_journal until 2026-11, with vid UNIQUE, then
// chat_events, with seq AUTOINCREMENT and kind as text; their rows move to chat_feed when a
// replica opens, seq kept, and they stay there empty.)
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
constexpr size_t kJournalSchemaSize = 6;
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

// The numbers are stored (chat_feed.kind): never renumber.
enum class EventKind {
  kMessage = 0,
  kEdit = 1,
  kDelete = 2,
  kReaction = 3,
  kMember = 4,
  kChannel = 5
};
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
