// sluicectl --dataplane SPEC dataplane heavy [--limit N] [--json]: the data plane's SYN heavy
// hitters (docs/observations.md), heaviest first: prefix, SYNs counted, the window they fell in.
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "command_registry.h"
#include "dataplane_client.h"
#include "dataplane_connect.h"
#include "text_table.h"

namespace sluicectl {
namespace {

using nlohmann::json;
namespace dp = sluice::control;

// The most sluice-dp answers in one reply (its "heavy" command's bound).
constexpr uint64_t kMaxLimit = 10000;

uint64_t parse_limit(const std::string &s) {
  uint64_t v = 0;
  bool ok = !s.empty() && s.size() <= 6;
  for (char c : s) ok = ok && c >= '0' && c <= '9';
  if (ok) v = std::stoull(s);
  if (!ok || v < 1 || v > kMaxLimit)
    throw UsageError(
        fmt::format("--limit must be an integer 1..{}, not '{}'", kMaxLimit, s.substr(0, 32)));
  return v;
}

std::string seconds(uint64_t ns) {
  return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
}

int run_heavy(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()("limit",
                             po::value<std::string>()->default_value("100")->value_name("N"),
                             "at most this many prefixes (1..10000)");
  opts.json("the list as JSON: prefix, syns, window_ns, syns_per_minute");
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl --dataplane SPEC dataplane heavy [--limit N] [--json]",
       "The data plane's SYN heavy hitters, heaviest first: each sender address (/32, /128) or\n"
       "network (/24, /64) whose inbound SMTP SYNs in a counting window reached the policy's\n"
       "heavy_syn_threshold, summed over lcores / CPUs. SYNS is the larger of the current\n"
       "window's count so far (a count-min sketch: it may over-count, never under-count) and\n"
       "the last window's (as last reported, within 1/16 of its end count). A prefix pushed\n"
       "out of a full candidate table is missing. Empty when the policy says heavy_hitters =\n"
       "off. See docs/observations.md."});
  if (!vm) return kExitOk;
  const uint64_t limit = parse_limit((*vm)["limit"].as<std::string>());
  const bool as_json = vm->count("json") > 0;
  try {
    const auto list = dataplane_for(ctx)->heavy_senders(limit);
    if (as_json) {
      json a = json::array();
      for (const auto &h : list)
        a.push_back({{"prefix", h.prefix},
                     {"syns", h.syns},
                     {"window_ns", h.window_ns},
                     {"syns_per_minute", h.syns_per_minute()}});
      ctx.out << a.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
      return kExitOk;
    }
    TextTable t({"prefix", "syns", "window", "syns/min"});
    for (const auto &h : list)
      t.row({h.prefix, std::to_string(h.syns), seconds(h.window_ns),
             std::to_string(h.syns_per_minute())});
    t.print(ctx.out);
    ctx.out << list.size() << " heavy sender(s)\n";
  } catch (const dp::DataplaneError &e) {
    ctx.err << ctx.command_path << ": " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

const CommandRegistrar kHeavy("dataplane heavy", "the SYN heavy hitters (sender prefixes)",
                              run_heavy);

}  // namespace
}  // namespace sluicectl
