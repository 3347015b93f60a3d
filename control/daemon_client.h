// Client of sluiced's control socket (framing: dataplane/common/control_proto.h; verbs:
// docs/sluiced.md, "Control socket"). sluicectl's daemon commands use it through
// sluicectl/daemon_call.h. Every call has a deadline; nothing is sent but the request itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sluice_error.h"

namespace sluice::control {

inline constexpr const char *kDefaultDaemonSocket = "/run/sluice/sluiced.sock";
inline constexpr const char *kDaemonSocketEnv = "SLUICE_DAEMON";
// sluiced's request limit, above sluice-dp's 1 MiB (control_proto.h): `report arf` carries a
// whole mail in base64 (4/3 of its size), and a 1 MiB report must fit.
inline constexpr uint32_t kMaxDaemonRequest = 2u << 20;

class DaemonError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

// The socket to use: `flag` (--daemon) if given, else $SLUICE_DAEMON if set and not empty,
// else /run/sluice/sluiced.sock.
std::string daemon_socket_path(const std::optional<std::string> &flag);

class DaemonClient {
 public:
  // Connects; throws DaemonError naming the socket if sluiced is not listening there.
  explicit DaemonClient(std::string socket_path,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~DaemonClient();
  DaemonClient(const DaemonClient &) = delete;
  DaemonClient &operator=(const DaemonClient &) = delete;

  // One request ({"cmd": ..., ...}) and its reply. Throws DaemonError on a transport error, a
  // timeout, or a reply {"ok": false, "error": ...} (the message is sluiced's).
  nlohmann::json call(const nlohmann::json &request);

  const std::string &path() const { return path_; }

 private:
  std::string path_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
};

}  // namespace sluice::control
