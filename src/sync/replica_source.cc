#include "sync/replica_source.h"

namespace topo::sync {

Result<std::unique_ptr<ReplicaSource>> ReplicaSource::Make(object::Replica& replica,
                                                           MayOffer may_offer,
                                                           size_t sketch_capacity) {
  TOPO_ASSIGN_OR_RETURN(auto index, ReplicaIndex::Make(replica, sketch_capacity));
  return std::unique_ptr<ReplicaSource>(new ReplicaSource(std::move(index), std::move(may_offer)));
}

void ReplicaSource::SetMayOffer(MayOffer may_offer) { may_offer_ = std::move(may_offer); }

bool ReplicaSource::Offered(const codec::ObjectId& object) {
  return index_.Holds(object) && (!may_offer_ || may_offer_(object));
}

std::vector<HelloFrame::Offer> ReplicaSource::Offers() { return index_.Objects(may_offer_); }

const RibltSketch* ReplicaSource::Sketch(const codec::ObjectId& object) {
  return index_.Sketch(object);
}

const RangeStorage* ReplicaSource::Items(const codec::ObjectId& object) {
  return index_.Items(object);
}

std::optional<SyncSource::StoredVertex> ReplicaSource::Vertex(const codec::ObjectId& object,
                                                              const codec::VertexId& id) {
  return index_.Vertex(object, id);
}

}  // namespace topo::sync
