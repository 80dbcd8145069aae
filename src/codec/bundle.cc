#include "codec/bundle.h"

#include <sys/stat.h>

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

BundleWriter::BundleWriter(const std::string& path) : path_(path) {
  // A regular file (or a new one) is written beside and renamed into place; anything else
  // (a device, a pipe) is written directly, since it cannot be replaced.
  struct stat st;
  bool special = ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
  if (!special) temp_path_ = path + ".partial";
  file_ = std::fopen(special ? path.c_str() : temp_path_.c_str(), "wb");
  if (!file_) {
    status_ = Status::IOError(Errno("cannot create bundle", path));
    return;
  }
  Write(ByteView(reinterpret_cast<const uint8_t*>(kMagic), 8));
  uint8_t version = 1;
  Write(ByteView(&version, 1));
}

BundleWriter::~BundleWriter() {
  if (file_) {  // never finished: leave no partial file behind
    std::fclose(file_);
    if (!temp_path_.empty()) std::remove(temp_path_.c_str());
  }
}

void BundleWriter::Write(ByteView b) {
  if (!status_.ok()) return;
  hasher_.Update(b);
  if (std::fwrite(b.data(), 1, b.size(), file_) != b.size())
    status_ = Status::IOError(Errno("writing bundle", path_));
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
      status_ = Status::IOError(Errno("writing bundle", path_));
  }
  if (status_.ok() && std::fflush(file_) != 0)
    status_ = Status::IOError(Errno("writing bundle", path_));
  if (std::fclose(file_) != 0 && status_.ok())
    status_ = Status::IOError(Errno("writing bundle", path_));
  file_ = nullptr;
  if (temp_path_.empty()) return status_;
  if (status_.ok() && std::rename(temp_path_.c_str(), path_.c_str()) != 0)
    status_ = Status::IOError(Errno("cannot write bundle", path_));
  if (!status_.ok()) std::remove(temp_path_.c_str());
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
