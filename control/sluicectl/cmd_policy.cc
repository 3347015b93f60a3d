// sluicectl policy check: validates a policy file as the data planes would load it, warns what
// they warn, and shows what each level catches: its share of a compiled table's entries and of
// unlisted senders (score 0). docs/sluicectl.md.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "command_registry.h"
#include "core/sl_caps.h"
#include "core/sl_decide.h"
#include "policy_file.h"
#include "server_scope.h"
#include "sluice/reputation/snapshot.h"
#include "text_table.h"

namespace sluicectl {
namespace {

namespace rep = sluice::reputation;
namespace dp = sluice::dataplane;
using nlohmann::json;

// A level's aggregate caps, shortly: "; caps 4 per address, 16 per network, 30 SYN/min (burst
// 5), over: drop"; "" without caps.
std::string caps_of(const sl_caps &c) {
  if (!sl_caps_any(&c)) return "";
  std::vector<std::string> parts;
  if (c.max_flows != 0) parts.push_back(fmt::format("{} per address", c.max_flows));
  if (c.max_flows_net != 0) parts.push_back(fmt::format("{} per network", c.max_flows_net));
  if (c.syn_interval_us != 0)
    parts.push_back(
        fmt::format("{} SYN/min (burst {})", sl_caps_syn_per_min(&c), sl_caps_syn_burst(&c)));
  return fmt::format("; caps {}, over: {}", fmt::join(parts, ", "),
                     c.over == SL_CAP_RST ? "rst" : "drop");
}

std::string action_of(const sl_policy &pol, unsigned level) {
  const sl_profile &p = pol.profiles[level];
  if (level == 0) return "pass";
  if (p.block == SL_BLOCK_DROP) return "block (drop)";
  if (p.block == SL_BLOCK_RST) return "block (rst)";
  if (p.tarpit == SL_TARPIT_STATELESS) return "tarpit (stateless)";
  return (p.tarpit ? "tarpit" : "shape") + caps_of(pol.caps[level]);
}

// Table entries per level (every host and prefix entry of the four arrays, by its effective
// value, as a data plane that matched it would decide): as senders (inbound levels), or with
// `outbound` as subscribers (outbound levels).
std::array<uint64_t, SL_MAX_LEVELS> entries_per_level(const rep::Snapshot &t, const sl_policy &pol,
                                                      bool outbound) {
  std::array<uint64_t, SL_MAX_LEVELS> n{};
  auto count = [&](const auto &entries) {
    for (const auto &e : entries)
      ++n[sl_level_for(&pol, e.value.score, e.value.flags, outbound ? 1 : 0)];
  };
  count(t.hosts_v4());
  count(t.prefixes_v4());
  count(t.hosts_v6());
  count(t.prefixes_v6());
  return n;
}

std::string percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  return fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

int cmd_check(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()("table,t", po::value<std::string>()->value_name("SNAPSHOT"),
                             "a compiled table: show each level's share of its entries");
  opts.json("output JSON");
  opts.words("policy", -1, "FILE");
  const auto parsed = parse_command(
      ctx, opts,
      {"sluicectl policy check FILE [--table SNAPSHOT] [--json]",
       "Validates a policy file as sluice-dp and sluice-xdp load it (errors as FILE:LINE: "
       "reason, exit 1),\nprints the warnings they print, and shows each level: threshold, "
       "action, which level\nunlisted senders (score 0) get and, with --table, how many of "
       "the table's entries each\nlevel catches (an outbound level: as subscribers)."});
  if (!parsed) return kExitOk;
  const po::variables_map &vm = *parsed;
  if (!vm.count("policy") || vm["policy"].as<std::vector<std::string>>().size() != 1)
    throw UsageError("one policy FILE is required");
  const std::string path = vm["policy"].as<std::vector<std::string>>().front();
  const dp::PolicyFile pf = dp::load_policy(path);
  const sl_policy &pol = pf.policy;
  const std::vector<std::string> warnings = dp::policy_warnings(pf, path);
  for (const auto &w : warnings) ctx.err << w << "\n";

  std::optional<rep::Snapshot> table;
  if (vm.count("table")) table = rep::Snapshot::load(vm["table"].as<std::string>());
  std::array<uint64_t, SL_MAX_LEVELS> per_level{}, per_level_out{};
  uint64_t total = 0;
  if (table) {
    per_level = entries_per_level(*table, pol, false);
    per_level_out = entries_per_level(*table, pol, true);
    for (uint64_t n : per_level) total += n;
  }
  const unsigned unlisted = dp::unlisted_level(pf);
  const unsigned unlisted_out = dp::unlisted_level(pf, true);
  const auto outbound_level = [&](unsigned l) { return pol.out_first != 0 && l >= pol.out_first; };

  json levels = json::array();
  TextTable tt(table
                   ? std::vector<std::string>{"level", "name", "threshold", "action", "entries",
                                              "share", "unlisted"}
                   : std::vector<std::string>{"level", "name", "threshold", "action", "unlisted"});
  for (unsigned l = 0; l < pol.nlevels && l < SL_MAX_LEVELS; ++l) {
    const std::string name = l < pf.level_names.size() ? pf.level_names[l] : "";
    const std::string action = action_of(pol, l);
    const bool out = outbound_level(l);
    const bool catches_unlisted = out ? l == unlisted_out : l == unlisted;
    const double unlisted_share = catches_unlisted ? 1.0 : 0.0;
    const uint64_t entries = out ? per_level_out[l] : per_level[l];
    json j = {{"level", l},
              {"name", name},
              {"direction", out ? "outbound" : "inbound"},
              {"action", action},
              {"unlisted_share", unlisted_share}};
    j["threshold"] = l == 0 ? json(nullptr) : json(pol.thresholds[l]);
    std::vector<std::string> row = {std::to_string(l), name,
                                    l == 0 ? "-" : std::to_string(pol.thresholds[l]), action};
    if (table) {
      j["entries"] = entries;
      j["entries_share"] = total ? static_cast<double>(entries) / static_cast<double>(total) : 0.0;
      row.push_back(std::to_string(entries));
      row.push_back(percent(entries, total));
    }
    row.push_back(catches_unlisted ? "100%" : "0%");
    if (out) row[1] += " (outbound)";
    levels.push_back(std::move(j));
    tt.row(std::move(row));
  }

  std::vector<uint16_t> ports;
  for (auto p : pol.smtp_ports)
    if (p != 0) ports.push_back(sl_ntohs(p));
  // The server scope ([smtp] servers), canonical; none listed: every server is watched.
  const std::string scope = dp::format_server_scope(pol);
  std::vector<std::string> servers;
  for (size_t at = 0; !scope.empty() && at != std::string::npos;) {
    const size_t comma = scope.find(", ", at);
    servers.push_back(scope.substr(at, comma == std::string::npos ? comma : comma - at));
    at = comma == std::string::npos ? comma : comma + 2;
  }
  if (vm.count("json")) {
    std::vector<uint16_t> out_ports;
    for (auto p : pol.out_ports)
      if (p != 0) out_ports.push_back(sl_ntohs(p));
    json j = {{"policy", path},   {"valid", true},        {"ports", ports},
              {"levels", levels}, {"warnings", warnings}, {"unlisted_level", unlisted}};
    j["outbound_ports"] = out_ports;  // [] = no outbound control
    j["outbound_unlisted_level"] = unlisted_out;
    j["servers"] = servers;  // [] = every server
    j["table"] = table ? json(vm["table"].as<std::string>()) : json(nullptr);
    if (table) j["entries"] = total;
    ctx.out << j.dump(2) << "\n";
    return kExitOk;
  }
  ctx.out << fmt::format("{}: valid, {} levels, ports {}, servers {}\n", path, pol.nlevels,
                         fmt::join(ports, ", "), scope.empty() ? "all" : scope);
  if (table) ctx.out << fmt::format("table {}: {} entries\n", vm["table"].as<std::string>(), total);
  ctx.out << "\n";
  tt.print(ctx.out);
  return kExitOk;
}

const GroupRegistrar kPolicyGroup("policy",
                                  "check a policy file; the Postfix policy service (recent)");
const CommandRegistrar kCheck("policy check",
                              "validate a policy file and show what each level catches", cmd_check);

}  // namespace
}  // namespace sluicectl
