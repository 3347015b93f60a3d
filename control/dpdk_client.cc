#include "dpdk_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "control_proto.h"

namespace sluice::control {
namespace {

namespace proto = sluice::dataplane::proto;
using Clock = std::chrono::steady_clock;

uint64_t u64(const nlohmann::json &j, const char *k) {
  return j.contains(k) && j[k].is_number() ? j[k].get<uint64_t>() : 0;
}

inline constexpr uint64_t kMaxPolicyBytes = uint64_t{1} << 20;

// Opens a file to send (or read) without blocking on a FIFO; only regular files.
int open_regular(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) throw DataplaneError(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw DataplaneError(path + ": not a regular file");
  }
  return fd;
}

}  // namespace

DpdkClient::DpdkClient(std::string socket_path, std::chrono::milliseconds timeout)
    : path_(std::move(socket_path)), timeout_(timeout) {
  std::string why;
  fd_ = proto::connect_unix(path_, Clock::now() + timeout_, why);
  if (fd_ < 0)
    throw DataplaneError("dpdk:" + path_ + ": cannot connect (" + why +
                         "); is sluice-dp running with --control " + path_ + "?");
}

DpdkClient::~DpdkClient() {
  ::close(fd_);
}

nlohmann::json DpdkClient::call(const nlohmann::json &request, int file_fd) {
  const std::string where = "dpdk:" + path_;
  const auto deadline = Clock::now() + timeout_;
  const std::string body = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (body.size() > proto::kMaxMessage)
    throw DataplaneError(where + ": request of " + std::to_string(body.size()) +
                         " bytes exceeds the " + std::to_string(proto::kMaxMessage) +
                         "-byte message limit");
  std::string frame(4, '\0');
  const auto n = static_cast<uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) frame[static_cast<size_t>(i)] = static_cast<char>(n >> (24 - 8 * i));
  frame += body;
  size_t sent = 0;
  bool send_failed = false;
  while (sent < frame.size()) {
    iovec iov{frame.data() + sent, frame.size() - sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
    if (sent == 0 && file_fd >= 0) {  // the file travels with the first byte
      msg.msg_control = ctl;
      msg.msg_controllen = sizeof ctl;
      cmsghdr *h = CMSG_FIRSTHDR(&msg);
      h->cmsg_level = SOL_SOCKET;
      h->cmsg_type = SCM_RIGHTS;
      h->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(h), &file_fd, sizeof(int));
    }
    const ssize_t w = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      sent += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN && proto::wait_ready(fd_, POLLOUT, deadline)) continue;
    if (w < 0 && errno == EAGAIN)
      throw DataplaneError(where + ": request not taken within " +
                           std::to_string(timeout_.count()) + " ms");
    send_failed = true;  // a refusal (permission, too many clients) may be waiting to be read
    break;
  }
  proto::FrameDecoder in;
  std::string reply_body;
  switch (proto::read_reply(fd_, in, reply_body, deadline)) {
    case proto::ReplyStatus::kOk:
      break;
    case proto::ReplyStatus::kTooLarge:
      throw DataplaneError(where + ": reply of " + std::to_string(in.announced()) +
                           " bytes exceeds the message limit");
    case proto::ReplyStatus::kTimeout:
      throw DataplaneError(where + ": no reply within " + std::to_string(timeout_.count()) +
                           " ms (sluice-dp busy or stuck? see --timeout)");
    case proto::ReplyStatus::kClosed:
      throw DataplaneError(where + (send_failed ? ": send failed (sluice-dp gone?)"
                                                : ": connection closed without a reply "
                                                  "(sluice-dp gone?)"));
  }
  nlohmann::json reply;
  try {
    reply = nlohmann::json::parse(reply_body);
  } catch (const nlohmann::json::exception &e) {
    throw DataplaneError(where + ": bad reply: " + e.what());
  }
  if (!reply.is_object() || !reply.value("ok", false))
    throw DataplaneError(reply.is_object() && reply.contains("error") && reply["error"].is_string()
                             ? reply["error"].get<std::string>()
                             : std::string("request failed"));
  return reply;
}

nlohmann::json DpdkClient::send_file_request(const char *cmd, const std::string &path) {
  const int fd = open_regular(path);
  try {
    nlohmann::json r = call({{"cmd", cmd}, {"name", path}}, fd);
    ::close(fd);
    return r;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

TableChange DpdkClient::load_table(const std::string &snapshot_path) {
  return {u64(send_file_request("table.load", snapshot_path), "entries"), ""};
}

TableChange DpdkClient::apply_delta(const std::string &delta_path) {
  return {u64(send_file_request("table.delta", delta_path), "entries"), ""};
}

uint32_t DpdkClient::set_policy(const std::string &policy_path) {
  // The file travels (opened with the operator's rights); the name keeps the data plane's
  // FILE:LINE errors pointing at the operator's file.
  const int fd = open_regular(policy_path);
  struct stat st {};
  if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) > kMaxPolicyBytes) {
    ::close(fd);
    throw DataplaneError(policy_path + ": larger than the policy limit of " +
                         std::to_string(kMaxPolicyBytes) + " bytes");
  }
  try {
    const nlohmann::json r = call({{"cmd", "policy.set"}, {"name", policy_path}}, fd);
    ::close(fd);
    return static_cast<uint32_t>(u64(r, "generation"));
  } catch (...) {
    ::close(fd);
    throw;
  }
}

DataplaneStats DpdkClient::stats() {
  try {
    return stats::from_json(call({{"cmd", "stats"}}));
  } catch (const stats::StatsFormatError &e) {
    throw DataplaneError("dpdk:" + path_ + ": bad stats reply: " + e.what());
  }
}

nlohmann::json DpdkClient::heavy_reply(size_t limit, const char *list) {
  nlohmann::json j = call({{"cmd", "heavy"}, {"limit", std::min(limit, kMaxHeavyLimit)}});
  if (!j.contains(list) || !j[list].is_array())
    throw DataplaneError(describe() + ": heavy: reply without a \"" + list + "\" list");
  return j;
}

std::vector<HeavySender> DpdkClient::heavy_senders(size_t limit) {
  std::vector<HeavySender> out;
  if (limit == 0) return out;
  const nlohmann::json j = heavy_reply(limit, "senders");
  const uint64_t window_ns = u64(j, "window_ns");
  for (const auto &s : j["senders"]) {
    if (!s.is_object() || !s.contains("prefix") || !s["prefix"].is_string())
      throw DataplaneError(describe() + ": heavy: a sender without a prefix");
    HeavySender h;
    h.prefix = s["prefix"].get<std::string>();
    h.syns = u64(s, "syns");
    h.window_ns = window_ns;
    out.push_back(std::move(h));
    if (out.size() == limit) break;
  }
  return out;
}

std::vector<PregreetSender> DpdkClient::pregreet_senders(size_t limit) {
  std::vector<PregreetSender> out;
  if (limit == 0) return out;
  const nlohmann::json j = heavy_reply(limit, "pregreet");
  for (const auto &s : j["pregreet"]) {
    if (!s.is_object() || !s.contains("address") || !s["address"].is_string())
      throw DataplaneError(describe() + ": heavy: a pregreet sender without an address");
    out.push_back({s["address"].get<std::string>(), u64(s, "connections")});
    if (out.size() == limit) break;
  }
  return out;
}

std::vector<VerdictSender> DpdkClient::verdict_senders(size_t limit) {
  std::vector<VerdictSender> out;
  if (limit == 0) return out;
  const nlohmann::json j = heavy_reply(limit, "verdicts");
  for (const auto &s : j["verdicts"]) {
    if (!s.is_object() || !s.contains("address") || !s["address"].is_string())
      throw DataplaneError(describe() + ": heavy: a shaped sender without an address");
    const uint64_t level = u64(s, "level");
    if (level < 1 || level >= SL_MAX_LEVELS)
      throw DataplaneError(describe() + ": heavy: a shaped sender at level " +
                           std::to_string(level));
    out.push_back({s["address"].get<std::string>(), static_cast<uint32_t>(level), u64(s, "shaped"),
                   u64(s, "blocked")});
    if (out.size() == limit) break;
  }
  return out;
}

std::vector<FanoutSender> DpdkClient::fanout_senders(size_t limit) {
  std::vector<FanoutSender> out;
  if (limit == 0) return out;
  const nlohmann::json j = heavy_reply(limit, "fanout");
  for (const auto &s : j["fanout"]) {
    if (!s.is_object() || !s.contains("address") || !s["address"].is_string())
      throw DataplaneError(describe() + ": heavy: a fan-out subscriber without an address");
    out.push_back({s["address"].get<std::string>(), u64(s, "destinations")});
    if (out.size() == limit) break;
  }
  return out;
}

std::vector<DataplaneFlow> DpdkClient::flows(size_t limit) {
  std::vector<DataplaneFlow> out;
  size_t skip = 0;
  while (out.size() < limit) {
    const nlohmann::json j =
        call({{"cmd", "flows"}, {"limit", limit - out.size()}, {"skip", skip}});
    if (!j.contains("flows") || !j["flows"].is_array()) break;
    for (const auto &f : j["flows"]) {
      DataplaneFlow x;
      x.client = f.value("client", "");
      x.server = f.value("server", "");
      x.client_port = static_cast<uint16_t>(u64(f, "client_port"));
      x.outbound = f.value("outbound", false);
      x.server_port = static_cast<uint16_t>(u64(f, "server_port"));
      x.level = static_cast<uint32_t>(u64(f, "level"));
      x.flags = static_cast<uint32_t>(u64(f, "flags"));
      x.created_ns = u64(f, "created_ns");
      x.last_seen_ns = u64(f, "last_seen_ns");
      x.pending = static_cast<uint32_t>(u64(f, "pending"));
      out.push_back(std::move(x));
    }
    // Pages are taken one after another while flows come and go: a flow may be listed twice
    // or missed between pages, never invented.
    if (!j.value("more", false) || j["flows"].empty()) break;
    skip = u64(j, "next");
  }
  return out;
}

}  // namespace sluice::control
