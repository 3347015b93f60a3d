// The XDP instance's counters as the data planes' one stats model (dp_stats.h): what
// `sluicectl --dataplane xdp:NAME dataplane stats` and `sluice-xdp status --json` show.
#pragma once

#include <string>

#include "dp_stats.h"

namespace sluice::xdp {

// Reads the pinned maps of instance NAME and the table it keeps (instance_ops.h). Throws Error
// if there is no such instance.
stats::DataplaneStats dataplane_stats(const std::string &name);

// The table version and policy generation of dataplane_stats(), from the policy map and the
// kept table's header only: no counters, flows or link queries. Throws Error like it.
stats::RunningVersions running_versions(const std::string &name);

}  // namespace sluice::xdp
