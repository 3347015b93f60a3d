// sluiced's event loop: one thread, one poll() over every file descriptor a concern added, a
// timerfd for the timers, a signalfd for SIGTERM/SIGINT/SIGHUP, and an eventfd for work posted
// from other threads (the control socket's thread posts each request here, so every command
// runs on the loop and no concern needs a lock for its own state).
//
// Handlers run one at a time; a handler that throws is logged and the loop goes on. A handler
// must not block for long: sluiced's own blocking work (a push, a parse) is bounded by timeouts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

namespace sluice::sluiced {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using FdHandler = std::function<void(short revents)>;
  using TimerId = uint64_t;

  EventLoop();  // blocks SIGTERM, SIGINT, SIGHUP, SIGPIPE in the calling thread's mask
  ~EventLoop();
  EventLoop(const EventLoop &) = delete;
  EventLoop &operator=(const EventLoop &) = delete;

  // Calls `handler` with poll's revents whenever `fd` is ready for `events` (POLLIN, ...). The
  // caller keeps owning the fd; remove it before closing it. One handler per fd.
  void add_fd(int fd, short events, FdHandler handler);
  void remove_fd(int fd);

  // Runs `fn` once after `delay` (0: on the next turn of the loop).
  TimerId add_timer(std::chrono::milliseconds delay, std::function<void()> fn);
  // Runs `fn` every `interval`, the first time after one interval.
  TimerId add_periodic(std::chrono::milliseconds interval, std::function<void()> fn);
  void cancel(TimerId id);  // unknown or already run ids are ignored

  // Thread-safe: runs `fn` on the loop's thread soon. Returns false (fn dropped) once the loop
  // has stopped.
  bool post(std::function<void()> fn);

  // What SIGHUP does (default: nothing). SIGTERM and SIGINT stop the loop.
  void on_reload(std::function<void()> fn) { on_reload_ = std::move(fn); }

  // Runs until stop() or SIGTERM/SIGINT. Returns the signal number that stopped it, or 0.
  int run();
  void stop();  // thread-safe
  bool stopping() const;

 private:
  struct Timer {
    std::chrono::milliseconds interval;  // 0: one-shot
    std::function<void()> fn;
  };
  void arm_timerfd();
  void run_due_timers();
  void run_posted();

  int timer_fd_ = -1, signal_fd_ = -1, wake_fd_ = -1;
  std::map<int, std::pair<short, FdHandler>> fds_;
  std::multimap<Clock::time_point, TimerId> deadlines_;
  std::map<TimerId, std::pair<Clock::time_point, Timer>> timers_;
  TimerId next_id_ = 1;
  std::function<void()> on_reload_;
  mutable std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;
  bool stopped_ = false;  // under post_mu_
  int stop_signal_ = 0;
};

}  // namespace sluice::sluiced
