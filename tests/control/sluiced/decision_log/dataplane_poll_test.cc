// One decision-log poll through a DataplaneClient: the lines reach the sink, a failing data
// plane is reported (nothing logged, nothing thrown), a reply of `limit` flows counts as cut.
#include "sluiced/decision_log/dataplane_poll.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace sluice::sluiced::decision_log {
namespace {

class FakeDataplane : public control::DataplaneClient {
 public:
  std::vector<control::DataplaneFlow> all;
  bool broken = false;
  size_t asked = 0;
  std::string describe() const override { return "dpdk:/fake.sock"; }
  control::TableChange load_table(const std::string &) override { return {}; }
  control::TableChange apply_delta(const std::string &) override { return {}; }
  uint32_t set_policy(const std::string &) override { return 0; }
  control::DataplaneStats stats() override {
    if (broken) throw control::DataplaneError("dpdk:/fake.sock: no reply within 2000 ms");
    control::DataplaneStats s;
    s.levels = {{"pass", 0}, {"throttle", 3}};
    return s;
  }
  std::vector<control::DataplaneFlow> flows(size_t limit) override {
    asked = limit;
    return {all.begin(), all.begin() + static_cast<long>(std::min(limit, all.size()))};
  }
};

class MemorySink : public LogSink {
 public:
  std::vector<std::string> lines;
  void write(const LogLine &l) override { lines.push_back(l.message); }
  std::string describe() const override { return "memory"; }
};

control::DataplaneFlow flow(uint16_t port) {
  control::DataplaneFlow f;
  f.client = "198.18.0.20";
  f.server = "198.18.1.2";
  f.client_port = port;
  f.server_port = 25;
  f.level = 1;
  return f;
}

DecisionLogConfig generous() {
  DecisionLogConfig c;
  c.limits.per_sender_rate = c.limits.overall_rate = 1000;
  c.limits.per_sender_burst = c.limits.overall_burst = 1000;
  return c;
}

TEST(DataplanePoll, NewFlowsReachTheSinkOnce) {
  FakeDataplane dp;
  dp.all = {flow(1), flow(2)};
  DecisionLog log(generous(), nullptr, Clock::time_point{});
  MemorySink sink;
  const PollResult r = poll_dataplane(dp, log, sink, 10, Clock::time_point{});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.flows, 2u);
  EXPECT_EQ(r.lines, 2u);
  ASSERT_TRUE(r.stats.has_value());
  ASSERT_EQ(sink.lines.size(), 2u);
  EXPECT_EQ(sink.lines[0].rfind("SHAPE [198.18.0.20]:1 to [198.18.1.2]:25: level throttle", 0), 0u);
  EXPECT_EQ(poll_dataplane(dp, log, sink, 10, Clock::time_point{}).lines, 0u);
  EXPECT_EQ(dp.asked, 10u);
}

TEST(DataplanePoll, AFailingDataplaneIsReportedNotThrown) {
  FakeDataplane dp;
  dp.broken = true;
  DecisionLog log(generous(), nullptr, Clock::time_point{});
  MemorySink sink;
  const PollResult r = poll_dataplane(dp, log, sink, 10, Clock::time_point{});
  EXPECT_NE(r.error.find("no reply"), std::string::npos);
  EXPECT_TRUE(sink.lines.empty());
  EXPECT_FALSE(r.stats.has_value());
}

TEST(DataplanePoll, AReplyCutAtTheLimitKeepsWhatItCannotSee) {
  FakeDataplane dp;
  dp.all = {flow(1), flow(2), flow(3)};
  DecisionLog log(generous(), nullptr, Clock::time_point{});
  MemorySink sink;
  EXPECT_EQ(poll_dataplane(dp, log, sink, 3, Clock::time_point{}).lines, 3u);
  // Cut at 2: flow 3 is not in the reply but may still exist: it must not be logged again later.
  EXPECT_EQ(poll_dataplane(dp, log, sink, 2, Clock::time_point{}).lines, 0u);
  EXPECT_EQ(poll_dataplane(dp, log, sink, 3, Clock::time_point{}).lines, 0u);
}

}  // namespace
}  // namespace sluice::sluiced::decision_log
