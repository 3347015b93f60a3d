// sluicectl policy recent: the last requests sluiced's Postfix policy service answered (client
// address, HELO name, envelope-sender domain, score, level, answer) and its counters.
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
                             "at most N requests (default: every one sluiced keeps)");
  opts.json();
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl [--daemon PATH] policy recent [-n N] [--json]",
       "The last requests sluiced's Postfix policy service answered, oldest first: time (UTC),\n"
       "client address, HELO name, envelope-sender domain, SMTP stage, the client's score and\n"
       "level, the answer's action and whether the recipient was a spam trap; then the\n"
       "service's counters. sluiced keeps [policy] recent requests (default 64)."});
  if (!vm) return kExitOk;
  json req = {{"cmd", "policy recent"}};
  if (vm->count("limit")) req["limit"] = (*vm)["limit"].as<unsigned>();
  const json r = daemon_call(ctx, req);
  if (vm->count("json")) {
    ctx.out << r.dump(2) << "\n";
    return kExitOk;
  }
  if (!r.value("enabled", false)) {
    ctx.out << "the policy service is off (no listen in sluiced.ini's [policy])\n";
    return kExitOk;
  }
  ctx.out << "listening on " << cell(r, "listen") << "\n";
  TextTable t(
      {"time", "client", "helo", "sender domain", "stage", "score", "level", "action", "trap"});
  for (const auto &e : r.at("recent"))
    t.row({when(e.value("time_unix", json())), cell(e, "client_address"), cell(e, "helo_name"),
           cell(e, "sender_domain"), cell(e, "protocol_state"), cell(e, "score"), cell(e, "level"),
           cell(e, "action"), e.value("trap", false) ? "TRAP" : ""});
  if (t.empty())
    ctx.out << "no requests yet\n";
  else
    t.print(ctx.out);
  const json &c = r.at("counters");
  std::string replies;
  for (const auto &[verb, n] : c.at("replies").items())
    replies += fmt::format("{}{} {}", replies.empty() ? "" : ", ", verb, n.dump());
  uint64_t refused = 0;
  for (const auto &[why, n] : c.at("refusals").items())
    refused += n.is_number_unsigned() ? n.get<uint64_t>() : 0;
  ctx.out << fmt::format(
      "requests {} ({}); refused {}; trap hits {} (entries {}, errors {}); connections {} open, "
      "{} in all, {} timed out, {} evicted\n",
      cell(c, "requests"), replies.empty() ? "none" : replies, refused, cell(c, "trap_hits"),
      cell(c, "trap_entries"), cell(c, "trap_errors"), cell(c, "clients"), cell(c, "connections"),
      cell(c, "timeouts"), cell(c, "evicted"));
  return kExitOk;
}

const CommandRegistrar kRecent("policy recent",
                               "the Postfix policy service's last requests and counters (sluiced)",
                               run);

}  // namespace
}  // namespace sluicectl
