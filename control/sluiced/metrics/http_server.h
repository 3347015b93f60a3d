// sluiced's metrics endpoint: a small HTTP/1.x server for GET /metrics, driven by the daemon's
// own poll loop and never blocking it.
//
//   The loop watches fd() for readability (an epoll set holding the listening socket and every
//   client) and calls on_ready() when it is readable; it wakes at next_deadline() and calls
//   expire(). on_ready() accepts, reads, parses and writes whatever is ready without waiting.
//
// One request per connection (the answer says "Connection: close"). GET and HEAD of /metrics
// answer 200 with the text exposition (Content-Type text/plain; version=0.0.4) that the render
// function returns at that moment; other paths 404, other methods 405, a malformed request its
// http_request.h status. Limits (ServerLimits): the request head's size and header count, a
// deadline per connection (from accept to the last byte written), the number of clients at once
// (a new client beyond it evicts the oldest one still sending its request: a handful of slow
// clients cannot lock a scraper out).
//
// Bound to loopback unless allow_non_loopback: the counters say a lot about a site's mail and
// the endpoint has no authentication.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "http_request.h"
#include "sluice_error.h"

namespace sluice::sluiced::metrics {

class ServerError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

// "127.0.0.1:9477", "[::1]:9477", "localhost:9477" is refused (numeric addresses only).
struct ListenAddress {
  std::string host;  // numeric IPv4 or IPv6, without brackets
  uint16_t port = 0;
  std::string text() const;
};
// Throws ServerError ("listen address 'x': reason").
ListenAddress parse_listen_address(std::string_view text);
bool is_loopback(const ListenAddress &a);

inline constexpr std::string_view kDefaultListen = "127.0.0.1:9477";

struct ServerLimits {
  HttpLimits http;
  size_t max_clients = 16;
  std::chrono::milliseconds deadline{5000};  // per connection, accept to last byte
};

struct ServerCounters {
  uint64_t connections = 0;    // accepted
  uint64_t requests = 0;       // answered with 200
  uint64_t refused = 0;        // answered 4xx/5xx
  uint64_t timeouts = 0;       // closed at their deadline
  uint64_t evicted = 0;        // closed to make room (max_clients)
  uint64_t render_errors = 0;  // the render function threw (answered 500)
};

class MetricsServer {
 public:
  using Clock = std::chrono::steady_clock;
  using Render = std::function<std::string()>;

  // Binds and listens. Throws ServerError for a non-loopback address without
  // allow_non_loopback, or when the socket cannot be bound (the message says why).
  MetricsServer(const ListenAddress &address, bool allow_non_loopback, ServerLimits limits,
                Render render);
  ~MetricsServer();
  MetricsServer(const MetricsServer &) = delete;
  MetricsServer &operator=(const MetricsServer &) = delete;

  int fd() const { return epoll_fd_; }
  uint16_t port() const { return port_; }  // the bound port (useful with port 0)
  void on_ready(Clock::time_point now = Clock::now());
  std::optional<Clock::time_point> next_deadline() const;
  void expire(Clock::time_point now = Clock::now());

  size_t clients() const { return clients_.size(); }
  const ServerCounters &counters() const { return counters_; }

 private:
  struct Client {
    Clock::time_point deadline;
    uint64_t order = 0;  // accept order (eviction picks the smallest still reading)
    std::string in;
    std::string out;
    size_t written = 0;
    bool writing = false;
  };
  void accept_all(Clock::time_point now);
  void on_client(int fd, uint32_t events);
  void read_from(int fd, Client &c);
  void write_to(int fd, Client &c);
  void answer(int fd, Client &c, const ParseResult &r);
  void respond(int fd, Client &c, int status, std::string_view content_type, std::string body,
               bool head_only, std::string_view extra_headers = {});
  void close_client(int fd);
  bool evict_one();

  ServerLimits limits_;
  Render render_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  uint16_t port_ = 0;
  uint64_t next_order_ = 0;
  std::map<int, Client> clients_;
  ServerCounters counters_;
};

}  // namespace sluice::sluiced::metrics
