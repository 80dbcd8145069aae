#include "object/crdt.h"

#include <algorithm>

#include "codec/reader.h"
#include "object/crdt_list.h"
#include "object/crdt_state.h"

namespace topo::object {
namespace {

using internal::BadState;
using internal::RenderBytes;
using internal::SubKey;
using internal::TagSet;

// ---- counter: P -> svarint sum ----

Result<int64_t> ReadCounter(store::StateStore& state, const codec::ObjectId& object,
                            ByteView prefix) {
  TOPO_ASSIGN_OR_RETURN(auto raw, state.Get(object, prefix));
  if (!raw) return int64_t{0};
  codec::Reader r(*raw);
  int64_t sum;
  TOPO_RETURN_IF_ERROR(r.SVarint("counter state", sum));
  TOPO_RETURN_IF_ERROR(r.ExpectEnd("counter state"));
  return sum;
}

Status ApplyCounter(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
                    const codec::CounterAdd& add, std::vector<Effect>& effects) {
  TOPO_ASSIGN_OR_RETURN(int64_t sum, ReadCounter(state, object, prefix));
  // Wrapping addition: commutative and associative, unlike saturation.
  sum = static_cast<int64_t>(static_cast<uint64_t>(sum) + static_cast<uint64_t>(add.delta));
  codec::Writer w;
  w.SVarint(sum);
  TOPO_RETURN_IF_ERROR(state.Put(object, prefix, w.bytes()));
  if (add.delta != 0) effects.push_back({"", false});
  return Status::Ok();
}

// ---- lww: P -> varint created_at || [32] id || value ----

struct LwwState {
  uint64_t created_at = 0;
  codec::VertexId id;
  Bytes value;
};

Result<std::optional<LwwState>> ReadLww(store::StateStore& state, const codec::ObjectId& object,
                                        ByteView prefix) {
  TOPO_ASSIGN_OR_RETURN(auto raw, state.Get(object, prefix));
  if (!raw) return std::optional<LwwState>();
  codec::Reader r(*raw);
  LwwState s;
  TOPO_RETURN_IF_ERROR(r.Varint("lww state: created_at", s.created_at));
  TOPO_RETURN_IF_ERROR(r.Fixed("lww state: id", s.id));
  ByteView value;
  TOPO_RETURN_IF_ERROR(r.Raw("lww state: value", r.remaining(), value));
  s.value.assign(value.begin(), value.end());
  return std::optional<LwwState>(std::move(s));
}

Status ApplyLww(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
                const codec::LwwSet& set, const OpContext& ctx, std::vector<Effect>& effects) {
  TOPO_ASSIGN_OR_RETURN(auto current, ReadLww(state, object, prefix));
  if (current && std::tie(current->created_at, current->id) >= std::tie(ctx.created_at, ctx.id))
    return Status::Ok();
  codec::Writer w;
  w.Varint(ctx.created_at);
  w.Fixed(ctx.id);
  w.Raw(set.value);
  TOPO_RETURN_IF_ERROR(state.Put(object, prefix, w.bytes()));
  if (!current || current->value != set.value) effects.push_back({"", false});
  return Status::Ok();
}

// ---- mv: P 'a' id -> value (live), P 'r' id -> "" (superseded) ----

Bytes IdKey(ByteView prefix, uint8_t tag, const codec::VertexId& id) {
  Bytes k = SubKey(prefix, tag);
  Append(k, id.view());
  return k;
}

Status ApplyMv(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
               const codec::MvSet& set, const OpContext& ctx, std::vector<Effect>& effects) {
  bool changed = false;
  for (const codec::VertexId& old : set.supersedes) {
    TOPO_RETURN_IF_ERROR(state.Put(object, IdKey(prefix, internal::kDeadTag, old), {}));
    Bytes live = IdKey(prefix, internal::kLiveTag, old);
    TOPO_ASSIGN_OR_RETURN(auto existing, state.Get(object, live));
    if (existing) {
      TOPO_RETURN_IF_ERROR(state.Delete(object, live));
      changed = true;
    }
  }
  TOPO_ASSIGN_OR_RETURN(auto dead, state.Get(object, IdKey(prefix, internal::kDeadTag, ctx.id)));
  if (!dead) {
    // Named by the applying vertex's id: new (a vertex applies once).
    TOPO_RETURN_IF_ERROR(
        state.PutNew(object, IdKey(prefix, internal::kLiveTag, ctx.id), set.value));
    changed = true;
  }
  if (changed) effects.push_back({"", false});
  return Status::Ok();
}

// Live (id, value) pairs ascending by id, at most `max`.
Result<std::vector<std::pair<codec::VertexId, Bytes>>> ReadMv(store::StateStore& state,
                                                              const codec::ObjectId& object,
                                                              ByteView prefix, size_t max) {
  Bytes live = SubKey(prefix, internal::kLiveTag);
  std::vector<std::pair<codec::VertexId, Bytes>> values;
  Status bad;
  TOPO_RETURN_IF_ERROR(state.Scan(object, live, [&](ByteView key, ByteView value) {
    if (key.size() != live.size() + codec::VertexId::kSize) {
      bad = BadState("mv key of the wrong length");
      return false;
    }
    values.emplace_back(codec::VertexId::FromView(key.subspan(live.size())),
                        Bytes(value.begin(), value.end()));
    return values.size() < max;
  }));
  TOPO_RETURN_IF_ERROR(bad);
  return values;
}

// ---- set ----

Status ApplySet(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
                const CrdtOp& op, const OpContext& ctx, std::vector<Effect>& effects) {
  TagSet tags(state, object, prefix);
  if (const auto* add = std::get_if<codec::SetAdd>(&op.op)) {
    TOPO_ASSIGN_OR_RETURN(bool before, tags.IsLive(add->element));
    bool added;
    TOPO_RETURN_IF_ERROR(tags.Add(add->element, ctx.id, added));
    if (!before && added) effects.push_back({"", false});
    return Status::Ok();
  }
  const auto& remove = std::get<codec::SetRemove>(op.op);
  bool before, after;
  TOPO_RETURN_IF_ERROR(tags.Remove(remove.element, remove.observed, before, after));
  if (before && !after) effects.push_back({"", false});
  return Status::Ok();
}

// ---- map ----

std::string KeyPath(std::string_view key) { return "/" + EscapePathKey(key); }

Status ApplyAt(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
               const FieldType& type, const CrdtOp& op, const OpContext& ctx,
               std::vector<Effect>& effects);

Status ApplyMap(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
                const FieldType& type, const CrdtOp& op, const OpContext& ctx,
                std::vector<Effect>& effects) {
  TagSet tags(state, object, prefix);
  if (const auto* update = std::get_if<codec::MapUpdate>(&op.op)) {
    ByteView key = AsBytes(update->key);
    TOPO_ASSIGN_OR_RETURN(bool before, tags.IsLive(key));
    bool added;
    TOPO_RETURN_IF_ERROR(tags.Add(key, ctx.id, added));
    std::vector<Effect> inner;
    TOPO_RETURN_IF_ERROR(ApplyAt(state, object, MapValuePrefix(prefix, update->key), *type.value,
                                 *update->op, ctx, inner));
    if (!before && !added) return Status::Ok();  // the value changed out of sight
    std::string path = KeyPath(update->key);
    if (!before) effects.push_back({path, false});
    for (Effect& e : inner) {
      if (!before && e.path.empty()) continue;  // already reported as the key appearing
      effects.push_back({path + e.path, e.removed});
    }
    return Status::Ok();
  }
  const auto& remove = std::get<codec::MapRemove>(op.op);
  bool before, after;
  TOPO_RETURN_IF_ERROR(tags.Remove(AsBytes(remove.key), remove.observed, before, after));
  if (before && !after) effects.push_back({KeyPath(remove.key), true});
  return Status::Ok();
}

Status ApplyAt(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
               const FieldType& type, const CrdtOp& op, const OpContext& ctx,
               std::vector<Effect>& effects) {
  switch (type.kind) {
    case CrdtKind::kCounter:
      return ApplyCounter(state, object, prefix, std::get<codec::CounterAdd>(op.op), effects);
    case CrdtKind::kLwwRegister:
      return ApplyLww(state, object, prefix, std::get<codec::LwwSet>(op.op), ctx, effects);
    case CrdtKind::kMvRegister:
      return ApplyMv(state, object, prefix, std::get<codec::MvSet>(op.op), ctx, effects);
    case CrdtKind::kOrSet:
      return ApplySet(state, object, prefix, op, ctx, effects);
    case CrdtKind::kMap:
      return ApplyMap(state, object, prefix, type, op, ctx, effects);
    case CrdtKind::kList:
      return internal::ApplyListOp(state, object, prefix, op, ctx, effects);
    case CrdtKind::kLog:
      // The entry itself is the app projector's (object/app.h); the state is the count.
      return ApplyCounter(state, object, prefix, codec::CounterAdd{1}, effects);
  }
  return Status::Internal("ApplyOp: unknown kind");
}

Status CheckKind(const FieldType& type, const CrdtOp& op, const std::string& path) {
  if (op.kind() != type.kind)
    return Status::Rejected("op " + std::string(op.name()) + " does not fit the " +
                            codec::CrdtKindName(type.kind) + " at \"" + path + "\"");
  if (const auto* update = std::get_if<codec::MapUpdate>(&op.op))
    return CheckKind(*type.value, *update->op, path + KeyPath(update->key));
  return Status::Ok();
}

}  // namespace

Status ValidateOp(const FieldType& type, const CrdtOp& op) {
  Status st = codec::CheckFieldType(type);
  if (!st.ok()) return Status::Rejected(st.message());
  st = codec::CheckCrdtOp(op);
  if (!st.ok()) return Status::Rejected(st.message());
  return CheckKind(type, op, "");
}

Result<std::vector<Effect>> ApplyOp(store::StateStore& state, const codec::ObjectId& object,
                                    ByteView prefix, const FieldType& type, const CrdtOp& op,
                                    const OpContext& ctx) {
  TOPO_RETURN_IF_ERROR(ValidateOp(type, op));
  std::vector<Effect> effects;
  TOPO_RETURN_IF_ERROR(ApplyAt(state, object, prefix, type, op, ctx, effects));
  return effects;
}

Result<nlohmann::json> Render(store::StateStore& state, const codec::ObjectId& object,
                              ByteView prefix, const FieldType& type) {
  switch (type.kind) {
    case CrdtKind::kCounter:
    case CrdtKind::kLog: {  // a log renders as its entry count
      TOPO_ASSIGN_OR_RETURN(int64_t sum, ReadCounter(state, object, prefix));
      return nlohmann::json(sum);
    }
    case CrdtKind::kLwwRegister: {
      TOPO_ASSIGN_OR_RETURN(auto current, ReadLww(state, object, prefix));
      if (!current) return nlohmann::json(nullptr);
      return RenderBytes(current->value);
    }
    case CrdtKind::kMvRegister: {
      TOPO_ASSIGN_OR_RETURN(auto values, ReadMv(state, object, prefix, SIZE_MAX));
      nlohmann::json out = nlohmann::json::array();
      for (const auto& [id, value] : values) out.push_back(RenderBytes(value));
      return out;
    }
    case CrdtKind::kOrSet: {
      TagSet tags(state, object, prefix);
      TOPO_ASSIGN_OR_RETURN(auto elements, tags.LiveNames());
      nlohmann::json out = nlohmann::json::array();
      for (const Bytes& e : elements) out.push_back(RenderBytes(e));
      return out;
    }
    case CrdtKind::kMap: {
      if (!type.value) return Status::InvalidArgument("field type: map without a value type");
      TagSet tags(state, object, prefix);
      TOPO_ASSIGN_OR_RETURN(auto keys, tags.LiveNames());
      nlohmann::json out = nlohmann::json::object();
      for (const Bytes& key : keys) {
        std::string k(AsChars(key));
        if (!codec::IsValidUtf8(k)) return BadState("map key is not valid UTF-8");
        TOPO_ASSIGN_OR_RETURN(out[k],
                              Render(state, object, MapValuePrefix(prefix, k), *type.value));
      }
      return out;
    }
    case CrdtKind::kList: {
      TOPO_ASSIGN_OR_RETURN(auto elems, ReadList(state, object, prefix));
      nlohmann::json out = nlohmann::json::array();
      for (const ListElement& e : elems) out.push_back(RenderBytes(e.value));
      return out;
    }
  }
  return Status::InvalidArgument("field type: unknown kind");
}

Result<nlohmann::json> RenderPath(store::StateStore& state, const codec::ObjectId& object,
                                  ByteView prefix, const FieldType& type, std::string_view path) {
  TOPO_ASSIGN_OR_RETURN(auto keys, SplitPath(path));
  Bytes at(prefix.begin(), prefix.end());
  const FieldType* t = &type;
  for (const std::string& key : keys) {
    if (t->kind != CrdtKind::kMap || !t->value)
      return Status::InvalidArgument("path \"" + std::string(path) + "\" goes through a " +
                                     codec::CrdtKindName(t->kind));
    TagSet tags(state, object, at);
    TOPO_ASSIGN_OR_RETURN(bool visible, tags.IsLive(AsBytes(key)));
    if (!visible)
      return Status::NotFound("no key \"" + key + "\" on path \"" + std::string(path) + "\"");
    at = MapValuePrefix(at, key);
    t = t->value.get();
  }
  return Render(state, object, at, *t);
}

std::string EscapePathKey(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '%')
      out += "%25";
    else if (c == '/')
      out += "%2F";
    else
      out += c;
  }
  return out;
}

std::string JoinPath(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& k : keys) out += KeyPath(k);
  return out;
}

Result<std::vector<std::string>> SplitPath(std::string_view path) {
  std::vector<std::string> keys;
  if (path.empty()) return keys;
  if (path[0] != '/') return Status::InvalidArgument("path must be empty or start with '/'");
  size_t i = 1;
  std::string key;
  for (;;) {
    if (i == path.size() || path[i] == '/') {
      if (key.empty()) return Status::InvalidArgument("path has an empty key");
      keys.push_back(std::move(key));
      key.clear();
      if (i == path.size()) return keys;
      ++i;
      continue;
    }
    if (path[i] == '%') {
      std::string_view esc = path.substr(i, 3);
      if (esc == "%25")
        key += '%';
      else if (esc == "%2F")
        key += '/';
      else
        return Status::InvalidArgument("path has a '%' other than %25 or %2F");
      i += 3;
      continue;
    }
    key += path[i++];
  }
}

Bytes MapValuePrefix(ByteView map_prefix, std::string_view key) {
  Bytes p = SubKey(map_prefix, internal::kMapValue);
  internal::AppendEscaped(p, AsBytes(key));
  return p;
}

Result<FieldAt> ResolvePath(ByteView prefix, const FieldType& type,
                            const std::vector<std::string>& keys) {
  TOPO_RETURN_IF_ERROR(codec::CheckFieldType(type));
  FieldAt at{Bytes(prefix.begin(), prefix.end()), &type};
  for (const std::string& key : keys) {
    if (at.type->kind != CrdtKind::kMap)
      return Status::InvalidArgument("key \"" + key + "\" below a " +
                                     codec::CrdtKindName(at.type->kind));
    if (key.empty() || key.size() > codec::kMaxMapKey || !codec::IsValidUtf8(key))
      return Status::InvalidArgument("map key must be 1.." + std::to_string(codec::kMaxMapKey) +
                                     " bytes of UTF-8");
    at.prefix = MapValuePrefix(at.prefix, key);
    at.type = at.type->value.get();
  }
  return at;
}

CrdtOp WrapInMapUpdates(const std::vector<std::string>& keys, CrdtOp leaf) {
  for (size_t i = keys.size(); i-- > 0;) leaf = codec::MakeMapUpdate(keys[i], std::move(leaf));
  return leaf;
}

Result<CrdtOp> MakeMvSet(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
                         Bytes value) {
  TOPO_ASSIGN_OR_RETURN(auto current, ReadMv(state, object, prefix, codec::kMaxCrdtIds));
  codec::MvSet set{std::move(value), {}};
  for (const auto& [id, v] : current) set.supersedes.push_back(id);
  CrdtOp op{std::move(set)};
  TOPO_RETURN_IF_ERROR(codec::CheckCrdtOp(op));
  return op;
}

Result<CrdtOp> MakeSetRemove(store::StateStore& state, const codec::ObjectId& object,
                             ByteView prefix, ByteView element) {
  TagSet tags(state, object, prefix);
  TOPO_ASSIGN_OR_RETURN(auto observed, tags.LiveTags(element, codec::kMaxCrdtIds));
  if (observed.empty()) return Status::NotFound("element is not in the set");
  CrdtOp op{codec::SetRemove{Bytes(element.begin(), element.end()), std::move(observed)}};
  TOPO_RETURN_IF_ERROR(codec::CheckCrdtOp(op));
  return op;
}

Result<CrdtOp> MakeMapRemove(store::StateStore& state, const codec::ObjectId& object,
                             ByteView prefix, std::string_view key) {
  TagSet tags(state, object, prefix);
  TOPO_ASSIGN_OR_RETURN(auto observed, tags.LiveTags(AsBytes(key), codec::kMaxCrdtIds));
  if (observed.empty()) return Status::NotFound("no key \"" + std::string(key) + "\" in the map");
  CrdtOp op{codec::MapRemove{std::string(key), std::move(observed)}};
  TOPO_RETURN_IF_ERROR(codec::CheckCrdtOp(op));
  return op;
}

}  // namespace topo::object
