#include "net/certificate.h"

#include <gnutls/abstract.h>
#include <gtest/gtest.h>

#include "net_test_util.h"

namespace topo::net {
namespace {

using testing::KeyNumber;

TEST(DeviceCertificate, CarriesTheDeviceKeyAndVerifies) {
  crypto::SigningKey key = KeyNumber(1);
  auto id = DeviceIdentity::Make(key);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  Bytes der = id->CertificateDer();
  EXPECT_GT(der.size(), 200u);
  EXPECT_LE(der.size(), kMaxCertificateBytes);
  auto verified = VerifyDeviceCertificate(der);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(*verified, key.public_key());
}

TEST(DeviceCertificate, EveryAlteredByteIsRefused) {
  auto id = DeviceIdentity::Make(KeyNumber(2));
  ASSERT_TRUE(id.ok());
  Bytes der = id->CertificateDer();
  for (size_t i = 0; i < der.size(); ++i) {
    Bytes altered = der;
    altered[i] ^= 0x01;
    EXPECT_FALSE(VerifyDeviceCertificate(altered).ok()) << "byte " << i;
  }
  for (size_t n = 0; n < der.size(); n += 7) {
    EXPECT_FALSE(VerifyDeviceCertificate(ByteView(der).subspan(0, n)).ok()) << n;
  }
  Bytes longer = der;
  longer.push_back(0);
  EXPECT_FALSE(VerifyDeviceCertificate(longer).ok());
  EXPECT_FALSE(VerifyDeviceCertificate(Bytes(kMaxCertificateBytes + 1, 0x30)).ok());
}

// A certificate over one device's key signed by another's: well formed, but not
// self-signed, so it proves nothing about the key it carries.
TEST(DeviceCertificate, ACertificateSignedByAnotherKeyIsRefused) {
  auto subject = DeviceIdentity::Make(KeyNumber(3));
  auto signer = DeviceIdentity::Make(KeyNumber(4));
  ASSERT_TRUE(subject.ok() && signer.ok());
  gnutls_x509_crt_t crt = nullptr;
  ASSERT_EQ(gnutls_x509_crt_init(&crt), 0);
  ASSERT_EQ(gnutls_x509_crt_set_version(crt, 3), 0);
  uint8_t serial[1] = {1};
  ASSERT_EQ(gnutls_x509_crt_set_serial(crt, serial, 1), 0);
  ASSERT_EQ(gnutls_x509_crt_set_activation_time(crt, 0), 0);
  ASSERT_EQ(gnutls_x509_crt_set_expiration_time(crt, GNUTLS_X509_NO_WELL_DEFINED_EXPIRATION), 0);
  ASSERT_EQ(gnutls_x509_crt_set_key(crt, subject->private_key()), 0);
  ASSERT_EQ(gnutls_x509_crt_sign2(crt, signer->certificate(), signer->private_key(),
                                  GNUTLS_DIG_SHA512, 0),
            0);
  gnutls_datum_t out{nullptr, 0};
  ASSERT_EQ(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &out), 0);
  Bytes der(out.data, out.data + out.size);
  gnutls_free(out.data);
  gnutls_x509_crt_deinit(crt);
  auto r = VerifyDeviceCertificate(der);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("self-signature"), std::string::npos) << r.status().message();
}

TEST(DeviceCertificate, AKeyOtherThanEd25519IsRefused) {
  gnutls_x509_privkey_t key = nullptr;
  ASSERT_EQ(gnutls_x509_privkey_init(&key), 0);
  ASSERT_EQ(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                         GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
            0);
  gnutls_x509_crt_t crt = nullptr;
  ASSERT_EQ(gnutls_x509_crt_init(&crt), 0);
  ASSERT_EQ(gnutls_x509_crt_set_version(crt, 3), 0);
  uint8_t serial[1] = {1};
  ASSERT_EQ(gnutls_x509_crt_set_serial(crt, serial, 1), 0);
  ASSERT_EQ(gnutls_x509_crt_set_activation_time(crt, 0), 0);
  ASSERT_EQ(gnutls_x509_crt_set_expiration_time(crt, GNUTLS_X509_NO_WELL_DEFINED_EXPIRATION), 0);
  ASSERT_EQ(gnutls_x509_crt_set_key(crt, key), 0);
  ASSERT_EQ(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), 0);
  gnutls_datum_t out{nullptr, 0};
  ASSERT_EQ(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &out), 0);
  Bytes der(out.data, out.data + out.size);
  gnutls_free(out.data);
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_privkey_deinit(key);
  auto r = VerifyDeviceCertificate(der);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not Ed25519"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace topo::net
