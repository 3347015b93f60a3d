// sluicectl table lookup: addresses looked up in a table file as a data plane does.
#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "sluice/reputation/explain.h"
#include "sluice/reputation/snapshot.h"
#include "table_args.h"
#include "text_table.h"

namespace sluicectl {
namespace {

namespace rep = sluice::reputation;
using nlohmann::json;

int run(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()("table,t", po::value<std::string>()->value_name("FILE"),
                             "the table file");
  opts.json().words("address", -1, "addresses");
  add_level_options(opts);
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl table lookup --table FILE ADDR... [--thresholds T1,T2,...] [--json]",
       "Looks addresses up in a compiled table as a data plane does: the exact host entry, else "
       "the\nlongest prefix. An address the table does not match scores 0."});
  if (!vm) return kExitOk;
  if (!vm->count("table")) throw UsageError("--table FILE is required");
  const std::vector<rep::IpAddress> addrs = address_args(*vm, "address");
  const Levels levels = levels_from(*vm);
  rep::Snapshot t = rep::Snapshot::load((*vm)["table"].as<std::string>());
  json j = json::array();
  TextTable tt(!levels.any()
                   ? std::vector<std::string>{"address", "match", "score", "allow"}
                   : std::vector<std::string>{"address", "match", "score", "allow", "level"});
  for (const auto &a : addrs) {
    rep::Match m;
    std::string match = "-";
    if (a.family == 4) {
      m = t.match_v4(sl_htonl(a.v4));
      if (m.kind == rep::Match::Kind::kPrefix)
        match = rep::format_prefix<uint32_t>(sl_ntohl(t.prefixes_v4()[m.index].addr_be), m.len);
    } else {
      uint8_t b[16];
      rep::v6_to_bytes(a.v6, b);
      m = t.match_v6(b);
      if (m.kind == rep::Match::Kind::kPrefix)
        match =
            rep::format_prefix<rep::U128>(rep::v6_from_bytes(t.prefixes_v6()[m.index].addr), m.len);
    }
    if (m.kind == rep::Match::Kind::kHost) match = "host";
    const bool allow = m.value.flags & SL_REP_ALLOW;
    const char *kind = m.kind == rep::Match::Kind::kHost     ? "host"
                       : m.kind == rep::Match::Kind::kPrefix ? "prefix"
                                                             : "none";
    json e = {{"address", rep::format_ip(a)},
              {"match", kind},
              {"score", m.value.score},
              {"allow", allow}};
    if (m.kind == rep::Match::Kind::kPrefix) e["prefix"] = match;
    std::vector<std::string> row{rep::format_ip(a), match, std::to_string(m.value.score),
                                 allow ? "yes" : "no"};
    if (levels.any()) {
      uint32_t level = rep::level_for(levels.thresholds, m.value.score, m.value.flags);
      e["level"] = level;
      if (level < levels.names.size()) e["level_name"] = levels.names[level];
      row.push_back(levels.text(level));
    }
    j.push_back(e);
    tt.row(row);
  }
  if (vm->count("json"))
    ctx.out << j.dump(2) << "\n";
  else
    tt.print(ctx.out);
  return kExitOk;
}

const CommandRegistrar kLookup("table lookup", "look addresses up in a table file", run);

}  // namespace
}  // namespace sluicectl
