// sluicectl table explain: which source entries make an address's score.
#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "explain_live.h"
#include "sluice/reputation/compile.h"
#include "sluice/reputation/explain.h"
#include "sluice/reputation/sources_file.h"
#include "table_args.h"
#include "text_table.h"

namespace sluicectl {
namespace {

namespace rep = sluice::reputation;
using nlohmann::json;

int run(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()("sources,s", po::value<std::string>()->value_name("FILE"),
                             "the sources file (INI)");
  opts.json().words("address", -1, "addresses");
  add_level_options(opts);
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl table explain [--sources FILE] ADDR... [--thresholds T1,T2,...] [--json]",
       "Shows, for each address, every source entry that covers it, which entry decides for "
       "each\nsource (the most specific; an exclusion wins a tie), each source's contribution, "
       "the\nresulting score and allow flag, and the level under the given thresholds.\n\nWithout "
       "--sources, asks sluiced (--daemon) about "
       "the table it keeps: every source of the\nlive table, sluiced's dynamic entries with their "
       "reason, origin and expiry."});
  if (!vm) return kExitOk;
  const std::vector<rep::IpAddress> addrs = address_args(*vm, "address");
  const Levels levels = levels_from(*vm);
  if (!vm->count("sources")) return explain_live(ctx, *vm, addrs, levels);
  rep::SourcesFile sf = rep::load_sources_file((*vm)["sources"].as<std::string>());
  std::vector<rep::ParsedSource> parsed = rep::parse_all(sf);
  for (const auto &p : parsed)
    for (const auto &msg : p.problems) ctx.err << msg << "\n";
  json all = json::array();
  bool first = true;
  for (const auto &a : addrs) {
    rep::Explanation x = rep::explain(sf, parsed, a);
    json j = {{"address", rep::format_ip(a)},
              {"score", x.value.score},
              {"allow", x.allow},
              {"sources", json::array()}};
    uint32_t level = rep::level_for(levels.thresholds, x.value.score, x.value.flags);
    if (levels.any()) {
      j["level"] = level;
      if (level < levels.names.size()) j["level_name"] = levels.names[level];
    }
    TextTable tt({"source", "weight", "entry", "code", "where", "status", "line"});
    for (const auto &s : x.sources) {
      json js = {{"name", s.name},
                 {"type", std::string(rep::to_string(s.type))},
                 {"allow", s.allow},
                 {"listed", s.listed},
                 {"contribution", s.contribution},
                 {"entries", json::array()}};
      bool first_row = true;
      for (const auto &e : s.entries) {
        const std::string where =
            fmt::format("{}:{}", std::filesystem::path(s.path).filename().string(), e.line);
        js["entries"].push_back({{"prefix", e.prefix},
                                 {"exclude", e.exclude},
                                 {"code", code_text(e.code)},
                                 {"codes", codes_json(e.codes)},
                                 {"weight", e.weight},
                                 {"file", s.path},
                                 {"line", e.line},
                                 {"text", e.text},
                                 {"decides", e.decides}});
        std::string status = !e.decides  ? "shadowed"
                             : e.exclude ? "excluded"
                             : s.allow   ? "decides (allow)"
                                         : "decides";
        tt.row({first_row ? s.name : "", e.decides && !e.exclude ? signed_text(e.weight) : "",
                (e.exclude ? "!" : "") + e.prefix, codes_text(e.codes), where, status, e.text});
        first_row = false;
      }
      j["sources"].push_back(js);
    }
    all.push_back(j);
    if (vm->count("json")) continue;
    if (!first) ctx.out << "\n";
    first = false;
    std::string head = fmt::format("{}: score {}{}", rep::format_ip(a), x.value.score,
                                   x.allow ? ", allowlisted" : "");
    if (levels.any()) head += fmt::format(", level {}", levels.text(level));
    ctx.out << head << "\n";
    if (tt.empty())
      ctx.out << "  no source lists it\n";
    else
      tt.print(ctx.out, "  ");
  }
  if (vm->count("json")) ctx.out << (all.size() == 1 ? all[0] : all).dump(2) << "\n";
  return kExitOk;
}

const CommandRegistrar kExplain("table explain", "show which sources make an address's score", run);

}  // namespace
}  // namespace sluicectl
