// sluicectl host set | unset | list: sluiced's dynamic entries (docs/sluiced.md, "Dynamic
// entries"). The arguments are checked here with the daemon's own parsers (a bad one is a usage
// error, exit 2) and again by sluiced.
#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "daemon_call.h"
#include "dynamic_entry.h"
#include "host_entry_text.h"
#include "text_table.h"

namespace sluicectl {
namespace {

namespace sl = sluice::sluiced;
using nlohmann::json;

const char *kEffective =
    "The command returns once sluiced has stored the change (it survives restarts of sluiced)\n"
    "and every data plane it reaches runs the new table. A data plane that is down or refuses\n"
    "the push is named in a warning on stderr (the exit status is still 0: the change is\n"
    "stored); sluiced pushes the table to it as soon as it answers again.";

// A usage error for a field the daemon's parsers refuse.
template <class F>
auto checked(F fn) {
  try {
    return fn();
  } catch (const sl::EntryError &e) {
    throw UsageError(e.what());
  }
}

int set(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()  //
      ("score", po::value<std::string>()->value_name("N"),
       "contribute N (signed) to the address's score")                                     //
      ("allow", po::bool_switch(), "never shape it (the allow flag), whatever the score")  //
      ("deny", po::bool_switch(),
       "the policy's highest level, whatever the score (beats any allow)")  //
      ("ttl", po::value<std::string>()->value_name("TTL"),
       "expire after TTL: seconds or 90s, 15m, 1h30m, 7d, 2w (default: never)")  //
      ("reason", po::value<std::string>()->value_name("TEXT"),
       "why, shown by host list and table explain (UTF-8, at most 256 bytes)");
  opts.json().words("prefix", 1, "ADDR or PREFIX");
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl host set ADDR|PREFIX (--score N | --allow | --deny) [--ttl TTL] "
       "[--reason TEXT] [--json]",
       fmt::format("Adds a dynamic entry for an address or prefix (IPv4 or IPv6, no host bits "
                   "after the\nlength, no wider than /8 or /16), or replaces the one it has "
                   "(latest wins). For each\naddress the most specific dynamic entry decides the "
                   "dynamic entries' part of its score.\n\n{}",
                   kEffective)});
  if (!vm) return kExitOk;
  if (!vm->count("prefix")) throw UsageError("an ADDR or PREFIX is required");
  const int actions =
      static_cast<int>(vm->count("score")) + (*vm)["allow"].as<bool>() + (*vm)["deny"].as<bool>();
  if (actions != 1) throw UsageError("give exactly one of --score N, --allow, --deny");
  const std::string prefix_text = (*vm)["prefix"].as<std::vector<std::string>>()[0];
  const sl::DynamicPrefix prefix = checked([&] { return sl::parse_prefix(prefix_text); });
  json req = {{"cmd", "host set"}, {"prefix", sl::format_prefix(prefix)}};
  if (vm->count("score")) {
    const std::string s = (*vm)["score"].as<std::string>();
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &used, 10);
    } catch (const std::exception &) {
      used = 0;
    }
    if (used == 0 || used != s.size() || v < INT32_MIN || v > INT32_MAX)
      throw UsageError(fmt::format("--score {}: not an integer from {} to {}", s.substr(0, 40),
                                   INT32_MIN, INT32_MAX));
    req["action"] = "score";
    req["score"] = v;
  } else {
    req["action"] = (*vm)["allow"].as<bool>() ? "allow" : "deny";
  }
  if (vm->count("ttl")) {
    const std::string ttl = (*vm)["ttl"].as<std::string>();
    checked([&] { return sl::parse_ttl(ttl); });
    req["ttl"] = ttl;
  }
  if (vm->count("reason")) {
    const std::string reason = (*vm)["reason"].as<std::string>();
    checked([&] {
      sl::check_text(reason, sl::kMaxReasonBytes, "--reason");
      return 0;
    });
    req["reason"] = reason;
  }
  req["origin"] = origin_text();
  const json reply = daemon_call(ctx, req);
  if (vm->count("json")) {
    ctx.out << reply.dump(2) << "\n";
    return kExitOk;
  }
  const int64_t now = reply["entry"].value("created", int64_t{0});
  ctx.out << "set " << entry_line(reply["entry"], now) << "\n";
  if (reply.contains("replaced") && !reply["replaced"].is_null())
    ctx.out << "  replaces " << entry_line(reply["replaced"], now) << "\n";
  report_dataplanes(reply, ctx.out, ctx.err);
  return kExitOk;
}

int unset(Context &ctx) {
  CommandOptions opts;
  opts.json().words("prefix", 1, "ADDR or PREFIX");
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl host unset ADDR|PREFIX [--json]",
       fmt::format("Removes the dynamic entry of exactly this address or prefix (a prefix "
                   "covering it\nstays; `sluicectl clear ADDR` removes every penalty covering "
                   "an address). No entry\nthere is not an error.\n\n{}",
                   kEffective)});
  if (!vm) return kExitOk;
  if (!vm->count("prefix")) throw UsageError("an ADDR or PREFIX is required");
  const std::string text = (*vm)["prefix"].as<std::vector<std::string>>()[0];
  const sl::DynamicPrefix prefix = checked([&] { return sl::parse_prefix(text); });
  const json reply =
      daemon_call(ctx, {{"cmd", "host unset"}, {"prefix", sl::format_prefix(prefix)}});
  if (vm->count("json")) {
    ctx.out << reply.dump(2) << "\n";
    return kExitOk;
  }
  if (reply["removed"].is_null()) {
    ctx.out << "no dynamic entry for " << sl::format_prefix(prefix) << "\n";
    return kExitOk;
  }
  ctx.out << "removed " << entry_line(reply["removed"], std::time(nullptr)) << "\n";
  report_dataplanes(reply, ctx.out, ctx.err);
  return kExitOk;
}

int list(Context &ctx) {
  CommandOptions opts;
  opts.json();
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl host list [--json]",
       "Lists sluiced's dynamic entries: prefix, action, expiry, reason and origin (which\n"
       "command or concern made it)."});
  if (!vm) return kExitOk;
  const json reply = daemon_call(ctx, {{"cmd", "host list"}});
  if (vm->count("json")) {
    ctx.out << reply.dump(2) << "\n";
    return kExitOk;
  }
  const int64_t now = reply.value("now", int64_t{0});
  TextTable tt({"prefix", "action", "expires", "reason", "origin"});
  for (const auto &e : reply["entries"])
    tt.row({e.value("prefix", "?"), action_text(e), expiry_text(e["expires"], now),
            e.value("reason", ""), e.value("origin", "")});
  if (tt.empty())
    ctx.out << "no dynamic entries\n";
  else
    tt.print(ctx.out);
  return kExitOk;
}

const GroupRegistrar kGroup("host", "sluiced's dynamic entries: set, unset, list");
const CommandRegistrar kSet("host set", "add or replace a dynamic entry (score, allow, deny; ttl)",
                            set);
const CommandRegistrar kUnset("host unset", "remove the dynamic entry of an address or prefix",
                              unset);
const CommandRegistrar kList("host list", "list the dynamic entries", list);

}  // namespace
}  // namespace sluicectl
