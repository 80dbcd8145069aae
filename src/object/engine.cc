#include "object/engine.h"

#include <algorithm>

#include "codec/object_payload.h"
#include "util/encoding.h"
#include "util/varint.h"

namespace topo::object {
namespace {
const Bytes kBlueprintKey{0x00, 'b'};
const Bytes kGroupKey{0x00, 'g'};
constexpr size_t kRefsCacheEntries = 1 << 16;
}  // namespace

Bytes FieldPrefix(uint32_t field) {
  Bytes p{'F'};
  PutVarint(p, field);
  return p;
}

std::vector<store::ProjectionWrite> ProjectField(const codec::ObjectId& object,
                                                 std::string_view field,
                                                 const nlohmann::json& value) {
  return {{"INSERT OR REPLACE INTO object_values (object, path, value) VALUES (?1, ?2, ?3)",
           {Bytes(object.view().begin(), object.view().end()), std::string(field), value.dump()}}};
}

std::vector<store::ProjectionWrite> ProjectRemoval(const codec::ObjectId& object,
                                                   std::string_view path) {
  return {{"DELETE FROM object_values WHERE object = ?1 AND path = ?2",
           {Bytes(object.view().begin(), object.view().end()), std::string(path)}}};
}

std::vector<store::ProjectionWrite> ProjectGenesis(const codec::ObjectId& object,
                                                   std::string_view blueprint) {
  return ProjectField(object, "$blueprint", nlohmann::json(blueprint));
}

Result<const Blueprint*> ObjectEngine::BlueprintOf(const codec::ObjectId& object) {
  auto it = blueprints_.find(object);
  if (it != blueprints_.end()) return it->second;
  TOPO_ASSIGN_OR_RETURN(auto name, state_.Get(object, kBlueprintKey));
  if (!name) return Status::NotFound("no object " + HexEncodeShort(object));
  const Blueprint* bp = FindBlueprint(AsChars(*name));
  if (!bp) return Status::Corruption("object has unknown blueprint " + std::string(AsChars(*name)));
  blueprints_.emplace(object, bp);
  return bp;
}

Status ObjectEngine::Validate(const codec::Vertex& v, std::span<const graph::VertexMeta>) {
  if (v.is_genesis()) {
    auto g = codec::DecodeGenesisPayload(v.payload);
    if (!g.ok()) return Status::Rejected(g.status().message());
    if (g->blueprint == GroupBlueprint().name) return ValidateGroupVertex(v);
    const Blueprint* bp = FindBlueprint(g->blueprint);
    if (!bp) return Status::Rejected("unknown blueprint \"" + g->blueprint + "\"");
    if (bp->app) {
      Status s = bp->app->CheckParams(g->params);
      if (!s.ok()) return Status::Rejected("blueprint \"" + g->blueprint + "\": " + s.message());
    } else if (!g->params.empty()) {
      return Status::Rejected("blueprint \"" + g->blueprint + "\" takes no params");
    }
    if (g->group) return ValidateContent(v, *g->group);
    return Status::Ok();
  }
  if (v.type == codec::kGroupOpType) return ValidateGroupVertex(v);
  if (v.type != codec::kCrdtOpType)
    return Status::Rejected("vertex type " + std::to_string(v.type) + " is not an operation");
  // The genesis is a parent's ancestor: it is applied, so the object is known.
  TOPO_ASSIGN_OR_RETURN(auto group, GroupOf(v.object_id));
  if (group) return ValidateContent(v, *group);
  auto bp = BlueprintOf(v.object_id);
  if (!bp.ok()) return bp.status();
  auto p = codec::DecodeOpPayload(v.payload);
  if (!p.ok()) return Status::Rejected(p.status().message());
  if (p->field >= (*bp)->fields.size())
    return Status::Rejected("op.field: no field " + std::to_string(p->field) + " in blueprint " +
                            (*bp)->name);
  Status s = ValidateOp((*bp)->fields[p->field].type, p->op);
  if (!s.ok()) return Status::Rejected(s.message());
  return Status::Ok();
}

Status ObjectEngine::OnCreate(const AppProjector& app, const AppContext& ctx) {
  if (std::find(apps_this_txn_.begin(), apps_this_txn_.end(), &app) == apps_this_txn_.end())
    apps_this_txn_.push_back(&app);
  return app.OnCreate(ctx, sink_);
}

Status ObjectEngine::OnEntry(const AppProjector& app, const AppContext& ctx, ByteView entry) {
  if (std::find(apps_this_txn_.begin(), apps_this_txn_.end(), &app) == apps_this_txn_.end())
    apps_this_txn_.push_back(&app);
  return app.OnEntry(ctx, entry, sink_);
}

Status ObjectEngine::BeforeCommit() {
  TOPO_RETURN_IF_ERROR(WriteDirtyRows());
  std::vector<const AppProjector*> apps;
  apps.swap(apps_this_txn_);
  for (const AppProjector* app : apps) TOPO_RETURN_IF_ERROR(app->BeforeCommit(sink_));
  return Status::Ok();
}

Status ObjectEngine::Apply(const codec::Vertex& v) {
  if (v.is_genesis()) {
    auto g = codec::DecodeGenesisPayload(v.payload);
    if (!g.ok()) return Status::Internal("apply before validate: " + g.status().message());
    if (g->blueprint == GroupBlueprint().name) return ApplyGroupVertex(v);
    TOPO_RETURN_IF_ERROR(state_.Put(v.id, kBlueprintKey, AsBytes(g->blueprint)));
    if (g->group) {
      TOPO_RETURN_IF_ERROR(state_.Put(v.id, kGroupKey, g->group->view()));
      group_of_[v.id] = g->group;
      if (refs_cache_.size() >= kRefsCacheEntries) refs_cache_.clear();
      refs_cache_[v.id] = v.refs;
    }
    // Every field gets its row from the start (0, null, [], ...), as a rebuild would write.
    TOPO_RETURN_IF_ERROR(ProjectAll(v.id));
    const Blueprint* bp = FindBlueprint(g->blueprint);
    if (!bp || !bp->app) return Status::Ok();
    TOPO_ASSIGN_OR_RETURN(auto ctx, AppContextOf(v, g->group, 0));
    ctx.params = g->params;
    return OnCreate(*bp->app, ctx);
  }
  if (v.type == codec::kGroupOpType) return ApplyGroupVertex(v);
  TOPO_ASSIGN_OR_RETURN(auto group, GroupOf(v.object_id));
  if (group) return ApplyContent(v, *group);
  return ApplyPlain(v, v.payload, false);
}

Status ObjectEngine::Project(const codec::ObjectId& object, uint32_t field_index,
                             const FieldDecl& field, const std::vector<Effect>& effects) {
  // The effects never miss a change, and every noted row is rewritten from the state at
  // commit, so each row equals the render of the state, in any delivery order. A non-map
  // field is one row, rendered whole: O(field size) per transaction that changed it. A map
  // field is one row per visible key: O(size of that key's value).
  if (field.type.kind != CrdtKind::kMap) {
    if (!effects.empty()) dirty_rows_.insert({object, field_index, true, {}});
    return Status::Ok();
  }
  for (const auto& e : effects) {
    TOPO_ASSIGN_OR_RETURN(auto path, SplitPath(e.path));
    // An empty path is the map as a whole (never produced by today's ops).
    if (path.empty()) {
      dirty_rows_.insert({object, field_index, true, {}});
    } else {
      dirty_rows_.insert({object, field_index, false, std::move(path[0])});
    }
  }
  return Status::Ok();
}

Status ObjectEngine::Write(const std::vector<store::ProjectionWrite>& writes) {
  for (const auto& w : writes) TOPO_RETURN_IF_ERROR(sink_.Execute(w));
  return Status::Ok();
}

Status ObjectEngine::ProjectWhole(const codec::ObjectId& object, uint32_t field_index,
                                  const FieldDecl& field) {
  TOPO_ASSIGN_OR_RETURN(auto value,
                        object::Render(state_, object, FieldPrefix(field_index), field.type));
  if (field.type.kind != CrdtKind::kMap) return Write(ProjectField(object, field.name, value));
  for (auto& [k, v] : value.items())
    TOPO_RETURN_IF_ERROR(Write(ProjectField(object, field.name + "/" + EscapePathKey(k), v)));
  return Status::Ok();
}

Status ObjectEngine::WriteDirtyRows() {
  std::set<DirtyRow> rows;
  rows.swap(dirty_rows_);
  for (const DirtyRow& row : rows) {
    TOPO_ASSIGN_OR_RETURN(const Blueprint* bp, BlueprintOf(row.object));
    const FieldDecl& field = bp->fields[row.field];
    if (row.whole) {
      TOPO_RETURN_IF_ERROR(ProjectWhole(row.object, row.field, field));
      continue;
    }
    std::string path = field.name + "/" + EscapePathKey(row.key);
    auto value =
        RenderPath(state_, row.object, FieldPrefix(row.field), field.type, JoinPath({row.key}));
    if (value.ok()) {
      TOPO_RETURN_IF_ERROR(Write(ProjectField(row.object, path, *value)));
    } else if (value.status().code() == Code::kNotFound) {
      TOPO_RETURN_IF_ERROR(Write(ProjectRemoval(row.object, path)));  // the key is not visible
    } else {
      return value.status();
    }
  }
  return Status::Ok();
}

Status ObjectEngine::ProjectAll(const codec::ObjectId& object) {
  TOPO_ASSIGN_OR_RETURN(const Blueprint* bp, BlueprintOf(object));
  TOPO_RETURN_IF_ERROR(Write(ProjectGenesis(object, bp->name)));
  for (size_t i = 0; i < bp->fields.size(); ++i)
    TOPO_RETURN_IF_ERROR(ProjectWhole(object, static_cast<uint32_t>(i), bp->fields[i]));
  return Status::Ok();
}

Result<nlohmann::json> ObjectEngine::Render(const codec::ObjectId& object) {
  TOPO_ASSIGN_OR_RETURN(const Blueprint* bp, BlueprintOf(object));
  nlohmann::json out = nlohmann::json::object();
  for (size_t i = 0; i < bp->fields.size(); ++i) {
    TOPO_ASSIGN_OR_RETURN(
        auto value,
        object::Render(state_, object, FieldPrefix(static_cast<uint32_t>(i)), bp->fields[i].type));
    out[bp->fields[i].name] = std::move(value);
  }
  return out;
}

}  // namespace topo::object
