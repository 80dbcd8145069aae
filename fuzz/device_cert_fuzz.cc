// Fuzzes codec::DecodeDeviceCertificate. A certificate that decodes must re-encode to exactly
// the input and decode again to an equal certificate; verifying it must not crash.
//
// TOPO_FUZZ_WRITE_SEEDS=<dir> writes signed certificates to <dir> and exits.
#include <algorithm>
#include <string>

#include "codec/identity.h"
#include "fuzz_support.h"

const char topo::fuzz::kTargetName[] = "device_cert_fuzz";

namespace topo {
namespace {

using fuzz::Fail;
using fuzz::WriteSeed;

crypto::SigningKey KeyFrom(uint8_t tag) {
  uint8_t seed[32] = {'c', 'e', 'r', 't', tag};
  return std::move(crypto::SigningKey::FromSeed(ByteView(seed, 32))).value();
}

void WriteSeeds(const std::string& dir) {
  auto user = KeyFrom(1);
  auto device = KeyFrom(2);
  crypto::BoxPublicKey box;
  box.bytes.fill(9);
  struct Case {
    const char* file;
    std::string name;
    uint64_t issued_at;
  } cases[] = {
      {"laptop", "alice's laptop", 1'700'000'000'000},
      {"short", "x", 0},
      {"long_utf8", std::string(62, 'n') + "\xc3\xa9", codec::kMaxIssuedAt},
  };
  for (const auto& c : cases) {
    auto cert = codec::MakeDeviceCertificate(user, device.public_key(), box, c.name, c.issued_at);
    if (!cert.ok()) Fail("seed certificate");
    WriteSeed(dir, c.file, codec::EncodeDeviceCertificate(*cert));
  }
}

}  // namespace
}  // namespace topo

TOPO_FUZZ_SEEDS(topo::WriteSeeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace topo;
  ByteView in(data, size);
  auto cert = codec::DecodeDeviceCertificate(in);
  if (!cert.ok()) return 0;
  if (size < codec::kMinDeviceCertBytes || size > codec::kMaxDeviceCertBytes)
    Fail("a certificate outside the documented size range decoded");
  Bytes again = codec::EncodeDeviceCertificate(*cert);
  if (!std::equal(again.begin(), again.end(), in.begin(), in.end()))
    Fail("EncodeDeviceCertificate(DecodeDeviceCertificate(x)) != x");
  auto cert2 = codec::DecodeDeviceCertificate(again);
  if (!cert2.ok() || !(*cert2 == *cert)) Fail("decode(encode(cert)) != cert");
  (void)codec::DeviceCertificateDigest(*cert);
  (void)codec::VerifyDeviceCertificate(*cert);
  return 0;
}
