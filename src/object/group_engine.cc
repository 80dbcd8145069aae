// ObjectEngine, the part about groups: validating and applying group vertices and the
// content of objects inside groups (object/engine.h has the state layout).
#include <algorithm>

#include "codec/object_payload.h"
#include "object/engine.h"
#include "util/encoding.h"

namespace topo::object {
namespace {

const Bytes kBlueprintKey{0x00, 'b'};
const Bytes kGroupKey{0x00, 'g'};
constexpr uint8_t kGroupVertexTag = 'G';
constexpr uint8_t kQueuedTag = 'P';
constexpr uint8_t kQueuedObjectTag = 'Q';
constexpr uint8_t kUnreadableTag = 'U';
// Parents' refs are asked for right after the parent applied; older ones are read again.
constexpr size_t kRefsCacheEntries = 1 << 16;

Bytes Tagged(uint8_t tag) { return Bytes{0x00, tag}; }

// 0x00 tag be64(depth) id: a prefix scan yields linear order.
Bytes OrderedKey(uint8_t tag, const codec::Vertex& v) {
  Bytes k = Tagged(tag);
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<uint8_t>(v.depth >> shift));
  Append(k, v.id.view());
  return k;
}

Bytes IdKey(uint8_t tag, ByteView id) {
  Bytes k = Tagged(tag);
  Append(k, id);
  return k;
}

}  // namespace

void ObjectEngine::SetLocalDevice(const crypto::PublicKey& device, const crypto::BoxKey* box) {
  device_ = device;
  box_ = box;
  keyrings_.clear();
}

void ObjectEngine::SetVertexSource(std::function<Result<Bytes>(const codec::VertexId&)> get_raw) {
  get_raw_ = std::move(get_raw);
}

void ObjectEngine::ForgetCaches() {
  dirty_rows_.clear();
  apps_this_txn_.clear();
  blueprints_.clear();
  group_of_.clear();
  groups_.clear();
  keyrings_.clear();
  refs_cache_.clear();
}

Result<std::optional<codec::ObjectId>> ObjectEngine::GroupOf(const codec::ObjectId& object) {
  auto it = group_of_.find(object);
  if (it != group_of_.end()) return it->second;
  TOPO_ASSIGN_OR_RETURN(auto raw, state_.Get(object, kGroupKey));
  std::optional<codec::ObjectId> group;
  if (raw) {
    if (raw->size() != codec::ObjectId::kSize) return Status::Corruption("group key of an object");
    group = codec::ObjectId::FromView(*raw);
  } else {
    TOPO_ASSIGN_OR_RETURN(const Blueprint* bp, BlueprintOf(object));  // NotFound if unknown
    if (bp == &GroupBlueprint()) group = object;  // a group's own content is sealed too
  }
  group_of_.emplace(object, group);
  return group;
}

Result<GroupIndex*> ObjectEngine::GroupIndexOf(const codec::ObjectId& group) {
  auto it = groups_.find(group);
  if (it != groups_.end()) return it->second.get();
  auto bp = BlueprintOf(group);
  if (!bp.ok() || *bp != &GroupBlueprint())
    return Status::NotFound("no group " + HexEncodeShort(group));
  auto index = std::make_unique<GroupIndex>(group);
  std::vector<Bytes> raws;
  TOPO_RETURN_IF_ERROR(state_.Scan(group, Tagged(kGroupVertexTag), [&](ByteView, ByteView raw) {
    raws.emplace_back(raw.begin(), raw.end());
    return true;
  }));
  for (const Bytes& raw : raws) {
    auto v = codec::DecodeVertex(raw);
    if (!v.ok()) return Status::Corruption("stored group vertex: " + v.status().message());
    TOPO_RETURN_IF_ERROR(index->Add(*v));
  }
  GroupIndex* out = index.get();
  groups_.emplace(group, std::move(index));
  return out;
}

Status ObjectEngine::AbsorbKeys(const codec::ObjectId& group, bool* gained) {
  if (gained) *gained = false;
  if (!box_ || !device_) return Status::Ok();
  TOPO_ASSIGN_OR_RETURN(GroupIndex * index, GroupIndexOf(group));
  Keyring& ring = keyrings_[group];
  size_t before = ring.size();
  // Every share ever sealed to this device, not only the ones the fold keeps: content is
  // valid under the epoch current in its own past, which a concurrent op may have made
  // ineffective later.
  ring.set_scanned_nodes(
      index->ForEachShareTo(*device_, ring.scanned_nodes(),
                            [&](const codec::VertexId& epoch, const codec::SealedKey& sealed) {
                              ring.Try(epoch, sealed, *box_);
                            }));
  if (gained) *gained = ring.size() > before;
  return Status::Ok();
}

const Keyring& ObjectEngine::KeyringOf(const codec::ObjectId& group) {
  if (!keyrings_.count(group)) (void)AbsorbKeys(group, nullptr);
  return keyrings_[group];
}

Result<std::vector<codec::VertexId>> ObjectEngine::GroupRefsOf(const codec::VertexId& id) {
  auto it = refs_cache_.find(id);
  if (it != refs_cache_.end()) return it->second;
  if (!get_raw_) return Status::Internal("the engine has no vertex source");
  TOPO_ASSIGN_OR_RETURN(Bytes raw, get_raw_(id));
  auto v = codec::DecodeVertex(raw);
  if (!v.ok()) return Status::Corruption("stored vertex: " + v.status().message());
  return std::move(v->refs);
}

Status ObjectEngine::ValidateGroupVertex(const codec::Vertex& v) {
  if (!v.refs.empty()) return Status::Rejected("a group vertex has no refs");
  TOPO_ASSIGN_OR_RETURN(GroupVertex gv, DecodeGroupVertex(v));
  if (v.is_genesis()) return GroupState::FromGenesis(gv).status();
  auto index = GroupIndexOf(v.object_id);
  if (!index.ok()) {
    if (index.status().code() != Code::kNotFound) return index.status();
    return Status::Rejected("a group operation on an object that is not a group");
  }
  TOPO_ASSIGN_OR_RETURN(const GroupIndex::Snapshot* snap, (*index)->At(v.parents));
  return snap->state.Check(gv);
}

Status ObjectEngine::ValidateContent(const codec::Vertex& v, const codec::ObjectId& group) {
  auto index_or = GroupIndexOf(group);
  if (!index_or.ok()) {
    if (index_or.status().code() != Code::kNotFound) return index_or.status();
    return Status::Rejected("its group " + HexEncodeShort(group) + " is not a group here");
  }
  GroupIndex* index = *index_or;
  const bool in_group_object = v.object() == group;
  // The group frontier the vertex was made under: its parents for the group's own content,
  // its refs for an object inside the group.
  const std::vector<codec::VertexId>& frontier = in_group_object ? v.parents : v.refs;
  if (in_group_object && !v.refs.empty())
    return Status::Rejected("content of a group object has no refs");
  if (frontier.empty()) return Status::Rejected("names no vertex of its group in refs");
  for (const auto& r : frontier)
    if (!index->Contains(r))
      return Status::Rejected("ref " + HexEncodeShort(r) + " is not a vertex of its group");
  TOPO_ASSIGN_OR_RETURN(const GroupIndex::Snapshot* snap, index->At(frontier));
  if (!in_group_object) {
    // Monotonic group frontier: whatever a parent saw of the group, this vertex saw too, so
    // the refs stand for the whole group past and cannot hide a removal.
    for (const auto& p : v.parents) {
      TOPO_ASSIGN_OR_RETURN(auto prefs, GroupRefsOf(p));
      for (const auto& r : prefs)
        if (!index->InPast(*snap, r))
          return Status::Rejected("its group refs are older than its parent " + HexEncodeShort(p) +
                                  "'s");
    }
  }
  if (v.is_genesis()) {
    if (!snap->state.devices().count(v.author))
      return Status::Rejected("the author is not a member device of the group");
    return Status::Ok();
  }
  auto env = codec::DecodeEnvelope(v.payload);
  if (!env.ok()) return Status::Rejected(env.status().message());
  return snap->state.CheckContent(v.author, env->epoch);
}

Status ObjectEngine::ApplyGroupVertex(const codec::Vertex& v) {
  const codec::ObjectId& group = v.object();
  TOPO_RETURN_IF_ERROR(state_.Put(group, OrderedKey(kGroupVertexTag, v), codec::EncodeVertex(v)));
  if (v.is_genesis()) {
    TOPO_RETURN_IF_ERROR(state_.Put(group, kBlueprintKey, AsBytes(GroupBlueprint().name)));
    blueprints_[group] = &GroupBlueprint();
    group_of_[group] = group;
    auto index = std::make_unique<GroupIndex>(group);
    TOPO_RETURN_IF_ERROR(index->Add(v));
    groups_[group] = std::move(index);
    TOPO_RETURN_IF_ERROR(ProjectAll(group));
  } else {
    TOPO_ASSIGN_OR_RETURN(GroupIndex * index, GroupIndexOf(group));
    TOPO_RETURN_IF_ERROR(index->Add(v));
  }
  if (v.type == codec::kCrdtOpType) return Status::Ok();
  bool gained = false;
  TOPO_RETURN_IF_ERROR(AbsorbKeys(group, &gained));
  if (gained) TOPO_RETURN_IF_ERROR(ReplayQueued(group));
  return Status::Ok();
}

Status ObjectEngine::MarkUnreadable(const codec::Vertex& v, std::string_view why) {
  return state_.Put(v.object(), IdKey(kUnreadableTag, v.id.view()), AsBytes(why));
}

Status ObjectEngine::CheckOp(const Blueprint& bp, ByteView payload, CheckedOp& out) {
  auto p = codec::DecodeOpPayload(payload);
  if (!p.ok()) return p.status();
  out.payload = std::move(*p);
  const uint32_t f = out.payload.field;
  if (f >= bp.fields.size()) return Status::Rejected("op.field: no field " + std::to_string(f));
  TOPO_RETURN_IF_ERROR(ValidateOp(bp.fields[f].type, out.payload.op));
  out.entry = std::get_if<codec::LogAppend>(&out.payload.op.op);
  if (out.entry && bp.app) return bp.app->CheckEntry(f, out.entry->entry);
  return Status::Ok();
}

Status ObjectEngine::ApplyPlain(const codec::Vertex& v, ByteView payload, bool from_envelope) {
  TOPO_ASSIGN_OR_RETURN(const Blueprint* bp, BlueprintOf(v.object_id));
  CheckedOp op;
  Status fits = CheckOp(*bp, payload, op);
  if (!fits.ok()) {
    // Sealed content is checked only once opened, and only where it can be opened: an op
    // that does not fit is skipped, the same way on every replica that reads it.
    if (from_envelope) return MarkUnreadable(v, fits.message());
    return Status::Internal("apply before validate: " + fits.message());
  }
  const uint32_t f = op.payload.field;
  const FieldDecl& field = bp->fields[f];
  Bytes prefix = FieldPrefix(f);
  OpContext ctx{v.id, v.created_at, v.author, v.depth};
  TOPO_ASSIGN_OR_RETURN(auto effects,
                        ApplyOp(state_, v.object_id, prefix, field.type, op.payload.op, ctx));
  TOPO_RETURN_IF_ERROR(Project(v.object_id, f, field, effects));
  if (!op.entry || !bp->app) return Status::Ok();
  TOPO_ASSIGN_OR_RETURN(auto group, GroupOf(v.object_id));
  TOPO_ASSIGN_OR_RETURN(auto app_ctx, AppContextOf(v, group, f));
  return OnEntry(*bp->app, app_ctx, op.entry->entry);
}

Status ObjectEngine::ReprojectApp(const codec::Vertex& v) {
  if (v.is_genesis()) {
    auto g = codec::DecodeGenesisPayload(v.payload);
    if (!g.ok()) return Status::Corruption("applied genesis: " + g.status().message());
    const Blueprint* bp = FindBlueprint(g->blueprint);
    if (!bp || !bp->app) return Status::Ok();
    TOPO_ASSIGN_OR_RETURN(auto ctx, AppContextOf(v, g->group, 0));
    ctx.params = g->params;
    ctx.rebuild = true;
    return OnCreate(*bp->app, ctx);
  }
  if (v.type != codec::kCrdtOpType) return Status::Ok();
  TOPO_ASSIGN_OR_RETURN(const Blueprint* bp, BlueprintOf(v.object_id));
  if (!bp->app) return Status::Ok();
  TOPO_ASSIGN_OR_RETURN(auto group, GroupOf(v.object_id));
  Bytes plain;
  ByteView payload = v.payload;
  if (group) {
    // As ApplyContent: content that no key held here opens was queued or marked unreadable,
    // and never reached the projector; a key that arrived since replayed it (ReplayQueued).
    auto opened = OpenContent(v, KeyringOf(*group));
    if (!opened.ok()) {
      if (opened.status().code() == Code::kNotFound || opened.status().code() == Code::kCorruption)
        return Status::Ok();
      return opened.status();
    }
    plain = std::move(*opened);
    payload = plain;
  }
  CheckedOp op;
  if (!CheckOp(*bp, payload, op).ok() || !op.entry) return Status::Ok();  // as Apply skipped it
  TOPO_ASSIGN_OR_RETURN(auto ctx, AppContextOf(v, group, op.payload.field));
  ctx.rebuild = true;
  return OnEntry(*bp->app, ctx, op.entry->entry);
}

Result<AppContext> ObjectEngine::AppContextOf(const codec::Vertex& v,
                                              const std::optional<codec::ObjectId>& group,
                                              uint32_t field) {
  AppContext ctx;
  ctx.object = v.object();  // a genesis names itself
  ctx.group = group;
  ctx.vertex = v.id;
  ctx.created_at = v.created_at;
  ctx.device = v.author;
  ctx.field = field;
  if (!group) return ctx;
  TOPO_ASSIGN_OR_RETURN(GroupIndex * index, GroupIndexOf(*group));
  // The state the vertex was validated against (ValidateContent): its refs, or its parents
  // for the group's own content.
  const auto& frontier = v.object() == *group ? v.parents : v.refs;
  TOPO_ASSIGN_OR_RETURN(const GroupIndex::Snapshot* snap, index->At(frontier));
  ctx.user = snap->state.UserOf(v.author);
  if (ctx.user) ctx.role = snap->state.RoleOf(*ctx.user).value_or(codec::Role::kMember);
  return ctx;
}

Status ObjectEngine::ApplyContent(const codec::Vertex& v, const codec::ObjectId& group) {
  if (v.object() == group) {
    TOPO_RETURN_IF_ERROR(ApplyGroupVertex(v));  // part of the group's graph too
  } else {
    if (refs_cache_.size() >= kRefsCacheEntries) refs_cache_.clear();
    refs_cache_[v.id] = v.refs;
  }
  const codec::ObjectId& object = v.object_id;
  // Every built-in CRDT applies in any order (removals are tombstones, list inserts wait
  // for their anchor at render time), so readable content applies now even when earlier
  // content of the object waits for a key it may never get (a member without history).
  auto plain = OpenContent(v, KeyringOf(group));
  if (plain.ok()) return ApplyPlain(v, *plain, true);
  if (plain.status().code() == Code::kCorruption)
    return MarkUnreadable(v, plain.status().message());
  if (plain.status().code() != Code::kNotFound) return plain.status();
  // No key for its epoch yet: queue it; a key arriving replays the queue.
  TOPO_RETURN_IF_ERROR(state_.Put(object, OrderedKey(kQueuedTag, v), codec::EncodeVertex(v)));
  return state_.Put(group, IdKey(kQueuedObjectTag, object.view()), {});
}

Result<uint64_t> ObjectEngine::QueuedCount(const codec::ObjectId& object) {
  uint64_t n = 0;
  TOPO_RETURN_IF_ERROR(state_.Scan(object, Tagged(kQueuedTag), [&](ByteView, ByteView) {
    ++n;
    return true;
  }));
  return n;
}

Status ObjectEngine::ReplayQueued(const codec::ObjectId& group) {
  std::vector<codec::ObjectId> objects;
  Bytes qprefix = Tagged(kQueuedObjectTag);
  TOPO_RETURN_IF_ERROR(state_.Scan(group, qprefix, [&](ByteView key, ByteView) {
    if (key.size() == qprefix.size() + codec::ObjectId::kSize)
      objects.push_back(codec::ObjectId::FromView(key.subspan(qprefix.size())));
    return true;
  }));
  const Keyring& ring = KeyringOf(group);
  for (const auto& object : objects) {
    std::vector<std::pair<Bytes, Bytes>> queued;  // key, raw; collected before writing
    TOPO_RETURN_IF_ERROR(state_.Scan(object, Tagged(kQueuedTag), [&](ByteView k, ByteView raw) {
      queued.emplace_back(Bytes(k.begin(), k.end()), Bytes(raw.begin(), raw.end()));
      return true;
    }));
    size_t done = 0;
    for (const auto& [key, raw] : queued) {
      auto v = codec::DecodeVertex(raw);
      if (!v.ok()) return Status::Corruption("queued vertex: " + v.status().message());
      auto plain = OpenContent(*v, ring);
      if (!plain.ok() && plain.status().code() == Code::kNotFound) continue;  // still waits
      if (plain.ok()) {
        TOPO_RETURN_IF_ERROR(ApplyPlain(*v, *plain, true));
      } else if (plain.status().code() == Code::kCorruption) {
        TOPO_RETURN_IF_ERROR(MarkUnreadable(*v, plain.status().message()));
      } else {
        return plain.status();
      }
      TOPO_RETURN_IF_ERROR(state_.Delete(object, key));
      ++done;
    }
    if (done == queued.size())
      TOPO_RETURN_IF_ERROR(state_.Delete(group, IdKey(kQueuedObjectTag, object.view())));
  }
  return Status::Ok();
}

}  // namespace topo::object
