#include "control_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "control_proto.h"

namespace sluice::dataplane {

ControlServer::ControlServer(std::string path, Handler handler,
                             std::function<void()> on_thread_start)
    : path_(std::move(path)), handler_(std::move(handler)) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof(addr.sun_path))
    throw std::runtime_error("control socket path too long: " + path_);
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("control socket: " + std::string(strerror(errno)));
  ::unlink(path_.c_str());
  if (::bind(listen_fd_, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 8) != 0) {
    const std::string err = strerror(errno);
    ::close(listen_fd_);
    throw std::runtime_error("control socket " + path_ + ": " + err);
  }
  thread_ = std::thread([this, start = std::move(on_thread_start)] {
    if (start) start();
    loop();
  });
}

ControlServer::~ControlServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::unlink(path_.c_str());
}

std::string ControlServer::handle_body(const std::string &body) {
  nlohmann::json reply;
  try {
    const nlohmann::json req = nlohmann::json::parse(body);
    if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string())
      throw std::invalid_argument("request must be a JSON object with a string \"cmd\"");
    reply = handler_(req);
  } catch (const std::exception &e) {
    reply = {{"ok", false}, {"error", e.what()}};
  }
  return reply.dump();
}

void ControlServer::serve(int fd) {
  // One client at a time, requests in order; poll with a timeout so stop() is prompt.
  while (!stop_) {
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, 100);
    if (r == 0) continue;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return;
    std::string body;
    switch (proto::read_frame(fd, body)) {
      case proto::ReadStatus::kClosed:
        return;
      case proto::ReadStatus::kTooLarge:
        proto::write_frame(fd,
                           nlohmann::json{{"ok", false}, {"error", "message too large"}}.dump());
        return;  // the stream is out of sync: drop the client
      case proto::ReadStatus::kOk:
        if (!proto::write_frame(fd, handle_body(body))) return;
        break;
    }
  }
}

void ControlServer::loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, 100);
    if (r <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    serve(fd);
    ::close(fd);
  }
}

}  // namespace sluice::dataplane
