// sluicectl --dataplane SPEC dataplane pregreet [--limit N] [--json]: the addresses whose clients
// talked before the server's greeting (docs/observations.md#pregreet), most connections first.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "command_registry.h"
#include "dataplane_client.h"
#include "dataplane_connect.h"
#include "text_table.h"

namespace sluicectl {
namespace {

using nlohmann::json;
namespace dp = sluice::control;

int run_pregreet(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()("limit", po::value<unsigned>()->default_value(100)->value_name("N"),
                             "at most this many addresses (1..10000)");
  opts.json("the list as JSON: address, connections");
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl --dataplane SPEC dataplane pregreet [--limit N] [--json]",
       "The data plane's pregreet clients, most first: each sender address whose SMTP clients\n"
       "sent data before the server's greeting, and how many of its connections did, summed\n"
       "over lcores / CPUs. A count starts again after 64 counting windows (about 69 s)\n"
       "without one, and the address is not listed then. Empty when the policy says pregreet =\n"
       "off. See docs/observations.md."});
  if (!vm) return kExitOk;
  const unsigned limit = (*vm)["limit"].as<unsigned>();
  if (limit < 1 || limit > 10000)
    throw UsageError(fmt::format("--limit must be 1..10000, not {}", limit));
  try {
    const auto list = dataplane_for(ctx)->pregreet_senders(limit);
    if (vm->count("json") > 0) {
      json a = json::array();
      for (const auto &p : list)
        a.push_back({{"address", p.address}, {"connections", p.connections}});
      ctx.out << a.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
      return kExitOk;
    }
    TextTable t({"address", "connections"});
    for (const auto &p : list) t.row({p.address, std::to_string(p.connections)});
    t.print(ctx.out);
    ctx.out << list.size() << " pregreet sender(s)\n";
  } catch (const dp::DataplaneError &e) {
    ctx.err << ctx.command_path << ": " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

const CommandRegistrar kPregreet("dataplane pregreet",
                                 "the clients that talked before the greeting (addresses)",
                                 run_pregreet);

}  // namespace
}  // namespace sluicectl
