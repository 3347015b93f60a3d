#include "daemon_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "control_proto.h"

namespace sluice::control {
namespace {

namespace proto = sluice::dataplane::proto;
using Clock = std::chrono::steady_clock;

}  // namespace

std::string daemon_socket_path(const std::optional<std::string> &flag) {
  if (flag) return *flag;
  if (const char *env = std::getenv(kDaemonSocketEnv); env && *env) return env;
  return kDefaultDaemonSocket;
}

DaemonClient::DaemonClient(std::string socket_path, std::chrono::milliseconds timeout)
    : path_(std::move(socket_path)), timeout_(timeout) {
  std::string why;
  fd_ = proto::connect_unix(path_, Clock::now() + timeout_, why);
  if (fd_ < 0)
    throw DaemonError("cannot connect to sluiced at " + path_ + " (" + why +
                      "); is sluiced running? (--daemon PATH or SLUICE_DAEMON)");
}

DaemonClient::~DaemonClient() {
  ::close(fd_);
}

nlohmann::json DaemonClient::call(const nlohmann::json &request) {
  const auto deadline = Clock::now() + timeout_;
  const std::string body = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (body.size() > kMaxDaemonRequest)
    throw DaemonError("request of " + std::to_string(body.size()) + " bytes is too large");
  std::string frame(4, '\0');
  const auto n = static_cast<uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) frame[static_cast<size_t>(i)] = static_cast<char>(n >> (24 - 8 * i));
  frame += body;
  size_t sent = 0;
  while (sent < frame.size()) {
    const ssize_t w = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (w > 0) {
      sent += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN && proto::wait_ready(fd_, POLLOUT, deadline)) continue;
    break;  // a refusal may be waiting to be read
  }
  proto::FrameDecoder in;
  std::string reply_body;
  switch (proto::read_reply(fd_, in, reply_body, deadline)) {
    case proto::ReplyStatus::kOk:
      break;
    case proto::ReplyStatus::kTooLarge:
      throw DaemonError("sluiced's reply is too large");
    case proto::ReplyStatus::kTimeout:
      throw DaemonError("sluiced at " + path_ + ": no reply within " +
                        std::to_string(timeout_.count()) + " ms");
    case proto::ReplyStatus::kClosed:
      throw DaemonError("sluiced at " + path_ + " closed the connection" +
                        (sent < frame.size() ? " before taking the request" : ""));
  }
  nlohmann::json reply;
  try {
    reply = nlohmann::json::parse(reply_body);
  } catch (const std::exception &) {
    throw DaemonError("sluiced at " + path_ + ": reply is not JSON");
  }
  if (!reply.is_object() || !reply.contains("ok") || !reply["ok"].is_boolean())
    throw DaemonError("sluiced at " + path_ + ": reply has no \"ok\"");
  if (!reply["ok"].get<bool>()) {
    const std::string err = reply.contains("error") && reply["error"].is_string()
                                ? reply["error"].get<std::string>()
                                : std::string("request failed");
    throw DaemonError("sluiced: " + err);
  }
  return reply;
}

}  // namespace sluice::control
