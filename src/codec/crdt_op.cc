#include "codec/crdt_op.h"

#include <algorithm>

#include "codec/reader.h"

namespace topo::codec {
namespace {

enum OpTag : uint8_t {
  kTagCounterAdd = 1,
  kTagLwwSet = 2,
  kTagMvSet = 3,
  kTagSetAdd = 4,
  kTagSetRemove = 5,
  kTagMapUpdate = 6,
  kTagMapRemove = 7,
  kTagListInsert = 8,
  kTagListDelete = 9,
  kTagLogAppend = 10,
};

Status Invalid(std::string_view field, std::string_view why) {
  return Status::InvalidArgument(std::string(field) + ": " + std::string(why));
}
Status Corrupt(std::string_view field, std::string_view why) {
  return Status::Corruption(std::string(field) + ": " + std::string(why));
}

template <typename T>
bool StrictlyAscending(const std::vector<T>& v) {
  return std::adjacent_find(v.begin(), v.end(), [](const T& a, const T& b) { return !(a < b); }) ==
         v.end();
}

Status CheckValue(std::string_view field, const Bytes& v) {
  if (v.size() > kMaxCrdtValue)
    return Invalid(field, "over its bound of " + std::to_string(kMaxCrdtValue) + " bytes");
  return Status::Ok();
}

Status CheckIds(std::string_view field, const std::vector<VertexId>& ids, bool need_one) {
  if (need_one && ids.empty()) return Invalid(field, "empty");
  if (ids.size() > kMaxCrdtIds)
    return Invalid(field, "more than " + std::to_string(kMaxCrdtIds) + " ids");
  if (!StrictlyAscending(ids)) return Invalid(field, "not strictly ascending");
  return Status::Ok();
}

Status CheckKey(std::string_view field, const std::string& key) {
  if (key.empty()) return Invalid(field, "empty");
  if (key.size() > kMaxMapKey)
    return Invalid(field, "over its bound of " + std::to_string(kMaxMapKey) + " bytes");
  if (!IsValidUtf8(key)) return Invalid(field, "not valid UTF-8");
  return Status::Ok();
}

Status CheckElem(std::string_view field, const ElemId& e) {
  if (e.index >= kMaxListInsert)
    return Invalid(field, "index over its bound of " + std::to_string(kMaxListInsert - 1));
  return Status::Ok();
}

// `maps` = map ops enclosing this one.
Status CheckOp(const CrdtOp& op, size_t maps) {
  if (const auto* o = std::get_if<LwwSet>(&op.op)) return CheckValue("crdt_op.lww.value", o->value);
  if (const auto* o = std::get_if<MvSet>(&op.op)) {
    TOPO_RETURN_IF_ERROR(CheckValue("crdt_op.mv.value", o->value));
    return CheckIds("crdt_op.mv.supersedes", o->supersedes, false);
  }
  if (const auto* o = std::get_if<SetAdd>(&op.op))
    return CheckValue("crdt_op.set.element", o->element);
  if (const auto* o = std::get_if<SetRemove>(&op.op)) {
    TOPO_RETURN_IF_ERROR(CheckValue("crdt_op.set.element", o->element));
    return CheckIds("crdt_op.set.observed", o->observed, true);
  }
  if (const auto* o = std::get_if<MapUpdate>(&op.op)) {
    if (maps + 1 > kMaxMapDepth)
      return Invalid("crdt_op.map", "nested deeper than " + std::to_string(kMaxMapDepth));
    TOPO_RETURN_IF_ERROR(CheckKey("crdt_op.map.key", o->key));
    if (!o->op) return Invalid("crdt_op.map.op", "missing");
    return CheckOp(*o->op, maps + 1);
  }
  if (const auto* o = std::get_if<MapRemove>(&op.op)) {
    if (maps + 1 > kMaxMapDepth)
      return Invalid("crdt_op.map", "nested deeper than " + std::to_string(kMaxMapDepth));
    TOPO_RETURN_IF_ERROR(CheckKey("crdt_op.map.key", o->key));
    return CheckIds("crdt_op.map.observed", o->observed, true);
  }
  if (const auto* o = std::get_if<ListInsert>(&op.op)) {
    if (o->after) TOPO_RETURN_IF_ERROR(CheckElem("crdt_op.list.after", *o->after));
    if (o->values.empty()) return Invalid("crdt_op.list.values", "empty");
    if (o->values.size() > kMaxListInsert)
      return Invalid("crdt_op.list.values",
                     "more than " + std::to_string(kMaxListInsert) + " values");
    for (const Bytes& v : o->values) TOPO_RETURN_IF_ERROR(CheckValue("crdt_op.list.value", v));
    return Status::Ok();
  }
  if (const auto* o = std::get_if<ListDelete>(&op.op)) {
    if (o->elems.empty()) return Invalid("crdt_op.list.elems", "empty");
    if (o->elems.size() > kMaxCrdtIds)
      return Invalid("crdt_op.list.elems", "more than " + std::to_string(kMaxCrdtIds) + " ids");
    for (const ElemId& e : o->elems) TOPO_RETURN_IF_ERROR(CheckElem("crdt_op.list.elems", e));
    if (!StrictlyAscending(o->elems))
      return Invalid("crdt_op.list.elems", "not strictly ascending");
    return Status::Ok();
  }
  if (const auto* o = std::get_if<LogAppend>(&op.op))
    return CheckValue("crdt_op.log.entry", o->entry);
  return Status::Ok();  // CounterAdd: every delta is well-formed
}

void PutIds(Writer& w, const std::vector<VertexId>& ids) {
  w.Varint(ids.size());
  for (const VertexId& id : ids) w.Fixed(id);
}

void PutElem(Writer& w, const ElemId& e) {
  w.Fixed(e.vertex);
  w.Varint(e.index);
}

void PutOp(Writer& w, const CrdtOp& op) {
  std::visit(
      [&w](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, CounterAdd>) {
          w.U8(kTagCounterAdd);
          w.SVarint(o.delta);
        } else if constexpr (std::is_same_v<T, LwwSet>) {
          w.U8(kTagLwwSet);
          w.LenBytes(o.value);
        } else if constexpr (std::is_same_v<T, MvSet>) {
          w.U8(kTagMvSet);
          w.LenBytes(o.value);
          PutIds(w, o.supersedes);
        } else if constexpr (std::is_same_v<T, SetAdd>) {
          w.U8(kTagSetAdd);
          w.LenBytes(o.element);
        } else if constexpr (std::is_same_v<T, SetRemove>) {
          w.U8(kTagSetRemove);
          w.LenBytes(o.element);
          PutIds(w, o.observed);
        } else if constexpr (std::is_same_v<T, MapUpdate>) {
          w.U8(kTagMapUpdate);
          w.LenString(o.key);
          if (o.op) PutOp(w, *o.op);
        } else if constexpr (std::is_same_v<T, MapRemove>) {
          w.U8(kTagMapRemove);
          w.LenString(o.key);
          PutIds(w, o.observed);
        } else if constexpr (std::is_same_v<T, ListInsert>) {
          w.U8(kTagListInsert);
          w.U8(o.after ? 1 : 0);
          if (o.after) PutElem(w, *o.after);
          w.Varint(o.values.size());
          for (const Bytes& v : o.values) w.LenBytes(v);
        } else if constexpr (std::is_same_v<T, ListDelete>) {
          w.U8(kTagListDelete);
          w.Varint(o.elems.size());
          for (const ElemId& e : o.elems) PutElem(w, e);
        } else {
          static_assert(std::is_same_v<T, LogAppend>);
          w.U8(kTagLogAppend);
          w.LenBytes(o.entry);
        }
      },
      op.op);
}

Status GetValue(Reader& r, std::string_view field, Bytes& out) {
  ByteView v;
  TOPO_RETURN_IF_ERROR(r.LenBytes(field, kMaxCrdtValue, v));
  out.assign(v.begin(), v.end());
  return Status::Ok();
}

Status GetIds(Reader& r, std::string_view field, bool need_one, std::vector<VertexId>& out) {
  uint64_t n;
  TOPO_RETURN_IF_ERROR(r.VarintMax(field, kMaxCrdtIds, n));
  if (need_one && n == 0) return Corrupt(field, "empty");
  // Bound the allocation by the input actually present.
  if (r.remaining() < n * VertexId::kSize) return Corrupt(field, "truncated");
  out.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    TOPO_RETURN_IF_ERROR(r.Fixed(field, out[i]));
    if (i > 0 && !(out[i - 1] < out[i])) return Corrupt(field, "not strictly ascending");
  }
  return Status::Ok();
}

Status GetKey(Reader& r, std::string& key) {
  TOPO_RETURN_IF_ERROR(r.LenString("crdt_op.map.key", kMaxMapKey, key));
  if (key.empty()) return Corrupt("crdt_op.map.key", "empty");
  return Status::Ok();
}

Status GetElem(Reader& r, std::string_view field, ElemId& e) {
  TOPO_RETURN_IF_ERROR(r.Fixed(field, e.vertex));
  uint64_t index;
  TOPO_RETURN_IF_ERROR(r.VarintMax(field, kMaxListInsert - 1, index));
  e.index = static_cast<uint32_t>(index);
  return Status::Ok();
}

Status GetOp(Reader& r, size_t maps, CrdtOp& op) {
  uint8_t tag;
  TOPO_RETURN_IF_ERROR(r.U8("crdt_op.tag", tag));
  switch (tag) {
    case kTagCounterAdd: {
      CounterAdd o;
      TOPO_RETURN_IF_ERROR(r.SVarint("crdt_op.counter.delta", o.delta));
      op.op = o;
      return Status::Ok();
    }
    case kTagLwwSet: {
      LwwSet o;
      TOPO_RETURN_IF_ERROR(GetValue(r, "crdt_op.lww.value", o.value));
      op.op = std::move(o);
      return Status::Ok();
    }
    case kTagMvSet: {
      MvSet o;
      TOPO_RETURN_IF_ERROR(GetValue(r, "crdt_op.mv.value", o.value));
      TOPO_RETURN_IF_ERROR(GetIds(r, "crdt_op.mv.supersedes", false, o.supersedes));
      op.op = std::move(o);
      return Status::Ok();
    }
    case kTagSetAdd: {
      SetAdd o;
      TOPO_RETURN_IF_ERROR(GetValue(r, "crdt_op.set.element", o.element));
      op.op = std::move(o);
      return Status::Ok();
    }
    case kTagSetRemove: {
      SetRemove o;
      TOPO_RETURN_IF_ERROR(GetValue(r, "crdt_op.set.element", o.element));
      TOPO_RETURN_IF_ERROR(GetIds(r, "crdt_op.set.observed", true, o.observed));
      op.op = std::move(o);
      return Status::Ok();
    }
    case kTagMapUpdate: {
      if (maps + 1 > kMaxMapDepth)
        return Corrupt("crdt_op.map", "nested deeper than " + std::to_string(kMaxMapDepth));
      MapUpdate o;
      TOPO_RETURN_IF_ERROR(GetKey(r, o.key));
      auto inner = std::make_shared<CrdtOp>();
      TOPO_RETURN_IF_ERROR(GetOp(r, maps + 1, *inner));
      o.op = std::move(inner);
      op.op = std::move(o);
      return Status::Ok();
    }
    case kTagMapRemove: {
      if (maps + 1 > kMaxMapDepth)
        return Corrupt("crdt_op.map", "nested deeper than " + std::to_string(kMaxMapDepth));
      MapRemove o;
      TOPO_RETURN_IF_ERROR(GetKey(r, o.key));
      TOPO_RETURN_IF_ERROR(GetIds(r, "crdt_op.map.observed", true, o.observed));
      op.op = std::move(o);
      return Status::Ok();
    }
    case kTagListInsert: {
      ListInsert o;
      uint8_t has_after;
      TOPO_RETURN_IF_ERROR(r.U8("crdt_op.list.has_after", has_after));
      if (has_after > 1) return Corrupt("crdt_op.list.has_after", "not 0 or 1");
      if (has_after) {
        ElemId after;
        TOPO_RETURN_IF_ERROR(GetElem(r, "crdt_op.list.after", after));
        o.after = after;
      }
      uint64_t n;
      TOPO_RETURN_IF_ERROR(r.VarintMax("crdt_op.list.values", kMaxListInsert, n));
      if (n == 0) return Corrupt("crdt_op.list.values", "empty");
      if (r.remaining() < n) return Corrupt("crdt_op.list.values", "truncated");
      o.values.resize(n);
      for (Bytes& v : o.values) TOPO_RETURN_IF_ERROR(GetValue(r, "crdt_op.list.value", v));
      op.op = std::move(o);
      return Status::Ok();
    }
    case kTagListDelete: {
      ListDelete o;
      uint64_t n;
      TOPO_RETURN_IF_ERROR(r.VarintMax("crdt_op.list.elems", kMaxCrdtIds, n));
      if (n == 0) return Corrupt("crdt_op.list.elems", "empty");
      if (r.remaining() < n * (VertexId::kSize + 1))
        return Corrupt("crdt_op.list.elems", "truncated");
      o.elems.resize(n);
      for (uint64_t i = 0; i < n; ++i) {
        TOPO_RETURN_IF_ERROR(GetElem(r, "crdt_op.list.elems", o.elems[i]));
        if (i > 0 && !(o.elems[i - 1] < o.elems[i]))
          return Corrupt("crdt_op.list.elems", "not strictly ascending");
      }
      op.op = std::move(o);
      return Status::Ok();
    }
    case kTagLogAppend: {
      LogAppend o;
      TOPO_RETURN_IF_ERROR(GetValue(r, "crdt_op.log.entry", o.entry));
      op.op = std::move(o);
      return Status::Ok();
    }
    default:
      return Corrupt("crdt_op.tag", "unknown op " + std::to_string(tag));
  }
}

}  // namespace

const char* CrdtKindName(CrdtKind kind) {
  switch (kind) {
    case CrdtKind::kCounter:
      return "counter";
    case CrdtKind::kLwwRegister:
      return "lww";
    case CrdtKind::kMvRegister:
      return "mv";
    case CrdtKind::kOrSet:
      return "set";
    case CrdtKind::kMap:
      return "map";
    case CrdtKind::kList:
      return "list";
    case CrdtKind::kLog:
      return "log";
  }
  return "unknown";
}

bool operator==(const FieldType& a, const FieldType& b) {
  if (a.kind != b.kind) return false;
  if (!a.value || !b.value) return !a.value && !b.value;
  return *a.value == *b.value;
}

Status CheckFieldType(const FieldType& type) {
  size_t maps = 0;
  for (const FieldType* t = &type;; t = t->value.get()) {
    switch (t->kind) {
      case CrdtKind::kCounter:
      case CrdtKind::kLwwRegister:
      case CrdtKind::kMvRegister:
      case CrdtKind::kOrSet:
      case CrdtKind::kList:
        if (t->value) return Status::InvalidArgument("field type: only a map has a value type");
        return Status::Ok();
      case CrdtKind::kLog:
        if (t->value) return Status::InvalidArgument("field type: only a map has a value type");
        if (maps > 0) return Status::InvalidArgument("field type: a log is not a map value");
        return Status::Ok();
      case CrdtKind::kMap:
        if (!t->value) return Status::InvalidArgument("field type: map without a value type");
        if (++maps > kMaxMapDepth)
          return Status::InvalidArgument("field type: maps nested deeper than " +
                                         std::to_string(kMaxMapDepth));
        continue;
    }
    return Status::InvalidArgument("field type: unknown kind " +
                                   std::to_string(static_cast<int>(t->kind)));
  }
}

bool operator==(const MapUpdate& a, const MapUpdate& b) {
  if (a.key != b.key) return false;
  if (!a.op || !b.op) return !a.op && !b.op;
  return *a.op == *b.op;
}

CrdtKind CrdtOp::kind() const {
  switch (op.index()) {
    case 0:
      return CrdtKind::kCounter;
    case 1:
      return CrdtKind::kLwwRegister;
    case 2:
      return CrdtKind::kMvRegister;
    case 3:
    case 4:
      return CrdtKind::kOrSet;
    case 5:
    case 6:
      return CrdtKind::kMap;
    case 7:
    case 8:
      return CrdtKind::kList;
    default:
      return CrdtKind::kLog;
  }
}

const char* CrdtOp::name() const {
  static constexpr const char* kNames[] = {"counter.add", "lww.set",     "mv.set",
                                           "set.add",     "set.remove",  "map.update",
                                           "map.remove",  "list.insert", "list.delete",
                                           "log.append"};
  static_assert(std::size(kNames) == std::variant_size_v<CrdtOpVariant>);
  return kNames[op.index()];
}

CrdtOp MakeMapUpdate(std::string key, CrdtOp inner) {
  return CrdtOp{MapUpdate{std::move(key), std::make_shared<const CrdtOp>(std::move(inner))}};
}

Status CheckCrdtOp(const CrdtOp& op) { return CheckOp(op, 0); }

Bytes EncodeCrdtOp(const CrdtOp& op) {
  Writer w;
  PutOp(w, op);
  return w.Take();
}

Result<CrdtOp> DecodeCrdtOp(ByteView bytes) {
  Reader r(bytes);
  CrdtOp op;
  TOPO_RETURN_IF_ERROR(GetOp(r, 0, op));
  TOPO_RETURN_IF_ERROR(r.ExpectEnd("crdt_op"));
  return op;
}

}  // namespace topo::codec
