// ObjectEngine: the object layer's part of the ingest pipeline (graph::Applier). It checks a
// vertex against its object's blueprint and applies it to the object's CRDT state, then
// runs the projector, which mirrors each changed field into the object_values table.
//
// State layout in the StateStore, per object:
//   0x00 'b'            -> blueprint name (written by the genesis vertex)
//   'F' varint(field)   -> prefix of that field's CRDT entries (object/crdt.h)
#pragma once

#include <unordered_map>

#include "graph/ingest.h"
#include "object/blueprint.h"
#include "store/projection.h"
#include "store/state_store.h"

namespace topo::object {

Bytes FieldPrefix(uint32_t field);

// The projector: pure functions from rendered values to projection writes. Rows of
// object_values are keyed by path: the field name, or for a map field, the field name and
// one escaped key ("votes/alice"), so a change to one key rewrites one row.
std::vector<store::ProjectionWrite> ProjectField(const codec::ObjectId& object,
                                                 std::string_view path,
                                                 const nlohmann::json& value);
std::vector<store::ProjectionWrite> ProjectRemoval(const codec::ObjectId& object,
                                                   std::string_view path);
std::vector<store::ProjectionWrite> ProjectGenesis(const codec::ObjectId& object,
                                                   std::string_view blueprint);

class ObjectEngine final : public graph::Applier {
 public:
  ObjectEngine(store::StateStore& state, store::ProjectionSink& sink)
      : state_(state), sink_(sink) {}

  Status Validate(const codec::Vertex& v, std::span<const graph::VertexMeta> parents) override;
  Status Apply(const codec::Vertex& v) override;

  // The blueprint of an applied object, or NotFound.
  Result<const Blueprint*> BlueprintOf(const codec::ObjectId& object);
  // The whole state of an object as JSON: {"field": value, ...}.
  Result<nlohmann::json> Render(const codec::ObjectId& object);
  // Writes every projection row of an object from its current state (the rows the
  // incremental projector keeps up to date). The caller deletes the old rows first.
  Status ProjectAll(const codec::ObjectId& object);

 private:
  // Rewrites the projection rows that `effects` of an op on `field` touched.
  Status Project(const codec::ObjectId& object, const FieldDecl& field, ByteView prefix,
                 const std::vector<Effect>& effects);

  store::StateStore& state_;
  store::ProjectionSink& sink_;
  std::unordered_map<codec::ObjectId, const Blueprint*, FixedBytesHash> blueprints_;
};

}  // namespace topo::object
