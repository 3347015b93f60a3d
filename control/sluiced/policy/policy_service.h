// The policy service's answer to one request: the client address's score as sluiced's table
// knows it, its level under the policy file (sl_level_for, as the data planes decide), and that
// level's action (policy_action.h) filled in. A recipient in the trap list is a trap hit: the
// answer is trap_action when set (else the level's), and `on_trap` is told (the module writes
// the dynamic entry after the reply is sent). Every request is recorded (policy_recorder.h).
//
// A client address that is missing or not an IP address (Postfix sends one for every SMTP
// client) is answered as unlisted (score 0) and counted.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/sl_shared.h"
#include "policy_settings.h"
#include "policy_recorder.h"
#include "policy_request.h"
#include "sluice/reputation/address.h"

namespace sluice::sluiced::policy {

struct Levels {
  sl_policy policy{};  // thresholds and nlevels
  std::vector<std::string> names;
};

class PolicyService {
 public:
  // The client's entry in the table; nullopt when unlisted.
  using Lookup = std::function<std::optional<sl_rep_value>(const reputation::IpAddress &)>;
  using TrapFn = std::function<void(const reputation::IpAddress &, const std::string &trap)>;
  using Now = std::function<int64_t()>;  // wall clock, unix seconds

  PolicyService(const PolicyConfig &cfg, Lookup lookup, TrapFn on_trap, Now now);

  // No policy file: every client is level 0. A new policy applies from the next request.
  void set_levels(std::optional<Levels> levels) { levels_ = std::move(levels); }
  const std::optional<Levels> &levels() const { return levels_; }

  // Appends the reply ("action=...\n\n") to `out`.
  void answer(const PolicyRequest &req, std::string &out);

  Recorder &recorder() { return recorder_; }

 private:
  const PolicyConfig &cfg_;
  Lookup lookup_;
  TrapFn on_trap_;
  Now now_;
  std::optional<Levels> levels_;
  Recorder recorder_;
  std::string recipient_lc_;  // scratch
};

}  // namespace sluice::sluiced::policy
