// Chat: the team chat's reads and writes on one replica, in the app's own terms (channels
// by name, messages by short number). Writes go through the engine's public surface
// (Replica::CreateObject / Submit, so they are signed, sealed and synced like any vertex);
// reads query the tables the projector keeps (apps/chat/projector.h).
// Not thread-safe: used on the node's thread, like the Replica.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apps/chat/entry.h"
#include "object/replica.h"

namespace topo::apps::chat {

struct Channel {
  codec::ObjectId id;
  codec::ObjectId workspace;
  codec::ObjectId group;  // where it lives: the workspace, or its own group when private
  ChannelKind kind = ChannelKind::kPublic;
  std::string name;  // "" until a name arrives
  std::string topic;
  bool archived = false;
  std::optional<crypto::PublicKey> creator;
  uint64_t created_at = 0;
  // Public: who joined, by user key. Private and direct: the members of its group.
  std::vector<crypto::PublicKey> members;
  uint64_t messages = 0;                   // not deleted
};

struct Reaction {
  std::string emoji;
  std::vector<crypto::PublicKey> users;
};

struct Message {
  int64_t number = 0;  // local short number (stable on this replica)
  codec::VertexId id;
  codec::ObjectId channel;
  crypto::PublicKey author;
  uint64_t created_at = 0;
  std::optional<codec::VertexId> thread;
  std::string text;  // "" when deleted
  bool deleted = false;
  std::optional<uint64_t> edited_at;
  std::vector<Mention> mentions;
  std::vector<FileAttachment> files;
  std::vector<Reaction> reactions;
  uint64_t replies = 0;  // messages in its thread (roots only)
};

struct SearchQuery {
  std::string text;  // words; every one must match (FTS5, quoted)
  std::optional<codec::ObjectId> channel;
  std::optional<crypto::PublicKey> author;
  uint64_t since = 0, until = 0;  // ms; 0 = open
  size_t limit = 20;
};

class Chat {
 public:
  // `me`: this device's user (read markers and "you").
  Chat(object::Replica& r, const crypto::PublicKey& me) : r_(r), me_(me) {}

  // ---- channels ----
  // Every channel of the workspace this user can see, by name (unnamed last): the public
  // ones, and the private ones and direct conversations this user is a member of now.
  Result<std::vector<Channel>> Channels(const codec::ObjectId& workspace);
  // "#name", "name", or an id (hex prefix of 4+). Of two channels with one name the older
  // one wins (created_at, id). NotFound names the channels that exist; PermissionDenied
  // ("you were removed from #name") for a private channel or direct conversation this
  // user is no longer in (this replica learnt the removal or the leave).
  Result<Channel> FindChannel(const codec::ObjectId& workspace, std::string_view text);
  // A channel by id, also one this user was removed from or left.
  Result<Channel> ChannelById(const codec::ObjectId& channel);
  // Creates a public channel, names it, sets its topic (when not empty) and joins it.
  // AlreadyExists when the workspace has a channel of that name.
  Result<codec::ObjectId> CreateChannel(const codec::ObjectId& workspace, std::string_view name,
                                        std::string_view topic);
  // Creates a private channel (kPrivate, named) or a direct conversation (kDirect, named by
  // the caller) in a group of its own: this device's user is its owner; every user in
  // `users` is added with the certificates of their devices in the workspace and can read
  // it from the first message on. `self` is this device's certificate.
  Result<codec::ObjectId> CreatePrivate(const codec::ObjectId& workspace, ChannelKind kind,
                                        std::string_view name, std::string_view topic,
                                        const std::vector<crypto::PublicKey>& users,
                                        const codec::DeviceCertificate& self);
  // The direct conversation whose members are exactly `users` (this user included), if any.
  Result<std::optional<Channel>> FindDirect(const codec::ObjectId& workspace,
                                            std::vector<crypto::PublicKey> users);
  // A private channel's membership (its group's add-member, remove and leave; a removal or
  // a leave starts a new key epoch, so the one who left reads nothing written after).
  // Invite and Remove need the channel's owner or an admin of it. The owner leaving hands
  // ownership to another member first.
  Result<codec::VertexId> Invite(const Channel& c, const crypto::PublicKey& user);
  Result<codec::VertexId> Remove(const Channel& c, const crypto::PublicKey& user);
  Result<codec::VertexId> LeavePrivate(const Channel& c);
  // Makes #general unless the workspace has it (create-workspace calls this).
  Result<codec::ObjectId> EnsureGeneral(const codec::ObjectId& workspace);

  // ---- writes: the vertex written ----
  Result<codec::VertexId> Write(const codec::ObjectId& channel, const Entry& e);

  // ---- messages ----
  // A message by short number ("12" or "#12") or id (hex prefix of 4+).
  Result<Message> FindMessage(std::string_view text);
  // A message by its id (the vertex that posted it): one index lookup.
  Result<Message> MessageById(const codec::VertexId& id);
  // The last `limit` messages of a channel (thread roots and replies not in a thread view:
  // replies are left out unless `thread` is set), oldest first.
  Result<std::vector<Message>> Messages(const codec::ObjectId& channel, size_t limit,
                                        const std::optional<codec::VertexId>& thread);
  // Messages matching every word of `q.text` and its filters, newest first (created_at, then
  // id, descending), at most `q.limit`. `plan` picks how (the results are the same): by
  // default, words in fewer than kCommonMatches messages take kIndexFirst, the others
  // kNewestFirst.
  enum class SearchPlan {
    kAuto,
    // Every match from the index, joined with its row, then sorted: cost follows the number
    // of matches (slow for a common word: a second for 600,000 matches).
    kIndexFirst,
    // The workspace's messages newest first, in time windows that double; each window's
    // matches come from the index read over the span of its messages' rowids only: cost
    // follows how far back the newest `limit` matches are (and how far rowid order, the
    // order messages arrived in, strays from time order). Falls back to kIndexFirst for
    // what is older once its windows held kWalkBudget messages.
    kNewestFirst,
  };
  // Measured at 1M messages (docs/PERFORMANCE.md, chat): a word in 4,000 messages cost up to
  // 130 ms from the index first (a row lookup per match), a few ms newest first.
  static constexpr uint64_t kCommonMatches = 512;
  static constexpr uint64_t kWalkBudget = 64 * kCommonMatches;
  Result<std::vector<Message>> Search(const codec::ObjectId& workspace, const SearchQuery& q,
                                      SearchPlan plan = SearchPlan::kAuto);
  // Tests: a smaller budget makes kNewestFirst fall back sooner; a smaller threshold makes
  // kAuto choose kNewestFirst for rarer words.
  void set_search_walk_budget(uint64_t messages) { walk_budget_ = messages; }
  void set_search_common_matches(uint64_t matches) { common_matches_ = matches; }
  // The messages of the workspace (or of one channel) that carry files, newest first, at
  // most `limit` (deleted ones carry none).
  Result<std::vector<Message>> WithFiles(const codec::ObjectId& workspace,
                                         const std::optional<codec::ObjectId>& channel,
                                         size_t limit);

  // ---- read markers (this device's, not replicated) ----
  Result<uint64_t> Unread(const codec::ObjectId& channel);
  // Marks everything in the channel read; returns how many were unread.
  Result<uint64_t> MarkRead(const codec::ObjectId& channel);

 private:
  // Channels(), and in `former` (when given) the private ones and direct conversations
  // this user was in and is no longer.
  Result<std::vector<Channel>> Channels(const codec::ObjectId& workspace,
                                        std::vector<Channel>* former);
  Result<std::vector<Message>> Load(store::Statement& st);
  Status Fill(Message& m);

  // A new channel's name without its '#', checked, with its topic's length, and free in
  // the workspace.
  Result<std::string_view> NewChannelName(const codec::ObjectId& workspace,
                                          std::string_view name, std::string_view topic);
  object::Replica& r_;
  crypto::PublicKey me_;
  uint64_t walk_budget_ = kWalkBudget;
  uint64_t common_matches_ = kCommonMatches;
};

// The mentions in `text`: "@name" for a member whose display name (in `names`, user ->
// name) is name, "#channel" for a channel of the workspace. Unknown ones are left as text.
std::vector<Mention> ParseMentions(std::string_view text,
                                   const std::vector<std::pair<crypto::PublicKey, std::string>>& names,
                                   const std::vector<Channel>& channels);

}  // namespace topo::apps::chat
