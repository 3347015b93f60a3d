// The policy service's listener and answers (control/sluiced/policy/policy_server.h,
// policy_service.h) on real sockets, the server pumped by a thread as sluiced's loop would:
// requests on a kept connection, pipelined requests, and hostile clients (oversized,
// unterminated, binary junk, many connections, a stalled client while another is served, a
// client that never reads its replies, a peer without the socket's group). Bounds on waiting
// only stop a hang; nothing here asserts a duration.
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "policy_server.h"
#include "policy_service.h"

namespace sluice::sluiced::policy {
namespace {

using namespace std::chrono_literals;
namespace rep = sluice::reputation;

const std::string kRequestHead =
    "request=smtpd_access_policy\nprotocol_state=RCPT\nhelo_name=mx.example\n"
    "sender=a@Sender.Example\nrecipient=user@sluice.test\n";

std::string request_for(const std::string &client, const std::string &recipient = "") {
  return "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=" + client +
         "\nhelo_name=mx.example\nsender=a@Sender.Example\nrecipient=" +
         (recipient.empty() ? "user@sluice.test" : recipient) + "\n\n";
}

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "sluice_policy.XXXXXX").string();
    if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp");
    path_ = t;
    ::chmod(path_.c_str(), 0755);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string &n) const { return path_ + "/" + n; }

 private:
  std::string path_;
};

// A server on a unix socket (or loopback TCP), a table of two listed addresses, a policy of
// three levels (thresholds 5 and 50), pumped by a thread.
class PolicyServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg.enabled = true;
    cfg.listen.kind = Listen::Kind::kUnix;
    cfg.listen.path = dir / "policy.sock";
    cfg.limits.request_timeout = 300ms;
    cfg.limits.idle_timeout = 60s;
    cfg.actions.resize(3);
    cfg.actions[0] = parse_action("DUNNO");
    cfg.actions[1] = parse_action("PREPEND X-Sluice: score={score}; level={level}");
    cfg.actions[2] = parse_action("DEFER_IF_PERMIT 4.7.1 level {level_name}");
    cfg.traps = {"trap@sluice.test"};
  }
  void TearDown() override { stop(); }

  void start() {
    service = std::make_unique<PolicyService>(
        cfg,
        [](const rep::IpAddress &a) -> std::optional<sl_rep_value> {
          if (rep::format_ip(a) == "198.18.0.7") return sl_rep_value{12, 0};
          if (rep::format_ip(a) == "198.18.0.9") return sl_rep_value{80, 0};
          if (rep::format_ip(a) == "2001:2::5") return sl_rep_value{80, SL_REP_ALLOW};
          return std::nullopt;
        },
        [this](const rep::IpAddress &a, const std::string &t) {
          traps.push_back(rep::format_ip(a) + " " + t);
        },
        [] { return int64_t{1700000000}; });
    Levels l;
    l.policy.nlevels = 3;
    l.policy.thresholds[1] = 5;
    l.policy.thresholds[2] = 50;
    l.names = {"pass", "shape", "block"};
    service->set_levels(l);
    server = std::make_unique<PolicyServer>(
        cfg.listen, 0660, std::nullopt, cfg.limits,
        [this](const PolicyRequest &r, std::string &out) { service->answer(r, out); },
        [this](Refusal r, const std::string &, const std::string &) { refusals.push_back(r); });
    running = true;
    pump = std::thread([this] {
      while (running) {
        pollfd p{server->fd(), POLLIN, 0};
        ::poll(&p, 1, 5);
        std::lock_guard lock(mu);
        server->on_ready();
        server->expire();
      }
    });
  }
  void stop() {
    running = false;
    if (pump.joinable()) pump.join();
  }
  template <class F>
  auto locked(F f) {
    std::lock_guard lock(mu);
    return f();
  }

  int connect_client() {
    int fd = -1;
    if (cfg.listen.kind == Listen::Kind::kUnix) {
      fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::strcpy(a.sun_path, cfg.listen.path.c_str());
      if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
      }
    } else {
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(server->port());
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
      }
    }
    timeval tv{10, 0};  // a bound on a hang, not an assertion
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  static void send_all(int fd, const std::string &s) {
    size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // One reply ("action=...\n\n"), or "" when the server closed the connection (or 10 s passed).
  static std::string read_reply(int fd) {
    std::string got;
    char c;
    while (got.size() < 2 || got.compare(got.size() - 2, 2, "\n\n") != 0) {
      const ssize_t n = ::recv(fd, &c, 1, 0);
      if (n <= 0) return got.empty() ? "" : "partial:" + got;
      got += c;
    }
    return got;
  }
  // True once the server has closed `fd` (reads end-of-file or a reset), within 10 s.
  static bool closed_by_server(int fd) {
    char buf[256];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }
  template <class F>
  bool wait_for(F cond) {
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < end) {
      if (locked(cond)) return true;
      std::this_thread::sleep_for(5ms);
    }
    return locked(cond);
  }

  TempDir dir;
  PolicyConfig cfg;
  std::unique_ptr<PolicyService> service;
  std::unique_ptr<PolicyServer> server;
  std::vector<Refusal> refusals;
  std::vector<std::string> traps;
  std::mutex mu;
  std::atomic<bool> running{false};
  std::thread pump;
};

TEST_F(PolicyServerTest, AnswersEachLevelsActionOnAKeptConnection) {
  start();
  const int fd = connect_client();
  ASSERT_GE(fd, 0);
  send_all(fd, request_for("198.18.0.1"));
  EXPECT_EQ(read_reply(fd), "action=DUNNO\n\n");
  send_all(fd, request_for("198.18.0.7"));
  EXPECT_EQ(read_reply(fd), "action=PREPEND X-Sluice: score=12; level=1\n\n");
  send_all(fd, request_for("198.18.0.9"));
  EXPECT_EQ(read_reply(fd), "action=DEFER_IF_PERMIT 4.7.1 level block\n\n");
  send_all(fd, request_for("2001:2::5"));  // allowlisted: level 0 whatever its score
  EXPECT_EQ(read_reply(fd), "action=DUNNO\n\n");
  ::close(fd);
  locked([&] {
    const auto &c = service->recorder().counters();
    EXPECT_EQ(c.requests, 4u);
    EXPECT_EQ(c.replies.at("DUNNO"), 2u);
    EXPECT_EQ(c.replies.at("PREPEND"), 1u);
    EXPECT_EQ(c.replies.at("DEFER_IF_PERMIT"), 1u);
    const auto recent = service->recorder().recent(10);
    EXPECT_EQ(recent.size(), 4u);
    EXPECT_EQ(recent[1].client_address, "198.18.0.7");
    EXPECT_EQ(recent[1].helo_name, "mx.example");
    EXPECT_EQ(recent[1].sender_domain, "sender.example");
    EXPECT_EQ(recent[1].score, 12);
    EXPECT_EQ(recent[1].level, 1u);
    return 0;
  });
}

TEST_F(PolicyServerTest, ServesLoopbackTcpToo) {
  cfg.listen = parse_listen("inet:127.0.0.1:0");
  start();
  ASSERT_NE(server->port(), 0);
  const int fd = connect_client();
  ASSERT_GE(fd, 0);
  send_all(fd, request_for("198.18.0.7"));
  EXPECT_EQ(read_reply(fd), "action=PREPEND X-Sluice: score=12; level=1\n\n");
  ::close(fd);
}

TEST_F(PolicyServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  const int fd = connect_client();
  send_all(fd, request_for("198.18.0.9") + request_for("198.18.0.1") + request_for("198.18.0.7"));
  EXPECT_EQ(read_reply(fd), "action=DEFER_IF_PERMIT 4.7.1 level block\n\n");
  EXPECT_EQ(read_reply(fd), "action=DUNNO\n\n");
  EXPECT_EQ(read_reply(fd), "action=PREPEND X-Sluice: score=12; level=1\n\n");
  ::close(fd);
}

TEST_F(PolicyServerTest, ARequestCutInPiecesIsAnsweredWhenWhole) {
  start();
  const int fd = connect_client();
  const std::string r = request_for("198.18.0.7");
  for (size_t i = 0; i < r.size(); i += 7) {
    send_all(fd, r.substr(i, 7));
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(read_reply(fd), "action=PREPEND X-Sluice: score=12; level=1\n\n");
  ::close(fd);
}

TEST_F(PolicyServerTest, AnOversizedRequestEndsTheConnectionWithoutAReply) {
  cfg.limits.request.max_request_bytes = 1024;
  start();
  const int fd = connect_client();
  std::string big = "request=smtpd_access_policy\n";
  while (big.size() < 4096) big += "filler=" + std::string(100, 'x') + "\n";
  send_all(fd, big);
  EXPECT_TRUE(closed_by_server(fd));
  ::close(fd);
  EXPECT_TRUE(wait_for([&] { return refusals.size() == 1; }));
  EXPECT_EQ(locked([&] { return refusals.at(0); }), Refusal::kRequestTooLarge);
}

TEST_F(PolicyServerTest, AnOverlongLineEndsTheConnection) {
  start();
  const int fd = connect_client();
  send_all(fd, "request=smtpd_access_policy\nhelo_name=" + std::string(8000, 'h'));
  EXPECT_TRUE(closed_by_server(fd));
  ::close(fd);
  EXPECT_TRUE(wait_for([&] { return refusals.size() == 1; }));
  EXPECT_EQ(locked([&] { return refusals.at(0); }), Refusal::kLineTooLong);
}

TEST_F(PolicyServerTest, BinaryJunkEndsTheConnectionWithoutAReply) {
  start();
  const int fd = connect_client();
  send_all(fd, std::string("request=smtpd_access_policy\n\x16\x03\x01\x02\x00\x01\x00", 35));
  EXPECT_TRUE(closed_by_server(fd));
  ::close(fd);
  EXPECT_TRUE(wait_for([&] { return refusals.size() == 1; }));
  EXPECT_EQ(locked([&] { return refusals.at(0); }), Refusal::kBinary);
}

TEST_F(PolicyServerTest, RepliesToEarlierRequestsAreSentBeforeARefusal) {
  start();
  const int fd = connect_client();
  send_all(fd, request_for("198.18.0.1") + "no equals sign here\n");
  EXPECT_EQ(read_reply(fd), "action=DUNNO\n\n");
  EXPECT_TRUE(closed_by_server(fd));
  ::close(fd);
  EXPECT_TRUE(wait_for([&] { return refusals.size() == 1; }));
  EXPECT_EQ(locked([&] { return refusals.at(0); }), Refusal::kNoEquals);
}

TEST_F(PolicyServerTest, AnUnterminatedRequestIsClosedAtItsDeadline) {
  start();
  const int fd = connect_client();
  send_all(fd, "request=smtpd_access_policy\nclient_address=198.18.0.7\n");
  EXPECT_TRUE(closed_by_server(fd));
  ::close(fd);
  EXPECT_EQ(locked([&] { return server->counters().timeouts; }), 1u);
  EXPECT_TRUE(locked([&] { return refusals.empty(); }));
}

TEST_F(PolicyServerTest, AStalledClientNeitherDelaysAnotherNorStaysForever) {
  cfg.limits.request_timeout = 5s;
  start();
  const int stalled = connect_client();
  send_all(stalled, "request=smtpd_access_policy\nclient_addr");
  const int other = connect_client();
  for (int i = 0; i < 50; ++i) {
    send_all(other, request_for("198.18.0.7"));
    ASSERT_EQ(read_reply(other), "action=PREPEND X-Sluice: score=12; level=1\n\n") << i;
  }
  // Served while the stalled one still holds its connection.
  EXPECT_EQ(locked([&] { return server->clients(); }), 2u);
  EXPECT_EQ(locked([&] { return server->counters().timeouts; }), 0u);
  EXPECT_TRUE(closed_by_server(stalled));
  EXPECT_EQ(locked([&] { return server->counters().timeouts; }), 1u);
  ::close(stalled);
  ::close(other);
}

TEST_F(PolicyServerTest, ManyConnectionsStayBoundedAndANewClientIsServed) {
  cfg.limits.max_clients = 8;
  start();
  std::vector<int> flood;
  for (int i = 0; i < 200; ++i) {
    const int fd = connect_client();
    if (fd >= 0) flood.push_back(fd);
    if (i % 3 == 0) send_all(fd, "request=smtpd");  // some with a request started
  }
  EXPECT_TRUE(wait_for([&] { return server->counters().connections == 200; }));
  EXPECT_LE(locked([&] { return server->clients(); }), 8u);
  EXPECT_GE(locked([&] { return server->counters().evicted; }), 192u);
  const int fd = connect_client();
  send_all(fd, request_for("198.18.0.9"));
  EXPECT_EQ(read_reply(fd), "action=DEFER_IF_PERMIT 4.7.1 level block\n\n");
  ::close(fd);
  for (int f : flood) ::close(f);
}

TEST_F(PolicyServerTest, AClientThatNeverReadsItsRepliesIsNotReadFromAndIsClosed) {
  cfg.limits.request_timeout = 1s;
  start();
  const int greedy = connect_client();
  ::fcntl(greedy, F_SETFL, O_NONBLOCK);
  const std::string r = request_for("198.18.0.7");
  // Sends until the server stops taking requests (200 tries in a row find no room), bounded.
  size_t sent = 0, off = 0;
  int stuck = 0;
  for (int i = 0; i < 1000000 && stuck < 200; ++i) {
    const ssize_t n = ::send(greedy, r.data() + off, r.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      off = (off + static_cast<size_t>(n)) % r.size();
      stuck = 0;
    } else {
      ++stuck;
      std::this_thread::sleep_for(1ms);
    }
  }
  EXPECT_GT(sent, kMaxPendingReply);
  const int other = connect_client();
  send_all(other, request_for("198.18.0.1"));
  EXPECT_EQ(read_reply(other), "action=DUNNO\n\n");
  EXPECT_TRUE(wait_for([&] { return server->clients() == 1; }));
  EXPECT_GE(locked([&] { return server->counters().timeouts; }), 1u);
  ::close(greedy);
  ::close(other);
}

TEST_F(PolicyServerTest, TheSocketHasItsModeAndIsRemovedOnExit) {
  start();
  struct stat st {};
  ASSERT_EQ(::stat(cfg.listen.path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  const int stalled = connect_client();
  send_all(stalled, "request=");
  stop();
  server.reset();  // with a client mid-request: nothing waits for it
  EXPECT_FALSE(std::filesystem::exists(cfg.listen.path));
  EXPECT_TRUE(closed_by_server(stalled));
  ::close(stalled);
}

TEST_F(PolicyServerTest, APathThatIsNotAStaleSocketIsNeverReplaced) {
  { std::ofstream(cfg.listen.path) << "not a socket"; }
  EXPECT_THROW(start(), ServerError);
  std::filesystem::remove(cfg.listen.path);
  start();  // a live one now
  EXPECT_THROW(PolicyServer(
                   cfg.listen, 0660, std::nullopt, cfg.limits,
                   [](const PolicyRequest &, std::string &) {}, nullptr),
               ServerError);
}

TEST_F(PolicyServerTest, APeerOutsideTheGroupIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (a peer of another uid)";
  const passwd *nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user nobody";
  start();
  ::chmod(cfg.listen.path.c_str(), 0666);  // the file lets it connect: the peer check refuses
  const std::string req = request_for("198.18.0.7");
  const uid_t uid = nobody->pw_uid;
  const gid_t gid = nobody->pw_gid;
  const pid_t child = ::fork();
  if (child == 0) {
    // Only system calls here: the parent has other threads.
    if (::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(3);
    const int fd = connect_client();
    if (fd < 0) ::_exit(4);
    [[maybe_unused]] const ssize_t w = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    char buf[64];
    ::_exit(::recv(fd, buf, sizeof buf, 0) <= 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the peer got an answer (1) or could not connect (4)";
  EXPECT_EQ(locked([&] { return server->counters().refused_peer; }), 1u);
}

TEST_F(PolicyServerTest, ATrapRecipientIsReportedAndAnsweredWithTheLevelsAction) {
  start();
  const int fd = connect_client();
  send_all(fd, request_for("198.18.0.1", "Trap@Sluice.Test"));
  EXPECT_EQ(read_reply(fd), "action=DUNNO\n\n");
  ::close(fd);
  locked([&] {
    EXPECT_EQ(traps, std::vector<std::string>{"198.18.0.1 trap@sluice.test"});
    EXPECT_EQ(service->recorder().counters().trap_hits, 1u);
    return 0;
  });
}

TEST_F(PolicyServerTest, TrapActionAnswersATrapRecipientWhenSet) {
  cfg.trap_action = parse_action("DISCARD trap");
  start();
  const int fd = connect_client();
  send_all(fd, request_for("198.18.0.1", "trap@sluice.test"));
  EXPECT_EQ(read_reply(fd), "action=DISCARD trap\n\n");
  ::close(fd);
}

TEST_F(PolicyServerTest, AClientAddressThatIsNotAnAddressIsAnsweredAsUnlisted) {
  start();
  const int fd = connect_client();
  send_all(fd, request_for("unknown"));
  EXPECT_EQ(read_reply(fd), "action=DUNNO\n\n");
  ::close(fd);
  EXPECT_EQ(locked([&] { return service->recorder().counters().unknown_clients; }), 1u);
}

}  // namespace
}  // namespace sluice::sluiced::policy
