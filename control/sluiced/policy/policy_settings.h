// The policy service's settings, as read from [policy] (policy_config.h lists the keys): the
// listen address, the limits, the actions per level, the traps. No dependency on the daemon, so
// the server and the service build and test alone.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/sl_limits.h"
#include "policy_action.h"
#include "policy_request.h"
#include "sluice_error.h"

namespace sluice::sluiced::policy {

class SettingsError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

inline constexpr size_t kMaxTraps = 10000;
inline constexpr size_t kMaxTrapBytes = 240;  // fits "trap_hit ADDRESS" in a reason
inline constexpr size_t kMaxRecent = 4096;

struct Listen {
  enum class Kind { kUnix, kInet } kind = Kind::kUnix;
  std::string path;          // unix
  std::string host;          // inet: numeric IPv4 or IPv6, no brackets
  uint16_t port = 0;         // inet (0: any free port, tests)
  std::string text() const;  // as written: "unix:/run/...", "inet:127.0.0.1:10040"
};
// "unix:/abs/path" or "inet:ADDR:PORT" ("inet:[::1]:PORT"); throws SettingsError("reason").
Listen parse_listen(std::string_view text);
bool is_loopback_host(const std::string &host);

struct ServerLimits {
  size_t max_clients = 128;
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds idle_timeout{600000};
  RequestLimits request;
};

inline constexpr const char *kDefaultShapeAction = "PREPEND X-Sluice: score={score}; level={level}";

struct PolicyConfig {
  bool enabled = false;  // a listen address was given
  Listen listen;
  mode_t socket_mode = 0660;
  std::optional<gid_t> socket_group;
  bool allow_non_loopback = false;
  ServerLimits limits;
  // Per level; a level without its own: DUNNO for level 0, kDefaultShapeAction for the others.
  std::vector<ActionTemplate> actions;  // SL_MAX_LEVELS entries
  std::set<std::string> traps;          // lowercased
  int32_t trap_score = 50;
  std::chrono::seconds trap_ttl{86400};
  std::optional<ActionTemplate> trap_action;
  size_t recent = 64;
};

}  // namespace sluice::sluiced::policy
