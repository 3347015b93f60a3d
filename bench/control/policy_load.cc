// A load generator for sluiced's Postfix policy service (issue 14 goal: >= 20k requests/s on
// one core, p99 < 1 ms), speaking the protocol as smtpd does: C connections kept open, each
// sending one request (the attributes Postfix 3.7 sends at RCPT), waiting for the reply, then
// the next (closed loop, no pipelining). Client addresses cycle through 198.18.0.0/15.
//
//   policy_load --connect unix:/run/sluice/policy.sock | inet:127.0.0.1:10040
//               [--connections 16] [--seconds 5] [--sets 5] [--warmup 1]
//
// Per set: requests answered per second, and the latency (request's first byte sent -> reply's
// last byte read) p50, p99 and max. At the end: the median of the sets for each figure, the
// spread (min..max) and the number of sets; --json writes the same as JSON. A reply that is not
// "action=...\n\n" or a closed connection fails the run (exit 1).
// bench/control/run_policy_bench.sh starts sluiced (pinned to one CPU) and runs this on another.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string connect;
  int connections = 16;
  double seconds = 5;
  int sets = 5;
  double warmup = 1;
  std::string json;
};

[[noreturn]] void die(const std::string &m) {
  std::fprintf(stderr, "policy_load: %s\n", m.c_str());
  std::exit(1);
}

int open_connection(const std::string &spec) {
  int fd = -1;
  if (spec.rfind("unix:", 0) == 0) {
    const std::string path = spec.substr(5);
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) die("socket path too long");
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
      die("connect " + spec + ": " + std::strerror(errno));
  } else if (spec.rfind("inet:", 0) == 0) {
    const std::string rest = spec.substr(5);
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos) die("inet:HOST:PORT");
    std::string host = rest.substr(0, colon);
    const int port = std::stoi(rest.substr(colon + 1));
    sockaddr_storage ss{};
    socklen_t len;
    if (!host.empty() && host.front() == '[') {
      host = host.substr(1, host.size() - 2);
      auto *s6 = reinterpret_cast<sockaddr_in6 *>(&ss);
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(static_cast<uint16_t>(port));
      if (inet_pton(AF_INET6, host.c_str(), &s6->sin6_addr) != 1) die("bad address " + host);
      len = sizeof *s6;
    } else {
      auto *s4 = reinterpret_cast<sockaddr_in *>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_port = htons(static_cast<uint16_t>(port));
      if (inet_pton(AF_INET, host.c_str(), &s4->sin_addr) != 1) die("bad address " + host);
      len = sizeof *s4;
    }
    fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&ss), len) != 0)
      die("connect " + spec + ": " + std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  } else {
    die("--connect takes unix:PATH or inet:HOST:PORT");
  }
  return fd;
}

std::string request(uint32_t i) {
  const uint32_t a = (198u << 24) | (18u << 16) | (i & 0x1ffff);
  char addr[INET_ADDRSTRLEN];
  const uint32_t n = htonl(a);
  inet_ntop(AF_INET, &n, addr, sizeof addr);
  return std::string("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n") +
         "client_address=" + addr +
         "\nclient_name=unknown\nclient_port=40312\nreverse_client_name=unknown\n"
         "server_address=198.18.1.25\nserver_port=25\nhelo_name=host" +
         std::to_string(i % 1000) + ".example\nsender=user" + std::to_string(i % 97) + "@sender" +
         std::to_string(i % 13) +
         ".example\nrecipient=someone@sluice.test\nrecipient_count=0\nqueue_id=\n"
         "instance=" +
         std::to_string(i) +
         ".0\nsize=0\netrn_domain=\nstress=\nsasl_method=\n"
         "sasl_username=\nsasl_sender=\nccert_subject=\nccert_issuer=\nccert_fingerprint=\n"
         "ccert_pubkey_fingerprint=\nencryption_protocol=\nencryption_cipher=\n"
         "encryption_keysize=0\npolicy_context=\ncompatibility_level=3.6\nmail_version=3.7.11\n\n";
}

struct Conn {
  int fd;
  std::string out;
  size_t off = 0;
  std::string in;
  Clock::time_point sent;
  bool inflight = false;
};

struct SetResult {
  double rps, p50_us, p99_us, max_us;
  uint64_t requests;
};

double percentile(std::vector<double> &v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Runs the closed loop for `seconds` over every connection.
SetResult run(std::vector<Conn> &conns, int ep, double seconds, uint32_t &next) {
  std::vector<double> lat;
  lat.reserve(1 << 20);
  auto send_next = [&](Conn &c) {
    c.out = request(next++);
    c.off = 0;
    c.sent = Clock::now();
    c.inflight = true;
    while (c.off < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + c.off, c.out.size() - c.off, MSG_NOSIGNAL);
      if (n <= 0) die(std::string("send: ") + std::strerror(errno));
      c.off += static_cast<size_t>(n);
    }
  };
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (auto &c : conns) send_next(c);
  uint64_t done = 0;
  epoll_event ev[256];
  Clock::time_point now = start;
  while (now < end) {
    const int n = ::epoll_wait(ep, ev, 256, 100);
    now = Clock::now();
    for (int i = 0; i < n; ++i) {
      Conn &c = conns[ev[i].data.u32];
      char buf[4096];
      const ssize_t r = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r == 0) die("the server closed a connection");
      if (r < 0) {
        if (errno == EAGAIN) continue;
        die(std::string("recv: ") + std::strerror(errno));
      }
      c.in.append(buf, static_cast<size_t>(r));
      if (c.in.size() < 2 || c.in.compare(c.in.size() - 2, 2, "\n\n") != 0) continue;
      if (c.in.rfind("action=", 0) != 0 || std::count(c.in.begin(), c.in.end(), '\n') != 2)
        die("not a reply: " + c.in.substr(0, 80));
      lat.push_back(std::chrono::duration<double, std::micro>(now - c.sent).count());
      ++done;
      c.in.clear();
      c.inflight = false;
      if (now < end) send_next(c);
    }
  }
  // Drain the replies still in flight so the next set starts clean.
  for (auto &c : conns) {
    if (!c.inflight) continue;
    c.inflight = false;
    while (c.in.size() < 2 || c.in.compare(c.in.size() - 2, 2, "\n\n") != 0) {
      char buf[4096];
      const ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
      if (r <= 0) die("the server closed a connection");
      c.in.append(buf, static_cast<size_t>(r));
    }
    c.in.clear();
  }
  const double secs = std::chrono::duration<double>(now - start).count();
  SetResult s{};
  s.requests = done;
  s.rps = static_cast<double>(done) / secs;
  s.p50_us = percentile(lat, 0.50);
  s.p99_us = percentile(lat, 0.99);
  s.max_us = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
  return s;
}

}  // namespace

int main(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--connect")
      o.connect = val();
    else if (a == "--connections")
      o.connections = std::stoi(val());
    else if (a == "--seconds")
      o.seconds = std::stod(val());
    else if (a == "--sets")
      o.sets = std::stoi(val());
    else if (a == "--warmup")
      o.warmup = std::stod(val());
    else if (a == "--json")
      o.json = val();
    else if (a == "--help" || a == "-h") {
      std::puts(
          "policy_load --connect unix:PATH|inet:HOST:PORT [--connections N] [--seconds S]"
          " [--sets N] [--warmup S] [--json FILE]");
      return 0;
    } else {
      die("unknown option " + a);
    }
  }
  if (o.connect.empty()) die("--connect is required");
  if (o.connections < 1 || o.connections > 4096 || o.sets < 1 || o.seconds <= 0)
    die("bad --connections, --sets or --seconds");
  std::vector<Conn> conns;
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < o.connections; ++i) {
    conns.push_back(Conn{open_connection(o.connect), {}, 0, {}, {}, false});
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, conns.back().fd, &ev);
  }
  uint32_t next = 0;
  if (o.warmup > 0) run(conns, ep, o.warmup, next);
  std::vector<double> rps, p50, p99, mx;
  for (int s = 0; s < o.sets; ++s) {
    const SetResult r = run(conns, ep, o.seconds, next);
    std::printf("set %d: %llu requests, %.0f req/s, p50 %.1f us, p99 %.1f us, max %.1f us\n", s + 1,
                static_cast<unsigned long long>(r.requests), r.rps, r.p50_us, r.p99_us, r.max_us);
    rps.push_back(r.rps);
    p50.push_back(r.p50_us);
    p99.push_back(r.p99_us);
    mx.push_back(r.max_us);
  }
  auto span = [](const std::vector<double> &v) {
    return std::make_pair(*std::min_element(v.begin(), v.end()),
                          *std::max_element(v.begin(), v.end()));
  };
  std::printf(
      "median of %d sets (%d connections, %.1f s each): %.0f req/s (%.0f..%.0f), p50 %.1f us "
      "(%.1f..%.1f), p99 %.1f us (%.1f..%.1f)\n",
      o.sets, o.connections, o.seconds, median(rps), span(rps).first, span(rps).second, median(p50),
      span(p50).first, span(p50).second, median(p99), span(p99).first, span(p99).second);
  if (!o.json.empty()) {
    std::ofstream j(o.json);
    j << "{\"sets\": " << o.sets << ", \"connections\": " << o.connections
      << ", \"seconds\": " << o.seconds << ", \"rps_median\": " << median(rps)
      << ", \"rps_min\": " << span(rps).first << ", \"rps_max\": " << span(rps).second
      << ", \"p50_us_median\": " << median(p50) << ", \"p99_us_median\": " << median(p99)
      << ", \"p99_us_min\": " << span(p99).first << ", \"p99_us_max\": " << span(p99).second
      << "}\n";
  }
  for (auto &c : conns) ::close(c.fd);
  return 0;
}
