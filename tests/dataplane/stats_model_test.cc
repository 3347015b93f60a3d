// The data planes' stats model (dataplane/common/dp_stats.h): JSON round trip, the parser's
// refusals, the flat names telemetry shows, and the documented keys (stats_keys.h).
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "dp_stats.h"
#include "common/stats_keys.h"

namespace sluice::stats {
namespace {

using nlohmann::json;

// Every field a distinct value, so a field rendered or parsed into the wrong place shows.
DataplaneStats filled(size_t nlevels, size_t nlcores) {
  DataplaneStats s;
  s.kind = "dpdk";
  uint64_t v = 1;
  auto *t = reinterpret_cast<__u64 *>(&s.totals);
  for (size_t i = 0; i < sizeof(sl_stats) / sizeof(__u64); ++i) t[i] = v++;
  // Counters of levels the policy does not have are not rendered: keep them zero.
  for (size_t l = nlevels; l < SL_MAX_LEVELS; ++l) s.totals.level[l] = {};
#define FILL(f) x.f = v++;
  {
    auto &x = s.outside;
    SLUICE_PORT_STATS(FILL)
  }
  {
    auto &x = s.inside;
    SLUICE_PORT_STATS(FILL)
  }
  {
    auto &x = s.flow_table;
    SLUICE_FLOW_TABLE_STATS(FILL)
  }
  {
    auto &x = s.pacer;
    SLUICE_PACER_STATS(FILL)
  }
  {
    auto &x = s.table;
    SLUICE_TABLE_STATS(FILL)
  }
  {
    auto &x = s.policy;
    SLUICE_POLICY_STATS(FILL)
  }
  for (size_t i = 0; i < nlcores; ++i) {
    LcoreStats x;
    SLUICE_LCORE_STATS(FILL)
    s.lcores.push_back(x);
  }
#undef FILL
  for (size_t l = 0; l < nlevels; ++l)
    s.levels.push_back({"level-" + std::to_string(l), static_cast<int32_t>(l) * 3 - 4});
  return s;
}

TEST(StatsModel, JsonRoundTripGivesTheSameStruct) {
  for (size_t levels : {size_t{1}, size_t{3}, size_t{SL_MAX_LEVELS}}) {
    const DataplaneStats s = filled(levels, levels == 1 ? 0 : 2);
    const json j = to_json(s);
    EXPECT_TRUE(from_json(j) == s) << j.dump(1);
    // Through text as well, as the control socket and sluicectl --json carry it.
    EXPECT_TRUE(from_json(json::parse(j.dump())) == s);
  }
}

TEST(StatsModel, EveryCounterOfTheCoreStructIsRendered) {
  // A distinct value per sl_stats word: each must appear in the JSON exactly where the
  // equality above reads it back, so a field missing from the list would lose its value.
  const DataplaneStats s = filled(SL_MAX_LEVELS, 0);
  DataplaneStats back = from_json(to_json(s));
  EXPECT_EQ(std::memcmp(&back.totals, &s.totals, sizeof(sl_stats)), 0);
  back.totals.lookups += 1;
  EXPECT_FALSE(back == s) << "the comparison sees sl_stats";
}

TEST(StatsModel, KeysAreTheDocumentedOnes) {
  const json j = to_json(filled(2, 2));
  EXPECT_EQ(testing::stats_json_keys(j), testing::documented_stats_keys(true));
  EXPECT_EQ(testing::stats_json_keys(to_json(filled(2, 0))), testing::documented_stats_keys(false));
}

TEST(StatsModel, TelemetryNamesAreTheJsonPathsFlattened) {
  const DataplaneStats s = filled(3, 2);
  const json j = to_json(s);
  std::set<std::string> flat;
  for_each_counter(s, [&](std::string_view name, uint64_t v) {
    EXPECT_TRUE(flat.insert(std::string(name)).second) << name << " twice";
    // The value is the JSON's at the same path (first '_' splits section and field where the
    // JSON nests an object).
    const std::string n(name);
    bool found = false;
    if (j.contains(n) && j[n].is_number()) found = j[n].get<uint64_t>() == v;
    for (const auto &[k, sub] : j.items()) {
      if (!sub.is_object() || n.rfind(k + "_", 0) != 0) continue;
      const std::string field = n.substr(k.size() + 1);
      if (sub.contains(field)) found = found || sub[field].get<uint64_t>() == v;
    }
    EXPECT_TRUE(found) << name << " = " << v << " is not in the JSON";
  });
  std::set<std::string> want;  // the documented leaves, but the per-level and per-lcore lists
  const std::set<std::string> keys = testing::documented_stats_keys(false);
  for (const std::string &k : keys) {
    if (k == "kind" || k.rfind("levels", 0) == 0 || k.rfind("lcores", 0) == 0) continue;
    const auto next = keys.upper_bound(k);
    if (next != keys.end() && next->rfind(k + ".", 0) == 0) continue;  // an object
    std::string f = k;
    for (char &c : f)
      if (c == '.') c = '_';
    want.insert(f);
  }
  EXPECT_EQ(flat, want);

  std::set<std::string> levels;
  for_each_level_counter(
      s, [&](std::string_view name, uint64_t) { levels.insert(std::string(name)); });
  EXPECT_EQ(levels.size(), 3u * 7);  // 3 levels x 7 counters (sl_level_stats)
  EXPECT_TRUE(levels.count("level2_rst_sent"));
  std::set<std::string> lcores;
  for_each_lcore_counter(s, [&](std::string_view name, uint64_t v) {
    lcores.insert(std::string(name));
    if (name == "queue" + std::to_string(s.lcores[1].queue) + "_smtp") {
      EXPECT_EQ(v, s.lcores[1].smtp);
    }
  });
  EXPECT_EQ(lcores.size(), 2u * 7) << "every lcore field but its queue number";
}

TEST(StatsModel, AccumulateAddsEveryCounter) {
  const DataplaneStats a = filled(SL_MAX_LEVELS, 0);
  sl_stats sum{};
  accumulate(sum, a.totals);
  accumulate(sum, a.totals);
  const auto *x = reinterpret_cast<const __u64 *>(&a.totals);
  const auto *y = reinterpret_cast<const __u64 *>(&sum);
  for (size_t i = 0; i < sizeof(sl_stats) / sizeof(__u64); ++i) EXPECT_EQ(y[i], 2 * x[i]) << i;
}

TEST(StatsModel, ParserRefusesMissingOrMistypedKeysByName) {
  const json good = to_json(filled(2, 1));
  auto refusal = [](const json &j) -> std::string {
    try {
      from_json(j);
    } catch (const StatsFormatError &e) {
      return e.what();
    }
    return "accepted";
  };
  json j = good;
  j.erase("lookups");
  EXPECT_EQ(refusal(j), "stats: missing \"lookups\"");
  j = good;
  j["outside"]["rx"] = -1;
  EXPECT_EQ(refusal(j), "stats: \"outside.rx\" is not a non-negative integer");
  j = good;
  j["pacer"]["depth"] = "12";
  EXPECT_EQ(refusal(j), "stats: \"pacer.depth\" is not a non-negative integer");
  j = good;
  j["table"] = 5;
  EXPECT_EQ(refusal(j), "stats: \"table\" is not an object");
  j = good;
  j["levels"][1].erase("syns");
  EXPECT_EQ(refusal(j), "stats: missing \"levels[1].syns\"");
  j = good;
  j["levels"][1]["level"] = 0;
  EXPECT_EQ(refusal(j), "stats: \"levels[1].level\" is not 1");
  j = good;
  j["levels"][0]["threshold"] = int64_t{1} << 40;
  EXPECT_EQ(refusal(j), "stats: \"levels[0].threshold\" is not a 32-bit integer");
  j = good;
  j["levels"] = json::array();
  for (int i = 0; i <= SL_MAX_LEVELS; ++i) j["levels"].push_back(good["levels"][0]);
  EXPECT_NE(refusal(j).find("more than"), std::string::npos);
  j = good;
  j["lcores"] = json::object();
  EXPECT_EQ(refusal(j), "stats: \"lcores\" is not a list");
  EXPECT_EQ(refusal(json::array()), "stats: not a JSON object");
  EXPECT_EQ(refusal(json()), "stats: not a JSON object");
  j = good;
  j["a_newer_counter"] = 7;  // a newer data plane's extra key: ignored
  EXPECT_EQ(refusal(j), "accepted");
}

}  // namespace
}  // namespace sluice::stats
