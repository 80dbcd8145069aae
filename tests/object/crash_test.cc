// Crash recovery: a child process writes to an on-disk replica and is SIGKILLed at a random
// moment; the parent reopens the database and checks what Replica promises (replica.h):
//  - the database opens (SQLite's WAL recovery);
//  - Ingest() is atomic per batch: the recovered database holds exactly what ingesting some
//    whole number of batches gives, and every vertex in the vertices table has its effects
//    in the object state and projections (a fresh replica given exactly those vertices
//    renders every object alike, with the same heads and projection tables);
//  - every local write that returned survived, and nothing half-written did;
//  - ingesting everything again completes, to the state of a replica that never crashed.
//
// Kill moments are random: the parent watches the child's commits through a read-only
// connection, and kills it a random few milliseconds after a chosen batch committed (each
// kill after another batch); nothing asserts on timing. A failure prints its seed; rerun that case
// with
//   TOPO_SEED=<seed> build/bin/test_object --gtest_filter='CrashRecovery*'
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "codec/object_payload.h"
#include "object/replica.h"
#include "store/database.h"
#include "util/encoding.h"
#include "testing/temp_dir.h"

namespace topo::object {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

#if defined(__SANITIZE_ADDRESS__)
#define TOPO_CRASH_TEST_SLOW 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TOPO_CRASH_TEST_SLOW 1
#endif
#endif

// The default batch of Replica::Ingest; the workload spans several of them. Under the
// sanitizers everything runs ~10x slower, so the workload and the kill count shrink (still
// three batches).
constexpr size_t kBatchSize = 4096;
#ifdef TOPO_CRASH_TEST_SLOW
constexpr size_t kIngestVertices = 10'000;
constexpr int kIngestKills = 3;
constexpr int kSubmitKills = 3;
#else
constexpr size_t kIngestVertices = 24'000;
constexpr int kIngestKills = 6;
constexpr int kSubmitKills = 5;
#endif

uint64_t Seed() {
  const char* v = std::getenv("TOPO_SEED");
  return v && *v ? std::strtoull(v, nullptr, 10) : 20240601;
}

crypto::SigningKey KeyFor(uint64_t seed, uint8_t who) {
  uint8_t s[32] = {};
  for (int i = 0; i < 8; ++i) s[i] = static_cast<uint8_t>(seed >> (8 * i));
  s[8] = who;
  s[9] = 0xc4;
  return std::move(crypto::SigningKey::FromSeed(ByteView(s, 32))).value();
}

// A private directory, removed with everything in it.
using ::topo::testing::TempDir;

void RemoveDatabase(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path + suffix).c_str());
}

std::unique_ptr<Replica> OpenOrDie(const std::string& path, uint64_t seed,
                                   ReplicaOptions options = {}) {
  auto r = Replica::Open(path, KeyFor(seed, 0), options);
  if (!r.ok()) {
    ADD_FAILURE() << "open " << path << ": " << r.status().ToString();
    return nullptr;
  }
  return std::move(r).value();
}

// Exits the child without running the parent's atexit handlers or gtest's teardown.
[[noreturn]] void ChildExit(int code) { ::_exit(code); }

void WriteAll(int fd, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ChildExit(4);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// A child process with a pipe from it to the parent.
class Child {
 public:
  // Runs body(write_fd) in a child process; body must end by ChildExit.
  template <typename Body>
  static Child Start(Body body) {
    int fds[2];
    if (::pipe(fds) != 0) std::abort();
    std::cout.flush();
    std::cerr.flush();
    pid_t pid = ::fork();
    if (pid < 0) std::abort();
    if (pid == 0) {
      ::close(fds[0]);
      body(fds[1]);
      ChildExit(5);
    }
    ::close(fds[1]);
    return Child(pid, fds[0]);
  }
  Child(Child&& o) noexcept : pid_(o.pid_), fd_(o.fd_), exit_code_(o.exit_code_) {
    o.pid_ = -1, o.fd_ = -1;
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }

  // Reads up to n bytes, waiting at most timeout_ms (-1: forever). 0 at end of stream.
  ssize_t Read(void* out, size_t n, int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc <= 0) return -1;
    return ::read(fd_, out, n);
  }
  // Reads exactly n bytes unless the stream ends first; returns how many were read.
  size_t ReadFull(void* out, size_t n) {
    auto* p = static_cast<uint8_t*>(out);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::read(fd_, p + got, n - got);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }

  // Whether the child is still running (reaps it when it has exited).
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
    Reaped(status);
    return false;
  }
  // SIGKILLs the child (if still running) and reaps it. Returns true when it had exited on
  // its own; *exit_code is its exit status, or minus the signal that ended it.
  bool KillAndReap(int* exit_code) {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      Reaped(status);
    }
    *exit_code = exit_code_;
    return exit_code_ >= 0;
  }
  // Waits for the child to exit on its own; its exit status, or minus the signal.
  int Wait() {
    if (pid_ > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      Reaped(status);
    }
    return exit_code_;
  }

 private:
  Child(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  void Reaped(int status) {
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  pid_t pid_;
  int fd_;
  int exit_code_ = 0;
};

// ---- the ingest workload ----

// Signed vertices of a few objects (branches, merges, two authors, every CRDT kind of the
// doc blueprint), in an arrival order where a few vertices come before their parents (they
// block, and apply in a cascade when the parent arrives, sometimes in a later batch), plus a
// few that break a blueprint rule (rejected; no vertex builds on them).
struct Workload {
  std::vector<Bytes> raws;
  uint64_t valid = 0;
  uint64_t rejected = 0;
};

Workload MakeWorkload(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  crypto::SigningKey authors[2] = {KeyFor(seed, 1), KeyFor(seed, 2)};
  struct Obj {
    std::string blueprint;
    std::vector<codec::Vertex> recent;  // the last few vertices, to build on
    size_t costly = 0;  // ops whose render cost grows with the field (map, set, list)
  };
  std::vector<Obj> objects(4);
  objects[0].blueprint = "counter";
  objects[1].blueprint = "register";
  objects[2].blueprint = "doc";
  objects[3].blueprint = "counter";
  Workload w;
  std::set<codec::VertexId> ids;
  // Signs v and adds it; false when an equal vertex (same id) was made already.
  auto sign = [&](codec::Vertex& v) {
    if (!codec::SignVertex(v, authors[rng() % 2]).ok()) std::abort();
    if (!ids.insert(v.id).second) return false;
    w.raws.push_back(codec::EncodeVertex(v));
    return true;
  };
  for (auto& o : objects) {
    codec::Vertex g;
    g.created_at = 1'700'000'000'000;
    FixedBytes<16> nonce;
    for (auto& b : nonce.bytes) b = static_cast<uint8_t>(rng());
    g.payload = codec::EncodeGenesisPayload({o.blueprint, nonce});
    if (!sign(g)) std::abort();
    ++w.valid;
    o.recent.push_back(std::move(g));
  }
  auto small_value = [&] { return ToBytes("v" + std::to_string(rng() % 1000)); };
  while (w.raws.size() < n) {
    uint64_t pick = rng() % 100;
    Obj& o = objects[pick < 35 ? 0 : pick < 60 ? 1 : pick < 85 ? 2 : 3];
    codec::Vertex v;
    v.type = codec::kCrdtOpType;
    v.object_id = o.recent.front().object();
    // One parent among the last four (branches), sometimes two (a merge).
    size_t k = std::min<size_t>(4, o.recent.size());
    int parents = rng() % 5 == 0 ? 2 : 1;
    for (int i = 0; i < parents; ++i) {
      const codec::Vertex& p = o.recent[o.recent.size() - 1 - rng() % k];
      if (std::find(v.parents.begin(), v.parents.end(), p.id) != v.parents.end()) continue;
      v.parents.push_back(p.id);
      v.depth = std::max(v.depth, p.depth + 1);
      v.created_at = std::max(v.created_at, p.created_at + 1 + rng() % 3);
    }
    bool breaks_rule = rng() % 50 == 0;
    codec::OpPayload op;
    if (breaks_rule) {
      op = {9, codec::CrdtOp{codec::CounterAdd{1}}};  // no field 9 in any of these
    } else if (o.blueprint == "counter") {
      op = {0, codec::CrdtOp{codec::CounterAdd{static_cast<int64_t>(rng() % 21) - 10}}};
    } else if (o.blueprint == "register") {
      op = {0, codec::CrdtOp{codec::LwwSet{small_value()}}};
    } else {
      // doc fields: 0 title, 1 count, 2 status, 3 tags, 4 props, 5 votes, 6 nested, 7 text
      uint64_t f = rng() % 100;
      bool costly_ok = o.costly < 1200;
      if (f < 35 || !costly_ok) {
        op = f % 2 ? codec::OpPayload{0, codec::CrdtOp{codec::LwwSet{small_value()}}}
                   : codec::OpPayload{1, codec::CrdtOp{codec::CounterAdd{1}}};
      } else {
        ++o.costly;
        std::string key = "k" + std::to_string(rng() % 6);
        if (f < 50)
          op = {5, codec::MakeMapUpdate(key, {codec::CounterAdd{1}})};
        else if (f < 60)
          op = {4, codec::MakeMapUpdate(key, {codec::LwwSet{small_value()}})};
        else if (f < 70)
          op = {3, codec::CrdtOp{codec::SetAdd{ToBytes(key)}}};
        else if (f < 80)
          op = {2, codec::CrdtOp{codec::MvSet{small_value(), {}}}};
        else if (f < 90)
          op = {6, codec::MakeMapUpdate(key, codec::MakeMapUpdate("x", {codec::SetAdd{{'e'}}}))};
        else
          op = {7, codec::CrdtOp{codec::ListInsert{std::nullopt, {small_value()}}}};
      }
    }
    v.payload = codec::EncodeOpPayload(op);
    if (!sign(v)) continue;
    if (breaks_rule) {
      ++w.rejected;
      continue;
    }
    ++w.valid;
    o.recent.push_back(std::move(v));
    if (o.recent.size() > 8) o.recent.erase(o.recent.begin() + 1);  // keep the genesis first
  }
  // A few vertices arrive up to 40 places before their parents.
  for (size_t i = 0; i + 1 < w.raws.size(); ++i)
    if (rng() % 40 == 0)
      std::swap(w.raws[i], w.raws[std::min(w.raws.size() - 1, i + 1 + rng() % 40)]);
  return w;
}

// What a replica holds after ingesting whole batches: index k is after k batches.
// `blocked` is printed but not compared: a blocked vertex is durable only at the end of an
// Ingest call (graph/ingest.h: the ingestor holds it in memory until Flush), so a kill in
// the middle of a call leaves fewer blocked rows than a run that ended a call at that
// batch. Those vertices are absent, never half-applied, and re-ingesting completes them.
struct Snapshot {
  std::string fingerprint;
  uint64_t vertices = 0;
  uint64_t blocked = 0;
  uint64_t rejected = 0;
  bool operator==(const Snapshot& o) const {
    return fingerprint == o.fingerprint && vertices == o.vertices && rejected == o.rejected;
  }
};

std::ostream& operator<<(std::ostream& os, const Snapshot& s) {
  return os << "{vertices " << s.vertices << ", blocked " << s.blocked << ", rejected "
            << s.rejected << ", fingerprint " << s.fingerprint.substr(0, 12) << "}";
}

Snapshot Take(Replica& r) {
  Snapshot s;
  auto fp = r.Fingerprint();
  auto v = r.graph_store().VertexCount();
  auto b = r.graph_store().BlockedCount();
  auto j = r.graph_store().RejectedCount();
  EXPECT_TRUE(fp.ok() && v.ok() && b.ok() && j.ok()) << "reading the snapshot failed";
  if (fp.ok()) s.fingerprint = *fp;
  s.vertices = v.ok() ? *v : ~uint64_t{0};
  s.blocked = b.ok() ? *b : ~uint64_t{0};
  s.rejected = j.ok() ? *j : ~uint64_t{0};
  return s;
}

std::vector<Snapshot> BatchSnapshots(const Workload& w, uint64_t seed) {
  auto r = OpenOrDie(":memory:", seed);
  std::vector<Snapshot> out{Take(*r)};
  for (size_t begin = 0; begin < w.raws.size(); begin += kBatchSize) {
    size_t end = std::min(w.raws.size(), begin + kBatchSize);
    auto rep = r->Ingest(std::vector<Bytes>(w.raws.begin() + begin, w.raws.begin() + end));
    EXPECT_TRUE(rep.ok()) << rep.status().ToString();
    out.push_back(Take(*r));
  }
  return out;
}

// (b): a fresh replica given exactly the vertices `crashed` reports as applied must agree
// with it on every object's state and heads and on the projection tables. Returns how many
// vertices were applied.
uint64_t ExpectSelfConsistent(Replica& crashed, uint64_t seed) {
  std::vector<Bytes> applied;
  Status s = crashed.graph_store().ForEachVertex([&](ByteView raw) {
    applied.emplace_back(raw.begin(), raw.end());
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto reference = OpenOrDie(":memory:", seed);
  if (!reference) return 0;
  auto rep = reference->Ingest(applied);
  EXPECT_TRUE(rep.ok()) << rep.status().ToString();
  if (!rep.ok()) return 0;
  // The applied set is causally closed and every vertex in it is valid.
  EXPECT_EQ(rep->stats.applied, applied.size()) << "applied vertices whose parents are not";
  EXPECT_EQ(rep->stats.blocked + rep->stats.rejected + rep->stats.invalid, 0u);

  auto objects = crashed.ListObjects();
  auto ref_objects = reference->ListObjects();
  EXPECT_TRUE(objects.ok() && ref_objects.ok());
  if (!objects.ok() || !ref_objects.ok()) return 0;
  std::set<codec::ObjectId> ids, ref_ids;
  for (const auto& o : *objects) ids.insert(o.id);
  for (const auto& o : *ref_objects) ref_ids.insert(o.id);
  EXPECT_EQ(ids, ref_ids) << "the objects differ";
  for (const auto& o : *objects) {
    auto shown = crashed.Show(o.id);
    auto ref_shown = reference->Show(o.id);
    EXPECT_TRUE(shown.ok() && ref_shown.ok());
    if (shown.ok() && ref_shown.ok()) {
      EXPECT_EQ(shown->dump(), ref_shown->dump())
          << "object " << HexEncodeShort(o.id) << " (" << o.blueprint
          << "): the recovered state is not the state of its applied vertices";
    }
    auto heads = crashed.Heads(o.id);
    auto ref_heads = reference->Heads(o.id);
    EXPECT_TRUE(heads.ok() && ref_heads.ok());
    if (heads.ok() && ref_heads.ok()) {
      std::sort(heads->begin(), heads->end());
      std::sort(ref_heads->begin(), ref_heads->end());
      EXPECT_EQ(*heads, *ref_heads) << "object " << HexEncodeShort(o.id) << ": heads differ";
    }
  }
  auto dump = crashed.ProjectionDump();
  auto ref_dump = reference->ProjectionDump();
  EXPECT_TRUE(dump.ok() && ref_dump.ok());
  if (dump.ok() && ref_dump.ok()) {
    EXPECT_TRUE(*dump == *ref_dump) << "projection tables differ from the applied vertices'";
  }
  return applied.size();
}

// Runs Ingest(w.raws) on the database at `path` in a child. The child writes one byte once
// the database is open, and exits 0 after Ingest returns ok (3 when it fails).
Child StartIngestChild(const std::string& path, const Workload& w, uint64_t seed) {
  return Child::Start([&](int out) {
    auto r = Replica::Open(path, KeyFor(seed, 0));
    if (!r.ok()) ChildExit(2);
    WriteAll(out, "R", 1);
    auto rep = (*r)->Ingest(w.raws);
    ChildExit(rep.ok() ? 0 : 3);
  });
}

// Polls the number of committed vertices in the database at `path` through a read-only
// connection (which sees committed transactions only) until it reaches `at_least`. Returns
// false when the child exited first.
bool WaitForCommitted(Child& child, const std::string& path, uint64_t at_least) {
  if (at_least == 0) return true;
  store::OpenOptions read_only;
  read_only.read_only = true;
  std::unique_ptr<store::Database> db;
  while (child.Running()) {
    if (!db) {
      auto opened = store::Database::Open(path, read_only);
      if (opened.ok()) db = std::move(opened).value();
    }
    if (db) {
      auto& st = db->Prepare("SELECT count(*) FROM vertices");
      auto row = st.Step();
      bool reached = row.ok() && *row && static_cast<uint64_t>(st.Int64(0)) >= at_least;
      st.Reset();  // ends the read transaction
      if (reached) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(CrashRecovery, KilledDuringIngest) {
  const uint64_t seed = Seed();
  SCOPED_TRACE("TOPO_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  TempDir dir;
  const std::string path = dir.File("replica.db");

  const Workload w = MakeWorkload(seed, kIngestVertices);
  ASSERT_GT(w.raws.size(), 2 * kBatchSize);
  const std::vector<Snapshot> batches = BatchSnapshots(w, seed);
  const Snapshot& complete = batches.back();
  ASSERT_EQ(complete.vertices, w.valid);
  ASSERT_EQ(complete.rejected, w.rejected);
  ASSERT_EQ(complete.blocked, 0u);

  // One uninterrupted run, which must end in the complete state. It also times each batch,
  // to place the kills below.
  const size_t n_batches = batches.size() - 1;
  std::vector<int64_t> batch_us(n_batches + 1, 1000);  // batch_us[k]: how long batch k took
  {
    Child child = StartIngestChild(path, w, seed);
    char ready;
    ASSERT_EQ(child.Read(&ready, 1, -1), 1) << "the child did not open the database";
    auto last = SteadyClock::now();
    for (size_t k = 1; k <= n_batches; ++k) {
      bool seen = WaitForCommitted(child, path, batches[k].vertices);
      auto now = SteadyClock::now();
      batch_us[k] = std::max<int64_t>(
          1000, std::chrono::duration_cast<std::chrono::microseconds>(now - last).count());
      last = now;
      if (!seen) break;
    }
    ASSERT_EQ(child.Wait(), 0) << "an uninterrupted ingest failed";
  }
  {
    auto r = OpenOrDie(path, seed);
    ASSERT_TRUE(r);
    EXPECT_EQ(Take(*r), complete);
  }

  // A typical batch after the first (whose verification is not overlapped with anything);
  // the median, as the machine may be busy with other work.
  std::vector<int64_t> later(batch_us.begin() + 2, batch_us.end());
  std::sort(later.begin(), later.end());
  const int64_t typical_us = later.empty() ? batch_us[1] : later[later.size() / 2];

  std::vector<std::string> outcomes;
  for (int kill = 0; kill < kIngestKills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill));
    RemoveDatabase(path);
    // Kill i waits for batch k = i % n_batches to be committed, then lets the child run for
    // a random part of the next batch.
    const size_t k = static_cast<size_t>(kill) % n_batches;
    const int64_t next_us = k == 0 ? batch_us[1] : typical_us;
    auto delay = std::chrono::microseconds(static_cast<int64_t>(
        rng() % static_cast<uint64_t>(std::max<int64_t>(1, next_us * 9 / 10))));
    int exit_code = 0;
    bool finished = false;
    {
      Child child = StartIngestChild(path, w, seed);
      char ready;
      ASSERT_EQ(child.Read(&ready, 1, -1), 1) << "the child did not open the database";
      if (WaitForCommitted(child, path, batches[k].vertices)) std::this_thread::sleep_for(delay);
      finished = child.KillAndReap(&exit_code);
    }
    if (finished) {
      ASSERT_EQ(exit_code, 0) << "the child's ingest failed before the kill";
    }

    // (a) the database opens.
    auto r = OpenOrDie(path, seed);
    ASSERT_TRUE(r) << "the database does not open after the kill";
    // (b) whole batches only, and state == the state of the applied vertices.
    Snapshot got = Take(*r);
    auto match = std::find(batches.begin(), batches.end(), got);
    EXPECT_TRUE(match != batches.end())
        << "the recovered database " << got << " is not the result of whole batches";
    uint64_t applied = ExpectSelfConsistent(*r, seed);
    outcomes.push_back(
        "batch " + std::to_string(k) + " +" + std::to_string(delay.count() / 1000) + "ms: " +
        (match == batches.end() ? std::string("no batch")
                                : std::to_string(match - batches.begin()) + " batches") +
        ", " + std::to_string(applied) + " applied");
    // (c) the whole batch again completes, to the state of a replica that never crashed.
    auto rep = r->Ingest(w.raws);
    ASSERT_TRUE(rep.ok()) << rep.status().ToString();
    EXPECT_EQ(Take(*r), complete) << "re-ingesting after the crash did not converge";
    if (::testing::Test::HasFailure()) break;
  }
  std::cout << "[ crash    ] seed " << seed << ", " << w.raws.size() << " vertices in " << n_batches
            << " batches; kills (after batch, then): ";
  for (const auto& o : outcomes) std::cout << " [" << o << "]";
  std::cout << "\n";
}

// ---- local writes ----

// The local op the child makes at step i (deterministic, so the parent need not know it).
std::pair<size_t, std::pair<uint32_t, codec::CrdtOp>> LocalOp(uint64_t i) {
  std::mt19937_64 rng(i);
  size_t object = rng() % 3;  // counter, register, doc
  if (object == 0) return {0, {0, {codec::CounterAdd{static_cast<int64_t>(rng() % 9) - 4}}}};
  if (object == 1) return {1, {0, {codec::LwwSet{ToBytes("r" + std::to_string(i))}}}};
  switch (rng() % 4) {
    case 0:
      return {2, {0, {codec::LwwSet{ToBytes("t" + std::to_string(i))}}}};
    case 1:
      return {2, {1, {codec::CounterAdd{1}}}};
    case 2:
      return {2,
              {5, codec::MakeMapUpdate("k" + std::to_string(rng() % 4), {codec::CounterAdd{1}})}};
    default:
      return {2, {4, codec::MakeMapUpdate("p", {codec::LwwSet{ToBytes(std::to_string(i))}})}};
  }
}

TEST(CrashRecovery, KilledDuringLocalWrites) {
  const uint64_t seed = Seed();
  SCOPED_TRACE("TOPO_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  TempDir dir;
  const std::string path = dir.File("local.db");
  std::vector<codec::ObjectId> objects;
  {
    auto r = OpenOrDie(path, seed);
    ASSERT_TRUE(r);
    for (const char* bp : {"counter", "register", "doc"}) {
      auto id = r->CreateObject(bp);
      ASSERT_TRUE(id.ok()) << id.status().ToString();
      objects.push_back(*id);
    }
  }

  std::set<codec::VertexId> acknowledged;  // Submit returned: committed, must survive
  uint64_t step = 0;  // the next local op; the same sequence continues across crashes
  std::vector<std::string> outcomes;
  for (int kill = 0; kill < kSubmitKills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill));
    // The child writes each id once Submit has returned, then goes on.
    Child child = Child::Start([&](int out) {
      auto r = Replica::Open(path, KeyFor(seed, 0));
      if (!r.ok()) ChildExit(2);
      WriteAll(out, "R", 1);
      for (uint64_t i = step;; ++i) {
        auto [object, op] = LocalOp(i);
        auto id = (*r)->Submit(objects[object], op.first, op.second);
        if (!id.ok()) ChildExit(3);
        WriteAll(out, id->data(), id->size());
      }
    });
    char ready;
    ASSERT_EQ(child.Read(&ready, 1, -1), 1) << "the child did not open the database";
    // Read acknowledgements (the pipe must not fill) until a random deadline, then kill.
    auto deadline = SteadyClock::now() + std::chrono::milliseconds(20 + rng() % 300);
    Bytes acks;
    uint8_t buf[4096];
    while (SteadyClock::now() < deadline) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      ssize_t n = child.Read(buf, sizeof buf, static_cast<int>(std::max<int64_t>(1, left.count())));
      if (n > 0) acks.insert(acks.end(), buf, buf + n);
      if (n == 0) break;  // the child died on its own
    }
    int exit_code = 0;
    bool exited = child.KillAndReap(&exit_code);
    ASSERT_FALSE(exited) << "the local write loop stopped by itself, exit " << exit_code;
    // Acknowledgements written before the kill are still in the pipe.
    for (;;) {
      size_t got = child.ReadFull(buf, sizeof buf);
      acks.insert(acks.end(), buf, buf + got);
      if (got < sizeof buf) break;
    }
    size_t acked_now = acks.size() / 32;  // a torn last id was not acknowledged
    for (size_t i = 0; i < acked_now; ++i)
      acknowledged.insert(codec::VertexId::FromView(ByteView(acks.data() + 32 * i, 32)));

    auto r = OpenOrDie(path, seed);
    ASSERT_TRUE(r) << "the database does not open after the kill";
    auto count = r->graph_store().VertexCount();
    ASSERT_TRUE(count.ok());
    uint64_t ops = *count - objects.size();
    // Every acknowledged write survived; at most the one in flight is there besides.
    size_t lost = 0;
    std::string first_lost;
    for (const auto& id : acknowledged) {
      auto meta = r->graph_store().GetMeta(id);
      ASSERT_TRUE(meta.ok()) << meta.status().ToString();
      if (!meta->has_value() && lost++ == 0) first_lost = HexEncodeShort(id);
    }
    EXPECT_EQ(lost, 0u) << "acknowledged writes lost, the first " << first_lost;
    EXPECT_GE(ops, acknowledged.size());
    EXPECT_LE(ops, acknowledged.size() + 1) << "writes that were never made are stored";
    ExpectSelfConsistent(*r, seed);
    // Local writes form one chain per object.
    for (const auto& o : objects) {
      auto heads = r->Heads(o);
      ASSERT_TRUE(heads.ok());
      EXPECT_EQ(heads->size(), 1u) << "object " << HexEncodeShort(o);
    }
    outcomes.push_back("+" + std::to_string(acked_now) + " acked, " + std::to_string(ops) +
                       " ops stored");
    // The sequence continues after what is stored (the op in flight, if it committed, counts).
    step = ops;
    acknowledged.clear();
    Status s = r->graph_store().ForEachVertex([&](ByteView raw) {
      auto v = codec::DecodeVertex(raw);
      if (v.ok() && !v->is_genesis()) acknowledged.insert(v->id);
      return true;
    });
    ASSERT_TRUE(s.ok());
    // And the recovered replica takes local writes again.
    auto [object, op] = LocalOp(step);
    auto id = r->Submit(objects[object], op.first, op.second);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    acknowledged.insert(*id);
    ++step;
    if (::testing::Test::HasFailure()) break;
  }
  std::cout << "[ crash    ] seed " << seed << ", local writes; kills:";
  for (const auto& o : outcomes) std::cout << " [" << o << "]";
  std::cout << "\n";
}

}  // namespace
}  // namespace topo::object
