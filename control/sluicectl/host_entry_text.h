// How sluicectl's host and clear commands show dynamic entries and the data planes a change
// reached (shared by cmd_host.cc and cmd_clear.cc).
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

namespace sluicectl {

// "2026-11-30 15:16:01Z (in 59m 58s)", "never".
std::string expiry_text(const nlohmann::json &expires_unix, int64_t now);
// "deny", "allow", "score +5".
std::string action_text(const nlohmann::json &entry);
// One line: "198.18.0.7/32 deny, expires 2026-... (in 1h), reason: ...".
std::string entry_line(const nlohmann::json &entry, int64_t now);
// The reply's "dataplanes": one line on `out` per data plane that runs the new table, one on
// `err` per data plane that does not yet (down or refusing; sluiced brings it up to date when it
// answers again).
void report_dataplanes(const nlohmann::json &reply, std::ostream &out, std::ostream &err);
// What sluicectl says it is, for the entry's origin: "sluicectl uid 0 (parent fail2ban-server)".
std::string origin_text();

}  // namespace sluicectl
