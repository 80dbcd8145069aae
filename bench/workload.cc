#include "bench/workload.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <thread>

#include "codec/bundle.h"
#include "codec/object_payload.h"
#include "object/blueprint.h"
#include "util/varint.h"

namespace topo::bench {
namespace {

constexpr uint64_t kBaseTimeMs = 1'700'000'000'000;
constexpr size_t kSignBatch = 4096;

// The frontier entries and chain tips the generator tracks.
struct Tip {
  codec::VertexId id;
  uint64_t depth = 0;
};

crypto::SigningKey AuthorKey(uint64_t seed, unsigned author) {
  std::string tag = "topo-bench author " + std::to_string(seed) + "/" + std::to_string(author);
  crypto::Digest d = crypto::Hash("topo.bench.author", AsBytes(tag));
  return Check(crypto::SigningKey::FromSeed(d.view()), "author key");
}

uint32_t FieldIndex(const object::Blueprint& bp, std::string_view name) {
  int i = bp.FieldIndex(name);
  Expect(i >= 0, "blueprint doc has a field " + std::string(name));
  return static_cast<uint32_t>(i);
}

// A value of about 40 bytes, distinct per vertex.
std::string ValueFor(uint64_t i) {
  std::string v = "value of vertex " + std::to_string(i) + " ";
  v.resize(40, '.');
  return v;
}

}  // namespace

const char* OpMixName(OpMix mix) {
  switch (mix) {
    case OpMix::kSmallState:
      return "small";
    case OpMix::kMapPuts:
      return "map";
  }
  return "?";
}

OpMix ParseOpMix(const std::string& name) {
  if (name == "small") return OpMix::kSmallState;
  if (name == "map") return OpMix::kMapPuts;
  throw Failure{"unknown op mix \"" + name + "\" (known: small, map)"};
}

SignedBundleWriter::SignedBundleWriter(const std::string& path, std::string progress_label,
                                       uint64_t expected)
    : writer_(path), progress_(std::move(progress_label), expected) {
  Check(writer_.status(), "bundle " + path);
  records_.reserve(expected);
}

void SignedBundleWriter::Add(codec::Vertex v, const crypto::SigningKey& key) {
  batch_.push_back(std::move(v));
  batch_keys_.push_back(&key);
  if (batch_.size() == kSignBatch) Flush();
}

void SignedBundleWriter::Flush() {
  std::vector<Bytes> raws(batch_.size());
  auto sign = [&](size_t begin, size_t end) {
    for (size_t j = begin; j < end; ++j) {
      batch_[j].signature = batch_keys_[j]->Sign(batch_[j].id.view());
      raws[j] = codec::EncodeVertex(batch_[j]);
    }
  };
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  size_t per = (batch_.size() + threads - 1) / threads;
  for (unsigned t = 0; t < threads; ++t) {
    size_t b = t * per, e = std::min(batch_.size(), b + per);
    if (b < e) pool.emplace_back(sign, b, e);
  }
  for (auto& th : pool) th.join();
  for (const Bytes& raw : raws) {
    offset_ += VarintLength(raw.size());
    records_.push_back({offset_, static_cast<uint32_t>(raw.size())});
    offset_ += raw.size();
    Check(writer_.Add(raw), "writing bundle");
  }
  batch_.clear();
  batch_keys_.clear();
  progress_.Update(records_.size());
}

void SignedBundleWriter::Finish() {
  Flush();
  Check(writer_.Finish(), "finishing bundle");
}

GeneratedObject GenerateObject(const GraphShape& shape, const std::string& path) {
  Expect(shape.events >= 1, "at least one vertex (the genesis)");
  Expect(shape.authors >= 1 && shape.authors <= codec::kMaxParents, "1..64 authors");
  std::mt19937_64 rng(shape.seed);
  std::vector<crypto::SigningKey> keys;
  for (unsigned a = 0; a < shape.authors; ++a) keys.push_back(AuthorKey(shape.seed, a));
  const object::Blueprint* doc = object::FindBlueprint("doc");
  Expect(doc != nullptr, "the doc blueprint exists");
  const uint32_t f_title = FieldIndex(*doc, "title");
  const uint32_t f_count = FieldIndex(*doc, "count");
  const uint32_t f_props = FieldIndex(*doc, "props");

  GeneratedObject out;
  SignedBundleWriter writer(path, "generate", shape.events);

  // Genesis, by author 0.
  codec::Vertex g;
  g.type = codec::kGenesisType;
  g.created_at = kBaseTimeMs;
  g.author = keys[0].public_key();
  codec::GenesisPayload gp{"doc", {}};
  for (auto& b : gp.nonce.bytes) b = static_cast<uint8_t>(rng());
  g.payload = codec::EncodeGenesisPayload(gp);
  g.id = codec::ComputeVertexId(g);
  out.object = g.id;
  writer.Add(std::move(g), keys[0]);

  std::vector<Tip> tips(shape.authors, Tip{g.id, 0});
  std::vector<Tip> heads{Tip{g.id, 0}};
  int64_t count = 0;
  std::string title;
  Json props = Json::object();

  for (uint64_t i = 1; i < shape.events; ++i) {
    codec::Vertex v;
    v.type = codec::kCrdtOpType;
    v.object_id = out.object;
    v.created_at = kBaseTimeMs + i;  // later than every parent: parents come earlier
    const bool merge = shape.merge_every != 0 && i % shape.merge_every == 0 && heads.size() > 1;
    unsigned a = merge ? static_cast<unsigned>((i / shape.merge_every) % shape.authors)
                       : static_cast<unsigned>(rng() % shape.authors);
    uint64_t depth = 0;
    if (merge) {
      for (const Tip& h : heads) {
        v.parents.push_back(h.id);
        depth = std::max(depth, h.depth);
      }
      heads.clear();
      ++out.merges;
    } else {
      v.parents.push_back(tips[a].id);
      depth = tips[a].depth;
      std::erase_if(heads, [&](const Tip& h) { return h.id == tips[a].id; });
    }
    v.depth = depth + 1;
    std::sort(v.parents.begin(), v.parents.end());
    out.max_parents = std::max<uint64_t>(out.max_parents, v.parents.size());

    codec::CrdtOp op;
    uint32_t field;
    if (rng() % 2 == 0) {
      int64_t delta = static_cast<int64_t>(1 + rng() % 9);
      op = codec::CrdtOp{codec::CounterAdd{delta}};
      field = f_count;
      count += delta;
    } else if (shape.mix == OpMix::kSmallState) {
      title = ValueFor(i);
      op = codec::CrdtOp{codec::LwwSet{ToBytes(title)}};
      field = f_title;
    } else {
      char key[16];
      std::snprintf(key, sizeof key, "k%05u", static_cast<unsigned>(rng() % shape.keys));
      std::string value = ValueFor(i);
      props[key] = value;
      op = codec::MakeMapUpdate(key, codec::CrdtOp{codec::LwwSet{ToBytes(value)}});
      field = f_props;
    }
    v.payload = codec::EncodeOpPayload({field, op});
    v.author = keys[a].public_key();
    Check(codec::CheckVertexShape(v), "generated vertex");
    v.id = codec::ComputeVertexId(v);

    tips[a] = Tip{v.id, v.depth};
    heads.push_back(tips[a]);
    writer.Add(std::move(v), keys[a]);
  }
  writer.Finish();
  out.records = std::move(writer.records());
  out.vertices = out.records.size();
  out.bundle_bytes = FileSize(path);
  out.expected = Json{{"count", count}};
  if (shape.mix == OpMix::kSmallState)
    out.expected["title"] = title.empty() ? Json(nullptr) : Json(title);
  else
    out.expected["props"] = std::move(props);
  return out;
}

void WriteShuffled(const std::string& in, const std::vector<RecordSpan>& records, uint64_t window,
                   uint64_t seed, const std::string& out) {
  std::vector<uint32_t> order(records.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  std::mt19937_64 rng(seed);
  if (window == 0) window = std::max<uint64_t>(1, order.size());
  for (uint64_t b = 0; b < order.size(); b += window)
    std::shuffle(
        order.begin() + static_cast<ptrdiff_t>(b),
        order.begin() + static_cast<ptrdiff_t>(std::min<uint64_t>(order.size(), b + window)), rng);
  int fd = ::open(in.c_str(), O_RDONLY);
  if (fd < 0) throw Failure{"cannot open " + in + ": " + std::strerror(errno)};
  codec::BundleWriter writer(out);
  Check(writer.status(), "bundle " + out);
  Bytes record;
  Progress progress("shuffle", order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const RecordSpan& r = records[order[i]];
    record.resize(r.length);
    ssize_t n = ::pread(fd, record.data(), r.length, static_cast<off_t>(r.offset));
    if (n != static_cast<ssize_t>(r.length)) {
      ::close(fd);
      throw Failure{"short read from " + in};
    }
    Check(writer.Add(record), "writing bundle");
    if ((i & 0xffff) == 0) progress.Update(i);
  }
  ::close(fd);
  progress.Update(order.size());
  Check(writer.Finish(), "finishing bundle");
}

VerifyRate MeasureVerifyRate(const std::string& path, size_t count) {
  std::vector<codec::Vertex> vertices;
  const Status enough = Status::Internal("enough vertices");
  Status s = codec::ReadBundle(path, [&](Bytes raw) -> Status {
    vertices.push_back(Check(codec::DecodeVertex(raw), "decoding a bundle vertex"));
    return vertices.size() < count ? Status::Ok() : enough;
  });
  if (!s.ok() && s.message() != enough.message()) Check(s, "reading " + path);
  Expect(!vertices.empty(), "the bundle has vertices to verify");
  // Best of two passes: the first also warms the caches.
  VerifyRate best;
  for (int pass = 0; pass < 2; ++pass) {
    Stopwatch sw;
    double cpu0 = ThreadCpuSeconds();
    size_t good = 0;
    for (const codec::Vertex& v : vertices)
      good += crypto::Verify(v.author, v.id.view(), v.signature) ? 1 : 0;
    double n = static_cast<double>(vertices.size());
    best.per_s = std::max(best.per_s, n / sw.Seconds());
    best.per_cpu_s = std::max(best.per_cpu_s, n / (ThreadCpuSeconds() - cpu0));
    Expect(good == vertices.size(), "every generated signature verifies");
  }
  return best;
}

void ForEachChunk(const std::string& path, size_t chunk, uint64_t expected_total,
                  const std::string& progress_label,
                  const std::function<void(std::vector<Bytes>)>& ingest) {
  Progress progress(progress_label, expected_total);
  std::vector<Bytes> batch;
  uint64_t done = 0;
  Status s = codec::ReadBundle(path, [&](Bytes raw) -> Status {
    batch.push_back(std::move(raw));
    if (batch.size() >= chunk) {
      done += batch.size();
      ingest(std::move(batch));
      batch.clear();
      progress.Update(done);
    }
    return Status::Ok();
  });
  Check(s, "reading bundle " + path);
  if (!batch.empty()) {
    done += batch.size();
    ingest(std::move(batch));
    progress.Update(done);
  }
}

}  // namespace topo::bench
