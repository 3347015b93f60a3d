#include "dp_stats.h"

#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

namespace sluice::stats {
namespace {

using nlohmann::json;

// The field lists cover the core's structs exactly: a counter added to sl_stats or
// sl_level_stats without its line above is a build error here, not a silently missing key.
#define SLUICE_STATS_SIZE(f) +sizeof(sl_stats::f)
static_assert(0 SLUICE_SL_STATS_BY_DIR(SLUICE_STATS_SIZE)
                          SLUICE_SL_STATS_SCALARS(SLUICE_STATS_SIZE) +
                      sizeof(sl_stats::level) ==
                  sizeof(sl_stats),
              "a field of struct sl_stats is missing from SLUICE_SL_STATS_* (dp_stats.h)");
#undef SLUICE_STATS_SIZE
#define SLUICE_STATS_SIZE(f) +sizeof(sl_level_stats::f)
static_assert(
    0 SLUICE_SL_LEVEL_STATS(SLUICE_STATS_SIZE) == sizeof(sl_level_stats),
    "a field of struct sl_level_stats is missing from SLUICE_SL_LEVEL_STATS (dp_stats.h)");
#undef SLUICE_STATS_SIZE
#define SLUICE_STATS_BY_DIR_SIZE(f) \
  static_assert(sizeof(sl_stats::f) == 2 * sizeof(__u64), #f " is not by direction");
SLUICE_SL_STATS_BY_DIR(SLUICE_STATS_BY_DIR_SIZE)
#undef SLUICE_STATS_BY_DIR_SIZE

constexpr const char *kDirKey[2] = {"from_outside", "from_inside"};  // by enum sl_dir

// ---- parsing helpers: every refusal names the key's path ---------------------------------------

const json &need(const json &j, const std::string &path, const char *key) {
  if (!j.is_object()) throw StatsFormatError("stats: \"" + path + "\" is not an object");
  const auto it = j.find(key);
  if (it == j.end())
    throw StatsFormatError("stats: missing \"" + (path.empty() ? "" : path + ".") + key + "\"");
  return *it;
}

uint64_t need_u64(const json &j, const std::string &path, const char *key) {
  const json &v = need(j, path, key);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    throw StatsFormatError("stats: \"" + (path.empty() ? "" : path + ".") + key +
                           "\" is not a non-negative integer");
  return v.get<uint64_t>();
}

const json &need_array(const json &j, const char *key) {
  const json &v = need(j, "", key);
  if (!v.is_array()) throw StatsFormatError(std::string("stats: \"") + key + "\" is not a list");
  return v;
}

std::string at(const char *key, size_t i) {
  return std::string(key) + "[" + std::to_string(i) + "]";
}

// ---- the sections, each from its field list ---------------------------------------------------

#define SLUICE_STATS_PUT(f) o[#f] = s.f;
#define SLUICE_STATS_GET(f) s.f = need_u64(o, path, #f);
#define SLUICE_STATS_SECTION(Type, LIST)                                \
  json section_json(const Type &s) {                                    \
    json o = json::object();                                            \
    LIST(SLUICE_STATS_PUT)                                              \
    return o;                                                           \
  }                                                                     \
  void section_parse(const json &o, const std::string &path, Type &s) { \
    LIST(SLUICE_STATS_GET)                                              \
  }
SLUICE_STATS_SECTION(PortStats, SLUICE_PORT_STATS)
SLUICE_STATS_SECTION(PacerStats, SLUICE_PACER_STATS)
SLUICE_STATS_SECTION(TableStats, SLUICE_TABLE_STATS)
SLUICE_STATS_SECTION(PolicyStats, SLUICE_POLICY_STATS)
SLUICE_STATS_SECTION(LcoreStats, SLUICE_LCORE_STATS)
#undef SLUICE_STATS_SECTION

json level_json(uint32_t level, const LevelInfo &info, const sl_level_stats &s) {
  json o = {{"level", level}, {"name", info.name}, {"threshold", info.threshold}};
  SLUICE_SL_LEVEL_STATS(SLUICE_STATS_PUT)
  return o;
}
#undef SLUICE_STATS_PUT

void level_parse(const json &o, const std::string &path, size_t index, LevelInfo &info,
                 sl_level_stats &s) {
  if (need_u64(o, path, "level") != index)
    throw StatsFormatError("stats: \"" + path + ".level\" is not " + std::to_string(index));
  const json &name = need(o, path, "name");
  if (!name.is_string()) throw StatsFormatError("stats: \"" + path + ".name\" is not a string");
  info.name = name.get<std::string>();
  const json &t = need(o, path, "threshold");
  if (!t.is_number_integer() || t.get<int64_t>() < INT32_MIN || t.get<int64_t>() > INT32_MAX)
    throw StatsFormatError("stats: \"" + path + ".threshold\" is not a 32-bit integer");
  info.threshold = static_cast<int32_t>(t.get<int64_t>());
  SLUICE_SL_LEVEL_STATS(SLUICE_STATS_GET)
}
#undef SLUICE_STATS_GET

}  // namespace

bool operator==(const DataplaneStats &a, const DataplaneStats &b) {
  // sl_stats is all __u64 (no padding), so its bytes compare as its counters do.
  return a.kind == b.kind && a.outside == b.outside && a.inside == b.inside &&
         std::memcmp(&a.totals, &b.totals, sizeof(sl_stats)) == 0 && a.flow_table == b.flow_table &&
         a.pacer == b.pacer && a.table == b.table && a.policy == b.policy && a.levels == b.levels &&
         a.lcores == b.lcores;
}

void accumulate(sl_stats &a, const sl_stats &b) {
#define SLUICE_STATS_ADD_DIR(f) \
  for (int d = 0; d < 2; ++d) a.f[d] += b.f[d];
#define SLUICE_STATS_ADD(f) a.f += b.f;
  SLUICE_SL_STATS_BY_DIR(SLUICE_STATS_ADD_DIR)
  SLUICE_SL_STATS_SCALARS(SLUICE_STATS_ADD)
  for (int l = 0; l < SL_MAX_LEVELS; ++l) {
    sl_level_stats &al = a.level[l];
    const sl_level_stats &bl = b.level[l];
#define SLUICE_STATS_ADD_LEVEL(f) al.f += bl.f;
    SLUICE_SL_LEVEL_STATS(SLUICE_STATS_ADD_LEVEL)
#undef SLUICE_STATS_ADD_LEVEL
  }
#undef SLUICE_STATS_ADD
#undef SLUICE_STATS_ADD_DIR
}

json to_json(const DataplaneStats &s) {
  json j = json::object();
  j["kind"] = s.kind;
  j["outside"] = section_json(s.outside);
  j["inside"] = section_json(s.inside);
#define SLUICE_STATS_PUT_DIR(f) j[#f] = {{kDirKey[0], s.totals.f[0]}, {kDirKey[1], s.totals.f[1]}};
#define SLUICE_STATS_PUT_TOTAL(f) j[#f] = s.totals.f;
#define SLUICE_STATS_PUT_FLOWS(f) j[#f] = s.flow_table.f;
  SLUICE_SL_STATS_BY_DIR(SLUICE_STATS_PUT_DIR)
  SLUICE_SL_STATS_SCALARS(SLUICE_STATS_PUT_TOTAL)
  SLUICE_FLOW_TABLE_STATS(SLUICE_STATS_PUT_FLOWS)
#undef SLUICE_STATS_PUT_FLOWS
#undef SLUICE_STATS_PUT_TOTAL
#undef SLUICE_STATS_PUT_DIR
  j["pacer"] = section_json(s.pacer);
  j["table"] = section_json(s.table);
  j["policy"] = section_json(s.policy);
  json levels = json::array();
  for (size_t l = 0; l < s.levels.size() && l < SL_MAX_LEVELS; ++l)
    levels.push_back(level_json(static_cast<uint32_t>(l), s.levels[l], s.totals.level[l]));
  j["levels"] = std::move(levels);
  json lcores = json::array();
  for (const LcoreStats &c : s.lcores) lcores.push_back(section_json(c));
  j["lcores"] = std::move(lcores);
  return j;
}

DataplaneStats from_json(const json &j) {
  if (!j.is_object()) throw StatsFormatError("stats: not a JSON object");
  DataplaneStats s;
  const json &kind = need(j, "", "kind");
  if (!kind.is_string()) throw StatsFormatError("stats: \"kind\" is not a string");
  s.kind = kind.get<std::string>();
  section_parse(need(j, "", "outside"), "outside", s.outside);
  section_parse(need(j, "", "inside"), "inside", s.inside);
#define SLUICE_STATS_GET_DIR(f) \
  for (int d = 0; d < 2; ++d) s.totals.f[d] = need_u64(need(j, "", #f), #f, kDirKey[d]);
#define SLUICE_STATS_GET_TOTAL(f) s.totals.f = need_u64(j, "", #f);
#define SLUICE_STATS_GET_FLOWS(f) s.flow_table.f = need_u64(j, "", #f);
  SLUICE_SL_STATS_BY_DIR(SLUICE_STATS_GET_DIR)
  SLUICE_SL_STATS_SCALARS(SLUICE_STATS_GET_TOTAL)
  SLUICE_FLOW_TABLE_STATS(SLUICE_STATS_GET_FLOWS)
#undef SLUICE_STATS_GET_FLOWS
#undef SLUICE_STATS_GET_TOTAL
#undef SLUICE_STATS_GET_DIR
  section_parse(need(j, "", "pacer"), "pacer", s.pacer);
  section_parse(need(j, "", "table"), "table", s.table);
  section_parse(need(j, "", "policy"), "policy", s.policy);
  const json &levels = need_array(j, "levels");
  if (levels.size() > SL_MAX_LEVELS)
    throw StatsFormatError("stats: more than " + std::to_string(SL_MAX_LEVELS) + " levels");
  for (size_t l = 0; l < levels.size(); ++l) {
    s.levels.emplace_back();
    level_parse(levels[l], at("levels", l), l, s.levels.back(), s.totals.level[l]);
  }
  const json &lcores = need_array(j, "lcores");
  for (size_t i = 0; i < lcores.size(); ++i) {
    s.lcores.emplace_back();
    section_parse(lcores[i], at("lcores", i), s.lcores.back());
  }
  return s;
}

void for_each_counter(const DataplaneStats &s, const CounterFn &f) {
#define SLUICE_STATS_FLAT(prefix, s, field) f(prefix #field, s.field);
#define SLUICE_STATS_OUTSIDE(x) SLUICE_STATS_FLAT("outside_", s.outside, x)
#define SLUICE_STATS_INSIDE(x) SLUICE_STATS_FLAT("inside_", s.inside, x)
#define SLUICE_STATS_DIR(x)                               \
  f(#x "_from_outside", s.totals.x[SL_DIR_FROM_OUTSIDE]); \
  f(#x "_from_inside", s.totals.x[SL_DIR_FROM_INSIDE]);
#define SLUICE_STATS_TOTAL(x) SLUICE_STATS_FLAT("", s.totals, x)
#define SLUICE_STATS_FLOWS(x) SLUICE_STATS_FLAT("", s.flow_table, x)
#define SLUICE_STATS_PACER(x) SLUICE_STATS_FLAT("pacer_", s.pacer, x)
#define SLUICE_STATS_TABLE(x) SLUICE_STATS_FLAT("table_", s.table, x)
#define SLUICE_STATS_POLICY(x) SLUICE_STATS_FLAT("policy_", s.policy, x)
  SLUICE_PORT_STATS(SLUICE_STATS_OUTSIDE)
  SLUICE_PORT_STATS(SLUICE_STATS_INSIDE)
  SLUICE_SL_STATS_BY_DIR(SLUICE_STATS_DIR)
  SLUICE_SL_STATS_SCALARS(SLUICE_STATS_TOTAL)
  SLUICE_FLOW_TABLE_STATS(SLUICE_STATS_FLOWS)
  SLUICE_PACER_STATS(SLUICE_STATS_PACER)
  SLUICE_TABLE_STATS(SLUICE_STATS_TABLE)
  SLUICE_POLICY_STATS(SLUICE_STATS_POLICY)
#undef SLUICE_STATS_POLICY
#undef SLUICE_STATS_TABLE
#undef SLUICE_STATS_PACER
#undef SLUICE_STATS_FLOWS
#undef SLUICE_STATS_TOTAL
#undef SLUICE_STATS_DIR
#undef SLUICE_STATS_INSIDE
#undef SLUICE_STATS_OUTSIDE
#undef SLUICE_STATS_FLAT
}

void for_each_level_counter(const DataplaneStats &s, const CounterFn &f) {
  for (size_t l = 0; l < s.levels.size() && l < SL_MAX_LEVELS; ++l) {
    const std::string p = "level" + std::to_string(l) + "_";
    const sl_level_stats &c = s.totals.level[l];
#define SLUICE_STATS_LEVEL(x) f(p + #x, c.x);
    SLUICE_SL_LEVEL_STATS(SLUICE_STATS_LEVEL)
#undef SLUICE_STATS_LEVEL
  }
}

void for_each_lcore_counter(const DataplaneStats &s, const CounterFn &f) {
  for (const LcoreStats &c : s.lcores) {
    const std::string p = "queue" + std::to_string(c.queue) + "_";
    // `queue` names the lcore; every other field is a counter.
#define SLUICE_STATS_LCORE(x) \
  if (std::string_view(#x) != "queue") f(p + #x, c.x);
    SLUICE_LCORE_STATS(SLUICE_STATS_LCORE)
#undef SLUICE_STATS_LCORE
  }
}

}  // namespace sluice::stats
