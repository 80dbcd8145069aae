#include "sync/replica_index.h"

namespace topo::sync {

Result<std::unique_ptr<ReplicaIndex>> ReplicaIndex::Make(object::Replica& replica,
                                                         size_t sketch_capacity) {
  if (sketch_capacity == 0 || sketch_capacity > kMaxSketchCapacity)
    return Status::InvalidArgument("sketch capacity out of range");
  std::unique_ptr<ReplicaIndex> index(new ReplicaIndex(replica));
  index->sketch_capacity_ = sketch_capacity;
  TOPO_ASSIGN_OR_RETURN(auto objects, replica.ListObjects());
  for (const auto& o : objects) {
    TOPO_RETURN_IF_ERROR(replica.ForEachInOrder(o.id, [&](const graph::VertexMeta& m, ByteView) {
      index->Add(m.object, m.id, m.created_at);
      return true;
    }));
  }
  ReplicaIndex* self = index.get();
  replica.SetAppliedObserver([self](std::span<const object::AppliedVertex> batch) {
    for (const auto& v : batch) self->Add(v.object, v.id, v.created_at);
    if (self->on_applied_) self->on_applied_(batch);
  });
  return index;
}

ReplicaIndex::~ReplicaIndex() { replica_.SetAppliedObserver({}); }

void ReplicaIndex::Add(const codec::ObjectId& object, const codec::VertexId& id,
                       uint64_t created_at) {
  auto& sets = sets_[object];
  if (!sets) sets = std::make_unique<Sets>(sketch_capacity_);
  // The range index refuses a duplicate; the sketch would count it twice, so it follows.
  if (sets->items.Insert(Item{created_at, id}).ok()) sets->sketch.Insert(id);
}

void ReplicaIndex::SetOnApplied(
    std::function<void(std::span<const object::AppliedVertex>)> on_applied) {
  on_applied_ = std::move(on_applied);
}

std::vector<HelloFrame::Offer> ReplicaIndex::Objects(
    const std::function<bool(const codec::ObjectId&)>& filter) const {
  std::vector<HelloFrame::Offer> out;
  for (const auto& [object, sets] : sets_)  // std::map: ascending
    if (!filter || filter(object)) out.push_back({object, sets->items.Size()});
  return out;
}

const RibltSketch* ReplicaIndex::Sketch(const codec::ObjectId& object) const {
  auto it = sets_.find(object);
  return it == sets_.end() ? nullptr : &it->second->sketch;
}

const RangeStorage* ReplicaIndex::Items(const codec::ObjectId& object) const {
  auto it = sets_.find(object);
  return it == sets_.end() ? nullptr : &it->second->items;
}

std::optional<SyncSource::StoredVertex> ReplicaIndex::Vertex(const codec::ObjectId& object,
                                                             const codec::VertexId& id) {
  auto meta = replica_.graph_store().GetMeta(id);
  if (!meta.ok() || !*meta || (*meta)->object != object) return std::nullopt;
  auto raw = replica_.graph_store().GetRaw(id);
  if (!raw.ok()) return std::nullopt;
  return SyncSource::StoredVertex{(*meta)->depth, std::move(raw).value()};
}

}  // namespace topo::sync
