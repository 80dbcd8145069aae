// TLS 1.3 for QUIC through GnuTLS and ngtcp2's GnuTLS helper: one context per endpoint
// (the device certificate, the ALPN, the policy), one session per connection.
//
// Policy: TLS 1.3 only; AES-GCM or ChaCha20-Poly1305; X25519 or P-256 key exchange; Ed25519
// signatures only; no session tickets (a resumed session would skip the certificates that
// the pinning needs); ALPN mandatory on both sides. Both sides send certificates (the
// server requires one). GnuTLS's own chain validation is never used: the context's verify
// function, called by GnuTLS when the peer's certificate arrives, decides.
#pragma once

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <memory>
#include <string>

#include "crypto/crypto.h"
#include "util/status.h"

namespace topo::net {

struct TlsSessionFree {
  void operator()(gnutls_session_t s) const { gnutls_deinit(s); }
};
using TlsSession = std::unique_ptr<gnutls_session_int, TlsSessionFree>;

class TlsContext {
 public:
  // Called by GnuTLS during the handshake once the peer's certificate (and its proof of
  // possession) arrived; 0 accepts, anything else aborts the handshake with an alert.
  using VerifyFunction = int (*)(gnutls_session_t session);

  static Result<std::unique_ptr<TlsContext>> Make(const crypto::SigningKey& key, std::string alpn,
                                                  VerifyFunction verify);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A session set up for QUIC. `ref` becomes the session pointer (ngtcp2's helper finds the
  // connection through it); it must outlive the session.
  Result<TlsSession> NewSession(bool server, ngtcp2_crypto_conn_ref* ref) const;

  const std::string& alpn() const { return alpn_; }

 private:
  TlsContext() = default;
  gnutls_certificate_credentials_t credentials_ = nullptr;
  std::string alpn_;
};

// The protocol the handshake selected ("" when none).
std::string SelectedAlpn(gnutls_session_t session);

// The peer's device key: its certificate checked with VerifyDeviceCertificate.
Result<crypto::PublicKey> PeerDeviceKey(gnutls_session_t session);

}  // namespace topo::net
