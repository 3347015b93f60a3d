// The decision log's logic: one line per new shaped connection, the wording, the memory of what
// was logged, blocked attempts from the counters, the explanation, hostile text.
#include "sluiced/decision_log/decision_log.h"

#include <gtest/gtest.h>

#include "sluiced/decision_log/flow_memory.h"

namespace sluice::sluiced::decision_log {
namespace {

using control::DataplaneFlow;
using std::chrono::seconds;

DataplaneFlow flow(const std::string &client, uint16_t port, uint32_t level, uint64_t created = 1) {
  DataplaneFlow f;
  f.client = client;
  f.server = "198.18.1.2";
  f.client_port = port;
  f.server_port = 25;
  f.level = level;
  f.created_ns = created;
  return f;
}

control::DataplaneStats three_levels() {
  control::DataplaneStats s;
  s.levels = {{"pass", 0}, {"throttle", 3}, {"tarpit", 8}, {"block", 12}};
  return s;
}

std::optional<SenderVerdict> explain_all(const std::string &addr) {
  if (addr == "198.18.0.10") return SenderVerdict{12, false, false, {{"dnsbl", 3}, {"drop", 9}}};
  return std::nullopt;
}

DecisionLogConfig generous() {
  DecisionLogConfig c;
  c.limits.per_sender_rate = 1000;
  c.limits.per_sender_burst = 1000;
  c.limits.overall_rate = 1000;
  c.limits.overall_burst = 1000;
  return c;
}

TEST(DecisionLog, OneLinePerNewShapedConnectionInPostscreenWords) {
  const Clock::time_point t0{};
  DecisionLog log(generous(), explain_all, t0);
  log.set_level_actions({Action::shape, Action::shape, Action::tarpit, Action::block});
  const auto stats = three_levels();
  const auto lines =
      log.observe("dpdk:/run/sluice/sluice-dp.sock",
                  {flow("198.18.0.10", 40112, 2), flow("198.18.0.11", 40113, 1)}, true, &stats, t0);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].message,
            "TARPIT [198.18.0.10]:40112 to [198.18.1.2]:25: level tarpit, score 12 (dnsbl +3, drop "
            "+9), data plane dpdk:/run/sluice/sluice-dp.sock");
  EXPECT_EQ(lines[1].message,
            "SHAPE [198.18.0.11]:40113 to [198.18.1.2]:25: level throttle, score unknown, data "
            "plane dpdk:/run/sluice/sluice-dp.sock");
  // The journal's fields carry the same facts.
  const auto &f = lines[0].fields;
  auto field = [&](const std::string &k) {
    for (const auto &[n, v] : f)
      if (n == k) return v;
    return std::string("<absent>");
  };
  EXPECT_EQ(field("SLUICE_SENDER"), "198.18.0.10");
  EXPECT_EQ(field("SLUICE_SCORE"), "12");
  EXPECT_EQ(field("SLUICE_LEVEL"), "tarpit");
  EXPECT_EQ(field("SLUICE_SOURCES"), "dnsbl +3, drop +9");
  EXPECT_EQ(field("SLUICE_ACTION"), "TARPIT");
}

// A level in observe mode decides and counts but forwards unchanged: its lines say so, in
// the message and in the journal's fields, so a dry run never reads as enforcement.
TEST(DecisionLog, AnObservingLevelsLinesSayItForwardedUnchanged) {
  const Clock::time_point t0{};
  DecisionLog log(generous(), nullptr, t0);
  log.set_level_actions({Action::shape, Action::shape, Action::tarpit, Action::block},
                        {false, false, true, false});
  const auto stats = three_levels();
  const auto lines = log.observe(
      "xdp:a", {flow("198.18.0.10", 40112, 2), flow("198.18.0.11", 40113, 1)}, true, &stats, t0);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].message,
            "TARPIT [198.18.0.10]:40112 to [198.18.1.2]:25: level tarpit (observe: forwarded "
            "unchanged), score unknown, data plane xdp:a");
  EXPECT_EQ(lines[1].message,
            "SHAPE [198.18.0.11]:40113 to [198.18.1.2]:25: level throttle, score unknown, data "
            "plane xdp:a");
  auto has_observe = [](const LogLine &l) {
    for (const auto &[n, v] : l.fields)
      if (n == "SLUICE_OBSERVE") return v == "1";
    return false;
  };
  EXPECT_TRUE(has_observe(lines[0]));
  EXPECT_FALSE(has_observe(lines[1]));
}

TEST(DecisionLog, AConnectionIsLoggedOnceWhilePollsKeepSeeingIt) {
  const Clock::time_point t0{};
  DecisionLog log(generous(), nullptr, t0);
  const std::vector<DataplaneFlow> flows = {flow("198.18.0.10", 40112, 1)};
  EXPECT_EQ(log.observe("xdp:a", flows, true, nullptr, t0).size(), 1u);
  EXPECT_EQ(log.observe("xdp:a", flows, true, nullptr, t0 + seconds(1)).size(), 0u);
  // The same 4-tuple created again (a reused port) is a new connection.
  EXPECT_EQ(log.observe("xdp:a", {flow("198.18.0.10", 40112, 1, 99)}, true, nullptr, t0).size(),
            1u);
  // The same connection on another data plane is that data plane's.
  EXPECT_EQ(log.observe("xdp:b", flows, true, nullptr, t0).size(), 1u);
  EXPECT_EQ(log.logged(), 3u);
}

TEST(DecisionLog, UnshapedFlowsAreNotLogged) {
  const Clock::time_point t0{};
  DecisionLog log(generous(), nullptr, t0);
  EXPECT_TRUE(log.observe("xdp:a", {flow("198.18.0.10", 1, 0)}, true, nullptr, t0).empty());
}

TEST(DecisionLog, BlockedAttemptsComeFromTheLevelCountersSinceTheLastPoll) {
  const Clock::time_point t0{};
  DecisionLog log(generous(), nullptr, t0);
  log.set_level_actions({Action::shape, Action::shape, Action::tarpit, Action::block});
  auto s = three_levels();
  s.totals.level[3].syns = 40;  // before the daemon looked: the baseline, not logged
  s.totals.level[1].syns = 5;
  s.totals.level[1].flows = 5;
  EXPECT_TRUE(log.observe("dpdk:x", {}, true, &s, t0).empty());
  s.totals.level[3].syns = 43;
  s.totals.level[1].syns = 7;  // two SYNs, one flow: a full flow table, not a block level
  s.totals.level[1].flows = 6;
  const auto lines = log.observe("dpdk:x", {}, true, &s, t0 + seconds(1));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].message,
            "BLOCK 3 connection attempts at level block: senders not recorded (a blocked SYN "
            "keeps no state), data plane dpdk:x");
  EXPECT_TRUE(log.observe("dpdk:x", {}, true, &s, t0 + seconds(2)).empty());
  // A data plane that restarted (counters went down) sets a new baseline.
  s.totals.level[3].syns = 2;
  EXPECT_TRUE(log.observe("dpdk:x", {}, true, &s, t0 + seconds(3)).empty());
  s.totals.level[3].syns = 4;
  EXPECT_EQ(log.observe("dpdk:x", {}, true, &s, t0 + seconds(4)).size(), 1u);
}

TEST(DecisionLog, RateLimitedPerSenderWithASummaryOfWhatWasSuppressed) {
  const Clock::time_point t0{};
  DecisionLogConfig c;
  c.limits.per_sender_rate = 1;
  c.limits.per_sender_burst = 2;
  c.limits.summary_interval = seconds(10);
  DecisionLog log(c, nullptr, t0);
  std::vector<DataplaneFlow> flows;
  for (uint16_t p = 1; p <= 10; ++p) flows.push_back(flow("198.18.0.66", p, 1));
  flows.push_back(flow("198.18.0.67", 1, 1));
  const auto lines = log.observe("xdp:a", flows, true, nullptr, t0);
  EXPECT_EQ(lines.size(), 3u);  // two of .66, one of .67
  EXPECT_EQ(log.suppressed(), 8u);
  EXPECT_FALSE(log.summary(t0 + seconds(5)).has_value());
  const auto s = log.summary(t0 + seconds(10));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->message,
            "SUPPRESSED 8 decision log lines in the last 10 s (limits: 1/s per sender, 50/s "
            "overall)");
}

TEST(DecisionLog, ControlBytesInReportedTextCannotForgeALine) {
  const Clock::time_point t0{};
  DecisionLog log(
      generous(),
      [](const std::string &) {
        return SenderVerdict{1, false, false, {{"evil\nSHAPE fake", 1}}};
      },
      t0);
  auto stats = three_levels();
  stats.levels[1].name = "thr\rottle";
  const auto lines = log.observe("dpdk:x\n", {flow("198.18.0.1\n", 1, 1)}, true, &stats, t0);
  ASSERT_EQ(lines.size(), 1u);
  for (char c : lines[0].message) EXPECT_GE(static_cast<unsigned char>(c), 0x20u);
  for (const auto &[k, v] : lines[0].fields)
    for (char c : v) EXPECT_GE(static_cast<unsigned char>(c), 0x20u) << k;
}

TEST(FlowMemory, ForgetsWhatACompletePollNoLongerShows) {
  FlowMemory m(100);
  m.begin_poll();
  EXPECT_TRUE(m.seen(flow("a", 1, 1)));
  EXPECT_TRUE(m.seen(flow("b", 1, 1)));
  m.end_poll(true);
  m.begin_poll();
  EXPECT_FALSE(m.seen(flow("a", 1, 1)));
  m.end_poll(false);  // cut at the limit: b may still exist, kept
  EXPECT_EQ(m.size(), 2u);
  m.begin_poll();
  EXPECT_FALSE(m.seen(flow("a", 1, 1)));
  m.end_poll(true);  // b is gone
  EXPECT_EQ(m.size(), 1u);
}

TEST(FlowMemory, HoldsAtMostItsCapacityForgettingTheOldest) {
  FlowMemory m(3);
  m.begin_poll();
  for (uint16_t p = 0; p < 1000; ++p) m.seen(flow("a", p, 1));
  m.end_poll(false);
  EXPECT_EQ(m.size(), 3u);
  m.begin_poll();
  EXPECT_FALSE(m.seen(flow("a", 999, 1)));  // the newest are kept
  EXPECT_TRUE(m.seen(flow("a", 0, 1)));     // the oldest were forgotten
  m.end_poll(false);
}

}  // namespace
}  // namespace sluice::sluiced::decision_log
