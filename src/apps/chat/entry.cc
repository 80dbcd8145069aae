#include "apps/chat/entry.h"

#include "codec/reader.h"

namespace topo::apps::chat {
namespace {

enum Tag : uint8_t { kPost = 1, kEdit = 2, kDelete = 3, kReact = 4, kMeta = 5, kMember = 6 };

Status Invalid(std::string_view field, std::string_view why) {
  return Status::InvalidArgument("chat." + std::string(field) + ": " + std::string(why));
}
Status Corrupt(std::string_view field, std::string_view why) {
  return Status::Corruption("chat." + std::string(field) + ": " + std::string(why));
}

Status CheckString(std::string_view field, const std::string& s, size_t min, size_t max) {
  if (s.size() < min) return Invalid(field, s.empty() ? "empty" : "too short");
  if (s.size() > max) return Invalid(field, "longer than " + std::to_string(max) + " bytes");
  if (!codec::IsValidUtf8(s)) return Invalid(field, "not valid UTF-8");
  return Status::Ok();
}

Status CheckMeta(const Meta& m) {
  switch (m.attr) {
    case MetaAttr::kName:
      return CheckChannelName(m.value);
    case MetaAttr::kTopic:
      return CheckString("meta.topic", m.value, 0, kMaxTopic);
    case MetaAttr::kArchived:
      if (m.value != "0" && m.value != "1") return Invalid("meta.archived", "not \"0\" or \"1\"");
      return Status::Ok();
  }
  return Invalid("meta.attr", "unknown attribute");
}

// Reads a string the way CheckString checks one; Corruption on failure.
Status GetString(codec::Reader& r, std::string_view field, size_t min, size_t max,
                 std::string& out) {
  TOPO_RETURN_IF_ERROR(r.LenString(field, max, out));
  if (out.size() < min) return Corrupt(field, "empty");
  return Status::Ok();
}

}  // namespace

const char* ChannelKindName(ChannelKind k) {
  switch (k) {
    case ChannelKind::kPublic:
      return "public";
    case ChannelKind::kPrivate:
      return "private";
    case ChannelKind::kDirect:
      return "direct";
  }
  return "?";
}

Bytes EncodeChannelParams(const ChannelParams& p) {
  Bytes out = {1, static_cast<uint8_t>(p.kind)};
  Append(out, p.workspace.view());
  return out;
}

Result<ChannelParams> DecodeChannelParams(ByteView bytes) {
  if (bytes.size() != 34) return Status::Corruption("channel params: not 34 bytes");
  if (bytes[0] != 1)
    return Status::Corruption("channel params: unknown version " + std::to_string(bytes[0]));
  if (bytes[1] != static_cast<uint8_t>(ChannelKind::kPrivate) &&
      bytes[1] != static_cast<uint8_t>(ChannelKind::kDirect))
    return Status::Corruption("channel params: unknown kind " + std::to_string(bytes[1]));
  ChannelParams p;
  p.kind = static_cast<ChannelKind>(bytes[1]);
  p.workspace = codec::ObjectId::FromView(bytes.subspan(2, 32));
  return p;
}

Status CheckChannelName(std::string_view name) {
  if (name.empty()) return Invalid("meta.name", "empty");
  if (name.size() > kMaxChannelName)
    return Invalid("meta.name", "longer than " + std::to_string(kMaxChannelName) + " bytes");
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return Invalid("meta.name", "\"" + std::string(name) +
                                      "\": use lowercase letters, digits, '.', '_' and '-'");
  return Status::Ok();
}

Status CheckEntry(const Entry& e) {
  if (const auto* p = std::get_if<Post>(&e)) {
    TOPO_RETURN_IF_ERROR(CheckString("post.text", p->text, 1, kMaxText));
    if (p->mentions.size() > kMaxMentions)
      return Invalid("post.mentions", "more than " + std::to_string(kMaxMentions));
    for (const auto& m : p->mentions)
      if (m.kind != MentionKind::kUser && m.kind != MentionKind::kChannel)
        return Invalid("post.mentions", "unknown kind");
    if (p->files.size() > kMaxFiles)
      return Invalid("post.files", "more than " + std::to_string(kMaxFiles));
    for (const auto& f : p->files) {
      TOPO_RETURN_IF_ERROR(CheckString("post.files.ref", f.ref, 1, kMaxFileRef));
      TOPO_RETURN_IF_ERROR(CheckString("post.files.name", f.name, 0, kMaxFileName));
    }
    return Status::Ok();
  }
  if (const auto* p = std::get_if<Edit>(&e)) return CheckString("edit.text", p->text, 1, kMaxText);
  if (const auto* p = std::get_if<React>(&e)) return CheckString("react.emoji", p->emoji, 1, kMaxEmoji);
  if (const auto* p = std::get_if<Meta>(&e)) return CheckMeta(*p);
  return Status::Ok();  // Delete, Member: every value is well-formed
}

Bytes EncodeEntry(const Entry& e) {
  codec::Writer w;
  std::visit(
      [&w](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Post>) {
          w.U8(kPost);
          w.LenString(o.text);
          w.U8(o.thread ? 1 : 0);
          if (o.thread) w.Fixed(*o.thread);
          w.Varint(o.mentions.size());
          for (const auto& m : o.mentions) {
            w.U8(static_cast<uint8_t>(m.kind));
            w.Fixed(m.key);
          }
          w.Varint(o.files.size());
          for (const auto& f : o.files) {
            w.LenString(f.ref);
            w.LenString(f.name);
            w.Varint(f.size);
          }
        } else if constexpr (std::is_same_v<T, Edit>) {
          w.U8(kEdit);
          w.Fixed(o.message);
          w.LenString(o.text);
        } else if constexpr (std::is_same_v<T, Delete>) {
          w.U8(kDelete);
          w.Fixed(o.message);
        } else if constexpr (std::is_same_v<T, React>) {
          w.U8(kReact);
          w.Fixed(o.message);
          w.LenString(o.emoji);
          w.U8(o.on ? 1 : 0);
        } else if constexpr (std::is_same_v<T, Meta>) {
          w.U8(kMeta);
          w.U8(static_cast<uint8_t>(o.attr));
          w.LenString(o.value);
        } else {
          static_assert(std::is_same_v<T, Member>);
          w.U8(kMember);
          w.Fixed(o.user);
          w.U8(o.joined ? 1 : 0);
        }
      },
      e);
  return w.Take();
}

Result<Entry> DecodeEntry(ByteView bytes) {
  codec::Reader r(bytes);
  uint8_t tag;
  TOPO_RETURN_IF_ERROR(r.U8("chat.tag", tag));
  auto flag = [&r](std::string_view field, bool& out) -> Status {
    uint8_t b;
    TOPO_RETURN_IF_ERROR(r.U8(field, b));
    if (b > 1) return Corrupt(field, "not 0 or 1");
    out = b == 1;
    return Status::Ok();
  };
  Entry e;
  switch (tag) {
    case kPost: {
      Post p;
      TOPO_RETURN_IF_ERROR(GetString(r, "chat.post.text", 1, kMaxText, p.text));
      bool has_thread = false;
      TOPO_RETURN_IF_ERROR(flag("chat.post.has_thread", has_thread));
      if (has_thread) {
        codec::VertexId root;
        TOPO_RETURN_IF_ERROR(r.Fixed("chat.post.thread", root));
        p.thread = root;
      }
      uint64_t n;
      TOPO_RETURN_IF_ERROR(r.VarintMax("chat.post.mentions", kMaxMentions, n));
      for (uint64_t i = 0; i < n; ++i) {
        Mention m;
        uint8_t kind;
        TOPO_RETURN_IF_ERROR(r.U8("chat.post.mentions.kind", kind));
        if (kind != 1 && kind != 2) return Corrupt("post.mentions.kind", "unknown kind");
        m.kind = static_cast<MentionKind>(kind);
        TOPO_RETURN_IF_ERROR(r.Fixed("chat.post.mentions.key", m.key));
        p.mentions.push_back(m);
      }
      TOPO_RETURN_IF_ERROR(r.VarintMax("chat.post.files", kMaxFiles, n));
      for (uint64_t i = 0; i < n; ++i) {
        FileAttachment f;
        TOPO_RETURN_IF_ERROR(GetString(r, "chat.post.files.ref", 1, kMaxFileRef, f.ref));
        TOPO_RETURN_IF_ERROR(GetString(r, "chat.post.files.name", 0, kMaxFileName, f.name));
        TOPO_RETURN_IF_ERROR(r.Varint("chat.post.files.size", f.size));
        p.files.push_back(std::move(f));
      }
      e = std::move(p);
      break;
    }
    case kEdit: {
      Edit p;
      TOPO_RETURN_IF_ERROR(r.Fixed("chat.edit.message", p.message));
      TOPO_RETURN_IF_ERROR(GetString(r, "chat.edit.text", 1, kMaxText, p.text));
      e = std::move(p);
      break;
    }
    case kDelete: {
      Delete p;
      TOPO_RETURN_IF_ERROR(r.Fixed("chat.delete.message", p.message));
      e = p;
      break;
    }
    case kReact: {
      React p;
      TOPO_RETURN_IF_ERROR(r.Fixed("chat.react.message", p.message));
      TOPO_RETURN_IF_ERROR(GetString(r, "chat.react.emoji", 1, kMaxEmoji, p.emoji));
      TOPO_RETURN_IF_ERROR(flag("chat.react.on", p.on));
      e = std::move(p);
      break;
    }
    case kMeta: {
      Meta p;
      uint8_t attr;
      TOPO_RETURN_IF_ERROR(r.U8("chat.meta.attr", attr));
      if (attr < 1 || attr > 3) return Corrupt("meta.attr", "unknown attribute");
      p.attr = static_cast<MetaAttr>(attr);
      TOPO_RETURN_IF_ERROR(r.LenString("chat.meta.value", kMaxTopic, p.value));
      Status ok = CheckMeta(p);
      if (!ok.ok()) return Status::Corruption(ok.message());
      e = std::move(p);
      break;
    }
    case kMember: {
      Member p;
      TOPO_RETURN_IF_ERROR(r.Fixed("chat.member.user", p.user));
      TOPO_RETURN_IF_ERROR(flag("chat.member.joined", p.joined));
      e = p;
      break;
    }
    default:
      return Corrupt("tag", "unknown entry " + std::to_string(tag));
  }
  TOPO_RETURN_IF_ERROR(r.ExpectEnd("chat entry"));
  return e;
}

}  // namespace topo::apps::chat
