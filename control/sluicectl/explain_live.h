// sluicectl table explain without --sources: asks sluiced (its "explain" verb) about the table
// it keeps, so every source of the live table shows, the dynamic entries with their reason,
// origin and expiry.
#pragma once

#include <vector>

#include "command_registry.h"
#include "sluice/reputation/address.h"
#include "table_args.h"

namespace sluicectl {

int explain_live(Context &ctx, const po::variables_map &vm,
                 const std::vector<sluice::reputation::IpAddress> &addrs, const Levels &levels);

}  // namespace sluicectl
