// The data planes' counters as one typed model: sluice-dp fills it from its lcores, the XDP
// loader from its pinned per-CPU maps; it is rendered to JSON once (the control socket's "stats"
// reply and `sluicectl dataplane stats --json`, the same keys whichever data plane answers),
// parsed back once (sluicectl's client of sluice-dp) and flattened once into named counters
// (DPDK telemetry). docs/dataplane-dpdk.md lists the keys.
//
// Every section is declared by a field list below; the JSON, the parser, the flat names and
// the comparison are generated from the lists, so a new counter is one line in one list. The
// totals are the packet core's struct sl_stats itself: a field added there without a line in
// SLUICE_SL_STATS_* stops the build (the static_asserts in dp_stats.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/sl_shared.h"

// ---- field lists ------------------------------------------------------------------------------

// struct sl_stats: counters kept per direction (arrays indexed by enum sl_dir) ...
#define SLUICE_SL_STATS_BY_DIR(X) \
  X(packets)                      \
  X(smtp)
// ... and single counters. (sl_stats.level[] is struct sl_level_stats, listed next.)
#define SLUICE_SL_STATS_SCALARS(X) \
  X(malformed)                     \
  X(lookups)                       \
  X(flow_evictions)                \
  X(flow_table_full)               \
  X(stale_level)                   \
  X(frag_smtp)                     \
  X(frag_later)                    \
  X(unseen)                        \
  X(unseen_dropped)                \
  X(relookups)                     \
  X(level_changes)                 \
  X(out_of_scope)                  \
  X(tarpit_synacks)                \
  X(tarpit_acks)                   \
  X(tarpit_silent)                 \
  X(caps_rate)                     \
  X(caps_flows)                    \
  X(caps_evicted)                  \
  X(tarpit_held)                   \
  X(tarpit_released)               \
  X(pregreet)
// struct sl_level_stats
#define SLUICE_SL_LEVEL_STATS(X) \
  X(syns)                        \
  X(flows)                       \
  X(rewritten)                   \
  X(delayed)                     \
  X(dropped)                     \
  X(rst_sent)                    \
  X(observed)

// A port: packets received, sent, and refused by TX (queue full).
#define SLUICE_PORT_STATS(X) \
  X(rx)                      \
  X(tx)                      \
  X(tx_dropped)
// The flow table(s), summed over lcores (evictions are in sl_stats).
#define SLUICE_FLOW_TABLE_STATS(X) \
  X(flows)                         \
  X(flow_capacity)                 \
  X(flow_inserts)                  \
  X(flow_expired)
// The pacer (DPDK; zero for XDP, which cannot hold packets).
#define SLUICE_PACER_STATS(X) \
  X(depth)                    \
  X(capacity)                 \
  X(drops)                    \
  X(order_holds)
// The reputation table the data plane runs.
#define SLUICE_TABLE_STATS(X)                                                            \
  X(entries)                                                                             \
  X(version)       /* the checksum of the table's image: equal tables, equal versions */ \
  X(compiled_unix) /* when `sluicectl table build` compiled it (deltas keep it) */       \
  X(age_s)         /* seconds since the data plane last changed its table */             \
  X(updates)       /* loads and deltas applied since start */
#define SLUICE_POLICY_STATS(X) \
  X(generation)                \
  X(updates)
// One forwarding lcore (DPDK; `queue` is the RX/TX queue it polls on both ports).
#define SLUICE_LCORE_STATS(X) \
  X(queue)                    \
  X(rx_outside)               \
  X(rx_inside)                \
  X(smtp)                     \
  X(flows)                    \
  X(flow_capacity)            \
  X(flow_evictions)           \
  X(pacer_depth)

#define SLUICE_STATS_U64_MEMBER(f) uint64_t f = 0;

namespace sluice::stats {

struct PortStats {
  SLUICE_PORT_STATS(SLUICE_STATS_U64_MEMBER)
  bool operator==(const PortStats &) const = default;
};
struct FlowTableStats {
  SLUICE_FLOW_TABLE_STATS(SLUICE_STATS_U64_MEMBER)
  bool operator==(const FlowTableStats &) const = default;
};
struct PacerStats {
  SLUICE_PACER_STATS(SLUICE_STATS_U64_MEMBER)
  bool operator==(const PacerStats &) const = default;
};
struct TableStats {
  SLUICE_TABLE_STATS(SLUICE_STATS_U64_MEMBER)
  bool operator==(const TableStats &) const = default;
};
struct PolicyStats {
  SLUICE_POLICY_STATS(SLUICE_STATS_U64_MEMBER)
  bool operator==(const PolicyStats &) const = default;
};
struct LcoreStats {
  SLUICE_LCORE_STATS(SLUICE_STATS_U64_MEMBER)
  bool operator==(const LcoreStats &) const = default;
};

// What the policy says about a level; its counters are totals.level[level].
struct LevelInfo {
  std::string name;
  int32_t threshold = 0;
  bool operator==(const LevelInfo &) const = default;
};

// What a control plane checks before each push: the table and the policy a data plane runs.
// A part of DataplaneStats that a data plane may answer without reading all its counters.
struct RunningVersions {
  uint64_t table_version = 0;      // TableStats::version (0: no table)
  uint64_t policy_generation = 0;  // PolicyStats::generation
  bool operator==(const RunningVersions &) const = default;
};

struct DataplaneStats {
  std::string kind;  // "dpdk" or "xdp"
  PortStats outside, inside;
  sl_stats totals{};  // summed over lcores / CPUs
  FlowTableStats flow_table;
  PacerStats pacer;
  TableStats table;
  PolicyStats policy;
  // One per level of the running policy (0 = pass .. nlevels - 1). Counters of levels beyond
  // the policy's (possible after a policy shrinks) are not rendered.
  std::vector<LevelInfo> levels;
  std::vector<LcoreStats> lcores;  // DPDK: one per forwarding lcore; XDP: none
};

bool operator==(const DataplaneStats &a, const DataplaneStats &b);

// a += b over every counter of sl_stats (levels included).
void accumulate(sl_stats &a, const sl_stats &b);

// The JSON form (docs/dataplane-dpdk.md, "stats").
nlohmann::json to_json(const DataplaneStats &s);

class StatsFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The inverse of to_json. Refuses (StatsFormatError naming the key) a missing or mistyped key;
// keys it does not know are ignored, so a newer data plane's extra counters do not break it.
DataplaneStats from_json(const nlohmann::json &j);

// Every counter with a flat name: the JSON path joined by '_' ("outside_rx", "pacer_depth",
// "lookups"), per level "level<N>_<counter>", per lcore "queue<Q>_<counter>". What DPDK
// telemetry shows.
using CounterFn = std::function<void(std::string_view name, uint64_t value)>;
void for_each_counter(const DataplaneStats &s, const CounterFn &f);        // no levels, lcores
void for_each_level_counter(const DataplaneStats &s, const CounterFn &f);  // level<N>_...
void for_each_lcore_counter(const DataplaneStats &s, const CounterFn &f);  // queue<Q>_...

}  // namespace sluice::stats
