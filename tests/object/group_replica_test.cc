// The life of a workspace through bundles, on Replicas: create, invite, accept, key
// healing, writing on both sides, removal with a new epoch, and what a removed member can
// and cannot do afterwards.
#include <gtest/gtest.h>

#include "codec/object_payload.h"
#include "object/crdt.h"
#include "object/replica.h"
#include "testing/temp_dir.h"
#include "util/encoding.h"

namespace topo::object {
namespace {

using testing::TempDir;

struct Device {
  crypto::SigningKey user = crypto::SigningKey::Generate();
  crypto::SigningKey key = crypto::SigningKey::Generate();
  crypto::BoxKey box = crypto::BoxKey::Generate();
  codec::DeviceCertificate cert;
  std::unique_ptr<Replica> replica;

  explicit Device(const std::string& name, ReplicaOptions o = {}) {
    cert = *codec::MakeDeviceCertificate(user, key.public_key(), box.public_key(), name, 1);
    o.box = &box;
    auto r = Replica::Open(":memory:", key.Clone(), o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    replica = std::move(r).value();
  }
  Replica& operator*() { return *replica; }
  Replica* operator->() { return replica.get(); }
};

// Everything `from` holds goes to `to` through a bundle file.
graph::IngestStats Send(TempDir& dir, Device& from, Device& to) {
  std::string path = dir.File("bundle");
  auto n = from->ExportBundle(path);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  auto r = to->ImportBundle(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (r.ok())
    for (const auto& p : r->problems) ADD_FAILURE() << "import problem: " << p;
  return r.ok() ? r->stats : graph::IngestStats{};
}

codec::CrdtOp SetTitle(std::string_view t) {
  return codec::CrdtOp{codec::LwwSet{Bytes(AsBytes(t).begin(), AsBytes(t).end())}};
}

std::string Title(Device& d, const codec::ObjectId& doc) {
  auto s = d->Show(doc);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok() || (*s)["title"].is_null()) return "";
  return (*s)["title"].get<std::string>();
}

class GroupLife : public ::testing::Test {
 protected:
  void SetUp() override {
    auto g = alice->CreateGroup(alice.cert, /*history_visible=*/true);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    group = *g;
    auto d = alice->CreateObject("doc", group);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    doc = *d;
    auto title = alice->FieldOf(doc, "title");
    ASSERT_TRUE(title.ok());
    title_field = *title;
    ASSERT_TRUE(alice->Submit(doc, title_field, SetTitle("plans")).ok());
  }

  // bob joins with an invite; alice heals his keys; bob ends up reading.
  void BobJoins() {
    auto link = alice->Invite(group, {});
    ASSERT_TRUE(link.ok()) << link.status().ToString();
    Send(dir, alice, bob);
    // Not a member yet: bob stores and checks, reads nothing.
    EXPECT_EQ(Title(bob, doc), "");
    EXPECT_GT(*bob->engine().QueuedCount(doc), 0u);
    auto join = bob->AcceptInvite(*link, bob.cert);
    ASSERT_TRUE(join.ok()) << join.status().ToString();
    Send(dir, bob, alice);
    auto healed = alice->HealAllGroups();
    ASSERT_TRUE(healed.ok()) << healed.status().ToString();
    EXPECT_EQ(healed->size(), 1u);
    Send(dir, alice, bob);
  }

  TempDir dir;
  Device alice{"alice's laptop"}, bob{"bob's phone"};
  codec::ObjectId group, doc;
  uint32_t title_field = 0;
};

TEST_F(GroupLife, AJoinerReadsAfterItsKeysArriveAndWritesBack) {
  BobJoins();
  EXPECT_EQ(Title(bob, doc), "plans");
  EXPECT_EQ(*bob->engine().QueuedCount(doc), 0u);
  ASSERT_TRUE(bob->Submit(doc, title_field, SetTitle("plans v2")).ok());
  Send(dir, bob, alice);
  EXPECT_EQ(Title(alice, doc), "plans v2");
  EXPECT_EQ(*alice->Fingerprint(), *bob->Fingerprint());
  auto st = alice->GroupStateOf(group);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->RoleOf(bob.user.public_key()), codec::Role::kMember);
}

TEST_F(GroupLife, ContentIsSealedAtTheVertexLayer) {
  // The plaintext title never appears in any stored vertex.
  bool found = false;
  ASSERT_TRUE(alice
                  ->ForEachInOrder(doc,
                                   [&](const graph::VertexMeta&, ByteView raw) {
                                     std::string s(AsChars(raw));
                                     found = found || s.find("plans") != std::string::npos;
                                     return true;
                                   })
                  .ok());
  EXPECT_FALSE(found);
}

TEST_F(GroupLife, ARemovedMemberReadsNothingNewAndCannotWrite) {
  BobJoins();
  ASSERT_EQ(Title(bob, doc), "plans");
  auto rm = alice->RemoveMember(group, bob.user.public_key(), /*bar=*/true);
  ASSERT_TRUE(rm.ok()) << rm.status().ToString();
  ASSERT_TRUE(alice->Submit(doc, title_field, SetTitle("after bob")).ok());
  Send(dir, alice, bob);
  // The new epoch was not sealed to bob: the new content waits at bob, unread.
  EXPECT_EQ(Title(bob, doc), "plans");
  EXPECT_GT(*bob->engine().QueuedCount(doc), 0u);
  EXPECT_EQ(Title(alice, doc), "after bob");
  // bob's replica refuses to write, with the reason.
  auto w = bob->Submit(doc, title_field, SetTitle("still here"));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kPermissionDenied);

  // A vertex bob forges anyway (his removal in its causal past, sealed under an old key)
  // is rejected by alice with the reason, and changes nothing she holds.
  std::string before = *alice->Fingerprint();
  codec::Vertex v;
  v.type = codec::kCrdtOpType;
  v.object_id = doc;
  v.parents = *bob->Heads(doc);
  uint64_t depth = 0, created = 0;
  for (const auto& p : v.parents) {
    auto m = *bob->graph_store().GetMeta(p);
    depth = std::max(depth, m->depth);
    created = std::max(created, m->created_at);
  }
  v.depth = depth + 1;
  v.created_at = created + 1;
  v.refs = (*bob->engine().GroupIndexOf(group))->Heads();
  v.author = bob.key.public_key();
  auto old_epoch = (*bob->engine().GroupIndexOf(group))->At(v.refs);
  const crypto::SecretBytes* old_key = bob->engine().KeyringOf(group).KeyFor(group);
  ASSERT_NE(old_key, nullptr);  // bob still holds the genesis epoch key
  v.payload =
      *SealContent(v, group, *old_key, codec::EncodeOpPayload({title_field, SetTitle("forged")}));
  ASSERT_TRUE(codec::SignVertex(v, bob.key).ok());
  auto r = alice->Ingest({codec::EncodeVertex(v)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.rejected, 1u);
  ASSERT_FALSE(r->problems.empty());
  EXPECT_NE(r->problems[0].find("not a member device"), std::string::npos) << r->problems[0];
  EXPECT_EQ(*alice->Fingerprint(), before);
  EXPECT_EQ(Title(alice, doc), "after bob");
  (void)old_epoch;
}

TEST_F(GroupLife, AWriteConcurrentWithRemovalIsAccepted) {
  BobJoins();
  // bob writes before he learns of his removal: valid everywhere, readable by alice.
  ASSERT_TRUE(bob->Submit(doc, title_field, SetTitle("concurrent")).ok());
  ASSERT_TRUE(alice->RemoveMember(group, bob.user.public_key(), false).ok());
  auto stats = Send(dir, bob, alice);
  EXPECT_EQ(stats.rejected, 0u);
  Send(dir, alice, bob);
  EXPECT_EQ(*alice->Fingerprint(), *bob->Fingerprint());
}

TEST_F(GroupLife, OnlyAdminsInviteAndRemove) {
  BobJoins();
  auto inv = bob->Invite(group, {});
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.status().code(), Code::kPermissionDenied);
  EXPECT_NE(inv.status().message().find("only admins invite"), std::string::npos);
  auto rm = bob->RemoveMember(group, alice.user.public_key(), false);
  ASSERT_FALSE(rm.ok());
  // Promote bob: now he may invite.
  ASSERT_TRUE(alice->SetRole(group, bob.user.public_key(), codec::Role::kAdmin).ok());
  Send(dir, alice, bob);
  EXPECT_TRUE(bob->Invite(group, {}).ok());
}

TEST_F(GroupLife, AJoinBeforeTheGroupArrivesWaitsForIt) {
  auto link = alice->Invite(group, {});
  ASSERT_TRUE(link.ok());
  auto join = bob->AcceptInvite(*link, bob.cert);
  ASSERT_TRUE(join.ok()) << join.status().ToString();
  EXPECT_EQ(*bob->graph_store().BlockedCount(), 1u);
  Send(dir, alice, bob);
  EXPECT_EQ(*bob->graph_store().BlockedCount(), 0u);
  auto st = bob->GroupStateOf(group);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->RoleOf(bob.user.public_key()).has_value());
}

// A group made with history visible hands a joiner every earlier epoch key; one made
// without hands only the current one, so content from before the join stays unread.
TEST(GroupReplica, HistoryVisibilityIsChosenAtCreation) {
  for (bool history : {true, false}) {
    TempDir dir;
    Device alice("a"), bob("b");
    auto group = *alice->CreateGroup(alice.cert, history);
    auto doc = *alice->CreateObject("doc", group);
    uint32_t title = *alice->FieldOf(doc, "title");
    ASSERT_TRUE(alice->Submit(doc, title, SetTitle("old news")).ok());
    ASSERT_TRUE(alice->Rotate(group).ok());  // the old title is in an earlier epoch now
    auto count = *alice->FieldOf(doc, "count");
    ASSERT_TRUE(alice->Submit(doc, count, codec::CrdtOp{codec::CounterAdd{7}}).ok());
    auto link = alice->Invite(group, {});
    ASSERT_TRUE(link.ok());
    Send(dir, alice, bob);
    ASSERT_TRUE(bob->AcceptInvite(*link, bob.cert).ok());
    Send(dir, bob, alice);
    ASSERT_TRUE(alice->HealAllGroups().ok());
    Send(dir, alice, bob);
    auto shown = *bob->Show(doc);
    if (history) {
      EXPECT_EQ(shown["title"], "old news");
      EXPECT_EQ(shown["count"], 7);
      EXPECT_EQ(*bob->engine().QueuedCount(doc), 0u);
    } else {
      // The epoch-0 title waits for a key bob never gets; what came after it is read.
      EXPECT_TRUE(shown["title"].is_null());
      EXPECT_EQ(shown["count"], 7);
      EXPECT_EQ(*bob->engine().QueuedCount(doc), 1u);
      EXPECT_FALSE(bob->engine().KeyringOf(group).Has(group));
    }
  }
}

// A low-memory node drops the engine's caches every few applied vertices: what it ends
// with is what a replica that keeps them ends with.
TEST(GroupReplica, DroppingTheEngineCachesAfterCommitsChangesNothing) {
  TempDir dir;
  ReplicaOptions forgetful;
  forgetful.batch_size = 16;
  forgetful.forget_engine_caches_every = 1;
  Device alice("a"), bob("b", forgetful);
  auto group = *alice->CreateGroup(alice.cert, true);
  auto doc = *alice->CreateObject("doc", group);
  uint32_t title = *alice->FieldOf(doc, "title");
  uint32_t count = *alice->FieldOf(doc, "count");
  for (int i = 0; i < 150; ++i) {
    ASSERT_TRUE(alice->Submit(doc, count, codec::CrdtOp{codec::CounterAdd{1}}).ok());
    ASSERT_TRUE(alice->Submit(doc, title, SetTitle("t" + std::to_string(i))).ok());
  }
  auto link = alice->Invite(group, {});
  ASSERT_TRUE(link.ok());
  Send(dir, alice, bob);
  ASSERT_TRUE(bob->AcceptInvite(*link, bob.cert).ok());
  Send(dir, bob, alice);
  ASSERT_TRUE(alice->HealAllGroups().ok());
  Send(dir, alice, bob);
  ASSERT_TRUE(bob->Submit(doc, count, codec::CrdtOp{codec::CounterAdd{5}}).ok());
  Send(dir, bob, alice);
  EXPECT_EQ(*bob->Show(doc), *alice->Show(doc));
  EXPECT_EQ((*bob->Show(doc))["count"], 155);
  EXPECT_EQ((*bob->Show(doc))["title"], "t149");
  EXPECT_EQ(*bob->engine().QueuedCount(doc), 0u);
}

TEST(GroupReplica, ObjectsOutsideGroupsAreUnchangedAndGroupsNeedCreateGroup) {
  Device d("solo");
  auto bad = d->CreateObject("group");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("CreateGroup"), std::string::npos);
  auto c = d->CreateObject("counter");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(d->Submit(*c, 0, codec::CrdtOp{codec::CounterAdd{2}}).ok());
  EXPECT_EQ((*d->Show(*c))["value"], 2);
  // Not a member of someone else's group: cannot make objects in it.
  Device other("other");
  auto g = other->CreateGroup(other.cert, false);
  ASSERT_TRUE(g.ok());
  TempDir dir;
  Send(dir, other, d);
  auto o = d->CreateObject("doc", *g);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), Code::kPermissionDenied);
}

}  // namespace
}  // namespace topo::object
