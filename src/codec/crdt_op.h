// CRDT operations: what one vertex payload asks one field of an object to do, and their
// canonical encoding. The object layer (object/crdt.h) gives them meaning; this file only
// says what is well-formed.
//
// Encoding (every integer a canonical varint unless said otherwise):
//
//   u8 tag, then by tag:
//   1 counter.add    svarint delta                      (zig-zag; 0 is allowed and a no-op)
//   2 lww.set        bytes value
//   3 mv.set         bytes value, ids supersedes          (ids may be empty)
//   4 set.add        bytes element
//   5 set.remove     bytes element, ids observed          (at least one id)
//   6 map.update     key, op                              (op: this encoding, nested)
//   7 map.remove     key, ids observed                    (at least one id)
//   8 list.insert    u8 has_after (0 or 1), [elem after if 1], varint n (1..kMaxListInsert),
//                    n * bytes value                      (after absent = at the head)
//   9 list.delete    varint n (1..kMaxCrdtIds), n * elem  (strictly ascending, no duplicates)
//  10 log.append     bytes entry                          (an app's entry: object/app.h)
//
//   bytes = varint len (<= kMaxCrdtValue) || len bytes
//   key   = varint len (1..kMaxMapKey) || len bytes of valid UTF-8
//   ids   = varint n (<= kMaxCrdtIds) || n * [32] vertex id, strictly ascending
//   elem  = [32] vertex id || varint index (< kMaxListInsert)
//
// A map.update may nest at most kMaxMapDepth map ops (map.update or map.remove) counting
// itself. Decoding is strict: canonical varints, bounds, sorted unique id lists, known tags,
// and no trailing bytes, so every op has exactly one encoding.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "codec/vertex.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::codec {

constexpr size_t kMaxCrdtValue = 64 * 1024;  // bytes of one value, element or list item
constexpr size_t kMaxCrdtIds = 1024;         // ids in one supersedes/observed/delete list
constexpr size_t kMaxListInsert = 4096;      // values in one list insert
constexpr size_t kMaxMapDepth = 4;           // nested map levels, in ops and field types
constexpr size_t kMaxMapKey = 256;           // bytes of one map key (UTF-8, not empty)

enum class CrdtKind : uint8_t {
  kCounter = 1,
  kLwwRegister = 2,
  kMvRegister = 3,
  kOrSet = 4,
  kMap = 5,
  kList = 6,
  // An append-only log of opaque entries whose meaning belongs to the blueprint's app
  // projector (object/app.h); the engine keeps only the entry count. Not allowed as a map
  // value type.
  kLog = 7,
};

// "counter", "lww", "mv", "set", "map", "list", "log"; "unknown" for anything else.
const char* CrdtKindName(CrdtKind kind);

// The declared type of a field. Value semantics; the map value type is shared and immutable.
struct FieldType {
  CrdtKind kind = CrdtKind::kCounter;
  std::shared_ptr<const FieldType> value;  // the map's value type; set only for kMap

  static FieldType Counter() { return {CrdtKind::kCounter, nullptr}; }
  static FieldType LwwRegister() { return {CrdtKind::kLwwRegister, nullptr}; }
  static FieldType MvRegister() { return {CrdtKind::kMvRegister, nullptr}; }
  static FieldType OrSet() { return {CrdtKind::kOrSet, nullptr}; }
  static FieldType List() { return {CrdtKind::kList, nullptr}; }
  static FieldType Log() { return {CrdtKind::kLog, nullptr}; }
  static FieldType Map(FieldType value_type) {
    return {CrdtKind::kMap, std::make_shared<const FieldType>(std::move(value_type))};
  }

  // Deep comparison.
  friend bool operator==(const FieldType& a, const FieldType& b);
};

// Ok when the kind is known, exactly the maps have a value type, and maps nest at most
// kMaxMapDepth levels. Errors are InvalidArgument.
Status CheckFieldType(const FieldType& type);

// One element of a list: element `index` of the values inserted by vertex `vertex`.
struct ElemId {
  VertexId vertex;
  uint32_t index = 0;
  auto operator<=>(const ElemId&) const = default;
  bool operator==(const ElemId&) const = default;
};

struct CrdtOp;

struct CounterAdd {
  int64_t delta = 0;
  bool operator==(const CounterAdd&) const = default;
};
struct LwwSet {
  Bytes value;
  bool operator==(const LwwSet&) const = default;
};
struct MvSet {
  Bytes value;
  std::vector<VertexId> supersedes;  // ids of the values the author saw; ascending
  bool operator==(const MvSet&) const = default;
};
struct SetAdd {
  Bytes element;
  bool operator==(const SetAdd&) const = default;
};
struct SetRemove {
  Bytes element;
  std::vector<VertexId> observed;  // add tags (vertex ids) the author saw; ascending
  bool operator==(const SetRemove&) const = default;
};
struct MapUpdate {
  std::string key;
  std::shared_ptr<const CrdtOp> op;                                // never null in a well-formed op
  friend bool operator==(const MapUpdate& a, const MapUpdate& b);  // deep
};
struct MapRemove {
  std::string key;
  std::vector<VertexId> observed;  // presence tags the author saw; ascending
  bool operator==(const MapRemove&) const = default;
};
struct ListInsert {
  std::optional<ElemId> after;  // nullopt: at the head
  std::vector<Bytes> values;    // element i gets ElemId (vertex id, i)
  bool operator==(const ListInsert&) const = default;
};
struct ListDelete {
  std::vector<ElemId> elems;  // ascending
  bool operator==(const ListDelete&) const = default;
};
struct LogAppend {
  Bytes entry;
  bool operator==(const LogAppend&) const = default;
};

using CrdtOpVariant = std::variant<CounterAdd, LwwSet, MvSet, SetAdd, SetRemove, MapUpdate,
                                   MapRemove, ListInsert, ListDelete, LogAppend>;

struct CrdtOp {
  CrdtOpVariant op;

  // The kind of CRDT this op applies to.
  CrdtKind kind() const;
  // "counter.add", "map.update", ... for messages.
  const char* name() const;
  friend bool operator==(const CrdtOp& a, const CrdtOp& b) { return a.op == b.op; }
};

// Map.update(key, inner) — convenience for building nested ops.
CrdtOp MakeMapUpdate(std::string key, CrdtOp inner);

// Checks an in-memory op as DecodeCrdtOp would check its encoding: bounds, sorted unique id
// lists, non-null nested ops, depth. Errors are InvalidArgument naming the field.
Status CheckCrdtOp(const CrdtOp& op);

// The canonical encoding. REQUIRES: CheckCrdtOp(op).ok() (otherwise the bytes will not
// decode).
Bytes EncodeCrdtOp(const CrdtOp& op);

// Strict decode of exactly one op filling all of `bytes`. Errors are Corruption with a
// message naming the field ("crdt_op.mv.supersedes: not strictly ascending").
Result<CrdtOp> DecodeCrdtOp(ByteView bytes);

}  // namespace topo::codec
