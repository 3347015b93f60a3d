#include "sluice/xdp/stats_model.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "sluice/reputation/error.h"
#include "sluice/reputation/live_table.h"
#include "sluice/reputation/snapshot.h"
#include "sluice/xdp/attach.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/instance_ops.h"
#include "sluice/xdp/sl_xdp_layout.h"

namespace sluice::xdp {

namespace {

// The table the instance runs is the one it keeps for deltas; the time it was saved is when the
// table last changed. The saved header says the version and counts without reading the table:
// the loader checked the whole table when it wrote it, and re-checking a million entries on
// every stats call made each of sluiced's version checks cost a full read. Nothing kept, or
// unreadable: the maps still hold what was loaded, and the table is reported as unknown (zero).
stats::TableStats kept_table(const std::string &name) {
  stats::TableStats t;
  try {
    const auto saved = reputation::LiveTable::saved_header(
        std::filesystem::path(state_snapshot_path(name)).parent_path().string());
    const reputation::SnapshotHeader &h = saved.header;
    t.entries = h.counts[0] + h.counts[1] + h.counts[2] + h.counts[3];
    t.version = h.checksum;
    t.compiled_unix = h.created_unix;
    const auto age = std::filesystem::file_time_type::clock::now() - saved.saved;
    t.age_s = static_cast<uint64_t>(
        std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(age).count()));
  } catch (const reputation::Error &) {
  }
  return t;
}

}  // namespace

stats::DataplaneStats dataplane_stats(const std::string &name) {
  const Status st = status(name);
  const sl_policy pol = get_policy(name);
  stats::DataplaneStats out;
  out.kind = "xdp";
  // The programs count what arrives on each port; XDP has no TX queue of its own to count.
  out.outside.rx = st.stats.packets[SL_DIR_FROM_OUTSIDE];
  out.inside.rx = st.stats.packets[SL_DIR_FROM_INSIDE];
  out.totals = st.stats;
  out.flow_table.flows = st.flows;
  out.flow_table.flow_capacity = SLX_MAX_FLOWS;
  // The policy map has thresholds but no level names: those of the file the running policy
  // came from, when set_policy_file kept them.
  const uint32_t n = pol.nlevels > SL_MAX_LEVELS ? SL_MAX_LEVELS : pol.nlevels;
  const std::vector<std::string> names = level_names(name);
  for (uint32_t l = 0; l < n; l++)
    out.levels.push_back({l < names.size() ? names[l] : "", pol.thresholds[l]});
  // Each generation is one policy update (attach starts at 0 with a pass-only policy).
  out.policy.generation = st.policy_generation;
  out.policy.updates = st.policy_generation;
  out.table = kept_table(name);
  return out;
}

stats::RunningVersions running_versions(const std::string &name) {
  if (!instance_exists(name)) throw Error("no sluice XDP instance named '" + name + "'");
  stats::RunningVersions v;
  v.policy_generation = get_policy(name).generation;
  v.table_version = kept_table(name).version;
  return v;
}

}  // namespace sluice::xdp
