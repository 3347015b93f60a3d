// The [policy] section of sluiced.ini: the Postfix policy service (docs/sluiced.md, "Postfix
// policy service"). No `listen`, no service.
//
//   [policy]
//   listen = unix:/run/sluice/policy.sock   # or inet:127.0.0.1:10040, inet:[::1]:10040
//   socket_mode = 0660                      # unix: the socket file's permission bits
//   socket_group = postfix                  # unix: its group; members may connect
//   allow_non_loopback = false              # inet: any other address needs this
//   max_clients = 128                       # connections at once (smtpd keeps one each)
//   request_timeout = 10s                   # a request's first byte to its reply sent
//   idle_timeout = 600s                     # a connection with nothing in flight
//   max_line_bytes = 4096
//   max_request_bytes = 32768
//   max_attributes = 100
//   action_0 = DUNNO                        # per level 0..7 (policy_action.h)
//   action_1 = PREPEND X-Sluice: score={score}; level={level}
//   trap = trap@example.net                 # repeatable: spam-trap recipients
//   trap_score = 50                         # the dynamic entry a trap hit makes
//   trap_ttl = 1d
//   trap_action = DISCARD                   # optional: the answer to a trap recipient
//   recent = 64                             # requests kept for `sluicectl policy recent`
#pragma once

#include "daemon/config.h"
#include "policy_settings.h"

namespace sluice::sluiced::policy {

void describe_policy_config(ConfigSchema &schema);
// Throws ConfigError("policy.KEY: reason").
PolicyConfig read_policy_config(const po::variables_map &vm);

}  // namespace sluice::sluiced::policy
