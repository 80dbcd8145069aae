#include "net/certificate.h"

#include <gnutls/gnutls.h>

#include <ctime>

#include "util/encoding.h"

namespace topo::net {
namespace {

Status GnutlsError(const char* what, int rv) {
  return Status::Internal(std::string(what) + ": " + gnutls_strerror(rv));
}

gnutls_datum_t Datum(ByteView b) {
  return gnutls_datum_t{const_cast<unsigned char*>(b.data()), static_cast<unsigned>(b.size())};
}

// One DER element at the start of `in`: its header length and content length. Only the
// definite forms DER allows (short, or long with up to four length bytes).
bool ReadDerHeader(ByteView in, size_t* header, size_t* content) {
  if (in.size() < 2) return false;
  size_t len = in[1];
  size_t pos = 2;
  if (len & 0x80) {
    size_t n = len & 0x7f;
    if (n == 0 || n > 4 || in.size() < 2 + n) return false;
    len = 0;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | in[2 + i];
    pos += n;
  }
  if (len > in.size() - pos) return false;
  *header = pos;
  *content = len;
  return true;
}

// The tbsCertificate bytes (the signed part): Certificate ::= SEQUENCE { tbsCertificate
// SEQUENCE, signatureAlgorithm, signatureValue }.
Result<ByteView> SignedPart(ByteView der) {
  size_t header = 0, content = 0;
  if (der.empty() || der[0] != 0x30 || !ReadDerHeader(der, &header, &content) ||
      header + content != der.size())
    return Status::Corruption("certificate: not one DER sequence");
  ByteView body = der.subspan(header, content);
  if (body.empty() || body[0] != 0x30 || !ReadDerHeader(body, &header, &content))
    return Status::Corruption("certificate: no tbsCertificate");
  return body.subspan(0, header + content);
}

}  // namespace

Result<DeviceIdentity> DeviceIdentity::Make(const crypto::SigningKey& signing_key) {
  DeviceIdentity id;
  gnutls_x509_privkey_t key = nullptr;
  if (int rv = gnutls_x509_privkey_init(&key); rv < 0) return GnutlsError("private key", rv);
  id.key_.reset(key);
  crypto::SecretBytes seed = signing_key.Seed();
  gnutls_datum_t x = Datum(signing_key.public_key().view());
  gnutls_datum_t k = Datum(seed.view());
  if (int rv = gnutls_x509_privkey_import_ecc_raw(key, GNUTLS_ECC_CURVE_ED25519, &x, nullptr, &k);
      rv < 0)
    return GnutlsError("importing the device key", rv);

  gnutls_x509_crt_t crt = nullptr;
  if (int rv = gnutls_x509_crt_init(&crt); rv < 0) return GnutlsError("certificate", rv);
  id.crt_.reset(crt);

  crypto::Digest serial = crypto::Hash("topo.tls.serial.v1", signing_key.public_key().view());
  serial.bytes[0] &= 0x7f;  // a positive INTEGER
  std::string cn = HexEncode(signing_key.public_key().view());
  int rv = gnutls_x509_crt_set_version(crt, 3);
  if (rv >= 0) rv = gnutls_x509_crt_set_serial(crt, serial.data(), 16);
  if (rv >= 0)
    rv = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn.data(),
                                       static_cast<unsigned>(cn.size()));
  if (rv >= 0) rv = gnutls_x509_crt_set_activation_time(crt, std::time(nullptr) - 3600);
  if (rv >= 0)
    rv = gnutls_x509_crt_set_expiration_time(crt, GNUTLS_X509_NO_WELL_DEFINED_EXPIRATION);
  if (rv >= 0) rv = gnutls_x509_crt_set_key(crt, key);
  if (rv >= 0) rv = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
  if (rv >= 0) rv = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
  if (rv >= 0) rv = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA512, 0);
  if (rv < 0) return GnutlsError("making the device certificate", rv);
  return id;
}

Bytes DeviceIdentity::CertificateDer() const {
  gnutls_datum_t out{nullptr, 0};
  if (gnutls_x509_crt_export2(crt_.get(), GNUTLS_X509_FMT_DER, &out) < 0) return {};
  Bytes der(out.data, out.data + out.size);
  gnutls_free(out.data);
  return der;
}

Result<crypto::PublicKey> VerifyDeviceCertificate(ByteView der) {
  if (der.size() > kMaxCertificateBytes)
    return Status::Rejected("certificate: larger than " + std::to_string(kMaxCertificateBytes) +
                            " bytes");
  auto tbs = SignedPart(der);
  if (!tbs.ok()) return tbs.status();

  gnutls_x509_crt_t raw = nullptr;
  if (int rv = gnutls_x509_crt_init(&raw); rv < 0) return GnutlsError("certificate", rv);
  std::unique_ptr<gnutls_x509_crt_int, void (*)(gnutls_x509_crt_t)> crt(raw,
                                                                        gnutls_x509_crt_deinit);
  gnutls_datum_t d = Datum(der);
  if (gnutls_x509_crt_import(raw, &d, GNUTLS_X509_FMT_DER) < 0)
    return Status::Corruption("certificate: not a valid X.509 certificate");
  if (gnutls_x509_crt_get_pk_algorithm(raw, nullptr) != GNUTLS_PK_EDDSA_ED25519)
    return Status::Rejected("certificate: the key is not Ed25519");
  if (gnutls_x509_crt_get_signature_algorithm(raw) != GNUTLS_SIGN_EDDSA_ED25519)
    return Status::Rejected("certificate: not signed with Ed25519");

  gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
  gnutls_datum_t x{nullptr, 0}, y{nullptr, 0};
  if (gnutls_x509_crt_get_pk_ecc_raw(raw, &curve, &x, &y) < 0)
    return Status::Corruption("certificate: unreadable key");
  bool good_key = curve == GNUTLS_ECC_CURVE_ED25519 && x.size == crypto::PublicKey::kSize;
  crypto::PublicKey key;
  if (good_key) key = crypto::PublicKey::FromView({x.data, x.size});
  gnutls_free(x.data);
  gnutls_free(y.data);
  if (!good_key) return Status::Rejected("certificate: the key is not a 32-byte Ed25519 key");

  crypto::Signature sig;
  size_t sig_size = sig.size();
  if (gnutls_x509_crt_get_signature(raw, reinterpret_cast<char*>(sig.data()), &sig_size) < 0 ||
      sig_size != sig.size())
    return Status::Corruption("certificate: unreadable signature");
  if (!crypto::Verify(key, *tbs, sig))
    return Status::Rejected("certificate: the self-signature does not verify");
  return key;
}

}  // namespace topo::net
