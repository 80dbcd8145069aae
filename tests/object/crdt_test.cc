#include "object/crdt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include "codec/crdt_op.h"
#include "store/sqlite_state_store.h"
#include "store/state_store.h"

namespace topo::object {
namespace {

using codec::VertexId;
using Dump = std::vector<std::pair<Bytes, Bytes>>;

const Bytes kPrefix = {0x01};

VertexId RandomId(std::mt19937_64& rng) {
  VertexId id;
  for (auto& b : id.bytes) b = static_cast<uint8_t>(rng());
  return id;
}

VertexId IdOf(uint8_t n) {
  VertexId id;
  id.bytes.fill(n);
  return id;
}

codec::ObjectId TestObject() { return IdOf(0x77); }

OpContext Ctx(const VertexId& id, uint64_t created_at, uint64_t depth) {
  OpContext ctx;
  ctx.id = id;
  ctx.created_at = created_at;
  ctx.depth = depth;
  return ctx;
}

Dump DumpState(store::StateStore& state) {
  Dump out;
  EXPECT_TRUE(state
                  .Scan(TestObject(), {},
                        [&](ByteView k, ByteView v) {
                          out.emplace_back(Bytes(k.begin(), k.end()), Bytes(v.begin(), v.end()));
                          return true;
                        })
                  .ok());
  return out;
}

std::string RenderStr(store::StateStore& state, const FieldType& type, ByteView prefix = kPrefix) {
  auto r = Render(state, TestObject(), prefix, type);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->dump() : "<error>";
}

std::vector<Effect> MustApply(store::StateStore& state, const FieldType& type, const CrdtOp& op,
                              const OpContext& ctx, ByteView prefix = kPrefix) {
  auto r = ApplyOp(state, TestObject(), prefix, type, op, ctx);
  EXPECT_TRUE(r.ok()) << op.name() << ": " << r.status().ToString();
  return r.ok() ? *r : std::vector<Effect>{};
}

template <typename T>
T Must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

// ---------------------------------------------------------------------------------------
// Random workloads: authors with their own replicas make ops against what they have seen,
// sometimes naming ids they have not seen (malice), and sync with each other. Then every
// op is delivered to fresh replicas in many causal orders; all must end byte-identical.

struct SimOp {
  CrdtOp op;
  OpContext ctx;
  std::vector<size_t> past;  // indices of ops in the causal past (all earlier-made ops seen)
};

class Workload {
 public:
  Workload(FieldType type, uint64_t seed, int malice_one_in = 5)
      : type_(std::move(type)), rng_(seed), malice_one_in_(malice_one_in) {}

  // Ids that ops may name without having seen them.
  void AddToPool(const VertexId& id) { pool_.push_back(id); }
  // A random op for the CRDT in `state`, as a local author would make it (plus malice).
  CrdtOp MakeOp(store::StateStore& state) { return RandomOp(state, kPrefix, type_, 0); }

  // Runs `steps` steps with `n_authors` authors.
  void Run(size_t n_authors, size_t steps) {
    authors_.resize(n_authors);
    for (size_t s = 0; s < steps; ++s) {
      Author& a = authors_[rng_() % n_authors];
      if (rng_() % 4 == 0) {
        Sync(a, authors_[rng_() % n_authors]);
        continue;
      }
      SimOp sim;
      sim.op = RandomOp(a.state, kPrefix, type_, 0);
      ASSERT_TRUE(ValidateOp(type_, sim.op).ok()) << ValidateOp(type_, sim.op).ToString();
      ASSERT_TRUE(codec::DecodeCrdtOp(codec::EncodeCrdtOp(sim.op)).ok());
      sim.ctx = Ctx(RandomId(rng_), 1000 + rng_() % 8, a.max_depth + 1);
      sim.past.assign(a.known.begin(), a.known.end());
      size_t index = ops_.size();
      ops_.push_back(sim);
      Deliver(a, index);
    }
  }

  const std::vector<SimOp>& ops() const { return ops_; }

  // A random causal order of all ops.
  std::vector<size_t> RandomCausalOrder(std::mt19937_64& rng) const {
    std::vector<bool> done(ops_.size());
    std::vector<size_t> order;
    while (order.size() < ops_.size()) {
      std::vector<size_t> ready;
      for (size_t i = 0; i < ops_.size(); ++i) {
        if (done[i]) continue;
        if (std::all_of(ops_[i].past.begin(), ops_[i].past.end(),
                        [&](size_t p) { return done[p]; }))
          ready.push_back(i);
      }
      size_t pick = ready[rng() % ready.size()];
      done[pick] = true;
      order.push_back(pick);
    }
    return order;
  }

  void ApplyInOrder(store::StateStore& state, const std::vector<size_t>& order) const {
    for (size_t i : order) MustApply(state, type_, ops_[i].op, ops_[i].ctx);
  }

  // Brings every author up to date (in creation order, which is causal).
  void SyncAll() {
    for (Author& a : authors_)
      for (size_t i = 0; i < ops_.size(); ++i)
        if (!a.known.count(i)) Deliver(a, i);
  }
  std::vector<store::MemStateStore*> replicas() {
    std::vector<store::MemStateStore*> out;
    for (Author& a : authors_) out.push_back(&a.state);
    return out;
  }

 private:
  struct Author {
    store::MemStateStore state;
    std::set<size_t> known;
    uint64_t max_depth = 0;
  };

  void Deliver(Author& a, size_t i) {
    MustApply(a.state, type_, ops_[i].op, ops_[i].ctx);
    a.known.insert(i);
    a.max_depth = std::max(a.max_depth, ops_[i].ctx.depth);
  }

  void Sync(Author& to, const Author& from) {
    for (size_t i : from.known)  // ascending index is a causal order
      if (!to.known.count(i)) Deliver(to, i);
  }

  // Any id made so far, seen or not: naming an unseen one is what a malicious author does.
  VertexId SomeId() {
    size_t n = ops_.size() + pool_.size();
    if (n == 0 || rng_() % 8 == 0) return RandomId(rng_);
    size_t i = rng_() % n;
    return i < ops_.size() ? ops_[i].ctx.id : pool_[i - ops_.size()];
  }
  bool Malice() { return rng_() % malice_one_in_ == 0; }

  void AddIds(std::vector<VertexId>& ids) {
    for (size_t n = 1 + rng_() % 2; n > 0; --n) ids.push_back(SomeId());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }

  Bytes SmallValue() {
    static const char* kValues[] = {"x", "y", "z", "", "caf\xc3\xa9", "\xff\xfe"};
    std::string v = kValues[rng_() % std::size(kValues)];
    if (rng_() % 2) v += std::string(1, '\0');
    return ToBytes(v);
  }

  CrdtOp RandomOp(store::StateStore& state, ByteView prefix, const FieldType& type, int depth) {
    const codec::ObjectId obj = TestObject();
    switch (type.kind) {
      case CrdtKind::kCounter: {
        int64_t deltas[] = {1, -2, 5, 0, INT64_MAX, INT64_MIN};
        return {codec::CounterAdd{deltas[rng_() % std::size(deltas)]}};
      }
      case CrdtKind::kLwwRegister:
        return {codec::LwwSet{SmallValue()}};
      case CrdtKind::kMvRegister: {
        CrdtOp op = Must(MakeMvSet(state, obj, prefix, SmallValue()));
        auto& set = std::get<codec::MvSet>(op.op);
        if (Malice()) AddIds(set.supersedes);
        if (!set.supersedes.empty() && rng_() % 6 == 0) set.supersedes.pop_back();  // stale
        return op;
      }
      case CrdtKind::kOrSet: {
        Bytes element = SmallValue();
        if (rng_() % 2) {
          auto remove = MakeSetRemove(state, obj, prefix, element);
          if (remove.ok()) {
            if (Malice()) AddIds(std::get<codec::SetRemove>(remove->op).observed);
            return *remove;
          }
          EXPECT_EQ(remove.status().code(), Code::kNotFound);
          if (Malice()) {
            std::vector<VertexId> ids;
            AddIds(ids);
            return {codec::SetRemove{element, ids}};
          }
        }
        return {codec::SetAdd{element}};
      }
      case CrdtKind::kMap: {
        static const char* kKeys[] = {"a", "b", "x/y", "%", "caf\xc3\xa9"};
        std::string key = kKeys[rng_() % std::size(kKeys)];
        if (rng_() % 4 == 0) {
          auto remove = MakeMapRemove(state, obj, prefix, key);
          if (remove.ok()) {
            if (Malice()) AddIds(std::get<codec::MapRemove>(remove->op).observed);
            return *remove;
          }
          EXPECT_EQ(remove.status().code(), Code::kNotFound);
          if (Malice()) {
            std::vector<VertexId> ids;
            AddIds(ids);
            return {codec::MapRemove{key, ids}};
          }
        }
        return codec::MakeMapUpdate(
            key, RandomOp(state, MapValuePrefix(prefix, key), *type.value, depth + 1));
      }
      case CrdtKind::kLog:  // a log field belongs to an app blueprint: its op is one append
        return CrdtOp{codec::LogAppend{Bytes{1, 2, 3}}};
      case CrdtKind::kList: {
        auto elems = Must(ReadList(state, obj, prefix));
        if (!elems.empty() && rng_() % 3 == 0) {
          size_t index = rng_() % elems.size();
          size_t count = 1 + rng_() % std::min<size_t>(3, elems.size() - index);
          CrdtOp op = Must(MakeListDelete(state, obj, prefix, index, count));
          if (Malice()) {
            auto& del = std::get<codec::ListDelete>(op.op);
            del.elems.push_back({SomeId(), static_cast<uint32_t>(rng_() % 3)});
            std::sort(del.elems.begin(), del.elems.end());
            del.elems.erase(std::unique(del.elems.begin(), del.elems.end()), del.elems.end());
          }
          return op;
        }
        std::vector<Bytes> values(1 + rng_() % 3);
        for (auto& v : values) v = ToBytes(std::string(1, static_cast<char>('a' + rng_() % 26)));
        CrdtOp op = Must(MakeListInsert(state, obj, prefix, rng_() % (elems.size() + 1), values));
        if (Malice())
          std::get<codec::ListInsert>(op.op).after =
              ElemId{SomeId(), static_cast<uint32_t>(rng_() % 3)};
        return op;
      }
    }
    ADD_FAILURE() << "unknown kind";
    return {};
  }

  FieldType type_;
  std::mt19937_64 rng_;
  int malice_one_in_;
  std::vector<VertexId> pool_;
  std::vector<Author> authors_;
  std::vector<SimOp> ops_;
};

void ExpectConvergence(const FieldType& type, uint64_t seed) {
  Workload w(type, seed);
  w.Run(/*n_authors=*/4, /*steps=*/60);
  if (testing::Test::HasFatalFailure()) return;

  std::vector<size_t> forward(w.ops().size());
  std::iota(forward.begin(), forward.end(), 0);
  store::MemStateStore reference;
  w.ApplyInOrder(reference, forward);
  Dump want = DumpState(reference);
  std::string want_render = RenderStr(reference, type);
  ASSERT_FALSE(want.empty());

  std::mt19937_64 rng(seed * 7919 + 1);
  for (int round = 0; round < 12; ++round) {
    store::MemStateStore state;
    w.ApplyInOrder(state, w.RandomCausalOrder(rng));
    ASSERT_EQ(DumpState(state), want) << "seed " << seed << " round " << round;
    ASSERT_EQ(RenderStr(state, type), want_render) << "seed " << seed << " round " << round;
  }
  // The authors' own replicas, after syncing everything, agree too.
  w.SyncAll();
  for (store::MemStateStore* replica : w.replicas()) {
    ASSERT_EQ(DumpState(*replica), want) << "seed " << seed;
  }
}

class Convergence : public testing::TestWithParam<int> {};

FieldType TypeFor(int kind) {
  switch (kind) {
    case 0:
      return FieldType::Counter();
    case 1:
      return FieldType::LwwRegister();
    case 2:
      return FieldType::MvRegister();
    case 3:
      return FieldType::OrSet();
    case 4:
      return FieldType::List();
    case 5:
      return FieldType::Map(FieldType::Counter());
    case 6:
      return FieldType::Map(FieldType::OrSet());
    case 7:
      return FieldType::Map(FieldType::Map(FieldType::MvRegister()));
    case 8:
      return FieldType::Map(FieldType::List());
    default:
      return FieldType::Map(
          FieldType::Map(FieldType::Map(FieldType::Map(FieldType::LwwRegister()))));
  }
}

TEST_P(Convergence, AnyCausalOrderGivesIdenticalState) {
  FieldType type = TypeFor(GetParam());
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    ExpectConvergence(type, seed * 100 + GetParam());
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(AllKinds, Convergence, testing::Range(0, 10));

// Every permutation of five concurrent ops made on one shared base state, often naming
// each other's ids (which none of them can have seen).
TEST(Commutativity, AllPermutationsOfConcurrentOps) {
  for (int kind = 0; kind < 10; ++kind) {
    FieldType type = TypeFor(kind);
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      Workload base(type, seed * 31 + kind);
      base.Run(/*n_authors=*/1, /*steps=*/12);  // one author: a causal chain
      store::MemStateStore start;
      std::vector<size_t> chain(base.ops().size());
      std::iota(chain.begin(), chain.end(), 0);
      base.ApplyInOrder(start, chain);

      std::mt19937_64 rng(seed);
      std::vector<VertexId> ids;
      for (int i = 0; i < 5; ++i) ids.push_back(RandomId(rng));
      Workload maker(type, seed * 4242 + kind, /*malice_one_in=*/2);
      for (const SimOp& op : base.ops()) maker.AddToPool(op.ctx.id);
      for (const VertexId& id : ids) maker.AddToPool(id);
      std::vector<SimOp> ops;
      for (int i = 0; i < 5; ++i) {
        store::MemStateStore view = start;  // each author saw exactly the base
        SimOp sim;
        sim.op = maker.MakeOp(view);
        sim.ctx = Ctx(ids[i], 1000 + rng() % 3, base.ops().size() + 1);
        ops.push_back(sim);
      }

      std::vector<size_t> perm(ops.size());
      std::iota(perm.begin(), perm.end(), 0);
      Dump want;
      std::string want_render;
      bool first = true;
      do {
        store::MemStateStore state = start;
        for (size_t i : perm) MustApply(state, type, ops[i].op, ops[i].ctx);
        if (first) {
          want = DumpState(state);
          want_render = RenderStr(state, type);
          first = false;
        } else {
          ASSERT_EQ(DumpState(state), want) << "kind " << kind << " seed " << seed;
          ASSERT_EQ(RenderStr(state, type), want_render) << "kind " << kind << " seed " << seed;
        }
      } while (std::next_permutation(perm.begin(), perm.end()));
    }
  }
}

// The SQLite store with its write-back cache (store/sqlite_state_store.h) gives every op the
// same effects, and every state the same rendering and entries, as MemStateStore, with
// transactions committing and rolling back at random points and ops applied outside them.
TEST(CachedSqliteStore, SameEffectsAndStateAsMemStateStore) {
  for (int kind = 0; kind < 10; ++kind) {
    FieldType type = TypeFor(kind);
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      SCOPED_TRACE("kind " + std::to_string(kind) + " seed " + std::to_string(seed));
      Workload w(type, seed * 977 + kind);
      w.Run(/*n_authors=*/4, /*steps=*/80);
      if (HasFatalFailure()) return;
      auto db = Must(store::Database::Open(":memory:"));
      // Odd seeds: budgets small enough to write through early and forget scans.
      store::StateCacheOptions options;
      if (seed % 2) options = {2000, 1000, 1500};
      store::SqliteStateStore sql(*db, options);
      store::MemStateStore mem, mem_committed;
      std::mt19937_64 rng(seed);
      bool in_txn = false;
      for (size_t i : w.RandomCausalOrder(rng)) {
        if (!in_txn && rng() % 4 != 0) {
          ASSERT_TRUE(db->Begin().ok());
          in_txn = true;
        }
        const SimOp& op = w.ops()[i];
        auto got = ApplyOp(sql, TestObject(), kPrefix, type, op.op, op.ctx);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        ASSERT_EQ(*got, MustApply(mem, type, op.op, op.ctx)) << "op " << i;
        ASSERT_EQ(RenderStr(sql, type), RenderStr(mem, type)) << "op " << i;
        if (!in_txn) {
          mem_committed = mem;
        } else if (rng() % 6 == 0) {
          ASSERT_TRUE(db->Commit().ok());
          mem_committed = mem;
          in_txn = false;
        } else if (rng() % 15 == 0) {
          ASSERT_TRUE(db->Rollback().ok());
          mem = mem_committed;
          in_txn = false;
        }
      }
      if (in_txn) {
        ASSERT_TRUE(db->Commit().ok());
      }
      ASSERT_EQ(DumpState(sql), DumpState(mem));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Scenarios.

// Applies a then b on one replica and b then a on another; both must match byte for byte.
void ExpectBothOrdersEqual(const FieldType& type, store::StateStore& base, const CrdtOp& a,
                           const OpContext& ca, const CrdtOp& b, const OpContext& cb,
                           std::string* render = nullptr) {
  store::MemStateStore one = static_cast<store::MemStateStore&>(base);
  store::MemStateStore two = static_cast<store::MemStateStore&>(base);
  MustApply(one, type, a, ca);
  MustApply(one, type, b, cb);
  MustApply(two, type, b, cb);
  MustApply(two, type, a, ca);
  EXPECT_EQ(DumpState(one), DumpState(two));
  EXPECT_EQ(RenderStr(one, type), RenderStr(two, type));
  if (render) *render = RenderStr(one, type);
}

TEST(Counter, SumsWithWrappingArithmetic) {
  FieldType t = FieldType::Counter();
  store::MemStateStore s;
  EXPECT_EQ(RenderStr(s, t), "0");
  EXPECT_EQ(MustApply(s, t, {codec::CounterAdd{5}}, Ctx(IdOf(1), 1, 1)),
            (std::vector<Effect>{{"", false}}));
  MustApply(s, t, {codec::CounterAdd{-3}}, Ctx(IdOf(2), 1, 2));
  EXPECT_EQ(RenderStr(s, t), "2");
  EXPECT_TRUE(MustApply(s, t, {codec::CounterAdd{0}}, Ctx(IdOf(3), 1, 3)).empty());

  std::string render;
  store::MemStateStore base;
  MustApply(base, t, {codec::CounterAdd{INT64_MAX}}, Ctx(IdOf(1), 1, 1));
  ExpectBothOrdersEqual(t, base, {codec::CounterAdd{1}}, Ctx(IdOf(2), 1, 2),
                        {codec::CounterAdd{-1}}, Ctx(IdOf(3), 1, 2), &render);
  EXPECT_EQ(render, std::to_string(INT64_MAX));
  MustApply(base, t, {codec::CounterAdd{1}}, Ctx(IdOf(4), 1, 2));
  EXPECT_EQ(RenderStr(base, t), std::to_string(INT64_MIN));  // wraps, never saturates
}

TEST(LwwRegister, GreatestCreatedAtThenIdWins) {
  FieldType t = FieldType::LwwRegister();
  store::MemStateStore s;
  EXPECT_EQ(RenderStr(s, t), "null");
  std::string render;
  ExpectBothOrdersEqual(t, s, {codec::LwwSet{ToBytes("late")}}, Ctx(IdOf(1), 200, 1),
                        {codec::LwwSet{ToBytes("early")}}, Ctx(IdOf(9), 100, 1), &render);
  EXPECT_EQ(render, "\"late\"");
  ExpectBothOrdersEqual(t, s, {codec::LwwSet{ToBytes("low id")}}, Ctx(IdOf(1), 100, 1),
                        {codec::LwwSet{Bytes{0xff, 0x00}}}, Ctx(IdOf(2), 100, 1), &render);
  EXPECT_EQ(render, R"({"hex":"ff00"})");

  MustApply(s, t, {codec::LwwSet{ToBytes("v")}}, Ctx(IdOf(5), 10, 1));
  EXPECT_TRUE(MustApply(s, t, {codec::LwwSet{ToBytes("old")}}, Ctx(IdOf(6), 9, 2)).empty());
  EXPECT_TRUE(MustApply(s, t, {codec::LwwSet{ToBytes("v")}}, Ctx(IdOf(7), 11, 3)).empty());
  EXPECT_EQ(MustApply(s, t, {codec::LwwSet{ToBytes("w")}}, Ctx(IdOf(8), 12, 4)).size(), 1u);
  EXPECT_EQ(RenderStr(s, t), "\"w\"");
}

TEST(MvRegister, ConcurrentValuesThenOverwrite) {
  FieldType t = FieldType::MvRegister();
  store::MemStateStore s;
  std::string render;
  ExpectBothOrdersEqual(t, s, {codec::MvSet{ToBytes("b"), {}}}, Ctx(IdOf(1), 1, 1),
                        {codec::MvSet{ToBytes("a"), {}}}, Ctx(IdOf(2), 1, 1), &render);
  EXPECT_EQ(render, R"(["b","a"])");  // ordered by vertex id, not by value
  MustApply(s, t, {codec::MvSet{ToBytes("b"), {}}}, Ctx(IdOf(1), 1, 1));
  MustApply(s, t, {codec::MvSet{ToBytes("a"), {}}}, Ctx(IdOf(2), 1, 1));
  CrdtOp set = Must(MakeMvSet(s, TestObject(), kPrefix, ToBytes("c")));
  EXPECT_EQ(std::get<codec::MvSet>(set.op).supersedes, (std::vector<VertexId>{IdOf(1), IdOf(2)}));
  MustApply(s, t, set, Ctx(IdOf(3), 2, 2));
  EXPECT_EQ(RenderStr(s, t), R"(["c"])");
}

TEST(MvRegister, SupersedingAConcurrentIdConvergesInBothOrders) {
  FieldType t = FieldType::MvRegister();
  store::MemStateStore s;
  std::string render;
  // The op with id 5 claims to supersede id 9, which it cannot have seen.
  ExpectBothOrdersEqual(t, s, {codec::MvSet{ToBytes("x"), {IdOf(9)}}}, Ctx(IdOf(5), 1, 1),
                        {codec::MvSet{ToBytes("y"), {}}}, Ctx(IdOf(9), 1, 1), &render);
  EXPECT_EQ(render, R"(["x"])");
}

TEST(OrSet, RemoveSeesTheAddAndConcurrentAddWins) {
  FieldType t = FieldType::OrSet();
  store::MemStateStore s;
  MustApply(s, t, {codec::SetAdd{ToBytes("x")}}, Ctx(IdOf(1), 1, 1));
  MustApply(s, t, {codec::SetAdd{ToBytes("\xff")}}, Ctx(IdOf(2), 1, 2));
  MustApply(s, t, {codec::SetAdd{ToBytes("a")}}, Ctx(IdOf(3), 1, 3));
  EXPECT_EQ(RenderStr(s, t), R"(["a","x",{"hex":"ff"}])");  // ordered by element bytes
  EXPECT_EQ(MakeSetRemove(s, TestObject(), kPrefix, ToBytes("nope")).status().code(),
            Code::kNotFound);

  CrdtOp remove = Must(MakeSetRemove(s, TestObject(), kPrefix, ToBytes("x")));
  EXPECT_EQ(std::get<codec::SetRemove>(remove.op).observed, std::vector<VertexId>{IdOf(1)});
  // Concurrently with the remove, someone adds x again: add wins.
  std::string render;
  ExpectBothOrdersEqual(t, s, remove, Ctx(IdOf(4), 1, 4), {codec::SetAdd{ToBytes("x")}},
                        Ctx(IdOf(5), 1, 4), &render);
  EXPECT_EQ(render, R"(["a","x",{"hex":"ff"}])");
  EXPECT_EQ(MustApply(s, t, remove, Ctx(IdOf(4), 1, 4)), (std::vector<Effect>{{"", false}}));
  EXPECT_EQ(RenderStr(s, t), R"(["a",{"hex":"ff"}])");
  // Adding an element that is already there changes nothing visible.
  EXPECT_TRUE(MustApply(s, t, {codec::SetAdd{ToBytes("a")}}, Ctx(IdOf(6), 1, 5)).empty());
}

TEST(OrSet, RemoveNamingAConcurrentAddConvergesInBothOrders) {
  FieldType t = FieldType::OrSet();
  store::MemStateStore s;
  std::string render;
  // id 7 removes the tag of add 8 before it could have seen it.
  ExpectBothOrdersEqual(t, s, {codec::SetRemove{ToBytes("x"), {IdOf(8)}}}, Ctx(IdOf(7), 1, 1),
                        {codec::SetAdd{ToBytes("x")}}, Ctx(IdOf(8), 1, 1), &render);
  EXPECT_EQ(render, "[]");
  // Naming the tag under another element removes nothing.
  ExpectBothOrdersEqual(t, s, {codec::SetRemove{ToBytes("y"), {IdOf(8)}}}, Ctx(IdOf(7), 1, 1),
                        {codec::SetAdd{ToBytes("x")}}, Ctx(IdOf(8), 1, 1), &render);
  EXPECT_EQ(render, R"(["x"])");
}

// A remove reports a change only when it takes the last live tag away: not when other tags
// stay live, nor when nothing was live.
TEST(OrSet, RemoveReportsOnlyWhenTheElementDisappears) {
  FieldType t = FieldType::OrSet();
  store::MemStateStore s;
  MustApply(s, t, {codec::SetAdd{ToBytes("x")}}, Ctx(IdOf(1), 1, 1));
  MustApply(s, t, {codec::SetAdd{ToBytes("x")}}, Ctx(IdOf(2), 1, 2));
  MustApply(s, t, {codec::SetAdd{ToBytes("x")}}, Ctx(IdOf(3), 1, 3));
  // Tags 1 and 3 go (and unseen 9 is tombstoned); tag 2 keeps x in the set.
  EXPECT_TRUE(MustApply(s, t, {codec::SetRemove{ToBytes("x"), {IdOf(1), IdOf(3), IdOf(9)}}},
                        Ctx(IdOf(4), 1, 4))
                  .empty());
  EXPECT_EQ(RenderStr(s, t), R"(["x"])");
  EXPECT_EQ(MustApply(s, t, {codec::SetRemove{ToBytes("x"), {IdOf(2)}}}, Ctx(IdOf(5), 1, 5)),
            (std::vector<Effect>{{"", false}}));
  EXPECT_EQ(RenderStr(s, t), "[]");
  EXPECT_TRUE(
      MustApply(s, t, {codec::SetRemove{ToBytes("x"), {IdOf(2)}}}, Ctx(IdOf(6), 1, 6)).empty());
  // The tombstoned tag 9 arriving adds nothing.
  EXPECT_TRUE(MustApply(s, t, {codec::SetAdd{ToBytes("x")}}, Ctx(IdOf(9), 1, 7)).empty());
  EXPECT_EQ(RenderStr(s, t), "[]");
}

TEST(Map, RemoveReportsOnlyWhenTheKeyDisappears) {
  FieldType t = FieldType::Map(FieldType::Counter());
  store::MemStateStore s;
  MustApply(s, t, codec::MakeMapUpdate("k", {codec::CounterAdd{1}}), Ctx(IdOf(1), 1, 1));
  MustApply(s, t, codec::MakeMapUpdate("k", {codec::CounterAdd{1}}), Ctx(IdOf(2), 1, 2));
  EXPECT_TRUE(MustApply(s, t, {codec::MapRemove{"k", {IdOf(2)}}}, Ctx(IdOf(3), 1, 3)).empty());
  EXPECT_EQ(RenderStr(s, t), R"({"k":2})");
  EXPECT_EQ(MustApply(s, t, {codec::MapRemove{"k", {IdOf(1), IdOf(2)}}}, Ctx(IdOf(4), 1, 4)),
            (std::vector<Effect>{{"/k", true}}));
  EXPECT_EQ(RenderStr(s, t), "{}");
  EXPECT_TRUE(MustApply(s, t, {codec::MapRemove{"k", {IdOf(1)}}}, Ctx(IdOf(5), 1, 5)).empty());
}

TEST(Map, UpdateRemoveAndReAddKeepsInnerState) {
  FieldType t = FieldType::Map(FieldType::Counter());
  store::MemStateStore s;
  EXPECT_EQ(RenderStr(s, t), "{}");
  EXPECT_EQ(
      MustApply(s, t, codec::MakeMapUpdate("likes", {codec::CounterAdd{2}}), Ctx(IdOf(1), 1, 1)),
      (std::vector<Effect>{{"/likes", false}}));
  EXPECT_EQ(
      MustApply(s, t, codec::MakeMapUpdate("likes", {codec::CounterAdd{3}}), Ctx(IdOf(2), 1, 2)),
      (std::vector<Effect>{{"/likes", false}}));
  MustApply(s, t, codec::MakeMapUpdate("a/b%", {codec::CounterAdd{1}}), Ctx(IdOf(3), 1, 3));
  EXPECT_EQ(RenderStr(s, t), R"({"a/b%":1,"likes":5})");

  CrdtOp remove = Must(MakeMapRemove(s, TestObject(), kPrefix, "likes"));
  EXPECT_EQ(std::get<codec::MapRemove>(remove.op).observed,
            (std::vector<VertexId>{IdOf(1), IdOf(2)}));
  EXPECT_EQ(MustApply(s, t, remove, Ctx(IdOf(4), 1, 4)), (std::vector<Effect>{{"/likes", true}}));
  EXPECT_EQ(RenderStr(s, t), R"({"a/b%":1})");
  EXPECT_EQ(RenderPath(s, TestObject(), kPrefix, t, "/likes").status().code(), Code::kNotFound);
  EXPECT_EQ(Must(RenderPath(s, TestObject(), kPrefix, t, "/a%2Fb%25")).dump(), "1");
  EXPECT_EQ(MakeMapRemove(s, TestObject(), kPrefix, "likes").status().code(), Code::kNotFound);

  // Documented: the value's state survives the removal.
  MustApply(s, t, codec::MakeMapUpdate("likes", {codec::CounterAdd{1}}), Ctx(IdOf(5), 1, 5));
  EXPECT_EQ(RenderStr(s, t), R"({"a/b%":1,"likes":6})");
}

TEST(Map, ConcurrentUpdateSurvivesRemoveAndMaliciousTagsConverge) {
  FieldType t = FieldType::Map(FieldType::LwwRegister());
  store::MemStateStore s;
  MustApply(s, t, codec::MakeMapUpdate("k", {codec::LwwSet{ToBytes("v1")}}), Ctx(IdOf(1), 1, 1));
  CrdtOp remove = Must(MakeMapRemove(s, TestObject(), kPrefix, "k"));
  std::string render;
  ExpectBothOrdersEqual(t, s, remove, Ctx(IdOf(2), 5, 2),
                        codec::MakeMapUpdate("k", {codec::LwwSet{ToBytes("v2")}}),
                        Ctx(IdOf(3), 4, 2), &render);
  EXPECT_EQ(render, R"({"k":"v2"})");
  // A remove naming the concurrent update's presence tag.
  CrdtOp evil{codec::MapRemove{"k", {IdOf(1), IdOf(3)}}};
  ExpectBothOrdersEqual(t, s, evil, Ctx(IdOf(2), 5, 2),
                        codec::MakeMapUpdate("k", {codec::LwwSet{ToBytes("v2")}}),
                        Ctx(IdOf(3), 4, 2), &render);
  EXPECT_EQ(render, "{}");
}

TEST(Map, NestedPathsEffectsAndBuilders) {
  FieldType t = FieldType::Map(FieldType::Map(FieldType::MvRegister()));
  store::MemStateStore s;
  std::vector<std::string> path = {"users", "al/ice"};
  CrdtOp op = WrapInMapUpdates(path, {codec::MvSet{ToBytes("admin"), {}}});
  EXPECT_EQ(op, codec::MakeMapUpdate(
                    "users", codec::MakeMapUpdate("al/ice", {codec::MvSet{ToBytes("admin"), {}}})));
  EXPECT_EQ(MustApply(s, t, op, Ctx(IdOf(1), 1, 1)),
            (std::vector<Effect>{{"/users", false}, {"/users/al%2Fice", false}}));
  EXPECT_EQ(JoinPath(path), "/users/al%2Fice");

  // A local author overwrites the nested MV: resolve, build, wrap.
  FieldAt at = Must(ResolvePath(kPrefix, t, path));
  EXPECT_EQ(at.type->kind, CrdtKind::kMvRegister);
  CrdtOp set = Must(MakeMvSet(s, TestObject(), at.prefix, ToBytes("owner")));
  EXPECT_EQ(std::get<codec::MvSet>(set.op).supersedes, std::vector<VertexId>{IdOf(1)});
  EXPECT_EQ(MustApply(s, t, WrapInMapUpdates(path, set), Ctx(IdOf(2), 1, 2)),
            (std::vector<Effect>{{"/users/al%2Fice", false}}));
  EXPECT_EQ(RenderStr(s, t), R"({"users":{"al/ice":["owner"]}})");
  EXPECT_EQ(Must(RenderPath(s, TestObject(), kPrefix, t, "/users/al%2Fice")).dump(),
            R"(["owner"])");
  EXPECT_EQ(Must(RenderPath(s, TestObject(), kPrefix, t, "/users")).dump(),
            R"({"al/ice":["owner"]})");
  EXPECT_EQ(Must(RenderPath(s, TestObject(), kPrefix, t, "")).dump(), RenderStr(s, t));
  EXPECT_EQ(RenderPath(s, TestObject(), kPrefix, t, "/users/al%2Fice/x").status().code(),
            Code::kInvalidArgument);

  // Removing the nested key.
  FieldAt users = Must(ResolvePath(kPrefix, t, {"users"}));
  CrdtOp remove = Must(MakeMapRemove(s, TestObject(), users.prefix, "al/ice"));
  EXPECT_EQ(MustApply(s, t, WrapInMapUpdates({"users"}, remove), Ctx(IdOf(3), 1, 3)),
            (std::vector<Effect>{{"/users/al%2Fice", true}}));
  EXPECT_EQ(RenderStr(s, t), R"({"users":{}})");
  EXPECT_EQ(ResolvePath(kPrefix, t, {"users", "x", "y"}).status().code(), Code::kInvalidArgument);
}

TEST(Map, KeysThatArePrefixesOfEachOtherStayApart) {
  FieldType t = FieldType::Map(FieldType::Counter());
  store::MemStateStore s;
  std::string keys[] = {"a", std::string("a\0", 2), "ab", std::string("a\0b", 3)};
  for (size_t i = 0; i < std::size(keys); ++i)
    MustApply(s, t, codec::MakeMapUpdate(keys[i], {codec::CounterAdd{int64_t(i) + 1}}),
              Ctx(IdOf(uint8_t(i + 1)), 1, i + 1));
  for (size_t i = 0; i < std::size(keys); ++i) {
    auto v = RenderPath(s, TestObject(), kPrefix, t, JoinPath({keys[i]}));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->get<int64_t>(), int64_t(i) + 1);
  }
}

// Counts the entries that scans hand to their callbacks: what rendering reads.
class CountingStateStore final : public store::StateStore {
 public:
  explicit CountingStateStore(store::StateStore& inner) : inner_(inner) {}
  Result<std::optional<Bytes>> Get(const codec::ObjectId& o, ByteView key) override {
    return inner_.Get(o, key);
  }
  Status Put(const codec::ObjectId& o, ByteView key, ByteView value) override {
    return inner_.Put(o, key, value);
  }
  Status Delete(const codec::ObjectId& o, ByteView key) override { return inner_.Delete(o, key); }
  Status Scan(const codec::ObjectId& o, ByteView prefix,
              const std::function<bool(ByteView, ByteView)>& fn) override {
    return inner_.Scan(o, prefix, Counted(fn));
  }
  Status ScanFrom(const codec::ObjectId& o, ByteView prefix, ByteView from,
                  const std::function<bool(ByteView, ByteView)>& fn) override {
    return inner_.ScanFrom(o, prefix, from, Counted(fn));
  }
  size_t rows = 0;

 private:
  std::function<bool(ByteView, ByteView)> Counted(
      const std::function<bool(ByteView, ByteView)>& fn) {
    return [this, &fn](ByteView k, ByteView v) {
      ++rows;
      return fn(k, v);
    };
  }
  store::StateStore& inner_;
};

// Keys updated many times hold many live tags; rendering lists each key once, whatever the
// number of tags and however the keys' bytes nest, in every store, and reads a bounded number
// of tags per key rather than all of them.
TEST(Map, RenderListsKeysWithManyTagsOnceAndSkipsTheirTags) {
  FieldType t = FieldType::Map(FieldType::Counter());
  const std::vector<std::pair<std::string, int>> keys = {{"a", 40}, {std::string("a\0", 2), 1},
                                                         {"ab", 9}, {std::string("a\0b", 3), 300},
                                                         {"b", 8},  {"c", 1},
                                                         {"d", 10}};
  const std::string want = R"({"a":40,"a\u0000":1,"a\u0000b":300,"ab":9,"b":8,"c":1,"d":10})";
  auto fill = [&](store::StateStore& s) {
    uint64_t n = 0;
    for (const auto& [key, updates] : keys)
      for (int i = 0; i < updates; ++i) {
        ++n;
        VertexId id;
        for (size_t b = 0; b < 8; ++b) id.bytes[b] = static_cast<uint8_t>(n >> (8 * b));
        MustApply(s, t, codec::MakeMapUpdate(key, {codec::CounterAdd{1}}), Ctx(id, 1, n));
      }
  };
  {
    store::MemStateStore mem;
    fill(mem);
    CountingStateStore counting(mem);
    EXPECT_EQ(RenderStr(counting, t), want);
    // 369 live tags; at most 9 per key plus the counters' own entries are read.
    EXPECT_LT(counting.rows, size_t{100});
  }
  auto db = store::Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  store::SqliteStateStore sql(**db);
  ASSERT_TRUE((*db)->Begin().ok());
  fill(sql);
  EXPECT_EQ(RenderStr(sql, t), want);  // inside the transaction: the overlay
  ASSERT_TRUE((*db)->Commit().ok());
  EXPECT_EQ(RenderStr(sql, t), want);  // outside: SQLite's rows
  ASSERT_TRUE((*db)->Begin().ok());
  // Half of the big key's tags go (ids 51 to 200; it stays, listed once), and "c" goes.
  std::vector<VertexId> observed;
  for (uint64_t n = 51; n <= 200; ++n) {
    VertexId id;
    for (size_t b = 0; b < 8; ++b) id.bytes[b] = static_cast<uint8_t>(n >> (8 * b));
    observed.push_back(id);
  }
  std::sort(observed.begin(), observed.end());
  MustApply(sql, t, {codec::MapRemove{std::string("a\0b", 3), observed}}, Ctx(IdOf(0xee), 1, 999));
  MustApply(sql, t, Must(MakeMapRemove(sql, TestObject(), kPrefix, "c")), Ctx(IdOf(0xef), 1, 1000));
  const std::string after = R"({"a":40,"a\u0000":1,"a\u0000b":300,"ab":9,"b":8,"d":10})";
  EXPECT_EQ(RenderStr(sql, t), after);
  ASSERT_TRUE((*db)->Commit().ok());
  EXPECT_EQ(RenderStr(sql, t), after);
  CountingStateStore counting(sql);
  EXPECT_EQ(RenderStr(counting, t), after);
  EXPECT_LT(counting.rows, size_t{100});
}

TEST(Fields, EachPrefixScansOnlyItsOwnEntries) {
  FieldType set = FieldType::OrSet();
  FieldType list = FieldType::List();
  store::MemStateStore s;
  Bytes p1 = {0x01}, p2 = {0x02};
  MustApply(s, set, {codec::SetAdd{ToBytes("x")}}, Ctx(IdOf(1), 1, 1), p1);
  MustApply(s, list, {codec::ListInsert{std::nullopt, {ToBytes("y")}}}, Ctx(IdOf(2), 1, 2), p2);
  EXPECT_EQ(RenderStr(s, set, p1), R"(["x"])");
  EXPECT_EQ(RenderStr(s, list, p2), R"(["y"])");
  size_t n = 0;
  EXPECT_TRUE(s.Scan(TestObject(), p1, [&](ByteView, ByteView) { return ++n > 0; }).ok());
  EXPECT_EQ(n, 1u);
}

// ---- lists ----

std::vector<Bytes> Chars(std::string_view s) {
  std::vector<Bytes> out;
  for (char c : s) out.push_back(Bytes{static_cast<uint8_t>(c)});
  return out;
}

std::string Text(store::StateStore& s, ByteView prefix = kPrefix) {
  return Must(RenderListText(s, TestObject(), prefix));
}

TEST(List, HelloWorld) {
  FieldType t = FieldType::List();
  store::MemStateStore s;
  uint8_t next = 1;
  auto edit = [&](Result<CrdtOp> op) {
    ASSERT_TRUE(op.ok()) << op.status().ToString();
    MustApply(s, t, *op, Ctx(IdOf(next), 1000 - next, next));
    ++next;
  };
  edit(MakeListInsert(s, TestObject(), kPrefix, 0, Chars("hello")));
  EXPECT_EQ(Text(s), "hello");
  edit(MakeListInsert(s, TestObject(), kPrefix, 5, Chars(" world")));
  EXPECT_EQ(Text(s), "hello world");
  edit(MakeListInsert(s, TestObject(), kPrefix, 0, Chars(">")));
  edit(MakeListInsert(s, TestObject(), kPrefix, 6, Chars(",")));
  EXPECT_EQ(Text(s), ">hello, world");
  edit(MakeListDelete(s, TestObject(), kPrefix, 0, 1));
  edit(MakeListDelete(s, TestObject(), kPrefix, 5, 2));
  EXPECT_EQ(Text(s), "helloworld");
  edit(MakeListInsert(s, TestObject(), kPrefix, 5, {ToBytes("\xe2\x9c\x93")}));
  EXPECT_EQ(Text(s), "hello\xe2\x9c\x93world");
  EXPECT_EQ(RenderStr(s, t), R"(["h","e","l","l","o","✓","w","o","r","l","d"])");

  EXPECT_EQ(MakeListInsert(s, TestObject(), kPrefix, 12, Chars("x")).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(MakeListDelete(s, TestObject(), kPrefix, 10, 2).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(MakeListDelete(s, TestObject(), kPrefix, 0, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(MakeListInsert(s, TestObject(), kPrefix, 0, {}).status().code(),
            Code::kInvalidArgument);

  MustApply(s, t, {codec::ListInsert{std::nullopt, {Bytes{0xff}}}}, Ctx(IdOf(99), 1, 99));
  EXPECT_EQ(RenderListText(s, TestObject(), kPrefix).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(RenderStr(s, t).substr(0, 14), R"([{"hex":"ff"},)");
}

// A single author editing at random positions, with a clock that runs backwards: every
// edit must land exactly where the author put it (depth, not created_at, orders inserts).
TEST(List, SequentialEditsLandWhereTheAuthorPutThem) {
  FieldType t = FieldType::List();
  std::mt19937_64 rng(5);
  store::MemStateStore s;
  std::string model;
  for (uint64_t step = 1; step <= 400; ++step) {
    CrdtOp op;
    if (!model.empty() && rng() % 3 == 0) {
      size_t index = rng() % model.size();
      size_t count = 1 + rng() % std::min<size_t>(4, model.size() - index);
      op = Must(MakeListDelete(s, TestObject(), kPrefix, index, count));
      model.erase(index, count);
    } else {
      size_t index = rng() % (model.size() + 1);
      std::string ins;
      for (size_t n = 1 + rng() % 4; n > 0; --n) ins += static_cast<char>('a' + rng() % 26);
      op = Must(MakeListInsert(s, TestObject(), kPrefix, index, Chars(ins)));
      model.insert(index, ins);
    }
    MustApply(s, t, op, Ctx(RandomId(rng), 1'000'000 - step * 7 + rng() % 5, step));
    ASSERT_EQ(Text(s), model) << "step " << step;
  }
}

TEST(List, ConcurrentTypingAtOnePlaceDoesNotInterleave) {
  FieldType t = FieldType::List();
  store::MemStateStore base;
  MustApply(base, t, {codec::ListInsert{std::nullopt, Chars("[]")}}, Ctx(IdOf(1), 1, 1));
  // Two authors type character by character after '[' without seeing each other.
  std::vector<std::pair<CrdtOp, OpContext>> ops;
  for (int author = 0; author < 2; ++author) {
    store::MemStateStore view = base;
    std::string word = author == 0 ? "abc" : "123";
    for (size_t i = 0; i < word.size(); ++i) {
      CrdtOp op =
          Must(MakeListInsert(view, TestObject(), kPrefix, 1 + i, Chars(word.substr(i, 1))));
      OpContext ctx = Ctx(IdOf(uint8_t(10 * (author + 1) + i)), 50, 2 + i);
      MustApply(view, t, op, ctx);
      ops.emplace_back(op, ctx);
    }
  }
  std::vector<size_t> order = {0, 1, 2, 3, 4, 5};
  std::string want;
  do {
    // Only causal orders: each author's own ops stay in sequence.
    std::vector<size_t> pos(6);
    for (size_t i = 0; i < 6; ++i) pos[order[i]] = i;
    if (!(pos[0] < pos[1] && pos[1] < pos[2] && pos[3] < pos[4] && pos[4] < pos[5])) continue;
    store::MemStateStore s = base;
    for (size_t i : order) MustApply(s, t, ops[i].first, ops[i].second);
    std::string text = Text(s);
    if (want.empty()) want = text;
    EXPECT_EQ(text, want);
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_TRUE(want == "[abc123]" || want == "[123abc]") << want;
}

TEST(List, DeleteArrivingBeforeItsInsertStillTakesEffect) {
  FieldType t = FieldType::List();
  store::MemStateStore s;
  CrdtOp insert{codec::ListInsert{std::nullopt, Chars("abc")}};
  CrdtOp del{codec::ListDelete{{ElemId{IdOf(1), 1}}}};
  std::string render;
  ExpectBothOrdersEqual(t, s, insert, Ctx(IdOf(1), 1, 1), del, Ctx(IdOf(2), 1, 2), &render);
  EXPECT_EQ(render, R"(["a","c"])");
  // Deleting an element that never existed changes nothing and reports nothing.
  MustApply(s, t, insert, Ctx(IdOf(1), 1, 1));
  EXPECT_TRUE(
      MustApply(s, t, {codec::ListDelete{{ElemId{IdOf(1), 7}}}}, Ctx(IdOf(3), 1, 2)).empty());
  EXPECT_EQ(MustApply(s, t, del, Ctx(IdOf(2), 1, 2)), (std::vector<Effect>{{"", false}}));
  EXPECT_TRUE(MustApply(s, t, del, Ctx(IdOf(4), 1, 3)).empty());  // already deleted
}

TEST(List, InsertAfterAnUnseenElementAppearsWhenThatElementArrives) {
  FieldType t = FieldType::List();
  store::MemStateStore s;
  CrdtOp first{codec::ListInsert{std::nullopt, Chars("ab")}};
  CrdtOp after_b{codec::ListInsert{ElemId{IdOf(1), 1}, Chars("c")}};
  MustApply(s, t, after_b, Ctx(IdOf(2), 1, 1));
  EXPECT_EQ(Text(s), "");
  MustApply(s, t, first, Ctx(IdOf(1), 1, 1));
  EXPECT_EQ(Text(s), "abc");
  std::string render;
  store::MemStateStore fresh;
  ExpectBothOrdersEqual(t, fresh, first, Ctx(IdOf(1), 1, 1), after_b, Ctx(IdOf(2), 1, 1), &render);
  EXPECT_EQ(render, R"(["a","b","c"])");
  // After an index past the end of that insert: never shown.
  MustApply(s, t, {codec::ListInsert{ElemId{IdOf(1), 5}, Chars("z")}}, Ctx(IdOf(3), 1, 2));
  EXPECT_EQ(Text(s), "abc");
}

// ---- validation ----

TEST(Validate, OpMustFitTheFieldTypeAndNothingIsWrittenOtherwise) {
  store::MemStateStore s;
  FieldType map = FieldType::Map(FieldType::OrSet());
  CrdtOp counter{codec::CounterAdd{1}};
  EXPECT_TRUE(ValidateOp(FieldType::Counter(), counter).ok());
  EXPECT_EQ(ValidateOp(FieldType::LwwRegister(), counter).code(), Code::kRejected);
  EXPECT_EQ(ValidateOp(map, counter).code(), Code::kRejected);
  Status st = ValidateOp(map, codec::MakeMapUpdate("k", counter));
  EXPECT_EQ(st.code(), Code::kRejected);
  EXPECT_NE(st.message().find("counter.add"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("\"/k\""), std::string::npos) << st.ToString();
  EXPECT_TRUE(ValidateOp(map, codec::MakeMapUpdate("k", {codec::SetAdd{ToBytes("x")}})).ok());
  EXPECT_TRUE(ValidateOp(map, {codec::MapRemove{"k", {IdOf(1)}}}).ok());
  EXPECT_EQ(ValidateOp(FieldType::List(), {codec::ListDelete{{}}}).code(), Code::kRejected);

  FieldType deep = FieldType::Counter();
  for (int i = 0; i < 5; ++i) deep = FieldType::Map(deep);
  EXPECT_EQ(ValidateOp(deep, counter).code(), Code::kRejected);

  auto r = ApplyOp(s, TestObject(), kPrefix, map, codec::MakeMapUpdate("k", counter),
                   Ctx(IdOf(1), 1, 1));
  EXPECT_EQ(r.status().code(), Code::kRejected);
  EXPECT_TRUE(DumpState(s).empty());
}

TEST(Paths, EscapeJoinAndSplit) {
  EXPECT_EQ(EscapePathKey("a/b%c"), "a%2Fb%25c");
  std::vector<std::string> keys = {"a/b", "%", "%2F", "plain"};
  EXPECT_EQ(JoinPath(keys), "/a%2Fb/%25/%252F/plain");
  EXPECT_EQ(Must(SplitPath(JoinPath(keys))), keys);
  EXPECT_TRUE(Must(SplitPath("")).empty());
  for (std::string_view bad : {"a", "/", "/a/", "//a", "/a%", "/a%2f", "/%41"})
    EXPECT_EQ(SplitPath(bad).status().code(), Code::kInvalidArgument) << bad;
}

}  // namespace
}  // namespace topo::object
