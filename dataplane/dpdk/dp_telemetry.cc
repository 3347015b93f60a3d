#include "dp_telemetry.h"

#include <rte_telemetry.h>

#include <atomic>
#include <mutex>

#include "dp_control.h"

namespace sluice::dataplane {
namespace {

std::mutex g_mu;  // held while a telemetry request uses the control object
DpControl *g_control = nullptr;

void add_u64(rte_tel_data *d, const char *name, const nlohmann::json &v) {
  rte_tel_data_add_dict_u64(d, name, v.get<uint64_t>());
}

// Answers a telemetry command with a dictionary that fill(stats) writes from sluice-dp's stats.
template <class Fill>
int dict_reply(rte_tel_data *d, Fill fill) {
  std::lock_guard lock(g_mu);
  if (g_control == nullptr) return -1;
  const nlohmann::json s = g_control->stats();
  rte_tel_data_start_dict(d);
  fill(s);
  return 0;
}

int stats_cmd(const char *, const char *, rte_tel_data *d) {
  return dict_reply(d, [d](const nlohmann::json &s) {
    add_u64(d, "outside_rx", s["ports"]["outside"]["rx"]);
    add_u64(d, "outside_tx", s["ports"]["outside"]["tx"]);
    add_u64(d, "outside_tx_dropped", s["ports"]["outside"]["tx_dropped"]);
    add_u64(d, "inside_rx", s["ports"]["inside"]["rx"]);
    add_u64(d, "inside_tx", s["ports"]["inside"]["tx"]);
    add_u64(d, "inside_tx_dropped", s["ports"]["inside"]["tx_dropped"]);
    add_u64(d, "malformed", s["malformed"]);
    add_u64(d, "lookups", s["lookups"]);
    add_u64(d, "flows", s["flow_table"]["flows"]);
    add_u64(d, "flow_evictions", s["flow_table"]["evictions"]);
    add_u64(d, "pacer_depth", s["pacer"]["depth"]);
    add_u64(d, "pacer_drops", s["pacer"]["drops"]);
  });
}

int levels_cmd(const char *, const char *, rte_tel_data *d) {
  return dict_reply(d, [d](const nlohmann::json &s) {
    for (const auto &l : s["levels"]) {
      const std::string p = "level" + std::to_string(l["level"].get<unsigned>()) + "_";
      for (const char *k : {"syns", "flows", "rewritten", "delayed", "dropped", "rst_sent"})
        add_u64(d, (p + k).c_str(), l[k]);
    }
  });
}

int lcores_cmd(const char *, const char *, rte_tel_data *d) {
  return dict_reply(d, [d](const nlohmann::json &s) {
    for (const auto &l : s["per_lcore"]) {
      const std::string p = "queue" + std::to_string(l["queue"].get<unsigned>()) + "_";
      add_u64(d, (p + "rx_outside").c_str(), l["rx"]["outside"]);
      add_u64(d, (p + "rx_inside").c_str(), l["rx"]["inside"]);
      for (const char *k : {"smtp", "flows", "evictions", "pacer_depth"})
        add_u64(d, (p + k).c_str(), l[k]);
    }
  });
}

}  // namespace

void register_telemetry(DpControl *control) {
  static std::once_flag once;
  {
    std::lock_guard lock(g_mu);
    g_control = control;
  }
  std::call_once(once, [] {
    rte_telemetry_register_cmd("/sluice/stats", stats_cmd,
                               "sluice-dp port, flow-table and pacer counters");
    rte_telemetry_register_cmd("/sluice/levels", levels_cmd, "sluice-dp per-level counters");
    rte_telemetry_register_cmd("/sluice/lcores", lcores_cmd,
                               "sluice-dp per-lcore counters (by the queue each polls)");
  });
}

}  // namespace sluice::dataplane
