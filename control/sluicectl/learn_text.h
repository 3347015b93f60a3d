// How sluicectl shows one kind of sluiced's `learn explain` reply (docs/learning.md): the line of
// `learn explain` and the reason column of `table explain` for a local:KIND source.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace sluicectl {

// "conn_rate: 412 SYN/min at 2026-11-30 10:02:11 UTC from dp (412 SYN/min on dpdk:...), now 398,
// +4, halves every 30m" for a rate kind (its peak, then the decayed rate now), otherwise
// "complaint: 2.0 events (last 2026-11-30 10:02:11 UTC from arf, report-1), +8, halves every 6h"
std::string learn_kind_line(const nlohmann::json &kind);
// "2.0 events, last 2026-11-30 10:02:11 UTC from arf (report-1), halves every 6h"
std::string learn_kind_reason(const nlohmann::json &kind);

}  // namespace sluicectl
