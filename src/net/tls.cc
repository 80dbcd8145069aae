#include "net/tls.h"

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "net/certificate.h"

namespace topo::net {
namespace {

constexpr char kPriority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:-SIGN-ALL:+SIGN-EDDSA-ED25519:"
    "%DISABLE_TLS13_COMPAT_MODE";

Status GnutlsError(const char* what, int rv) {
  return Status::Internal(std::string("tls: ") + what + ": " + gnutls_strerror(rv));
}

}  // namespace

Result<std::unique_ptr<TlsContext>> TlsContext::Make(const crypto::SigningKey& key,
                                                     std::string alpn, VerifyFunction verify) {
  if (alpn.empty() || alpn.size() > 255)
    return Status::InvalidArgument("tls: the ALPN must be 1 to 255 bytes");
  auto identity = DeviceIdentity::Make(key);
  if (!identity.ok()) return identity.status();
  std::unique_ptr<TlsContext> ctx(new TlsContext());
  ctx->alpn_ = std::move(alpn);
  if (int rv = gnutls_certificate_allocate_credentials(&ctx->credentials_); rv < 0)
    return GnutlsError("credentials", rv);
  gnutls_x509_crt_t crt = identity->certificate();
  if (int rv = gnutls_certificate_set_x509_key(ctx->credentials_, &crt, 1, identity->private_key());
      rv < 0)
    return GnutlsError("installing the device certificate", rv);
  gnutls_certificate_set_verify_function(ctx->credentials_, verify);
  return ctx;
}

TlsContext::~TlsContext() {
  if (credentials_) gnutls_certificate_free_credentials(credentials_);
}

Result<TlsSession> TlsContext::NewSession(bool server, ngtcp2_crypto_conn_ref* ref) const {
  gnutls_session_t raw = nullptr;
  unsigned flags =
      (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_TICKETS | GNUTLS_NO_END_OF_EARLY_DATA;
  if (int rv = gnutls_init(&raw, flags); rv < 0) return GnutlsError("session", rv);
  TlsSession session(raw);
  int rv = server ? ngtcp2_crypto_gnutls_configure_server_session(raw)
                  : ngtcp2_crypto_gnutls_configure_client_session(raw);
  if (rv != 0) return Status::Internal("tls: ngtcp2 could not configure the session");
  if (rv = gnutls_priority_set_direct(raw, kPriority, nullptr); rv < 0)
    return GnutlsError("priority", rv);
  if (rv = gnutls_credentials_set(raw, GNUTLS_CRD_CERTIFICATE, credentials_); rv < 0)
    return GnutlsError("credentials", rv);
  gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(alpn_.data())),
                      static_cast<unsigned>(alpn_.size())};
  if (rv = gnutls_alpn_set_protocols(raw, &alpn, 1, GNUTLS_ALPN_MANDATORY); rv < 0)
    return GnutlsError("alpn", rv);
  if (server) gnutls_certificate_server_set_request(raw, GNUTLS_CERT_REQUIRE);
  gnutls_session_set_ptr(raw, ref);
  return session;
}

std::string SelectedAlpn(gnutls_session_t session) {
  gnutls_datum_t alpn{nullptr, 0};
  if (gnutls_alpn_get_selected_protocol(session, &alpn) != 0) return "";
  return std::string(reinterpret_cast<const char*>(alpn.data), alpn.size);
}

Result<crypto::PublicKey> PeerDeviceKey(gnutls_session_t session) {
  unsigned n = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &n);
  if (certs == nullptr || n == 0) return Status::Rejected("the peer sent no certificate");
  if (n != 1) return Status::Rejected("the peer sent a chain; a device sends one certificate");
  return VerifyDeviceCertificate({certs[0].data, certs[0].size});
}

}  // namespace topo::net
