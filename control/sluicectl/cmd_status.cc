// sluicectl status: what sluiced keeps (its table, every data plane, every source).
#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "daemon_call.h"
#include "text_table.h"

namespace sluicectl {
namespace {

using nlohmann::json;

std::string str(const json &j, const char *k) {
  return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string("-");
}

std::string num(const json &j, const char *k) {
  return j.contains(k) && j[k].is_number() ? j[k].dump() : std::string("-");
}

std::string ago(const json &unix_s) {
  if (!unix_s.is_number()) return "never";
  return format_age(json(static_cast<int64_t>(std::time(nullptr)) - unix_s.get<int64_t>())) +
         " ago";
}

int run(Context &ctx) {
  CommandOptions opts;
  opts.json();
  const auto found =
      parse_command(ctx, opts,
                    {"sluicectl [--daemon PATH] status [--json]",
                     "Shows what sluiced keeps: its table (version, entries), every data plane "
                     "(reachable,\nin sync with the table, last push) and every source (entries, "
                     "age, stale, state).\nExit 0 whatever the state; 1 when sluiced cannot be "
                     "reached."});
  if (!found) return kExitOk;
  const json r = daemon_call(ctx, {{"cmd", "status"}});
  if (found->count("json")) {
    json out = r;
    out.erase("ok");
    ctx.out << out.dump(2) << "\n";
    return kExitOk;
  }
  const json &t = r.at("table");
  ctx.out << "table: version " << str(t, "version") << ", " << num(t, "entries")
          << " entries, last changed " << ago(t.value("built_unix", json())) << "\n\n";
  TextTable dps({"data plane", "reachable", "table", "version", "last push", "error"});
  for (const auto &d : r.at("dataplanes"))
    dps.row({str(d, "spec"), d.value("reachable", false) ? "yes" : "no",
             d.value("in_sync", false) ? "in sync" : "NOT in sync", str(d, "version"),
             ago(d.value("last_push_unix", json())), str(d, "last_error")});
  if (dps.empty())
    ctx.out << "data planes: none configured\n";
  else
    dps.print(ctx.out);
  ctx.out << "\n";
  TextTable srcs({"source", "state", "entries", "age", "stale", "rejections"});
  for (const auto &s : r.at("sources"))
    srcs.row({str(s, "name"), str(s, "state"), num(s, "entries"),
              format_age(s.value("age_s", json())), s.value("stale", false) ? "STALE" : "no",
              num(s, "rejections")});
  if (srcs.empty())
    ctx.out << "sources: none\n";
  else
    srcs.print(ctx.out);
  return kExitOk;
}

const CommandRegistrar kStatus("status", "sluiced's table, data planes and sources", run);

}  // namespace
}  // namespace sluicectl
