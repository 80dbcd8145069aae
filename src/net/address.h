// UDP addresses written as text: "127.0.0.1:4433", "[::1]:4433". Numeric only: no name is
// ever resolved here (a lookup would block the event loop and leak what we dial).
#pragma once

#include <asio/ip/udp.hpp>
#include <string>
#include <string_view>

#include "util/status.h"

namespace topo::net {

// Parses "IPv4:PORT" or "[IPv6]:PORT" (port 0..65535; 0 asks the kernel for one when
// binding). An IPv6 address without brackets, a host name or a bad port is an error naming
// the input.
Result<asio::ip::udp::endpoint> ParseHostPort(std::string_view text);

// The inverse: "127.0.0.1:43211" or "[::1]:43211".
std::string FormatHostPort(const asio::ip::udp::endpoint& endpoint);

}  // namespace topo::net
