#include "store/keystore.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "codec/reader.h"
#include "testing/temp_dir.h"
#include "util/clock.h"

namespace topo::store {
namespace {

namespace fs = std::filesystem;

// argon2id at its cheapest sensible setting, so tests do not spend seconds hashing.
const crypto::PwHashParams kFastPwHash{1, 8u << 20};

using ::topo::testing::TempDir;

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, ByteView b, mode_t mode = 0600) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    ASSERT_TRUE(out.good());
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

mode_t FileMode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

KeystoreOptions Options(std::optional<std::string> passphrase = std::nullopt,
                        std::string name = "laptop") {
  KeystoreOptions o;
  o.passphrase = std::move(passphrase);
  o.device_name = std::move(name);
  o.pwhash = kFastPwHash;
  return o;
}

// Header of an encrypted file with kFastPwHash: magic, mode, salt, ops (1 byte), mem (4), nonce.
constexpr size_t kFastEncryptedHeader = 8 + 1 + 16 + 1 + 4 + 24;

// Every encrypted-file position costs an argon2id run, so the fault tests try every byte of
// the header and the tag but only every 7th byte of the ciphertext body (where the AEAD
// catches any change alike).
bool WorthTrying(bool encrypted, size_t i, size_t file_size) {
  return !encrypted || i < kFastEncryptedHeader + crypto::kAeadTagBytes ||
         i + crypto::kAeadTagBytes >= file_size || i % 7 == 0;
}

void ExpectSameIdentity(const DeviceIdentity& a, const DeviceIdentity& b) {
  EXPECT_EQ(a.device.public_key(), b.device.public_key());
  EXPECT_EQ(a.box.public_key(), b.box.public_key());
  EXPECT_EQ(a.user.public_key(), b.user.public_key());
  EXPECT_EQ(a.device_name, b.device_name);
  EXPECT_EQ(a.cert, b.cert);
  EXPECT_TRUE(crypto::ConstantTimeEqual(a.device.Seed().view(), b.device.Seed().view()));
  EXPECT_TRUE(crypto::ConstantTimeEqual(a.box.secret().view(), b.box.secret().view()));
  EXPECT_TRUE(crypto::ConstantTimeEqual(a.user.Seed().view(), b.user.Seed().view()));
}

void ExpectError(const Status& s, Code code, std::string_view text) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(text), std::string::npos) << s.ToString();
}

TEST(Keystore, KeyFileSitsBesideTheDatabase) {
  EXPECT_EQ(KeyFilePath("/var/lib/topo/team.db"), "/var/lib/topo/team.db.keys");
}

TEST(Keystore, CreateThenLoadYieldsTheSameIdentity) {
  TempDir dir;
  std::string path = dir.File("node.db.keys");
  ManualClock clock(1'700'000'123'456);
  auto opts = Options();
  opts.clock = &clock;
  auto created = LoadOrCreateIdentity(path, opts);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(created->device_name, "laptop");
  EXPECT_EQ(created->cert.issued_at, 1'700'000'123'456u);
  EXPECT_EQ(created->cert.user_key, created->user.public_key());
  EXPECT_EQ(created->cert.device_key, created->device.public_key());
  EXPECT_EQ(created->cert.device_box_key, created->box.public_key());
  EXPECT_TRUE(codec::VerifyDeviceCertificate(created->cert).ok());

  // A later start loads the same file; a different name in the options changes nothing.
  clock.Advance(60'000);
  auto loaded = LoadOrCreateIdentity(path, Options(std::nullopt, "other name"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameIdentity(*created, *loaded);
  EXPECT_EQ(loaded->cert.issued_at, 1'700'000'123'456u);

  auto again = LoadIdentity(path, std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ExpectSameIdentity(*created, *again);
}

TEST(Keystore, NewFileIsMode0600EvenUnderAPermissiveUmask) {
  TempDir dir;
  std::string path = dir.File("k");
  mode_t old = ::umask(0);
  auto id = LoadOrCreateIdentity(path, Options());
  ::umask(old);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(FileMode(path), 0600u);
  // Nothing but the key file is left in the directory (no temporary files).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(Keystore, PlaintextLayoutIsAsDocumented) {
  TempDir dir;
  std::string path = dir.File("k");
  auto id = LoadOrCreateIdentity(path, Options(std::nullopt, "pc"));
  ASSERT_TRUE(id.ok());
  Bytes f = ReadFile(path);
  Bytes cert = codec::EncodeDeviceCertificate(id->cert);
  // A certificate is 164..234 bytes, so its length always takes a two-byte varint.
  ASSERT_EQ(f.size(), 8 + 1 + 1 + 96 + 1 + 2 + 2 + cert.size());
  EXPECT_EQ(AsChars(ByteView(f).subspan(0, 8)), "TOPOKEY1");
  EXPECT_EQ(f[8], kKeyFilePlaintext);
  EXPECT_EQ(f[9], kKeySectionVersion);
  EXPECT_TRUE(crypto::ConstantTimeEqual(ByteView(f).subspan(10, 32), id->device.Seed().view()));
  EXPECT_TRUE(crypto::ConstantTimeEqual(ByteView(f).subspan(42, 32), id->box.secret().view()));
  EXPECT_TRUE(crypto::ConstantTimeEqual(ByteView(f).subspan(74, 32), id->user.Seed().view()));
  EXPECT_EQ(f[106], 2);
  EXPECT_EQ(AsChars(ByteView(f).subspan(107, 2)), "pc");
  EXPECT_EQ(f[109], 0x80 | (cert.size() & 0x7f));
  EXPECT_EQ(f[110], cert.size() >> 7);
  EXPECT_EQ(Bytes(f.begin() + 111, f.end()), cert);
  auto enc = IsEncrypted(path);
  ASSERT_TRUE(enc.ok());
  EXPECT_FALSE(*enc);
}

TEST(Keystore, RefusesACertificateThatDoesNotMatchItsKeys) {
  TempDir dir;
  std::string a = dir.File("a"), b = dir.File("b");
  auto ida = LoadOrCreateIdentity(a, Options(std::nullopt, "pc"));
  auto idb = LoadOrCreateIdentity(b, Options(std::nullopt, "pc"));
  ASSERT_TRUE(ida.ok() && idb.ok());
  // Same layout and lengths; a's keys with b's (valid, signed) certificate.
  Bytes fa = ReadFile(a), fb = ReadFile(b);
  ASSERT_EQ(fa.size(), fb.size());
  Bytes mixed(fa.begin(), fa.begin() + 111);
  mixed.insert(mixed.end(), fb.begin() + 111, fb.end());
  WriteFile(a, mixed);
  ExpectError(LoadIdentity(a, std::nullopt).status(), Code::kCorruption,
              "does not match the keys and name it holds");
}

TEST(Keystore, EncryptedRoundTrip) {
  TempDir dir;
  std::string path = dir.File("k");
  auto created = LoadOrCreateIdentity(path, Options("correct horse"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(FileMode(path), 0600u);
  Bytes f = ReadFile(path);
  EXPECT_EQ(AsChars(ByteView(f).subspan(0, 8)), "TOPOKEY1");
  EXPECT_EQ(f[8], kKeyFileEncrypted);
  // The argon2id parameters are recorded after the salt: ops 1, mem 8 MiB.
  EXPECT_EQ(f[9 + 16], 1);
  // No secret appears in the file in the clear.
  auto contains = [&](ByteView needle) {
    return std::search(f.begin(), f.end(), needle.begin(), needle.end()) != f.end();
  };
  EXPECT_FALSE(contains(created->device.Seed().view()));
  EXPECT_FALSE(contains(created->box.secret().view()));
  EXPECT_FALSE(contains(created->user.Seed().view()));
  auto enc = IsEncrypted(path);
  ASSERT_TRUE(enc.ok());
  EXPECT_TRUE(*enc);

  auto loaded = LoadOrCreateIdentity(path, Options("correct horse"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameIdentity(*created, *loaded);
}

// Device linking: the device takes over another user's identity with a certificate that
// user signed for it; keys and encryption stay, anything that does not fit is refused.
TEST(Keystore, AdoptUserRewritesTheUserAndKeepsTheDevice) {
  TempDir dir;
  for (std::optional<std::string> pass :
       {std::optional<std::string>(), std::optional<std::string>("pw")}) {
    std::string path = dir.File(pass ? "enc" : "plain");
    auto before = LoadOrCreateIdentity(path, Options(pass));
    ASSERT_TRUE(before.ok()) << before.status().ToString();
    auto other = crypto::SigningKey::Generate();
    auto cert = *codec::MakeDeviceCertificate(other, before->device.public_key(),
                                              before->box.public_key(), "tablet", 5);
    // Refused: a certificate for another device, one not signed by that user, a forged one.
    auto stranger = crypto::SigningKey::Generate();
    auto not_mine = *codec::MakeDeviceCertificate(other, stranger.public_key(),
                                                  before->box.public_key(), "x", 5);
    EXPECT_EQ(AdoptUser(path, pass, other, not_mine, kFastPwHash).code(), Code::kInvalidArgument);
    EXPECT_EQ(AdoptUser(path, pass, stranger, cert, kFastPwHash).code(), Code::kInvalidArgument);
    auto forged = cert;
    forged.device_name = "forged";
    EXPECT_EQ(AdoptUser(path, pass, other, forged, kFastPwHash).code(), Code::kInvalidArgument);
    auto same = LoadIdentity(path, pass);
    ASSERT_TRUE(same.ok());
    ExpectSameIdentity(*before, *same);

    ASSERT_TRUE(AdoptUser(path, pass, other, cert, kFastPwHash).ok());
    auto after = LoadIdentity(path, pass);
    ASSERT_TRUE(after.ok()) << after.status().ToString();
    EXPECT_EQ(after->user.public_key(), other.public_key());
    EXPECT_EQ(after->device.public_key(), before->device.public_key());
    EXPECT_EQ(after->box.public_key(), before->box.public_key());
    EXPECT_EQ(after->device_name, "tablet");
    EXPECT_TRUE(after->cert == cert);
    EXPECT_EQ(*IsEncrypted(path), pass.has_value());
    EXPECT_EQ(FileMode(path), 0600u);
  }
}

TEST(Keystore, WrongPassphraseFailsWithAClearMessage) {
  TempDir dir;
  std::string path = dir.File("k");
  ASSERT_TRUE(LoadOrCreateIdentity(path, Options("right")).ok());
  Bytes before = ReadFile(path);
  auto r = LoadOrCreateIdentity(path, Options("wrong"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "wrong passphrase or corrupted key file " + path);
  EXPECT_EQ(ReadFile(path), before);  // never replaced by a fresh identity
}

TEST(Keystore, EncryptedFileWithoutPassphraseFails) {
  TempDir dir;
  std::string path = dir.File("k");
  ASSERT_TRUE(LoadOrCreateIdentity(path, Options("secret")).ok());
  Bytes before = ReadFile(path);
  auto r = LoadOrCreateIdentity(path, Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "key file " + path + " is encrypted and no passphrase was given");
  EXPECT_EQ(ReadFile(path), before);
}

TEST(Keystore, PassphraseForAPlaintextFileIsRefused) {
  TempDir dir;
  std::string path = dir.File("k");
  ASSERT_TRUE(LoadOrCreateIdentity(path, Options()).ok());
  ExpectError(LoadOrCreateIdentity(path, Options("secret")).status(), Code::kInvalidArgument,
              "is not encrypted");
}

TEST(Keystore, NotAKeyFileIsRefusedAndKept) {
  TempDir dir;
  std::string path = dir.File("k");
  WriteFile(path, AsBytes("SQLite format 3\0 and so on"));
  auto r = LoadOrCreateIdentity(path, Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "key file " + path + " is not a topo key file");
  EXPECT_EQ(ReadFile(path), ToBytes("SQLite format 3\0 and so on"));
  EXPECT_EQ(IsEncrypted(path).status().code(), Code::kCorruption);
}

TEST(Keystore, RefusesGroupOrWorldAccessibleFiles) {
  TempDir dir;
  std::string path = dir.File("k");
  ASSERT_TRUE(LoadOrCreateIdentity(path, Options()).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto r = LoadOrCreateIdentity(path, Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(r.status().message(),
            "key file " + path + " has mode 0644; it must be 0600 (chmod 600 " + path + ")");
  for (mode_t m : {0640, 0604, 0620, 0660, 0610}) {
    ASSERT_EQ(::chmod(path.c_str(), m), 0);
    EXPECT_EQ(LoadIdentity(path, std::nullopt).status().code(), Code::kPermissionDenied) << m;
  }
  // Owner-only read is stricter than 0600 and fine.
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(LoadIdentity(path, std::nullopt).ok());
}

TEST(Keystore, TruncatedFilesFailCleanly) {
  TempDir dir;
  for (bool encrypted : {false, true}) {
    std::string path = dir.File(encrypted ? "enc" : "plain");
    std::optional<std::string> pass;
    if (encrypted) pass = "pw";
    ASSERT_TRUE(LoadOrCreateIdentity(path, Options(pass)).ok());
    Bytes full = ReadFile(path);
    std::string cut = path + ".cut";
    if (encrypted) {
      ASSERT_EQ(full[kFastEncryptedHeader - 24 - 5], 1);  // ops_limit, as assumed above
    }
    for (size_t n = 0; n < full.size(); ++n) {
      if (!WorthTrying(encrypted, n, full.size())) continue;
      WriteFile(cut, ByteView(full).subspan(0, n));
      auto r = LoadIdentity(cut, pass);
      ASSERT_FALSE(r.ok()) << "length " << n;
      EXPECT_TRUE(r.status().code() == Code::kCorruption ||
                  r.status().code() == Code::kPermissionDenied)
          << r.status().ToString();
    }
    WriteFile(cut, ByteView(full).subspan(0, 0));
    ExpectError(LoadIdentity(cut, pass).status(), Code::kCorruption, "is not a topo key file");
    // Trailing garbage is refused too.
    Bytes longer = full;
    longer.push_back(0);
    WriteFile(cut, longer);
    EXPECT_FALSE(LoadIdentity(cut, pass).ok());
  }
}

TEST(Keystore, EveryFlippedByteOfAPlaintextFileIsCaught) {
  TempDir dir;
  std::string path = dir.File("k");
  ASSERT_TRUE(LoadOrCreateIdentity(path, Options()).ok());
  Bytes full = ReadFile(path);
  std::string bad = dir.File("bad");
  for (size_t i = 0; i < full.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x40}, uint8_t{0x80}, uint8_t{0xFF}}) {
      Bytes f = full;
      f[i] ^= mask;
      WriteFile(bad, f);
      auto r = LoadIdentity(bad, std::nullopt);
      EXPECT_FALSE(r.ok()) << "byte " << i << " mask " << int(mask);
      EXPECT_NE(r.status().code(), Code::kInternal) << r.status().ToString();
    }
  }
}

TEST(Keystore, EveryFlippedByteOfAnEncryptedFileIsCaught) {
  TempDir dir;
  std::string path = dir.File("k");
  ASSERT_TRUE(LoadOrCreateIdentity(path, Options("pw")).ok());
  Bytes full = ReadFile(path);
  std::string bad = dir.File("bad");
  // XOR 0x01 keeps a flipped argon2id parameter within cheap bounds.
  for (size_t i = 0; i < full.size(); ++i) {
    if (!WorthTrying(true, i, full.size())) continue;
    Bytes f = full;
    f[i] ^= 0x01;
    WriteFile(bad, f);
    auto r = LoadIdentity(bad, "pw");
    EXPECT_FALSE(r.ok()) << "byte " << i;
  }
}

TEST(Keystore, ChangePassphraseBothWays) {
  TempDir dir;
  std::string path = dir.File("k");
  auto original = LoadOrCreateIdentity(path, Options());
  ASSERT_TRUE(original.ok());

  // Encrypt a plaintext file.
  ASSERT_TRUE(ChangePassphrase(path, std::nullopt, "one", kFastPwHash).ok());
  EXPECT_EQ(FileMode(path), 0600u);
  EXPECT_TRUE(*IsEncrypted(path));
  EXPECT_FALSE(LoadIdentity(path, std::nullopt).ok());
  auto one = LoadIdentity(path, "one");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ExpectSameIdentity(*original, *one);

  // Re-key under a new passphrase: the old one stops working.
  EXPECT_FALSE(ChangePassphrase(path, "not one", "two", kFastPwHash).ok());
  ASSERT_TRUE(ChangePassphrase(path, "one", "two", kFastPwHash).ok());
  ExpectError(LoadIdentity(path, "one").status(), Code::kPermissionDenied, "wrong passphrase");
  auto two = LoadIdentity(path, "two");
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  ExpectSameIdentity(*original, *two);

  // Decrypt back to plaintext.
  ASSERT_TRUE(ChangePassphrase(path, "two", std::nullopt).ok());
  EXPECT_FALSE(*IsEncrypted(path));
  EXPECT_EQ(FileMode(path), 0600u);
  auto plain = LoadIdentity(path, std::nullopt);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ExpectSameIdentity(*original, *plain);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(Keystore, BadOptionsCreateNothing) {
  TempDir dir;
  std::string path = dir.File("k");
  EXPECT_EQ(LoadOrCreateIdentity(path, Options("")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(LoadOrCreateIdentity(path, Options(std::nullopt, "")).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(LoadOrCreateIdentity(path, Options(std::nullopt, std::string(65, 'x'))).status().code(),
            Code::kInvalidArgument);
  auto opts = Options("pw");
  opts.pwhash.mem_limit = kMaxPwHashMem + 1;
  EXPECT_EQ(LoadOrCreateIdentity(path, opts).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(IsEncrypted(path).status().code(), Code::kNotFound);
  EXPECT_EQ(LoadIdentity(path, std::nullopt).status().code(), Code::kNotFound);
}

TEST(Keystore, CreateInAMissingDirectoryIsAnIOError) {
  TempDir dir;
  std::string path = dir.File("no/such/dir/k");
  auto r = LoadOrCreateIdentity(path, Options());
  ExpectError(r.status(), Code::kIOError, "No such file or directory");
  EXPECT_NE(r.status().message().find(path), std::string::npos);
}

TEST(Keystore, ConcurrentCreatorsAgreeOnOneIdentity) {
  TempDir dir;
  for (int round = 0; round < 10; ++round) {
    std::string path = dir.File("k" + std::to_string(round));
    std::optional<Result<DeviceIdentity>> a, b;
    std::thread ta([&] { a.emplace(LoadOrCreateIdentity(path, Options())); });
    std::thread tb([&] { b.emplace(LoadOrCreateIdentity(path, Options())); });
    ta.join();
    tb.join();
    ASSERT_TRUE(a->ok()) << a->status().ToString();
    ASSERT_TRUE(b->ok()) << b->status().ToString();
    ExpectSameIdentity(**a, **b);
  }
}

TEST(Identity, KeysSurviveARestart) {
  TempDir dir;
  std::string path = dir.File("node.db.keys");
  Bytes sealed;
  crypto::Signature sig;
  crypto::PublicKey device_key;
  {
    auto id = LoadOrCreateIdentity(path, Options("pw"));
    ASSERT_TRUE(id.ok());
    // A peer seals an epoch key to the certificate's box key; the device signs a vertex id.
    sealed = crypto::Seal(id->cert.device_box_key, AsBytes("epoch key"));
    sig = id->device.Sign(AsBytes("vertex id"));
    device_key = id->cert.device_key;
  }
  auto id = LoadOrCreateIdentity(path, Options("pw"));
  ASSERT_TRUE(id.ok());
  auto opened = id->box.Open(sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(AsChars(opened->view()), "epoch key");
  EXPECT_TRUE(crypto::Verify(device_key, AsBytes("vertex id"), sig));
  EXPECT_EQ(id->device.Sign(AsBytes("vertex id")), sig);  // Ed25519 is deterministic
}

TEST(Identity, EachNewFileIsANewUserAndDevice) {
  TempDir dir;
  auto a = LoadOrCreateIdentity(dir.File("a"), Options());
  auto b = LoadOrCreateIdentity(dir.File("b"), Options());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->device.public_key(), b->device.public_key());
  EXPECT_NE(a->box.public_key(), b->box.public_key());
  EXPECT_NE(a->user.public_key(), b->user.public_key());
  EXPECT_NE(a->device.public_key(), a->user.public_key());
}

TEST(Identity, DefaultsUseTheSystemClockAndName) {
  TempDir dir;
  KeystoreOptions opts;
  uint64_t before = SystemClock::Instance().NowMs();
  auto id = LoadOrCreateIdentity(dir.File("k"), opts);
  uint64_t after = SystemClock::Instance().NowMs();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->device_name, "device");
  EXPECT_GE(id->cert.issued_at, before);
  EXPECT_LE(id->cert.issued_at, after);
}

}  // namespace
}  // namespace topo::store
