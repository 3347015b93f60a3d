// The [maillog] section of sluiced.ini: Postfix log observations (docs/maillog.md). Off unless
// enabled; then `path` is required.
//
//   [maillog]
//   enabled = true
//   path = /var/log/mail.log     # the file to follow (absolute; its last component no symlink)
//   from_start = false           # true: read what the file holds at start-up too
//   max_line = 8192              # longer lines are counted and dropped (256 .. 1048576)
//   kinds = unknown_recipient, rbl_reject, pregreet, protocol_error   # what is published
//   recent = 64                  # matches kept for `sluicectl maillog recent` (0 .. 1024)
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "daemon/config.h"
#include "daemon/local_observation.h"

namespace sluice::sluiced::maillog {

inline constexpr size_t kMaxRecentMatches = 1024;

struct MaillogConfig {
  bool enabled = false;
  std::string path;
  bool from_start = false;
  size_t max_line = 8192;
  std::array<bool, kLocalKindCount> publish{};  // by LocalKind
  size_t recent = 64;
};

// The kinds a Postfix log can show (what `kinds` may name).
bool log_kind(LocalKind k);

void describe_maillog_config(ConfigSchema &schema);
// Throws ConfigError("maillog.KEY: reason").
MaillogConfig read_maillog_config(const po::variables_map &vm);

}  // namespace sluice::sluiced::maillog
