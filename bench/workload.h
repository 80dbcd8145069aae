// Synthetic hash graphs for the benchmarks: one object edited by several authors on
// concurrent branches, written straight to a bundle file so that a million vertices never sit
// in memory, and the tools to reorder such a bundle and to time raw signature checks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "codec/bundle.h"
#include "codec/vertex.h"

namespace topo::bench {

// Which operations the vertices carry (all on one "doc" object).
enum class OpMix {
  // counter.add on "count" and lww.set on "title": the object's state is two entries
  // whatever the number of vertices, so the figures are those of the pipeline itself.
  kSmallState,
  // map.update(key, lww.set) on "props" over `keys` keys, and counter.add on "count". Each
  // update adds a presence tag that stays live (object/crdt.h), so the state, and the
  // re-rendering of "props" after every op, grow with the number of vertices.
  kMapPuts,
};
const char* OpMixName(OpMix mix);
// "small" or "map"; throws Failure for anything else.
OpMix ParseOpMix(const std::string& name);

struct GraphShape {
  uint64_t events = 100'000;  // vertices in all, the genesis included
  unsigned authors = 4;
  // Every `merge_every` vertices one author (in turn) makes a vertex naming every head;
  // the others extend their own chain.
  unsigned merge_every = 16;
  OpMix mix = OpMix::kSmallState;
  uint32_t keys = 1000;  // map keys used by kMapPuts
  uint64_t seed = 1;
};

// Where each record of a bundle lies, to reorder the file without reading it whole.
struct RecordSpan {
  uint64_t offset;  // of the vertex encoding (after its length varint)
  uint32_t length;
};

struct GeneratedObject {
  codec::ObjectId object;
  uint64_t vertices = 0;
  uint64_t merges = 0;
  uint64_t max_parents = 0;
  uint64_t bundle_bytes = 0;
  std::vector<RecordSpan> records;  // in file (generation, parents-first) order
  // What Replica::Show must return for the fields the ops touch.
  Json expected;
};

// Appends vertices to a bundle file, signing them in batches on every core, and notes where
// each record lies. Memory holds one batch. Progress goes to stderr.
class SignedBundleWriter {
 public:
  SignedBundleWriter(const std::string& path, std::string progress_label, uint64_t expected);
  // `v` has every field but id and signature final; `key` is its author's and must outlive
  // Finish().
  void Add(codec::Vertex v, const crypto::SigningKey& key);
  // Signs and writes what is pending and closes the file.
  void Finish();
  uint64_t count() const { return records_.size() + batch_.size(); }
  std::vector<RecordSpan>& records() { return records_; }

 private:
  void Flush();

  codec::BundleWriter writer_;
  uint64_t offset_ = 9;  // magic and version
  std::vector<RecordSpan> records_;
  std::vector<codec::Vertex> batch_;
  std::vector<const crypto::SigningKey*> batch_keys_;
  Progress progress_;
};

// Writes the vertices of one object to a bundle at `path`, parents before children.
// Signatures are made on every core. Progress goes to stderr.
GeneratedObject GenerateObject(const GraphShape& shape, const std::string& path);

// Writes a bundle holding the records of `in` in a shuffled order: each run of `window`
// consecutive records is shuffled within itself (window 0: the whole file at once).
// Memory holds one record at a time besides `records`.
void WriteShuffled(const std::string& in, const std::vector<RecordSpan>& records, uint64_t window,
                   uint64_t seed, const std::string& out);

// Single-core Ed25519 verifications per second, over the real signatures of (up to) the
// first `count` vertices of the bundle at `path`, checked with crypto::Verify in a loop on
// this thread: per wall-clock second and per second of this thread's CPU time (the second
// does not depend on what else the machine runs). Best of two passes.
struct VerifyRate {
  double per_s = 0;
  double per_cpu_s = 0;
};
VerifyRate MeasureVerifyRate(const std::string& path, size_t count);

// Reads the bundle at `path` in chunks of `chunk` vertices and hands each to `ingest`, with
// progress on stderr. Memory stays bounded by one chunk.
void ForEachChunk(const std::string& path, size_t chunk, uint64_t expected_total,
                  const std::string& progress_label,
                  const std::function<void(std::vector<Bytes>)>& ingest);

}  // namespace topo::bench
