#include "testing/vertex_factory.h"

#include <algorithm>
#include <cstdlib>

namespace topo::testing {

namespace {
crypto::SigningKey KeyFromSeed(uint64_t seed) {
  uint8_t s[32] = {};
  for (int i = 0; i < 8; ++i) s[i] = static_cast<uint8_t>(seed >> (8 * i));
  return std::move(crypto::SigningKey::FromSeed(ByteView(s, 32))).value();
}
}  // namespace

VertexFactory::VertexFactory() : key_(crypto::SigningKey::Generate()) {}
VertexFactory::VertexFactory(uint64_t seed) : key_(KeyFromSeed(seed)) {}

codec::Vertex VertexFactory::Genesis(std::string_view payload, uint64_t created_at) {
  codec::Vertex v;
  v.type = codec::kGenesisType;
  v.created_at = created_at;
  v.payload = ToBytes(payload);
  if (!codec::SignVertex(v, key_).ok()) std::abort();
  return v;
}

codec::Vertex VertexFactory::Child(const std::vector<const codec::Vertex*>& parents,
                                   std::string_view payload, uint32_t type) {
  codec::Vertex v;
  v.type = type;
  v.object_id = parents.at(0)->object();
  uint64_t depth = 0, created = 0;
  for (const auto* p : parents) {
    v.parents.push_back(p->id);
    depth = std::max(depth, p->depth);
    created = std::max(created, p->created_at);
  }
  v.depth = depth + 1;
  v.created_at = created + 1;
  v.payload = ToBytes(payload);
  v.payload.push_back(static_cast<uint8_t>(counter_++));  // distinct ids for equal payloads
  if (!codec::SignVertex(v, key_).ok()) std::abort();
  return v;
}

}  // namespace topo::testing
