// The heavy-hitter producer inside sluiced (control/sluiced/heavy/heavy_module.cc) with the local
// score model and in-memory data planes: an unlisted host the data planes report at 600 SYN/min
// (summed over both) reaches both data planes' tables with a shaping score, by itself; a host at
// 30 SYN/min never does; a rate reported poll after poll is a gauge, not a growing sum; a data
// plane that is down or answers hostile entries changes nothing else.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "control/run_sluicectl.h"
#include "daemon/daemon.h"
#include "running_daemon_fixture.h"
#include "metrics/exposition.h"
#include "obs/obs_explain.h"
#include "sluice/reputation/address.h"

namespace sluice::sluiced {
namespace {

namespace rep = sluice::reputation;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr uint64_t kMinuteNs = 60000000000;

control::HeavySender per_minute(std::string prefix, uint64_t syns) {
  control::HeavySender s;
  s.prefix = std::move(prefix);
  s.syns = syns;
  s.window_ns = kMinuteNs;
  return s;
}

class HeavyDaemonTest : public testing::RunningDaemonFixture {
 protected:
  void SetUp() override {
    RunningDaemonFixture::SetUp();
    write_sources("[drop]\ntype = list\npath = drop.txt\nweight = 10\n");
    dir.write("drop.txt", "198.18.0.0/16\n");
    ini = "[heavy_hitters]\npoll_interval = 100ms\n[learning]\nstep = 100ms\n";
    for (auto &[spec, dp] : dps) dp->heavy = std::vector<control::HeavySender>{};
  }
  void start() { RunningDaemonFixture::start({"heavy_hitters", "learning"}); }
  // The data planes' answers, changed between polls (on the loop: the poll reads them there).
  void answer(const std::string &spec, std::optional<std::vector<control::HeavySender>> a) {
    on_loop([&] {
      dps[spec]->heavy = std::move(a);
      return 0;
    });
  }
  size_t asked(const std::string &spec) {
    return on_loop([&] { return dps[spec]->heavy_asked; });
  }
  // Waits for `n` more polls of `spec` (the bound only ends a hang).
  bool polls(const std::string &spec, size_t n) {
    const size_t until = asked(spec) + n;
    return wait_for([&] { return asked(spec) >= until; });
  }
};

TEST_F(HeavyDaemonTest, AnUnlistedHeavyHostIsShapedByItselfAndASlowOneNever) {
  start();
  answer("fake:a", {{per_minute("198.19.0.7/32", 300), per_minute("198.19.0.30/32", 30)}});
  answer("fake:b", {{per_minute("198.19.0.7/32", 300)}});
  // 300 + 300 SYN/min: +6 (the default conn_rate weight, 0.01 per SYN/min), in both data planes.
  ASSERT_TRUE(wait_for([&] { return score("fake:a", "198.19.0.7") == 6; }));
  ASSERT_TRUE(wait_for([&] { return score("fake:b", "198.19.0.7") == 6; }));
  // The same rate poll after poll is one rate (a gauge), not a growing sum.
  ASSERT_TRUE(polls("fake:a", 5));
  EXPECT_EQ(score("fake:a", "198.19.0.7"), 6);
  EXPECT_EQ(score("fake:b", "198.19.0.7"), 6);
  // 30 SYN/min: below min_rate, never observed, never scored.
  EXPECT_EQ(score("fake:a", "198.19.0.30"), 0);
  const json x = call({{"cmd", "learn explain"}, {"addr", "198.19.0.30"}});
  EXPECT_TRUE(x["kinds"].empty());
  // What the operator sees.
  const auto text = sluice::testing::run_sluicectl(
      {"--daemon", cfg.socket, "learn", "explain", "198.19.0.7"}, dir.path());
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, ::testing::ContainsRegex(
                            "conn_rate: 600 SYN/min at 20[0-9-]+ [0-9:]+ UTC from dp \\(600 "
                            "SYN/min on fake:a \\+ fake:b\\), now 600, \\+6, halves every 30m\n"));
  EXPECT_TRUE(
      logged("heavy hitters: 198.19.0.7 600 SYN/min on fake:a + fake:b (conn_rate "
             "observed)"));
  const json st = call({{"cmd", "status"}});
  const json &h = st["modules"]["heavy_hitters"];
  EXPECT_TRUE(h["enabled"]);
  ASSERT_EQ(h["hosts"].size(), 1u);
  EXPECT_EQ(h["hosts"][0]["prefix"], "198.19.0.7");
  EXPECT_EQ(h["hosts"][0]["syns_per_minute"], 600.0);
}

TEST_F(HeavyDaemonTest, ADataplaneDownOrHostileChangesNothingElse) {
  start();
  on_loop([&] {
    dps["fake:a"]->down = true;
    return 0;
  });
  answer("fake:b", {{per_minute("198.19.0.8/32", 412), per_minute("198.19.0.9/33", 9000),
                     per_minute("198.19.0.0/24", 9000), per_minute("::/0", 9000),
                     control::HeavySender{"198.19.0.10/32", UINT64_MAX, 1},
                     control::HeavySender{"198.19.0.11/32", 5, 0}}});
  ASSERT_TRUE(wait_for([&] { return score("fake:b", "198.19.0.8") == 4; }));
  ASSERT_TRUE(polls("fake:b", 3));
  // Only the one good host is in the table: the refused entries and the network added nothing.
  for (const char *a : {"198.19.0.9", "198.19.0.10", "198.19.0.11", "198.19.0.1", "2001:2::1"})
    EXPECT_EQ(score("fake:b", a), 0) << a;
  const json st = call({{"cmd", "status"}});
  const json &h = st["modules"]["heavy_hitters"];
  EXPECT_FALSE(h["dataplanes"][0]["answering"]);
  EXPECT_GE(h["dataplanes"][0]["failures"].get<int>(), 1);
  EXPECT_TRUE(h["dataplanes"][1]["answering"]);
  EXPECT_GE(h["refused"]["bad_prefix"].get<int>(), 2);
  EXPECT_GE(h["refused"]["absurd_rate"].get<int>(), 1);
  EXPECT_GE(h["refused"]["bad_window"].get<int>(), 1);
  ASSERT_EQ(h["networks"].size(), 1u);
  EXPECT_EQ(h["networks"][0]["prefix"], "198.19.0.0/24");
  EXPECT_TRUE(logged("heavy hitters: fake:a: fake:a: cannot connect (down)"));
  const std::string m = metrics();
  EXPECT_THAT(m, HasSubstr("sluiced_heavy_dataplane_answering{dataplane=\"fake:a\"} 0\n"));
  EXPECT_THAT(m, HasSubstr("sluiced_heavy_senders{scope=\"network\",family=\"ipv4\"} 1\n"));
  EXPECT_THAT(m, ::testing::ContainsRegex(
                     "sluiced_heavy_entries_refused_total\\{reason=\"bad_window\"\\} [1-9]"));
  // fake:a comes back: one line, and it is asked again.
  on_loop([&] {
    dps["fake:a"]->down = false;
    return 0;
  });
  EXPECT_TRUE(wait_for([&] { return logged("heavy hitters: fake:a answers again"); }));
}

TEST_F(HeavyDaemonTest, OffAsksNothing) {
  ini = "[heavy_hitters]\nenabled = false\n";
  start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(asked("fake:a"), 0u);
  EXPECT_FALSE(call({{"cmd", "status"}})["modules"]["heavy_hitters"]["enabled"]);
}

}  // namespace
}  // namespace sluice::sluiced
