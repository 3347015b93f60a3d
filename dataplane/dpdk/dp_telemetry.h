// DPDK telemetry commands under /sluice/ (read with dpdk-telemetry.py): /sluice/stats returns
// the same counters as the control socket's "stats" request.
#pragma once

namespace sluice::dataplane {

class DpControl;
// Registers the commands on first call; `control` may be replaced, or null before shutdown.
void register_telemetry(DpControl *control);

}  // namespace sluice::dataplane
