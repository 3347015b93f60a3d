// The control socket of sluice-dp: a thread that accepts clients on a Unix socket and answers
// each framed JSON request (control_proto.h) with the handler's reply. Requests never touch
// the packet path directly: the handler publishes through RCU or asks lcores via mailboxes.
// A malformed request gets {"ok": false, "error": ...}; forwarding is unaffected.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace sluice::dataplane {

class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json &request)>;

  // Binds and listens (replacing a stale socket file). Throws std::runtime_error.
  // `on_thread_start`, if given, runs first on the server's thread (sluice-dp moves the thread
  // off the lcores' CPUs there: a table load is real work and must not preempt a lcore).
  ControlServer(std::string path, Handler handler, std::function<void()> on_thread_start = {});
  ~ControlServer();  // stops the thread, removes the socket file

  // Handles one request body (parse, dispatch, errors as replies): used by the thread, and by
  // tests without a socket.
  std::string handle_body(const std::string &body);

 private:
  void loop();
  void serve(int fd);

  std::string path_;
  Handler handler_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sluice::dataplane
