// sluicectl sources list | accept NAME: the list sources sluiced refreshes, and the one-time
// override of a source's guards.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "daemon_call.h"
#include "text_table.h"

namespace sluicectl {
namespace {

using nlohmann::json;

std::string str(const json &j, const char *k) {
  return j.contains(k) && j[k].is_string() && !j[k].get<std::string>().empty()
             ? j[k].get<std::string>()
             : std::string("-");
}

int list(Context &ctx) {
  CommandOptions opts;
  opts.json();
  const auto found = parse_command(
      ctx, opts,
      {"sluicectl [--daemon PATH] sources list [--json]",
       "Every source of sluiced's sources file: entries of its live (last good) version, that\n"
       "version's age, its state (ok; rejected: the current file was refused and the last good\n"
       "version stays live; missing: never read successfully), STALE when older than its\n"
       "max_age, and the last rejection's reason."});
  if (!found) return kExitOk;
  const json r = daemon_call(ctx, {{"cmd", "sources list"}});
  if (found->count("json")) {
    ctx.out << r.at("sources").dump(2) << "\n";
    return kExitOk;
  }
  TextTable t({"name", "entries", "age", "state", "last rejection"});
  for (const auto &s : r.at("sources")) {
    std::string state = str(s, "state");
    if (s.value("stale", false)) state += ", STALE";
    t.row({str(s, "name"), s.value("entries", json(0)).dump(), format_age(s.value("age_s", json())),
           state, str(s, "last_rejection")});
  }
  if (t.empty())
    ctx.out << "no sources\n";
  else
    t.print(ctx.out);
  return kExitOk;
}

int accept(Context &ctx) {
  CommandOptions opts;
  opts.words("name", 1, "the source");
  const auto found = parse_command(
      ctx, opts,
      {"sluicectl [--daemon PATH] sources accept NAME",
       "Reads source NAME's list once with its guards off: a version that lists nothing or\n"
       "shrank more than max_shrink goes live (one that does not parse is still refused).\n"
       "NAME is the source's name in the sources file, never a path."});
  if (!found) return kExitOk;
  if (!found->count("name")) throw UsageError("NAME is required");
  const std::string name = (*found)["name"].as<std::vector<std::string>>().front();
  const json r = daemon_call(ctx, {{"cmd", "sources accept"}, {"name", name}});
  ctx.out << "source " << name << " accepted; table " << str(r, "table_version") << "\n";
  return kExitOk;
}

const GroupRegistrar kGroup("sources", "sluiced's list sources: list, accept");
const CommandRegistrar kList("sources list", "every source: entries, age, state, last rejection",
                             list);
const CommandRegistrar kAccept("sources accept", "accept a refused source once (by NAME)", accept);

}  // namespace
}  // namespace sluicectl
