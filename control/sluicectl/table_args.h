// What the `sluicectl table ...` commands share: address and threshold arguments, and the
// levels shown under --thresholds or --policy.
#pragma once

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "command_registry.h"
#include "sluice/reputation/address.h"

namespace sluicectl {

// "198.18.0.1" or "2001:2::1"; anything else is a usage error.
sluice::reputation::IpAddress parse_address_arg(const std::string &a);
// All the ADDR... words of a command.
std::vector<sluice::reputation::IpAddress> address_args(const po::variables_map &vm,
                                                        const char *name);

// "3,5,8": thresholds of levels 1, 2, 3 (non-decreasing); else a usage error.
std::vector<int32_t> parse_thresholds(const std::string &s);

std::string code_text(uint32_t code);  // a DNSBL return code as an address, "" for none
// Several codes, each as code_text, joined by "+" ("127.0.0.2+127.0.0.4"); "" for none.
std::string codes_text(const std::vector<uint32_t> &codes);
nlohmann::json codes_json(const std::vector<uint32_t> &codes);  // ["127.0.0.2", ...]
std::string signed_text(int64_t v);                             // "+3", "0", "-2"

// Thresholds (and level names) for showing levels: from --thresholds, or from the data plane's
// policy file with --policy (docs/policy.md).
struct Levels {
  std::vector<int32_t> thresholds;  // [k] opens level k + 1
  std::vector<std::string> names;   // [level], may be empty
  bool any() const { return !thresholds.empty(); }
  std::string text(uint32_t level) const {
    if (level < names.size() && !names[level].empty())
      return fmt::format("{} ({})", level, names[level]);
    return std::to_string(level);
  }
};

// --thresholds and --policy.
void add_level_options(CommandOptions &opts);
Levels levels_from(const po::variables_map &vm);

}  // namespace sluicectl
