// sluicectl --dataplane SPEC dataplane pregreet [--limit N] [--json]: the addresses whose clients
// talked before the server's greeting (docs/observations.md#pregreet), most connections first.
#include "address_counts.h"

namespace sluicectl {
namespace {

int run_pregreet(Context &ctx) {
  return run_address_counts(
      ctx,
      {"sluicectl --dataplane SPEC dataplane pregreet [--limit N] [--json]",
       "The data plane's pregreet clients, most first: each sender address whose SMTP clients\n"
       "sent data before the server's greeting, and how many of its connections did, summed\n"
       "over lcores / CPUs. A count starts again after 64 counting windows (about 69 s)\n"
       "without one, and the address is not listed then. Empty when the policy says pregreet =\n"
       "off. See docs/observations.md.",
       "at most this many addresses (1..10000)", "connections", "pregreet sender(s)",
       [](sluice::control::DataplaneClient &dp, unsigned limit) {
         std::vector<AddressCount> out;
         for (const auto &p : dp.pregreet_senders(limit)) out.push_back({p.address, p.connections});
         return out;
       }});
}

const CommandRegistrar kPregreet("dataplane pregreet",
                                 "the clients that talked before the greeting (addresses)",
                                 run_pregreet);

}  // namespace
}  // namespace sluicectl
