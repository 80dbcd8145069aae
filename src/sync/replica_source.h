// ReplicaSource: what one peer's session sees of this node (a SyncSource). A cheap view over
// the node's ReplicaIndex (sync/replica_index.h), which one replica shares among all its
// peers: the view adds only `may_offer`, the objects this peer may be offered (the node
// builds it from entitlement: object::Replica::MayRead with the peer's device key, and
// MayReadAsJoiner for a pending joiner's claim).
//
// `may_offer` is asked each time the session builds a hello (Offers) and each time the peer
// asks to reconcile or fetch an object (Offered), so a predicate that reads the replica's
// group state follows membership changes by itself; one that caches is refreshed with
// SetMayOffer. Sketch, Items and Vertex do not filter: a session asks them only for objects
// it offered (checked with Offered first) or the peer offered (its own pulls).
//
// Not thread-safe; used from the Replica's thread. The index must outlive the view.
#pragma once

#include <functional>
#include <memory>

#include "object/replica.h"
#include "sync/replica_index.h"
#include "sync/session.h"

namespace topo::sync {

class ReplicaSource final : public SyncSource {
 public:
  using MayOffer = std::function<bool(const codec::ObjectId&)>;

  // A view for one peer over a shared index. `may_offer` nullptr: every object.
  explicit ReplicaSource(ReplicaIndex& index, MayOffer may_offer = nullptr)
      : index_(index), may_offer_(std::move(may_offer)) {}
  // A view over an index of its own, made from `replica` (one peer per replica: tests and
  // benchmarks). It takes the replica's applied-vertex observer like any ReplicaIndex.
  static Result<std::unique_ptr<ReplicaSource>> Make(
      object::Replica& replica, MayOffer may_offer = nullptr,
      size_t sketch_capacity = kDefaultSketchCapacity);

  std::vector<HelloFrame::Offer> Offers() override;
  bool Offered(const codec::ObjectId& object) override;
  const RibltSketch* Sketch(const codec::ObjectId& object) override;
  const RangeStorage* Items(const codec::ObjectId& object) override;
  std::optional<StoredVertex> Vertex(const codec::ObjectId& object,
                                     const codec::VertexId& id) override;

  // Changes which objects the peer may be offered (after a membership change).
  void SetMayOffer(MayOffer may_offer);
  ReplicaIndex& index() { return index_; }

 private:
  ReplicaSource(std::unique_ptr<ReplicaIndex> owned, MayOffer may_offer)
      : owned_(std::move(owned)), index_(*owned_), may_offer_(std::move(may_offer)) {}

  std::unique_ptr<ReplicaIndex> owned_;  // set only by Make(replica, ...)
  ReplicaIndex& index_;
  MayOffer may_offer_;
};

}  // namespace topo::sync
