// sluice-delayline: a path-delay emulator for the test rig. It joins two interfaces like a wire
// and holds every frame a fixed time in each direction, so a benchmark can give the rig's
// zero-delay links an Internet-like round-trip time (this kernel has no netem, fq or etf).
//
// Why not a DPDK delay line: the rig runs on two cores beside the TCP stacks it measures, and
// a poll-mode loop would take one of them whole. This one sleeps in ppoll() until a frame
// arrives or the head of a line is due, with a 1 ns timer slack, so it costs nothing between
// frames and releases each frame within tens of microseconds of its time (the exit line and
// --stats say how late, as measured).
//
// Frames are read and written with AF_PACKET sockets (the kernel's own raw-frame interface,
// outgoing frames ignored so the line never hears itself), in arrival order, unmodified.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "delay_queue.h"
#include "po_error_text.h"

namespace {

namespace po = boost::program_options;
using sluice::delayline::DelayQueue;
using sluice::delayline::LatenessHistogram;

constexpr uint64_t kMaxDelayUs = 10'000'000;  // 10 s: beyond any path worth emulating
constexpr size_t kRecvBytes = 65536;          // larger than any frame a veth delivers
constexpr int kBatch = 256;                   // frames read per wake-up and port
constexpr uint64_t kRetryNs = 100'000;        // after a full socket buffer: retry in 0.1 ms

uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string errno_text(const std::string &what) {
  return what + ": " + std::strerror(errno);
}

// An interface opened for raw frames: every frame it receives (promiscuous), none it sends.
class Port {
 public:
  explicit Port(const std::string &ifname) : name_(ifname) {
    if (ifname.empty() || ifname.size() >= IFNAMSIZ)
      throw std::runtime_error("interface name '" + ifname + "' is not a valid name");
    ifindex_ = if_nametoindex(ifname.c_str());
    if (ifindex_ == 0) throw std::runtime_error(errno_text("interface '" + ifname + "'"));
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd_ < 0)
      throw std::runtime_error(errno_text("socket(AF_PACKET) (needs CAP_NET_RAW: run as root)"));
    int one = 1;
    if (setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0)
      fail("PACKET_IGNORE_OUTGOING");
    int buf = 8 << 20;  // room for a burst while the line is busy with the other direction
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0)
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(ifindex_);
    if (bind(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) fail("bind");
    packet_mreq mr{};
    mr.mr_ifindex = static_cast<int>(ifindex_);
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0)
      fail("promiscuous mode");
  }
  ~Port() {
    if (fd_ >= 0) close(fd_);
  }
  Port(const Port &) = delete;
  Port &operator=(const Port &) = delete;

  int fd() const { return fd_; }
  const std::string &name() const { return name_; }

 private:
  [[noreturn]] void fail(const std::string &what) {
    std::string text = errno_text(what + " on '" + name_ + "'");
    close(fd_);
    fd_ = -1;
    throw std::runtime_error(text);
  }
  std::string name_;
  unsigned ifindex_ = 0;
  int fd_ = -1;
};

// A pending socket error: a link that went down (ENETDOWN) comes back with its carrier, and
// frames resume; an interface that was removed (ENODEV) or any other error ends the line.
void check_link(const Port &p) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(p.fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    throw std::runtime_error(errno_text("SO_ERROR on '" + p.name() + "'"));
  if (err == 0 || err == ENETDOWN) return;
  errno = err;
  throw std::runtime_error(errno_text("interface '" + p.name() + "'"));
}

// One direction: frames read from `in`, held in `line`, written to `out`.
struct Direction {
  Port *in;
  Port *out;
  DelayQueue line;
  LatenessHistogram late;
  uint64_t tx_errors = 0;  // dropped: the kernel refused the write (link down, ...)
  std::string label;
};

// Takes up to kBatch waiting frames from d.in into d.line.
void receive(Direction &d, std::vector<uint8_t> &buf) {
  for (int i = 0; i < kBatch; ++i) {
    ssize_t n = recv(d.in->fd(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) return;  // EAGAIN (drained) or a transient error: poll again
    d.line.push(mono_ns(), std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
  }
}

// Writes every due frame of d.line; returns when the next write must wait (the time to retry,
// 0 when only the line's own due time matters).
uint64_t transmit(Direction &d) {
  uint64_t now = mono_ns();
  while (auto frame = d.line.due(now)) {
    ssize_t n = send(d.out->fd(), frame->data(), frame->size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
      return now + kRetryNs;  // keep the frame; order is kept too
    if (n < 0) ++d.tx_errors;
    d.late.add(now - *d.line.next_due());
    d.line.pop();
    now = mono_ns();
  }
  return 0;
}

nlohmann::json direction_json(const Direction &d) {
  const auto &c = d.line.counters();
  return {{"from", d.in->name()},
          {"to", d.out->name()},
          {"accepted", c.accepted},
          {"sent", c.sent},
          {"dropped_full", c.dropped_full},
          {"dropped_large", c.dropped_large},
          {"tx_errors", d.tx_errors},
          {"late_p50_us", d.late.quantile_ns(0.5) / 1000.0},
          {"late_p99_us", d.late.quantile_ns(0.99) / 1000.0},
          {"late_max_us", d.late.max_ns() / 1000.0}};
}

void print_summary(const Direction &d) {
  const auto &c = d.line.counters();
  std::fprintf(stderr,
               "sluice-delayline: %s -> %s: %llu frames sent, %llu dropped (line full %llu, "
               "too large %llu, write refused %llu); late p50 <= %.0f us, p99 <= %.0f us, "
               "max %.0f us\n",
               d.in->name().c_str(), d.out->name().c_str(), static_cast<unsigned long long>(c.sent),
               static_cast<unsigned long long>(c.dropped_full + c.dropped_large + d.tx_errors),
               static_cast<unsigned long long>(c.dropped_full),
               static_cast<unsigned long long>(c.dropped_large),
               static_cast<unsigned long long>(d.tx_errors), d.late.quantile_ns(0.5) / 1000.0,
               d.late.quantile_ns(0.99) / 1000.0, d.late.max_ns() / 1000.0);
}

struct Options {
  std::string a, b, stats;
  uint64_t delay_us = 0;
  size_t slots = 0, slot_bytes = 0;
};

constexpr const char *kUsage =
    "usage: sluice-delayline --a IF --b IF --delay-us N [options]\n"
    "Joins the interfaces --a and --b like a wire and holds every frame N microseconds in each\n"
    "direction (a round trip gains 2N). Runs until SIGINT or SIGTERM, then prints per-direction\n"
    "counts and how late frames left. Needs CAP_NET_RAW. The two interfaces must not be bridge\n"
    "ports or carry addresses (the line forwards everything they receive).\n";

// Returns false when the program should exit 0 (--help), throws on a bad command line.
bool parse(int argc, char **argv, Options &o) {
  po::options_description desc("options");
  desc.add_options()("help,h", "this text")("a", po::value(&o.a)->required(), "first interface")(
      "b", po::value(&o.b)->required(), "second interface")(
      "delay-us", po::value(&o.delay_us)->required(),
      "one-way delay in microseconds, each direction (0 to 10000000)")(
      "slots", po::value(&o.slots)->default_value(8192),
      "frames each direction's line holds at most; more are dropped and counted")(
      "slot-bytes", po::value(&o.slot_bytes)->default_value(2048),
      "largest frame held (64 to 65535); larger frames are dropped and counted")(
      "stats", po::value(&o.stats), "write the exit counts as JSON to this file");
  po::variables_map vm;
  // No abbreviations: `--delay 10` is an error, not a guess at --delay-us.
  auto style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  po::store(po::command_line_parser(argc, argv).options(desc).style(style).run(), vm);
  if (vm.count("help")) {
    std::cout << kUsage << desc;
    return false;
  }
  po::notify(vm);
  if (o.a == o.b) throw std::invalid_argument("--a and --b name the same interface");
  if (o.delay_us > kMaxDelayUs) throw std::invalid_argument("--delay-us is above 10000000 (10 s)");
  if (o.slots < 1 || o.slots > (1u << 20))
    throw std::invalid_argument("--slots must be 1 to 1048576");
  if (o.slot_bytes < 64 || o.slot_bytes > 65535)
    throw std::invalid_argument("--slot-bytes must be 64 to 65535");
  return true;
}

int run(const Options &o) {
  // Signals arrive through a descriptor, so ppoll() is the only place the program waits.
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &stop_set, nullptr) != 0)
    throw std::runtime_error(errno_text("sigprocmask"));
  int sig_fd = signalfd(-1, &stop_set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_fd < 0) throw std::runtime_error(errno_text("signalfd"));
  // Timers fire at their time, not up to 50 us later (the default slack of a normal thread).
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

  Port a(o.a), b(o.b);
  uint64_t delay_ns = o.delay_us * 1000;
  Direction dirs[2] = {{&a, &b, DelayQueue(delay_ns, o.slots, o.slot_bytes), {}, 0, "a->b"},
                       {&b, &a, DelayQueue(delay_ns, o.slots, o.slot_bytes), {}, 0, "b->a"}};
  std::vector<uint8_t> buf(kRecvBytes);
  std::fprintf(stderr, "sluice-delayline: ready: %s <-> %s, %llu us each way\n", o.a.c_str(),
               o.b.c_str(), static_cast<unsigned long long>(o.delay_us));

  bool stop = false;
  while (!stop) {
    uint64_t wake = 0;  // 0: no deadline, wait for a frame or a signal
    for (auto &d : dirs) {
      uint64_t retry = transmit(d);
      uint64_t due = retry ? retry : d.line.next_due().value_or(0);
      if (due && (!wake || due < wake)) wake = due;
    }
    timespec ts{};
    timespec *timeout = nullptr;
    if (wake) {
      uint64_t now = mono_ns();
      uint64_t wait = wake > now ? wake - now : 0;
      ts.tv_sec = static_cast<time_t>(wait / 1'000'000'000ull);
      ts.tv_nsec = static_cast<long>(wait % 1'000'000'000ull);
      timeout = &ts;
    }
    pollfd fds[3] = {{a.fd(), POLLIN, 0}, {b.fd(), POLLIN, 0}, {sig_fd, POLLIN, 0}};
    int n = ppoll(fds, 3, timeout, nullptr);
    if (n < 0 && errno != EINTR) throw std::runtime_error(errno_text("ppoll"));
    if (n <= 0) continue;
    if (fds[2].revents) stop = true;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents & POLLERR) check_link(*dirs[i].in);
      if (fds[i].revents & POLLIN) receive(dirs[i], buf);
    }
  }
  close(sig_fd);

  nlohmann::json stats = {{"delay_us", o.delay_us}, {"directions", nlohmann::json::array()}};
  for (auto &d : dirs) {
    print_summary(d);
    stats["directions"].push_back(direction_json(d));
  }
  if (!o.stats.empty()) {
    std::ofstream f(o.stats);
    f << stats.dump(2) << '\n';
    if (!f) throw std::runtime_error("cannot write --stats file '" + o.stats + "'");
  }
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  Options o;
  try {
    if (!parse(argc, argv, o)) return 0;
  } catch (const po::error &e) {
    std::fprintf(stderr, "sluice-delayline: %s\n%s", sluice::po_error_text(e).c_str(), kUsage);
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "sluice-delayline: %s\n%s", e.what(), kUsage);
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "sluice-delayline: %s\n", e.what());
    return 1;
  }
}
