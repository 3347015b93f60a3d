// libFuzzer target: the reputation list parsers (plain list, rbldnsd zones, Spamhaus DROP
// text and JSON) and the gzip layer in front of them. Input: byte 0's low three bits pick the
// format (in the order of kTypes), its next two bits how the rest (the file) is fed:
//   0  as text (parse_source_text)
//   1  gzip-compressed here, then read as a list file's bytes (parse_source_bytes): the result
//      must equal the text's
//   2  as a list file's bytes, raw: hostile gzip streams (the rest may start with 1f 8b); only
//      SourceError may come out, and a 1 MiB max_size bounds any bomb
//   3  gzip-compressed here, then cut short (the cut chosen by the last byte): always refused
//      as a truncated stream, never parsed in part
// Beyond the sanitizers it checks that every entry is a valid prefix (length within its family,
// no host bits set), that no parser throws when no malformed-line limit applies, and that every
// problem message is "test.src:LINE: reason", printable ASCII and bounded (input is cut and
// escaped); then the entries compile into a table.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <zlib.h>

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

std::string gzip(std::string_view text) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    fail("deflateInit2", "");
  std::string out(deflateBound(&zs, text.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef *>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) fail("deflate", "");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

template <class A>
bool same(const std::vector<rep::Entry<A>> &a, const std::vector<rep::Entry<A>> &b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].addr != b[i].addr || a[i].len != b[i].len || a[i].weight != b[i].weight ||
        a[i].code != b[i].code || a[i].line != b[i].line || a[i].exclude != b[i].exclude)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  rep::SourceConfig cfg;
  cfg.name = "fuzz";
  cfg.type = kTypes[data[0] & 7];
  const int mode = (data[0] >> 3) & 3;
  cfg.path = "test.src";
  cfg.weight = 3;
  cfg.code_weights[0x7f000004] = 5;
  cfg.max_malformed = static_cast<size_t>(-1);  // every line reported, none stops the parse
  cfg.allow_empty = true;
  const std::string_view text(reinterpret_cast<const char *>(data) + 1, size - 1);
  rep::ParsedSource p;
  try {
    p = rep::parse_source_text(cfg, text, cfg.path, 0);
  } catch (const rep::Error &e) {
    fail("a parser threw with no malformed-line limit", e.what());
  }
  if (mode == 1) {
    rep::ParsedSource g;
    try {
      g = rep::parse_source_bytes(cfg, gzip(text), cfg.path, 0);
    } catch (const rep::Error &e) {
      fail("a gzipped list was refused", e.what());
    }
    if (!g.gzip || !same(g.v4, p.v4) || !same(g.v6, p.v6) || g.problems != p.problems ||
        g.lines != p.lines)
      fail("gzipped and plain parses differ", std::string(text));
  } else if (mode == 2) {
    cfg.max_size = 1 << 20;
    try {
      (void)rep::parse_source_bytes(cfg, std::string(text), cfg.path, 0);
    } catch (const rep::SourceError &) {
      // refused with a kind: fine
    } catch (const std::exception &e) {
      fail("raw bytes threw something other than a SourceError", e.what());
    }
  } else if (mode == 3) {
    const std::string gz = gzip(text);
    const size_t cut = 2 + data[size - 1] % (gz.size() - 2);  // 2 .. size-1: a strict prefix
    try {
      (void)rep::parse_source_bytes(cfg, gz.substr(0, cut), cfg.path, 0);
      fail("a truncated gzip stream was parsed", std::to_string(cut));
    } catch (const rep::SourceError &e) {
      if (e.kind() != rep::SourceError::Kind::kTruncated)
        fail("a truncated gzip stream was not refused as truncated", e.what());
    }
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
