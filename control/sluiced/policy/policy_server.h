// The policy service's listener: Postfix's smtpd processes connect (check_policy_service), each
// keeps its connection and sends one request after another. Driven by sluiced's poll loop and
// never blocking it: the loop watches fd() (an epoll set of the listening socket and every
// client), calls on_ready() when it is readable and expire() on a timer.
//
// No client can delay another or shutdown (the rules of sluice-dp's control socket,
// dataplane/common/control_server.h, on the daemon's own loop):
//   - every socket is non-blocking; one on_ready() call does a bounded amount of work per
//     client (kReadPerCall bytes), so a fast client cannot starve the others;
//   - a request must arrive whole and its reply be taken within request_timeout of its first
//     byte; a connection with nothing in flight is closed after idle_timeout;
//   - requests over the parser's limits (policy_request.h) and anything it refuses end the
//     connection without a reply (the README's rule for trouble), logged and counted;
//   - a client that sends requests without reading the replies is not read from once
//     kMaxPendingReply bytes of replies wait for it (its deadline then closes it);
//   - at most max_clients connections: one more closes the connection idle the longest, or, if
//     none is idle, the one whose request started the earliest (a stalled or slow client);
//   - unix socket: made with an explicit mode and group; a peer that is not root, not sluiced's
//     own user and not in the group is refused (SO_PEERCRED). A live socket at the path, or
//     anything that is not a socket, is refused, never replaced; on exit the path is removed
//     only if it is still ours. inet: loopback unless the configuration says otherwise.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "policy_settings.h"
#include "policy_request.h"
#include "sluice_error.h"

namespace sluice::sluiced::policy {

class ServerError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

inline constexpr size_t kReadPerCall = 65536;
inline constexpr size_t kMaxPendingReply = 65536;

struct ServerCounters {
  uint64_t connections = 0;       // accepted
  uint64_t refused_peer = 0;      // unix: peer credentials not allowed
  uint64_t evicted = 0;           // closed to make room (max_clients)
  uint64_t timeouts = 0;          // closed at their deadline
  uint64_t refused_requests = 0;  // closed for a request the parser refused
};

class PolicyServer {
 public:
  using Clock = std::chrono::steady_clock;
  // Appends the reply to one request to `out`.
  using Handler = std::function<void(const PolicyRequest &, std::string &out)>;
  // A refused request: why, the parser's sentence, the peer ("uid 107", "127.0.0.1:40312").
  using RefusalFn =
      std::function<void(Refusal, const std::string &detail, const std::string &peer)>;

  // Listens. Throws ServerError with the reason.
  PolicyServer(const Listen &listen, mode_t mode, std::optional<gid_t> group, ServerLimits limits,
               Handler handler, RefusalFn on_refusal);
  ~PolicyServer();  // closes every connection; removes the unix socket file if it is ours
  PolicyServer(const PolicyServer &) = delete;
  PolicyServer &operator=(const PolicyServer &) = delete;

  int fd() const { return epoll_fd_; }
  uint16_t port() const { return port_; }  // inet: the bound port
  void on_ready(Clock::time_point now = Clock::now());
  void expire(Clock::time_point now = Clock::now());

  size_t clients() const { return clients_.size(); }
  const ServerCounters &counters() const { return counters_; }
  // Whether a unix peer with these credentials may connect.
  bool peer_allowed(uid_t uid, gid_t gid) const;

 private:
  struct Client {
    std::string in;
    size_t in_off = 0;
    ParseProgress progress;  // of the unfinished request at in_off
    bool resume = false;
    std::string out;
    size_t out_off = 0;
    Clock::time_point deadline;
    Clock::time_point busy_since;  // the current request's first byte (or its reply pending)
    Clock::time_point last_active;
    bool busy = false;
    bool reading = true;   // EPOLLIN wanted (false while too many replies wait)
    bool writing = false;  // EPOLLOUT wanted
    std::string peer;
  };
  void accept_all(Clock::time_point now);
  void on_client(int fd, uint32_t events, Clock::time_point now);
  // Parses and answers what `c` sent; false when the connection must end.
  bool serve(int fd, Client &c, Clock::time_point now);
  bool flush(int fd, Client &c);  // false when the peer is gone
  void update_interest(int fd, Client &c);
  void close_client(int fd);
  void evict_one();

  Listen listen_;
  std::optional<gid_t> group_;
  ServerLimits limits_;
  Handler handler_;
  RefusalFn on_refusal_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  uint16_t port_ = 0;
  dev_t dev_ = 0;  // the unix socket file this server made
  ino_t ino_ = 0;
  std::map<int, Client> clients_;
  ServerCounters counters_;
};

}  // namespace sluice::sluiced::policy
