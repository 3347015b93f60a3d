// libFuzzer target: the reputation list parsers (plain list, rbldnsd zones, Spamhaus DROP
// text and JSON). Input: byte 0 picks the format (mod 8, in the order of kTypes), the rest is
// the file. Beyond the sanitizers it checks that every entry is a valid prefix (length within
// its family, no host bits set), that no parser throws when no malformed-line limit applies,
// and that every problem message is "test.src:LINE: reason", printable ASCII and bounded
// (input is cut and escaped); then the entries compile into a table.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sluice/reputation/address.h"
#include "sluice/reputation/compile.h"
#include "sluice/reputation/error.h"
#include "sluice/reputation/source.h"

namespace {

namespace rep = sluice::reputation;

constexpr rep::SourceType kTypes[] = {
    rep::SourceType::kList,           rep::SourceType::kRbldnsdIp4set,
    rep::SourceType::kRbldnsdIp4tset, rep::SourceType::kRbldnsdIp4trie,
    rep::SourceType::kRbldnsdIp6trie, rep::SourceType::kRbldnsdIp6tset,
    rep::SourceType::kDrop,           rep::SourceType::kDropJson,
};

[[noreturn]] void fail(const char *what, const std::string &detail) {
  fprintf(stderr, "fuzz_list_parsers: %s: %s\n", what, detail.substr(0, 400).c_str());
  abort();
}

template <class A>
void check_entries(const std::vector<rep::Entry<A>> &entries) {
  constexpr int bits = rep::Family<A>::kBits;
  for (const auto &e : entries) {
    if (e.len > bits) fail("prefix length", std::to_string(e.len));
    if ((e.addr & ~rep::prefix_mask<A>(e.len)) != 0)
      fail("host bits set", rep::format_prefix<A>(e.addr, e.len));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  rep::SourceConfig cfg;
  cfg.name = "fuzz";
  cfg.type = kTypes[data[0] % (sizeof kTypes / sizeof kTypes[0])];
  cfg.path = "test.src";
  cfg.weight = 3;
  cfg.code_weights[0x7f000004] = 5;
  cfg.max_malformed = static_cast<size_t>(-1);  // every line reported, none stops the parse
  const std::string_view text(reinterpret_cast<const char *>(data) + 1, size - 1);
  rep::ParsedSource p;
  try {
    p = rep::parse_source_text(cfg, text, cfg.path, 0);
  } catch (const rep::Error &e) {
    fail("a parser threw with no malformed-line limit", e.what());
  }
  check_entries(p.v4);
  check_entries(p.v6);
  for (const std::string &msg : p.problems) {
    if (msg.rfind("test.src:", 0) != 0) fail("problem without file:line", msg);
    if (msg.size() > 600) fail("problem message not bounded", msg);
    for (unsigned char c : msg)
      if (c < 0x20 || c > 0x7e) fail("raw byte in a problem message", msg);
  }
  if (p.malformed() > p.lines) fail("more malformed lines than lines", std::to_string(p.lines));
  std::vector<rep::ParsedSource> ps{std::move(p)};
  std::vector<rep::SourceConfig> cs{cfg};
  try {
    (void)rep::compile(ps, cs);
  } catch (const rep::Error &e) {
    fail("parsed entries do not compile", e.what());
  }
  return 0;
}
