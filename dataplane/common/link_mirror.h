// Link-state propagation for a bump in the wire: when one port of the pair loses its link, the
// other is taken down, and brought back up when the first returns, so the routers on both
// sides see what they would see around a broken cable and fail over. Pure logic (no I/O):
// both data planes feed it the ports' link states and carry out the steps it returns
// (sluice-dp in its housekeeping thread, the XDP data plane in `sluice-xdp watch`).
//
// A port this mirror took down is "held": its own link state is not acted on (it is down
// because of us), so taking one side down never bounces back onto the other. When both cables
// are cut, the pair converges to the same state a cable would give: whichever link returns
// first brings the other port up, which finds no link and holds the first one down in turn
// until its own cable is back.
#pragma once

#include <cstdint>
#include <optional>

namespace sluice::link {

struct MirrorStep {
  int port;  // 0 or 1
  bool up;   // true: bring it up (release), false: take it down (hold)
};

class LinkMirror {
 public:
  // settle_ns: after a port is brought back up, its link is given this long to come up before
  // a "down" on it is acted on (real NICs negotiate for a second or more; veths are instant).
  explicit LinkMirror(uint64_t settle_ns = 0) : settle_ns_(settle_ns) {}

  // The ports' link states now (up: administratively up and carrier present). Returns the one
  // step to take, if any; call again (with fresh states) until it returns nothing.
  std::optional<MirrorStep> update(const bool link_up[2], uint64_t now_ns);

  bool held(int port) const { return held_[port]; }
  // The ports to bring back up when propagation stops (shutdown, or the instance went away),
  // so nothing stays down with no one left to bring it back.
  bool any_held() const { return held_[0] || held_[1]; }

 private:
  uint64_t settle_ns_;
  bool held_[2] = {false, false};
  uint64_t released_at_[2] = {0, 0};
  bool released_[2] = {false, false};
};

}  // namespace sluice::link
