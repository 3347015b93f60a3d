// sluicectl maillog recent: the last Postfix log lines sluiced's [maillog] follower turned into
// observations (time read, client, kind, daemon, evidence, published or not) and its counters.
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

std::string cell(const json &j, const char *k) {
  if (!j.contains(k)) return "-";
  const json &v = j[k];
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  return v.dump();
}

std::string when(const json &t) {
  if (!t.is_number_integer()) return "-";
  const std::time_t s = t.get<int64_t>();
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

int run(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()("limit,n", po::value<unsigned>()->value_name("N"),
                             "at most N matches (default: every one sluiced keeps)");
  opts.json();
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl [--daemon PATH] maillog recent [-n N] [--json]",
       "The last Postfix log lines sluiced's [maillog] follower matched, oldest first: the time\n"
       "sluiced read it (UTC), the client address, the observation kind (unknown_recipient,\n"
       "rbl_reject, pregreet, protocol_error), the Postfix daemon, the evidence, and whether it\n"
       "was published (its kind is in maillog.kinds); then the follower's counters: lines read,\n"
       "matches per kind, lines over maillog.max_line, rotations and truncations. sluiced keeps\n"
       "[maillog] recent matches (default 64)."});
  if (!vm) return kExitOk;
  json req = {{"cmd", "maillog recent"}};
  if (vm->count("limit")) req["limit"] = (*vm)["limit"].as<unsigned>();
  const json r = daemon_call(ctx, req);
  if (vm->count("json")) {
    ctx.out << r.dump(2) << "\n";
    return kExitOk;
  }
  if (!r.value("enabled", false)) {
    ctx.out << "the maillog follower is off (maillog.enabled in sluiced.ini)\n";
    return kExitOk;
  }
  ctx.out << "following " << cell(r, "path") << (r.value("open", false) ? "" : " (not open)");
  if (const std::string p = r.value("problem", ""); !p.empty()) ctx.out << ": " << p;
  ctx.out << "\n";
  TextTable t({"time", "client", "kind", "daemon", "evidence", "published"});
  for (const auto &e : r.at("recent"))
    t.row({when(e.value("time_unix", json())), cell(e, "client"), cell(e, "kind"),
           cell(e, "daemon"), cell(e, "evidence"), e.value("published", false) ? "yes" : "no"});
  if (t.empty())
    ctx.out << "no matches yet\n";
  else
    t.print(ctx.out);
  const json &c = r.at("counters");
  std::string matched;
  for (const auto &[kind, n] : c.at("matched").items())
    matched += fmt::format("{}{} {}", matched.empty() ? "" : ", ", kind, n.dump());
  ctx.out << fmt::format(
      "lines {}; matched: {}; published {}; over max_line {}; rotations {}, truncations {}\n",
      cell(c, "lines"), matched, cell(c, "published"), cell(c, "overlong"), cell(c, "rotations"),
      cell(c, "truncations"));
  return kExitOk;
}

const CommandRegistrar kRecent("maillog recent",
                               "the Postfix log lines that became observations, and counters "
                               "(sluiced)",
                               run);

}  // namespace
}  // namespace sluicectl
