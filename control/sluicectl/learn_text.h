// How sluicectl shows one kind of sluiced's `learn explain` reply (docs/learning.md): the line of
// `learn explain` and the reason column of `table explain` for a local:KIND source.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace sluicectl {

// The count is "events", "SYNs" for conn_rate.
// "complaint: 2.0 events (last 2026-11-30 10:02:11 UTC from arf, report-1), +8, halves every 6h"
std::string learn_kind_line(const nlohmann::json &kind);
// "2.0 events, last 2026-11-30 10:02:11 UTC from arf (report-1), halves every 6h"
std::string learn_kind_reason(const nlohmann::json &kind);

}  // namespace sluicectl
