// The Postfix policy service inside sluiced (control/sluiced/policy/): [policy] read and refused
// clearly, answers from the daemon's table and the policy file's levels, a trap hit written as a
// dynamic entry through the store (so `clear` undoes it), `policy recent` and the metrics.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "fake_dataplane.h"
#include "metrics/exposition.h"
#include "obs/obs_explain.h"
#include "policy/policy_config.h"
#include "sluice/reputation/address.h"
#include "test_dir.h"

namespace sluice::sluiced {
namespace {

namespace rep = sluice::reputation;
using nlohmann::json;
using testing::FakeClient;
using testing::FakeDataplane;
using ::testing::HasSubstr;
using testing::TestDir;

// ---- [policy] ---------------------------------------------------------------------------------

policy::PolicyConfig read(const std::string &text) {
  ConfigSchema schema;
  policy::describe_policy_config(schema);
  std::istringstream in(text);
  return policy::read_policy_config(schema.parse(in, "sluiced.ini"));
}

std::string refusal(const std::string &text) {
  try {
    read(text);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "accepted";
}

TEST(PolicyConfig, NoListenNoServiceAndTheDefaults) {
  const auto c = read("");
  EXPECT_FALSE(c.enabled);
  ASSERT_EQ(c.actions.size(), size_t{SL_MAX_LEVELS});
  EXPECT_EQ(c.actions[0].text(), "DUNNO");
  EXPECT_EQ(c.actions[1].text(), "PREPEND X-Sluice: score={score}; level={level}");
  EXPECT_EQ(c.limits.max_clients, 128u);
  EXPECT_EQ(c.limits.request.max_request_bytes, 32768u);
  EXPECT_EQ(c.trap_score, 50);
  EXPECT_EQ(c.trap_ttl, std::chrono::hours(24));
  EXPECT_EQ(c.recent, 64u);
}

TEST(PolicyConfig, ValuesAreRead) {
  const auto c = read(
      "[policy]\nlisten = inet:[::1]:10040\nmax_clients = 10\nrequest_timeout = 2s\n"
      "idle_timeout = 5m\nmax_line_bytes = 1024\nmax_request_bytes = 8192\nmax_attributes = 40\n"
      "action_2 = DEFER_IF_PERMIT 4.7.1 slow down ({level_name})\ntrap = Trap@Example.NET\n"
      "trap = spam@sluice.test\ntrap_score = 70\ntrap_ttl = 2h\ntrap_action = DISCARD\n"
      "recent = 10\n");
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.listen.text(), "inet:[::1]:10040");
  EXPECT_EQ(c.limits.max_clients, 10u);
  EXPECT_EQ(c.limits.idle_timeout, std::chrono::minutes(5));
  EXPECT_EQ(c.limits.request.max_attributes, 40u);
  EXPECT_EQ(c.actions[2].fill(9, 2, "tarpit"), "DEFER_IF_PERMIT 4.7.1 slow down (tarpit)");
  EXPECT_EQ(c.traps, (std::set<std::string>{"trap@example.net", "spam@sluice.test"}));
  EXPECT_EQ(c.trap_score, 70);
  EXPECT_EQ(c.trap_ttl, std::chrono::hours(2));
  ASSERT_TRUE(c.trap_action);
  EXPECT_EQ(c.trap_action->verb(), "DISCARD");
  EXPECT_EQ(
      read("[policy]\nlisten = unix:/run/sluice/policy.sock\nsocket_mode = 0666\n").socket_mode,
      0666u);
}

TEST(PolicyConfig, BadValuesAreRefusedNamingTheKey) {
  EXPECT_THAT(refusal("[policy]\naction_1 = OK\n"),
              HasSubstr("policy.action_1: OK is not allowed"));
  EXPECT_THAT(refusal("[policy]\naction_3 = PREPEND nothing\n"),
              HasSubstr("policy.action_3: PREPEND needs a header"));
  EXPECT_THAT(refusal("[policy]\naction_0 = REJECT \x01\n"), HasSubstr("policy.action_0: "));
  EXPECT_THAT(refusal("[policy]\naction_0 = REJECT " + std::string(500, 'x') + "\n"),
              HasSubstr("longer than 400 bytes"));
  EXPECT_THAT(refusal("[policy]\ntrap_action = WARN {who}\n"), HasSubstr("policy.trap_action: "));
  EXPECT_THAT(refusal("[policy]\nlisten = inet:0.0.0.0:10040\n"),
              HasSubstr("not a loopback address"));
  EXPECT_EQ(refusal("[policy]\nlisten = inet:0.0.0.0:10040\nallow_non_loopback = true\n"),
            "accepted");
  EXPECT_THAT(refusal("[policy]\nlisten = tcp:127.0.0.1:1\n"),
              HasSubstr("policy.listen: 'tcp:127.0.0.1:1': expected unix:PATH or inet"));
  EXPECT_THAT(refusal("[policy]\nlisten = unix:policy.sock\n"), HasSubstr("absolute path"));
  EXPECT_THAT(refusal("[policy]\nlisten = inet:localhost:10040\n"), HasSubstr("not a numeric"));
  EXPECT_THAT(refusal("[policy]\nlisten = inet:::1:10040\n"), HasSubstr("brackets"));
  EXPECT_THAT(refusal("[policy]\ntrap = nobody\n"), HasSubstr("is not LOCAL@DOMAIN"));
  EXPECT_THAT(refusal("[policy]\ntrap = <a@b.example>\n"), HasSubstr("not a bare address"));
  EXPECT_THAT(refusal("[policy]\ntrap_ttl = 0\n"), HasSubstr("policy.trap_ttl"));
  EXPECT_THAT(refusal("[policy]\ntrap_score = 0\n"), HasSubstr("policy.trap_score"));
  EXPECT_THAT(refusal("[policy]\nmax_line_bytes = 8192\nmax_request_bytes = 4096\n"),
              HasSubstr("below policy.max_line_bytes"));
  EXPECT_THAT(refusal("[policy]\nrecent = 5000\n"), HasSubstr("policy.recent"));
  EXPECT_THAT(refusal("[policy]\nsocket_mode = 0999\n"), HasSubstr("policy.socket_mode"));
  EXPECT_THAT(refusal("[policy]\nsocket_group = no-such-group-here\n"),
              HasSubstr("policy.socket_group"));
  EXPECT_THAT(refusal("[policy]\naction_8 = DUNNO\n"), HasSubstr("action_8"));
  EXPECT_THAT(refusal("[policy]\nbogus = 1\n"),
              HasSubstr("unknown key 'bogus' in section [policy]"));
}

// ---- in the daemon ----------------------------------------------------------------------------

class PolicyDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([this](LogLevel, std::string_view m) {
      std::lock_guard lock(log_mu);
      logs.emplace_back(m);
    });
    dir.write("sources.ini", "[drop]\ntype = list\npath = drop.txt\nweight = 10\n");
    dir.write("drop.txt", "198.18.0.0/16\n");
    dir.write("policy.ini",
              "[smtp]\nports = 25\n[level.1]\nname = throttle\nthreshold = 3\nwindow_clamp = 2048\n"
              "[level.2]\nname = tarpit\nthreshold = 8\ntarpit = true\n"
              "[level.3]\nname = block\nthreshold = 15\nblock = rst\n");
    ini = "[sluiced]\nstate_dir = " + dir / "state" + "\nsocket = " + dir / "sluiced.sock" +
          "\nsources = " + dir / "sources.ini" + "\npolicy = " + dir / "policy.ini" +
          "\n[policy]\nlisten = unix:" + dir / "policy.sock" +
          "\naction_2 = DEFER_IF_PERMIT 4.7.1 slow down ({level_name})\n"
          "action_3 = REJECT 5.7.1 blocked, score {score}\ntrap = trap@sluice.test\n"
          "trap_score = 60\ntrap_ttl = 1h\n";
    dps["fake:a"] = std::make_shared<FakeDataplane>();
  }
  void TearDown() override {
    if (loop.joinable()) {
      d->stop();
      loop.join();
    }
    if (d) d->shutdown();
    set_log_sink(nullptr);
  }
  void start() {
    std::vector<std::unique_ptr<Module>> mods;
    for (auto &m : make_modules())
      if (m->module_name() == "store" || m->module_name() == "policy") mods.push_back(std::move(m));
    ASSERT_EQ(mods.size(), 2u);
    SluicedConfig cfg;
    std::istringstream in(ini);
    load_config(in, "sluiced.ini", cfg, mods);
    cfg.dataplanes = {"fake:a"};
    d = std::make_unique<Daemon>(cfg, std::move(mods), [this](const std::string &spec) {
      return std::make_unique<FakeClient>(spec, dps.at(spec));
    });
    d->start(false);
    loop = std::thread([this] { d->run(); });
  }
  json call(json req) {
    std::promise<json> p;
    auto f = p.get_future();
    d->loop().post([&] {
      try {
        p.set_value(d->commands().handle(req));
      } catch (...) {
        p.set_exception(std::current_exception());
      }
    });
    return f.get();
  }
  // One request on a new connection to the policy socket; the reply ("" if none in 10 s).
  std::string ask(const std::string &client, const std::string &recipient = "user@sluice.test") {
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
        "\nhelo_name=helo." + client +
        ".example\nsender=someone@Sender.Example\nrecipient=" + recipient + "\n\n";
    [[maybe_unused]] const ssize_t w = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string got;
    char c;
    while ((got.size() < 2 || got.compare(got.size() - 2, 2, "\n\n") != 0) &&
           ::recv(fd, &c, 1, 0) == 1)
      got += c;
    ::close(fd);
    return got;
  }
  template <class F>
  bool wait_for(F cond) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return cond();
  }
  template <class F>
  auto call_on_loop(F fn) {
    std::promise<decltype(fn())> p;
    auto f = p.get_future();
    d->loop().post([&] { p.set_value(fn()); });
    return f.get();
  }
  int32_t score_in_dataplane(const char *addr) {
    return call_on_loop([&] {
      auto v = dps["fake:a"]->table.lookup_v4(htonl(rep::parse_ip(addr)->v4));
      return v ? v->score : 0;
    });
  }

  TestDir dir;
  std::string ini;
  std::map<std::string, std::shared_ptr<FakeDataplane>> dps;
  std::unique_ptr<Daemon> d;
  std::thread loop;
  std::mutex log_mu;
  std::vector<std::string> logs;
};

TEST_F(PolicyDaemonTest, AnswersFromTheTableAndThePolicyLevels) {
  start();
  EXPECT_EQ(ask("198.18.0.7"), "action=DEFER_IF_PERMIT 4.7.1 slow down (tarpit)\n\n");
  EXPECT_EQ(ask("198.19.0.1"), "action=DUNNO\n\n");
  call({{"cmd", "host set"}, {"prefix", "198.19.0.2"}, {"action", "score"}, {"score", 4}});
  EXPECT_EQ(ask("198.19.0.2"), "action=PREPEND X-Sluice: score=4; level=1\n\n");
  call({{"cmd", "host set"}, {"prefix", "198.19.0.3"}, {"action", "deny"}});
  EXPECT_EQ(ask("198.19.0.3"), "action=REJECT 5.7.1 blocked, score 0\n\n");
}

TEST_F(PolicyDaemonTest, ATrapHitMakesADynamicEntryThatClearUndoes) {
  start();
  EXPECT_EQ(ask("198.19.0.1", "Trap@Sluice.Test"), "action=DUNNO\n\n");
  json entry;
  ASSERT_TRUE(wait_for([&] {
    const json list = call({{"cmd", "host list"}});
    for (const auto &e : list["entries"])
      if (e["prefix"] == "198.19.0.1/32") entry = e;
    return !entry.is_null();
  }));
  EXPECT_EQ(entry["score"], 60);
  EXPECT_EQ(entry["reason"], "trap_hit trap@sluice.test");
  EXPECT_EQ(entry["origin"], "policy service");
  ASSERT_FALSE(entry["expires"].is_null());
  // The ttl counts from the next whole second (expiry_after): an hour, or an hour and the rest
  // of the second the trap hit came in.
  const int64_t span = entry["expires"].get<int64_t>() - entry["created"].get<int64_t>();
  EXPECT_TRUE(span == 3600 || span == 3601) << span;
  EXPECT_EQ(score_in_dataplane("198.19.0.1"), 60);
  // The next request from it is answered at its new level.
  EXPECT_EQ(ask("198.19.0.1"), "action=REJECT 5.7.1 blocked, score 60\n\n");
  const json cleared = call({{"cmd", "clear"}, {"address", "198.19.0.1"}});
  EXPECT_EQ(cleared["removed"].size(), 1u);
  EXPECT_EQ(score_in_dataplane("198.19.0.1"), 0);
  EXPECT_EQ(ask("198.19.0.1"), "action=DUNNO\n\n");
  const json r = call({{"cmd", "policy recent"}});
  EXPECT_EQ(r["counters"]["trap_hits"], 1);
  EXPECT_EQ(r["counters"]["trap_entries"], 1);
  EXPECT_EQ(r["counters"]["trap_errors"], 0);
}

TEST_F(PolicyDaemonTest, PolicyRecentShowsClientHeloAndSenderDomain) {
  start();
  ask("198.18.0.7");
  ask("2001:2::1");
  const json r = call({{"cmd", "policy recent"}, {"limit", 1}});
  EXPECT_TRUE(r["enabled"]);
  ASSERT_EQ(r["recent"].size(), 1u);
  const json &last = r["recent"][0];
  EXPECT_EQ(last["client_address"], "2001:2::1");
  EXPECT_EQ(last["helo_name"], "helo.2001:2::1.example");
  EXPECT_EQ(last["sender_domain"], "sender.example");
  EXPECT_EQ(last["action"], "DUNNO");
  const json all = call({{"cmd", "policy recent"}});
  ASSERT_EQ(all["recent"].size(), 2u);
  EXPECT_EQ(all["recent"][0]["client_address"], "198.18.0.7");
  EXPECT_EQ(all["recent"][0]["score"], 10);
  EXPECT_EQ(all["recent"][0]["level"], 2);
  EXPECT_EQ(all["counters"]["requests"], 2);
  EXPECT_EQ(all["counters"]["replies"]["DEFER_IF_PERMIT"], 1);
  const json status = call({{"cmd", "status"}});
  EXPECT_EQ(status["modules"]["policy"]["requests"], 2);
}

TEST_F(PolicyDaemonTest, MetricsCountRequestsRepliesRefusalsAndTraps) {
  start();
  ask("198.18.0.7");
  ask("198.19.0.9", "trap@sluice.test");
  EXPECT_EQ(ask("198.18.0.7\x01"), "");  // refused: binary
  ASSERT_TRUE(wait_for([&] {
    return call({{"cmd", "policy recent"}})["counters"]["refusals"]["binary"] == 1;
  }));
  const std::string text = call_on_loop([] {
    metrics::Exposition e;
    for (auto &[name, c] : obs::extra_collectors())
      if (name == "policy") c(e);
    return e.render();
  });
  EXPECT_THAT(text, HasSubstr("sluiced_policy_requests_total 2\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_policy_replies_total{action=\"DEFER_IF_PERMIT\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_policy_replies_total{action=\"DUNNO\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_policy_refusals_total{reason=\"binary\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_policy_refusals_total{reason=\"line_too_long\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_policy_trap_hits_total 1\n"));
  std::lock_guard lock(log_mu);
  bool logged = false;
  for (const auto &l : logs) logged = logged || l.find("refused (binary)") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST_F(PolicyDaemonTest, ABrokenPolicyFileKeepsTheLevelsInForce) {
  start();
  EXPECT_EQ(ask("198.18.0.7"), "action=DEFER_IF_PERMIT 4.7.1 slow down (tarpit)\n\n");
  dir.write("policy.ini", "[level.1]\nthreshold = banana\n");
  ASSERT_TRUE(wait_for([&] {
    std::lock_guard lock(log_mu);
    for (const auto &l : logs)
      if (l.find("policy service: ") != std::string::npos &&
          l.find("the levels in force stay") != std::string::npos)
        return true;
    return false;
  }));
  EXPECT_EQ(ask("198.18.0.7"), "action=DEFER_IF_PERMIT 4.7.1 slow down (tarpit)\n\n");
}

}  // namespace
}  // namespace sluice::sluiced
