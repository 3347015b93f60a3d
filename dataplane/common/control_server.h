// The control socket of sluice-dp: one thread that owns a Unix socket, accepts clients and
// answers each framed JSON request (control_proto.h) with the handler's reply
// (control_dispatch.h). Requests never touch the packet path directly: the handler publishes
// through RCU or asks lcores via mailboxes.
//
// No client can stall or crash it: sockets are non-blocking and polled together, each client
// has its own buffers, a request must arrive (and its reply be taken) within a time limit, a
// request over the size limit ends the connection, and every request is answered by
// dispatch_request, which turns any failure into an error reply. Requests are handled one at a
// time in arrival order; the loop checks its stop flag between them, so shutdown waits for at
// most the request being handled.
//
// Ownership: the socket is created with an explicit mode and group; a peer that is not root,
// not sluice-dp's own user and not in the group is refused (SO_PEERCRED) and counted. A live
// socket at the path (another sluice-dp) or anything that is not a socket is refused, never
// replaced; on exit the path is removed only if it is still the socket this server created.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "control_dispatch.h"
#include "control_proto.h"

namespace sluice::dataplane {

struct ControlAccess {
  mode_t mode = 0600;          // the socket file's permission bits
  std::optional<gid_t> group;  // the socket file's group, and the group whose members may connect
};

struct ControlLimits {
  uint32_t max_clients = 32;  // more connections are answered with an error and closed
  uint32_t max_request = proto::kMaxMessage;
  std::chrono::milliseconds request_timeout{5000};  // first byte of a request to its last
  std::chrono::milliseconds reply_timeout{5000};    // a reply must be taken within this
  std::chrono::milliseconds idle_timeout{300000};   // a connection with nothing in flight
};

struct ControlCounters {
  std::atomic<uint64_t> accepted{0}, refused{0}, too_many{0}, timeouts{0}, oversized{0},
      requests{0};
};

class ControlServer {
 public:
  using Handler = ControlHandler;

  // Creates the socket (see above) and starts the thread. Throws std::runtime_error with the
  // reason. `on_thread_start`, if given, runs first on the server's thread (sluice-dp moves the
  // thread off the lcores' CPUs there: a table load is real work and must not preempt a lcore).
  ControlServer(std::string path, Handler handler, ControlAccess access = {},
                ControlLimits limits = {}, std::function<void()> on_thread_start = {});
  ~ControlServer();  // stops the thread, removes the socket file if it is still ours
  ControlServer(const ControlServer &) = delete;
  ControlServer &operator=(const ControlServer &) = delete;

  // One request body without a socket (tests).
  std::string handle_body(const std::string &body, int file_fd = -1);

  const ControlCounters &counters() const { return counters_; }
  nlohmann::json counters_json() const;

  // Whether a peer with these credentials may use the socket.
  bool peer_allowed(uid_t uid, gid_t gid) const;

 private:
  void loop();

  std::string path_;
  Handler handler_;
  ControlAccess access_;
  ControlLimits limits_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: the destructor wakes the loop
  dev_t dev_ = 0;     // the socket file this server created
  ino_t ino_ = 0;
  ControlCounters counters_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sluice::dataplane
