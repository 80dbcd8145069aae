#include "net/address.h"

#include <gtest/gtest.h>

namespace topo::net {
namespace {

TEST(Address, ParsesNumericIpv4AndBracketedIpv6) {
  auto v4 = ParseHostPort("127.0.0.1:4433");
  ASSERT_TRUE(v4.ok());
  EXPECT_TRUE(v4->address().is_v4());
  EXPECT_EQ(v4->port(), 4433);
  EXPECT_EQ(FormatHostPort(*v4), "127.0.0.1:4433");

  auto v6 = ParseHostPort("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->address().is_v6());
  EXPECT_EQ(FormatHostPort(*v6), "[::1]:0");
  EXPECT_EQ(FormatHostPort(*ParseHostPort("[2001:db8::7]:65535")), "[2001:db8::7]:65535");
}

TEST(Address, RefusesWhatIsNotANumericHostAndPort) {
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:80x", "localhost:80", "::1:80", "[::1]", "[::1]80", "[::1:80",
                          "[127.0.0.1]:80", "1.2.3.4.5:80"}) {
    auto r = ParseHostPort(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
      EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
    }
  }
  EXPECT_NE(ParseHostPort("::1:80").status().message().find("brackets"), std::string::npos);
}

}  // namespace
}  // namespace topo::net
