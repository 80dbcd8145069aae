#include "object/group_index.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "testing/group_builder.h"
#include "util/encoding.h"

namespace topo::object {
namespace {

using testing::Builder;
using testing::Person;
using testing::SealTo;

std::string Summary(const GroupState& st) {
  std::string out;
  for (const auto& [user, m] : st.members()) {
    out += HexEncodeShort(user) + ":" + codec::RoleName(m.role) + "[";
    for (const auto& d : m.devices) out += HexEncodeShort(d) + ",";
    out += "] ";
  }
  out += "epoch=" + HexEncodeShort(st.current_epoch()) + " invites=";
  for (const auto& [id, inv] : st.invites())
    out += HexEncodeShort(id) + "/" + std::to_string(inv.uses) + (inv.revoked ? "r" : "") + ",";
  out += " barred=" + std::to_string(st.barred().size());
  return out;
}

// A random group history with concurrent branches: every step picks a random subset of
// the current heads as parents, and an author and an op that are often (not always) valid.
struct History {
  std::vector<GroupVertex> vertices;  // in a causal order (parents first)
};

GroupState NaiveAt(const History& h, const std::vector<codec::VertexId>& frontier);

History RandomHistory(uint64_t seed, int steps) {
  std::mt19937_64 rng(seed);
  std::vector<Person> people(5);
  Builder b(people[0]);
  History h;
  h.vertices.push_back(b.genesis);
  std::set<size_t> heads{0};
  std::vector<std::pair<size_t, crypto::SecretBytes>> invites;  // vertex index, secret
  for (int s = 0; s < steps; ++s) {
    std::vector<const GroupVertex*> parents;
    for (size_t hd : heads)
      if (parents.empty() || rng() % 2) parents.push_back(&h.vertices[hd]);
    const Person& author = people[rng() % people.size()];
    GroupVertex v;
    const int kind = static_cast<int>(rng() % 6);
    switch (kind) {
      case 0:
        v = b.Invite(author.dev(), parents, rng() % 2 ? codec::Role::kAdmin : codec::Role::kMember,
                     rng() % 3);
        invites.emplace_back(h.vertices.size(), b.secret.Clone());
        break;
      case 1:
        if (!invites.empty()) {
          auto& [idx, secret] = invites[rng() % invites.size()];
          // The invite must be in the past: add it to the parents.
          parents.push_back(&h.vertices[idx]);
          v = b.Join(people[rng() % people.size()].dev(), h.vertices[idx], parents, &secret);
          break;
        }
        [[fallthrough]];
      case 5:
        if (!invites.empty()) {
          const auto& [idx, secret] = invites[rng() % invites.size()];
          parents.push_back(&h.vertices[idx]);
          v = b.Make(author.dev(), parents, codec::RevokeInviteOp{h.vertices[idx].vertex.id});
          break;
        }
        [[fallthrough]];
      case 2:
        v = b.Make(author.dev(), parents,
                   codec::SetRoleOp{people[rng() % people.size()].id(),
                                    rng() % 2 ? codec::Role::kAdmin : codec::Role::kMember});
        break;
      case 3:
      default: {
        // Keys sealed to exactly the devices that remain (most of the time; else none).
        std::vector<codec::VertexId> pids;
        for (const auto* p : parents) pids.push_back(p->vertex.id);
        GroupState st = NaiveAt(h, pids);
        const crypto::PublicKey& target = people[1 + rng() % 4].id();
        std::vector<const Person::Device*> remaining;
        if (rng() % 4 != 0)
          for (const auto& p : people)
            if (st.RoleOf(p.id()) && (kind != 3 || p.id() != target))
              for (const auto& d : p.devices)
                if (st.devices().count(d.key.public_key())) remaining.push_back(&d);
        if (kind == 3)
          v = b.Make(author.dev(), parents,
                     codec::RemoveOp{target, rng() % 2 == 0, SealTo(remaining)});
        else
          v = b.Make(author.dev(), parents, codec::RotateOp{SealTo(remaining)});
        break;
      }
    }
    for (const auto* p : parents) {
      auto it = std::find_if(h.vertices.begin(), h.vertices.end(),
                             [&](const GroupVertex& x) { return x.vertex.id == p->vertex.id; });
      heads.erase(static_cast<size_t>(it - h.vertices.begin()));
    }
    heads.insert(h.vertices.size());
    h.vertices.push_back(std::move(v));
  }
  return h;
}

// The reference: collect the past by hand, sort, fold.
GroupState NaiveAt(const History& h, const std::vector<codec::VertexId>& frontier) {
  std::map<codec::VertexId, const GroupVertex*> by_id;
  for (const auto& v : h.vertices) by_id[v.vertex.id] = &v;
  std::set<codec::VertexId> past;
  std::vector<codec::VertexId> work = frontier;
  while (!work.empty()) {
    auto id = work.back();
    work.pop_back();
    if (!past.insert(id).second) continue;
    for (const auto& p : by_id.at(id)->vertex.parents) work.push_back(p);
  }
  std::vector<GroupVertex> vs;
  for (const auto& id : past) vs.push_back(*by_id.at(id));
  std::sort(vs.begin(), vs.end(), [](const GroupVertex& a, const GroupVertex& b) {
    return std::tie(a.vertex.depth, a.vertex.id) < std::tie(b.vertex.depth, b.vertex.id);
  });
  // A revocation voids the joins of its invite that are not in its own past.
  auto past_of = [&](const codec::VertexId& from) {
    std::set<codec::VertexId> out;
    std::vector<codec::VertexId> w{from};
    while (!w.empty()) {
      auto id = w.back();
      w.pop_back();
      if (!out.insert(id).second) continue;
      for (const auto& p : by_id.at(id)->vertex.parents) w.push_back(p);
    }
    return out;
  };
  std::set<codec::VertexId> cancelled;
  for (const auto& r : vs) {
    const auto* revoke = r.op ? std::get_if<codec::RevokeInviteOp>(&*r.op) : nullptr;
    if (!revoke) continue;
    auto r_past = past_of(r.vertex.id);
    for (const auto& j : vs) {
      const auto* join = j.op ? std::get_if<codec::JoinOp>(&*j.op) : nullptr;
      if (join && join->invite == revoke->invite && !r_past.count(j.vertex.id))
        cancelled.insert(j.vertex.id);
    }
  }
  auto st = GroupState::Fold(vs, nullptr, &cancelled);
  EXPECT_TRUE(st.ok());
  return *st;
}

TEST(GroupIndex, StateAtEveryFrontierMatchesANaiveFold) {
  size_t most_members = 0, epochs = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    History h = RandomHistory(seed, 40);
    GroupIndex cached(h.vertices[0].vertex.id);
    GroupIndex uncached(h.vertices[0].vertex.id, /*cache_entries=*/0);
    std::mt19937_64 rng(seed * 77);
    for (size_t i = 0; i < h.vertices.size(); ++i) {
      const auto& v = h.vertices[i].vertex;
      ASSERT_TRUE(cached.Add(v).ok());
      ASSERT_TRUE(uncached.Add(v).ok());
      // The state right after v, and at v with a random earlier vertex (a merge frontier).
      std::vector<std::vector<codec::VertexId>> frontiers{{v.id}};
      frontiers.push_back({v.id, h.vertices[rng() % (i + 1)].vertex.id});
      for (const auto& f : frontiers) {
        std::string want = Summary(NaiveAt(h, f));
        auto a = cached.At(f);
        ASSERT_TRUE(a.ok()) << a.status().ToString();
        EXPECT_EQ(Summary((*a)->state), want) << "seed " << seed << " vertex " << i;
        auto b = uncached.At(f);
        ASSERT_TRUE(b.ok());
        EXPECT_EQ(Summary((*b)->state), want) << "seed " << seed << " vertex " << i;
        most_members = std::max(most_members, (*a)->state.members().size());
        epochs = std::max(epochs, (*a)->state.epochs().size());
      }
    }
  }
  // The histories exercise real changes, not only skipped ops.
  EXPECT_GE(most_members, 3u);
  EXPECT_GE(epochs, 2u);
}

// A join built on an old frontier, concurrent with the revocation of its invite, has no
// effect once both are known; a join the revocation saw stays.
TEST(GroupIndex, ARevocationVoidsConcurrentJoinsOfItsInvite) {
  Person alice, bob, carol;
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis});
  auto secret = b.secret.Clone();
  auto jb = b.Join(bob.dev(), inv, {&inv}, &secret);
  auto revoke = b.Make(alice.dev(), {&jb}, codec::RevokeInviteOp{inv.vertex.id});
  auto jc = b.Join(carol.dev(), inv, {&inv}, &secret);  // concurrent with jb and revoke
  GroupIndex idx(b.genesis.vertex.id);
  for (const auto* v : {&b.genesis, &inv, &jb, &revoke, &jc}) ASSERT_TRUE(idx.Add(v->vertex).ok());
  std::vector<codec::VertexId> before{jc.vertex.id, jb.vertex.id};
  EXPECT_TRUE((*idx.At(before))->state.RoleOf(carol.id()).has_value());
  std::vector<codec::VertexId> after{jc.vertex.id, revoke.vertex.id};
  const auto* snap = *idx.At(after);
  EXPECT_FALSE(snap->state.RoleOf(carol.id()).has_value());
  EXPECT_TRUE(snap->state.RoleOf(bob.id()).has_value());
  bool voided = false;
  for (const auto& [id, why] : snap->skipped)
    voided =
        voided || (id == jc.vertex.id && why.find("revoked concurrently") != std::string::npos);
  EXPECT_TRUE(voided);
}

TEST(GroupIndex, PastAndHeads) {
  Person alice, bob;
  Builder b(alice);
  auto inv = b.Invite(alice.dev(), {&b.genesis});
  auto left = b.Make(alice.dev(), {&inv}, codec::RotateOp{SealTo({&alice.dev()})});
  auto right = b.Join(bob.dev(), inv, {&inv});
  GroupIndex idx(b.genesis.vertex.id);
  for (const auto* v : {&b.genesis, &inv, &left, &right}) ASSERT_TRUE(idx.Add(v->vertex).ok());
  EXPECT_EQ(idx.Heads(), (std::vector<codec::VertexId>{std::min(left.vertex.id, right.vertex.id),
                                                       std::max(left.vertex.id, right.vertex.id)}));
  std::vector<codec::VertexId> at_left{left.vertex.id};
  EXPECT_TRUE(*idx.InPast(at_left, inv.vertex.id));
  EXPECT_TRUE(*idx.InPast(at_left, left.vertex.id));
  EXPECT_FALSE(*idx.InPast(at_left, right.vertex.id));
  // bob joined on the other branch: not a member at `left`, a member at both heads.
  EXPECT_FALSE((*idx.At(at_left))->state.RoleOf(bob.id()).has_value());
  std::vector<codec::VertexId> both{left.vertex.id, right.vertex.id};
  EXPECT_TRUE((*idx.At(both))->state.RoleOf(bob.id()).has_value());
}

TEST(GroupIndex, RefusesStrangersAndOrphans) {
  Person alice;
  Builder b(alice), other(alice);
  GroupIndex idx(b.genesis.vertex.id);
  EXPECT_EQ(idx.Add(other.genesis.vertex).code(), Code::kInvalidArgument);
  auto inv = b.Invite(alice.dev(), {&b.genesis});
  EXPECT_EQ(idx.Add(inv.vertex).code(), Code::kInvalidArgument);  // parent not indexed
  ASSERT_TRUE(idx.Add(b.genesis.vertex).ok());
  ASSERT_TRUE(idx.Add(inv.vertex).ok());
  ASSERT_TRUE(idx.Add(inv.vertex).ok());  // twice: no-op
  EXPECT_EQ(idx.size(), 2u);
  std::vector<codec::VertexId> unknown{other.genesis.vertex.id};
  EXPECT_EQ(idx.At(unknown).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace topo::object
