// The team chat's entries: what one vertex on a channel's log says (docs/PROTOCOL.md,
// "Chat entries"). A channel is one object of blueprint "chat-channel" inside a workspace
// group; every message, edit, delete, reaction, rename or join is one vertex on it, whose
// payload (sealed under the workspace's epoch key) is a log.append of one entry:
//
//   u8 tag, then by tag:
//   1 post    text, u8 has_thread (0|1) [32 root message id if 1],
//             varint n (<= kMaxMentions) * (u8 kind (1 user, 2 channel), [32] key),
//             varint n (<= kMaxFiles) * (string ref (1..512), string name (<= 255), varint size)
//   2 edit    [32] message id, text
//   3 delete  [32] message id
//   4 react   [32] message id, string emoji (1..64 bytes), u8 on (0 remove | 1 add)
//   5 meta    u8 attr (1 name, 2 topic, 3 archived), string value
//             (name: 1..80 bytes of [a-z0-9._-]; topic: <= 1024 bytes; archived: "0"|"1")
//   6 member  [32] user key, u8 joined (0 left | 1 joined)
//
//   text = varint len (1..kMaxText) || UTF-8;  string = varint len || UTF-8
//
// A message's id is the id of the vertex that posted it. Decoding is strict (known tags,
// bounds, valid UTF-8, no trailing bytes): every entry has exactly one encoding.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "codec/vertex.h"
#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::apps::chat {

constexpr size_t kMaxText = 16 * 1024;     // bytes of one message's text
constexpr size_t kMaxMentions = 64;
constexpr size_t kMaxFiles = 16;
constexpr size_t kMaxEmoji = 64;
constexpr size_t kMaxChannelName = 80;
constexpr size_t kMaxTopic = 1024;
constexpr size_t kMaxFileRef = 512;
constexpr size_t kMaxFileName = 255;

enum class MentionKind : uint8_t { kUser = 1, kChannel = 2 };
struct Mention {
  MentionKind kind = MentionKind::kUser;
  FixedBytes<32> key;  // a user key or a channel id
  bool operator==(const Mention&) const = default;
};
struct FileAttachment {
  std::string ref;   // the engine's file reference (topo file add)
  std::string name;  // the file's name as sent
  uint64_t size = 0;
  bool operator==(const FileAttachment&) const = default;
};

struct Post {
  std::string text;
  std::optional<codec::VertexId> thread;  // the thread's root message
  std::vector<Mention> mentions;
  std::vector<FileAttachment> files;
  bool operator==(const Post&) const = default;
};
struct Edit {
  codec::VertexId message;
  std::string text;
  bool operator==(const Edit&) const = default;
};
struct Delete {
  codec::VertexId message;
  bool operator==(const Delete&) const = default;
};
struct React {
  codec::VertexId message;
  std::string emoji;
  bool on = true;
  bool operator==(const React&) const = default;
};
enum class MetaAttr : uint8_t { kName = 1, kTopic = 2, kArchived = 3 };
struct Meta {
  MetaAttr attr = MetaAttr::kName;
  std::string value;
  bool operator==(const Meta&) const = default;
};
struct Member {
  crypto::PublicKey user;
  bool joined = true;
  bool operator==(const Member&) const = default;
};

using Entry = std::variant<Post, Edit, Delete, React, Meta, Member>;

// InvalidArgument naming the field when `e` would not decode (the bounds above).
Status CheckEntry(const Entry& e);
// REQUIRES: CheckEntry(e).ok().
Bytes EncodeEntry(const Entry& e);
// Strict decode; Corruption naming the field.
Result<Entry> DecodeEntry(ByteView bytes);

// ---- a channel's genesis params (object::AppProjector::CheckParams) ----
// A public channel lives in the workspace group itself and has no params. A private
// channel or a direct conversation lives in a group of its own (its members and key
// epochs), and its genesis params name the workspace it belongs to:
//   u8 version = 1, u8 kind (1 private, 2 direct), [32] workspace group id
enum class ChannelKind : uint8_t { kPublic = 0, kPrivate = 1, kDirect = 2 };
const char* ChannelKindName(ChannelKind k);
struct ChannelParams {
  ChannelKind kind = ChannelKind::kPrivate;
  codec::ObjectId workspace;
  bool operator==(const ChannelParams&) const = default;
};
Bytes EncodeChannelParams(const ChannelParams& p);
// Strict: exactly 34 bytes, version 1, kind private or direct. Corruption otherwise.
Result<ChannelParams> DecodeChannelParams(ByteView bytes);

// Ok when `name` is a channel name: 1..80 bytes of lowercase ASCII letters, digits, '.',
// '_' or '-' (a leading '#' is the caller's to strip).
Status CheckChannelName(std::string_view name);

}  // namespace topo::apps::chat
