// The event loop: timers run in deadline order and can be cancelled, periodic timers repeat,
// work posted from another thread runs on the loop, fds are dispatched, stop() ends run().
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <thread>

#include "daemon/event_loop.h"

namespace sluice::sluiced {
namespace {

using namespace std::chrono_literals;

TEST(EventLoop, TimersRunInDeadlineOrderAndCancelledOnesNever) {
  EventLoop loop;
  std::vector<int> order;
  loop.add_timer(20ms, [&] { order.push_back(2); });
  const auto dropped = loop.add_timer(10ms, [&] { order.push_back(99); });
  loop.add_timer(0ms, [&] { order.push_back(1); });
  loop.add_timer(30ms, [&] { loop.stop(); });
  loop.cancel(dropped);
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(EventLoop, PeriodicTimersRepeatUntilCancelled) {
  EventLoop loop;
  int n = 0;
  EventLoop::TimerId id = 0;
  id = loop.add_periodic(1ms, [&] {
    if (++n == 3) {
      loop.cancel(id);
      loop.add_timer(5ms, [&] { loop.stop(); });
    }
  });
  loop.run();
  EXPECT_EQ(n, 3);
}

TEST(EventLoop, PostedWorkRunsOnTheLoopThread) {
  EventLoop loop;
  std::thread::id ran_on;
  std::thread poster([&] {
    loop.post([&] {
      ran_on = std::this_thread::get_id();
      loop.stop();
    });
  });
  loop.run();
  poster.join();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_FALSE(loop.post([] {}));  // stopped: refused
}

TEST(EventLoop, FdHandlersAndThrowingHandlersDoNotStopTheLoop) {
  EventLoop loop;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  int reads = 0;
  loop.add_fd(p[0], POLLIN, [&](short) {
    char c;
    ASSERT_EQ(::read(p[0], &c, 1), 1);
    if (++reads == 2) loop.stop();
    throw std::runtime_error("handler failed");
  });
  ASSERT_EQ(::write(p[1], "ab", 2), 2);
  loop.run();
  EXPECT_EQ(reads, 2);
  loop.remove_fd(p[0]);
  ::close(p[0]);
  ::close(p[1]);
}

}  // namespace
}  // namespace sluice::sluiced
