// Link-state propagation's decisions (dataplane/common/link_mirror.h), without any interface:
// a cable cut on one side takes the other side down and its return brings it back; the port
// taken down never bounces back onto the first; both cables cut converge as a cable would.
#include "link_mirror.h"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::link {
namespace {

// A pair of ports driven through the mirror as a data plane would: `cable` is whether each
// port's far side is connected; a port's link is up when it is not held down and its cable is.
struct Pair {
  LinkMirror mirror;
  bool cable[2] = {true, true};
  bool admin[2] = {true, true};
  std::vector<MirrorStep> steps;
  uint64_t now = 1'000'000'000;

  explicit Pair(uint64_t settle_ns = 0) : mirror(settle_ns) {}
  void run() {
    for (int guard = 0; guard < 8; ++guard) {
      const bool up[2] = {admin[0] && cable[0], admin[1] && cable[1]};
      const auto s = mirror.update(up, now);
      if (!s) return;
      admin[s->port] = s->up;
      steps.push_back(*s);
    }
    FAIL() << "the mirror did not settle";
  }
};

TEST(LinkMirror, BothUpDoesNothing) {
  Pair p;
  p.run();
  EXPECT_TRUE(p.steps.empty());
}

TEST(LinkMirror, OutsideCutTakesInsideDownAndBack) {
  Pair p;
  p.cable[0] = false;
  p.run();
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].port, 1);
  EXPECT_FALSE(p.steps[0].up);
  EXPECT_TRUE(p.mirror.held(1));
  EXPECT_TRUE(p.admin[0]);  // the held port's own "down" did not bounce back
  p.cable[0] = true;
  p.run();
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[1].port, 1);
  EXPECT_TRUE(p.steps[1].up);
  EXPECT_FALSE(p.mirror.any_held());
}

TEST(LinkMirror, InsideCutTakesOutsideDown) {
  Pair p;
  p.cable[1] = false;
  p.run();
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].port, 0);
  EXPECT_FALSE(p.steps[0].up);
}

TEST(LinkMirror, BothCablesCutConvergesAsACable) {
  Pair p;
  p.cable[0] = false;
  p.run();  // inside held down
  p.cable[1] = false;
  p.run();  // nothing to see: inside is held
  EXPECT_EQ(p.steps.size(), 1u);
  // Outside returns first: inside is brought up, finds no cable, and holds outside down.
  p.cable[0] = true;
  p.run();
  EXPECT_TRUE(p.admin[1]);
  EXPECT_FALSE(p.admin[0]);
  EXPECT_TRUE(p.mirror.held(0));
  // Inside's cable returns: outside comes back; both up, nothing held.
  p.cable[1] = true;
  p.run();
  EXPECT_TRUE(p.admin[0] && p.admin[1]);
  EXPECT_FALSE(p.mirror.any_held());
}

TEST(LinkMirror, ReleasedPortGetsItsSettleTime) {
  Pair p(3'000'000'000);
  p.cable[0] = false;
  p.run();
  p.cable[0] = true;
  // Inside is brought back up, but its link is still negotiating (reads down).
  const bool up1[2] = {true, true};
  ASSERT_TRUE(p.mirror.update(up1, p.now).has_value());  // the release
  const bool negotiating[2] = {true, false};
  EXPECT_FALSE(p.mirror.update(negotiating, p.now + 1'000'000'000).has_value());
  // Still down after the settle time: a lost link like any other.
  const auto s = p.mirror.update(negotiating, p.now + 3'000'000'001);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->port, 0);
  EXPECT_FALSE(s->up);
}

TEST(LinkMirror, SettledPortLosingLinkLaterIsActedOnAtOnce) {
  Pair p(3'000'000'000);
  p.cable[0] = false;
  p.run();
  p.cable[0] = true;
  p.run();  // released, and its link came up: settled
  p.now += 1'000'000;
  p.cable[1] = false;
  p.run();
  ASSERT_EQ(p.steps.size(), 3u);
  EXPECT_EQ(p.steps[2].port, 0);
  EXPECT_FALSE(p.steps[2].up);
}

}  // namespace
}  // namespace sluice::link
