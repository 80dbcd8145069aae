// Makes signed vertices for tests: genesis and children with correct depth and created_at.
#pragma once

#include <string>
#include <vector>

#include "codec/vertex.h"
#include "crypto/crypto.h"

namespace topo::testing {

class VertexFactory {
 public:
  VertexFactory();
  explicit VertexFactory(uint64_t seed);  // deterministic key

  const crypto::SigningKey& key() const { return key_; }

  codec::Vertex Genesis(std::string_view payload = "g", uint64_t created_at = 1000);
  // A child of `parents` (all of one object): depth and created_at follow the rules.
  codec::Vertex Child(const std::vector<const codec::Vertex*>& parents,
                      std::string_view payload = "op", uint32_t type = 1);
  static Bytes Raw(const codec::Vertex& v) { return codec::EncodeVertex(v); }

 private:
  crypto::SigningKey key_;
  uint64_t counter_ = 0;
};

}  // namespace topo::testing
