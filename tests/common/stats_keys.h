// The keys of the data planes' stats JSON as docs/dataplane-dpdk.md documents them: what
// sluice-dp's "stats" reply, `sluicectl dataplane stats --json` and `sluice-xdp status --json`
// ("stats") must show, whichever data plane answers. Tests of each data plane compare against
// this one list.
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace sluice::testing {

// Paths of every key: "outside.rx", "levels[].syns" (arrays by their elements' keys).
inline void collect_stats_keys(const nlohmann::json &j, const std::string &prefix,
                               std::set<std::string> &out) {
  for (const auto &[k, v] : j.items()) {
    const std::string path = prefix.empty() ? k : prefix + "." + k;
    out.insert(path);
    if (v.is_object()) collect_stats_keys(v, path, out);
    if (v.is_array())
      for (const auto &e : v)
        if (e.is_object()) collect_stats_keys(e, path + "[]", out);
  }
}

// The keys of a stats JSON, without "ok" (the control socket's reply status) and "control"
// (sluice-dp's socket counters, which its stats reply adds: docs/dataplane-dpdk.md).
inline std::set<std::string> stats_json_keys(const nlohmann::json &j) {
  nlohmann::json body = j;
  if (body.is_object()) body.erase("control");
  std::set<std::string> out;
  collect_stats_keys(body, "", out);
  out.erase("ok");
  return out;
}

// with_lcores: the list of per-lcore rows is not empty (sluice-dp; XDP has none).
inline std::set<std::string> documented_stats_keys(bool with_lcores) {
  std::set<std::string> k = {"kind",
                             "outside",
                             "outside.rx",
                             "outside.tx",
                             "outside.tx_dropped",
                             "inside",
                             "inside.rx",
                             "inside.tx",
                             "inside.tx_dropped",
                             "packets",
                             "packets.from_outside",
                             "packets.from_inside",
                             "smtp",
                             "smtp.from_outside",
                             "smtp.from_inside",
                             "malformed",
                             "lookups",
                             "flow_evictions",
                             "flow_table_full",
                             "stale_level",
                             "frag_smtp",
                             "frag_later",
                             "unseen",
                             "unseen_dropped",
                             "relookups",
                             "level_changes",
                             "out_of_scope",
                             "tarpit_synacks",
                             "tarpit_acks",
                             "tarpit_silent",
                             "caps_rate",
                             "caps_flows",
                             "caps_evicted",
                             "tarpit_held",
                             "tarpit_released",
                             "pregreet",
                             "flows",
                             "flow_capacity",
                             "flow_inserts",
                             "flow_expired",
                             "pacer",
                             "pacer.depth",
                             "pacer.capacity",
                             "pacer.drops",
                             "pacer.order_holds",
                             "table",
                             "table.entries",
                             "table.version",
                             "table.compiled_unix",
                             "table.age_s",
                             "table.updates",
                             "policy",
                             "policy.generation",
                             "policy.updates",
                             "levels",
                             "levels[].level",
                             "levels[].name",
                             "levels[].threshold",
                             "levels[].syns",
                             "levels[].flows",
                             "levels[].rewritten",
                             "levels[].delayed",
                             "levels[].dropped",
                             "levels[].rst_sent",
                             "levels[].observed",
                             "lcores"};
  if (with_lcores)
    k.insert({"lcores[].queue", "lcores[].rx_outside", "lcores[].rx_inside", "lcores[].smtp",
              "lcores[].flows", "lcores[].flow_capacity", "lcores[].flow_evictions",
              "lcores[].pacer_depth"});
  return k;
}

}  // namespace sluice::testing
