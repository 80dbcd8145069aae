// The device's key file: its private keys, the user identity that vouches for it, its name
// and its device certificate. It lives beside the database, at KeyFilePath(db path) =
// db path + ".keys", and is the only place private keys are ever written.
//
// File format, byte by byte (varints are canonical unsigned LEB128):
//
//   offset  size    field
//   0       [8]     magic        "TOPOKEY1"
//   8       u8      mode         0 = plaintext, 1 = passphrase-encrypted
//   mode 0:
//   9       [rest]  secret section, as below
//   mode 1:
//   9       [16]    salt         argon2id salt
//   25      varint  ops_limit    argon2id passes, 1..kMaxPwHashOps
//   ..      varint  mem_limit    argon2id memory in bytes, 8 KiB..kMaxPwHashMem
//   ..      [24]    nonce        XChaCha20-Poly1305 nonce
//   ..      [rest]  ciphertext   XChaCha20-Poly1305-IETF of the secret section, with its
//                                16-byte tag at the end; key = argon2id(passphrase, salt,
//                                ops_limit, mem_limit), 32 bytes; associated data = every
//                                header byte from the magic through the nonce
//
// Secret section:
//
//   u8      section_version   = 1
//   [32]    device_seed       Ed25519 seed of the device key (signs vertices)
//   [32]    device_box_secret X25519 secret of the device, stored clamped (low 3 bits of
//                             byte 0 clear, byte 31 = 01xxxxxx)
//   [32]    user_seed         Ed25519 seed of the user identity (signs device certificates)
//   varint  name_len          1..64
//   [len]   device_name       UTF-8
//   varint  cert_len          164..234 (so always two bytes)
//   [len]   device_cert       codec::DeviceCertificate encoding (codec/identity.h)
//
// A loaded file must be self-consistent: the certificate verifies, its three public keys
// are the ones the secrets derive, and its name is device_name. The whole file is at most
// kMaxKeyFileBytes. Every rule is checked on load; a file that breaks one is refused with
// an error, never half-loaded.
//
// The file must be a regular file with no group or other permission bits (0600 or
// stricter); a looser file is refused, as ssh refuses a readable private key. New files are
// written atomically: a temporary file in the same directory created with O_EXCL and mode
// 0600, fsync, rename over (or, on creation, into an empty) name, fsync of the directory.
//
// Thread-safety: the functions hold no state; calling them at once on one path from
// several threads or processes is safe for creation (exactly one new file wins and every
// caller loads it) but not for ChangePassphrase (the last rename wins).
#pragma once

#include <optional>
#include <string>

#include "codec/identity.h"
#include "crypto/crypto.h"
#include "util/clock.h"
#include "util/status.h"

namespace topo::store {

constexpr std::string_view kKeyFileMagic = "TOPOKEY1";
constexpr uint8_t kKeyFilePlaintext = 0;
constexpr uint8_t kKeyFileEncrypted = 1;
constexpr uint8_t kKeySectionVersion = 1;
constexpr size_t kMaxKeyFileBytes = 4096;
// Bounds on argon2id parameters, when writing and when reading (a key file must not make
// a load take minutes or gigabytes).
constexpr uint64_t kMaxPwHashOps = 32;
constexpr uint64_t kMaxPwHashMem = uint64_t{1} << 30;  // 1 GiB: libsodium's "sensitive"

// The key file of the database at db_path.
std::string KeyFilePath(const std::string& db_path);

// Everything the device knows about itself. Move-only: the keys hold secrets.
struct DeviceIdentity {
  crypto::SigningKey device;  // signs the device's vertices
  crypto::BoxKey box;         // opens epoch keys sealed to this device
  crypto::SigningKey user;    // the user identity; signs device certificates
  std::string device_name;
  codec::DeviceCertificate cert;  // user vouches for device and box; always verifies
};

struct KeystoreOptions {
  // Encrypts a new file, and is required to open an encrypted one. Empty is refused.
  std::optional<std::string> passphrase;
  // Used only when creating the file; a loaded file keeps its own name.
  std::string device_name = "device";
  // argon2id cost for a new encrypted file; a loaded file names its own.
  crypto::PwHashParams pwhash = crypto::PwHashParams::Moderate();
  // Stamps the new certificate's issued_at; nullptr means SystemClock::Instance().
  const Clock* clock = nullptr;
};

// Loads the identity from key_path, or creates a new one (fresh device and user keys, a
// certificate issued now) and writes it there when no file exists. Errors:
//   NotFound / IOError     "cannot create key file X: <strerror>" and similar
//   PermissionDenied       "key file X has mode 0644; it must be 0600 (chmod 600 X)"
//   PermissionDenied       "wrong passphrase or corrupted key file X"
//   InvalidArgument        "key file X is encrypted: pass --passphrase"
//   InvalidArgument        "key file X is not encrypted: drop --passphrase, or encrypt it
//                          with change-passphrase" (a passphrase the file does not use is
//                          refused, so a user never believes a plaintext file is sealed)
//   Corruption             "key file X is not a topo key file", "key file X is corrupted
//                          (<field>: <reason>)"
//   InvalidArgument        bad options: empty passphrase, bad device name, pwhash bounds
Result<DeviceIdentity> LoadOrCreateIdentity(const std::string& key_path,
                                            const KeystoreOptions& options);

// Loads an existing key file; NotFound ("key file X does not exist") if there is none.
// Same errors as LoadOrCreateIdentity otherwise.
Result<DeviceIdentity> LoadIdentity(const std::string& key_path,
                                    const std::optional<std::string>& passphrase);

// Rewrites the key file under a new passphrase (fresh salt and nonce), or in plaintext when
// new_passphrase is nullopt. old_passphrase must open the file as LoadIdentity would
// (nullopt for a plaintext file). The keys, name and certificate do not change. The file
// is replaced atomically: a crash leaves the old file or the new one.
Status ChangePassphrase(const std::string& key_path,
                        const std::optional<std::string>& old_passphrase,
                        const std::optional<std::string>& new_passphrase,
                        const crypto::PwHashParams& pwhash = crypto::PwHashParams::Moderate());

// Makes this device act for another user: the device-linking step (docs/design/groups.md).
// `user` is that user's signing key (its seed came sealed to this device) and `cert` the
// certificate by which the user vouches for this device. Checks that the certificate is
// this device's (device and box keys), is signed by `user` and verifies; keeps the device
// keys, takes the certificate's name as the device name, and rewrites the file atomically
// under the same passphrase (or in plaintext), with `pwhash` for an encrypted file.
// InvalidArgument when the certificate does not fit; the LoadIdentity errors otherwise.
Status AdoptUser(const std::string& key_path, const std::optional<std::string>& passphrase,
                 const crypto::SigningKey& user, const codec::DeviceCertificate& cert,
                 const crypto::PwHashParams& pwhash = crypto::PwHashParams::Moderate());

// Whether the key file is passphrase-encrypted. Reads the header only; does not check the
// file's permissions. NotFound when there is no file, Corruption when it is not a key file.
Result<bool> IsEncrypted(const std::string& key_path);

}  // namespace topo::store
