#include "sync/replica_source.h"

namespace topo::sync {

Result<std::unique_ptr<ReplicaSource>> ReplicaSource::Make(
    object::Replica& replica, std::function<bool(const codec::ObjectId&)> may_offer,
    size_t sketch_capacity) {
  if (sketch_capacity == 0 || sketch_capacity > kMaxSketchCapacity)
    return Status::InvalidArgument("sketch capacity out of range");
  std::unique_ptr<ReplicaSource> s(new ReplicaSource(replica));
  s->may_offer_ = std::move(may_offer);
  s->sketch_capacity_ = sketch_capacity;
  TOPO_ASSIGN_OR_RETURN(auto objects, replica.ListObjects());
  for (const auto& o : objects) {
    TOPO_RETURN_IF_ERROR(replica.ForEachInOrder(o.id, [&](const graph::VertexMeta& m, ByteView) {
      s->Add(m.object, m.id, m.created_at);
      return true;
    }));
  }
  ReplicaSource* self = s.get();
  replica.SetAppliedObserver([self](std::span<const object::AppliedVertex> batch) {
    for (const auto& v : batch) self->Add(v.object, v.id, v.created_at);
  });
  return s;
}

ReplicaSource::~ReplicaSource() { replica_.SetAppliedObserver({}); }

void ReplicaSource::Add(const codec::ObjectId& object, const codec::VertexId& id,
                        uint64_t created_at) {
  auto& sets = sets_[object];
  if (!sets) sets = std::make_unique<Sets>(sketch_capacity_);
  // The range index refuses a duplicate; the sketch would count it twice, so it follows.
  if (sets->items.Insert(Item{created_at, id}).ok()) sets->sketch.Insert(id);
}

void ReplicaSource::SetMayOffer(std::function<bool(const codec::ObjectId&)> may_offer) {
  may_offer_ = std::move(may_offer);
}

bool ReplicaSource::Offered(const codec::ObjectId& object) {
  return sets_.count(object) && (!may_offer_ || may_offer_(object));
}

std::vector<HelloFrame::Offer> ReplicaSource::Offers() {
  std::vector<HelloFrame::Offer> out;
  for (const auto& [object, sets] : sets_)  // std::map: ascending
    if (!may_offer_ || may_offer_(object)) out.push_back({object, sets->items.Size()});
  return out;
}

const RibltSketch* ReplicaSource::Sketch(const codec::ObjectId& object) {
  auto it = sets_.find(object);
  return it == sets_.end() ? nullptr : &it->second->sketch;
}

const RangeStorage* ReplicaSource::Items(const codec::ObjectId& object) {
  auto it = sets_.find(object);
  return it == sets_.end() ? nullptr : &it->second->items;
}

std::optional<SyncSource::StoredVertex> ReplicaSource::Vertex(const codec::ObjectId& object,
                                                              const codec::VertexId& id) {
  auto meta = replica_.graph_store().GetMeta(id);
  if (!meta.ok() || !*meta || (*meta)->object != object) return std::nullopt;
  auto raw = replica_.graph_store().GetRaw(id);
  if (!raw.ok()) return std::nullopt;
  return StoredVertex{(*meta)->depth, std::move(raw).value()};
}

}  // namespace topo::sync
