// sluicectl clear ADDR: the undo button. Removes every dynamic penalty covering an address.
#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "daemon_call.h"
#include "host_entry_text.h"
#include "sluice/reputation/address.h"

namespace sluicectl {
namespace {

using nlohmann::json;
namespace rep = sluice::reputation;

int run(Context &ctx) {
  CommandOptions opts;
  opts.json().words("address", 1, "ADDR");
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl clear ADDR [--json]",
       "Removes every dynamic penalty covering the address: each deny and each positive score "
       "of\nsluiced's dynamic entries whose prefix contains it (a covering prefix is removed "
       "whole,\nfor every address in it), and lists them. Allows and negative scores stay; list "
       "sources\nare not touched (to let one address through whatever they say: host set ADDR "
       "--allow).\n\nThe command returns once every data plane sluiced reaches runs the new "
       "table; a data\nplane that is down is named in a warning and updated when it answers "
       "again."});
  if (!vm) return kExitOk;
  if (!vm->count("address")) throw UsageError("an ADDR is required");
  const std::string text = (*vm)["address"].as<std::vector<std::string>>()[0];
  auto ip = rep::parse_ip(text);
  if (!ip) throw UsageError("'" + text.substr(0, 64) + "': not an IPv4 or IPv6 address");
  const json reply = daemon_call(ctx, {{"cmd", "clear"}, {"address", rep::format_ip(*ip)}});
  if (vm->count("json")) {
    ctx.out << reply.dump(2) << "\n";
    return kExitOk;
  }
  if (reply["removed"].empty()) {
    ctx.out << "no dynamic penalty covers " << rep::format_ip(*ip) << "\n";
    return kExitOk;
  }
  for (const auto &e : reply["removed"])
    ctx.out << "removed " << entry_line(e, std::time(nullptr)) << "\n";
  report_dataplanes(reply, ctx.out, ctx.err);
  return kExitOk;
}

const CommandRegistrar kClear("clear", "remove every dynamic penalty covering an address (undo)",
                              run);

}  // namespace
}  // namespace sluicectl
