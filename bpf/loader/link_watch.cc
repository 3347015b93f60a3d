#include "sluice/xdp/link_watch.h"

#include <chrono>

#include "link_mirror.h"
#include "netdev_link.h"
#include "sluice/xdp/attach.h"
#include "sluice/xdp/error.h"

namespace sluice::xdp {
namespace {

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

const char *kRole[2] = {"outside", "inside"};

}  // namespace

void watch_links(const WatchOptions &opts, const std::atomic<bool> &quit) {
  const Status st = status(opts.name);  // throws if there is no such instance
  const uint32_t ifindex[2] = {st.outside.ifindex, st.inside.ifindex};
  auto say = [&](const std::string &s) {
    if (opts.say) opts.say(s);
  };
  link::LinkEvents events;  // subscribed before the first read: no change is missed
  link::LinkMirror mirror(uint64_t{opts.settle_ms} * 1'000'000);
  auto release_all = [&] {
    for (int p = 0; p < 2; ++p)
      if (mirror.held(p)) {
        link::netdev_set_admin(ifindex[p], true);
        say(std::string(kRole[p]) + " brought back up (propagation stops)");
      }
  };
  // A port left down by an earlier watcher (killed before it could bring it back) would
  // otherwise read as a lost link and hold the other one down for good.
  for (int p = 0; p < 2; ++p)
    if (!link::netdev_admin_up(ifindex[p])) {
      link::netdev_set_admin(ifindex[p], true);
      say(std::string(kRole[p]) + " was administratively down: brought up");
    }
  try {
    while (!quit.load() && instance_exists(opts.name)) {
      for (int guard = 0; guard < 4; ++guard) {
        const bool up[2] = {link::netdev_link_up(ifindex[0]), link::netdev_link_up(ifindex[1])};
        const auto step = mirror.update(up, now_ns());
        if (!step) break;
        link::netdev_set_admin(ifindex[step->port], step->up);
        const int other = 1 - step->port;
        say(step->up
                ? std::string(kRole[other]) + " link up: " + kRole[step->port] + " brought back up"
                : std::string(kRole[other]) + " link down: " + kRole[step->port] + " taken down");
      }
      events.wait(static_cast<int>(opts.recheck_ms));
    }
  } catch (...) {
    try {
      release_all();
    } catch (const sluice::Error &) {
      // the first error is the one to report
    }
    throw;
  }
  release_all();
}

}  // namespace sluice::xdp
