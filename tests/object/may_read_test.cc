// Entitlement (Replica::MayRead, Replica::MayReadAsJoiner, Replica::MayReadAsFormerMember):
// which devices a replica may serve an object to. Open objects: anyone. A group and the
// objects inside it: the group's current member devices at this replica's heads; a pending
// joiner proving its invite, or a former member device, the group object alone.
#include <gtest/gtest.h>

#include "object/replica.h"
#include "testing/temp_dir.h"

namespace topo::object {
namespace {

using testing::TempDir;

struct Device {
  crypto::SigningKey user = crypto::SigningKey::Generate();
  crypto::SigningKey key = crypto::SigningKey::Generate();
  crypto::BoxKey box = crypto::BoxKey::Generate();
  codec::DeviceCertificate cert;
  std::unique_ptr<Replica> replica;

  explicit Device(const std::string& name) {
    cert = *codec::MakeDeviceCertificate(user, key.public_key(), box.public_key(), name, 1);
    ReplicaOptions o;
    o.box = &box;
    auto r = Replica::Open(":memory:", key.Clone(), o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    replica = std::move(r).value();
  }
  const crypto::PublicKey& device() const { return key.public_key(); }
  Replica* operator->() { return replica.get(); }
};

void Send(TempDir& dir, Device& from, Device& to) {
  std::string path = dir.File("bundle");
  ASSERT_TRUE(from->ExportBundle(path).ok());
  auto r = to->ImportBundle(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

bool MayRead(Device& at, const Device& who, const codec::ObjectId& object) {
  auto r = at->MayRead(who.device(), object);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() && *r;
}

bool MayReadAsJoiner(Device& at, const crypto::PublicKey& who, const codec::ObjectId& group,
                     const codec::JoinOp& join) {
  auto r = at->MayReadAsJoiner(who, group, join);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() && *r;
}

class MayReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto g = alice->CreateGroup(alice.cert, /*history_visible=*/true);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    group = *g;
    auto d = alice->CreateObject("doc", group);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    doc = *d;
    auto o = alice->CreateObject("counter");
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    open = *o;
    auto link = alice->Invite(group, {});
    ASSERT_TRUE(link.ok()) << link.status().ToString();
    bob_link = *link;
  }

  // bob writes his join (it waits at bob for the group) and it reaches alice.
  void BobJoins() {
    ASSERT_TRUE(bob->AcceptInvite(bob_link, bob.cert).ok());
    Send(dir, alice, bob);  // the group arrives; bob's join applies at bob
    Send(dir, bob, alice);  // and at alice
  }

  TempDir dir;
  Device alice{"alice"}, bob{"bob"}, carol{"carol"};
  codec::ObjectId group, doc, open;
  codec::InviteLink bob_link;
};

TEST_F(MayReadTest, AnOpenObjectAnyone) {
  EXPECT_TRUE(MayRead(alice, alice, open));
  EXPECT_TRUE(MayRead(alice, carol, open));
}

TEST_F(MayReadTest, AGroupAndItsObjectsOnlyItsMemberDevices) {
  EXPECT_TRUE(MayRead(alice, alice, group));
  EXPECT_TRUE(MayRead(alice, alice, doc));
  EXPECT_FALSE(MayRead(alice, carol, group));
  EXPECT_FALSE(MayRead(alice, carol, doc));
  EXPECT_FALSE(MayRead(alice, bob, doc));
  BobJoins();
  EXPECT_TRUE(MayRead(alice, bob, group));
  EXPECT_TRUE(MayRead(alice, bob, doc));
  EXPECT_FALSE(MayRead(alice, carol, doc));
  // bob's replica answers the same from its own copy of the group.
  EXPECT_TRUE(MayRead(bob, alice, doc));
  EXPECT_FALSE(MayRead(bob, carol, doc));
}

TEST_F(MayReadTest, APendingJoinerReadsTheGroupObjectAloneUntilItsJoinApplies) {
  // bob's join is written and waits at bob for the group; alice has not seen it.
  ASSERT_TRUE(bob->AcceptInvite(bob_link, bob.cert).ok());
  codec::JoinOp claim = codec::MakeJoinOp(bob_link, bob.cert);
  EXPECT_FALSE(MayRead(alice, bob, group));
  EXPECT_TRUE(MayReadAsJoiner(alice, bob.device(), group, claim));
  // The claim admits to the group object only, never to what is inside.
  EXPECT_FALSE(MayReadAsJoiner(alice, bob.device(), doc, claim));
  EXPECT_FALSE(MayRead(alice, bob, doc));
  // bob's claim proves nothing for carol's device (it names bob's certificate)...
  EXPECT_FALSE(MayReadAsJoiner(alice, carol.device(), group, claim));
  // ...and carol cannot make one without the link's secret.
  codec::InviteLink guessed = bob_link;
  guessed.secret.bytes[0] ^= 1;
  EXPECT_FALSE(
      MayReadAsJoiner(alice, carol.device(), group, codec::MakeJoinOp(guessed, carol.cert)));
  // Once the join is applied at alice, bob is a member and reads everything in the group.
  Send(dir, alice, bob);
  Send(dir, bob, alice);
  EXPECT_TRUE(MayRead(alice, bob, group));
  EXPECT_TRUE(MayRead(alice, bob, doc));
}

TEST_F(MayReadTest, ARevokedInviteAdmitsNoOne) {
  ASSERT_TRUE(alice->RevokeInvite(group, bob_link.invite).ok());
  EXPECT_FALSE(MayReadAsJoiner(alice, bob.device(), group, codec::MakeJoinOp(bob_link, bob.cert)));
}

TEST_F(MayReadTest, ARemovedMemberIsServedNothingMore) {
  BobJoins();
  ASSERT_TRUE(alice->HealAllGroups().ok());
  ASSERT_TRUE(MayRead(alice, bob, doc));
  ASSERT_TRUE(alice->RemoveMember(group, bob.user.public_key(), /*bar=*/false).ok());
  EXPECT_FALSE(MayRead(alice, bob, group));
  EXPECT_FALSE(MayRead(alice, bob, doc));
  EXPECT_TRUE(MayRead(alice, bob, open));
}

// A device removed from a group (or that left it) may read the group object alone, its
// membership operations, so that it learns its removal; never what is inside. A device
// that never held a key of the group reads nothing.
TEST_F(MayReadTest, AFormerMemberReadsTheGroupObjectAlone) {
  auto former = [&](Device& at, const Device& who, const codec::ObjectId& object) {
    auto r = at->MayReadAsFormerMember(who.device(), object);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && *r;
  };
  BobJoins();
  ASSERT_TRUE(alice->HealAllGroups().ok());  // bob holds the group's key now
  EXPECT_FALSE(former(alice, bob, group)) << "a member: MayRead covers him";
  EXPECT_FALSE(former(alice, carol, group)) << "never a member";
  ASSERT_TRUE(alice->RemoveMember(group, bob.user.public_key(), /*bar=*/false).ok());
  EXPECT_TRUE(former(alice, bob, group));
  EXPECT_FALSE(former(alice, bob, doc)) << "never the objects inside";
  EXPECT_FALSE(former(alice, bob, open));
  EXPECT_FALSE(MayRead(alice, bob, doc));
  EXPECT_FALSE(former(alice, carol, group));
  codec::ObjectId unknown;
  unknown.bytes[0] = 7;
  EXPECT_FALSE(former(alice, bob, unknown));
}

TEST_F(MayReadTest, AnObjectNotHereIsNotFound) {
  codec::ObjectId unknown;
  unknown.bytes[0] = 7;
  auto r = alice->MayRead(bob.device(), unknown);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_FALSE(
      MayReadAsJoiner(alice, bob.device(), unknown, codec::MakeJoinOp(bob_link, bob.cert)));
}

}  // namespace
}  // namespace topo::object
