#include "net/address.h"

#include <charconv>

namespace topo::net {

Result<asio::ip::udp::endpoint> ParseHostPort(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("address \"" + std::string(text) + "\": " + why);
  };
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return bad("expected \":PORT\" after ']'");
    port = rest.substr(1);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected HOST:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return bad("an IPv6 address must be written in brackets, as [::1]:PORT");
  }
  if (host.empty()) return bad("empty host");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return bad("port must be a number from 0 to 65535");
  std::error_code parse_error;
  asio::ip::address address = asio::ip::make_address(std::string(host), parse_error);
  if (parse_error) return bad("not a numeric IPv4 or IPv6 address (names are not resolved)");
  if (address.is_v4() && text.front() == '[') return bad("brackets are for IPv6 addresses");
  return asio::ip::udp::endpoint(address, static_cast<unsigned short>(value));
}

std::string FormatHostPort(const asio::ip::udp::endpoint& endpoint) {
  std::string host = endpoint.address().to_string();
  std::string port = std::to_string(endpoint.port());
  if (endpoint.address().is_v6()) return "[" + host + "]:" + port;
  return host + ":" + port;
}

}  // namespace topo::net
