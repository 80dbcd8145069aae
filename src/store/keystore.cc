#include "store/keystore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "codec/reader.h"
#include "util/encoding.h"
#include "util/varint.h"

namespace topo::store {
namespace {

constexpr size_t kSeedBytes = 32;
constexpr size_t kBoxSecretBytes = 32;
constexpr uint64_t kMinPwHashMem = 8192;  // libsodium's crypto_pwhash_MEMLIMIT_MIN

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now and reports the error close() gives (a late write error on some systems).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// Unlinks a temporary file unless Keep() was called.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  ~TempFileGuard() {
    if (armed_) ::unlink(path_.c_str());
  }
  void Keep() { armed_ = false; }

 private:
  std::string path_;
  bool armed_ = true;
};

// Fills a SecretBytes of a size known in advance, so secrets never pass through a growing
// (reallocating, unwiped) buffer.
class SecretWriter {
 public:
  explicit SecretWriter(size_t n) : buf_(n) {}
  void Raw(ByteView b) {
    assert(pos_ + b.size() <= buf_.size());
    if (!b.empty()) std::memcpy(buf_.data() + pos_, b.data(), b.size());
    pos_ += b.size();
  }
  void U8(uint8_t v) { Raw({&v, 1}); }
  void Varint(uint64_t v) {
    Bytes tmp;  // a length, not a secret
    PutVarint(tmp, v);
    Raw(tmp);
  }
  crypto::SecretBytes Take() {
    assert(pos_ == buf_.size());
    return std::move(buf_);
  }

 private:
  crypto::SecretBytes buf_;
  size_t pos_ = 0;
};

Status ValidatePassphrase(const std::optional<std::string>& passphrase) {
  if (passphrase && passphrase->empty())
    return Status::InvalidArgument("a passphrase must not be empty");
  return Status::Ok();
}

Status ValidatePwHash(const crypto::PwHashParams& p) {
  if (p.ops_limit < 1 || p.ops_limit > kMaxPwHashOps)
    return Status::InvalidArgument("argon2id ops limit must be 1.." +
                                   std::to_string(kMaxPwHashOps));
  if (p.mem_limit < kMinPwHashMem || p.mem_limit > kMaxPwHashMem)
    return Status::InvalidArgument("argon2id memory limit must be 8 KiB..1 GiB");
  return Status::Ok();
}

// X25519 clamping, applied once at generation so that every stored bit matters and a
// flipped bit in a plaintext key file is caught by the public key check.
void Clamp(uint8_t* s) {
  s[0] &= 248;
  s[31] &= 127;
  s[31] |= 64;
}
bool IsClamped(const uint8_t* s) { return (s[0] & 7) == 0 && (s[31] & 0xC0) == 0x40; }

// ---- Reading ----

// Reads the whole key file into locked memory (a plaintext file holds raw seeds).
Result<crypto::SecretBytes> ReadKeyFile(const std::string& path, bool check_permissions) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("key file " + path + " does not exist");
    return Status::IOError("cannot open key file " + path + ": " + ErrnoText(err));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0)
    return Status::IOError("cannot stat key file " + path + ": " + ErrnoText(errno));
  if (!S_ISREG(st.st_mode))
    return Status::InvalidArgument("key file " + path + " is not a regular file");
  if (check_permissions && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied("key file " + path + " has mode " + mode +
                                    "; it must be 0600 (chmod 600 " + path + ")");
  }
  // One byte more than the bound, to tell "at the bound" from "over it".
  crypto::SecretBytes buf(kMaxKeyFileBytes + 1);
  size_t n = 0;
  while (n < buf.size()) {
    ssize_t got = ::read(fd.get(), buf.data() + n, buf.size() - n);
    if (got < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("cannot read key file " + path + ": " + ErrnoText(errno));
    }
    if (got == 0) break;
    n += static_cast<size_t>(got);
  }
  auto contents = crypto::SecretBytes::CopyOf(buf.view().subspan(0, n));
  return contents;
}

Status Corrupted(const std::string& path, const Status& why) {
  return Status::Corruption("key file " + path + " is corrupted (" + why.message() + ")");
}

struct KeyFileHeader {
  uint8_t mode = kKeyFilePlaintext;
  FixedBytes<crypto::kPwSaltBytes> salt;
  crypto::PwHashParams pwhash{};
  crypto::Nonce24 nonce;
  size_t length = 0;  // bytes from the magic through the mode byte (mode 0) or nonce (mode 1)
};

Result<KeyFileHeader> ParseHeader(const std::string& path, ByteView file) {
  if (file.size() < kKeyFileMagic.size() ||
      std::memcmp(file.data(), kKeyFileMagic.data(), kKeyFileMagic.size()) != 0)
    return Status::Corruption("key file " + path + " is not a topo key file");
  if (file.size() > kMaxKeyFileBytes)
    return Corrupted(path, Status::Corruption("keyfile: over the size bound of " +
                                              std::to_string(kMaxKeyFileBytes) + " bytes"));
  codec::Reader r(file);
  ByteView magic;
  KeyFileHeader h;
  Status s = r.Raw("keyfile.magic", kKeyFileMagic.size(), magic);
  if (s.ok()) s = r.U8("keyfile.mode", h.mode);
  if (!s.ok()) return Corrupted(path, s);
  if (h.mode == kKeyFilePlaintext) {
    h.length = r.pos();
    return h;
  }
  if (h.mode != kKeyFileEncrypted)
    return Status::Corruption("key file " + path + " has unknown mode " + std::to_string(h.mode) +
                              " (written by a newer topo?)");
  uint64_t ops = 0, mem = 0;
  s = r.Fixed("keyfile.salt", h.salt);
  if (s.ok()) s = r.VarintMax("keyfile.ops_limit", kMaxPwHashOps, ops);
  if (s.ok() && ops < 1) s = Status::Corruption("keyfile.ops_limit: zero");
  if (s.ok()) s = r.VarintMax("keyfile.mem_limit", kMaxPwHashMem, mem);
  if (s.ok() && mem < kMinPwHashMem) s = Status::Corruption("keyfile.mem_limit: under 8 KiB");
  if (s.ok()) s = r.Fixed("keyfile.nonce", h.nonce);
  if (s.ok() && r.remaining() < crypto::kAeadTagBytes)
    s = Status::Corruption("keyfile.ciphertext: truncated");
  if (!s.ok()) return Corrupted(path, s);
  h.pwhash.ops_limit = ops;
  h.pwhash.mem_limit = static_cast<size_t>(mem);
  h.length = r.pos();
  return h;
}

// Decodes and cross-checks the secret section. Errors name the field, not the file.
Result<DeviceIdentity> DecodeSecretSection(ByteView section) {
  codec::Reader r(section);
  uint8_t version;
  TOPO_RETURN_IF_ERROR(r.U8("keyfile.section_version", version));
  if (version != kKeySectionVersion)
    return Status::Corruption("keyfile.section_version: unsupported version " +
                              std::to_string(version));
  ByteView device_seed, box_secret, user_seed, cert_bytes;
  std::string name;
  TOPO_RETURN_IF_ERROR(r.Raw("keyfile.device_seed", kSeedBytes, device_seed));
  TOPO_RETURN_IF_ERROR(r.Raw("keyfile.device_box_secret", kBoxSecretBytes, box_secret));
  TOPO_RETURN_IF_ERROR(r.Raw("keyfile.user_seed", kSeedBytes, user_seed));
  TOPO_RETURN_IF_ERROR(r.LenString("keyfile.device_name", codec::kMaxDeviceNameBytes, name));
  if (name.empty()) return Status::Corruption("keyfile.device_name: empty");
  TOPO_RETURN_IF_ERROR(r.LenBytes("keyfile.device_cert", codec::kMaxDeviceCertBytes, cert_bytes));
  TOPO_RETURN_IF_ERROR(r.ExpectEnd("keyfile"));
  if (!IsClamped(box_secret.data()))
    return Status::Corruption("keyfile.device_box_secret: not clamped");

  TOPO_ASSIGN_OR_RETURN(auto cert, codec::DecodeDeviceCertificate(cert_bytes));
  TOPO_ASSIGN_OR_RETURN(auto device, crypto::SigningKey::FromSeed(device_seed));
  TOPO_ASSIGN_OR_RETURN(auto box, crypto::BoxKey::FromSecret(box_secret));
  TOPO_ASSIGN_OR_RETURN(auto user, crypto::SigningKey::FromSeed(user_seed));
  if (cert.user_key != user.public_key() || cert.device_key != device.public_key() ||
      cert.device_box_key != box.public_key() || cert.device_name != name)
    return Status::Corruption("keyfile.device_cert: does not match the keys and name it holds");
  Status verified = codec::VerifyDeviceCertificate(cert);
  if (!verified.ok()) return Status::Corruption("keyfile.device_cert: " + verified.message());
  return DeviceIdentity{std::move(device), std::move(box), std::move(user), std::move(name),
                        std::move(cert)};
}

// ---- Writing ----

crypto::SecretBytes EncodeSecretSection(const DeviceIdentity& id) {
  Bytes cert = codec::EncodeDeviceCertificate(id.cert);
  size_t size = 1 + kSeedBytes + kBoxSecretBytes + kSeedBytes +
                VarintLength(id.device_name.size()) + id.device_name.size() +
                VarintLength(cert.size()) + cert.size();
  SecretWriter w(size);
  w.U8(kKeySectionVersion);
  w.Raw(id.device.Seed().view());
  w.Raw(id.box.secret().view());
  w.Raw(id.user.Seed().view());
  w.Varint(id.device_name.size());
  w.Raw(AsBytes(id.device_name));
  w.Varint(cert.size());
  w.Raw(cert);
  return w.Take();
}

Status WriteAll(int fd, ByteView b) {
  while (!b.empty()) {
    ssize_t n = ::write(fd, b.data(), b.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(ErrnoText(errno));
    }
    b = b.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Moves tmp to path only if path does not exist: AlreadyExists otherwise.
Status RenameNoReplace(const std::string& tmp, const std::string& path) {
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0)
    return Status::Ok();
  int err = errno;
  if (err == EINVAL || err == ENOSYS) {
    // The file system does not support RENAME_NOREPLACE: link() also refuses to replace.
    if (::link(tmp.c_str(), path.c_str()) == 0) {
      ::unlink(tmp.c_str());
      return Status::Ok();
    }
    err = errno;
  }
  if (err == EEXIST) return Status::AlreadyExists("key file " + path + " already exists");
  return Status::IOError("cannot create key file " + path + ": " + ErrnoText(err));
}

Status SyncDirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0)
    return Status::IOError("cannot sync directory " + dir + ": " + ErrnoText(errno));
  return Status::Ok();
}

// Writes head || body to path atomically with mode 0600. With replace false, fails with
// AlreadyExists (and leaves the existing file alone) if path exists.
Status WriteFileAtomically(const std::string& path, ByteView head, ByteView body, bool replace) {
  std::string tmp = path + ".tmp-" + HexEncode(crypto::RandomFixed<8>().view());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid())
    return Status::IOError("cannot create key file " + path + ": " + ErrnoText(errno));
  TempFileGuard guard(tmp);
  // The umask can only narrow 0600; make it exact so the file never needs a chmod.
  if (::fchmod(fd.get(), 0600) != 0)
    return Status::IOError("cannot chmod " + tmp + ": " + ErrnoText(errno));
  Status s = WriteAll(fd.get(), head);
  if (s.ok()) s = WriteAll(fd.get(), body);
  if (!s.ok()) return Status::IOError("cannot write " + tmp + ": " + s.message());
  if (::fsync(fd.get()) != 0)
    return Status::IOError("cannot sync " + tmp + ": " + ErrnoText(errno));
  if (fd.Close() != 0) return Status::IOError("cannot close " + tmp + ": " + ErrnoText(errno));
  if (replace) {
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      return Status::IOError("cannot replace key file " + path + ": " + ErrnoText(errno));
  } else {
    TOPO_RETURN_IF_ERROR(RenameNoReplace(tmp, path));
  }
  guard.Keep();
  return SyncDirectoryOf(path);
}

Status WriteIdentity(const std::string& path, const DeviceIdentity& id,
                     const std::optional<std::string>& passphrase,
                     const crypto::PwHashParams& pwhash, bool replace) {
  crypto::SecretBytes section = EncodeSecretSection(id);
  codec::Writer header;
  header.Raw(AsBytes(kKeyFileMagic));
  if (!passphrase) {
    header.U8(kKeyFilePlaintext);
    return WriteFileAtomically(path, header.bytes(), section.view(), replace);
  }
  header.U8(kKeyFileEncrypted);
  auto salt = crypto::RandomFixed<crypto::kPwSaltBytes>();
  auto nonce = crypto::RandomFixed<24>();
  header.Fixed(salt);
  header.Varint(pwhash.ops_limit);
  header.Varint(pwhash.mem_limit);
  header.Fixed(nonce);
  TOPO_ASSIGN_OR_RETURN(auto key,
                        crypto::DeriveKeyFromPassphrase(*passphrase, salt.view(), pwhash));
  TOPO_ASSIGN_OR_RETURN(auto ciphertext,
                        crypto::AeadEncrypt(key, nonce, header.bytes(), section.view()));
  return WriteFileAtomically(path, header.bytes(), ciphertext, replace);
}

Result<DeviceIdentity> CreateIdentity(const KeystoreOptions& options) {
  const Clock& clock = options.clock ? *options.clock : SystemClock::Instance();
  auto device = crypto::SigningKey::Generate();
  auto user = crypto::SigningKey::Generate();
  auto box_secret = crypto::SecretBytes::Random(kBoxSecretBytes);
  Clamp(box_secret.data());
  TOPO_ASSIGN_OR_RETURN(auto box, crypto::BoxKey::FromSecret(box_secret.view()));
  TOPO_ASSIGN_OR_RETURN(auto cert,
                        codec::MakeDeviceCertificate(user, device.public_key(), box.public_key(),
                                                     options.device_name, clock.NowMs()));
  return DeviceIdentity{std::move(device), std::move(box), std::move(user), options.device_name,
                        std::move(cert)};
}

}  // namespace

std::string KeyFilePath(const std::string& db_path) { return db_path + ".keys"; }

Result<DeviceIdentity> LoadIdentity(const std::string& key_path,
                                    const std::optional<std::string>& passphrase) {
  TOPO_RETURN_IF_ERROR(ValidatePassphrase(passphrase));
  TOPO_ASSIGN_OR_RETURN(auto file, ReadKeyFile(key_path, /*check_permissions=*/true));
  TOPO_ASSIGN_OR_RETURN(auto header, ParseHeader(key_path, file.view()));
  ByteView rest = file.view().subspan(header.length);
  if (header.mode == kKeyFilePlaintext) {
    if (passphrase)
      return Status::InvalidArgument("key file " + key_path +
                                     " is not encrypted, but a passphrase was given");
    auto id = DecodeSecretSection(rest);
    if (!id.ok()) return Corrupted(key_path, id.status());
    return id;
  }
  if (!passphrase)
    return Status::InvalidArgument("key file " + key_path +
                                   " is encrypted and no passphrase was given");
  auto key = crypto::DeriveKeyFromPassphrase(*passphrase, header.salt.view(), header.pwhash);
  if (!key.ok()) return Corrupted(key_path, key.status());
  auto section =
      crypto::AeadDecrypt(*key, header.nonce, file.view().subspan(0, header.length), rest);
  if (!section.ok())
    return Status::PermissionDenied("wrong passphrase or corrupted key file " + key_path);
  auto id = DecodeSecretSection(section->view());
  if (!id.ok()) return Corrupted(key_path, id.status());
  return id;
}

Result<DeviceIdentity> LoadOrCreateIdentity(const std::string& key_path,
                                            const KeystoreOptions& options) {
  TOPO_RETURN_IF_ERROR(ValidatePassphrase(options.passphrase));
  auto loaded = LoadIdentity(key_path, options.passphrase);
  if (loaded.ok() || loaded.status().code() != Code::kNotFound) return loaded;

  if (options.passphrase) TOPO_RETURN_IF_ERROR(ValidatePwHash(options.pwhash));
  TOPO_ASSIGN_OR_RETURN(auto id, CreateIdentity(options));
  Status s = WriteIdentity(key_path, id, options.passphrase, options.pwhash, /*replace=*/false);
  // Another process created the file first: theirs is the identity.
  if (s.code() == Code::kAlreadyExists) return LoadIdentity(key_path, options.passphrase);
  if (!s.ok()) return s;
  return id;
}

Status ChangePassphrase(const std::string& key_path,
                        const std::optional<std::string>& old_passphrase,
                        const std::optional<std::string>& new_passphrase,
                        const crypto::PwHashParams& pwhash) {
  TOPO_RETURN_IF_ERROR(ValidatePassphrase(new_passphrase));
  if (new_passphrase) TOPO_RETURN_IF_ERROR(ValidatePwHash(pwhash));
  TOPO_ASSIGN_OR_RETURN(auto id, LoadIdentity(key_path, old_passphrase));
  return WriteIdentity(key_path, id, new_passphrase, pwhash, /*replace=*/true);
}

Status AdoptUser(const std::string& key_path, const std::optional<std::string>& passphrase,
                 const crypto::SigningKey& user, const codec::DeviceCertificate& cert,
                 const crypto::PwHashParams& pwhash) {
  TOPO_ASSIGN_OR_RETURN(auto id, LoadIdentity(key_path, passphrase));
  if (cert.device_key != id.device.public_key() || cert.device_box_key != id.box.public_key())
    return Status::InvalidArgument("the certificate is not this device's");
  if (cert.user_key != user.public_key())
    return Status::InvalidArgument("the certificate is not signed by the user being adopted");
  if (Status s = codec::VerifyDeviceCertificate(cert); !s.ok())
    return Status::InvalidArgument("the certificate does not verify: " + s.message());
  if (passphrase) TOPO_RETURN_IF_ERROR(ValidatePwHash(pwhash));
  id.user = user.Clone();
  id.device_name = cert.device_name;
  id.cert = cert;
  return WriteIdentity(key_path, id, passphrase, pwhash, /*replace=*/true);
}

Result<bool> IsEncrypted(const std::string& key_path) {
  TOPO_ASSIGN_OR_RETURN(auto file, ReadKeyFile(key_path, /*check_permissions=*/false));
  TOPO_ASSIGN_OR_RETURN(auto header, ParseHeader(key_path, file.view()));
  return header.mode == kKeyFileEncrypted;
}

}  // namespace topo::store
