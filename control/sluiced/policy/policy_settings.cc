#include "policy_settings.h"

#include <arpa/inet.h>

#include <charconv>

#include "input_text.h"

namespace sluice::sluiced::policy {

std::string Listen::text() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  const bool v6 = host.find(':') != std::string::npos;
  return "inet:" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Listen parse_listen(std::string_view text) {
  auto bad = [&](const std::string &why) { return SettingsError(shown(text) + ": " + why); };
  Listen l;
  if (text.rfind("unix:", 0) == 0) {
    l.kind = Listen::Kind::kUnix;
    l.path = std::string(text.substr(5));
    if (l.path.empty() || l.path.front() != '/') throw bad("a unix socket needs an absolute path");
    if (l.path.size() >= 108) throw bad("the path is longer than a unix socket address takes");
    return l;
  }
  if (text.rfind("inet:", 0) != 0) throw bad("expected unix:PATH or inet:ADDRESS:PORT");
  l.kind = Listen::Kind::kInet;
  std::string_view rest = text.substr(5), host, port;
  bool v6 = false;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      throw bad("expected inet:[IPV6]:PORT");
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
    v6 = true;
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) throw bad("expected inet:ADDRESS:PORT");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) throw bad("an IPv6 address goes in brackets");
  }
  l.host = std::string(host);
  unsigned char buf[16];
  if (inet_pton(v6 ? AF_INET6 : AF_INET, l.host.c_str(), buf) != 1)
    throw bad(shown(l.host) + " is not a numeric " + (v6 ? "IPv6" : "IPv4") + " address");
  unsigned value = 0;
  const auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || value > 65535)
    throw bad("the port must be a number 0..65535");
  l.port = static_cast<uint16_t>(value);
  return l;
}

bool is_loopback_host(const std::string &host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
}

}  // namespace sluice::sluiced::policy
