// `[smtp] servers`: a comma-separated list of IPv4 and IPv6 prefixes, checked one entry at a
// time against the ones before it, so every refusal names the entry at fault.
#include "server_scope.h"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <sstream>
#include <vector>

#include "policy_file.h"

namespace sluice::dataplane {
namespace {

struct Prefix {
  bool v6 = false;
  uint8_t addr[16] = {};
  uint8_t mask[16] = {};
  unsigned len = 0;
};

std::string trim(const std::string &s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string text_of(const Prefix &p) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(p.v6 ? AF_INET6 : AF_INET, p.addr, buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(p.len);
}

// `a` lies inside `b` (same family): b's mask applied to a gives b.
bool inside(const Prefix &a, const Prefix &b) {
  if (a.v6 != b.v6 || a.len < b.len) return false;
  for (int i = 0; i < 16; ++i)
    if ((a.addr[i] & b.mask[i]) != b.addr[i]) return false;
  return true;
}

Prefix parse_prefix(const std::string &item) {
  if (item.find_first_of(" \t") != std::string::npos)
    throw PolicyError(shown(item) + " is not a prefix (separate prefixes with commas)");
  const auto slash = item.find('/');
  const std::string a = item.substr(0, slash);
  Prefix p;
  if (inet_pton(AF_INET, a.c_str(), p.addr) == 1) {
    p.len = 32;
  } else if (inet_pton(AF_INET6, a.c_str(), p.addr) == 1) {
    p.v6 = true;
    p.len = 128;
  } else {
    throw PolicyError(shown(a) + " is not an IPv4 or IPv6 address");
  }
  if (slash != std::string::npos) {
    const std::string l = item.substr(slash + 1);
    const unsigned max = p.len;
    unsigned len = 0;
    auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (l.empty() || ec != std::errc() || end != l.data() + l.size() || len > max)
      throw PolicyError("prefix length " + shown(l) + " of " + shown(item) + " is not 0.." +
                        std::to_string(max));
    p.len = len;
  }
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bits = p.len > i * 8 ? std::min(8u, p.len - i * 8) : 0;
    p.mask[i] = static_cast<uint8_t>(0xff00u >> bits);
  }
  bool host_bits = false;
  Prefix net = p;
  for (int i = 0; i < 16; ++i) {
    net.addr[i] = static_cast<uint8_t>(p.addr[i] & p.mask[i]);
    host_bits = host_bits || net.addr[i] != p.addr[i];
  }
  if (host_bits)
    throw PolicyError(shown(item) + " has host bits set (the prefix is " + text_of(net) + ")");
  return p;
}

}  // namespace

void set_server_scope(sl_policy &policy, const std::string &text) {
  std::vector<Prefix> list;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (item.empty()) throw PolicyError("empty entry in server list " + shown(text));
    const Prefix p = parse_prefix(item);
    for (const Prefix &q : list) {
      if (inside(p, q) && inside(q, p)) throw PolicyError(text_of(p) + " is listed twice");
      if (inside(p, q))
        throw PolicyError(text_of(p) + " lies inside " + text_of(q) + ", listed before");
      if (inside(q, p))
        throw PolicyError(text_of(p) + " contains " + text_of(q) + ", listed before");
    }
    const auto same_family =
        std::count_if(list.begin(), list.end(), [&](const Prefix &q) { return q.v6 == p.v6; });
    if (same_family >= SL_MAX_SERVER_PREFIXES)
      throw PolicyError("more than " + std::to_string(SL_MAX_SERVER_PREFIXES) +
                        (p.v6 ? " IPv6" : " IPv4") + " server prefixes (at " + text_of(p) + ")");
    list.push_back(p);
  }
  if (!text.empty() && text.back() == ',')
    throw PolicyError("empty entry in server list " + shown(text));
  if (list.empty())
    throw PolicyError("no server prefix given (leave the key out to watch every server)");

  policy.nservers4 = 0;
  policy.nservers6 = 0;
  std::memset(policy.servers4, 0, sizeof(policy.servers4));
  std::memset(policy.servers6, 0, sizeof(policy.servers6));
  for (const Prefix &p : list) {
    if (p.v6) {
      sl_prefix6 &d = policy.servers6[policy.nservers6++];
      std::memcpy(d.addr, p.addr, 16);
      std::memcpy(d.mask, p.mask, 16);
    } else {
      sl_prefix4 &d = policy.servers4[policy.nservers4++];
      std::memcpy(&d.addr, p.addr, 4);
      std::memcpy(&d.mask, p.mask, 4);
    }
  }
}

std::string format_server_scope(const sl_policy &policy) {
  std::string out;
  auto add = [&](bool v6, const void *addr, const void *mask) {
    Prefix p;
    p.v6 = v6;
    std::memcpy(p.addr, addr, v6 ? 16 : 4);
    std::memcpy(p.mask, mask, v6 ? 16 : 4);
    for (int i = 0; i < (v6 ? 16 : 4); ++i)
      p.len += static_cast<unsigned>(std::popcount(p.mask[i]));
    out += (out.empty() ? "" : ", ") + text_of(p);
  };
  for (unsigned i = 0; i < policy.nservers4 && i < SL_MAX_SERVER_PREFIXES; ++i)
    add(false, &policy.servers4[i].addr, &policy.servers4[i].mask);
  for (unsigned i = 0; i < policy.nservers6 && i < SL_MAX_SERVER_PREFIXES; ++i)
    add(true, policy.servers6[i].addr, policy.servers6[i].mask);
  return out;
}

}  // namespace sluice::dataplane
