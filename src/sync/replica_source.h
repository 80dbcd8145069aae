// ReplicaSource: a SyncSource over a Replica. Keeps, per object, the two reconciliation
// sets (a RibltSketch and a negentropy RangeIndex of (created_at, id) items), built once
// from the store when made and kept current from then on by the Replica's applied-vertex
// observer: never rebuilt per session.
//
// Memory: about 60 bytes per vertex for the range index plus one sketch per object
// (capacity x 48 bytes; 192 KiB at the default). Objects with few vertices get a small
// sketch (RibltSessionOptions and the peer's cap bound what a session uses).
//
// Not thread-safe; used from the Replica's thread. Registers itself as the Replica's
// applied-vertex observer (one at a time) and removes itself when destroyed.
#pragma once

#include <functional>
#include <map>
#include <memory>

#include "object/replica.h"
#include "sync/range_index.h"
#include "sync/session.h"

namespace topo::sync {

class ReplicaSource final : public SyncSource {
 public:
  // `may_offer` says which objects the peer may read (nullptr: all of them).
  static Result<std::unique_ptr<ReplicaSource>> Make(
      object::Replica& replica, std::function<bool(const codec::ObjectId&)> may_offer = nullptr,
      size_t sketch_capacity = kDefaultSketchCapacity);
  ~ReplicaSource() override;

  std::vector<HelloFrame::Offer> Offers() override;
  bool Offered(const codec::ObjectId& object) override;
  const RibltSketch* Sketch(const codec::ObjectId& object) override;
  const RangeStorage* Items(const codec::ObjectId& object) override;
  std::optional<StoredVertex> Vertex(const codec::ObjectId& object,
                                     const codec::VertexId& id) override;

  // Changes which objects the peer may read (after a membership change).
  void SetMayOffer(std::function<bool(const codec::ObjectId&)> may_offer);

 private:
  explicit ReplicaSource(object::Replica& replica) : replica_(replica) {}
  void Add(const codec::ObjectId& object, const codec::VertexId& id, uint64_t created_at);

  struct Sets {
    explicit Sets(size_t capacity) : sketch(capacity) {}
    RibltSketch sketch;
    RangeIndex items;
  };
  object::Replica& replica_;
  std::function<bool(const codec::ObjectId&)> may_offer_;
  size_t sketch_capacity_ = kDefaultSketchCapacity;
  std::map<codec::ObjectId, std::unique_ptr<Sets>> sets_;
};

}  // namespace topo::sync
