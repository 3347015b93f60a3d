// `sluice-xdp watch`: link-state propagation for an attached XDP instance. The XDP programs
// forward on their own once attached (fail-static); this is the one long-running piece, kept
// apart so that its absence or failure never stops forwarding, only propagation.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace sluice::xdp {

struct WatchOptions {
  std::string name;            // the instance (its ports come from its pinned meta map)
  uint32_t settle_ms = 0;      // see link::LinkMirror (0 for veths; a few seconds for NICs)
  uint32_t recheck_ms = 1000;  // states are re-read this often even without a notification
  // Told every step taken ("outside down: inside taken down", ...), for the log.
  std::function<void(const std::string &)> say;
};

// Brings up either port found administratively down (left so by an earlier watcher that was
// killed), then mirrors the link state between the instance's two ports until `quit` becomes true
// or the instance is detached; then brings back up any port it took down. Throws Error if there is
// no such instance or a port cannot be set (the port's name and the reason).
void watch_links(const WatchOptions &opts, const std::atomic<bool> &quit);

}  // namespace sluice::xdp
