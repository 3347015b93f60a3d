#include "dpdk_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "control_proto.h"

namespace sluice::control {
namespace {

namespace proto = sluice::dataplane::proto;

// sluice-dp opens files itself, from its own working directory: send absolute paths.
std::string absolute(const std::string &path) {
  std::error_code ec;
  const auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.string();
}

uint64_t u64(const nlohmann::json &j, const char *k) {
  return j.contains(k) && j[k].is_number() ? j[k].get<uint64_t>() : 0;
}

}  // namespace

DpdkClient::DpdkClient(std::string socket_path) : path_(std::move(socket_path)) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof(addr.sun_path)) throw DataplaneError("socket path too long: " + path_);
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw DataplaneError("socket: " + std::string(strerror(errno)));
  if (::connect(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
    const std::string err = strerror(errno);
    ::close(fd_);
    throw DataplaneError("dpdk:" + path_ + ": cannot connect (" + err +
                         "); is sluice-dp running with --control " + path_ + "?");
  }
}

DpdkClient::~DpdkClient() {
  ::close(fd_);
}

nlohmann::json DpdkClient::call(const nlohmann::json &request) {
  if (!proto::write_frame(fd_, request.dump()))
    throw DataplaneError("dpdk:" + path_ + ": send failed (sluice-dp gone?)");
  std::string body;
  if (proto::read_frame(fd_, body) != proto::ReadStatus::kOk)
    throw DataplaneError("dpdk:" + path_ + ": no reply (sluice-dp gone?)");
  nlohmann::json reply;
  try {
    reply = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception &e) {
    throw DataplaneError("dpdk:" + path_ + ": bad reply: " + e.what());
  }
  if (!reply.value("ok", false))
    throw DataplaneError(reply.value("error", std::string("request failed")));
  return reply;
}

TableChange DpdkClient::load_table(const std::string &snapshot_path) {
  return {u64(call({{"cmd", "table.load"}, {"path", absolute(snapshot_path)}}), "entries"), ""};
}

TableChange DpdkClient::apply_delta(const std::string &delta_path) {
  return {u64(call({{"cmd", "table.delta"}, {"path", absolute(delta_path)}}), "entries"), ""};
}

uint32_t DpdkClient::set_policy(const std::string &policy_path) {
  // The text travels, so a policy readable only by the operator still works; the name keeps
  // the data plane's FILE:LINE errors pointing at the operator's file.
  std::ifstream in(policy_path);
  if (!in) throw DataplaneError(policy_path + ": cannot open policy file");
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json r =
      call({{"cmd", "policy.set"}, {"text", text.str()}, {"name", policy_path}});
  return static_cast<uint32_t>(u64(r, "generation"));
}

DataplaneStats DpdkClient::stats() {
  try {
    return stats::from_json(call({{"cmd", "stats"}}));
  } catch (const stats::StatsFormatError &e) {
    throw DataplaneError("dpdk:" + path_ + ": bad stats reply: " + e.what());
  }
}

std::vector<DataplaneFlow> DpdkClient::flows(size_t limit) {
  const nlohmann::json j = call({{"cmd", "flows"}, {"limit", limit}});
  std::vector<DataplaneFlow> out;
  for (const auto &f : j["flows"]) {
    DataplaneFlow x;
    x.client = f.value("client", "");
    x.server = f.value("server", "");
    x.client_port = static_cast<uint16_t>(u64(f, "client_port"));
    x.server_port = static_cast<uint16_t>(u64(f, "server_port"));
    x.level = static_cast<uint32_t>(u64(f, "level"));
    x.flags = static_cast<uint32_t>(u64(f, "flags"));
    x.created_ns = u64(f, "created_ns");
    x.last_seen_ns = u64(f, "last_seen_ns");
    x.pending = static_cast<uint32_t>(u64(f, "pending"));
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace sluice::control
