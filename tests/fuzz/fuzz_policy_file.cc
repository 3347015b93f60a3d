// libFuzzer target: the policy file parser (docs/policy.md) on arbitrary text. Beyond the
// sanitizers it checks that a refusal is a PolicyError whose message is "NAME:LINE: reason" or
// "NAME: reason", printable ASCII and bounded whatever the input (values are cut and escaped),
// and that an accepted policy survives format_policy -> parse_policy unchanged and keeps the
// parser's promises (levels without gaps, non-decreasing thresholds, ports set).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "policy_file.h"

namespace {

using sluice::dataplane::PolicyError;
using sluice::dataplane::PolicyFile;

[[noreturn]] void fail(const char *what, const std::string &detail) {
  fprintf(stderr, "fuzz_policy_file: %s: %s\n", what, detail.substr(0, 400).c_str());
  abort();
}

PolicyFile parse(const std::string &text) {
  std::istringstream in(text);
  return sluice::dataplane::parse_policy(in, "fuzz.ini");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  PolicyFile p;
  try {
    p = parse(text);
  } catch (const PolicyError &e) {
    const std::string msg = e.what();
    if (msg.rfind("fuzz.ini:", 0) != 0) fail("message without the file name", msg);
    if (msg.size() > 600) fail("message not bounded", msg);
    for (unsigned char c : msg)
      if (c < 0x20 || c > 0x7e) fail("raw byte in a message", msg);
    return 0;
  }
  const sl_policy &pol = p.policy;
  if (pol.nlevels < 1 || pol.nlevels > SL_MAX_LEVELS) fail("nlevels", std::to_string(pol.nlevels));
  if (p.level_names.size() != pol.nlevels)
    fail("level names", std::to_string(p.level_names.size()));
  // Non-decreasing within each set: the outbound levels (from out_first) start a set of their
  // own, on the subscriber's score.
  for (unsigned l = 2; l < pol.nlevels; ++l)
    if (l != pol.out_first && pol.thresholds[l] < pol.thresholds[l - 1])
      fail("thresholds decrease", std::to_string(l));
  if (pol.smtp_ports[0] == 0) fail("no SMTP port", "");
  for (unsigned l = 1; l < pol.nlevels; ++l)
    if (pol.profiles[l].window_clamp != 0 && !pol.profiles[l].strip_wscale)
      fail("window clamp with window scale", std::to_string(l));
  (void)sluice::dataplane::policy_warnings(p, "fuzz.ini");

  PolicyFile again;
  const std::string formatted = sluice::dataplane::format_policy(p);
  try {
    again = parse(formatted);
  } catch (const PolicyError &e) {
    fail("format_policy output refused", e.what());
  }
  if (std::memcmp(&again.policy, &p.policy, sizeof(sl_policy)) != 0)
    fail("round trip changed the policy", formatted);
  if (again.level_names != p.level_names) fail("round trip changed the names", formatted);
  return 0;
}
