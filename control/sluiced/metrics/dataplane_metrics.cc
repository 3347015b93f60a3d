#include "dataplane_metrics.h"

#include <array>

namespace sluice::sluiced::metrics {
namespace {

// "section.field" of every field that is a level, not a count.
constexpr std::array<std::string_view, 13> kGaugeFields = {
    "flow_table.flows",    "flow_table.flow_capacity",
    "pacer.depth",         "pacer.capacity",
    "table.entries",       "table.version",
    "table.compiled_unix", "table.age_s",
    "policy.generation",   "lcore.queue",
    "lcore.flows",         "lcore.flow_capacity",
    "lcore.pacer_depth"};

constexpr const char *kDirLabel[2] = {"from_outside", "from_inside"};  // by enum sl_dir

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "sluice_dataplane_" + section + field, with the unit and type suffixes.
std::string metric_name(std::string_view section, std::string_view field) {
  std::string base(field);
  if (ends_with(base, "_s"))
    base += "econds";
  else if (ends_with(base, "_unix"))
    base += "_seconds";
  std::string n = "sluice_dataplane_";
  if (!section.empty()) n += std::string(section) + "_";
  n += base;
  if (!is_gauge_field(section, field)) n += "_total";
  return n;
}

std::string help_for(std::string_view section, std::string_view field) {
  std::string what = section.empty() ? "packet core" : std::string(section);
  return "Data plane " + what + " " + std::string(field) +
         " (dp_stats.h; docs/dataplane-dpdk.md lists the meaning of each key)";
}

// Visits every (section, field) of the lists, with a getter for one DataplaneStats.
template <typename F>
void for_each_field(F &&f) {
#define SLUICE_M_SCALAR(x) f("", #x, [](const control::DataplaneStats &s) { return s.totals.x; });
  SLUICE_SL_STATS_SCALARS(SLUICE_M_SCALAR)
#undef SLUICE_M_SCALAR
#define SLUICE_M_SECTION(section, member, x) \
  f(section, #x, [](const control::DataplaneStats &s) { return s.member.x; });
#define SLUICE_M_FLOW(x) SLUICE_M_SECTION("flow_table", flow_table, x)
#define SLUICE_M_PACER(x) SLUICE_M_SECTION("pacer", pacer, x)
#define SLUICE_M_TABLE(x) SLUICE_M_SECTION("table", table, x)
#define SLUICE_M_POLICY(x) SLUICE_M_SECTION("policy", policy, x)
  SLUICE_FLOW_TABLE_STATS(SLUICE_M_FLOW)
  SLUICE_PACER_STATS(SLUICE_M_PACER)
  SLUICE_TABLE_STATS(SLUICE_M_TABLE)
  SLUICE_POLICY_STATS(SLUICE_M_POLICY)
#undef SLUICE_M_POLICY
#undef SLUICE_M_TABLE
#undef SLUICE_M_PACER
#undef SLUICE_M_FLOW
#undef SLUICE_M_SECTION
}

MetricType type_of(std::string_view section, std::string_view field) {
  return is_gauge_field(section, field) ? MetricType::gauge : MetricType::counter;
}

}  // namespace

bool is_gauge_field(std::string_view section, std::string_view field) {
  const std::string key = std::string(section) + "." + std::string(field);
  for (auto g : kGaugeFields)
    if (g == key) return true;
  return false;
}

void declare_dataplane_metrics(Exposition &e) {
  e.declare("sluice_dataplane_up", MetricType::gauge,
            "1 when the data plane answered its last stats request, else 0");
  for_each_field([&](std::string_view section, std::string_view field, auto) {
    e.declare(metric_name(section, field), type_of(section, field), help_for(section, field));
  });
#define SLUICE_M_DIR(x)                               \
  e.declare(metric_name("", #x), MetricType::counter, \
            "Data plane packet core " #x " by direction (from_outside, from_inside)");
  SLUICE_SL_STATS_BY_DIR(SLUICE_M_DIR)
#undef SLUICE_M_DIR
#define SLUICE_M_LEVEL(x)                                   \
  e.declare(metric_name("level", #x), type_of("level", #x), \
            "Data plane " #x " per level of the policy (sl_level_stats)");
  SLUICE_SL_LEVEL_STATS(SLUICE_M_LEVEL)
#undef SLUICE_M_LEVEL
#define SLUICE_M_PORT(x)                                  \
  e.declare(metric_name("port", #x), type_of("port", #x), \
            "Data plane port " #x " (outside, inside)");
  SLUICE_PORT_STATS(SLUICE_M_PORT)
#undef SLUICE_M_PORT
#define SLUICE_M_LCORE(x)                                     \
  if (std::string_view(#x) != "queue")                        \
    e.declare(metric_name("lcore", #x), type_of("lcore", #x), \
              "Data plane forwarding lcore " #x ", by the queue it polls (DPDK)");
  SLUICE_LCORE_STATS(SLUICE_M_LCORE)
#undef SLUICE_M_LCORE
}

void add_dataplane_up(Exposition &e, const std::string &dataplane, bool up) {
  e.add("sluice_dataplane_up", {{"dataplane", dataplane}}, uint64_t{up ? 1u : 0u});
}

void add_dataplane_metrics(Exposition &e, const std::string &dataplane,
                           const control::DataplaneStats &s) {
  const Labels dp = {{"dataplane", dataplane}};
  for_each_field([&](std::string_view section, std::string_view field, auto get) {
    e.add(metric_name(section, field), dp, static_cast<uint64_t>(get(s)));
  });
  for (int d = 0; d < 2; ++d) {
    const Labels l = {{"dataplane", dataplane}, {"direction", kDirLabel[d]}};
#define SLUICE_M_DIR(x) e.add(metric_name("", #x), l, static_cast<uint64_t>(s.totals.x[d]));
    SLUICE_SL_STATS_BY_DIR(SLUICE_M_DIR)
#undef SLUICE_M_DIR
  }
  for (size_t lv = 0; lv < s.levels.size() && lv < SL_MAX_LEVELS; ++lv) {
    const Labels l = {
        {"dataplane", dataplane}, {"level", std::to_string(lv)}, {"level_name", s.levels[lv].name}};
    const sl_level_stats &c = s.totals.level[lv];
#define SLUICE_M_LEVEL(x) e.add(metric_name("level", #x), l, static_cast<uint64_t>(c.x));
    SLUICE_SL_LEVEL_STATS(SLUICE_M_LEVEL)
#undef SLUICE_M_LEVEL
  }
  const std::pair<const char *, const stats::PortStats *> ports[] = {{"outside", &s.outside},
                                                                     {"inside", &s.inside}};
  for (const auto &[port, p] : ports) {
    const Labels l = {{"dataplane", dataplane}, {"port", port}};
#define SLUICE_M_PORT(x) e.add(metric_name("port", #x), l, static_cast<uint64_t>(p->x));
    SLUICE_PORT_STATS(SLUICE_M_PORT)
#undef SLUICE_M_PORT
  }
  for (const auto &c : s.lcores) {
    const Labels l = {{"dataplane", dataplane}, {"queue", std::to_string(c.queue)}};
#define SLUICE_M_LCORE(x)              \
  if (std::string_view(#x) != "queue") \
    e.add(metric_name("lcore", #x), l, static_cast<uint64_t>(c.x));
    SLUICE_LCORE_STATS(SLUICE_M_LCORE)
#undef SLUICE_M_LCORE
  }
}

std::vector<std::string> dataplane_metric_names() {
  Exposition e;
  declare_dataplane_metrics(e);
  std::vector<std::string> names;
  const std::string text = e.render();
  size_t pos = 0;
  while ((pos = text.find("# TYPE ", pos)) != std::string::npos) {
    pos += 7;
    names.push_back(text.substr(pos, text.find(' ', pos) - pos));
  }
  return names;
}

}  // namespace sluice::sluiced::metrics
