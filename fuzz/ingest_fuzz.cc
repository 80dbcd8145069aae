// Fuzzes the whole ingest path: object::Replica::Ingest on ":memory:" replicas, through
// decode, signature check, dependency tracking (blocked, cascade, rejection), validation
// against the blueprints and the CRDT state. Nothing may crash, Ingest must not fail on an
// in-memory store, and the replica must still answer Fingerprint(), ListObjects() and Show().
//
// Input: u8 config, then records, each varint len || body (a bad length makes the rest one
// record). Config bit 0 picks how a body becomes a vertex:
//   0  raw: the body is a signed vertex encoding, ingested as it is;
//   1  built: the body describes a vertex which the harness completes and signs, so that
//      mutations of payloads and graph shapes get past the signature check:
//        u8 flags   1 genesis, 2 deliver last, 4 depth off by one, 8 created_at not later
//                   than a parent's, 16 deliver twice, 32 second author, 64 bad signature
//        genesis:   payload = the rest
//        otherwise: u8 n (1 + n % 4 parents), n * u8 parent (the first picks among every
//                   vertex built so far, the others among those of its object unless their
//                   high bit is set), u8 m (m % 4 refs), m * u8 ref, u8 type (0 -> 1),
//                   payload = the rest
// Bits 1..3 of the config set the batch size (1..8 vertices per transaction).
//
// One replica ingests the vertices through Replica::Ingest; a second one ingests them in the
// reverse order through graph::Prepare and Replica::IngestPrepared. Oracle: every outcome
// depends only on the vertex and its causal past, so both must end with the same
// fingerprint (state, frontiers, projections).
//
// TOPO_FUZZ_WRITE_SEEDS=<dir> writes seed inputs of both kinds to <dir> and exits.
// TOPO_FUZZ_VERBOSE=1 prints each ingest's outcome counts and problems (to read a reproducer).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "codec/object_payload.h"
#include "codec/reader.h"
#include "fuzz_support.h"
#include "object/replica.h"
#include "util/varint.h"

const char topo::fuzz::kTargetName[] = "ingest_fuzz";

namespace topo {
namespace {

constexpr size_t kMaxRecords = 64;
constexpr uint64_t kEpochMs = 1'700'000'000'000;

enum Flag : uint8_t {
  kGenesis = 1,
  kDeliverLast = 2,
  kBadDepth = 4,
  kBadCreatedAt = 8,
  kDeliverTwice = 16,
  kSecondAuthor = 32,
  kBadSignature = 64,
};

using fuzz::Fail;

crypto::SigningKey KeyFrom(uint8_t tag) {
  uint8_t seed[32] = {'i', 'n', 'g', 'e', 's', 't', tag};
  return std::move(crypto::SigningKey::FromSeed(ByteView(seed, 32))).value();
}

const crypto::SigningKey& Author(int which) {
  static const crypto::SigningKey keys[2] = {KeyFrom(1), KeyFrom(2)};
  return keys[which];
}

std::vector<ByteView> SplitRecords(ByteView in) {
  std::vector<ByteView> out;
  codec::Reader r(in);
  while (!r.done() && out.size() < kMaxRecords) {
    size_t start = r.pos();
    uint64_t len = 0;
    ByteView body;
    if (!r.Varint("len", len).ok() || len > r.remaining() || !r.Raw("body", len, body).ok()) {
      out.push_back(in.subspan(start));
      break;
    }
    out.push_back(body);
  }
  return out;
}

// Turns built-mode record bodies into signed vertices, in delivery order.
class GraphBuilder {
 public:
  // Returns false when the body describes no vertex (it is skipped).
  bool Add(ByteView body) {
    codec::Reader r(body);
    uint8_t flags = 0;
    if (!r.U8("flags", flags).ok()) return false;
    codec::Vertex v;
    if (flags & kGenesis) {
      v.created_at = kEpochMs + built_.size();
    } else {
      if (built_.empty()) return false;
      uint8_t n = 0, m = 0, type = 0;
      if (!r.U8("n", n).ok()) return false;
      for (int i = 0; i < 1 + n % 4; ++i) {
        uint8_t pick = 0;
        if (!r.U8("parent", pick).ok()) return false;
        const codec::Vertex* p = nullptr;
        if (i == 0 || (pick & 0x80)) {
          p = &built_[pick % built_.size()];
        } else {
          const auto& same = by_object_[v.object_id];
          p = &built_[same[pick % same.size()]];
        }
        if (i == 0) v.object_id = p->object();
        v.parents.push_back(p->id);
        v.depth = std::max(v.depth, p->depth + 1);
        v.created_at = std::max(v.created_at, p->created_at + 1);
      }
      if (!r.U8("m", m).ok()) return false;
      for (int i = 0; i < m % 4; ++i) {
        uint8_t pick = 0;
        if (!r.U8("ref", pick).ok()) return false;
        v.refs.push_back(built_[pick % built_.size()].id);
      }
      if (!r.U8("type", type).ok()) return false;
      v.type = type == 0 ? codec::kCrdtOpType : type;
      if (flags & kBadDepth) ++v.depth;
      if (flags & kBadCreatedAt) --v.created_at;
    }
    ByteView payload;
    if (!r.Raw("payload", r.remaining(), payload).ok()) return false;
    v.payload.assign(payload.begin(), payload.end());
    if (!codec::SignVertex(v, Author(flags & kSecondAuthor ? 1 : 0)).ok()) return false;
    Bytes raw = codec::EncodeVertex(v);
    if (flags & kBadSignature) raw.back() ^= 1;
    by_object_[v.object()].push_back(built_.size());
    built_.push_back(std::move(v));
    (flags & kDeliverLast ? last_ : now_).push_back(raw);
    if (flags & kDeliverTwice) now_.push_back(std::move(raw));
    return true;
  }

  const std::vector<codec::Vertex>& built() const { return built_; }

  std::vector<Bytes> Delivery() const {
    std::vector<Bytes> out = now_;
    out.insert(out.end(), last_.rbegin(), last_.rend());
    return out;
  }

 private:
  std::vector<codec::Vertex> built_;
  std::unordered_map<codec::ObjectId, std::vector<size_t>, FixedBytesHash> by_object_;
  std::vector<Bytes> now_, last_;
};

std::unique_ptr<object::Replica> OpenReplica(size_t batch_size) {
  static ManualClock clock;
  object::ReplicaOptions options;
  options.clock = &clock;
  options.verify_threads = 1;
  options.batch_size = batch_size;
  auto r = object::Replica::Open(":memory:", Author(0).Clone(), options);
  if (!r.ok()) Fail("Replica::Open(:memory:): " + r.status().ToString());
  return std::move(r).value();
}

// Ingests through Replica::Ingest, or, with `prepared`, through graph::Prepare and
// Replica::IngestPrepared (the same sequential stage without the verifier threads).
// `verified` counts the vertices that got past decoding and the signature check.
std::string IngestAndFingerprint(size_t batch_size, std::vector<Bytes> raws, bool prepared,
                                 uint64_t* verified = nullptr) {
  auto replica = OpenReplica(batch_size);
  Result<object::IngestReport> report = Status::Internal("not run");
  if (prepared) {
    std::vector<graph::Prepared> items;
    for (auto& raw : raws) items.push_back(graph::Prepare(std::move(raw)));
    report = replica->IngestPrepared(std::move(items));
  } else {
    report = replica->Ingest(std::move(raws));
  }
  if (!report.ok()) Fail("Ingest failed on an in-memory replica: " + report.status().ToString());
  if (verified) {
    const auto& st = report->stats;
    *verified = st.applied - st.cascaded + st.duplicate + st.blocked + st.rejected;
  }
  if (std::getenv("TOPO_FUZZ_VERBOSE")) {
    const auto& st = report->stats;
    std::fprintf(stderr,
                 "applied %llu (cascaded %llu) duplicate %llu blocked %llu rejected %llu "
                 "invalid %llu\n",
                 (unsigned long long)st.applied, (unsigned long long)st.cascaded,
                 (unsigned long long)st.duplicate, (unsigned long long)st.blocked,
                 (unsigned long long)st.rejected, (unsigned long long)st.invalid);
    for (const auto& p : report->problems) std::fprintf(stderr, "  %s\n", p.c_str());
  }
  auto objects = replica->ListObjects();
  if (!objects.ok()) Fail("ListObjects: " + objects.status().ToString());
  for (const auto& o : *objects) {
    auto shown = replica->Show(o.id);
    if (!shown.ok()) Fail("Show: " + shown.status().ToString());
    if (o.heads == 0) Fail("an applied object without heads");
  }
  auto fp = replica->Fingerprint();
  if (!fp.ok()) Fail("Fingerprint: " + fp.status().ToString());
  return *fp;
}

// ---- seeds ----

Bytes Record(ByteView body) {
  Bytes out;
  PutVarint(out, body.size());
  Append(out, body);
  return out;
}

Bytes OpBody(uint8_t flags, std::vector<uint8_t> parents, uint32_t field, const codec::CrdtOp& op,
             std::vector<uint8_t> refs = {}) {
  Bytes b{flags, static_cast<uint8_t>(parents.size() - 1)};
  Append(b, parents);
  b.push_back(static_cast<uint8_t>(refs.size()));
  Append(b, refs);
  b.push_back(1);
  Append(b, codec::EncodeOpPayload({field, op}));
  return b;
}

Bytes GenesisBody(uint8_t flags, const std::string& blueprint, uint8_t nonce) {
  Bytes b{static_cast<uint8_t>(flags | kGenesis)};
  FixedBytes<16> n;
  n.bytes.fill(nonce);
  Append(b, codec::EncodeGenesisPayload({blueprint, n}));
  return b;
}

// Writes the input `config` || Record(records[0]) || Record(records[1]) || ...
void WriteSeed(const std::string& dir, const std::string& name, uint8_t config,
               const std::vector<Bytes>& records) {
  Bytes in{config};
  for (const auto& r : records) Append(in, Record(r));
  fuzz::WriteSeed(dir, name, in);
}

void WriteSeeds(const std::string& dir) {
  using namespace codec;
  // A doc with an op on every field, concurrent branches and a merge; list ops name the
  // elements of earlier records, whose ids the builder knows.
  std::vector<Bytes> doc;
  GraphBuilder b;
  auto add = [&](Bytes body) {
    if (!b.Add(body)) Fail("seed record does not build");
    doc.push_back(std::move(body));
  };
  add(GenesisBody(0, "doc", 1));                                                    // 0
  add(OpBody(0, {0}, 0, {LwwSet{ToBytes("title")}}));                               // 1
  add(OpBody(0, {1}, 1, {CounterAdd{5}}));                                          // 2
  add(OpBody(kSecondAuthor, {1}, 1, {CounterAdd{-2}}));                             // 3 concurrent
  add(OpBody(0, {2, 3}, 2, {MvSet{ToBytes("open"), {}}}));                          // 4 merge 2+3
  add(OpBody(0, {4}, 3, {SetAdd{ToBytes("red")}}));                                 // 5
  add(OpBody(0, {5}, 3, {SetRemove{ToBytes("red"), {b.built()[5].id}}}));           // 6
  add(OpBody(0, {6}, 4, MakeMapUpdate("k", {LwwSet{ToBytes("v")}})));               // 7
  add(OpBody(0, {7}, 5, MakeMapUpdate("alice", {CounterAdd{1}})));                  // 8
  add(OpBody(0, {8}, 6, MakeMapUpdate("a", MakeMapUpdate("b", {SetAdd{{'x'}}}))));  // 9
  add(OpBody(0, {9}, 7, {ListInsert{std::nullopt, {{'h'}, {'i'}}}}));               // 10
  add(OpBody(0, {10}, 7, {ListInsert{ElemId{b.built()[10].id, 1}, {{'!'}}}}));      // 11
  add(OpBody(0, {11}, 7, {ListDelete{{ElemId{b.built()[10].id, 0}}}}));             // 12
  add(OpBody(0, {12}, 4, {MapRemove{"k", {b.built()[7].id}}}));                     // 13
  add(GenesisBody(0, "list", 2));                                                   // 14
  add(OpBody(kDeliverLast, {14}, 0, {ListInsert{std::nullopt, {{'a'}}}}));  // 15 arrives last
  add(OpBody(0, {15}, 0, {ListInsert{ElemId{b.built()[15].id, 0}, {{'b'}}}}, {13}));  // 16
  WriteSeed(dir, "built_doc", 1 | (3 << 1), doc);

  // Rule breakers: each is rejected (or blocked, or invalid) and so are its descendants.
  std::vector<Bytes> bad;
  GraphBuilder c;
  auto add_bad = [&](Bytes body) {
    if (!c.Add(body)) Fail("seed record does not build");
    bad.push_back(std::move(body));
  };
  add_bad(GenesisBody(0, "counter", 3));                    // 0
  add_bad(GenesisBody(kDeliverTwice, "set", 4));            // 1
  add_bad(OpBody(kBadDepth, {0}, 0, {CounterAdd{1}}));      // 2
  add_bad(OpBody(0, {2}, 0, {CounterAdd{1}}));              // 3 child of rejected
  add_bad(OpBody(kBadCreatedAt, {0}, 0, {CounterAdd{1}}));  // 4
  add_bad(OpBody(0, {0}, 1, {CounterAdd{1}}));              // 5 no field 1
  add_bad(OpBody(0, {0}, 0, {SetAdd{{'x'}}}));              // 6 wrong kind
  add_bad(OpBody(0, {0, 0x86}, 0, {CounterAdd{1}}));        // 7 parents of 2 objects
  add_bad(OpBody(kBadSignature, {1}, 0, {SetAdd{{'y'}}}));  // 8 invalid
  add_bad(OpBody(0, {8}, 0, {SetAdd{{'z'}}}));              // 9 blocked forever
  add_bad(GenesisBody(0, "nosuchblueprint", 5));            // 10
  WriteSeed(dir, "built_bad", 1, bad);

  // Raw mode: the signed encodings of the doc seed, shuffled a little.
  std::vector<Bytes> raws = b.Delivery();
  std::swap(raws[1], raws[5]);
  WriteSeed(dir, "raw_doc", 0 | (7 << 1), raws);
}

}  // namespace
}  // namespace topo

TOPO_FUZZ_SEEDS(topo::WriteSeeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace topo;
  if (size == 0) return 0;
  uint8_t config = data[0];
  size_t batch_size = 1 + ((config >> 1) & 7);
  std::vector<ByteView> records = SplitRecords(ByteView(data + 1, size - 1));
  std::vector<Bytes> raws;
  if (config & 1) {
    GraphBuilder builder;
    for (ByteView r : records) builder.Add(r);
    raws = builder.Delivery();
  } else {
    for (ByteView r : records) raws.emplace_back(r.begin(), r.end());
  }
  std::vector<Bytes> reversed(raws.rbegin(), raws.rend());
  // Ingest() starts a verifier thread per batch, which costs more than the rest of a run
  // under ASan: the forward run takes at most three batches, the reverse run goes through
  // IngestPrepared with the configured batch size.
  size_t forward_batch = std::max(batch_size, (raws.size() + 2) / 3);
  uint64_t verified = 0;
  std::string forward = IngestAndFingerprint(forward_batch, std::move(raws), false, &verified);
  if (verified < 2) return 0;  // one vertex or none: the order cannot matter
  std::string backward = IngestAndFingerprint(batch_size, std::move(reversed), true);
  if (forward != backward)
    Fail("the same vertices ingested in reverse order give another fingerprint");
  return 0;
}
