#include "codec/bundle.h"

#include <cerrno>
#include <cstring>

#include "util/varint.h"

namespace topo::codec {
namespace {
constexpr char kMagic[8] = {'T', 'O', 'P', 'O', 'B', 'N', 'D', 'L'};

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}
}  // namespace

BundleWriter::BundleWriter(const std::string& path) {
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) {
    status_ = Status::IOError(Errno("cannot create bundle", path));
    return;
  }
  Write(ByteView(reinterpret_cast<const uint8_t*>(kMagic), 8));
  uint8_t version = 1;
  Write(ByteView(&version, 1));
}

BundleWriter::~BundleWriter() {
  if (file_) std::fclose(file_);
}

void BundleWriter::Write(ByteView b) {
  if (!status_.ok()) return;
  hasher_.Update(b);
  if (std::fwrite(b.data(), 1, b.size(), file_) != b.size())
    status_ = Status::IOError(std::string("writing bundle: ") + std::strerror(errno));
}

Status BundleWriter::Add(ByteView vertex) {
  Bytes len;
  PutVarint(len, vertex.size());
  Write(len);
  Write(vertex);
  ++count_;
  return status_;
}

Status BundleWriter::Finish() {
  uint8_t end = 0;
  Write(ByteView(&end, 1));
  if (status_.ok()) {
    auto digest = hasher_.Final();
    if (std::fwrite(digest.data(), 1, 32, file_) != 32)
      status_ = Status::IOError(std::string("writing bundle: ") + std::strerror(errno));
  }
  if (std::fclose(file_) != 0 && status_.ok())
    status_ = Status::IOError(std::string("closing bundle: ") + std::strerror(errno));
  file_ = nullptr;
  return status_;
}

Status ReadBundle(const std::string& path, const std::function<Status(Bytes)>& fn) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::IOError(Errno("cannot open bundle", path));
  struct Closer {
    std::FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{f};
  crypto::Hasher hasher("topo.bundle.v1");
  auto read = [&](uint8_t* out, size_t n) {
    if (std::fread(out, 1, n, f) != n) return false;
    hasher.Update(ByteView(out, n));
    return true;
  };
  uint8_t header[9];
  if (!read(header, 9) || std::memcmp(header, kMagic, 8) != 0)
    return Status::Corruption(path + " is not a topo bundle");
  if (header[8] != 1)
    return Status::Corruption("bundle version " + std::to_string(header[8]) + " is not supported");
  while (true) {
    // A varint, byte by byte, with the same canonical rules as everywhere else.
    Bytes len_bytes;
    uint64_t len = 0;
    while (true) {
      uint8_t b;
      if (!read(&b, 1)) return Status::Corruption("bundle is truncated");
      len_bytes.push_back(b);
      if (!(b & 0x80)) break;
      if (len_bytes.size() >= kMaxVarintBytes) return Status::Corruption("bundle: bad length");
    }
    size_t pos = 0;
    if (GetVarint(len_bytes, pos, len) != VarintError::kNone)
      return Status::Corruption("bundle: bad record length");
    if (len == 0) break;
    if (len > kMaxVertexBytes) return Status::Corruption("bundle: record over the vertex bound");
    Bytes record(len);
    if (!read(record.data(), record.size())) return Status::Corruption("bundle is truncated");
    TOPO_RETURN_IF_ERROR(fn(std::move(record)));
  }
  auto expected = hasher.Final();
  uint8_t digest[32];
  if (std::fread(digest, 1, 32, f) != 32) return Status::Corruption("bundle is truncated");
  if (!crypto::ConstantTimeEqual(ByteView(digest, 32), expected.view()))
    return Status::Corruption("bundle digest does not match: the file is damaged");
  uint8_t extra;
  if (std::fread(&extra, 1, 1, f) != 0) return Status::Corruption("bundle has trailing bytes");
  return Status::Ok();
}

}  // namespace topo::codec
