// The parsers against the real rbldnsd: seeded random and adversarial zones of every type are
// served by rbldnsd (Debian's package, run in the foreground on a free loopback port as an
// unprivileged user, killed at the end) and queried over DNS for addresses inside and around
// every listed prefix; for each address the set of return codes rbldnsd answers must be the
// set sluice's parser gives (its deciding entry's codes), and the compiled table's score must
// be the source's contribution for that set (SourceConfig::weight_for_codes).
//
// rbldnsd is found through SLUICE_RBLDNSD, else $SLUICE_TOOLS_DIR/rbldnsd/usr/sbin/rbldnsd
// (SLUICE_TOOLS_DIR defaults to /var/cache/sluice-tools; scripts/install-deps unpacks the
// package there), else PATH. Without it the test is skipped; with CI=true that is a failure.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "sluice/reputation/compile.h"
#include "test_util.h"

extern char **environ;

namespace sluice::reputation::testing {
namespace {

namespace fs = std::filesystem;
using Codes = std::vector<uint32_t>;  // sorted, distinct

std::string find_rbldnsd() {
  if (const char *e = std::getenv("SLUICE_RBLDNSD"); e && *e) return e;
  const char *td = std::getenv("SLUICE_TOOLS_DIR");
  fs::path tools = (td && *td) ? td : "/var/cache/sluice-tools";
  if (fs::exists(tools / "rbldnsd/usr/sbin/rbldnsd"))
    return (tools / "rbldnsd/usr/sbin/rbldnsd").string();
  if (const char *path = std::getenv("PATH")) {
    std::stringstream ss(path);
    for (std::string dir; std::getline(ss, dir, ':');)
      if (!dir.empty() && ::access((fs::path(dir) / "rbldnsd").c_str(), X_OK) == 0)
        return (fs::path(dir) / "rbldnsd").string();
  }
  return {};
}

// ---- a minimal DNS client: one A query over UDP, the A records of the answer ----

struct DnsAnswer {
  bool ok = false;  // a response arrived
  int rcode = -1;
  Codes codes;
};

class DnsClient {
 public:
  explicit DnsClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0)
      throw std::runtime_error("dns client socket");
  }
  ~DnsClient() { ::close(fd_); }

  DnsAnswer query(const std::string &name, int timeout_ms = 500, int tries = 3) {
    for (int t = 0; t < tries; ++t) {
      const uint16_t id = ++id_;
      std::vector<uint8_t> q{static_cast<uint8_t>(id >> 8),
                             static_cast<uint8_t>(id),
                             0x01,
                             0,
                             0,
                             1,
                             0,
                             0,
                             0,
                             0,
                             0,
                             0};  // RD, one question
      std::stringstream ss(name);
      for (std::string label; std::getline(ss, label, '.');) {
        q.push_back(static_cast<uint8_t>(label.size()));
        q.insert(q.end(), label.begin(), label.end());
      }
      q.insert(q.end(), {0, 0, 1, 0, 1});  // root, type A, class IN
      if (::send(fd_, q.data(), q.size(), 0) != static_cast<ssize_t>(q.size())) continue;
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
      for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        uint8_t buf[4096];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 12) continue;
        if (((buf[0] << 8) | buf[1]) != id) continue;  // a late answer to an earlier try
        return parse(buf, static_cast<size_t>(n));
      }
    }
    return {};
  }

 private:
  static DnsAnswer parse(const uint8_t *b, size_t n) {
    DnsAnswer a;
    a.ok = true;
    a.rcode = b[3] & 0x0f;
    const unsigned qd = (b[4] << 8) | b[5], an = (b[6] << 8) | b[7];
    size_t off = 12;
    auto skip_name = [&] {
      while (off < n) {
        uint8_t l = b[off];
        if ((l & 0xc0) == 0xc0) {
          off += 2;
          return;
        }
        off += 1 + l;
        if (l == 0) return;
      }
    };
    for (unsigned i = 0; i < qd; ++i) {
      skip_name();
      off += 4;
    }
    std::set<uint32_t> codes;
    for (unsigned i = 0; i < an && off < n; ++i) {
      skip_name();
      if (off + 10 > n) break;
      const unsigned type = (b[off] << 8) | b[off + 1];
      const unsigned rdlen = (b[off + 8] << 8) | b[off + 9];
      off += 10;
      if (off + rdlen > n) break;
      if (type == 1 && rdlen == 4)
        codes.insert((uint32_t{b[off]} << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) |
                     b[off + 3]);
      off += rdlen;
    }
    a.codes.assign(codes.begin(), codes.end());
    return a;
  }

  int fd_ = -1;
  uint16_t id_ = 0x5100;
};

std::string v4_name(uint32_t a, const std::string &zone) {
  return fmt::format("{}.{}.{}.{}.{}", a & 255, (a >> 8) & 255, (a >> 16) & 255, a >> 24, zone);
}
std::string v6_name(U128 a, const std::string &zone) {
  std::string s;
  for (int i = 0; i < 32; ++i)
    s += fmt::format("{:x}.", static_cast<unsigned>((a >> (4 * i)) & 15));
  return s + zone;
}

// ---- rbldnsd, in the foreground, killed at the end ----

class Rbldnsd {
 public:
  Rbldnsd(const std::string &exe, const fs::path &dir, const std::vector<std::string> &zones) {
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) start(exe, dir, zones);
  }
  ~Rbldnsd() { stop(); }
  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  static uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    uint16_t port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &len) == 0)
      port = ntohs(sa.sin_port);
    if (fd >= 0) ::close(fd);
    return port;
  }

  void start(const std::string &exe, const fs::path &dir, const std::vector<std::string> &zones) {
    port_ = free_port();
    log_ = (dir / "rbldnsd.log").string();
    std::vector<std::string> args{
        exe, "-n", "-f", "-c", "0", "-w", dir.string(), "-b", fmt::format("127.0.0.1/{}", port_)};
    if (::getuid() == 0) args.insert(args.end(), {"-u", "65534:65534"});  // it refuses root
    args.insert(args.end(), zones.begin(), zones.end());
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return;
    pid_ = pid;
    // Ready when it answers; it loads the zones before serving. Bounded: 10 s.
    DnsClient c(port_);
    for (int i = 0; i < 100; ++i) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: bad zone spec, port taken
        pid_ = -1;
        return;
      }
      if (c.query("2.0.0.127.ip4set.test", 100, 1).ok) return;
    }
    stop();
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {  // 2 s, then SIGKILL
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

// ---- zone generators: lines plus the addresses worth asking about ----

struct Zone {
  std::string name;  // "ip4set"
  SourceType type;
  std::vector<std::string> lines;
  std::vector<uint32_t> probes4;
  std::vector<U128> probes6;
};

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  uint32_t u(uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng_);
  }
  bool p(double x) { return std::uniform_real_distribution<double>(0, 1)(rng_) < x; }
  template <class T>
  const T &pick(const std::vector<T> &v) {
    return v[u(0, static_cast<uint32_t>(v.size() - 1))];
  }

  // A value after an entry: none, ":N", ":127.0.0.N:txt", TXT only, a comment, or one rbldnsd
  // refuses.
  std::string value() {
    switch (u(0, 11)) {
      case 0:
      case 1:
      case 2:
        return "";
      case 3:
        return fmt::format(" :{}", u(2, 9));
      case 4:
        return fmt::format(" :127.0.0.{}:listed", u(2, 9));
      case 5:
        return fmt::format(":{}:no blank before", u(2, 9));
      case 6:
        return " plain TXT";
      case 7:
        return p(0.5) ? " # comment" : ";comment";
      case 8:
        return fmt::format("\t:127.{}", u(2, 9));  // inet_aton: 127.0.0.N
      case 9:
        return fmt::format(" :{} :txt", u(2, 9));
      case 10:
        return pick<std::string>({" :0", " :", " ::txt", " :3 junk", " :256", " :1.2"});
      default:
        return fmt::format(" :127.0.0.{}", u(2, 9));
    }
  }
  std::string lead() { return p(0.1) ? pick<std::string>({" ", "\t", "  \t"}) : ""; }
  std::string noise() {
    return pick<std::string>({"# comment", "; comment", "", "$TTL 300", "#$TTL 60",
                              fmt::format(":{}:default", u(2, 9)),
                              fmt::format(":127.0.0.{}", u(2, 9)), ":0:bad default",
                              "$SOA 300 a.example. b.example. 1 2 3 4 5", "$BOGUS"});
  }

  static std::string q4(uint32_t a) { return format_ipv4(a); }

  void probe4(Zone &z, uint32_t lo, uint32_t hi) {
    z.probes4.push_back(lo);
    z.probes4.push_back(hi);
    if (lo > 0) z.probes4.push_back(lo - 1);
    if (hi < 0xffffffffu) z.probes4.push_back(hi + 1);
    if (hi > lo) z.probes4.push_back(lo + u(0, hi - lo));
  }
  void probe6(Zone &z, U128 lo, U128 hi) {
    z.probes6.push_back(lo);
    z.probes6.push_back(hi);
    z.probes6.push_back(lo - 1);
    z.probes6.push_back(hi + 1);
    if (hi > lo) z.probes6.push_back(lo + (((U128{u(0, ~0u)} << 32) | u(0, ~0u)) % (hi - lo)));
  }

  // Addresses in 198.18.0.0/20 mostly, so that entries overlap.
  uint32_t a4() { return 0xc6120000u | (p(0.9) ? u(0, 15) : u(0, 511)) << 8 | u(0, 255); }

  Zone ip4set(int n) {
    Zone z{"ip4set", SourceType::kRbldnsdIp4set, {}, {}, {}};
    std::vector<std::string> forms;
    for (int i = 0; i < n; ++i) {
      if (p(0.1)) {
        z.lines.push_back(noise());
        continue;
      }
      if (i == n * 3 / 4 && p(0.5))
        z.lines.push_back(p(0.5) ? "$MAXRANGE4 /20" : "#$MAXRANGE4 4096");
      std::string form;
      uint32_t lo = 0, hi = 0;
      const uint32_t a = a4();
      switch (u(0, 12)) {
        case 0:
        case 1:
        case 2:
          form = q4(a), lo = hi = a;
          break;
        case 3:  // three octets: a /24
          form = fmt::format("{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255);
          lo = a & 0xffffff00u, hi = lo | 255;
          break;
        case 4: {  // CIDR of any length 20..32
          int len = static_cast<int>(u(20, 32));
          lo = a & prefix_mask<uint32_t>(len), hi = prefix_last<uint32_t>(lo, len);
          form = fmt::format("{}/{}", q4(lo), len);
          break;
        }
        case 5: {  // full range within a few /24s
          uint32_t b = std::min<uint64_t>(0xffffffffu, uint64_t{a} + u(0, 700));
          form = fmt::format("{}-{}", q4(a), q4(b)), lo = a, hi = b;
          break;
        }
        case 6: {  // last-octet suffix range
          uint32_t e = u(a & 255, 255);
          form = fmt::format("{}-{}", q4(a), e), lo = a, hi = (a & ~255u) | e;
          break;
        }
        case 7: {  // three-octet range: whole /24s
          uint32_t c = (a >> 8) & 255, e = std::min<uint32_t>(255, c + u(0, 3));
          form = fmt::format("{}.{}.{}-{}", a >> 24, (a >> 16) & 255, c, e);
          lo = a & 0xffffff00u, hi = (a & 0xffff0000u) | (e << 8) | 255;
          break;
        }
        case 8:  // a /16 or a /8: the upper levels
          form = p(0.7) ? "198.18/16" : (p(0.5) ? "198/8" : "198.18.0.0-198.19.255.255");
          lo = p(0.5) ? 0xc6120000u : 0xc6000000u, hi = lo | 0x1ffff;
          break;
        case 9:  // forms rbldnsd refuses (or reads its own way)
          form = pick<std::string>({"198", fmt::format("{}/24", q4(a | 5)), "198.18.1.256",
                                    "198.18-198.18.3.4", "198.18.3.9-198.18.3.1", "0.0.0.0/0",
                                    "198.18.1.2/33", "198.18.1.0/", "0198.018.001.009",
                                    "198.18.2.1-5-7", "198.18.2.0/0024", "198.18.4.1:3",
                                    "198.18.5.1-198.18.5", "198.18.6.300-1"});
          lo = 0xc6120000u, hi = 0xc6120fffu;
          break;
        default:
          if (!forms.empty()) {  // the same key again, with another value
            form = pick(forms);
            z.lines.push_back(lead() + (p(0.3) ? "!" : "") + form + value());
            continue;
          }
          form = q4(a), lo = hi = a;
      }
      forms.push_back(form);
      probe4(z, lo, hi);
      const bool excl = p(0.15);
      z.lines.push_back(lead() + (excl ? (p(0.3) ? "! " : "!") : "") + form + value());
    }
    for (int i = 0; i < 300; ++i) z.probes4.push_back(a4());
    return z;
  }

  Zone ip4trie(int n) {
    Zone z{"ip4trie", SourceType::kRbldnsdIp4trie, {}, {}, {}};
    std::vector<std::string> forms;
    for (int i = 0; i < n; ++i) {
      if (p(0.1)) {
        z.lines.push_back(noise());
        continue;
      }
      const uint32_t a = a4();
      std::string form;
      uint32_t lo = 0, hi = 0;
      switch (u(0, 7)) {
        case 0:
        case 1:
          form = q4(a), lo = hi = a;
          break;
        case 2:
        case 3: {
          int len = static_cast<int>(u(12, 32));
          lo = a & prefix_mask<uint32_t>(len), hi = prefix_last<uint32_t>(lo, len);
          form = fmt::format("{}/{}", q4(lo), len);
          break;
        }
        case 4:
          form = fmt::format("{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255);
          lo = a & 0xffffff00u, hi = lo | 255;
          break;
        case 5:
          form = pick<std::string>({"0/0", "198.18/15", "198/8", "198", "198.18.1.0-198.18.1.9",
                                    fmt::format("{}/16", q4(a)), "198.18.1.0/24junk",
                                    "198.18.2.0/024", "198.18/16"});
          lo = 0xc6120000u, hi = 0xc612ffffu;
          break;
        default:
          if (!forms.empty()) {  // duplicated prefix: the first line keeps it
            form = pick(forms);
            z.lines.push_back((p(0.4) ? "!" : "") + form + value());
            continue;
          }
          form = q4(a), lo = hi = a;
      }
      forms.push_back(form);
      probe4(z, lo, hi);
      z.lines.push_back(lead() + (p(0.15) ? "!" : "") + form + value());
    }
    for (int i = 0; i < 300; ++i) z.probes4.push_back(a4());
    return z;
  }

  Zone ip4tset(int n) {
    Zone z{"ip4tset", SourceType::kRbldnsdIp4tset, {}, {}, {}};
    for (int i = 0; i < n; ++i) {
      if (p(0.1)) {
        z.lines.push_back(noise());
        continue;
      }
      const uint32_t a = a4();
      z.probes4.push_back(a);
      z.probes4.push_back(a + 1);
      switch (u(0, 6)) {
        case 0:
          z.lines.push_back("!" + q4(a));
          break;
        case 1:
          z.lines.push_back(fmt::format("{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255));
          break;
        case 2:
          z.lines.push_back(q4(a) + value());
          break;
        case 3:
          z.lines.push_back(q4(a) + "/32");
          break;
        default:
          z.lines.push_back(lead() + q4(a));
      }
    }
    for (int i = 0; i < 200; ++i) z.probes4.push_back(a4());
    return z;
  }

  // IPv6 under 2001:2::/48, words 4.. small so that entries overlap.
  U128 a6() {
    U128 a = (U128{0x20010002} << 96) | (U128{u(0, 7)} << 64);
    if (p(0.5)) a |= U128{u(0, 3)} << 48;
    if (p(0.5)) a |= u(0, 300);
    return a;
  }
  static std::string q6(U128 a) { return format_ipv6(a); }
  static std::string words(U128 a, int n) {  // the first n words, no "::"
    std::string s;
    for (int i = 0; i < n; ++i)
      s += fmt::format("{}{:x}", i ? ":" : "",
                       static_cast<unsigned>((a >> (112 - 16 * i)) & 0xffff));
    return s;
  }

  Zone ip6trie(int n) {
    Zone z{"ip6trie", SourceType::kRbldnsdIp6trie, {}, {}, {}};
    std::vector<std::string> forms;
    for (int i = 0; i < n; ++i) {
      if (p(0.1)) {
        z.lines.push_back(noise());
        continue;
      }
      const U128 a = a6();
      std::string form;
      U128 lo = 0, hi = 0;
      switch (u(0, 8)) {
        case 0:
        case 1:
          form = q6(a), lo = hi = a;
          break;
        case 2:
        case 3: {
          int len = static_cast<int>(u(44, 128));
          lo = a & prefix_mask<U128>(len), hi = prefix_last<U128>(lo, len);
          form = fmt::format("{}/{}", q6(lo), len);
          break;
        }
        case 4: {  // words without "::": 16 bits each
          int w = static_cast<int>(u(3, 8));
          lo = a & prefix_mask<U128>(16 * w), hi = prefix_last<U128>(lo, 16 * w);
          form = words(lo, w);
          break;
        }
        case 5: {  // words and a length
          int w = static_cast<int>(u(3, 5)), len = static_cast<int>(u(33, 16 * w));
          lo = a & prefix_mask<U128>(len), hi = prefix_last<U128>(lo, len);
          form = fmt::format("{}/{}", words(lo, w), len);
          break;
        }
        case 6:
          form =
              pick<std::string>({"::/0", "2001", "2001:2::/48", "2001:2::1/64", "2001:2:0:1::/129",
                                 "::ffff:198.18.0.1", "2001:2:0:1::5:", "2001:2::1::2",
                                 "2001:2:0:0:0:0:0:1:7", "2001:2:0:2::/064", "2001:2:0:3::00001",
                                 "2001:2:0:4::10000", "2001:2:0:5:0:0:0:0:0"});
          lo = U128{0x20010002} << 96, hi = lo | ((U128{1} << 72) - 1);
          break;
        default:
          if (!forms.empty()) {
            form = pick(forms);
            z.lines.push_back((p(0.4) ? "!" : "") + form + value());
            continue;
          }
          form = q6(a), lo = hi = a;
      }
      forms.push_back(form);
      probe6(z, lo, hi);
      z.lines.push_back(lead() + (p(0.15) ? "!" : "") + form + value());
    }
    for (int i = 0; i < 300; ++i) z.probes6.push_back(a6());
    return z;
  }

  Zone ip6tset(int n) {
    Zone z{"ip6tset", SourceType::kRbldnsdIp6tset, {}, {}, {}};
    for (int i = 0; i < n; ++i) {
      if (p(0.1)) {
        z.lines.push_back(noise());
        continue;
      }
      const U128 a = a6();
      const U128 net = a & prefix_mask<U128>(64);
      probe6(z, net, prefix_last<U128>(net, 64));
      z.probes6.push_back(a);
      switch (u(0, 7)) {
        case 0:
        case 1:
        case 2:
          z.lines.push_back(lead() + words(net, 4) + (p(0.2) ? value() : ""));
          break;
        case 3:
        case 4:
          z.lines.push_back("!" + q6(a));
          break;
        case 5:
          z.lines.push_back("!" + words(net, 4));
          break;  // refused: exclusions are /128
        case 6:
          z.lines.push_back(q6(a));
          break;  // refused: entries are /64
        default:
          z.lines.push_back(pick<std::string>({"::1", "!::1", words(net, 3), words(a, 8),
                                               words(net, 4) + "/64", "!" + words(a, 8)}));
      }
    }
    for (int i = 0; i < 200; ++i) z.probes6.push_back(a6());
    return z;
  }

 private:
  std::mt19937_64 rng_;
};

// The codes the parsed source answers for an address: its most specific entry's.
template <class A>
Codes sluice_codes(const ParsedSource &p, const std::vector<Entry<A>> &v, A addr,
                   const Entry<A> **decider) {
  const Entry<A> *best = nullptr;
  for (const auto &e : v)
    if (prefix_contains<A>(e.addr, e.len, addr) && (!best || e.len > best->len)) best = &e;
  *decider = best;
  if (!best) return {};
  return p.codes_of(*best);
}

std::string codes_text(const Codes &c) {
  std::string s = "{";
  for (size_t i = 0; i < c.size(); ++i) s += (i ? "," : "") + format_ipv4(c[i]);
  return s + "}";
}

SourceConfig config_for(const Zone &z, const fs::path &file) {
  SourceConfig c = config(z.type, 1 << 20);  // `weight`: every code without its own
  c.name = z.name;
  c.path = file.string();
  c.max_malformed = static_cast<size_t>(-1);
  for (uint32_t k = 2; k <= 9; ++k) c.code_weights[0x7f000000u | k] = 1 << k;  // distinct bits
  return c;
}

// Seeds 1..N, N from SLUICE_RBLDNSD_SEEDS (default 3: about a second), for longer hunts.
uint64_t seeds() {
  const char *e = std::getenv("SLUICE_RBLDNSD_SEEDS");
  const long n = e ? std::atol(e) : 0;
  return n > 0 ? static_cast<uint64_t>(n) : 3;
}

void check_seed(const std::string &exe, uint64_t seed) {
  fs::path dir = fs::temp_directory_path() / fmt::format("sluice-rbldnsd-{}-{}", ::getpid(), seed);
  fs::remove_all(dir);
  fs::create_directories(dir);
  ::chmod(dir.c_str(), 0755);  // rbldnsd reads it as an unprivileged user
  struct Cleanup {
    fs::path d;
    ~Cleanup() { fs::remove_all(d); }
  } cleanup{dir};

  Gen g(seed);
  std::vector<Zone> zones{g.ip4set(160), g.ip4trie(160), g.ip4tset(100), g.ip6trie(160),
                          g.ip6tset(120)};
  std::vector<std::string> specs;
  for (const Zone &z : zones) {
    std::ofstream out(dir / (z.name + ".zone"));
    for (const auto &l : z.lines) out << l << "\n";
    specs.push_back(
        fmt::format("{}.test:{}:{}", z.name, z.name, (dir / (z.name + ".zone")).string()));
  }
  // The readiness probe asks ip4set.test; every zone is loaded before rbldnsd answers.
  Rbldnsd server(exe, dir, specs);
  ASSERT_TRUE(server.running()) << "rbldnsd did not start: " << server.log();
  DnsClient dns(server.port());

  size_t asked = 0;
  for (const Zone &z : zones) {
    size_t listed = 0, several = 0;
    const SourceConfig cfg = config_for(z, dir / (z.name + ".zone"));
    std::string text;
    for (const auto &l : z.lines) text += l + "\n";
    const ParsedSource parsed = parse_source_text(cfg, text, cfg.path);
    const std::vector<ParsedSource> ps{parsed};
    const std::vector<SourceConfig> cs{cfg};
    const Snapshot table = compile(ps, cs);
    int mismatches = 0;
    auto check = [&](const std::string &addr_text, const DnsAnswer &ans, const Codes &mine,
                     uint32_t line, sl_rep_value value) {
      ++asked;
      ASSERT_TRUE(ans.ok) << "no answer from rbldnsd for " << addr_text;
      listed += !ans.codes.empty();
      several += ans.codes.size() > 1;
      const int64_t want = ans.codes.empty() ? 0 : cfg.weight_for_codes(ans.codes);
      if (ans.codes != mine || value.score != want) {
        if (++mismatches <= 15)
          ADD_FAILURE() << z.name << " seed " << seed << ": " << addr_text << ": rbldnsd answers "
                        << codes_text(ans.codes) << ", sluice " << codes_text(mine)
                        << " (deciding line " << line << ": '"
                        << (line ? z.lines[line - 1] : std::string()) << "'), table score "
                        << value.score << " for " << want;
      }
    };
    for (uint32_t a : z.probes4) {
      const EntryV4 *d;
      Codes mine = sluice_codes<uint32_t>(parsed, parsed.v4, a, &d);
      check(format_ipv4(a), dns.query(v4_name(a, z.name + ".test")), mine, d ? d->line : 0,
            table.lookup_v4(sl_htonl(a)).value_or(sl_rep_value{0, 0}));
    }
    for (U128 a : z.probes6) {
      const EntryV6 *d;
      Codes mine = sluice_codes<U128>(parsed, parsed.v6, a, &d);
      uint8_t b[16];
      v6_to_bytes(a, b);
      check(format_ipv6(a), dns.query(v6_name(a, z.name + ".test")), mine, d ? d->line : 0,
            table.lookup_v6(b).value_or(sl_rep_value{0, 0}));
    }
    EXPECT_EQ(mismatches, 0) << z.name << ": " << mismatches << " addresses differ; zone file:\n"
                             << (mismatches ? text : std::string());
    // Not vacuous: a fair share of the probes is listed, and ip4set addresses answering
    // several codes are among them.
    const size_t probes = z.probes4.size() + z.probes6.size();
    EXPECT_GT(listed, probes / 10) << z.name << " seed " << seed;
    if (z.type == SourceType::kRbldnsdIp4set) {
      EXPECT_GT(several, 0u) << "seed " << seed;
    }
  }
  EXPECT_GT(asked, 2000u);
}

TEST(RbldnsdOracle, EveryZoneTypeAnswersAsRbldnsdDoes) {
  const std::string exe = find_rbldnsd();
  if (exe.empty()) {
    const char *ci = std::getenv("CI");
    if (ci && std::string(ci) == "true")
      FAIL() << "rbldnsd not found (SLUICE_RBLDNSD, $SLUICE_TOOLS_DIR/rbldnsd, PATH): run "
                "scripts/install-deps";
    GTEST_SKIP() << "rbldnsd not found (SLUICE_RBLDNSD, $SLUICE_TOOLS_DIR/rbldnsd, PATH)";
  }
  for (uint64_t seed = 1; seed <= seeds(); ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    check_seed(exe, seed);
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace sluice::reputation::testing
