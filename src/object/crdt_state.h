// Internal to the CRDT implementation (object/crdt*.cc): state key construction and the
// tag sets shared by the OR-set and the map. object/crdt.h documents the key layout.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "codec/vertex.h"
#include "store/state_store.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::object::internal {

using codec::ObjectId;
using codec::VertexId;

// The byte after a CRDT's prefix that says what an entry is.
constexpr uint8_t kLiveTag = 'a';      // OR-set add tag, map presence tag, live MV value
constexpr uint8_t kDeadTag = 'r';      // tombstoned tag / superseded MV id
constexpr uint8_t kMapValue = 'v';     // a map value's own prefix
constexpr uint8_t kListRun = 'e';      // one list insert
constexpr uint8_t kListDeleted = 'd';  // one deleted list element

// prefix || tag
Bytes SubKey(ByteView prefix, uint8_t tag);

// Appends `name` so that the result is prefix-free (no escaped name is a prefix of another)
// and sorts as the names do: 0x00 becomes 0x00 0xFF and the name ends with 0x00 0x01.
void AppendEscaped(Bytes& out, ByteView name);
// Parses one escaped name at in[pos..]; advances pos. False if malformed.
bool ReadEscaped(ByteView in, size_t& pos, Bytes& name);

// A bytes value as JSON: a string when valid UTF-8, else {"hex": "..."}.
nlohmann::json RenderBytes(ByteView value);

// Corruption status for state entries that fail to decode.
Status BadState(std::string_view what);

// Named sets of tags with tombstones, under one prefix:
//   prefix || kLiveTag || esc(name) || [32] tag  -> ""   a live tag
//   prefix || kDeadTag || esc(name) || [32] tag  -> ""   a tombstoned tag
// A tag is live iff it was added and never removed; both orders give the same entries.
class TagSet {
 public:
  TagSet(store::StateStore& state, const ObjectId& object, ByteView prefix)
      : state_(state), object_(object), prefix_(prefix.begin(), prefix.end()) {}

  // True when `name` has at least one live tag.
  Result<bool> IsLive(ByteView name);
  // Adds a live tag unless that tag was tombstoned already; `added` says which. `tag` is the
  // applying vertex's id (the entry is new: PutNew).
  Status Add(ByteView name, const VertexId& tag, bool& added);
  // Tombstones the tags, whether or not their adds have arrived. Also says whether `name`
  // had a live tag before (was_live) and has one after (still_live): IsLive before and
  // after, answered by one scan.
  Status Remove(ByteView name, const std::vector<VertexId>& tags, bool& was_live, bool& still_live);
  // Live tags of `name`, ascending, at most `max`.
  Result<std::vector<VertexId>> LiveTags(ByteView name, size_t max);
  // Every name with a live tag, in ascending byte order.
  Result<std::vector<Bytes>> LiveNames();

 private:
  Bytes TagKey(uint8_t kind, ByteView name, const VertexId* tag) const;

  store::StateStore& state_;
  const ObjectId& object_;
  Bytes prefix_;
};

}  // namespace topo::object::internal
