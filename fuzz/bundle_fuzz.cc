// Fuzzes codec::ReadBundle on a file holding the input (a memfd, reached by its /proc path,
// so no disk is touched). Every record handed out is decoded as an import would. A bundle
// that reads whole must be written back byte for byte by BundleWriter from its records
// (into a private directory on tmpfs when there is one: the writer renames a temporary file
// beside its path).
//
// TOPO_FUZZ_WRITE_SEEDS=<dir> writes valid bundles to <dir> and exits.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "codec/bundle.h"
#include "codec/object_payload.h"
#include "fuzz_support.h"

const char topo::fuzz::kTargetName[] = "bundle_fuzz";

namespace topo {
namespace {

using fuzz::Fail;
using fuzz::ReadAll;
using fuzz::WriteSeed;

// A file that lives in memory for the whole run; path() names it for fopen().
class MemFile {
 public:
  explicit MemFile(const char* name) {
    fd_ = ::memfd_create(name, MFD_CLOEXEC);
    if (fd_ < 0) Fail("memfd_create failed");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  const std::string& path() const { return path_; }
  void Set(ByteView b) {
    if (::ftruncate(fd_, 0) != 0) Fail("ftruncate");
    size_t off = 0;
    while (off < b.size()) {
      ssize_t n = ::pwrite(fd_, b.data() + off, b.size() - off, static_cast<off_t>(off));
      if (n <= 0) Fail("pwrite");
      off += static_cast<size_t>(n);
    }
  }

 private:
  int fd_ = -1;
  std::string path_;
};

const std::string& OutputPath() {
  static const fuzz::WorkDirectory dir("bundle");
  static const std::string path = dir.path() + "/out.bundle";
  return path;
}

Bytes MakeBundle(const std::vector<Bytes>& records) {
  codec::BundleWriter w(OutputPath());
  for (const auto& r : records)
    if (!w.Add(r).ok()) Fail("seed bundle add");
  if (!w.Finish().ok()) Fail("seed bundle finish");
  return ReadAll(OutputPath());
}

void WriteSeeds(const std::string& dir) {
  uint8_t seed[32] = {'b', 'u', 'n', 'd', 'l', 'e'};
  auto key = std::move(crypto::SigningKey::FromSeed(ByteView(seed, 32))).value();
  codec::Vertex g;
  g.created_at = 1'700'000'000'000;
  g.payload = codec::EncodeGenesisPayload({"counter", {}});
  if (!codec::SignVertex(g, key).ok()) Fail("seed genesis");
  std::vector<Bytes> records{codec::EncodeVertex(g)};
  const codec::Vertex* parent = &g;
  std::vector<codec::Vertex> chain(4);
  for (size_t i = 0; i < chain.size(); ++i) {
    auto& v = chain[i];
    v.type = codec::kCrdtOpType;
    v.object_id = g.id;
    v.parents = {parent->id};
    v.depth = parent->depth + 1;
    v.created_at = parent->created_at + 1;
    v.payload = codec::EncodeOpPayload({0, codec::CrdtOp{codec::CounterAdd{int64_t(i) + 1}}});
    if (!codec::SignVertex(v, key).ok()) Fail("seed op");
    records.push_back(codec::EncodeVertex(v));
    parent = &v;
  }
  WriteSeed(dir, "empty", MakeBundle({}));
  WriteSeed(dir, "one", MakeBundle({records[0]}));
  WriteSeed(dir, "chain", MakeBundle(records));
  WriteSeed(dir, "garbage_record", MakeBundle({ToBytes("not a vertex")}));
}

}  // namespace
}  // namespace topo

TOPO_FUZZ_SEEDS(topo::WriteSeeds)

namespace topo {
namespace {

// Reads `file` as a bundle; when it reads whole, writing its records back must give `file`.
void CheckBundle(ByteView file) {
  static MemFile input("bundle_in");
  input.Set(file);
  std::vector<Bytes> records;
  Status s = codec::ReadBundle(input.path(), [&](Bytes raw) {
    if (raw.empty() || raw.size() > codec::kMaxVertexBytes) Fail("record outside its bounds");
    if (auto v = codec::DecodeVertex(raw); v.ok()) (void)codec::VerifyVertexSignature(*v);
    records.push_back(std::move(raw));
    return Status::Ok();
  });
  if (!s.ok()) return;
  codec::BundleWriter w(OutputPath());
  for (const auto& r : records)
    if (!w.Add(r).ok()) Fail("BundleWriter::Add failed");
  if (!w.Finish().ok()) Fail("BundleWriter::Finish failed");
  if (w.count() != records.size()) Fail("BundleWriter count");
  Bytes again = ReadAll(OutputPath());
  if (!std::equal(again.begin(), again.end(), file.begin(), file.end()))
    Fail("a bundle that reads whole is not what BundleWriter writes for its records");
}

}  // namespace
}  // namespace topo

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace topo;
  // As it is, and with the digest the input would need appended: a mutated bundle almost
  // never keeps a matching digest, and this way the end of the file gets explored too.
  CheckBundle(ByteView(data, size));
  Bytes sealed(data, data + size);
  Append(sealed, crypto::Hash("topo.bundle.v1", ByteView(data, size)).view());
  CheckBundle(sealed);
  return 0;
}
