// Random item sets and an in-process negentropy driver for the sync tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "sync/negentropy.h"
#include "sync/range_index.h"
#include "sync/range_storage.h"

namespace topo::sync::testing {

inline ItemId RandomId(std::mt19937_64& rng) {
  ItemId id;
  for (size_t i = 0; i < id.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(id.data() + i, &v, 8);
  }
  return id;
}

// Two sets that share `common` items; `only_a` items are only in a, `only_b` only in b.
// Timestamps are drawn from [base, base + spread) so that many collide when spread is small.
struct SetPair {
  std::vector<Item> a, b;
  std::set<ItemId> only_a, only_b;
};

inline SetPair MakeSetPair(uint64_t seed, size_t common, size_t only_a, size_t only_b,
                           uint64_t spread, uint64_t base = 1'677'970'534) {
  std::mt19937_64 rng(seed);
  SetPair p;
  auto make = [&] { return Item{base + (spread ? rng() % spread : 0), RandomId(rng)}; };
  for (size_t i = 0; i < common; ++i) {
    Item it = make();
    p.a.push_back(it);
    p.b.push_back(it);
  }
  for (size_t i = 0; i < only_a; ++i) {
    Item it = make();
    p.a.push_back(it);
    p.only_a.insert(it.id);
  }
  for (size_t i = 0; i < only_b; ++i) {
    Item it = make();
    p.b.push_back(it);
    p.only_b.insert(it.id);
  }
  return p;
}

inline SortedVectorStorage SealedVector(const std::vector<Item>& items) {
  SortedVectorStorage s;
  for (const Item& it : items) EXPECT_TRUE(s.Insert(it).ok());
  EXPECT_TRUE(s.Seal().ok());
  return s;
}

inline RangeIndex BuildIndex(const std::vector<Item>& items) {
  RangeIndex index;
  for (const Item& it : items) EXPECT_TRUE(index.Insert(it).ok());
  return index;
}

struct Transcript {
  std::vector<Bytes> messages;  // initiator, responder, initiator, ...
  std::vector<ItemId> have, need;
  size_t round_trips = 0;
  bool ok = false;
};

// Runs a whole reconciliation; fails the test when a step fails, a message is over a
// frame-size limit, or it takes more than max_rounds round trips.
inline Transcript RunReconciliation(const RangeStorage& initiator_storage,
                                    const RangeStorage& responder_storage,
                                    uint64_t initiator_limit = 0, uint64_t responder_limit = 0,
                                    size_t max_rounds = 100'000) {
  Transcript t;
  auto client = Negentropy::Create(initiator_storage, initiator_limit);
  auto server = Negentropy::Create(responder_storage, responder_limit);
  EXPECT_TRUE(client.ok() && server.ok());
  if (!client.ok() || !server.ok()) return t;
  Bytes msg = client->Initiate();
  while (t.round_trips < max_rounds) {
    if (initiator_limit) {
      EXPECT_LE(msg.size(), initiator_limit);
    }
    t.messages.push_back(msg);
    ++t.round_trips;
    auto answer = server->Reconcile(msg);
    EXPECT_TRUE(answer.ok()) << answer.status().ToString();
    if (!answer.ok() || !answer->reply) return t;
    if (responder_limit) {
      EXPECT_LE(answer->reply->size(), responder_limit);
    }
    t.messages.push_back(*answer->reply);
    auto step = client->Reconcile(*answer->reply);
    EXPECT_TRUE(step.ok()) << step.status().ToString();
    if (!step.ok()) return t;
    t.have.insert(t.have.end(), step->have.begin(), step->have.end());
    t.need.insert(t.need.end(), step->need.begin(), step->need.end());
    if (!step->reply) {
      t.ok = true;
      return t;
    }
    msg = std::move(*step->reply);
  }
  ADD_FAILURE() << "no end after " << max_rounds << " round trips";
  return t;
}

// have and need, as sets, must be exactly the true difference. Without a frame-size limit
// each id is reported once; with one, a range answered in one round can be folded into the
// closing fingerprint and answered again later, so repeats are allowed (Negentropy's
// header says so).
inline void ExpectDifference(const Transcript& t, const SetPair& p, bool allow_repeats = false) {
  ASSERT_TRUE(t.ok);
  std::set<ItemId> have(t.have.begin(), t.have.end()), need(t.need.begin(), t.need.end());
  if (!allow_repeats) {
    EXPECT_EQ(have.size(), t.have.size()) << "an id reported twice as have";
    EXPECT_EQ(need.size(), t.need.size()) << "an id reported twice as need";
  }
  EXPECT_TRUE(have == p.only_a) << "have: " << have.size() << " ids, expected " << p.only_a.size();
  EXPECT_TRUE(need == p.only_b) << "need: " << need.size() << " ids, expected " << p.only_b.size();
}

}  // namespace topo::sync::testing
