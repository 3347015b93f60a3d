// sluicectl --dataplane SPEC dataplane fanout [--limit N] [--json]: the subscribers with the most
// remote MTAs new to them (outbound SMTP under the policy's [outbound] section,
// docs/observations.md#fan-out), most first.
#include "address_counts.h"

namespace sluicectl {
namespace {

int run_fanout(Context &ctx) {
  return run_address_counts(
      ctx,
      {"sluicectl --dataplane SPEC dataplane fanout [--limit N] [--json]",
       "The subscribers whose outbound SMTP reached the most remote MTAs, most first: each MTA\n"
       "counted once per fan-out window (about a minute) in which the subscriber opened a\n"
       "connection to it, summed over lcores / CPUs. Counted only under a policy with an\n"
       "[outbound] section. A count starts again after 64 heavy-hitter windows (about 69 s)\n"
       "without one, and the subscriber is not listed then. See docs/observations.md.",
       "at most this many subscribers (1..10000)", "destinations", "subscriber(s) with fan-out",
       [](sluice::control::DataplaneClient &dp, unsigned limit) {
         std::vector<AddressCount> out;
         for (const auto &f : dp.fanout_senders(limit)) out.push_back({f.address, f.destinations});
         return out;
       }});
}

const CommandRegistrar kFanout("dataplane fanout",
                               "the subscribers whose outbound SMTP reached the most remote MTAs",
                               run_fanout);

}  // namespace
}  // namespace sluicectl
