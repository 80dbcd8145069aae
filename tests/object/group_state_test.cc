#include "object/group_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "codec/object_payload.h"
#include "testing/group_builder.h"

namespace topo::object {
namespace {

using codec::Role;
using testing::Builder;
using testing::Person;
using testing::SealTo;

// Folds vertices after sorting them by the linear order, as the engine will.
GroupState FoldSorted(std::vector<GroupVertex> vs,
                      std::vector<std::pair<codec::VertexId, std::string>>* skipped = nullptr) {
  std::sort(vs.begin(), vs.end(), [](const GroupVertex& a, const GroupVertex& b) {
    return std::tie(a.vertex.depth, a.vertex.id) < std::tie(b.vertex.depth, b.vertex.id);
  });
  auto st = GroupState::Fold(vs, skipped);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  return *st;
}

// Checks `v` against the state of `past` (its causal past) and applies it if valid.
Status CheckIn(const std::vector<GroupVertex>& past, const GroupVertex& v) {
  return FoldSorted(past).Check(v);
}

void ExpectDenied(const Status& s, std::string_view needle) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kRejected);
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.ToString();
}

TEST(GroupState, GenesisMakesTheCreatorOwnerWithTheFirstEpoch) {
  Person alice;
  Builder b(alice);
  auto st = GroupState::FromGenesis(b.genesis);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->RoleOf(alice.id()), Role::kOwner);
  EXPECT_EQ(st->UserOf(alice.dev().key.public_key()), alice.id());
  EXPECT_EQ(st->current_epoch(), b.genesis.vertex.id);
  EXPECT_EQ(st->epochs().at(b.genesis.vertex.id).shares.size(), 1u);
  EXPECT_TRUE(st->CheckContent(alice.dev().key.public_key(), b.genesis.vertex.id).ok());
}

TEST(GroupState, GenesisWithSomeoneElsesCertificateIsRejected) {
  Person alice, mallory;
  codec::GroupParams p{false, alice.dev().cert, SealTo({&alice.dev()})};
  codec::Vertex v;
  v.type = codec::kGenesisType;
  v.created_at = 1;
  v.payload = codec::EncodeGenesisPayload({"group", {}, std::nullopt, codec::EncodeGroupParams(p)});
  ASSERT_TRUE(codec::SignVertex(v, mallory.dev().key).ok());
  auto g = DecodeGroupVertex(v);
  ASSERT_TRUE(g.ok());
  ExpectDenied(GroupState::FromGenesis(*g).status(), "not the author's");
}

TEST(GroupState, InviteJoinAndTheRulesOfInvites) {
  Person alice, bob, carol, dave;
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis}, Role::kMember, /*max_uses=*/1, /*expires=*/5000);
  auto secret = b.secret.Clone();
  std::vector<GroupVertex> past{b.genesis, inv};
  auto join = b.Join(bob.dev(), inv, {&inv});
  ASSERT_TRUE(CheckIn(past, join).ok()) << CheckIn(past, join).ToString();
  past.push_back(join);
  auto st = FoldSorted(past);
  EXPECT_EQ(st.RoleOf(bob.id()), Role::kMember);
  EXPECT_EQ(st.invites().at(inv.vertex.id).uses, 1u);

  // Used up.
  ExpectDenied(CheckIn(past, b.Join(carol.dev(), inv, {&join}, &secret)), "used up");
  // A proof made with another secret.
  auto other = crypto::SecretBytes::Random(32);
  auto inv2 = b.Invite(alice.dev(), {&join}, Role::kMember, 0, 5000);
  past.push_back(inv2);
  ExpectDenied(CheckIn(past, b.Join(carol.dev(), inv2, {&inv2}, &other)), "proof does not verify");
  // A certificate of another device than the author's.
  {
    auto j = b.Join(carol.dev(), inv2, {&inv2});
    auto op = std::get<codec::JoinOp>(*j.op);
    op.cert = dave.dev().cert;
    ExpectDenied(CheckIn(past, b.Make(carol.dev(), {&inv2}, op)), "not the author's device");
  }
  // Expired: a join dated at or after expires_at.
  {
    auto late = b.Make(alice.dev(), {&inv2}, codec::RotateOp{SealTo({&alice.dev(), &bob.dev()})});
    past.push_back(late);
    GroupVertex j = b.Join(carol.dev(), inv2, {&late});
    ASSERT_LT(j.vertex.created_at, 5000u);  // still before expiry: fine
    EXPECT_TRUE(CheckIn(past, j).ok());
    codec::Vertex v = j.vertex;
    v.created_at = 5000;
    ASSERT_TRUE(codec::SignVertex(v, carol.dev().key).ok());
    ExpectDenied(CheckIn(past, *DecodeGroupVertex(v)), "expired");
  }
  // Revoked.
  auto revoke = b.Make(alice.dev(), {&past.back()}, codec::RevokeInviteOp{inv2.vertex.id});
  ASSERT_TRUE(CheckIn(past, revoke).ok());
  past.push_back(revoke);
  ExpectDenied(CheckIn(past, b.Join(carol.dev(), inv2, {&revoke})), "revoked");
}

// add-member: an admin adds a user by the user's device certificates (known from another
// group), sealing the current epoch key to each device; the rules of who, whom and which
// keys.
TEST(GroupState, AddMemberAddsACertifiedUserWithTheCurrentKey) {
  Person alice, bob, carol, mallory;
  Builder b(alice);
  const codec::VertexId epoch = b.genesis.vertex.id;
  auto keys_for = [&](std::vector<const Person::Device*> devices) {
    std::vector<codec::EpochKeyShare> keys;
    for (const auto& s : SealTo(devices)) keys.push_back({epoch, s});
    return keys;
  };
  std::vector<GroupVertex> past{b.genesis};
  auto add = b.Make(alice.dev(), {&b.genesis},
                    codec::AddMemberOp{Role::kMember, {bob.dev().cert}, keys_for({&bob.dev()})});
  ASSERT_TRUE(CheckIn(past, add).ok()) << CheckIn(past, add).ToString();
  past.push_back(add);
  GroupState st = FoldSorted(past);
  EXPECT_EQ(st.RoleOf(bob.id()), Role::kMember);
  EXPECT_TRUE(st.CheckContent(bob.dev().key.public_key(), epoch).ok())
      << "bob writes under the current epoch";
  ASSERT_TRUE(st.devices().at(bob.dev().key.public_key()).cert.has_value());
  EXPECT_EQ(st.epochs().at(epoch).shares.count(bob.dev().key.public_key()), 1u);

  ExpectDenied(CheckIn(past, b.Make(alice.dev(), {&add},
                                    codec::AddMemberOp{Role::kMember, {carol.dev().cert}, {}})),
               "not sealed to every device");
  ExpectDenied(CheckIn(past, b.Make(alice.dev(), {&add},
                                    codec::AddMemberOp{Role::kMember, {carol.dev().cert},
                                                       keys_for({&bob.dev()})})),
               "not a device it adds");
  ExpectDenied(CheckIn(past, b.Make(alice.dev(), {&add},
                                    codec::AddMemberOp{Role::kMember, {bob.dev().cert},
                                                       keys_for({&bob.dev()})})),
               "already a member");
  ExpectDenied(CheckIn(past, b.Make(bob.dev(), {&add},
                                    codec::AddMemberOp{Role::kMember, {carol.dev().cert},
                                                       keys_for({&carol.dev()})})),
               "only admins");
  // A certificate that claims carol's user but is signed by mallory.
  Person::Device forged = std::move(mallory.devices[0]);
  forged.cert.user_key = carol.id();
  ExpectDenied(CheckIn(past, b.Make(alice.dev(), {&add},
                                    codec::AddMemberOp{Role::kMember, {forged.cert},
                                                       keys_for({&forged})})),
               "does not verify");
  // An admin may add; the added user may not be made owner (the codec refuses that value).
  auto carol_in = b.Make(alice.dev(), {&add},
                         codec::AddMemberOp{Role::kAdmin, {carol.dev().cert},
                                            keys_for({&carol.dev()})});
  ASSERT_TRUE(CheckIn(past, carol_in).ok());
  past.push_back(carol_in);
  EXPECT_EQ(FoldSorted(past).RoleOf(carol.id()), Role::kAdmin);
}

TEST(GroupState, JoinWithACertificateSignedByAnotherUserIsRejected) {
  Person alice, bob, mallory;
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis});
  std::vector<GroupVertex> past{b.genesis, inv};
  // mallory's device presents a certificate claiming bob's user, signed by mallory.
  Person::Device d = std::move(mallory.devices[0]);
  d.cert.user_key = bob.id();
  ExpectDenied(CheckIn(past, b.Join(d, inv, {&inv})), "signature does not verify");
  // The same device with its genuine certificate joins as mallory.
  d.cert =
      *codec::MakeDeviceCertificate(mallory.user, d.key.public_key(), d.box.public_key(), "m", 1);
  EXPECT_TRUE(CheckIn(past, b.Join(d, inv, {&inv})).ok());
}

TEST(GroupState, MembersCannotDoWhatAdminsDo) {
  Person alice, bob, carol;
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis});
  auto jb = b.Join(bob.dev(), inv, {&inv});
  auto jc = b.Join(carol.dev(), inv, {&jb});
  std::vector<GroupVertex> past{b.genesis, inv, jb, jc};
  const auto& bd = bob.dev();
  ExpectDenied(CheckIn(past, b.Invite(bd, {&jc})), "only admins invite");
  ExpectDenied(CheckIn(past, b.Make(bd, {&jc}, codec::SetRoleOp{carol.id(), Role::kAdmin})),
               "only admins change roles");
  ExpectDenied(
      CheckIn(past,
              b.Make(bd, {&jc}, codec::RemoveOp{carol.id(), false, SealTo({&alice.dev(), &bd})})),
      "only admins remove");
  ExpectDenied(CheckIn(past, b.Make(bd, {&jc}, codec::TransferOp{bob.id()})),
               "only the owner transfers");
  // A member may invite a second device of its own.
  EXPECT_TRUE(
      CheckIn(past, b.Invite(bd, {&jc}, Role::kMember, 1, 0, codec::InvitePurpose::kDevice)).ok());
  // Nobody removes the owner, or demotes it with set-role.
  auto grant = b.Make(alice.dev(), {&jc}, codec::SetRoleOp{bob.id(), Role::kAdmin});
  past.push_back(grant);
  ExpectDenied(CheckIn(past, b.Make(bd, {&grant}, codec::RemoveOp{alice.id(), false, {}})),
               "owner cannot be removed");
  ExpectDenied(CheckIn(past, b.Make(bd, {&grant}, codec::SetRoleOp{alice.id(), Role::kMember})),
               "by transfer only");
  // A non-member device does nothing but join.
  Person eve;
  ExpectDenied(CheckIn(past, b.Make(eve.dev(), {&grant}, codec::RotateOp{})),
               "not a member device");
}

TEST(GroupState, RemovalStartsAnEpochSealedToExactlyTheRemainingDevices) {
  Person alice, bob(2);
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis});
  auto jb = b.Join(bob.dev(0), inv, {&inv});
  auto dinv = b.Invite(bob.dev(0), {&jb}, Role::kMember, 1, 0, codec::InvitePurpose::kDevice);
  auto jb2 = b.Join(bob.dev(1), dinv, {&dinv});
  std::vector<GroupVertex> past{b.genesis, inv, jb, dinv, jb2};
  auto st = FoldSorted(past);
  ASSERT_EQ(st.members().at(bob.id()).devices.size(), 2u);

  ExpectDenied(
      CheckIn(past, b.Make(alice.dev(), {&jb2}, codec::RemoveOp{bob.id(), true, SealTo({})})),
      "not sealed to member device");
  ExpectDenied(
      CheckIn(past, b.Make(alice.dev(), {&jb2},
                           codec::RemoveOp{bob.id(), true, SealTo({&alice.dev(), &bob.dev(1)})})),
      "not a remaining member device");
  auto rm = b.Make(alice.dev(), {&jb2}, codec::RemoveOp{bob.id(), true, SealTo({&alice.dev()})});
  ASSERT_TRUE(CheckIn(past, rm).ok());
  past.push_back(rm);
  st = FoldSorted(past);
  EXPECT_FALSE(st.RoleOf(bob.id()));
  EXPECT_EQ(st.current_epoch(), rm.vertex.id);
  EXPECT_TRUE(st.barred().count(bob.id()));
  // The removed devices can no longer write, under any epoch.
  ExpectDenied(st.CheckContent(bob.dev(1).key.public_key(), rm.vertex.id), "not a member device");
  // Members must write under the current epoch.
  ExpectDenied(st.CheckContent(alice.dev().key.public_key(), b.genesis.vertex.id),
               "no longer current");
  // Barred: a new invite does not bring bob back.
  auto inv2 = b.Invite(alice.dev(), {&rm});
  past.push_back(inv2);
  ExpectDenied(CheckIn(past, b.Join(bob.dev(0), inv2, {&inv2})), "barred");
}

TEST(GroupState, RemoveDeviceAndLeave) {
  Person alice, bob(2);
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis});
  auto jb = b.Join(bob.dev(0), inv, {&inv});
  auto dinv = b.Invite(bob.dev(0), {&jb}, Role::kMember, 1, 0, codec::InvitePurpose::kDevice);
  auto jb2 = b.Join(bob.dev(1), dinv, {&dinv});
  std::vector<GroupVertex> past{b.genesis, inv, jb, dinv, jb2};
  auto rd = b.Make(
      bob.dev(0), {&jb2},
      codec::RemoveDeviceOp{bob.dev(1).key.public_key(), SealTo({&alice.dev(), &bob.dev(0)})});
  ASSERT_TRUE(CheckIn(past, rd).ok()) << CheckIn(past, rd).ToString();
  past.push_back(rd);
  ExpectDenied(CheckIn(past, b.Make(bob.dev(0), {&rd},
                                    codec::RemoveDeviceOp{bob.dev(0).key.public_key(),
                                                          SealTo({&alice.dev()})})),
               "last device");
  ExpectDenied(CheckIn(past, b.Make(alice.dev(), {&rd}, codec::LeaveOp{SealTo({&bob.dev(0)})})),
               "owner transfers ownership before leaving");
  auto leave = b.Make(bob.dev(0), {&rd}, codec::LeaveOp{SealTo({&alice.dev()})});
  ASSERT_TRUE(CheckIn(past, leave).ok());
  past.push_back(leave);
  auto st = FoldSorted(past);
  EXPECT_FALSE(st.RoleOf(bob.id()));
  EXPECT_FALSE(st.barred().count(bob.id()));  // leaving does not bar
  EXPECT_EQ(st.epochs().size(), 3u);          // genesis, remove-device, leave
}

TEST(GroupState, TransferMakesTheOldOwnerAnAdmin) {
  Person alice, bob;
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis});
  auto jb = b.Join(bob.dev(), inv, {&inv});
  auto tr = b.Make(alice.dev(), {&jb}, codec::TransferOp{bob.id()});
  std::vector<GroupVertex> past{b.genesis, inv, jb};
  ASSERT_TRUE(CheckIn(past, tr).ok());
  past.push_back(tr);
  auto st = FoldSorted(past);
  EXPECT_EQ(st.RoleOf(bob.id()), Role::kOwner);
  EXPECT_EQ(st.RoleOf(alice.id()), Role::kAdmin);
}

// Two admins remove each other concurrently: both are valid (each at its own past); in the
// fold the first in (depth, id) order takes effect and the other is skipped, whatever order
// the vertices were gathered in.
TEST(GroupState, ConcurrentMutualRemovalFirstInLinearOrderWins) {
  for (int trial = 0; trial < 20; ++trial) {
    Person alice, bob, carol;
    Builder b(alice);
    auto inv = b.Invite(alice.dev(), {&b.genesis}, Role::kAdmin);
    auto jb = b.Join(bob.dev(), inv, {&inv});
    auto jc = b.Join(carol.dev(), inv, {&jb});
    std::vector<GroupVertex> past{b.genesis, inv, jb, jc};
    auto b_rm_c = b.Make(bob.dev(), {&jc},
                         codec::RemoveOp{carol.id(), false, SealTo({&alice.dev(), &bob.dev()})});
    auto c_rm_b = b.Make(carol.dev(), {&jc},
                         codec::RemoveOp{bob.id(), false, SealTo({&alice.dev(), &carol.dev()})});
    ASSERT_TRUE(CheckIn(past, b_rm_c).ok());
    ASSERT_TRUE(CheckIn(past, c_rm_b).ok());
    auto all = past;
    all.push_back(b_rm_c);
    all.push_back(c_rm_b);
    std::mt19937 rng(trial);
    std::shuffle(all.begin() + 1, all.end(), rng);
    std::vector<std::pair<codec::VertexId, std::string>> skipped;
    auto st = FoldSorted(all, &skipped);
    const bool b_first = b_rm_c.vertex.id < c_rm_b.vertex.id;  // same depth
    ASSERT_EQ(b_rm_c.vertex.depth, c_rm_b.vertex.depth);
    EXPECT_EQ(st.RoleOf(bob.id()).has_value(), b_first);
    EXPECT_EQ(st.RoleOf(carol.id()).has_value(), !b_first);
    ASSERT_EQ(skipped.size(), 1u);
    EXPECT_EQ(skipped[0].first, b_first ? c_rm_b.vertex.id : b_rm_c.vertex.id);
    EXPECT_NE(skipped[0].second.find("not a member device"), std::string::npos);
    EXPECT_EQ(st.current_epoch(), b_first ? b_rm_c.vertex.id : c_rm_b.vertex.id);
  }
}

// A one-use invite used by two devices concurrently admits exactly one of them.
TEST(GroupState, ConcurrentJoinsPastTheLimitAdmitOne) {
  Person alice, bob, carol;
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis}, Role::kMember, 1);
  auto jb = b.Join(bob.dev(), inv, {&inv});
  auto jc = b.Join(carol.dev(), inv, {&inv});
  std::vector<GroupVertex> past{b.genesis, inv};
  ASSERT_TRUE(CheckIn(past, jb).ok());
  ASSERT_TRUE(CheckIn(past, jc).ok());
  std::vector<std::pair<codec::VertexId, std::string>> skipped;
  auto st = FoldSorted({b.genesis, inv, jb, jc}, &skipped);
  const bool bob_first = jb.vertex.id < jc.vertex.id;
  EXPECT_EQ(st.RoleOf(bob.id()).has_value(), bob_first);
  EXPECT_EQ(st.RoleOf(carol.id()).has_value(), !bob_first);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].second.find("used up"), std::string::npos);
}

// Grant against removal of the same member: the first in linear order decides.
TEST(GroupState, GrantAgainstRemoval) {
  Person alice, bob, carol;
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis}, Role::kAdmin);
  auto jb = b.Join(bob.dev(), inv, {&inv});
  auto inv2 = b.Invite(alice.dev(), {&jb});
  auto jc = b.Join(carol.dev(), inv2, {&inv2});
  auto grant = b.Make(alice.dev(), {&jc}, codec::SetRoleOp{carol.id(), Role::kAdmin});
  auto rm = b.Make(bob.dev(), {&jc},
                   codec::RemoveOp{carol.id(), false, SealTo({&alice.dev(), &bob.dev()})});
  std::vector<std::pair<codec::VertexId, std::string>> skipped;
  auto st = FoldSorted({b.genesis, inv, jb, inv2, jc, grant, rm}, &skipped);
  // Either order ends with carol removed: a removal after the grant removes the new admin;
  // a grant after the removal finds no member.
  EXPECT_FALSE(st.RoleOf(carol.id()).has_value());
  if (grant.vertex.id < rm.vertex.id) {
    EXPECT_TRUE(skipped.empty());
  } else {
    ASSERT_EQ(skipped.size(), 1u);
    EXPECT_EQ(skipped[0].first, grant.vertex.id);
  }
}

// A join concurrent with a removal does not undo the removal: the removal's keys were
// sealed without the joiner (it could not know it), the removal still takes effect, and
// its epoch is current (every device holding it is still a member); the joiner gets the key
// by share-keys.
TEST(GroupState, AJoinConcurrentWithARemovalDoesNotUndoIt) {
  for (int trial = 0; trial < 12; ++trial) {
    Person alice, mallory, carol;
    Builder b(alice);
    auto inv = b.Invite(alice.dev(), {&b.genesis});
    auto jm = b.Join(mallory.dev(), inv, {&inv});
    auto rm =
        b.Make(alice.dev(), {&jm}, codec::RemoveOp{mallory.id(), false, SealTo({&alice.dev()})});
    auto jc = b.Join(carol.dev(), inv, {&jm});  // concurrent with rm
    ASSERT_TRUE(CheckIn({b.genesis, inv, jm}, rm).ok());
    ASSERT_TRUE(CheckIn({b.genesis, inv, jm}, jc).ok());
    std::vector<GroupVertex> all{b.genesis, inv, jm, rm, jc};
    std::mt19937 rng(trial);
    std::shuffle(all.begin() + 1, all.end(), rng);
    std::vector<std::pair<codec::VertexId, std::string>> skipped;
    auto st = FoldSorted(all, &skipped);
    EXPECT_TRUE(skipped.empty()) << skipped[0].second;
    EXPECT_FALSE(st.RoleOf(mallory.id()).has_value());
    EXPECT_TRUE(st.RoleOf(carol.id()).has_value());
    ASSERT_TRUE(st.has_current_epoch());
    EXPECT_EQ(st.current_epoch(), rm.vertex.id);
    EXPECT_FALSE(st.epochs().at(rm.vertex.id).shares.count(mallory.dev().key.public_key()));
    EXPECT_TRUE(st.CheckContent(carol.dev().key.public_key(), rm.vertex.id).ok());
  }
}

// A rotation concurrent with a removal sealed its key to the removed member too: that epoch
// is never current, whatever the order; the removal's is.
TEST(GroupState, ARotationConcurrentWithARemovalIsNotCurrent) {
  Person alice, bob, mallory;
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis}, Role::kAdmin);
  auto jb = b.Join(bob.dev(), inv, {&inv});
  auto jm = b.Join(mallory.dev(), inv, {&jb});
  auto rm = b.Make(alice.dev(), {&jm},
                   codec::RemoveOp{mallory.id(), false, SealTo({&alice.dev(), &bob.dev()})});
  auto rot =
      b.Make(bob.dev(), {&jm}, codec::RotateOp{SealTo({&alice.dev(), &bob.dev(), &mallory.dev()})});
  ASSERT_TRUE(CheckIn({b.genesis, inv, jb, jm}, rot).ok());
  auto st = FoldSorted({b.genesis, inv, jb, jm, rm, rot});
  EXPECT_FALSE(st.RoleOf(mallory.id()).has_value());
  ASSERT_TRUE(st.has_current_epoch());
  EXPECT_EQ(st.current_epoch(), rm.vertex.id);
  ExpectDenied(st.CheckContent(bob.dev().key.public_key(), rot.vertex.id), "no longer current");
}

// Two admins remove two members concurrently, each sealing its new key to the member the
// other removes: both removals take effect, no epoch is held only by members, content waits
// until a rotation, and the rotation's epoch is then current.
TEST(GroupState, ConcurrentRemovalsNeedARotation) {
  Person alice, bob, m1, m2;
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis}, Role::kAdmin);
  auto jb = b.Join(bob.dev(), inv, {&inv});
  auto inv2 = b.Invite(alice.dev(), {&jb});
  auto j1 = b.Join(m1.dev(), inv2, {&inv2});
  auto j2 = b.Join(m2.dev(), inv2, {&j1});
  // Everyone holds the first key (as after healing).
  std::vector<codec::EpochKeyShare> first;
  for (const auto* d : {&bob.dev(), &m1.dev(), &m2.dev()})
    first.push_back({b.genesis.vertex.id, SealTo({d})[0]});
  std::sort(first.begin(), first.end(),
            [](const auto& x, const auto& y) { return x.share.device < y.share.device; });
  auto heal = b.Make(alice.dev(), {&j2}, codec::ShareKeysOp{first});
  auto r1 = b.Make(alice.dev(), {&heal},
                   codec::RemoveOp{m1.id(), false, SealTo({&alice.dev(), &bob.dev(), &m2.dev()})});
  auto r2 = b.Make(bob.dev(), {&heal},
                   codec::RemoveOp{m2.id(), false, SealTo({&alice.dev(), &bob.dev(), &m1.dev()})});
  std::vector<GroupVertex> all{b.genesis, inv, jb, inv2, j1, j2, heal, r1, r2};
  for (const auto* r : {&r1, &r2}) ASSERT_TRUE(CheckIn({all.begin(), all.begin() + 7}, *r).ok());
  auto st = FoldSorted(all);
  EXPECT_FALSE(st.RoleOf(m1.id()).has_value());
  EXPECT_FALSE(st.RoleOf(m2.id()).has_value());
  EXPECT_FALSE(st.has_current_epoch());
  for (const auto& e : {b.genesis.vertex.id, r1.vertex.id, r2.vertex.id})
    ExpectDenied(st.CheckContent(alice.dev().key.public_key(), e), "no current epoch");
  auto rot = b.Make(alice.dev(), {&r1, &r2}, codec::RotateOp{SealTo({&alice.dev(), &bob.dev()})});
  ASSERT_TRUE(st.Check(rot).ok());
  all.push_back(rot);
  st = FoldSorted(all);
  ASSERT_TRUE(st.has_current_epoch());
  EXPECT_EQ(st.current_epoch(), rot.vertex.id);
}

// Device linking: a device-link invite lets a device with a certificate of its own making
// join as a device of the inviter's user, uncertified; one of the user's devices then
// certifies it with add-device (a certificate signed by the user).
TEST(GroupState, DeviceLinkJoinThenAddDevice) {
  Person alice, bob, eve;
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis});
  auto jb = b.Join(bob.dev(), inv, {&inv});
  auto dinv = b.Invite(bob.dev(), {&jb}, Role::kMember, 1, 0, codec::InvitePurpose::kDevice);
  // The new device made its own user key on first use: its certificate is by that key.
  Person fresh;
  auto jd = b.Join(fresh.dev(), dinv, {&dinv});
  std::vector<GroupVertex> past{b.genesis, inv, jb, dinv};
  ASSERT_TRUE(CheckIn(past, jd).ok());
  past.push_back(jd);
  auto st = FoldSorted(past);
  const auto& dkey = fresh.dev().key.public_key();
  ASSERT_TRUE(st.devices().count(dkey));
  EXPECT_EQ(st.devices().at(dkey).user, bob.id());
  EXPECT_FALSE(st.devices().at(dkey).certified);
  EXPECT_EQ(st.members().at(bob.id()).devices.size(), 2u);
  EXPECT_FALSE(st.RoleOf(fresh.id()).has_value());

  auto cert = *codec::MakeDeviceCertificate(bob.user, dkey, fresh.dev().box.public_key(),
                                            "bob's phone", 2000);
  auto seed = codec::SealedKey::FromView(
      crypto::Seal(fresh.dev().box.public_key(), bob.user.Seed().view()));
  // Only a device of the same user adds it, with a certificate by that user.
  ExpectDenied(CheckIn(past, b.Make(alice.dev(), {&jd}, codec::AddDeviceOp{cert, seed, {}})),
               "own user only");
  auto eve_cert =
      *codec::MakeDeviceCertificate(eve.user, dkey, fresh.dev().box.public_key(), "x", 2000);
  ExpectDenied(CheckIn(past, b.Make(bob.dev(), {&jd}, codec::AddDeviceOp{eve_cert, seed, {}})),
               "own user only");
  auto forged = cert;
  forged.device_name = "forged";
  ExpectDenied(CheckIn(past, b.Make(bob.dev(), {&jd}, codec::AddDeviceOp{forged, seed, {}})),
               "does not verify");
  auto wrong_box = *codec::MakeDeviceCertificate(bob.user, dkey, eve.dev().box.public_key(),
                                                 "bob's phone", 2000);
  ExpectDenied(CheckIn(past, b.Make(bob.dev(), {&jd}, codec::AddDeviceOp{wrong_box, seed, {}})),
               "box key");
  ExpectDenied(CheckIn(past, b.Make(bob.dev(), {&jd},
                                    codec::AddDeviceOp{cert, seed, {{inv.vertex.id, seed}}})),
               "no epoch");
  auto add =
      b.Make(bob.dev(), {&jd}, codec::AddDeviceOp{cert, seed, {{b.genesis.vertex.id, seed}}});
  ASSERT_TRUE(CheckIn(past, add).ok());
  past.push_back(add);
  st = FoldSorted(past);
  EXPECT_TRUE(st.devices().at(dkey).certified);
  EXPECT_EQ(st.devices().at(dkey).name, "bob's phone");
  EXPECT_EQ(st.epochs().at(b.genesis.vertex.id).shares.count(dkey), 1u);

  // A device an admin removed is never added back, by link or by add-device.
  auto rd =
      b.Make(alice.dev(), {&add}, codec::RemoveDeviceOp{dkey, SealTo({&alice.dev(), &bob.dev()})});
  ASSERT_TRUE(st.Check(rd).ok());
  past.push_back(rd);
  st = FoldSorted(past);
  EXPECT_FALSE(st.devices().count(dkey));
  ExpectDenied(CheckIn(past, b.Make(bob.dev(), {&rd}, codec::AddDeviceOp{cert, seed, {}})),
               "was removed");
  auto dinv2 = b.Invite(bob.dev(), {&rd}, Role::kMember, 1, 0, codec::InvitePurpose::kDevice);
  past.push_back(dinv2);
  ExpectDenied(CheckIn(past, b.Join(fresh.dev(), dinv2, {&dinv2})), "was removed");
}

// add-device also brings a device of a member's user into a group it never joined: the
// user's memberships follow the user to its new device.
TEST(GroupState, AddDeviceAddsADeviceWhereTheUserIsAMember) {
  Person alice, bob(2);
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis});
  auto jb = b.Join(bob.dev(0), inv, {&inv});
  auto add = b.Make(bob.dev(0), {&jb},
                    codec::AddDeviceOp{bob.dev(1).cert, SealTo({&bob.dev(1)})[0].sealed, {}});
  ASSERT_TRUE(CheckIn({b.genesis, inv, jb}, add).ok());
  auto st = FoldSorted({b.genesis, inv, jb, add});
  EXPECT_EQ(st.UserOf(bob.dev(1).key.public_key()), bob.id());
  EXPECT_TRUE(st.devices().at(bob.dev(1).key.public_key()).certified);
  // It holds no key until one is shared: the current epoch stays current (a new device
  // never made a key unsafe).
  EXPECT_EQ(st.current_epoch(), b.genesis.vertex.id);
}

TEST(GroupState, ShareKeysNeedsAnEpochAndAMemberDevice) {
  Person alice, bob, eve;
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis});
  auto jb = b.Join(bob.dev(), inv, {&inv});
  std::vector<GroupVertex> past{b.genesis, inv, jb};
  auto share = [&](const codec::VertexId& epoch, const Person::Device& to) {
    return codec::ShareKeysOp{{{epoch, SealTo({&to})[0]}}};
  };
  auto ok = b.Make(alice.dev(), {&jb}, share(b.genesis.vertex.id, bob.dev()));
  ASSERT_TRUE(CheckIn(past, ok).ok());
  ExpectDenied(CheckIn(past, b.Make(alice.dev(), {&jb}, share(inv.vertex.id, bob.dev()))),
               "no epoch");
  ExpectDenied(CheckIn(past, b.Make(alice.dev(), {&jb}, share(b.genesis.vertex.id, eve.dev()))),
               "not a member device");
  past.push_back(ok);
  auto st = FoldSorted(past);
  EXPECT_EQ(st.epochs().at(b.genesis.vertex.id).shares.at(bob.dev().key.public_key()).size(), 1u);
}

}  // namespace
}  // namespace topo::object
