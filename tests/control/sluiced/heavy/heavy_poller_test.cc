// The heavy-hitter poller (control/sluiced/heavy/heavy_poller.h) against in-memory data planes:
// the same prefix from several planes is summed, min_rate decides, a throwing plane is counted
// and logged once per state change and never stops the others, a poll is bounded, hostile
// answers are refused and counted, networks are reported and never observed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tuple>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fake_dataplane.h"
#include "heavy/heavy_poller.h"
#include "sluice/reputation/address.h"

namespace sluice::sluiced::heavy {
namespace {

namespace rep = sluice::reputation;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint64_t kMinute = 60000000000;  // ns

control::HeavySender per_minute(std::string prefix, uint64_t syns) {
  control::HeavySender s;
  s.prefix = std::move(prefix);
  s.syns = syns;
  s.window_ns = kMinute;
  return s;
}

class HeavyPollerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char *spec : {"fake:a", "fake:b"})
      dps[spec] = std::make_shared<sluiced::testing::FakeDataplane>();
  }
  ClientFactory factory() {
    return [this](const std::string &spec) {
      ++connects[spec];
      return std::make_unique<sluiced::testing::FakeClient>(spec, dps.at(spec));
    };
  }
  std::unique_ptr<HeavyPoller> poller(HeavySettings s = {}) {
    return std::make_unique<HeavyPoller>(s, std::vector<std::string>{"fake:a", "fake:b"},
                                         factory());
  }
  PollResult poll(HeavyPoller &p) {
    now += milliseconds(1000);
    return p.poll(now, std::chrono::system_clock::time_point(milliseconds(1764000000000)));
  }
  // address text -> count (SYN/min) of the observations.
  static std::map<std::string, uint32_t> observed(const PollResult &r) {
    std::map<std::string, uint32_t> out;
    for (const auto &o : r.observations) {
      EXPECT_EQ(o.kind, LocalKind::kConnRate);
      EXPECT_EQ(o.origin, "dp");
      out[rep::format_ip(o.subject)] = o.count;
    }
    return out;
  }

  std::map<std::string, std::shared_ptr<sluiced::testing::FakeDataplane>> dps;
  std::map<std::string, int> connects;
  Clock::time_point now{};
};

TEST_F(HeavyPollerTest, TheSamePrefixFromSeveralDataplanesIsSummed) {
  dps["fake:a"]->heavy = {per_minute("198.18.0.7/32", 412), per_minute("2001:2::9/128", 200)};
  dps["fake:b"]->heavy = {per_minute("198.18.0.7/32", 200), per_minute("198.18.0.8/32", 150)};
  auto p = poller();
  const PollResult r = poll(*p);
  EXPECT_EQ(observed(r), (std::map<std::string, uint32_t>{
                             {"198.18.0.7", 612}, {"198.18.0.8", 150}, {"2001:2::9", 200}}));
  // Heaviest first, with where it was seen.
  ASSERT_EQ(r.observations.size(), 3u);
  EXPECT_EQ(r.observations[0].evidence, "612 SYN/min on fake:a + fake:b");
  EXPECT_EQ(r.observations[1].evidence, "200 SYN/min on fake:a");
  EXPECT_EQ(r.observations[2].evidence, "150 SYN/min on fake:b");
  EXPECT_EQ(r.answered, 2u);
  EXPECT_EQ(p->observations(), 3u);
  EXPECT_EQ(dps["fake:a"]->heavy_asked, 1u);
}

TEST_F(HeavyPollerTest, MinRateDecidesAfterSumming) {
  HeavySettings s;
  s.min_rate = 120;
  dps["fake:a"]->heavy = {per_minute("198.18.0.1/32", 120), per_minute("198.18.0.2/32", 119),
                          per_minute("198.18.0.3/32", 30), per_minute("198.18.0.4/32", 60)};
  dps["fake:b"]->heavy = {per_minute("198.18.0.4/32", 60), per_minute("198.18.0.5/32", 0)};
  auto p = poller(s);
  // At min_rate counts; below it does not; two planes' 60 make 120.
  EXPECT_EQ(observed(poll(*p)),
            (std::map<std::string, uint32_t>{{"198.18.0.1", 120}, {"198.18.0.4", 120}}));
}

TEST_F(HeavyPollerTest, AThrowingDataplaneIsCountedLoggedOncePerChangeAndNeverStopsTheOthers) {
  dps["fake:a"]->down = true;                                 // cannot connect
  dps["fake:b"]->heavy = {per_minute("198.18.0.7/32", 600)};  // answers
  HeavySettings s;
  s.poll_interval = milliseconds(1000);
  auto p = poller(s);
  PollResult r = poll(*p);
  EXPECT_EQ(observed(r), (std::map<std::string, uint32_t>{{"198.18.0.7", 600}}));
  ASSERT_EQ(r.notices.size(), 2u);  // a's failure, b's heavy host
  EXPECT_THAT(r.notices[0], HasSubstr("heavy hitters: fake:a: fake:a: cannot connect (down)"));
  EXPECT_FALSE(p->planes()[0].answering);
  EXPECT_EQ(p->planes()[0].failures, 1u);
  // Still down: counted at its retries (back-off: 1 s, then 2 s, then 4 s), not logged again.
  size_t more_notices = 0;
  for (int i = 0; i < 8; ++i) more_notices += poll(*p).notices.size();
  EXPECT_EQ(more_notices, 0u);
  EXPECT_EQ(p->planes()[0].failures, 4u);  // asked 1 s, 3 s and 7 s after the first failure
  EXPECT_EQ(p->planes()[1].polls, 9u);     // b every poll
  // It comes back, and then fails in another way (it does not count heavy senders): one line
  // each.
  dps["fake:a"]->down = false;
  dps["fake:a"]->heavy = std::vector<control::HeavySender>{};
  std::vector<std::string> notices;
  for (int i = 0; i < 20; ++i)
    for (auto &n : poll(*p).notices) notices.push_back(n);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0], "heavy hitters: fake:a answers again");
  EXPECT_TRUE(p->planes()[0].answering);
  dps["fake:a"]->heavy.reset();
  notices.clear();
  for (int i = 0; i < 20; ++i)
    for (auto &n : poll(*p).notices) notices.push_back(n);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_THAT(notices[0], HasSubstr("fake:a: fake:a: this data plane does not count heavy SYN "
                                    "senders"));
  EXPECT_EQ(p->planes()[0].error, "fake:a: this data plane does not count heavy SYN senders");
  // b answered every poll throughout.
  EXPECT_EQ(p->planes()[1].failures, 0u);
  EXPECT_EQ(p->planes()[1].polls, 49u);
}

TEST_F(HeavyPollerTest, APollIsBoundedWhateverADataplaneAnswers) {
  HeavySettings s;
  s.max_per_poll = 16;
  // More than asked for, from both: a broken or hostile data plane.
  for (const char *spec : {"fake:a", "fake:b"}) {
    std::vector<control::HeavySender> flood;
    const std::string net = spec == std::string("fake:a") ? "198.18." : "198.19.";
    for (int i = 0; i < 1000; ++i)
      flood.push_back(
          per_minute(net + std::to_string(i / 256) + "." + std::to_string(i % 256) + "/32",
                     static_cast<uint64_t>(10000 - i)));
    dps[spec]->heavy = flood;
  }
  auto p = poller(s);
  const PollResult r = poll(*p);
  EXPECT_EQ(p->refused()[static_cast<size_t>(Refusal::kOverLimit)], 2u * (1000 - 16));
  // 32 hosts believed, the heaviest 16 observed: 8 of each plane's.
  ASSERT_EQ(r.observations.size(), 16u);
  EXPECT_EQ(rep::format_ip(r.observations[0].subject), "198.18.0.0");
  EXPECT_EQ(r.observations[0].count, 10000u);
  EXPECT_EQ(rep::format_ip(r.observations[1].subject), "198.19.0.0");
  EXPECT_EQ(rep::format_ip(r.observations[15].subject), "198.19.0.7");
  EXPECT_EQ(r.observations[15].count, 9993u);
  EXPECT_EQ(r.hosts.size(), 16u);
}

TEST_F(HeavyPollerTest, HostileEntriesAreRefusedAndCountedAndTheRestIsBelieved) {
  dps["fake:a"]->heavy = {
      per_minute("198.18.0.7/32", 600),
      per_minute("198.18.0.7/32", 600),  // twice in one answer
      per_minute("198.18.0.8/33", 600),
      per_minute("not an address", 600),
      per_minute("198.18.0.9/24", 600),  // host bits set
      per_minute("198.18.0.10", 600),    // no length
      control::HeavySender{"198.18.0.11/32", 600, 0},
      control::HeavySender{"198.18.0.12/32", UINT64_MAX, 1},
      per_minute(std::string("198.18.0.13/32\0junk", 19), 600),
  };
  auto p = poller();
  const PollResult r = poll(*p);
  EXPECT_EQ(observed(r), (std::map<std::string, uint32_t>{{"198.18.0.7", 600}}));
  const auto &n = p->refused();
  EXPECT_EQ(n[static_cast<size_t>(Refusal::kDuplicate)], 1u);
  EXPECT_EQ(n[static_cast<size_t>(Refusal::kBadPrefix)], 5u);
  EXPECT_EQ(n[static_cast<size_t>(Refusal::kBadWindow)], 1u);
  EXPECT_EQ(n[static_cast<size_t>(Refusal::kAbsurdRate)], 1u);
  EXPECT_EQ(n[static_cast<size_t>(Refusal::kOverLimit)], 0u);
  // Absurd rates from several planes never overflow an observation's count.
  dps["fake:a"]->heavy = {per_minute("198.18.0.7/32", uint64_t{1000000000})};
  dps["fake:b"]->heavy = {per_minute("198.18.0.7/32", uint64_t{1000000000})};
  const PollResult big = poll(*p);
  ASSERT_EQ(big.observations.size(), 1u);
  EXPECT_EQ(big.observations[0].count, 2000000000u);
}

TEST_F(HeavyPollerTest, NetworksAreReportedNotObservedAndLoggedWhenTheyStartAndStop) {
  dps["fake:a"]->heavy = {per_minute("198.18.0.0/24", 900), per_minute("2001:2::/64", 300),
                          per_minute("198.18.0.7/32", 600)};
  dps["fake:b"]->heavy = {per_minute("198.18.0.0/24", 100)};
  auto p = poller();
  PollResult r = poll(*p);
  EXPECT_EQ(observed(r), (std::map<std::string, uint32_t>{{"198.18.0.7", 600}}));
  ASSERT_EQ(r.networks.size(), 2u);
  EXPECT_EQ(format_heavy_prefix(r.networks[0].prefix), "198.18.0.0/24");
  EXPECT_EQ(r.networks[0].per_minute, 1000);
  EXPECT_EQ(format_heavy_prefix(r.networks[1].prefix), "2001:2::/64");
  EXPECT_THAT(r.notices,
              ::testing::ElementsAre(
                  "heavy hitters: 198.18.0.7 600 SYN/min on fake:a (conn_rate observed)",
                  "heavy hitters: 198.18.0.0/24 1000 SYN/min on fake:a + fake:b (a network: "
                  "reported, not scored; the local model keeps addresses)",
                  "heavy hitters: 2001:2::/64 300 SYN/min on fake:a (a network: reported, not "
                  "scored; the local model keeps addresses)"));
  // The same again: nothing new to say.
  EXPECT_TRUE(poll(*p).notices.empty());
  dps["fake:a"]->heavy = {per_minute("198.18.0.7/32", 600)};
  dps["fake:b"]->heavy = std::vector<control::HeavySender>{};
  r = poll(*p);
  EXPECT_THAT(r.notices, ::testing::ElementsAre(
                             "heavy hitters: 198.18.0.0/24 not at or above 120 SYN/min any more",
                             "heavy hitters: 2001:2::/64 not at or above 120 SYN/min any more"));
}

TEST_F(HeavyPollerTest, NewSendersAreLoggedAFewAPoll) {
  std::vector<control::HeavySender> many;
  for (int i = 0; i < 50; ++i)
    many.push_back(per_minute("198.18.1." + std::to_string(i) + "/32", 1000));
  dps["fake:a"]->heavy = many;
  dps["fake:b"]->heavy = std::vector<control::HeavySender>{};
  auto p = poller();
  const PollResult r = poll(*p);
  EXPECT_EQ(r.observations.size(), 50u);
  ASSERT_EQ(r.notices.size(), kNoticesPerPoll + 1);
  EXPECT_EQ(r.notices.back(), "heavy hitters: 42 more senders at or above 120 SYN/min");
}

// Pregreet counts become pregreet observations of what each count grew by since that data
// plane's last answer; a count that restarted, or of an address the last answer lacked, whole.
TEST_F(HeavyPollerTest, PregreetCountsBecomeObservationsOfTheirGrowth) {
  dps["fake:a"]->heavy = std::vector<control::HeavySender>{};
  dps["fake:b"]->heavy = std::vector<control::HeavySender>{};
  auto p = poller();
  auto pregreets = [](const PollResult &r) {
    std::vector<std::pair<std::string, uint32_t>> out;
    for (const auto &o : r.observations) {
      EXPECT_EQ(o.kind, LocalKind::kPregreet);
      EXPECT_EQ(o.origin, "dp");
      out.emplace_back(rep::format_ip(o.subject), o.count);
    }
    return out;
  };
  using Got = std::vector<std::pair<std::string, uint32_t>>;
  dps["fake:a"]->pregreet = {{"198.18.0.7", 2}, {"2001:2::7", 1}};
  dps["fake:b"]->pregreet = {{"198.18.0.7", 1}};
  const PollResult first = poll(*p);
  EXPECT_EQ(pregreets(first), (Got{{"198.18.0.7", 2}, {"2001:2::7", 1}, {"198.18.0.7", 1}}));
  EXPECT_EQ(first.observations[0].evidence, "2 connections talked before the greeting on fake:a");
  dps["fake:a"]->pregreet = {{"198.18.0.7", 5}, {"2001:2::7", 1}};
  EXPECT_EQ(pregreets(poll(*p)), (Got{{"198.18.0.7", 3}})) << "grown by 3; unchanged: nothing";
  dps["fake:a"]->pregreet = {{"198.18.0.7", 1}};
  dps["fake:b"]->pregreet = std::vector<control::PregreetSender>{};
  EXPECT_EQ(pregreets(poll(*p)), (Got{{"198.18.0.7", 1}})) << "restarted: whole";
  dps["fake:a"]->pregreet = {{"2001:2::7", 1}};
  EXPECT_EQ(pregreets(poll(*p)), (Got{{"2001:2::7", 1}})) << "absent last time: whole";
  // Hostile entries: refused and counted, the rest believed.
  dps["fake:a"]->pregreet = {
      {"198.18.0.300", 4}, {"", 1}, {"198.18.0.9", 0}, {"198.18.0.8", 2}, {"198.18.0.8", 9}};
  EXPECT_EQ(pregreets(poll(*p)), (Got{{"198.18.0.8", 2}}));
  EXPECT_EQ(p->planes()[0].pregreet_refused, 4u);
  // A plane that does not test for pregreet: one notice, its SYN counts still believed.
  dps["fake:b"]->pregreet.reset();
  dps["fake:b"]->heavy = {per_minute("198.18.0.1/32", 500)};
  const PollResult r = poll(*p);
  EXPECT_EQ(r.answered, 2u);
  ASSERT_EQ(r.observations.size(), 1u);
  EXPECT_EQ(r.observations[0].kind, LocalKind::kConnRate);
  EXPECT_THAT(r.notices.at(0), HasSubstr("pregreet: fake:b: "));
  EXPECT_TRUE(poll(*p).notices.empty()) << "logged once";
}

// Verdict counts become shaped and blocked observations of what each (address, level, kind)
// count grew by since that data plane's last answer, as pregreet counts do.
TEST_F(HeavyPollerTest, VerdictCountsBecomeShapedAndBlockedObservationsOfTheirGrowth) {
  dps["fake:a"]->heavy = std::vector<control::HeavySender>{};
  dps["fake:b"]->heavy = std::vector<control::HeavySender>{};
  auto p = poller();
  using Got = std::vector<std::tuple<std::string, std::string, uint32_t>>;
  auto verdicts = [](const PollResult &r) {
    Got out;
    for (const auto &o : r.observations) {
      EXPECT_EQ(o.origin, "dp");
      out.emplace_back(rep::format_ip(o.subject), std::string(to_string(o.kind)), o.count);
    }
    return out;
  };
  dps["fake:a"]->verdicts = {
      {"198.18.0.7", 1, 3, 0}, {"198.18.0.7", 6, 0, 2}, {"2001:2::7", 2, 1, 4}};
  dps["fake:b"]->verdicts = {{"198.18.0.7", 1, 1, 0}};
  const PollResult first = poll(*p);
  EXPECT_EQ(verdicts(first), (Got{{"198.18.0.7", "shaped", 3},
                                  {"198.18.0.7", "blocked", 2},
                                  {"2001:2::7", "shaped", 1},
                                  {"2001:2::7", "blocked", 4},
                                  {"198.18.0.7", "shaped", 1}}));
  EXPECT_EQ(first.observations[0].evidence, "3 SYNs shaped at level 1 on fake:a");
  EXPECT_EQ(first.observations[1].evidence, "2 SYNs blocked at level 6 on fake:a");
  dps["fake:a"]->verdicts = {
      {"198.18.0.7", 1, 5, 0}, {"198.18.0.7", 6, 0, 2}, {"2001:2::7", 2, 1, 4}};
  EXPECT_EQ(verdicts(poll(*p)), (Got{{"198.18.0.7", "shaped", 2}}))
      << "grown by 2; unchanged: nothing";
  dps["fake:a"]->verdicts = {{"198.18.0.7", 6, 0, 1}};
  dps["fake:b"]->verdicts = std::vector<control::VerdictSender>{};
  EXPECT_EQ(verdicts(poll(*p)), (Got{{"198.18.0.7", "blocked", 1}})) << "restarted: whole";
  dps["fake:a"]->verdicts = {{"198.18.0.7", 5, 0, 1}, {"198.18.0.7", 6, 0, 1}};
  EXPECT_EQ(verdicts(poll(*p)), (Got{{"198.18.0.7", "blocked", 1}}))
      << "another level is another count";
  // Hostile entries: refused and counted, the rest believed.
  dps["fake:a"]->verdicts = {{"198.18.0.300", 1, 4, 0}, {"", 1, 1, 0},
                             {"198.18.0.9", 0, 1, 0},   {"198.18.0.9", SL_MAX_LEVELS, 1, 0},
                             {"198.18.0.9", 1, 0, 0},   {"198.18.0.8", 2, 2, 0},
                             {"198.18.0.8", 2, 9, 9}};
  EXPECT_EQ(verdicts(poll(*p)), (Got{{"198.18.0.8", "shaped", 2}}));
  EXPECT_EQ(p->planes()[0].verdict_refused, 6u);
  // A plane that does not count them: one notice, its other counts still believed.
  dps["fake:b"]->verdicts.reset();
  dps["fake:a"]->verdicts = std::vector<control::VerdictSender>{};
  dps["fake:b"]->heavy = {per_minute("198.18.0.1/32", 500)};
  const PollResult r = poll(*p);
  EXPECT_EQ(r.answered, 2u);
  ASSERT_EQ(r.observations.size(), 1u);
  EXPECT_EQ(r.observations[0].kind, LocalKind::kConnRate);
  EXPECT_THAT(r.notices.at(0), HasSubstr("verdicts: fake:b: "));
  EXPECT_TRUE(poll(*p).notices.empty()) << "logged once";
}

// Fan-out counts become fan_out observations of what each subscriber's count grew by since that
// data plane's last answer, as pregreet counts do.
TEST_F(HeavyPollerTest, FanOutCountsBecomeFanOutObservationsOfTheirGrowth) {
  dps["fake:a"]->heavy = std::vector<control::HeavySender>{};
  dps["fake:b"]->heavy = std::vector<control::HeavySender>{};
  auto p = poller();
  using Got = std::vector<std::pair<std::string, uint32_t>>;
  auto fanout = [](const PollResult &r) {
    Got out;
    for (const auto &o : r.observations) {
      EXPECT_EQ(o.kind, LocalKind::kFanOut);
      EXPECT_EQ(o.origin, "dp");
      out.emplace_back(rep::format_ip(o.subject), o.count);
    }
    return out;
  };
  dps["fake:a"]->fanout = {{"198.18.3.3", 12}, {"2001:2::3", 1}};
  dps["fake:b"]->fanout = {{"198.18.3.3", 2}};
  const PollResult first = poll(*p);
  EXPECT_EQ(fanout(first), (Got{{"198.18.3.3", 12}, {"2001:2::3", 1}, {"198.18.3.3", 2}}));
  EXPECT_EQ(first.observations[0].evidence, "12 new remote MTAs on fake:a");
  dps["fake:a"]->fanout = {{"198.18.3.3", 30}, {"2001:2::3", 1}};
  EXPECT_EQ(fanout(poll(*p)), (Got{{"198.18.3.3", 18}})) << "grown by 18; unchanged: nothing";
  dps["fake:a"]->fanout = {{"198.18.3.3", 4}};
  dps["fake:b"]->fanout = std::vector<control::FanoutSender>{};
  EXPECT_EQ(fanout(poll(*p)), (Got{{"198.18.3.3", 4}})) << "restarted: whole";
  // Hostile entries: refused and counted, the rest believed.
  dps["fake:a"]->fanout = {
      {"198.18.3.300", 4}, {"", 1}, {"198.18.3.9", 0}, {"198.18.3.8", 2}, {"198.18.3.8", 9}};
  EXPECT_EQ(fanout(poll(*p)), (Got{{"198.18.3.8", 2}}));
  EXPECT_EQ(p->planes()[0].fanout_refused, 4u);
  // A plane that does not count fan-out: one notice, its other counts still believed.
  dps["fake:b"]->fanout.reset();
  dps["fake:a"]->fanout = std::vector<control::FanoutSender>{};
  dps["fake:b"]->heavy = {per_minute("198.18.0.1/32", 500)};
  const PollResult r = poll(*p);
  EXPECT_EQ(r.answered, 2u);
  ASSERT_EQ(r.observations.size(), 1u);
  EXPECT_EQ(r.observations[0].kind, LocalKind::kConnRate);
  EXPECT_THAT(r.notices.at(0), HasSubstr("fan-out: fake:b: "));
  EXPECT_TRUE(poll(*p).notices.empty()) << "logged once";
}

TEST(HeavyEvidence, LongSpecListsAreShortened) {
  HeavyTotal t;
  t.per_minute = 612;
  t.dataplanes = {"dpdk:/run/sluice/sluice-dp.sock"};
  EXPECT_EQ(evidence_of(t), "612 SYN/min on dpdk:/run/sluice/sluice-dp.sock");
  t.dataplanes.assign(6, "dpdk:/run/sluice/a-long-socket-name.sock");
  EXPECT_EQ(evidence_of(t), "612 SYN/min on 6 data planes");
  EXPECT_LE(evidence_of(t).size(), kMaxEvidence);
}

}  // namespace
}  // namespace sluice::sluiced::heavy
