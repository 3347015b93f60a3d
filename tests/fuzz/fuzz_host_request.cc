// libFuzzer target: sluiced's dynamic-entry requests (host.set, host.unset, clear on its control
// socket) and the field parsers under them. Input: byte 0 picks what the rest is:
//   0 host.set arguments (JSON)    3 a prefix as text          6 an entry as in a reply (JSON)
//   1 host.unset arguments (JSON)  4 a ttl as text
//   2 clear arguments (JSON)       5 reason text
// Beyond the sanitizers it checks that every refusal is an EntryError whose message is printable
// ASCII and bounded (input is quoted through shown()), that an accepted prefix has no host bits
// and reads back from its canonical text, that an accepted ttl is in range and reads back from
// its short form, and that an accepted host.set's entry survives the JSON round trip.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dynamic_entry.h"
#include "host_request.h"

namespace {

namespace sl = sluice::sluiced;
using nlohmann::json;

[[noreturn]] void fail(const char *what, const std::string &detail) {
  fprintf(stderr, "fuzz_host_request: %s: %s\n", what, detail.substr(0, 400).c_str());
  abort();
}

void check_message(const std::string &m) {
  if (m.empty() || m.size() > 600) fail("message size", m);
  for (unsigned char c : m)
    if (c < 0x20 || c > 0x7e) fail("message not printable ASCII", m);
}

void check_prefix(const sl::DynamicPrefix &p) {
  const int bits = p.family == 4 ? 32 : 128;
  if (p.family != 4 && p.family != 6) fail("family", std::to_string(p.family));
  if (p.len > bits || p.len < (p.family == 4 ? sl::kMinPrefixLenV4 : sl::kMinPrefixLenV6))
    fail("length", std::to_string(p.len));
  if (p.family == 4 && (p.addr >> 32) != 0) fail("IPv4 address past 32 bits", "");
  const std::string text = sl::format_prefix(p);
  if (!(sl::parse_prefix(text) == p)) fail("prefix round trip", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char *>(data + 1), size - 1);
  const int mode = data[0] % 7;
  try {
    json args;
    if (mode <= 2 || mode == 6) {
      args = json::parse(rest, nullptr, /*allow_exceptions=*/false);
      if (args.is_discarded()) return 0;
    }
    switch (mode) {
      case 0: {
        sl::HostSetRequest r = sl::parse_host_set(args);
        check_prefix(r.prefix);
        if (r.ttl_seconds && (*r.ttl_seconds <= 0 || *r.ttl_seconds > sl::kMaxTtlSeconds))
          fail("ttl range", std::to_string(*r.ttl_seconds));
        if (r.action != sl::Action::kScore && r.score != 0) fail("score on allow/deny", "");
        for (int64_t now_ms : {int64_t{1'800'000'000'123}, INT64_MAX - 100, INT64_MIN}) {
          try {
            sl::DynamicEntry e = sl::make_entry(r, now_ms, "fuzz");
            if (!(sl::entry_from_json(json::parse(sl::to_json(e).dump())) == e))
              fail("entry JSON round trip", sl::to_json(e).dump());
          } catch (const sl::EntryError &x) {
            check_message(x.what());
          }
        }
        break;
      }
      case 1:
        check_prefix(sl::parse_host_unset(args));
        break;
      case 2:
        sl::parse_clear(args);
        break;
      case 3:
        check_prefix(sl::parse_prefix(rest));
        break;
      case 4: {
        const int64_t t = sl::parse_ttl(rest);
        if (t <= 0 || t > sl::kMaxTtlSeconds) fail("ttl range", std::to_string(t));
        if (sl::parse_ttl(sl::format_ttl(t)) != t) fail("ttl round trip", sl::format_ttl(t));
        break;
      }
      case 5:
        sl::check_text(rest, sl::kMaxReasonBytes, "reason");
        if (rest.size() > sl::kMaxReasonBytes) fail("long text accepted", "");
        (void)json(std::string(rest))
            .dump();  // accepted text is valid UTF-8: dump() must not throw
        break;
      case 6: {
        sl::DynamicEntry e = sl::entry_from_json(args);
        check_prefix(e.prefix);
        (void)sl::to_json(e).dump();
        break;
      }
    }
  } catch (const sl::EntryError &x) {
    check_message(x.what());
  }
  return 0;
}
