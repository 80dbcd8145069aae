// Makes people (a user key and devices with certificates) and signed group vertices with
// correct parents, depth and created_at, for the group tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "codec/group.h"
#include "codec/object_payload.h"
#include "object/group_state.h"

namespace topo::testing {

using codec::Role;
using object::GroupVertex;

// A user with one or more devices.
struct Person {
  crypto::SigningKey user = crypto::SigningKey::Generate();
  struct Device {
    crypto::SigningKey key = crypto::SigningKey::Generate();
    crypto::BoxKey box = crypto::BoxKey::Generate();
    codec::DeviceCertificate cert;
  };
  std::vector<Device> devices;

  explicit Person(int n = 1) {
    for (int i = 0; i < n; ++i) AddDevice();
  }
  Device& AddDevice() {
    Device d;
    d.cert = *codec::MakeDeviceCertificate(user, d.key.public_key(), d.box.public_key(),
                                           "device " + std::to_string(devices.size()), 1000);
    devices.push_back(std::move(d));
    return devices.back();
  }
  const crypto::PublicKey& id() const { return user.public_key(); }
  const Device& dev(size_t i = 0) const { return devices[i]; }
};

inline std::vector<codec::DeviceKeyShare> SealTo(
    const std::vector<const Person::Device*>& devices) {
  std::vector<codec::DeviceKeyShare> out;
  auto key = crypto::SecretBytes::Random(32);
  for (const auto* d : devices) {
    Bytes sealed = crypto::Seal(d->box.public_key(), key.view());
    out.push_back({d->key.public_key(), codec::SealedKey::FromView(sealed)});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.device < b.device; });
  return out;
}

// Builds signed group vertices with correct parents, depth and created_at.
class Builder {
 public:
  explicit Builder(const Person& owner, bool history_visible = false) {
    codec::GroupParams p{history_visible, owner.dev().cert, SealTo({&owner.dev()})};
    codec::Vertex v;
    v.type = codec::kGenesisType;
    v.created_at = 1000;
    v.payload =
        codec::EncodeGenesisPayload({"group", {}, std::nullopt, codec::EncodeGroupParams(p)});
    EXPECT_TRUE(codec::SignVertex(v, owner.dev().key).ok());
    genesis = *object::DecodeGroupVertex(v);
  }

  GroupVertex Make(const Person::Device& author, const std::vector<const GroupVertex*>& parents,
                   codec::GroupOp op) {
    codec::Vertex v;
    v.type = codec::kGroupOpType;
    v.object_id = genesis.vertex.id;
    uint64_t depth = 0, created = 0;
    for (const auto* p : parents) {
      v.parents.push_back(p->vertex.id);
      depth = std::max(depth, p->vertex.depth);
      created = std::max(created, p->vertex.created_at);
    }
    v.depth = depth + 1;
    v.created_at = created + 1 + (clock_++ % 7);
    v.payload = codec::EncodeGroupOp(op);
    EXPECT_TRUE(codec::SignVertex(v, author.key).ok());
    auto g = object::DecodeGroupVertex(v);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return *g;
  }

  // An invite and the secret-derived key a joiner proves.
  GroupVertex Invite(const Person::Device& author, const std::vector<const GroupVertex*>& parents,
                     Role role = Role::kMember, uint64_t max_uses = 0, uint64_t expires_at = 0,
                     codec::InvitePurpose purpose = codec::InvitePurpose::kMember) {
    secret = crypto::SecretBytes::Random(32);
    auto key = codec::InviteSigningKey(secret);
    return Make(author, parents,
                codec::InviteOp{role, purpose, max_uses, expires_at, key.public_key()});
  }

  GroupVertex Join(const Person::Device& joiner, const GroupVertex& invite,
                   const std::vector<const GroupVertex*>& parents,
                   const crypto::SecretBytes* with_secret = nullptr) {
    auto key = codec::InviteSigningKey(with_secret ? *with_secret : secret);
    codec::JoinOp j{invite.vertex.id, joiner.cert, {}};
    j.proof =
        key.Sign(codec::InviteProofDigest(genesis.vertex.id, invite.vertex.id, joiner.cert).view());
    return Make(joiner, parents, j);
  }

  GroupVertex genesis;
  crypto::SecretBytes secret;

 private:
  uint64_t clock_ = 0;
};

}  // namespace topo::testing
