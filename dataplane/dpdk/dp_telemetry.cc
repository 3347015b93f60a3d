#include "dp_telemetry.h"

#include <rte_telemetry.h>

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>

#include "dp_control.h"

namespace sluice::dataplane {
namespace {

std::mutex g_mu;  // held while a telemetry request uses the control object
DpControl *g_control = nullptr;

// Answers a telemetry command with a dictionary of the counters `each` names (dp_stats.h: the
// same model and the same names as the control socket's JSON, flattened).
int dict_reply(rte_tel_data *d,
               void (*each)(const stats::DataplaneStats &, const stats::CounterFn &)) {
  std::lock_guard lock(g_mu);
  if (g_control == nullptr) return -1;
  const stats::DataplaneStats s = g_control->stats_model();
  rte_tel_data_start_dict(d);
  each(s, [d](std::string_view name, uint64_t v) {
    rte_tel_data_add_dict_u64(d, std::string(name).c_str(), v);
  });
  return 0;
}

int stats_cmd(const char *, const char *, rte_tel_data *d) {
  return dict_reply(d, stats::for_each_counter);
}

int levels_cmd(const char *, const char *, rte_tel_data *d) {
  return dict_reply(d, stats::for_each_level_counter);
}

int lcores_cmd(const char *, const char *, rte_tel_data *d) {
  return dict_reply(d, stats::for_each_lcore_counter);
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
                               "sluice-dp totals, ports, flow table, pacer, table and policy");
    rte_telemetry_register_cmd("/sluice/levels", levels_cmd, "sluice-dp per-level counters");
    rte_telemetry_register_cmd("/sluice/lcores", lcores_cmd,
                               "sluice-dp per-lcore counters (by the queue each polls)");
  });
}

}  // namespace sluice::dataplane
