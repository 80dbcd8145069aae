#include "sync/replica_index.h"

#include <algorithm>

namespace topo::sync {

Result<std::unique_ptr<ReplicaIndex>> ReplicaIndex::Make(object::Replica& replica,
                                                         size_t sketch_capacity) {
  if (sketch_capacity == 0 || sketch_capacity > kMaxSketchCapacity)
    return Status::InvalidArgument("sketch capacity out of range");
  std::unique_ptr<ReplicaIndex> index(new ReplicaIndex(replica));
  index->sketch_capacity_ = sketch_capacity;
  TOPO_ASSIGN_OR_RETURN(auto objects, replica.ListObjects());
  for (const auto& o : objects) {
    Sets& sets = index->SetsOf(o.id);
    TOPO_RETURN_IF_ERROR(sets.items.Load([&](const Item& item) { sets.sketch.Insert(item.id); }));
  }
  ReplicaIndex* self = index.get();
  replica.SetAppliedObserver([self](std::span<const object::AppliedVertex> batch) {
    // The batch is committed: the store holds all of it, so the index takes all of it before
    // it settles (a split reads the store).
    std::vector<Sets*> touched;
    for (const auto& v : batch) {
      Sets& sets = self->SetsOf(v.object);
      // A vertex is applied once, so each comes once; the sketch would count a second twice.
      if (sets.items.Add(Item{v.created_at, v.id}).ok()) sets.sketch.Insert(v.id);
      if (std::find(touched.begin(), touched.end(), &sets) == touched.end())
        touched.push_back(&sets);
    }
    // A failed read leaves a block unsplit (slower, still right); it is kept in read_error().
    for (Sets* sets : touched) (void)sets->items.Settle();
    if (self->on_applied_) self->on_applied_(batch);
  });
  return index;
}

Status ReplicaIndex::StoreItems::Read(const Item& from, uint64_t limit,
                                      std::vector<Item>& out) const {
  return replica_.graph_store().ForEachItem(object_, from.timestamp, from.id, limit,
                                            [&](uint64_t created_at, const codec::VertexId& id) {
                                              out.push_back(Item{created_at, id});
                                              return true;
                                            });
}

ReplicaIndex::~ReplicaIndex() { replica_.SetAppliedObserver({}); }

ReplicaIndex::Sets& ReplicaIndex::SetsOf(const codec::ObjectId& object) {
  auto& sets = sets_[object];
  if (!sets) sets = std::make_unique<Sets>(replica_, object, sketch_capacity_);
  return *sets;
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
  auto stored = replica_.graph_store().GetStored(id);
  if (!stored.ok() || !*stored || (*stored)->meta.object != object) return std::nullopt;
  return SyncSource::StoredVertex{(*stored)->meta.depth, std::move((*stored)->raw)};
}

}  // namespace topo::sync
