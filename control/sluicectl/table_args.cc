#include "table_args.h"

#include <charconv>

#include "policy_file.h"

namespace sluicectl {

namespace rep = sluice::reputation;

namespace {
const GroupRegistrar kTable("table",
                            "build, look up, explain, diff and inspect the reputation table");
}  // namespace

rep::IpAddress parse_address_arg(const std::string &a) {
  auto ip = rep::parse_ip(a);
  if (!ip) throw UsageError(fmt::format("'{}' is not an IPv4 or IPv6 address", a));
  return *ip;
}

std::vector<rep::IpAddress> address_args(const po::variables_map &vm, const char *name) {
  if (!vm.count(name)) throw UsageError("at least one address is required");
  std::vector<rep::IpAddress> addrs;
  for (const auto &a : vm[name].as<std::vector<std::string>>())
    addrs.push_back(parse_address_arg(a));
  return addrs;
}

std::vector<int32_t> parse_thresholds(const std::string &s) {
  std::vector<int32_t> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string part = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    int32_t v;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || p != part.data() + part.size())
      throw UsageError(fmt::format("bad --thresholds '{}': expected integers like 3,5,8", s));
    if (!out.empty() && v < out.back())
      throw UsageError(fmt::format("bad --thresholds '{}': must not decrease", s));
    out.push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (out.empty()) throw UsageError("empty --thresholds");
  return out;
}

std::string codes_text(const std::vector<uint32_t> &codes) {
  std::string out;
  for (uint32_t c : codes) {
    if (!out.empty()) out += '+';
    out += code_text(c);
  }
  return out;
}

nlohmann::json codes_json(const std::vector<uint32_t> &codes) {
  nlohmann::json out = nlohmann::json::array();
  for (uint32_t c : codes) out.push_back(code_text(c));
  return out;
}

std::string code_text(uint32_t code) {
  return code ? rep::format_ipv4(code) : "";
}

std::string signed_text(int64_t v) {
  return v > 0 ? fmt::format("+{}", v) : fmt::format("{}", v);
}

void add_level_options(CommandOptions &opts) {
  opts.visible.add_options()("thresholds", po::value<std::string>()->value_name("T1,T2,..."),
                             "show the level under these thresholds (of levels 1, 2, ...)");
  opts.visible.add_options()("policy", po::value<std::string>()->value_name("FILE"),
                             "show the level under this policy file's thresholds");
}

Levels levels_from(const po::variables_map &vm) {
  Levels l;
  if (vm.count("thresholds") && vm.count("policy"))
    throw UsageError("--thresholds and --policy exclude each other");
  if (vm.count("thresholds")) l.thresholds = parse_thresholds(vm["thresholds"].as<std::string>());
  if (vm.count("policy")) {
    auto p = sluice::dataplane::load_policy(vm["policy"].as<std::string>());
    for (uint32_t i = 1; i < p.policy.nlevels && i < SL_MAX_LEVELS; ++i)
      l.thresholds.push_back(p.policy.thresholds[i]);
    l.names = p.level_names;
  }
  return l;
}

}  // namespace sluicectl
