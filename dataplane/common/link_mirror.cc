#include "link_mirror.h"

namespace sluice::link {

std::optional<MirrorStep> LinkMirror::update(const bool link_up[2], uint64_t now_ns) {
  for (int x = 0; x < 2; ++x) {
    const int y = 1 - x;
    if (held_[x]) continue;  // down because of us: says nothing about its cable
    if (!link_up[x] && !held_[y]) {
      // Just released and still negotiating: not (yet) a lost link.
      if (released_[x] && now_ns - released_at_[x] < settle_ns_) continue;
      held_[y] = true;
      return MirrorStep{y, false};
    }
    if (link_up[x]) released_[x] = false;  // settled
    if (link_up[x] && held_[y]) {
      held_[y] = false;
      released_[y] = true;
      released_at_[y] = now_ns;
      return MirrorStep{y, true};
    }
  }
  return std::nullopt;
}

}  // namespace sluice::link
