// Helpers for the reputation tests: parse text as a given source type and render entries as
// short strings, so expectations read like the lists themselves.
#pragma once

#include <arpa/inet.h>
#include <gmock/gmock.h>

#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "sluice/reputation/address.h"
#include "sluice/reputation/error.h"
#include "sluice/reputation/snapshot.h"
#include "sluice/reputation/source.h"

namespace sluice::reputation::testing {

inline SourceConfig config(SourceType t, int32_t weight = 1) {
  SourceConfig c;
  c.name = "test";
  c.type = t;
  c.path = "test.src";
  c.weight = weight;
  return c;
}

inline ParsedSource parse(const SourceConfig &c, std::string_view text) {
  return parse_source_text(c, text, "test.src");
}

// "198.18.1.0/24 w=3 c=2" (c = last octet of the return code, omitted when 0), "!" prefix for
// exclusions.
template <class A>
std::string render(const Entry<A> &e) {
  std::string s =
      fmt::format("{}{} w={}", e.exclude ? "!" : "", format_prefix<A>(e.addr, e.len), e.weight);
  if (e.code) s += fmt::format(" c={}", e.code & 0xff);
  return s;
}

inline std::vector<std::string> rendered(const ParsedSource &p) {
  std::vector<std::string> out;
  for (const auto &e : p.v4) out.push_back(render(e));
  for (const auto &e : p.v6) out.push_back(render(e));
  return out;
}

inline uint32_t be4(const char *text) {
  uint32_t a;
  inet_pton(AF_INET, text, &a);
  return a;
}

struct V6 {
  uint8_t b[16];
};
inline V6 v6(const char *text) {
  V6 a{};
  inet_pton(AF_INET6, text, a.b);
  return a;
}

// The value a table gives an address: no match means score 0, no flags.
inline sl_rep_value value4(const Snapshot &t, const char *addr) {
  return t.lookup_v4(be4(addr)).value_or(sl_rep_value{0, 0});
}
inline sl_rep_value value6(const Snapshot &t, const char *addr) {
  return t.lookup_v6(v6(addr).b).value_or(sl_rep_value{0, 0});
}

// A table of n IPv4 hosts numbered up from 198.18.0.0 + first, each scored `score`.
inline std::vector<HostV4> numbered_hosts(uint32_t first, uint32_t n, int32_t score) {
  std::vector<HostV4> h;
  h.reserve(n);
  for (uint32_t i = 0; i < n; ++i) h.push_back({sl_htonl(0xc6120000u + first + i), {score, 0}});
  return h;
}

}  // namespace sluice::reputation::testing
