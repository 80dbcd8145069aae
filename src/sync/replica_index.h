// ReplicaIndex: a replica's reconciliation sets, shared by every peer's ReplicaSource. Keeps,
// per object, the two sets (a RibltSketch and a negentropy BlockRangeIndex of (created_at,
// id) items), built once from the store when made and kept current from then on by the
// Replica's applied-vertex observer: never rebuilt per session, never per peer. What a peer
// is offered is the view's business (sync/replica_source.h), not the index's: the index
// holds every object applied here.
//
// The range index keeps only block summaries in memory (sync/block_range_index.h) and reads
// the items of a block from the store's vertices_by_created index when a range starts or
// ends inside it: the store holds exactly what the index was told (each committed batch is
// taken whole, then settled, before any session reads it).
//
// Memory: about 0.25 bytes per vertex for the range index plus one sketch per object
// (capacity x 48 bytes; 192 KiB at the default). Objects with few vertices get a small
// sketch (RibltSessionOptions and the peer's cap bound what a session uses).
//
// Not thread-safe; used from the Replica's thread. Registers itself as the Replica's
// applied-vertex observer (the Replica has one; SetOnApplied passes the batches on to the
// node) and removes itself when destroyed. The replica must outlive the index.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "object/replica.h"
#include "sync/block_range_index.h"
#include "sync/session.h"

namespace topo::sync {

class ReplicaIndex {
 public:
  static Result<std::unique_ptr<ReplicaIndex>> Make(
      object::Replica& replica, size_t sketch_capacity = kDefaultSketchCapacity);
  ~ReplicaIndex();
  ReplicaIndex(const ReplicaIndex&) = delete;
  ReplicaIndex& operator=(const ReplicaIndex&) = delete;

  object::Replica& replica() { return replica_; }

  // The objects held here that `filter` keeps (every one when it is empty), strictly
  // ascending, with their item counts.
  std::vector<HelloFrame::Offer> Objects(
      const std::function<bool(const codec::ObjectId&)>& filter) const;
  // Whether this replica holds any vertex of `object`.
  bool Holds(const codec::ObjectId& object) const { return sets_.count(object) > 0; }
  // The object's sets, current with every commit; nullptr when nothing of it is held.
  const RibltSketch* Sketch(const codec::ObjectId& object) const;
  const RangeStorage* Items(const codec::ObjectId& object) const;
  // An applied vertex of `object` (depth and encoding), read from the store.
  std::optional<SyncSource::StoredVertex> Vertex(const codec::ObjectId& object,
                                                 const codec::VertexId& id);

  // Called after the index took in each committed batch (the Replica's applied-vertex
  // observer, passed on): the node learns of new vertices (a membership change, something
  // to announce) without a second observer. An empty function removes it.
  void SetOnApplied(std::function<void(std::span<const object::AppliedVertex>)> on_applied);

 private:
  explicit ReplicaIndex(object::Replica& replica) : replica_(replica) {}
  struct Sets;
  Sets& SetsOf(const codec::ObjectId& object);

  // One object's items in the store, in (created_at, id) order.
  class StoreItems final : public ItemSource {
   public:
    StoreItems(object::Replica& replica, const codec::ObjectId& object)
        : replica_(replica), object_(object) {}
    Status Read(const Item& from, uint64_t limit, std::vector<Item>& out) const override;

   private:
    object::Replica& replica_;
    codec::ObjectId object_;
  };
  struct Sets {
    Sets(object::Replica& replica, const codec::ObjectId& object, size_t capacity)
        : sketch(capacity), source(replica, object), items(source) {}
    RibltSketch sketch;
    StoreItems source;
    BlockRangeIndex items;
  };
  object::Replica& replica_;
  size_t sketch_capacity_ = kDefaultSketchCapacity;
  std::map<codec::ObjectId, std::unique_ptr<Sets>> sets_;
  std::function<void(std::span<const object::AppliedVertex>)> on_applied_;
};

}  // namespace topo::sync
