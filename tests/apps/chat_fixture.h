// What the chat's replica-level tests share: devices with their own user, device key and
// replica, moving everything one replica holds to another, and the projection dump.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "apps/chat/chat.h"
#include "apps/chat/projector.h"
#include "object/replica.h"
#include "testing/temp_dir.h"

namespace topo::apps::chat {

using testing::TempDir;

struct Device {
  crypto::SigningKey user = crypto::SigningKey::Generate();
  crypto::SigningKey key = crypto::SigningKey::Generate();
  crypto::BoxKey box = crypto::BoxKey::Generate();
  codec::DeviceCertificate cert;
  std::unique_ptr<object::Replica> replica;

  explicit Device(const std::string& name) {
    EXPECT_TRUE(Register().ok());
    cert = *codec::MakeDeviceCertificate(user, key.public_key(), box.public_key(), name, 1);
    replica = Open();
  }
  // Another replica of this same device (same keys), empty.
  std::unique_ptr<object::Replica> Open() {
    object::ReplicaOptions o;
    o.box = &box;
    auto r = object::Replica::Open(":memory:", key.Clone(), o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  object::Replica& operator*() { return *replica; }
  object::Replica* operator->() { return replica.get(); }
  Chat chat() { return Chat(*replica, user.public_key()); }
};

inline void Send(TempDir& dir, object::Replica& from, object::Replica& to) {
  std::string path = dir.File("bundle");
  ASSERT_TRUE(from.ExportBundle(path).ok());
  auto r = to.ImportBundle(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const auto& p : r->problems) ADD_FAILURE() << "import problem: " << p;
}

// Every applied vertex of every object, parents first.
inline std::vector<Bytes> AllVertices(object::Replica& r) {
  std::vector<Bytes> out;
  auto objects = r.ListObjects();
  EXPECT_TRUE(objects.ok());
  for (const auto& o : *objects)
    EXPECT_TRUE(r.ForEachInOrder(o.id, [&](const graph::VertexMeta&, ByteView raw) {
                   out.emplace_back(raw.begin(), raw.end());
                   return true;
                 }).ok());
  return out;
}

inline std::string Dump(object::Replica& r) {
  auto d = r.ProjectionDump();
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : "";
}

// A workspace of three: alice (its owner), bob (a member) and carol (an admin), each on
// a replica of their own that holds everything the others wrote (Everyone()).
class ChatTeam : public ::testing::Test {
 protected:
  void SetUp() override {
    auto g = alice->CreateGroup(alice.cert, /*history_visible=*/true);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    group = *g;
    Join(bob, codec::Role::kMember);
    Join(carol, codec::Role::kAdmin);
    Everyone();
  }

  void Join(Device& d, codec::Role role) {
    object::InviteOptions o;
    o.role = role;
    auto link = alice->Invite(group, o);
    ASSERT_TRUE(link.ok()) << link.status().ToString();
    Send(dir, *alice, *d);
    ASSERT_TRUE(d->AcceptInvite(*link, d.cert).ok());
    Send(dir, *d, *alice);
    ASSERT_TRUE(alice->HealAllGroups().ok());
    Send(dir, *alice, *d);
  }

  // Everyone sends everything to everyone.
  void Everyone() {
    for (int round = 0; round < 2; ++round)
      for (Device* from : {&alice, &bob, &carol})
        for (Device* to : {&alice, &bob, &carol})
          if (from != to) Send(dir, **from, **to);
  }

  TempDir dir;
  Device alice{"alice"}, bob{"bob"}, carol{"carol"};
  codec::ObjectId group;
};

}  // namespace topo::apps::chat
