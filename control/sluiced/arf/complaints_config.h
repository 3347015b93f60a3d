// The [complaints] section of sluiced.ini: ARF feedback reports (docs/complaints.md).
//
//   [complaints]
//   enabled = true                  # false: `report arf` is refused, no maildir is read
//   maildir = /var/lib/sluice/arf   # optional: a maildir whose new/ mails are reports
//   max_report_bytes = 1048576      # a larger mail is refused unread (1024 .. 16 MiB)
//   dedup_memory = 100000           # report keys remembered (0 .. 10 000 000; 0: no de-dup)
#pragma once

#include <cstddef>
#include <string>

#include "daemon/config.h"

namespace sluice::sluiced::arf {

struct ComplaintsConfig {
  bool enabled = true;
  std::string maildir;  // empty: none
  size_t max_report_bytes = size_t{1} << 20;
  size_t dedup_memory = 100000;
};
inline constexpr size_t kMaxReportBytesCeiling = size_t{16} << 20;
inline constexpr size_t kMaxDedupMemory = 10000000;

void describe_complaints_config(ConfigSchema &schema);
// Throws ConfigError("complaints.KEY: reason").
ComplaintsConfig read_complaints_config(const po::variables_map &vm);

}  // namespace sluice::sluiced::arf
