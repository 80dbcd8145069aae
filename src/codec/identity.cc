#include "codec/identity.h"

#include "codec/reader.h"

namespace topo::codec {
namespace {

void WriteUnsigned(Writer& w, const DeviceCertificate& c) {
  w.U8(c.version);
  w.Fixed(c.user_key);
  w.Fixed(c.device_key);
  w.Fixed(c.device_box_key);
  w.LenString(c.device_name);
  w.Varint(c.issued_at);
}

}  // namespace

Result<DeviceCertificate> MakeDeviceCertificate(const crypto::SigningKey& user,
                                                const crypto::PublicKey& device_key,
                                                const crypto::BoxPublicKey& device_box_key,
                                                std::string_view device_name, uint64_t issued_at) {
  if (device_name.empty()) return Status::InvalidArgument("a device name must not be empty");
  if (device_name.size() > kMaxDeviceNameBytes)
    return Status::InvalidArgument("a device name is at most " +
                                   std::to_string(kMaxDeviceNameBytes) + " bytes, got " +
                                   std::to_string(device_name.size()));
  if (!IsValidUtf8(device_name)) return Status::InvalidArgument("a device name must be UTF-8");
  if (issued_at > kMaxIssuedAt)
    return Status::InvalidArgument("device certificate issue time is over its bound");
  DeviceCertificate c;
  c.user_key = user.public_key();
  c.device_key = device_key;
  c.device_box_key = device_box_key;
  c.device_name = std::string(device_name);
  c.issued_at = issued_at;
  c.signature = user.Sign(DeviceCertificateDigest(c).view());
  return c;
}

Bytes EncodeUnsignedDeviceCertificate(const DeviceCertificate& cert) {
  Writer w;
  WriteUnsigned(w, cert);
  return w.Take();
}

Bytes EncodeDeviceCertificate(const DeviceCertificate& cert) {
  Writer w;
  WriteUnsigned(w, cert);
  w.Fixed(cert.signature);
  return w.Take();
}

crypto::Digest DeviceCertificateDigest(const DeviceCertificate& cert) {
  return crypto::Hash(kDeviceCertDomain, EncodeUnsignedDeviceCertificate(cert));
}

Result<DeviceCertificate> DecodeDeviceCertificate(ByteView bytes) {
  if (bytes.size() > kMaxDeviceCertBytes)
    return Status::Corruption("device_cert: over the size bound of " +
                              std::to_string(kMaxDeviceCertBytes) + " bytes");
  Reader r(bytes);
  DeviceCertificate c;
  TOPO_RETURN_IF_ERROR(r.U8("device_cert.version", c.version));
  if (c.version != kDeviceCertVersion)
    return Status::Corruption("device_cert.version: unsupported version " +
                              std::to_string(c.version));
  TOPO_RETURN_IF_ERROR(r.Fixed("device_cert.user_key", c.user_key));
  TOPO_RETURN_IF_ERROR(r.Fixed("device_cert.device_key", c.device_key));
  TOPO_RETURN_IF_ERROR(r.Fixed("device_cert.device_box_key", c.device_box_key));
  TOPO_RETURN_IF_ERROR(r.LenString("device_cert.device_name", kMaxDeviceNameBytes, c.device_name));
  if (c.device_name.empty()) return Status::Corruption("device_cert.device_name: empty");
  TOPO_RETURN_IF_ERROR(r.VarintMax("device_cert.issued_at", kMaxIssuedAt, c.issued_at));
  TOPO_RETURN_IF_ERROR(r.Fixed("device_cert.signature", c.signature));
  TOPO_RETURN_IF_ERROR(r.ExpectEnd("device_cert"));
  return c;
}

Status VerifyDeviceCertificate(const DeviceCertificate& cert) {
  if (!crypto::Verify(cert.user_key, DeviceCertificateDigest(cert).view(), cert.signature))
    return Status::Rejected("device certificate: signature does not verify with its user key");
  return Status::Ok();
}

}  // namespace topo::codec
