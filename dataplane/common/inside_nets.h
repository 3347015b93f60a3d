// Which port a captured frame came in on, for capture replay: a frame whose source address lies
// in one of the operator's --inside-net prefixes came from the inside (MTA) port. Shared by
// `sluice-dp replay` and `sluice-xdp replay`, so both data planes see a capture the same way.
#pragma once

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/sl_wire.h"

namespace sluice {

class InsideNets {
 public:
  // Each entry is ADDRESS or ADDRESS/LEN, IPv4 or IPv6. Throws std::invalid_argument.
  explicit InsideNets(const std::vector<std::string> &texts) {
    for (const auto &t : texts) nets_.push_back(parse(t));
  }

  bool empty() const { return nets_.empty(); }

  // True if the frame's source address (behind up to 2 VLAN tags) is in one of the prefixes.
  bool contains_source(const uint8_t *p, size_t len) const {
    size_t off = 12;
    for (int tags = 0; tags <= 2; ++tags) {
      if (off + 2 > len) return false;
      const auto type = static_cast<uint16_t>(p[off] << 8 | p[off + 1]);
      off += 2;
      if (type == SL_ETH_P_8021Q || type == SL_ETH_P_8021AD) {
        off += 2;
        continue;
      }
      if (type == SL_ETH_P_IP && off + 20 <= len) return matches(AF_INET, p + off + 12);
      if (type == SL_ETH_P_IPV6 && off + 40 <= len) return matches(AF_INET6, p + off + 8);
      return false;
    }
    return false;
  }

 private:
  struct Net {
    int family = 0;  // AF_INET / AF_INET6
    uint8_t addr[16] = {};
    unsigned len = 0;
  };

  static Net parse(const std::string &text) {
    Net n;
    const auto slash = text.find('/');
    const std::string a = text.substr(0, slash);
    if (inet_pton(AF_INET, a.c_str(), n.addr) == 1) {
      n.family = AF_INET;
      n.len = 32;
    } else if (inet_pton(AF_INET6, a.c_str(), n.addr) == 1) {
      n.family = AF_INET6;
      n.len = 128;
    } else {
      throw std::invalid_argument("--inside-net: '" + text + "' is not an address/prefix");
    }
    if (slash != std::string::npos) {
      const std::string l = text.substr(slash + 1);
      char *end = nullptr;
      const unsigned long len = std::strtoul(l.c_str(), &end, 10);
      if (l.empty() || *end != '\0' || len > n.len)
        throw std::invalid_argument("--inside-net: bad prefix length in '" + text + "'");
      n.len = static_cast<unsigned>(len);
    }
    return n;
  }

  bool matches(int family, const uint8_t *a) const {
    for (const Net &n : nets_) {
      if (family != n.family) continue;
      unsigned bits = n.len, i = 0;
      bool equal = true;
      for (; bits >= 8; bits -= 8, ++i)
        if (a[i] != n.addr[i]) equal = false;
      if (!equal) continue;
      if (bits == 0) return true;
      const auto m = static_cast<uint8_t>(0xff << (8 - bits));
      if ((a[i] & m) == (n.addr[i] & m)) return true;
    }
    return false;
  }

  std::vector<Net> nets_;
};

}  // namespace sluice
