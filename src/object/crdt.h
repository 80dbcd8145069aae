// The built-in CRDTs: counter, last-writer-wins register, multi-value register, OR-set, map
// and list (RGA). Each field of an object is one CRDT whose state lives in the object's
// StateStore entries under a byte prefix the caller chooses; nothing is kept in memory
// between calls.
//
// Convergence. Replicas apply vertices in a causal order, but concurrent vertices in any
// order. For any set of ops, the state entries (keys and values, byte for byte) depend only on
// the set applied, never on the order — also when an op names tags or elements that were not
// in its causal past (a malicious or buggy author): removals are recorded as tombstones that
// take effect whenever the named tag arrives, and nothing relies on validation of the ids an
// op names. REQUIRES for that: each vertex is applied at most once (the graph layer dedups).
//
// Semantics.
//  counter  value = sum of deltas in wrapping two's complement int64 arithmetic. Wrapping
//           commutes; saturation would not. A delta of 0 is allowed and changes nothing.
//  lww      value = the value of the op with the greatest (created_at, vertex id).
//  mv       values = every set not superseded: a set tombstones each id it lists in
//           `supersedes` and adds its own value unless its id was tombstoned already.
//           Rendered as an array of values ordered by vertex id.
//  set      OR-set, add wins: an element is present iff one of its add tags (the adding
//           vertex's id) is live; a remove tombstones the tags it lists for that element.
//           Rendered as an array ordered by element bytes.
//  map      key -> a value CRDT of the declared value type. Every update of a key adds a
//           presence tag (the vertex id) and applies the inner op; a remove tombstones the
//           presence tags it lists. A key is visible iff it has a live presence tag. The
//           value's state is kept when its key is removed: a later update makes the key
//           visible again with that state plus the update (like a counter that keeps
//           counting). Rendered as a JSON object of the visible keys.
//  list     RGA. Element i of an insert by vertex V is ElemId (V, i); element 0 follows
//           `after` (or the head), element i follows element i-1. The elements form a tree
//           by "follows"; the sequence is its pre-order walk from the head, where the
//           children of an element come in descending order of (depth, created_at, vertex
//           id, index) — a later insert at the same spot comes first, and an insert made
//           after seeing X always lands right after X, because its depth is greater than
//           that of every element its author had. Deleted elements stay in the tree as
//           tombstones; a delete that arrives before its element still takes effect. An
//           element whose `after` never arrived is not shown.
//
// State key layout, under the CRDT's prefix P (esc(x) is x with 0x00 -> 0x00 0xFF, then
// 0x00 0x01: prefix-free and ordered as x; so Scan(P) returns exactly this CRDT's entries,
// and a map value's prefix is never a prefix of another's):
//  counter  P                                   -> svarint sum
//  lww      P                                   -> varint created_at || [32] id || value
//  mv       P 'a' [32] id                       -> value           (live value)
//           P 'r' [32] id                       -> ""              (superseded id)
//  set      P 'a' esc(element) [32] tag         -> ""              (live add tag)
//           P 'r' esc(element) [32] tag         -> ""              (removed tag)
//  map      P 'a' esc(key) [32] tag             -> ""              (live presence tag)
//           P 'r' esc(key) [32] tag             -> ""              (removed presence tag)
//           P 'v' esc(key) ...                  the value CRDT, under prefix P 'v' esc(key)
//  list     P 'e' [32] vertex id                -> varint depth || varint created_at ||
//                                                  u8 has_after || [[32] id || varint index]
//                                                  || varint n || n * (varint len || bytes)
//           P 'd' [32] vertex id [4] index (BE) -> ""              (deleted element)
// Tombstones are never collected (future work: collect those below the causal stability
// frontier).
//
// Effects. ApplyOp returns what changed for a caller that mirrors rendered values:
// Effect.path names a value by the map keys leading to it, "" for the CRDT at the prefix
// itself, else "/k1/k2" where each key has '%' written as "%25" and '/' as "%2F" (nothing
// else is escaped). A path names a leaf whose rendering may have changed, or a map key that
// appeared (removed=false; render the whole value at that path) or disappeared
// (removed=true). Changes under a key that is not visible are not reported. A report may
// occasionally name a value whose rendering turned out equal (a list insert after an
// element that has not arrived; an MV value replaced by an equal value); it never misses a
// change.
//
// Thread-safety: none of its own; all calls go through the caller's StateStore, inside the
// caller's transaction. On an error ApplyOp may have written part of the op: the caller
// must roll back its transaction. ApplyOp checks the op (shape and type) before writing, so
// errors after that come only from the store or from corrupt state.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "codec/crdt_op.h"
#include "codec/vertex.h"
#include "crypto/crypto.h"
#include "store/state_store.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::object {

using codec::CrdtKind;
using codec::CrdtOp;
using codec::ElemId;
using codec::FieldType;

// The vertex carrying the op.
struct OpContext {
  codec::VertexId id;       // the tag of adds and presence, the LWW tie-break, the ElemId base
  uint64_t created_at = 0;  // author-claimed ms; orders LWW sets
  crypto::PublicKey author;
  // The vertex depth (1 + max parent depth). Orders concurrent list inserts so that an insert
  // lands where its author saw it. Callers should always set it; left 0, the list falls back
  // to created_at, which places inserts wrongly when clocks are skewed (still convergent).
  uint64_t depth = 0;
};

struct Effect {
  std::string path;      // see "Effects" above
  bool removed = false;  // the map key at `path` is no longer visible
  bool operator==(const Effect&) const = default;
};

// Ok when `type` is well-formed (codec::CheckFieldType), `op` is well-formed
// (codec::CheckCrdtOp) and the op fits the type, recursively through map updates.
// A mismatch is Rejected, naming the path and both kinds.
Status ValidateOp(const FieldType& type, const CrdtOp& op);

// Applies `op` from the vertex `ctx` to the CRDT of type `type` at `prefix` of `object`.
// Runs ValidateOp first and writes nothing when it fails.
Result<std::vector<Effect>> ApplyOp(store::StateStore& state, const codec::ObjectId& object,
                                    ByteView prefix, const FieldType& type, const CrdtOp& op,
                                    const OpContext& ctx);

// The value as JSON: counter -> integer; lww -> value or null before any set; mv, set, list
// -> array of values; map -> object of visible keys. A bytes value is a string when valid
// UTF-8, else {"hex": "<lowercase hex>"}.
Result<nlohmann::json> Render(store::StateStore& state, const codec::ObjectId& object,
                              ByteView prefix, const FieldType& type);
// The value at an Effect path. NotFound when a key on the path is not visible;
// InvalidArgument when the path is malformed or goes through a non-map.
Result<nlohmann::json> RenderPath(store::StateStore& state, const codec::ObjectId& object,
                                  ByteView prefix, const FieldType& type, std::string_view path);

// ---- lists ----

struct ListElement {
  ElemId id;
  Bytes value;
};
// The visible elements of the list at `prefix`, in order.
Result<std::vector<ListElement>> ReadList(store::StateStore& state, const codec::ObjectId& object,
                                          ByteView prefix);
// The visible elements concatenated: a list used as text, one UTF-8 character (or any
// UTF-8 string) per element. InvalidArgument when an element is not valid UTF-8.
Result<std::string> RenderListText(store::StateStore& state, const codec::ObjectId& object,
                                   ByteView prefix);

// ---- paths and nesting ----

// '%' -> "%25", '/' -> "%2F".
std::string EscapePathKey(std::string_view key);
// "" for no keys, else "/" + escaped keys joined by "/".
std::string JoinPath(const std::vector<std::string>& keys);
// The inverse of JoinPath. InvalidArgument for a path that JoinPath cannot produce.
Result<std::vector<std::string>> SplitPath(std::string_view path);

// The prefix of the value of `key` in the map at `map_prefix`.
Bytes MapValuePrefix(ByteView map_prefix, std::string_view key);

// The CRDT reached from (prefix, type) through map `keys` (visible or not).
struct FieldAt {
  Bytes prefix;
  const FieldType* type;  // points into the `type` passed to ResolvePath
};
// InvalidArgument when a key is malformed or the path goes through a non-map.
Result<FieldAt> ResolvePath(ByteView prefix, const FieldType& type,
                            const std::vector<std::string>& keys);

// map.update(keys[0], map.update(keys[1], ... leaf)): the op that applies `leaf` to the CRDT
// at `keys` below a map field. Returns `leaf` itself for no keys.
CrdtOp WrapInMapUpdates(const std::vector<std::string>& keys, CrdtOp leaf);

// ---- op builders for a local author ----
// Each reads the current state of the CRDT at `prefix` (resolve nested values with
// ResolvePath, then wrap the result with WrapInMapUpdates) and returns a well-formed op, or
// InvalidArgument for inputs over the op bounds (codec/crdt_op.h). When more than
// codec::kMaxCrdtIds tags would be needed, the op names the first kMaxCrdtIds (ascending)
// and a second op is needed for the rest.

// mv.set(value) superseding every value currently visible.
Result<CrdtOp> MakeMvSet(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
                         Bytes value);
// set.remove(element) naming its live add tags. NotFound when the element is absent.
Result<CrdtOp> MakeSetRemove(store::StateStore& state, const codec::ObjectId& object,
                             ByteView prefix, ByteView element);
// map.remove(key) naming its live presence tags. NotFound when the key is not visible.
Result<CrdtOp> MakeMapRemove(store::StateStore& state, const codec::ObjectId& object,
                             ByteView prefix, std::string_view key);
// list.insert placing `values` so that the first is at visible position `index`
// (0..size). InvalidArgument when index > size.
Result<CrdtOp> MakeListInsert(store::StateStore& state, const codec::ObjectId& object,
                              ByteView prefix, size_t index, std::vector<Bytes> values);
// list.delete of the visible elements [index, index + count). InvalidArgument when the range
// is empty or goes past the end.
Result<CrdtOp> MakeListDelete(store::StateStore& state, const codec::ObjectId& object,
                              ByteView prefix, size_t index, size_t count);

}  // namespace topo::object
