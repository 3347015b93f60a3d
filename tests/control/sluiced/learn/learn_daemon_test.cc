// The local score model inside sluiced (control/sluiced/learn/learn_module.cc) with in-memory
// data planes: observations published on the daemon's bus reach every data plane as local:KIND
// sources and decay away; `report` without [feed] counts locally; a trap hit from the policy
// service is one trap_hit observation (no dynamic entry) that `learn forget` undoes; the scores
// survive a restart and what a kill -9 leaves; a corrupt state file is refused with a log line.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "control/run_sluicectl.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "running_daemon_fixture.h"
#include "metrics/exposition.h"
#include "obs/obs_explain.h"
#include "sluice/reputation/address.h"

namespace sluice::sluiced {
namespace {

namespace rep = sluice::reputation;
using nlohmann::json;
using ::testing::HasSubstr;

std::string slurp(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LearnDaemonTest : public testing::RunningDaemonFixture {
 protected:
  void SetUp() override {
    RunningDaemonFixture::SetUp();
    write_sources("[drop]\ntype = list\npath = drop.txt\nweight = 10\n");
    dir.write("drop.txt", "198.18.0.0/16\n");
    ini = "[learning]\nstep = 100ms\nsave_interval = 100ms\n";
  }
  void start(const std::set<std::string> &names = {"store", "learning"}) {
    RunningDaemonFixture::start(names);
  }
  std::string refusal(json req) {
    try {
      call(req);
    } catch (const std::exception &e) {
      return e.what();
    }
    return "accepted";
  }
  void publish(const char *addr, LocalKind kind, uint32_t count = 1, std::string evidence = "") {
    LocalObservation o;
    o.subject = *rep::parse_ip(addr);
    o.kind = kind;
    o.count = count;
    o.observed_at = WallClock::now();
    o.origin = "test";
    o.evidence = std::move(evidence);
    on_loop([&] {
      d->observations().publish(o);
      return 0;
    });
  }
  // The sources of `explain ADDR` (the store's verb) by name -> contribution.
  std::map<std::string, int> explained(const char *addr) {
    std::map<std::string, int> out;
    const json reply = call({{"cmd", "explain"}, {"address", addr}});  // outlives the loop
    for (const auto &s : reply["sources"])
      if (s["listed"].get<bool>()) out[s["name"]] = s["contribution"].get<int>();
    return out;
  }
  std::string state_path() { return cfg.state_dir + "/learning.state"; }
};

TEST_F(LearnDaemonTest, ObservationsReachEveryDataplaneAsTheirOwnSourcesAndDecayAway) {
  ini += "pregreet.weight = 5\npregreet.half_life = 5s\n";
  start();
  EXPECT_EQ(score("fake:a", "198.19.0.1"), 0);
  publish("198.19.0.1", LocalKind::kComplaint, 1, "report-1");
  publish("198.19.0.1", LocalKind::kTrapHit);
  ASSERT_TRUE(wait_for([&] { return score("fake:a", "198.19.0.1") == 16; }));
  ASSERT_TRUE(wait_for([&] { return score("fake:b", "198.19.0.1") == 16; }));
  EXPECT_EQ(score("fake:a", "198.19.0.2"), 0);
  // Inside a listed prefix the local points add to the list's.
  publish("198.18.0.9", LocalKind::kTrapHit);
  ASSERT_TRUE(wait_for([&] { return score("fake:a", "198.18.0.9") == 22; }));
  // explain: each kind is a source line of its own.
  const auto sources = explained("198.19.0.1");
  EXPECT_EQ(sources, (std::map<std::string, int>{{"local:complaint", 4}, {"local:trap_hit", 12}}));
  // A pregreet halves every 5 s: it appears, then decays below its threshold (0.5) and is gone
  // from every data plane; the complaint (6 h) and the trap hit (a day) stay.
  publish("198.19.0.1", LocalKind::kPregreet, 1, "greeting-1");
  ASSERT_TRUE(wait_for([&] { return score("fake:a", "198.19.0.1") > 16; }));
  ASSERT_TRUE(wait_for([&] { return score("fake:a", "198.19.0.1") == 16; }));
  EXPECT_TRUE(wait_for([&] { return score("fake:b", "198.19.0.1") == 16; }));
  EXPECT_EQ(explained("198.19.0.1").count("local:pregreet"), 0u);
  const json x = call({{"cmd", "learn explain"}, {"addr", "198.19.0.1"}});
  ASSERT_EQ(x["kinds"].size(), 3u);
  EXPECT_EQ(x["kinds"][0]["kind"], "pregreet");
  EXPECT_TRUE(x["kinds"][0]["below_threshold"]);
  EXPECT_EQ(x["kinds"][0]["contribution"], 0);
  EXPECT_EQ(x["kinds"][0]["evidence"], "greeting-1");
  EXPECT_EQ(x["kinds"][1]["kind"], "trap_hit");
  EXPECT_EQ(x["kinds"][2]["kind"], "complaint");
  EXPECT_EQ(x["kinds"][2]["contribution"], 4);
  EXPECT_EQ(x["kinds"][2]["evidence"], "report-1");
  EXPECT_EQ(x["kinds"][2]["origin"], "test");
  EXPECT_EQ(x["total"], 16);
  EXPECT_EQ(x["table_score"], 16);
}

TEST_F(LearnDaemonTest, ReportWithoutTheFeedCountsLocally) {
  start();
  const json r = call({{"cmd", "report"},
                       {"addr", "198.19.0.3"},
                       {"kind", "complaint"},
                       {"count", 1},
                       {"window", 60},
                       {"ttl", 3600},
                       {"evidence", "ticket-9"}});
  EXPECT_TRUE(r["counted_locally"]);
  EXPECT_FALSE(r["queued"]);
  ASSERT_TRUE(wait_for([&] { return score("fake:a", "198.19.0.3") == 4; }));
  const json x = call({{"cmd", "learn explain"}, {"addr", "198.19.0.3"}});
  ASSERT_EQ(x["kinds"].size(), 1u);
  EXPECT_EQ(x["kinds"][0]["origin"], "sluicectl");
  EXPECT_EQ(x["kinds"][0]["evidence"], "ticket-9");
  EXPECT_THAT(refusal({{"cmd", "learn explain"}, {"addr", "example.net"}}),
              HasSubstr("addr: 'example.net' is not an address"));
  EXPECT_THAT(refusal({{"cmd", "learn forget"}, {"addr", "198.19.0.3/24"}}),
              HasSubstr("is not an address"));
  EXPECT_THAT(refusal({{"cmd", "learn explain"}}), HasSubstr("addr"));
  EXPECT_THAT(refusal({{"cmd", "report"}, {"addr", "198.19.0.0/24"}}),
              HasSubstr("is not an address"));
  EXPECT_THAT(refusal({{"cmd", "report"}, {"addr", "198.19.0.3"}, {"kind", "vouch"}}),
              HasSubstr("'vouch' is not counted locally"));
  EXPECT_THAT(refusal({{"cmd", "report"}, {"addr", "198.19.0.3"}, {"count", 0}}),
              HasSubstr("count: 1..1000000"));
  EXPECT_THAT(refusal({{"cmd", "report"}, {"addr", "198.19.0.3"}, {"evidence", "a b"}}),
              HasSubstr("evidence: printable ASCII"));
  // The operator's sluicectl, as it is today.
  const auto cli = sluice::testing::run_sluicectl(
      {"--daemon", cfg.socket, "report", "2001:2::5", "--evidence", "ticket-10"}, dir.path());
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_THAT(cli.out, HasSubstr("reported 2001:2::5 (complaint) as this site only"));
  ASSERT_TRUE(wait_for([&] { return score("fake:b", "2001:2::5") == 4; }));
  const auto text = sluice::testing::run_sluicectl(
      {"--daemon", cfg.socket, "learn", "explain", "2001:2::5"}, dir.path());
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("complaint: 1.0 events (last "));
  EXPECT_THAT(text.out, HasSubstr(" UTC from sluicectl, ticket-10), +4, halves every 6h\n"));
  EXPECT_THAT(text.out, HasSubstr("local total: +4; score in the table: 4\n"));
  // table explain: the source line local:complaint says what it stands for.
  const auto table = sluice::testing::run_sluicectl(
      {"--daemon", cfg.socket, "table", "explain", "2001:2::5"}, dir.path());
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("local:complaint"));
  EXPECT_THAT(table.out, HasSubstr("1.0 events, last "));
  EXPECT_THAT(table.out, HasSubstr(" UTC from sluicectl (ticket-10), halves every 6h"));
  call({{"cmd", "report"}, {"addr", "2001:2::6"}, {"kind", "conn_rate"}, {"count", 412}});
  const auto rate = sluice::testing::run_sluicectl(
      {"--daemon", cfg.socket, "learn", "explain", "2001:2::6"}, dir.path());
  // A rate: 412 SYN/min (COUNT over the default 60 s window), its peak and when, then the rate
  // decayed to now (412 by 30-minute half-lives: still 412 a second later).
  EXPECT_THAT(rate.out, ::testing::ContainsRegex(
                            "conn_rate: 412 SYN/min at 20[0-9-]+ [0-9:]+ UTC from sluicectl, now "
                            "41[12], \\+4, halves every 30m\n"));
  // COUNT over WINDOW seconds: 100 SYNs in 10 s are 600 SYN/min.
  call({{"cmd", "report"},
        {"addr", "2001:2::7"},
        {"kind", "conn_rate"},
        {"count", 100},
        {"window", 10}});
  const json r7 = call({{"cmd", "learn explain"}, {"addr", "2001:2::7"}});
  ASSERT_EQ(r7["kinds"].size(), 1u);
  EXPECT_NEAR(r7["kinds"][0]["recorded_count"].get<double>(), 600.0, 0.01);
  EXPECT_TRUE(r7["kinds"][0]["rate"]);
  const auto none = sluice::testing::run_sluicectl(
      {"--daemon", cfg.socket, "learn", "explain", "198.19.9.9"}, dir.path());
  EXPECT_EQ(none.out, "198.19.9.9: nothing learned locally\n");
}

TEST_F(LearnDaemonTest, WithLearningOffReportSaysSo) {
  ini += "enabled = false\n";
  start();
  EXPECT_THAT(refusal({{"cmd", "report"}, {"addr", "198.19.0.3"}}), HasSubstr("[learning] is off"));
  EXPECT_FALSE(call({{"cmd", "learn explain"}, {"addr", "198.19.0.3"}})["enabled"]);
  EXPECT_FALSE(call({{"cmd", "status"}})["modules"]["learning"]["enabled"]);
}

TEST_F(LearnDaemonTest, ScoresSurviveARestartAndWhatAKillLeaves) {
  start();
  publish("198.19.0.4", LocalKind::kTrapHit, 1, "trap@sluice.test");
  publish("2001:2::4", LocalKind::kComplaint, 2);
  ASSERT_TRUE(wait_for([&] { return score("fake:a", "198.19.0.4") == 12; }));
  // While it runs, the state file follows within save_interval: a kill -9 leaves this.
  ASSERT_TRUE(wait_for([&] {
    const std::string s = slurp(state_path());
    return s.find("198.19.0.4 trap_hit") != std::string::npos &&
           s.find("2001:2::4 complaint") != std::string::npos;
  }));
  const std::string killed = slurp(state_path());
  stop_daemon();
  // A daemon started on that file (another state directory, as after a kill -9).
  cfg.state_dir = dir / "state-after-kill";
  std::filesystem::create_directories(cfg.state_dir);
  { std::ofstream(state_path()) << killed; }
  dps["fake:a"]->restart();
  dps["fake:b"]->restart();
  start();
  EXPECT_EQ(score("fake:a", "198.19.0.4"), 12);
  EXPECT_EQ(score("fake:b", "2001:2::4"), 8);
  const json x = call({{"cmd", "learn explain"}, {"addr", "198.19.0.4"}});
  ASSERT_EQ(x["kinds"].size(), 1u);
  EXPECT_EQ(x["kinds"][0]["evidence"], "trap@sluice.test");
  EXPECT_TRUE(logged("learning: 2 records for 2 addresses from " + state_path()));
  // An orderly restart keeps them too.
  restart();
  EXPECT_EQ(score("fake:a", "198.19.0.4"), 12);
  EXPECT_EQ(call({{"cmd", "status"}})["modules"]["learning"]["addresses"], 2);
}

TEST_F(LearnDaemonTest, ACorruptStateFileIsRefusedWithALogLineAndSetAside) {
  std::filesystem::create_directories(cfg.state_dir);
  { std::ofstream(state_path()) << "sluice-learning 1\n198.19.0.5 complaint nan 1 1 1 arf -\n"; }
  start();
  EXPECT_TRUE(logged("learning: " + state_path() +
                     ":2: count: not a number 0 .. 1e15; starting with nothing learned (the file "
                     "is set aside as " +
                     state_path() + ".bad)"));
  EXPECT_TRUE(std::filesystem::exists(state_path() + ".bad"));
  EXPECT_EQ(call({{"cmd", "status"}})["modules"]["learning"]["addresses"], 0);
  // It learns and saves afresh.
  publish("198.19.0.5", LocalKind::kPregreet);
  ASSERT_TRUE(wait_for([&] { return score("fake:a", "198.19.0.5") == 3; }));
  ASSERT_TRUE(wait_for(
      [&] { return slurp(state_path()).find("198.19.0.5 pregreet") != std::string::npos; }));
  // Not even a file: a directory in its place is refused the same way.
  stop_daemon();
  std::filesystem::remove(state_path());
  std::filesystem::create_directory(state_path());
  {
    std::lock_guard lock(log_mu);
    logs.clear();
  }
  start();
  EXPECT_TRUE(logged("starting with nothing learned"));
}

TEST_F(LearnDaemonTest, StatusAndMetricsCountObservationsAddressesAndContributions) {
  ini += "max_addresses = 2\n";
  start();
  publish("198.19.0.6", LocalKind::kTrapHit);
  publish("198.19.0.7", LocalKind::kUnknownRecipient);
  publish("198.19.0.8", LocalKind::kUnknownRecipient);  // evicts .7 (below its threshold)
  ASSERT_TRUE(wait_for([&] { return score("fake:a", "198.19.0.6") == 12; }));
  const json s = call({{"cmd", "status"}})["modules"]["learning"];
  EXPECT_EQ(s["addresses"], 2);
  EXPECT_EQ(s["evictions"], 1);
  EXPECT_EQ(s["observations"]["unknown_recipient"], 2);
  EXPECT_EQ(s["contributions"]["trap_hit"], 1);
  EXPECT_EQ(s["contributions"]["unknown_recipient"], 0);
  const std::string text = on_loop([] {
    metrics::Exposition e;
    for (auto &[name, c] : obs::extra_collectors())
      if (name == "learning") c(e);
    return e.render();
  });
  EXPECT_THAT(text, HasSubstr("sluiced_learning_observations_total{kind=\"trap_hit\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("sluiced_learning_observations_total{kind=\"unknown_recipient\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_learning_contributions{kind=\"trap_hit\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_learning_addresses 2\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_learning_evictions_total 1\n"));
}

// ---- the policy service's trap hits ------------------------------------------------------------

class LearnPolicyTest : public LearnDaemonTest {
 protected:
  void SetUp() override {
    LearnDaemonTest::SetUp();
    ini += "[policy]\nlisten = unix:" + dir / "policy.sock" +
           "\ntrap = trap@sluice.test\ntrap = other-trap@sluice.test\ntrap_score = 60\n";
  }
  // One request on a new connection to the policy socket; the reply ("" if none in 10 s).
  std::string ask(const std::string &client, const std::string &recipient) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string path = dir / "policy.sock";
    std::strcpy(a.sun_path, path.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
      ::close(fd);
      return "connect failed";
    }
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string req =
        "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=" + client +
        "\nrecipient=" + recipient + "\n\n";
    [[maybe_unused]] const ssize_t w = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string got;
    char c;
    while ((got.size() < 2 || got.compare(got.size() - 2, 2, "\n\n") != 0) &&
           ::recv(fd, &c, 1, 0) == 1)
      got += c;
    ::close(fd);
    return got;
  }
};

TEST_F(LearnPolicyTest, ATrapHitIsOneLocalObservationAndNoDynamicEntry) {
  start({"store", "learning", "policy"});
  EXPECT_EQ(ask("198.19.0.1", "Trap@Sluice.Test"), "action=DUNNO\n\n");
  // The same message to a second trap: one hit.
  EXPECT_EQ(ask("198.19.0.1", "other-trap@sluice.test"), "action=DUNNO\n\n");
  ASSERT_TRUE(wait_for([&] { return score("fake:a", "198.19.0.1") == 12; }));
  EXPECT_TRUE(call({{"cmd", "host list"}})["entries"].empty());
  const json r = call({{"cmd", "policy recent"}});
  EXPECT_EQ(r["counters"]["trap_hits"], 2);
  EXPECT_EQ(r["counters"]["trap_observations"], 1);
  EXPECT_EQ(r["counters"]["trap_entries"], 0);
  const json x = call({{"cmd", "learn explain"}, {"addr", "198.19.0.1"}});
  ASSERT_EQ(x["kinds"].size(), 1u);
  EXPECT_EQ(x["kinds"][0]["kind"], "trap_hit");
  EXPECT_NEAR(x["kinds"][0]["count"].get<double>(), 1.0, 1e-3);
  EXPECT_EQ(x["kinds"][0]["origin"], "policy");
  EXPECT_EQ(x["kinds"][0]["evidence"], "trap@sluice.test");
  EXPECT_TRUE(logged("counted as trap_hit by the local score model"));
  // The undo: in every data plane when the reply comes.
  const json f = call({{"cmd", "learn forget"}, {"addr", "198.19.0.1"}});
  EXPECT_EQ(f["removed"], json::array({"trap_hit"}));
  EXPECT_EQ(score("fake:a", "198.19.0.1"), 0);
  EXPECT_EQ(score("fake:b", "198.19.0.1"), 0);
  EXPECT_EQ(ask("198.19.0.1", "user@sluice.test"), "action=DUNNO\n\n");
}

TEST_F(LearnPolicyTest, WithLearningOffATrapHitWritesTheDynamicEntryOfOld) {
  ini = "[learning]\nenabled = false\n" + ini.substr(ini.find("[policy]"));
  start({"store", "learning", "policy"});
  ask("198.19.0.2", "trap@sluice.test");
  ASSERT_TRUE(wait_for([&] { return score("fake:a", "198.19.0.2") == 60; }));
  const json list = call({{"cmd", "host list"}});
  ASSERT_EQ(list["entries"].size(), 1u);
  EXPECT_EQ(list["entries"][0]["reason"], "trap_hit trap@sluice.test");
  EXPECT_EQ(call({{"cmd", "policy recent"}})["counters"]["trap_entries"], 1);
}

}  // namespace
}  // namespace sluice::sluiced
