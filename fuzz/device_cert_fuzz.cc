// Fuzzes codec::DecodeDeviceCertificate. A certificate that decodes must re-encode to exactly
// the input and decode again to an equal certificate; verifying it must not crash.
//
// TOPO_FUZZ_WRITE_SEEDS=<dir> writes signed certificates to <dir> and exits.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "codec/identity.h"

namespace topo {
namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "device_cert_fuzz: %s\n", what);
  std::abort();
}

void WriteSeed(const std::string& dir, const std::string& name, ByteView b) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!out) Fail("cannot write seed");
}

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

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("TOPO_FUZZ_WRITE_SEEDS")) {
    topo::WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

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
