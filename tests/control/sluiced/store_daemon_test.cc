// sluiced's dynamic entries in the daemon (control/sluiced/store/store_module.cc), with in-memory
// data planes: host set is in every data plane when its reply comes, a data plane that is down
// is named in the reply and gets the entry when it is back, an expiry removes the entry from
// the data planes, clear undoes, the entries survive a restart of the daemon, explain shows
// each dynamic contribution with its reason and expiry, and sluicectl's commands drive it all.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include <fmt/format.h>

#include "control/run_sluicectl.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon_fixture.h"
#include "fake_dataplane.h"
#include "sluice/reputation/address.h"
#include "sluice/reputation/compile.h"
#include "test_dir.h"

namespace sluice::sluiced {
namespace {

namespace rep = sluice::reputation;
using nlohmann::json;
using testing::FakeClient;
using testing::FakeDataplane;
using ::testing::HasSubstr;
using testing::TestDir;

class StoreDaemonTest : public testing::DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    write_sources(
        "[drop]\ntype = list\npath = drop.txt\nweight = 10\n"
        "[ok]\ntype = list\npath = ok.txt\nallow = true\n");
    dir.write("drop.txt", "198.18.0.0/16\n");
    dir.write("ok.txt", "198.18.5.5\n");
  }
  void TearDown() override {
    if (loop.joinable()) {
      d->stop();
      loop.join();
    }
    DaemonFixture::TearDown();
  }

  // The daemon with the store module (and only it) plugged in, started, its loop not running.
  void start() {
    std::vector<std::unique_ptr<Module>> mods;
    for (auto &m : make_modules())
      if (m->module_name() == "store") mods.push_back(std::move(m));
    ASSERT_EQ(mods.size(), 1u);
    d = std::make_unique<Daemon>(cfg, std::move(mods), fake_clients());
    d->start(true);
  }
  void run_loop() {
    loop = std::thread([this] { d->run(); });
  }
  void restart() {
    if (loop.joinable()) {
      d->stop();
      loop.join();
    }
    d->shutdown();
    d.reset();
    start();
  }
  // Runs fn on the daemon's loop when it runs (the data planes and the store are the loop's),
  // else here.
  template <class F>
  auto on_loop(F fn) {
    if (!loop.joinable()) return fn();
    std::promise<decltype(fn())> p;
    auto f = p.get_future();
    d->loop().post([&] { p.set_value(fn()); });
    return f.get();
  }
  json call(json req) {
    return on_loop([&] { return d->commands().handle(req); });
  }
  sl_rep_value value(const std::string &spec, const char *addr) {
    return on_loop([&] { return lookup(spec, addr); });
  }
  sl_rep_value lookup(const std::string &spec, const char *addr) {
    auto ip = *rep::parse_ip(addr);
    std::optional<sl_rep_value> v;
    if (ip.family == 4) {
      v = dps[spec]->table.lookup_v4(htonl(ip.v4));
    } else {
      uint8_t b[16];
      rep::v6_to_bytes(ip.v6, b);
      v = dps[spec]->table.lookup_v6(b);
    }
    return v.value_or(sl_rep_value{0, 0});
  }
  // Polls `cond` on the test thread until it holds or `limit` passes (no timed assertion: the
  // limit only bounds a hang).
  template <class F>
  bool wait_for(F cond, std::chrono::seconds limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return cond();
  }

  std::unique_ptr<Daemon> d;
  std::thread loop;
};

TEST_F(StoreDaemonTest, HostSetIsInEveryDataplaneWhenTheReplyComes) {
  start();
  EXPECT_EQ(value("fake:a", "198.19.0.9").flags, 0u);
  json r = call({{"cmd", "host set"},
                 {"prefix", "198.19.0.9"},
                 {"action", "deny"},
                 {"reason", "fail2ban sshd"}});
  for (const char *spec : {"fake:a", "fake:b"}) {
    EXPECT_EQ(value(spec, "198.19.0.9").flags, SL_REP_DENY) << spec;
    EXPECT_EQ(value(spec, "198.19.0.8").flags, 0u) << spec;
  }
  ASSERT_EQ(r["dataplanes"].size(), 2u);
  EXPECT_TRUE(r["dataplanes"][0]["in_sync"]);
  EXPECT_TRUE(r["dataplanes"][1]["in_sync"]);
  EXPECT_EQ(r["entry"]["reason"], "fail2ban sshd");
  // Inside a listed prefix: the dynamic score adds to the list's; latest wins on the same prefix.
  call({{"cmd", "host set"}, {"prefix", "198.18.1.0/24"}, {"action", "score"}, {"score", 5}});
  EXPECT_EQ(value("fake:a", "198.18.1.1").score, 15);
  r = call({{"cmd", "host set"}, {"prefix", "198.18.1.0/24"}, {"action", "score"}, {"score", -4}});
  EXPECT_EQ(r["replaced"]["score"], 5);
  EXPECT_EQ(value("fake:b", "198.18.1.1").score, 6);
  // A deny beats the allowlist; an allow lets a listed address through.
  call({{"cmd", "host set"}, {"prefix", "198.18.5.5"}, {"action", "deny"}});
  EXPECT_EQ(value("fake:a", "198.18.5.5").flags, SL_REP_ALLOW | SL_REP_DENY);
  call({{"cmd", "host set"}, {"prefix", "198.18.9.9"}, {"action", "allow"}});
  EXPECT_EQ(value("fake:a", "198.18.9.9").flags, SL_REP_ALLOW);
}

// A dynamic change recompiles only the prefixes that changed (reputation::recompile): after
// every kind of change, on both families and beside list entries that enclose or sit inside
// it, the table is the one a whole compile of the same sources gives, and the data planes run it.
TEST_F(StoreDaemonTest, EveryPartialRebuildGivesTheTableAWholeCompileGives) {
  std::string big;
  for (int i = 0; i < 600; ++i)
    big += fmt::format("198.18.{}.{}\n2001:2::{:x}\n", i / 200, i % 200, i);
  big += "198.18.4.0/22\n!198.18.6.0/24\n2001:2::/64\n";
  dir.write("drop.txt", big);
  start();
  auto whole_compile = [&] {
    const BuildInput &in = d->last_build();
    std::vector<rep::ParsedSource> parsed;
    for (size_t i = 0; i < in.parsed.size(); ++i) {
      parsed.push_back(*in.parsed[i]);
      for (auto &e : parsed.back().v4) e.source = static_cast<uint16_t>(i);
      for (auto &e : parsed.back().v6) e.source = static_cast<uint16_t>(i);
    }
    return rep::compile(parsed, in.configs, d->table().created_unix()).checksum();
  };
  const std::vector<json> steps = {
      {{"cmd", "host set"}, {"prefix", "198.18.0.7"}, {"action", "score"}, {"score", 3}},
      {{"cmd", "host set"}, {"prefix", "198.18.4.0/23"}, {"action", "deny"}},
      {{"cmd", "host set"}, {"prefix", "198.18.6.9"}, {"action", "allow"}},
      {{"cmd", "host set"}, {"prefix", "198.18.0.0/16"}, {"action", "score"}, {"score", -10}},
      {{"cmd", "host set"}, {"prefix", "2001:2::5"}, {"action", "deny"}},
      {{"cmd", "host set"}, {"prefix", "2001:2::/56"}, {"action", "score"}, {"score", 2}},
      {{"cmd", "host unset"}, {"prefix", "198.18.0.0/16"}},
      {{"cmd", "host set"}, {"prefix", "198.18.0.7"}, {"action", "score"}, {"score", -3}},
      {{"cmd", "clear"}, {"address", "198.18.4.1"}},
      {{"cmd", "host unset"}, {"prefix", "2001:2::/56"}},
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    call(steps[i]);
    const auto [table, want] =
        on_loop([&] { return std::make_pair(d->table().checksum(), whole_compile()); });
    EXPECT_EQ(table, want) << "after step " << i << ": " << steps[i].dump();
    EXPECT_EQ(on_loop([&] { return dps["fake:a"]->version(); }), table) << "step " << i;
  }
  std::lock_guard lock(log_mu);
  EXPECT_THAT(logs, ::testing::Contains(HasSubstr("changed prefixes recompiled")));
}

TEST_F(StoreDaemonTest, ADataplaneThatIsDownIsNamedAndGetsTheEntryWhenBack) {
  start();
  dps["fake:b"]->down = true;
  json r = call({{"cmd", "host set"}, {"prefix", "2001:2::9"}, {"action", "deny"}});
  EXPECT_EQ(value("fake:a", "2001:2::9").flags, SL_REP_DENY);
  ASSERT_EQ(r["dataplanes"].size(), 2u);
  EXPECT_TRUE(r["dataplanes"][0]["in_sync"]);
  EXPECT_FALSE(r["dataplanes"][1]["in_sync"]);
  EXPECT_NE(r["dataplanes"][1]["error"], "");
  dps["fake:b"]->down = false;
  d->sync_dataplanes(true);
  EXPECT_EQ(value("fake:b", "2001:2::9").flags, SL_REP_DENY);
}

TEST_F(StoreDaemonTest, AnExpiryRemovesTheEntryFromTheDataplanes) {
  start();
  call({{"cmd", "host set"}, {"prefix", "198.19.0.1"}, {"action", "deny"}, {"ttl", "1s"}});
  call({{"cmd", "host set"}, {"prefix", "198.19.0.2"}, {"action", "deny"}});
  ASSERT_EQ(value("fake:a", "198.19.0.1").flags, SL_REP_DENY);
  run_loop();
  // The daemon's own clock and timer: wait (bounded) for the entry to leave both data planes.
  EXPECT_TRUE(wait_for([&] {
    return value("fake:a", "198.19.0.1").flags == 0 && value("fake:b", "198.19.0.1").flags == 0;
  }));
  EXPECT_EQ(value("fake:a", "198.19.0.2").flags, SL_REP_DENY);  // no ttl: stays
  json list = call({{"cmd", "host list"}});
  ASSERT_EQ(list["entries"].size(), 1u);  // removed from the store too
  EXPECT_EQ(list["entries"][0]["prefix"], "198.19.0.2/32");
}

TEST_F(StoreDaemonTest, ClearUndoesEveryPenaltyOnTheAddress) {
  start();
  call({{"cmd", "host set"}, {"prefix", "198.19.1.0/24"}, {"action", "deny"}});
  call({{"cmd", "host set"}, {"prefix", "198.19.1.7"}, {"action", "score"}, {"score", 9}});
  call({{"cmd", "host set"}, {"prefix", "198.19.1.8"}, {"action", "allow"}});
  ASSERT_EQ(value("fake:a", "198.19.1.7").score, 9);
  json r = call({{"cmd", "clear"}, {"address", "198.19.1.7"}});
  EXPECT_EQ(r["removed"].size(), 2u);
  for (const char *spec : {"fake:a", "fake:b"}) {
    EXPECT_EQ(value(spec, "198.19.1.7").score, 0);
    EXPECT_EQ(value(spec, "198.19.1.7").flags, 0u);
    EXPECT_EQ(value(spec, "198.19.1.8").flags, SL_REP_ALLOW);  // not a penalty: stays
  }
  // The list's own score is not the store's to clear.
  EXPECT_EQ(call({{"cmd", "clear"}, {"address", "198.18.0.1"}})["removed"].size(), 0u);
  EXPECT_EQ(value("fake:a", "198.18.0.1").score, 10);
}

TEST_F(StoreDaemonTest, EntriesSurviveARestartOfTheDaemon) {
  start();
  call({{"cmd", "host set"}, {"prefix", "198.19.2.2"}, {"action", "deny"}, {"ttl", "1h"}});
  restart();
  dps["fake:a"]->restart();  // and a data plane that lost its table meanwhile
  d->sync_dataplanes(true);
  EXPECT_EQ(value("fake:a", "198.19.2.2").flags, SL_REP_DENY);
  EXPECT_EQ(call({{"cmd", "host list"}})["entries"].size(), 1u);
}

TEST_F(StoreDaemonTest, ExplainShowsEveryDynamicContributionWithItsReasonAndExpiry) {
  start();
  call({{"cmd", "host set"},
        {"prefix", "198.18.7.0/24"},
        {"action", "deny"},
        {"ttl", "2h"},
        {"reason", "abuse report 17"}});
  call({{"cmd", "host set"},
        {"prefix", "198.18.7.7"},
        {"action", "score"},
        {"score", 3},
        {"reason", "watch"}});
  json x = call({{"cmd", "explain"}, {"address", "198.18.7.7"}});
  EXPECT_EQ(x["score"], 13);
  EXPECT_FALSE(x["deny"]);
  json dyn;
  for (const auto &s : x["sources"])
    if (s["name"] == "dynamic") dyn = s;
  ASSERT_FALSE(dyn.is_null()) << x.dump();
  ASSERT_EQ(dyn["dynamic"].size(), 2u);
  EXPECT_EQ(dyn["dynamic"][0]["reason"], "watch");
  EXPECT_TRUE(dyn["dynamic"][0]["decides"]);
  EXPECT_EQ(dyn["dynamic"][1]["reason"], "abuse report 17");
  EXPECT_FALSE(dyn["dynamic"][1]["decides"]);
  EXPECT_TRUE(dyn["dynamic"][1]["expires"].is_number_integer());
  EXPECT_EQ(dyn["contribution"], 3);
}

TEST_F(StoreDaemonTest, BadRequestsAreRefusedAndChangeNothing) {
  start();
  const size_t before = dps["fake:a"]->count("delta") + dps["fake:a"]->count("load");
  for (json req :
       {json{{"cmd", "host set"}, {"prefix", "198.19.0.1/24"}, {"action", "deny"}},
        json{{"cmd", "host set"},
             {"prefix", "198.19.0.1"},
             {"action", "deny"},
             {"ttl", "99999999999999999999"}},
        json{{"cmd", "host set"}, {"prefix", "198.19.0.1"}, {"action", "score"}, {"score", 1e40}},
        json{{"cmd", "host set"}, {"prefix", "198.19.0.1"}, {"action", "deny"}, {"reason", "a\nb"}},
        json{{"cmd", "clear"}, {"address", "nope"}}}) {
    SCOPED_TRACE(req.dump());
    EXPECT_THROW(call(req), sluice::Error);
  }
  EXPECT_EQ(call({{"cmd", "host list"}})["entries"].size(), 0u);
  EXPECT_EQ(dps["fake:a"]->count("delta") + dps["fake:a"]->count("load"), before);
}

TEST_F(StoreDaemonTest, SluicectlHostClearAndExplainDriveTheDaemon) {
  start();
  run_loop();
  const std::filesystem::path scratch = dir.path();
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--daemon", cfg.socket});
    return sluice::testing::run_sluicectl(args, scratch);
  };
  auto r = ctl({"host", "set", "198.19.3.3", "--deny", "--ttl", "1h", "--reason", "manual"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("198.19.3.3/32 deny, expires"));
  EXPECT_THAT(r.out, HasSubstr("fake:a: effective"));
  EXPECT_EQ(value("fake:b", "198.19.3.3").flags, SL_REP_DENY);
  r = ctl({"host", "list"});
  EXPECT_THAT(r.out, HasSubstr("198.19.3.3/32"));
  EXPECT_THAT(r.out, HasSubstr("manual"));
  EXPECT_THAT(r.out, HasSubstr("sluicectl uid"));
  r = ctl({"table", "explain", "198.19.3.3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("denied"));
  EXPECT_THAT(r.out, HasSubstr("manual"));
  r = ctl({"clear", "198.19.3.3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("removed 198.19.3.3/32 deny"));
  EXPECT_EQ(value("fake:a", "198.19.3.3").flags, 0u);
  r = ctl({"host", "unset", "198.19.3.3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no dynamic entry"));
  // Usage errors: exit 2, nothing sent.
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"host", "set", "198.19.3.3"},
        {"host", "set", "198.19.3.3", "--deny", "--allow"},
        {"host", "set", "198.19.3.0/16", "--deny"},
        {"host", "set", "198.19.3.3", "--score", "99999999999"},
        {"host", "set", "198.19.3.3", "--deny", "--ttl", "0"},
        {"host", "set", "198.19.3.3", "--deny", "--reason", "a\x1b[2Jb"},
        {"host", "unset"},
        {"clear", "198.19.3.0/24"}}) {
    r = ctl(bad);
    EXPECT_EQ(r.exit_code, 2) << bad[1] << " " << r.err;
  }
  EXPECT_EQ(call({{"cmd", "host list"}})["entries"].size(), 0u);
}

}  // namespace
}  // namespace sluice::sluiced
