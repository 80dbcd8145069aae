#include "object/crdt_state.h"

#include <algorithm>

#include "codec/reader.h"
#include "util/encoding.h"

namespace topo::object::internal {

Bytes SubKey(ByteView prefix, uint8_t tag) {
  Bytes k(prefix.begin(), prefix.end());
  k.push_back(tag);
  return k;
}

void AppendEscaped(Bytes& out, ByteView name) {
  for (uint8_t b : name) {
    out.push_back(b);
    if (b == 0x00) out.push_back(0xFF);
  }
  out.push_back(0x00);
  out.push_back(0x01);
}

bool ReadEscaped(ByteView in, size_t& pos, Bytes& name) {
  name.clear();
  for (size_t i = pos; i < in.size(); ++i) {
    if (in[i] != 0x00) {
      name.push_back(in[i]);
      continue;
    }
    if (i + 1 >= in.size()) return false;
    if (in[i + 1] == 0xFF) {
      name.push_back(0x00);
      ++i;
      continue;
    }
    if (in[i + 1] != 0x01) return false;
    pos = i + 2;
    return true;
  }
  return false;
}

nlohmann::json RenderBytes(ByteView value) {
  std::string_view s = AsChars(value);
  if (codec::IsValidUtf8(s)) return std::string(s);
  return nlohmann::json{{"hex", HexEncode(value)}};
}

Status BadState(std::string_view what) {
  return Status::Corruption("crdt state: " + std::string(what));
}

Bytes TagSet::TagKey(uint8_t kind, ByteView name, const VertexId* tag) const {
  Bytes k = SubKey(prefix_, kind);
  AppendEscaped(k, name);
  if (tag) Append(k, tag->view());
  return k;
}

Result<bool> TagSet::IsLive(ByteView name) {
  bool live = false;
  TOPO_RETURN_IF_ERROR(
      state_.Scan(object_, TagKey(kLiveTag, name, nullptr), [&live](ByteView, ByteView) {
        live = true;
        return false;
      }));
  return live;
}

Status TagSet::Add(ByteView name, const VertexId& tag, bool& added) {
  TOPO_ASSIGN_OR_RETURN(auto dead, state_.Get(object_, TagKey(kDeadTag, name, &tag)));
  added = !dead.has_value();
  // The tag is the applying vertex's id, and a vertex applies once: the entry is new.
  if (added) TOPO_RETURN_IF_ERROR(state_.PutNew(object_, TagKey(kLiveTag, name, &tag), {}));
  return Status::Ok();
}

Status TagSet::Remove(ByteView name, const std::vector<VertexId>& tags, bool& was_live,
                      bool& still_live) {
  // The writes below delete exactly the live entries prefix || tag for the named tags, so
  // `name` stays live iff some entry under prefix is not one of those. The scan stops at
  // the first such entry; before it, it passes only entries that are about to go.
  const Bytes prefix = TagKey(kLiveTag, name, nullptr);
  std::vector<VertexId> named = tags;  // ops name them ascending; sorting keeps this local
  std::sort(named.begin(), named.end());
  was_live = false;
  still_live = false;
  TOPO_RETURN_IF_ERROR(state_.Scan(object_, prefix, [&](ByteView key, ByteView) {
    was_live = true;
    const bool goes = key.size() == prefix.size() + VertexId::kSize &&
                      std::binary_search(named.begin(), named.end(),
                                         VertexId::FromView(key.subspan(prefix.size())));
    if (!goes) still_live = true;
    return goes;
  }));
  for (const VertexId& tag : tags) {
    TOPO_RETURN_IF_ERROR(state_.Put(object_, TagKey(kDeadTag, name, &tag), {}));
    TOPO_RETURN_IF_ERROR(state_.Delete(object_, TagKey(kLiveTag, name, &tag)));
  }
  return Status::Ok();
}

Result<std::vector<VertexId>> TagSet::LiveTags(ByteView name, size_t max) {
  Bytes prefix = TagKey(kLiveTag, name, nullptr);
  std::vector<VertexId> tags;
  Status bad;
  TOPO_RETURN_IF_ERROR(state_.Scan(object_, prefix, [&](ByteView key, ByteView) {
    if (key.size() != prefix.size() + VertexId::kSize) {
      bad = BadState("tag key of the wrong length");
      return false;
    }
    tags.push_back(VertexId::FromView(key.subspan(prefix.size())));
    return tags.size() < max;
  }));
  TOPO_RETURN_IF_ERROR(bad);
  return tags;
}

Result<std::vector<Bytes>> TagSet::LiveNames() {
  // A name updated n times has n live tags (until a remove names them), so reading every
  // entry costs O(updates). After a few tags of the same name the scan stops and starts
  // again past all of that name's entries: O(names) seeks, and a name with few tags is
  // still read in one pass.
  constexpr size_t kTagsBeforeSeek = 8;
  const Bytes prefix = SubKey(prefix_, kLiveTag);
  std::vector<Bytes> names;
  Status bad;
  Bytes name;
  Bytes from = prefix;
  for (;;) {
    size_t same = 0;
    bool skip = false;
    TOPO_RETURN_IF_ERROR(state_.ScanFrom(object_, prefix, from, [&](ByteView key, ByteView) {
      size_t pos = prefix.size();
      if (!ReadEscaped(key, pos, name) || key.size() - pos != VertexId::kSize) {
        bad = BadState("malformed tag key");
        return false;
      }
      if (names.empty() || names.back() != name) {
        names.push_back(name);
        same = 0;
      }
      skip = ++same > kTagsBeforeSeek;
      return !skip;
    }));
    TOPO_RETURN_IF_ERROR(bad);
    if (!skip) return names;
    // Past every key prefix || esc(name) || tag: esc(name) ends in 0x00 0x01, so the
    // successor always exists.
    from = prefix;
    AppendEscaped(from, names.back());
    from.pop_back();
    from.push_back(0x02);
  }
}

}  // namespace topo::object::internal
