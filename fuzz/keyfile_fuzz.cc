// Fuzzes store::LoadIdentity on a key file (mode 0600) holding the input, without and with a
// passphrase. An identity that loads must be self-consistent, and rewriting it in plaintext
// (ChangePassphrase) must give back a file that loads to the same identity; for a plaintext
// input, exactly the input.
//
// The keystore bounds argon2id at 32 passes and 1 GiB, which keeps a real load finite but
// would cut the fuzzer to a few executions a minute: an encrypted input whose header asks
// for more than kFuzzMaxOps passes or kFuzzMaxMem bytes is loaded without a passphrase only.
//
// TOPO_FUZZ_WRITE_SEEDS=<dir> writes a plaintext and an encrypted key file (passphrase
// kPassphrase, the cheapest argon2id parameters) to <dir> and exits.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>

#include "codec/reader.h"
#include "fuzz_support.h"
#include "store/keystore.h"

const char topo::fuzz::kTargetName[] = "keyfile_fuzz";

namespace topo {
namespace {

constexpr const char* kPassphrase = "fuzz passphrase";
constexpr uint64_t kFuzzMaxOps = 2;
constexpr uint64_t kFuzzMaxMem = 64 * 1024;

using fuzz::Fail;
using fuzz::ReadAll;
using fuzz::WriteSeed;

void WriteFile0600(const std::string& path, ByteView b) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Fail("cannot create the key file");
  if (::fchmod(fd, 0600) != 0) Fail("fchmod");
  size_t off = 0;
  while (off < b.size()) {
    ssize_t n = ::write(fd, b.data() + off, b.size() - off);
    if (n <= 0) Fail("write");
    off += static_cast<size_t>(n);
  }
  ::close(fd);
}

// A private directory for the key file, removed at exit (on tmpfs when there is one: the
// keystore fsyncs what it writes).
const std::string& WorkDir() {
  static const fuzz::WorkDirectory dir("keyfile");
  return dir.path();
}

void WriteSeeds(const std::string& dir) {
  ManualClock clock;
  store::KeystoreOptions plain;
  plain.device_name = "fuzz laptop";
  plain.clock = &clock;
  auto a = store::LoadOrCreateIdentity(WorkDir() + "/plain.keys", plain);
  if (!a.ok()) Fail("seed plaintext: " + a.status().ToString());
  store::KeystoreOptions sealed = plain;
  sealed.passphrase = kPassphrase;
  sealed.pwhash = {1, 8192};
  auto b = store::LoadOrCreateIdentity(WorkDir() + "/sealed.keys", sealed);
  if (!b.ok()) Fail("seed encrypted: " + b.status().ToString());
  for (const char* name : {"plain.keys", "sealed.keys"})
    WriteSeed(dir, name, ReadAll(WorkDir() + "/" + name));
}

// Whether the header is encrypted and asks for argon2id work over the fuzzing budget.
bool TooCostly(ByteView in) {
  codec::Reader r(in);
  ByteView magic, salt;
  uint8_t mode = 0;
  uint64_t ops = 0, mem = 0;
  if (!r.Raw("magic", 8, magic).ok() || !r.U8("mode", mode).ok() ||
      mode != store::kKeyFileEncrypted || !r.Raw("salt", 16, salt).ok() ||
      !r.Varint("ops", ops).ok() || !r.Varint("mem", mem).ok())
    return false;  // the keystore refuses it before deriving anything
  return ops > kFuzzMaxOps || mem > kFuzzMaxMem;
}

bool SameIdentity(const store::DeviceIdentity& a, const store::DeviceIdentity& b) {
  return a.device.public_key() == b.device.public_key() &&
         a.box.public_key() == b.box.public_key() && a.user.public_key() == b.user.public_key() &&
         a.device_name == b.device_name && a.cert == b.cert;
}

void CheckLoaded(const std::string& path, ByteView in, const store::DeviceIdentity& id,
                 const std::optional<std::string>& passphrase) {
  if (id.cert.device_key != id.device.public_key() || id.cert.user_key != id.user.public_key() ||
      id.cert.device_box_key != id.box.public_key() || id.cert.device_name != id.device_name)
    Fail("a loaded identity does not match its certificate");
  if (!codec::VerifyDeviceCertificate(id.cert).ok())
    Fail("a loaded identity's certificate does not verify");
  auto encrypted = store::IsEncrypted(path);
  if (!encrypted.ok() || *encrypted != passphrase.has_value())
    Fail("IsEncrypted disagrees with LoadIdentity");
  Status s = store::ChangePassphrase(path, passphrase, std::nullopt);
  if (!s.ok()) Fail("ChangePassphrase to plaintext failed: " + s.ToString());
  if (!passphrase) {
    Bytes again = ReadAll(path);
    if (!std::equal(again.begin(), again.end(), in.begin(), in.end()))
      Fail("a plaintext key file that loads is not rewritten byte for byte");
  }
  auto reloaded = store::LoadIdentity(path, std::nullopt);
  if (!reloaded.ok() || !SameIdentity(*reloaded, id))
    Fail("the rewritten key file does not load to the same identity");
}

}  // namespace
}  // namespace topo

TOPO_FUZZ_SEEDS(topo::WriteSeeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace topo;
  ByteView in(data, size);
  const std::string path = WorkDir() + "/fuzz.keys";
  std::optional<std::string> passphrases[] = {std::nullopt, std::string(kPassphrase)};
  for (const auto& passphrase : passphrases) {
    if (passphrase && TooCostly(in)) continue;
    WriteFile0600(path, in);
    auto id = store::LoadIdentity(path, passphrase);
    if (id.ok()) CheckLoaded(path, in, *id, passphrase);
  }
  return 0;
}
