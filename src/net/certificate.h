// The device's TLS certificate: a self-signed X.509 v3 certificate over its Ed25519 device
// key, made fresh when an endpoint starts. Nothing in it is trusted but the key: peers pin
// the key (docs/PROTOCOL.md, "Transport"), so names, dates and issuers carry no meaning.
//
// Contents: version 3; serial = the first 16 bytes of H("topo.tls.serial.v1", key) with the
// top bit cleared; issuer = subject = CN=<the key in hex>; valid from an hour before it was
// made and without a well-defined expiry (RFC 5280 4.1.2.5); key usage digitalSignature;
// basicConstraints CA:FALSE; signed by the key itself (Ed25519).
#pragma once

#include <gnutls/x509.h>

#include <memory>

#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::net {

// The GnuTLS private key and certificate for one device key. The private key is GnuTLS's
// copy of the seed (GnuTLS wipes it on deinit). Move-only.
class DeviceIdentity {
 public:
  static Result<DeviceIdentity> Make(const crypto::SigningKey& key);

  gnutls_x509_privkey_t private_key() const { return key_.get(); }
  gnutls_x509_crt_t certificate() const { return crt_.get(); }
  Bytes CertificateDer() const;

 private:
  struct KeyFree {
    void operator()(gnutls_x509_privkey_t k) const { gnutls_x509_privkey_deinit(k); }
  };
  struct CrtFree {
    void operator()(gnutls_x509_crt_t c) const { gnutls_x509_crt_deinit(c); }
  };
  std::unique_ptr<gnutls_x509_privkey_int, KeyFree> key_;
  std::unique_ptr<gnutls_x509_crt_int, CrtFree> crt_;
};

// Largest certificate a peer may present (ours are about 350 bytes).
constexpr size_t kMaxCertificateBytes = 4096;

// Checks that `der` is one DER certificate whose key is Ed25519 and whose signature (also
// Ed25519) verifies under that same key, and returns the key. Dates, names and extensions
// are not checked: the caller pins the key.
Result<crypto::PublicKey> VerifyDeviceCertificate(ByteView der);

}  // namespace topo::net
