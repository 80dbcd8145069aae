#include "node/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "codec/reader.h"
#include "util/encoding.h"

namespace topo::node {

namespace {

// Commit the chunks of an added file this often, so a transaction stays a bounded size.
constexpr uint64_t kAddCommitBytes = uint64_t{16} << 20;

std::string Errno() { return std::strerror(errno); }

// Closes the descriptor (and removes the temporary file it names, unless kept).
class FileGuard {
 public:
  FileGuard(int fd, std::string unlink_path = {}) : fd_(fd), unlink_(std::move(unlink_path)) {}
  ~FileGuard() {
    if (fd_ >= 0) ::close(fd_);
    if (!unlink_.empty()) ::unlink(unlink_.c_str());
  }
  FileGuard(const FileGuard&) = delete;
  FileGuard& operator=(const FileGuard&) = delete;
  int fd() const { return fd_; }
  // Closes now, reporting the error close may carry (a delayed write failure).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }
  void Keep() { unlink_.clear(); }

 private:
  int fd_;
  std::string unlink_;
};

// Reads until `buf` is full or the file ends; the bytes read, or -1 with errno.
ssize_t ReadFull(int fd, uint8_t* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(got);
}

bool WriteAll(int fd, ByteView b) {
  size_t done = 0;
  while (done < b.size()) {
    ssize_t w = ::write(fd, b.data() + done, b.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return false;
    done += static_cast<size_t>(w);
  }
  return true;
}

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// The longest prefix of `s` of at most `max` bytes that ends on a UTF-8 boundary.
std::string TruncateUtf8(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

}  // namespace

Result<AddedFile> AddFile(store::FileStore& store, const std::string& path, std::string name,
                          const std::string& mime, uint64_t now_ms) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound("no file at " + path);
    if (errno == EACCES) return Status::PermissionDenied("cannot read " + path + ": " + Errno());
    return Status::IOError("cannot open " + path + ": " + Errno());
  }
  FileGuard file(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::IOError("cannot read " + path + ": " + Errno());
  if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(path + " is a directory, not a file");
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + " is not a regular file");
  if (mime.size() > codec::kMaxFileMimeBytes || !codec::IsValidUtf8(mime))
    return Status::InvalidArgument("a MIME type is at most " +
                                   std::to_string(codec::kMaxFileMimeBytes) + " bytes of UTF-8");
  if (name.empty()) name = SplitPath(path).second;
  name = TruncateUtf8(std::move(name), codec::kMaxFileNameBytes);
  if (!codec::IsValidUtf8(name)) name.clear();
  TOPO_ASSIGN_OR_RETURN(uint8_t shift, codec::ChooseChunkShift(static_cast<uint64_t>(st.st_size)));

  AddedFile added;
  added.ref.key = crypto::SecretBytes::Random(crypto::kAeadKeyBytes);
  codec::FileManifest& m = added.manifest;
  m.chunk_shift = shift;
  m.name = name;
  m.mime = mime;
  crypto::Hasher content(codec::kContentDomain);
  Bytes buf(m.chunk_size());
  store::Database& db = store.db();
  std::optional<store::Transaction> txn;
  uint64_t uncommitted = 0;
  for (uint64_t index = 0;; ++index) {
    ssize_t n = ReadFull(fd, buf.data(), buf.size());
    if (n < 0) return Status::IOError("reading " + path + ": " + Errno());
    if (n == 0) break;
    if (m.chunks.size() >= codec::kMaxFileChunks)
      return Status::InvalidArgument(path + " grew past the limit of " +
                                     std::to_string(codec::kMaxFileChunks) + " chunks");
    ByteView plain(buf.data(), static_cast<size_t>(n));
    content.Update(plain);
    TOPO_ASSIGN_OR_RETURN(
        Bytes sealed, codec::SealChunk(added.ref.key, codec::ChunkKind::kContent, index, plain));
    codec::ChunkAddress address = codec::AddressOfChunk(sealed);
    if (!txn && !db.in_transaction()) {
      TOPO_ASSIGN_OR_RETURN(store::Transaction t, store::Transaction::Begin(db));
      txn.emplace(std::move(t));
    }
    TOPO_RETURN_IF_ERROR(store.PutChunk(address, sealed));
    m.chunks.push_back(address);
    m.size += static_cast<uint64_t>(n);
    uncommitted += sealed.size();
    if (txn && uncommitted >= kAddCommitBytes) {
      TOPO_RETURN_IF_ERROR(txn->Commit());
      txn.reset();
      uncommitted = 0;
    }
    if (static_cast<size_t>(n) < buf.size()) break;
  }
  // The file may have changed size while it was read: the manifest describes what was read.
  if (codec::ChunkCount(m.size, m.chunk_shift) != m.chunks.size())
    return Status::Internal("chunk count mismatch reading " + path);
  m.content_hash = content.Final();
  TOPO_ASSIGN_OR_RETURN(Bytes sealed_manifest,
                        codec::SealChunk(added.ref.key, codec::ChunkKind::kManifest, 0,
                                         codec::EncodeFileManifest(m)));
  added.ref.manifest = codec::AddressOfChunk(sealed_manifest);
  if (!txn && !db.in_transaction()) {
    TOPO_ASSIGN_OR_RETURN(store::Transaction t, store::Transaction::Begin(db));
    txn.emplace(std::move(t));
  }
  TOPO_RETURN_IF_ERROR(store.PutChunk(added.ref.manifest, sealed_manifest));
  store::StoredFile f;
  f.manifest = added.ref.manifest;
  f.key = Bytes(added.ref.key.view().begin(), added.ref.key.view().end());
  f.name = m.name;
  f.mime = m.mime;
  f.size = m.size;
  f.chunks = m.chunks.size();
  f.origin = "added";
  f.added_at_ms = now_ms;
  f.path = path;
  TOPO_RETURN_IF_ERROR(store.Remember(f));
  if (txn) TOPO_RETURN_IF_ERROR(txn->Commit());
  return added;
}

Result<codec::FileManifest> OpenManifest(store::FileStore& store, const codec::FileRef& ref) {
  TOPO_ASSIGN_OR_RETURN(std::optional<Bytes> sealed, store.GetChunk(ref.manifest));
  if (!sealed)
    return Status::NotFound("the manifest of file " + HexEncodeShort(ref.manifest) +
                            " is not held here");
  auto plain = codec::OpenChunk(ref.key, codec::ChunkKind::kManifest, 0, *sealed);
  if (!plain.ok())
    return Status::Rejected("the reference's key does not open the manifest of file " +
                            HexEncodeShort(ref.manifest) + ": a damaged or altered reference");
  return codec::DecodeFileManifest(*plain);
}

Status CheckDestination(const std::string& path, bool replace) {
  if (path.empty() || path[0] != '/')
    return Status::InvalidArgument("the destination must be an absolute path, not \"" + path +
                                   "\"");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return Status::InvalidArgument(path + " is a directory: name the file to write");
    if (!replace) return Status::AlreadyExists(path + " already exists (--force replaces it)");
  }
  const std::string dir = SplitPath(path).first;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound("no directory " + dir);
    return Status::IOError("cannot use " + dir + ": " + Errno());
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(dir + " is not a directory");
  return Status::Ok();
}

Status WriteFile(store::FileStore& store, const codec::FileRef& ref,
                 const codec::FileManifest& manifest, const std::string& path, bool replace) {
  TOPO_RETURN_IF_ERROR(CheckDestination(path, replace));
  const auto [dir, base] = SplitPath(path);
  std::string temp = dir + (dir == "/" ? "." : "/.") + base + ".topo-XXXXXX";
  int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    if (errno == EACCES || errno == EROFS)
      return Status::PermissionDenied("cannot write in " + dir + ": " + Errno());
    return Status::IOError("cannot create a file in " + dir + ": " + Errno());
  }
  FileGuard file(fd, temp);
  (void)::fchmod(fd, 0644);
  crypto::Hasher content(codec::kContentDomain);
  for (uint64_t i = 0; i < manifest.chunks.size(); ++i) {
    TOPO_ASSIGN_OR_RETURN(std::optional<Bytes> sealed, store.GetChunk(manifest.chunks[i]));
    if (!sealed)
      return Status::NotFound("chunk " + std::to_string(i) + " (" +
                              HexEncode(manifest.chunks[i].view()) + ") is not held here");
    auto plain = codec::OpenChunk(ref.key, codec::ChunkKind::kContent, i, *sealed);
    if (!plain.ok() || plain->size() != manifest.ChunkLength(i))
      return Status::Corruption("chunk " + std::to_string(i) +
                                " does not open with the reference's key");
    content.Update(*plain);
    if (!WriteAll(fd, *plain)) return Status::IOError("writing " + path + ": " + Errno());
  }
  if (content.Final() != manifest.content_hash)
    return Status::Corruption("the saved bytes do not match the file's hash: nothing written");
  if (::fsync(fd) != 0) return Status::IOError("writing " + path + ": " + Errno());
  if (file.Close() != 0) return Status::IOError("writing " + path + ": " + Errno());
  int rc = replace ? ::rename(temp.c_str(), path.c_str())
                   : ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && !replace && (errno == EINVAL || errno == ENOSYS)) {
    // A file system without RENAME_NOREPLACE: link refuses an existing name just the same.
    rc = ::link(temp.c_str(), path.c_str());
  }
  if (rc != 0) {
    if (errno == EEXIST)
      return Status::AlreadyExists(path + " already exists (--force replaces it)");
    return Status::IOError("cannot write " + path + ": " + Errno());
  }
  if (!replace) {
    // After link() the temporary name is still there; after rename it is gone (ENOENT).
    ::unlink(temp.c_str());
  }
  file.Keep();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace topo::node
