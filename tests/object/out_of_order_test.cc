// Every built-in CRDT reaches the same value when the operations of a causal chain are
// applied in any order. The group engine relies on it: content a device cannot open yet
// waits in a queue while later content of the same object applies, and the queued ops
// apply when a key arrives (object/engine.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "object/crdt.h"
#include "store/state_store.h"

namespace topo::object {
namespace {

struct Op {
  FieldType type;
  Bytes prefix;
  CrdtOp op;
  OpContext ctx;
};

Bytes Prefix(uint8_t f) { return Bytes{'F', f}; }

Bytes Val(std::mt19937_64& rng) { return Bytes{static_cast<uint8_t>('a' + rng() % 4)}; }

// One author's causal chain of random ops over one field of each kind, each made against
// the state its predecessors produced (as a real author makes them).
std::vector<Op> Chain(uint64_t seed, int steps, const codec::ObjectId& object) {
  std::mt19937_64 rng(seed);
  store::MemStateStore state;
  const std::vector<FieldType> types = {FieldType::Counter(),
                                        FieldType::LwwRegister(),
                                        FieldType::MvRegister(),
                                        FieldType::OrSet(),
                                        FieldType::Map(FieldType::LwwRegister()),
                                        FieldType::List()};
  std::vector<Op> ops;
  for (int i = 0; i < steps; ++i) {
    uint8_t f = static_cast<uint8_t>(rng() % types.size());
    const FieldType& type = types[f];
    Bytes prefix = Prefix(f);
    Result<CrdtOp> op = Status::Internal("unset");
    switch (type.kind) {
      case CrdtKind::kCounter:
        op = CrdtOp{codec::CounterAdd{static_cast<int64_t>(rng() % 9) - 4}};
        break;
      case CrdtKind::kLwwRegister:
        op = CrdtOp{codec::LwwSet{Val(rng)}};
        break;
      case CrdtKind::kMvRegister:
        op = MakeMvSet(state, object, prefix, Val(rng));
        break;
      case CrdtKind::kOrSet:
        if (rng() % 2) {
          op = CrdtOp{codec::SetAdd{Val(rng)}};
        } else {
          op = MakeSetRemove(state, object, prefix, Val(rng));
        }
        break;
      case CrdtKind::kMap:
        if (rng() % 3) {
          std::string key(1, static_cast<char>('k' + rng() % 3));
          op = CrdtOp{
              codec::MapUpdate{key, std::make_shared<CrdtOp>(CrdtOp{codec::LwwSet{Val(rng)}})}};
        } else {
          op = MakeMapRemove(state, object, prefix,
                             std::string(1, static_cast<char>('k' + rng() % 3)));
        }
        break;
      case CrdtKind::kLog:  // a log field belongs to an app blueprint, never a built-in one
        break;
      case CrdtKind::kList: {
        auto shown = Render(state, object, prefix, type);
        size_t size = shown.ok() ? shown->size() : 0;
        if (size > 0 && rng() % 3 == 0) {
          op = MakeListDelete(state, object, prefix, rng() % size, 1);
        } else {
          op = MakeListInsert(state, object, prefix, rng() % (size + 1), {Val(rng), Val(rng)});
        }
        break;
      }
    }
    if (!op.ok()) continue;  // e.g. removing an absent element: nothing to do
    OpContext ctx;
    for (int b = 0; b < 8; ++b) ctx.id.data()[b] = static_cast<uint8_t>(rng());
    ctx.id.data()[8] = static_cast<uint8_t>(i);
    ctx.created_at = 1000 + static_cast<uint64_t>(i);
    ctx.depth = static_cast<uint64_t>(i) + 1;
    auto applied = ApplyOp(state, object, prefix, type, *op, ctx);
    EXPECT_TRUE(applied.ok()) << applied.status().ToString();
    ops.push_back({type, prefix, *op, ctx});
  }
  return ops;
}

std::string RenderAll(store::StateStore& state, const codec::ObjectId& object,
                      const std::vector<Op>& ops) {
  std::string out;
  for (uint8_t f = 0; f < 6; ++f) {
    for (const Op& op : ops)
      if (op.prefix == Prefix(f)) {
        auto r = Render(state, object, op.prefix, op.type);
        out += r.ok() ? r->dump() : r.status().ToString();
        break;
      }
    out += "|";
  }
  return out;
}

TEST(OutOfOrder, EveryCrdtConvergesWhateverOrderACausalChainApplies) {
  codec::ObjectId object;
  object.data()[0] = 1;
  int nontrivial = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    auto ops = Chain(seed, 40, object);
    store::MemStateStore causal;
    for (const Op& op : ops)
      ASSERT_TRUE(ApplyOp(causal, object, op.prefix, op.type, op.op, op.ctx).ok());
    std::string want = RenderAll(causal, object, ops);
    if (want.find("[\"") != std::string::npos) ++nontrivial;
    std::mt19937_64 rng(seed * 7919);
    for (int trial = 0; trial < 8; ++trial) {
      std::vector<size_t> order(ops.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng);
      store::MemStateStore shuffled;
      for (size_t i : order)
        ASSERT_TRUE(
            ApplyOp(shuffled, object, ops[i].prefix, ops[i].type, ops[i].op, ops[i].ctx).ok());
      ASSERT_EQ(RenderAll(shuffled, object, ops), want) << "seed " << seed << " trial " << trial;
    }
  }
  EXPECT_GT(nontrivial, 20);  // the chains build real sets, lists and registers
}

}  // namespace
}  // namespace topo::object
