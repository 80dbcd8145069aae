// The device certificate: a user identity (an Ed25519 key held by a person) vouches that a
// device's signing and box keys act for that user. Peers use it to map the author of a
// vertex (a device key) to a user, and to learn the device's X25519 key for sealed boxes.
//
// Encoding, byte by byte (all integers are canonical unsigned LEB128 varints):
//
//   offset  size      field
//   0       u8        version          = 1
//   1       [32]      user_key         Ed25519 public key of the user who vouches
//   33      [32]      device_key       Ed25519 public key of the device (vertex author)
//   65      [32]      device_box_key   X25519 public key of the device (sealed boxes)
//   97      varint    name_len         1..64
//   ..      [len]     device_name      valid UTF-8, e.g. "alice's laptop"
//   ..      varint    issued_at        ms since the Unix epoch, <= 2^53
//   ..      [64]      signature        Ed25519 by user_key over the digest below
//
// digest = BLAKE2b-256 with domain "topo.device-cert.v1" (crypto::Hash) over every byte
// before the signature. The whole encoding is 1 + 32*3 + 1 + name + varint + 64 bytes:
// between 164 and 234 bytes.
//
// Decoding is strict: exact lengths, canonical varints, a known version, a non-empty name of
// at most 64 bytes of valid UTF-8, issued_at within bound and no trailing bytes. Errors are
// Status::Corruption and name the field ("device_cert.device_name: not valid UTF-8").
// Decoding does not check the signature; VerifyDeviceCertificate does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::codec {

constexpr uint8_t kDeviceCertVersion = 1;
constexpr std::string_view kDeviceCertDomain = "topo.device-cert.v1";
constexpr size_t kMaxDeviceNameBytes = 64;
constexpr uint64_t kMaxIssuedAt = uint64_t{1} << 53;  // the bound of vertex created_at
constexpr size_t kMinDeviceCertBytes = 1 + 32 * 3 + 1 + 1 + 1 + 64;
constexpr size_t kMaxDeviceCertBytes = 1 + 32 * 3 + 1 + kMaxDeviceNameBytes + 8 + 64;

struct DeviceCertificate {
  uint8_t version = kDeviceCertVersion;
  crypto::PublicKey user_key;
  crypto::PublicKey device_key;
  crypto::BoxPublicKey device_box_key;
  std::string device_name;
  uint64_t issued_at = 0;
  crypto::Signature signature;

  bool operator==(const DeviceCertificate&) const = default;
};

// Signs a certificate by which `user` vouches for the device keys. Returns
// Status::InvalidArgument, with a message a user understands, when the name is empty, over
// 64 bytes or not UTF-8, or issued_at is over its bound.
Result<DeviceCertificate> MakeDeviceCertificate(const crypto::SigningKey& user,
                                                const crypto::PublicKey& device_key,
                                                const crypto::BoxPublicKey& device_box_key,
                                                std::string_view device_name, uint64_t issued_at);

// Every byte before the signature.
Bytes EncodeUnsignedDeviceCertificate(const DeviceCertificate& cert);
// The full signed encoding. For a certificate that decodes or was made by
// MakeDeviceCertificate, DecodeDeviceCertificate(EncodeDeviceCertificate(c)) == c.
Bytes EncodeDeviceCertificate(const DeviceCertificate& cert);
// The digest the signature covers.
crypto::Digest DeviceCertificateDigest(const DeviceCertificate& cert);

// Strict decode, see above. Does not check the signature.
Result<DeviceCertificate> DecodeDeviceCertificate(ByteView bytes);

// Ok when the signature is user_key's over the digest; Status::Rejected otherwise.
Status VerifyDeviceCertificate(const DeviceCertificate& cert);

}  // namespace topo::codec
