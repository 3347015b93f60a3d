// The /metrics server on a real loopback socket, driven the way sluiced's loop drives it: poll
// its fd, call on_ready(), call expire() with a time. Bounded loops, no timing assertions.
#include "sluiced/metrics/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>

namespace sluice::sluiced::metrics {
namespace {

using Clock = MetricsServer::Clock;

// Polls the server's fd and serves until `done` holds (at most `rounds` rounds).
bool drive(MetricsServer &s, const std::function<bool()> &done, int rounds = 2000) {
  for (int i = 0; i < rounds; ++i) {
    if (done()) return true;
    pollfd p{s.fd(), POLLIN, 0};
    if (poll(&p, 1, 5) > 0) s.on_ready();
  }
  return done();
}

int connect_to(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
    throw std::runtime_error("connect");
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

void send_all(int fd, const std::string &s) {
  ASSERT_EQ(send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

// Reads what is there; true once the peer closed (EOF or reset).
bool read_some(int fd, std::string &into) {
  char buf[65536];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return true;
    return errno != EAGAIN && errno != EWOULDBLOCK;
  }
}

// Sends a request and serves until the server closed the connection; the whole answer.
std::string ask(MetricsServer &s, const std::string &request) {
  const int fd = connect_to(s.port());
  send_all(fd, request);
  std::string answer;
  bool closed = false;
  drive(s, [&] { return closed = closed || read_some(fd, answer); });
  close(fd);
  return answer;
}

struct Server {
  std::string body = "# HELP x h\n# TYPE x gauge\nx 1\n";
  bool fail = false;
  ServerLimits limits;
  std::unique_ptr<MetricsServer> s;
  explicit Server(ServerLimits l = {}) : limits(l) {
    s = std::make_unique<MetricsServer>(parse_listen_address("127.0.0.1:0"), false, limits, [this] {
      if (fail) throw std::runtime_error("collector broke");
      return body;
    });
  }
};

TEST(MetricsServer, GetMetricsAnswersTheRenderedText) {
  Server srv;
  const std::string a = ask(*srv.s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << a;
  EXPECT_NE(a.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(a.find("Content-Length: " + std::to_string(srv.body.size()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(a.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(a.substr(a.find("\r\n\r\n") + 4), srv.body);
  EXPECT_EQ(srv.s->counters().requests, 1u);
  EXPECT_EQ(srv.s->clients(), 0u);
}

TEST(MetricsServer, HeadAnswersHeadersOnly) {
  Server srv;
  const std::string a = ask(*srv.s, "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << a;
  EXPECT_EQ(a.substr(a.find("\r\n\r\n") + 4), "");
}

TEST(MetricsServer, OtherPathsMethodsAndMalformedRequestsAreRefused) {
  Server srv;
  EXPECT_EQ(ask(*srv.s, "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0), 0u);
  const std::string post = ask(*srv.s, "POST /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(post.rfind("HTTP/1.1 405 ", 0), 0u);
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);
  // A TLS ClientHello's first bytes, no line end: refused at once, not left to its deadline.
  const std::string tls("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  EXPECT_EQ(ask(*srv.s, tls).rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_EQ(ask(*srv.s, "GET /metrics HTTP/2.0\r\n\r\n").rfind("HTTP/1.1 505 ", 0), 0u);
  EXPECT_EQ(srv.s->counters().refused, 4u);
  EXPECT_EQ(srv.s->counters().requests, 0u);
}

TEST(MetricsServer, AnOversizedHeadIs431AndNotReadFurther) {
  ServerLimits lim;
  lim.http.max_head_bytes = 256;
  Server srv(lim);
  const std::string a =
      ask(*srv.s, "GET /metrics HTTP/1.1\r\nX: " + std::string(1000, 'a') + "\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 431 ", 0), 0u) << a;
}

TEST(MetricsServer, ARenderErrorIs500AndTheServerGoesOn) {
  Server srv;
  srv.fail = true;
  EXPECT_EQ(ask(*srv.s, "GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 500 ", 0), 0u);
  EXPECT_EQ(srv.s->counters().render_errors, 1u);
  srv.fail = false;
  EXPECT_EQ(ask(*srv.s, "GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 ", 0), 0u);
}

TEST(MetricsServer, ASlowClientDoesNotDelayAnother) {
  Server srv;
  const int slow = connect_to(srv.s->port());
  send_all(slow, "GET /met");  // and nothing more
  drive(*srv.s, [&] { return srv.s->clients() == 1; });
  const std::string a = ask(*srv.s, "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 200 ", 0), 0u);
  EXPECT_EQ(srv.s->clients(), 1u);  // the slow one still waits for its deadline
  close(slow);
}

TEST(MetricsServer, ClientsBeyondTheLimitEvictTheOldestStillSending) {
  ServerLimits lim;
  lim.max_clients = 2;
  Server srv(lim);
  const int a = connect_to(srv.s->port());
  drive(*srv.s, [&] { return srv.s->clients() == 1; });
  const int b = connect_to(srv.s->port());
  drive(*srv.s, [&] { return srv.s->clients() == 2; });
  // A scraper arrives with every slot held by silent clients: it is answered, `a` is closed.
  const std::string answer = ask(*srv.s, "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 ", 0), 0u);
  EXPECT_EQ(srv.s->counters().evicted, 1u);
  std::string got;
  EXPECT_TRUE(read_some(a, got));   // closed by the server
  EXPECT_FALSE(read_some(b, got));  // still open
  close(a);
  close(b);
}

TEST(MetricsServer, TheDeadlineClosesASilentClient) {
  ServerLimits lim;
  lim.deadline = std::chrono::milliseconds(1000);
  Server srv(lim);
  const int fd = connect_to(srv.s->port());
  drive(*srv.s, [&] { return srv.s->clients() == 1; });
  ASSERT_TRUE(srv.s->next_deadline().has_value());
  srv.s->expire(*srv.s->next_deadline() - std::chrono::milliseconds(1));
  EXPECT_EQ(srv.s->clients(), 1u);
  srv.s->expire(*srv.s->next_deadline());
  EXPECT_EQ(srv.s->clients(), 0u);
  EXPECT_EQ(srv.s->counters().timeouts, 1u);
  EXPECT_FALSE(srv.s->next_deadline().has_value());
  std::string got;
  EXPECT_TRUE(read_some(fd, got));
  close(fd);
}

TEST(MetricsServer, AClientThatNeverReadsItsAnswerDoesNotBlockTheServer) {
  Server srv;
  srv.body = std::string(32 << 20, 'x');  // far more than the socket buffers hold
  const int hog = connect_to(srv.s->port());
  const int small = 4096;
  setsockopt(hog, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  send_all(hog, "GET /metrics HTTP/1.1\r\n\r\n");
  // on_ready returns with the answer partly written; the server is still serving.
  drive(*srv.s, [&] { return srv.s->counters().requests == 1; });
  EXPECT_EQ(srv.s->clients(), 1u);
  srv.body = "small\n";
  EXPECT_EQ(ask(*srv.s, "GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 ", 0), 0u);
  srv.s->expire(*srv.s->next_deadline());
  EXPECT_EQ(srv.s->clients(), 0u);
  close(hog);
}

TEST(MetricsServer, AClientGoneMidRequestIsForgotten) {
  Server srv;
  const int fd = connect_to(srv.s->port());
  send_all(fd, "GET /metrics HT");
  drive(*srv.s, [&] { return srv.s->clients() == 1; });
  close(fd);
  EXPECT_TRUE(drive(*srv.s, [&] { return srv.s->clients() == 0; }));
  EXPECT_EQ(srv.s->counters().requests, 0u);
}

TEST(MetricsServer, RefusesANonLoopbackAddressUnlessAllowed) {
  EXPECT_THROW(MetricsServer(parse_listen_address("0.0.0.0:0"), false, {}, [] { return ""; }),
               ServerError);
  EXPECT_THROW(MetricsServer(parse_listen_address("[::]:0"), false, {}, [] { return ""; }),
               ServerError);
}

TEST(MetricsServer, ABusyPortIsAClearError) {
  Server first;
  try {
    MetricsServer second(parse_listen_address("127.0.0.1:" + std::to_string(first.s->port())),
                         false, {}, [] { return ""; });
    FAIL() << "bound a port already in use";
  } catch (const ServerError &e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on 127.0.0.1:"), std::string::npos);
  }
}

TEST(ListenAddress, ParsesNumericAddressesAndPorts) {
  const ListenAddress a = parse_listen_address("127.0.0.1:9477");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9477);
  const ListenAddress b = parse_listen_address("[::1]:9100");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.text(), "[::1]:9100");
  for (const char *bad :
       {"", "127.0.0.1", "localhost:9477", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:9x", "::1:9477", "[::1]9477", "[::1]", "[127.0.0.1]:1", "1.2.3:4"})
    EXPECT_THROW(parse_listen_address(bad), ServerError) << bad;
}

TEST(ListenAddress, KnowsLoopback) {
  EXPECT_TRUE(is_loopback(parse_listen_address("127.0.0.1:1")));
  EXPECT_TRUE(is_loopback(parse_listen_address("127.255.0.9:1")));
  EXPECT_TRUE(is_loopback(parse_listen_address("[::1]:1")));
  EXPECT_TRUE(is_loopback(parse_listen_address("[::ffff:127.0.0.1]:1")));
  EXPECT_FALSE(is_loopback(parse_listen_address("0.0.0.0:1")));
  EXPECT_FALSE(is_loopback(parse_listen_address("198.18.0.1:1")));
  EXPECT_FALSE(is_loopback(parse_listen_address("[::]:1")));
  EXPECT_FALSE(is_loopback(parse_listen_address("[::ffff:198.18.0.1]:1")));
}

}  // namespace
}  // namespace sluice::sluiced::metrics
