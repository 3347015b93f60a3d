// sluicectl table diff: what changed between two table files, and the delta file.
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <span>

#include "command_registry.h"
#include "sluice/reputation/address.h"
#include "sluice/reputation/delta.h"
#include "sluice/reputation/snapshot.h"
#include "text_table.h"

namespace sluicectl {
namespace {

namespace rep = sluice::reputation;
using nlohmann::json;

template <class E>
std::string entry_key(const E &e);
template <>
std::string entry_key(const rep::HostV4 &e) {
  return rep::format_ipv4(sl_ntohl(e.addr_be));
}
template <>
std::string entry_key(const rep::PrefixV4 &e) {
  return rep::format_prefix<uint32_t>(sl_ntohl(e.addr_be), e.len);
}
template <>
std::string entry_key(const rep::HostV6 &e) {
  return rep::format_ipv6(rep::v6_from_bytes(e.addr));
}
template <>
std::string entry_key(const rep::PrefixV6 &e) {
  return rep::format_prefix<rep::U128>(rep::v6_from_bytes(e.addr), e.len);
}

std::string value_text(const sl_rep_value &v) {
  return fmt::format("{}{}", v.score, v.flags & SL_REP_ALLOW ? " allow" : "");
}

// Old values of changed entries, by key, for display.
template <class E>
std::map<std::string, sl_rep_value> old_values(std::span<const E> old_entries,
                                               const std::vector<E> &changed) {
  std::map<std::string, sl_rep_value> want;
  for (const auto &e : changed) want[entry_key(e)] = {};
  for (const auto &e : old_entries)
    if (auto it = want.find(entry_key(e)); it != want.end()) it->second = e.value;
  return want;
}

template <class E>
void list_changes(const rep::EntryChanges<E> &c, std::span<const E> old_entries, size_t &budget,
                  TextTable &tt, json &j) {
  auto olds = c.changed.empty() ? std::map<std::string, sl_rep_value>{}
                                : old_values(old_entries, c.changed);
  auto emit = [&](const char *what, const E &e, const std::string &from, const std::string &to) {
    j.push_back({{"change", what}, {"entry", entry_key(e)}, {"old", from}, {"new", to}});
    if (budget == 0) return;
    --budget;
    tt.row({what, entry_key(e), from, to});
  };
  for (const auto &e : c.added) emit("add", e, "", value_text(e.value));
  for (const auto &e : c.changed)
    emit("change", e, value_text(olds[entry_key(e)]), value_text(e.value));
  for (const auto &e : c.removed) emit("remove", e, value_text(e.value), "");
}

int run(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()("output,o", po::value<std::string>()->value_name("DELTA"),
                             "also write the delta file (for live updates)")(
      "limit", po::value<size_t>()->default_value(20)->value_name("N"),
      "list at most N changes in the human output");
  opts.json("output JSON (every change)").words("tables", 2, "OLD NEW");
  const auto found = parse_command(
      ctx, opts,
      {"sluicectl table diff OLD NEW [--output DELTA] [--json]",
       "Compares two compiled tables: entries added, changed and removed, per kind. Applying "
       "the\ndelta (upsert added and changed, delete removed) to OLD gives NEW."});
  if (!found) return kExitOk;
  const po::variables_map &vm = *found;
  if (!vm.count("tables") || vm["tables"].as<std::vector<std::string>>().size() != 2)
    throw UsageError("two tables are required: OLD NEW");
  const auto &paths = vm["tables"].as<std::vector<std::string>>();
  rep::Snapshot a = rep::Snapshot::load(paths[0]);
  rep::Snapshot b = rep::Snapshot::load(paths[1]);
  rep::Delta d = rep::diff(a, b);
  if (vm.count("output")) d.save(vm["output"].as<std::string>());
  size_t budget = vm.count("json") ? 0 : vm["limit"].as<size_t>();
  TextTable changes({"change", "entry", "old", "new"});
  json list = json::array();
  list_changes(d.hosts_v4, a.hosts_v4(), budget, changes, list);
  list_changes(d.prefixes_v4, a.prefixes_v4(), budget, changes, list);
  list_changes(d.hosts_v6, a.hosts_v6(), budget, changes, list);
  list_changes(d.prefixes_v6, a.prefixes_v6(), budget, changes, list);
  auto counts = [](const auto &c) {
    return json{
        {"added", c.added.size()}, {"changed", c.changed.size()}, {"removed", c.removed.size()}};
  };
  if (vm.count("json")) {
    json j = {{"hosts_v4", counts(d.hosts_v4)},
              {"prefixes_v4", counts(d.prefixes_v4)},
              {"hosts_v6", counts(d.hosts_v6)},
              {"prefixes_v6", counts(d.prefixes_v6)},
              {"total", d.size()},
              {"changes", list}};
    if (vm.count("output")) j["output"] = vm["output"].as<std::string>();
    ctx.out << j.dump(2) << "\n";
    return kExitOk;
  }
  TextTable tt({"kind", "added", "changed", "removed"});
  auto row = [&](const char *k, const auto &c) {
    tt.row({k, std::to_string(c.added.size()), std::to_string(c.changed.size()),
            std::to_string(c.removed.size())});
  };
  row("IPv4 hosts", d.hosts_v4);
  row("IPv4 prefixes", d.prefixes_v4);
  row("IPv6 hosts", d.hosts_v6);
  row("IPv6 prefixes", d.prefixes_v6);
  tt.print(ctx.out);
  ctx.out << fmt::format("\n{} changes", d.size());
  if (vm.count("output")) ctx.out << ", delta written to " << vm["output"].as<std::string>();
  ctx.out << "\n";
  if (!changes.empty()) {
    ctx.out << "\n";
    changes.print(ctx.out);
    if (d.size() > vm["limit"].as<size_t>())
      ctx.out << fmt::format("... and {} more (--limit, --json)\n",
                             d.size() - vm["limit"].as<size_t>());
  }
  return kExitOk;
}

const CommandRegistrar kDiff("table diff", "compare two table files (and write a delta)", run);

}  // namespace
}  // namespace sluicectl
