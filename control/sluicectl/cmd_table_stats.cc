// sluicectl table stats: validate a table file and show its header and counts.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <span>

#include "command_registry.h"
#include "sluice/reputation/snapshot.h"
#include "text_table.h"

namespace sluicectl {
namespace {

namespace rep = sluice::reputation;
using nlohmann::json;

template <class E>
void tally(std::span<const E> entries, size_t &allow, int32_t &lo, int32_t &hi, bool &any) {
  for (const auto &e : entries) {
    allow += (e.value.flags & SL_REP_ALLOW) != 0;
    if (!any || e.value.score < lo) lo = e.value.score;
    if (!any || e.value.score > hi) hi = e.value.score;
    any = true;
  }
}

int run(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()("table,t", po::value<std::string>()->value_name("FILE"),
                             "the table file");
  opts.json();
  opts.positional.add("table", 1);
  const auto found = parse_command(
      ctx, opts,
      {"sluicectl table stats --table FILE [--json]",
       "Validates a table file (magic, version, size, checksum, order) and shows its header "
       "and\nentry counts, allowlisted entries and the score range."});
  if (!found) return kExitOk;
  const po::variables_map &vm = *found;
  if (!vm.count("table")) throw UsageError("--table FILE is required");
  const std::string path = vm["table"].as<std::string>();
  rep::Snapshot t = rep::Snapshot::load(path);
  const size_t bytes = std::filesystem::file_size(path);
  size_t allow = 0;
  int32_t lo = 0, hi = 0;
  bool any = false;
  tally(t.hosts_v4(), allow, lo, hi, any);
  tally(t.prefixes_v4(), allow, lo, hi, any);
  tally(t.hosts_v6(), allow, lo, hi, any);
  tally(t.prefixes_v6(), allow, lo, hi, any);
  std::map<int, size_t> len4, len6;
  for (const auto &p : t.prefixes_v4()) ++len4[p.len];
  for (const auto &p : t.prefixes_v6()) ++len6[p.len];
  const std::string created = fmt::format("{:%Y-%m-%d %H:%M:%S} UTC",
                                          fmt::gmtime(static_cast<std::time_t>(t.created_unix())));
  const std::string checksum = fmt::format("{:016x}", t.checksum());
  if (vm.count("json")) {
    json j = {{"file", path},
              {"version", rep::kSnapshotVersion},
              {"bytes", bytes},
              {"created_unix", t.created_unix()},
              {"checksum", checksum},
              {"hosts_v4", t.hosts_v4().size()},
              {"prefixes_v4", t.prefixes_v4().size()},
              {"hosts_v6", t.hosts_v6().size()},
              {"prefixes_v6", t.prefixes_v6().size()},
              {"allow_entries", allow}};
    if (any) j["score_min"] = lo, j["score_max"] = hi;
    json l4 = json::object(), l6 = json::object();
    for (auto [l, n] : len4) l4[std::to_string(l)] = n;
    for (auto [l, n] : len6) l6[std::to_string(l)] = n;
    j["prefix_lengths_v4"] = l4;
    j["prefix_lengths_v6"] = l6;
    ctx.out << j.dump(2) << "\n";
    return kExitOk;
  }
  auto lens = [](const std::map<int, size_t> &m) {
    std::string s;
    for (auto [l, n] : m) s += fmt::format("{}/{}: {}", s.empty() ? "" : ", ", l, n);
    return s.empty() ? std::string("-") : s;
  };
  TextTable tt({"field", "value"});
  tt.row({"file", path});
  tt.row({"format version", std::to_string(rep::kSnapshotVersion)});
  tt.row({"size (bytes)", std::to_string(bytes)});
  tt.row({"created", created});
  tt.row({"checksum", checksum});
  tt.row({"IPv4 hosts", std::to_string(t.hosts_v4().size())});
  tt.row({"IPv4 prefixes", std::to_string(t.prefixes_v4().size())});
  tt.row({"IPv6 hosts", std::to_string(t.hosts_v6().size())});
  tt.row({"IPv6 prefixes", std::to_string(t.prefixes_v6().size())});
  tt.row({"allowlisted entries", std::to_string(allow)});
  tt.row({"score range", any ? fmt::format("{} .. {}", lo, hi) : "-"});
  tt.row({"IPv4 prefix lengths", lens(len4)});
  tt.row({"IPv6 prefix lengths", lens(len6)});
  tt.print(ctx.out);
  return kExitOk;
}

const CommandRegistrar kStats("table stats", "validate a table file and show its counts", run);

}  // namespace
}  // namespace sluicectl
