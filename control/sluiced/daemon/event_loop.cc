#include "daemon/event_loop.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "daemon/log.h"

namespace sluice::sluiced {
namespace {

int checked(int fd, const char *what) {
  if (fd < 0) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
  return fd;
}

}  // namespace

EventLoop::EventLoop() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  sigdelset(&set, SIGPIPE);  // blocked (writes to a closed socket return EPIPE), not read
  signal_fd_ = checked(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC), "signalfd");
  timer_fd_ =
      checked(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd_create");
  wake_fd_ = checked(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
}

EventLoop::~EventLoop() {
  {
    std::lock_guard lock(post_mu_);
    stopped_ = true;
    posted_.clear();
  }
  ::close(signal_fd_);
  ::close(timer_fd_);
  ::close(wake_fd_);
}

void EventLoop::add_fd(int fd, short events, FdHandler handler) {
  if (!fds_.emplace(fd, std::make_pair(events, std::move(handler))).second)
    throw std::logic_error("event loop: fd " + std::to_string(fd) + " added twice");
}

void EventLoop::remove_fd(int fd) {
  fds_.erase(fd);
}

EventLoop::TimerId EventLoop::add_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
  const TimerId id = next_id_++;
  const auto when = Clock::now() + delay;
  timers_.emplace(id, std::make_pair(when, Timer{std::chrono::milliseconds(0), std::move(fn)}));
  deadlines_.emplace(when, id);
  arm_timerfd();
  return id;
}

EventLoop::TimerId EventLoop::add_periodic(std::chrono::milliseconds interval,
                                           std::function<void()> fn) {
  if (interval.count() <= 0) throw std::logic_error("event loop: periodic timer of 0 ms");
  const TimerId id = next_id_++;
  const auto when = Clock::now() + interval;
  timers_.emplace(id, std::make_pair(when, Timer{interval, std::move(fn)}));
  deadlines_.emplace(when, id);
  arm_timerfd();
  return id;
}

void EventLoop::cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  auto [lo, hi] = deadlines_.equal_range(it->second.first);
  for (auto d = lo; d != hi; ++d)
    if (d->second == id) {
      deadlines_.erase(d);
      break;
    }
  timers_.erase(it);
  arm_timerfd();
}

void EventLoop::arm_timerfd() {
  itimerspec its{};
  if (!deadlines_.empty()) {
    const auto left = deadlines_.begin()->first - Clock::now();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    if (ns < 1) ns = 1;  // 0 would disarm it
    its.it_value.tv_sec = ns / 1000000000;
    its.it_value.tv_nsec = ns % 1000000000;
  }
  ::timerfd_settime(timer_fd_, 0, &its, nullptr);
}

void EventLoop::run_due_timers() {
  uint64_t expirations = 0;
  while (::read(timer_fd_, &expirations, sizeof expirations) > 0) {
  }
  const auto now = Clock::now();
  std::vector<TimerId> due;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now;) {
    due.push_back(it->second);
    it = deadlines_.erase(it);
  }
  for (const TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier timer of this round
    std::function<void()> fn = it->second.second.fn;
    if (it->second.second.interval.count() > 0) {
      it->second.first = now + it->second.second.interval;
      deadlines_.emplace(it->second.first, id);
    } else {
      timers_.erase(it);
    }
    try {
      fn();
    } catch (const std::exception &e) {
      log_error(std::string("timer: ") + e.what());
    }
  }
  arm_timerfd();
}

bool EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(post_mu_);
    if (stopped_) return false;
    posted_.push_back(std::move(fn));
  }
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t w = ::write(wake_fd_, &one, sizeof one);
  return true;
}

void EventLoop::run_posted() {
  uint64_t n = 0;
  [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &n, sizeof n);
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(post_mu_);
    work.swap(posted_);
  }
  for (auto &fn : work) {
    try {
      fn();
    } catch (const std::exception &e) {
      log_error(std::string("posted work: ") + e.what());
    }
  }
}

void EventLoop::stop() {
  {
    std::lock_guard lock(post_mu_);
    stopped_ = true;
  }
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t w = ::write(wake_fd_, &one, sizeof one);
}

bool EventLoop::stopping() const {
  std::lock_guard lock(post_mu_);
  return stopped_;
}

int EventLoop::run() {
  std::vector<pollfd> pfds;
  std::vector<int> order;
  while (!stopping()) {
    pfds.clear();
    pfds.push_back({signal_fd_, POLLIN, 0});
    pfds.push_back({timer_fd_, POLLIN, 0});
    pfds.push_back({wake_fd_, POLLIN, 0});
    for (const auto &[fd, h] : fds_) pfds.push_back({fd, h.first, 0});
    const int r = ::poll(pfds.data(), pfds.size(), -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    if (pfds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(signal_fd_, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
          log_info("SIGHUP: reloading");
          if (on_reload_) on_reload_();
        } else {
          stop_signal_ = static_cast<int>(si.ssi_signo);
          stop();
        }
      }
    }
    if (stopping()) break;
    if (pfds[2].revents & POLLIN) run_posted();
    if (pfds[1].revents & POLLIN) run_due_timers();
    for (size_t i = 3; i < pfds.size(); ++i) {
      if (pfds[i].revents == 0) continue;
      auto it = fds_.find(pfds[i].fd);
      if (it == fds_.end()) continue;  // removed by an earlier handler of this round
      FdHandler h = it->second.second;
      try {
        h(pfds[i].revents);
      } catch (const std::exception &e) {
        log_error("fd " + std::to_string(pfds[i].fd) + ": " + e.what());
      }
      if (stopping()) break;
    }
  }
  // Work posted but not run: its callers are told the daemon is stopping by dropping it.
  std::lock_guard lock(post_mu_);
  posted_.clear();
  return stop_signal_;
}

}  // namespace sluice::sluiced
