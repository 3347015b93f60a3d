#include "http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace sluice::sluiced::metrics {
namespace {

// Work done per on_ready() call, so one call stays short whatever the clients do.
constexpr int kEventsPerCall = 64;
constexpr int kAcceptsPerCall = 64;
constexpr size_t kReadChunk = 4096;
constexpr size_t kDrainBeforeClose = 65536;
constexpr int kListenBacklog = 64;

std::string errno_text(int e) {
  return std::strerror(e);
}

const char *status_text(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

}  // namespace

std::string ListenAddress::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ListenAddress parse_listen_address(std::string_view text) {
  auto bad = [&](const std::string &why) {
    return ServerError("listen address '" + std::string(text) + "': " + why);
  };
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw bad("expected [IPV6]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) throw bad("expected ADDRESS:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) throw bad("an IPv6 address goes in brackets");
  }
  ListenAddress a;
  a.host = host;
  unsigned char buf[sizeof(in6_addr)];
  const bool v6 = !text.empty() && text.front() == '[';
  if (inet_pton(v6 ? AF_INET6 : AF_INET, a.host.c_str(), buf) != 1)
    throw bad("'" + a.host + "' is not a numeric " + (v6 ? "IPv6" : "IPv4") + " address");
  unsigned value = 0;
  const auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || value > 65535)
    throw bad("port must be a number 0..65535");
  a.port = static_cast<uint16_t>(value);
  return a;
}

bool is_loopback(const ListenAddress &a) {
  in_addr v4{};
  if (inet_pton(AF_INET, a.host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, a.host.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

MetricsServer::MetricsServer(const ListenAddress &address, bool allow_non_loopback,
                             ServerLimits limits, Render render)
    : limits_(limits), render_(std::move(render)) {
  if (!allow_non_loopback && !is_loopback(address))
    throw ServerError("metrics: listen address " + address.text() +
                      " is not loopback; set allow_non_loopback = true to serve it");
  const bool v6 = address.host.find(':') != std::string::npos;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (v6) {
    auto *s6 = reinterpret_cast<sockaddr_in6 *>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(address.port);
    inet_pton(AF_INET6, address.host.c_str(), &s6->sin6_addr);
    len = sizeof(*s6);
  } else {
    auto *s4 = reinterpret_cast<sockaddr_in *>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(address.port);
    inet_pton(AF_INET, address.host.c_str(), &s4->sin_addr);
    len = sizeof(*s4);
  }
  listen_fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw ServerError("metrics: socket: " + errno_text(errno));
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (v6) setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(listen_fd_, reinterpret_cast<sockaddr *>(&ss), len) != 0 ||
      listen(listen_fd_, kListenBacklog) != 0) {
    const int e = errno;
    close(listen_fd_);
    throw ServerError("metrics: cannot listen on " + address.text() + ": " + errno_text(e));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&bound), &blen);
  port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
                   : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  if (epoll_fd_ < 0 || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    const int e = errno;
    if (epoll_fd_ >= 0) close(epoll_fd_);
    close(listen_fd_);
    throw ServerError("metrics: epoll: " + errno_text(e));
  }
}

MetricsServer::~MetricsServer() {
  for (auto &[fd, c] : clients_) close(fd);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (listen_fd_ >= 0) close(listen_fd_);
}

void MetricsServer::on_ready(Clock::time_point now) {
  epoll_event events[kEventsPerCall];
  const int n = epoll_wait(epoll_fd_, events, kEventsPerCall, 0);
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == listen_fd_)
      accept_all(now);
    else if (clients_.count(fd) != 0)
      on_client(fd, events[i].events);
  }
}

std::optional<MetricsServer::Clock::time_point> MetricsServer::next_deadline() const {
  std::optional<Clock::time_point> first;
  for (const auto &[fd, c] : clients_)
    if (!first || c.deadline < *first) first = c.deadline;
  return first;
}

void MetricsServer::expire(Clock::time_point now) {
  for (auto it = clients_.begin(); it != clients_.end();) {
    const int fd = it->first;
    ++it;  // close_client erases fd's entry
    if (clients_.at(fd).deadline <= now) {
      ++counters_.timeouts;
      close_client(fd);
    }
  }
}

bool MetricsServer::evict_one() {
  int victim = -1;
  uint64_t oldest = UINT64_MAX;
  for (const auto &[fd, c] : clients_)
    if (!c.writing && c.order < oldest) {
      oldest = c.order;
      victim = fd;
    }
  if (victim < 0) return false;
  ++counters_.evicted;
  close_client(victim);
  return true;
}

void MetricsServer::accept_all(Clock::time_point now) {
  for (int i = 0; i < kAcceptsPerCall; ++i) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or an error that the next readiness retries
    ++counters_.connections;
    if (clients_.size() >= limits_.max_clients && !evict_one()) {
      // Every slot is writing an answer: this one waits for nothing, it is closed.
      ++counters_.evicted;
      close(fd);
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      continue;
    }
    Client c;
    c.deadline = now + limits_.deadline;
    c.order = next_order_++;
    clients_.emplace(fd, std::move(c));
  }
}

void MetricsServer::on_client(int fd, uint32_t events) {
  Client &c = clients_.at(fd);
  if (c.writing) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) write_to(fd, c);
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) read_from(fd, c);
}

void MetricsServer::read_from(int fd, Client &c) {
  const size_t cap = limits_.http.max_head_bytes + 1;  // one byte over says "too long"
  bool eof = false;
  while (c.in.size() < cap) {
    char buf[kReadChunk];
    const ssize_t n = recv(fd, buf, std::min(sizeof buf, cap - c.in.size()), 0);
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) eof = true;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) eof = true;
    break;
  }
  const ParseResult r = parse_http_request(c.in, limits_.http);
  if (r.state == ParseState::incomplete) {
    if (eof) close_client(fd);  // gone before finishing its request
    return;
  }
  answer(fd, c, r);
}

void MetricsServer::answer(int fd, Client &c, const ParseResult &r) {
  if (r.state == ParseState::error) {
    respond(fd, c, r.status, "text/plain; charset=utf-8", std::string(status_text(r.status)) + "\n",
            false);
    return;
  }
  const HttpRequest &req = r.request;
  const bool head = req.method == "HEAD";
  if (req.path() != "/metrics") {
    respond(fd, c, 404, "text/plain; charset=utf-8", "Not Found: try /metrics\n", head);
    return;
  }
  if (req.method != "GET" && !head) {
    respond(fd, c, 405, "text/plain; charset=utf-8", "Method Not Allowed\n", false,
            "Allow: GET, HEAD\r\n");
    return;
  }
  std::string body;
  try {
    body = render_();
  } catch (const std::exception &e) {
    ++counters_.render_errors;
    respond(fd, c, 500, "text/plain; charset=utf-8", "Internal Server Error\n", head);
    return;
  }
  respond(fd, c, 200, "text/plain; version=0.0.4; charset=utf-8", std::move(body), head);
}

void MetricsServer::respond(int fd, Client &c, int status, std::string_view content_type,
                            std::string body, bool head_only, std::string_view extra_headers) {
  if (status == 200)
    ++counters_.requests;
  else
    ++counters_.refused;
  c.out = "HTTP/1.1 " + std::to_string(status) + " " + status_text(status) +
          "\r\nContent-Type: " + std::string(content_type) +
          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
          std::string(extra_headers) + "Connection: close\r\n\r\n";
  if (!head_only) c.out += body;
  c.written = 0;
  c.writing = true;
  c.in.clear();
  c.in.shrink_to_fit();
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.fd = fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
  write_to(fd, c);
}

void MetricsServer::write_to(int fd, Client &c) {
  while (c.written < c.out.size()) {
    const ssize_t n =
        send(fd, c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.written += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // EPOLLOUT resumes
    close_client(fd);                                                // the peer is gone
    return;
  }
  close_client(fd);
}

void MetricsServer::close_client(int fd) {
  const auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  // Closing with unread bytes in the receive queue sends RST, which can destroy the answer
  // still in flight: read what is already there (bounded, never waiting), then close.
  if (it->second.writing) {
    shutdown(fd, SHUT_WR);
    char buf[kReadChunk];
    size_t drained = 0;
    ssize_t n;
    while (drained < kDrainBeforeClose && (n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
      drained += static_cast<size_t>(n);
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  clients_.erase(it);
}

}  // namespace sluice::sluiced::metrics
