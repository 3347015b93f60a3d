// The feed in sluiced, end to end in one process: two daemons (sites A and B) with in-memory
// data planes (tests/control/sluiced/fake_dataplane.h), their [feed] sections read from
// sluiced.ini text, one real nats-server. `report` at A reaches B's data plane's table and B's
// `feed explain`; B's allowlist wins over the feed; bad values are refused; what A's own data
// plane observes (a pregreet client) reaches B's table through A's LocalShare. Prints the
// report -> B's data plane latency (no assertion on it).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "control/sluiced/fake_dataplane.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/sluiced_config.h"
#include "feed/keys.h"
#include "feed/nats_harness.h"
#include "metrics/exposition.h"
#include "obs/obs_explain.h"
#include "sluice/reputation/address.h"

namespace sluice::sluiced {
namespace {
using nlohmann::json;
using sluice::feed::testing::NatsCluster;
namespace feed = sluice::feed;

void write(const std::string &path, const std::string &text) {
  std::ofstream(path) << text;
}

// Runs fn on the daemon's loop thread and returns its result.
template <class Fn>
auto on_loop(Daemon &d, Fn fn) -> decltype(fn()) {
  std::promise<decltype(fn())> p;
  auto f = p.get_future();
  d.loop().post([&] {
    try {
      p.set_value(fn());
    } catch (...) {
      p.set_exception(std::current_exception());
    }
  });
  return f.get();
}

struct Site {
  std::shared_ptr<testing::FakeDataplane> dp = std::make_shared<testing::FakeDataplane>();
  std::unique_ptr<Daemon> daemon;
  std::thread loop;

  // feed_extra: more [feed] keys, one per line; trust_extra: more keys of the peer's section in
  // the trust file.
  Site(const NatsCluster &c, const std::string &me, const feed::KeyPair &mine,
       const std::string &peer, const feed::KeyPair &theirs, const std::string &allowlist,
       const std::string &feed_extra = "", const std::string &trust_extra = "") {
    const std::string d = c.dir() + "/" + me;
    std::filesystem::create_directories(d + "/state");
    write(d + "/key", feed::format_seed(mine.secret) + "\n");
    write(d + "/trust.ini",
          "[" + peer + "]\nkey = " + feed::format_public_key(theirs.pub) + "\n" + trust_extra);
    write(d + "/creds", "user = " + me + "\npassword = " + c.password(me) + "\n");
    write(d + "/ok.txt", allowlist + "\n");
    write(d + "/sources.ini", "[ok]\ntype = list\npath = ok.txt\nallow = true\n");
    std::istringstream ini("[sluiced]\nstate_dir = " + d + "/state\nsocket = " + d +
                           "/sluiced.sock\nsources = " + d + "/sources.ini\ndataplane = dpdk:" + d +
                           "/fake.sock\n[feed]\nservers = " + c.url(0) + "\ncredentials = " + d +
                           "/creds\nparticipant = " + me + "\nkey = " + d + "/key\ntrust = " + d +
                           "/trust.ini\n" + feed_extra +
                           // two daemons in one test, and the default port is the host's
                           "[metrics]\nenabled = false\n");
    SluicedConfig cfg;
    auto modules = make_modules();
    load_config(ini, "sluiced.ini", cfg, modules);
    daemon = std::make_unique<Daemon>(cfg, std::move(modules), [this](const std::string &spec) {
      return std::make_unique<testing::FakeClient>(spec, dp);
    });
    daemon->start(false);
    loop = std::thread([this] { daemon->run(); });
  }
  ~Site() {
    daemon->stop();
    loop.join();
    daemon->shutdown();
  }
  json call(json req) {
    return on_loop(*daemon, [&] { return daemon->commands().handle(req); });
  }
  // The score B's data plane has for addr (its table is written on the loop thread).
  int32_t score(const std::string &addr) {
    return on_loop(*daemon, [&] {
      auto v = dp->table.lookup_v4(htonl(*reputation::parse_ipv4(addr)));
      return v ? v->score : 0;
    });
  }
};

class FeedDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    if (feed::testing::find_nats_server().empty()) GTEST_SKIP() << "no nats-server binary";
    set_log_sink([](LogLevel, std::string_view) {});
  }
  void TearDown() override { set_log_sink(nullptr); }
  feed::KeyPair ka = feed::generate_keypair(), kb = feed::generate_keypair();
};

TEST_F(FeedDaemon, ReportAtAReachesBsDataplaneAndExplain) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  Site a(cluster, "isp-a", ka, "isp-b", kb, "198.18.200.1");
  Site b(cluster, "isp-b", kb, "isp-a", ka, "198.18.200.1");
  std::vector<double> ms;
  constexpr int kReports = 20;
  for (int i = 0; i < kReports; ++i) {
    const std::string addr = "198.18.1." + std::to_string(i + 1);
    const auto t0 = std::chrono::steady_clock::now();
    json r = a.call({{"cmd", "report"},
                     {"addr", addr},
                     {"kind", "complaint"},
                     {"count", 2},
                     {"evidence", "t-" + std::to_string(i)}});
    ASSERT_TRUE(r.value("queued", false)) << r.dump();
    // The report also counts in A's own local score model (docs/learning.md): complaint 4 x 2.
    EXPECT_TRUE(r.value("counted_locally", false)) << r.dump();
    bool seen = false;
    for (int tries = 0; tries < 2000 && !seen; ++tries) {  // 10 s at most
      seen = b.score(addr) > 0;
      if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(seen) << addr << " never reached B's data plane";
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    EXPECT_EQ(b.score(addr), 10);  // complaint 5 points x 2, weight 1
  }
  for (int tries = 0; tries < 2000 && a.score("198.18.1.1") != 8; ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(a.score("198.18.1.1"), 8);
  std::sort(ms.begin(), ms.end());
  printf(
      "report at A -> B's data plane table, %d reports (ms): median %.1f p10 %.1f p90 %.1f "
      "min %.1f max %.1f\n",
      kReports, ms[ms.size() / 2], ms[ms.size() / 10], ms[ms.size() * 9 / 10], ms.front(),
      ms.back());
  const json e = b.call({{"cmd", "feed explain"}, {"addr", "198.18.1.1"}});
  ASSERT_EQ(e["contributions"].size(), 1u) << e.dump();
  EXPECT_EQ(e["contributions"][0]["participant"], "isp-a");
  EXPECT_EQ(e["contributions"][0]["weight"], 10);
  EXPECT_EQ(e["contributions"][0]["last_evidence"], "t-0");
  EXPECT_GT(e["contributions"][0]["expires_unix"].get<int64_t>(), std::time(nullptr));
  const json st = b.call({{"cmd", "feed status"}});
  EXPECT_EQ(st["accepted_batches"].get<uint64_t>(), static_cast<uint64_t>(kReports));
  EXPECT_EQ(st["refused"]["replay"], 0);
  // A conn_rate report counts in A's local model as a rate: COUNT over WINDOW seconds, per
  // minute (100 SYNs in 10 s are 600 SYN/min).
  a.call({{"cmd", "report"},
          {"addr", "198.18.3.3"},
          {"kind", "conn_rate"},
          {"count", 100},
          {"window", 10}});
  const json x = a.call({{"cmd", "learn explain"}, {"addr", "198.18.3.3"}});
  ASSERT_EQ(x["kinds"].size(), 1u) << x.dump();
  EXPECT_NEAR(x["kinds"][0]["recorded_count"].get<double>(), 600, 0.5) << x.dump();
  // The operator's reports went to the feed once: their copies on A's observation bus (for its
  // local model) are not shared a second time.
  const json sa = a.call({{"cmd", "feed status"}});
  EXPECT_EQ(sa["share"]["kinds"]["complaint"]["offered"], 0) << sa.dump();
  EXPECT_EQ(sa["share"]["kinds"]["conn_rate"]["offered"], 0) << sa.dump();
}

TEST_F(FeedDaemon, WhatAsDataplaneSeesReachesBsTableThroughTheFeed) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  Site a(cluster, "isp-a", ka, "isp-b", kb, "198.18.200.1");
  Site b(cluster, "isp-b", kb, "isp-a", ka, "198.18.200.1");
  // A's data plane counts two connections of 198.18.4.4 that talked before the greeting; A's
  // heavy-hitter poller (every second by default) turns them into a pregreet observation.
  on_loop(*a.daemon, [&] {
    a.dp->heavy = std::vector<control::HeavySender>{};  // it answers the heavy-hitter poll
    a.dp->pregreet = std::vector<control::PregreetSender>{{"198.18.4.4", 2}};
    return 0;
  });
  for (int tries = 0; tries < 2000 && b.score("198.18.4.4") == 0; ++tries)  // 10 s at most
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(b.score("198.18.4.4"), 10);  // pregreet 5 points x 2 connections, weight 1
  const json e = b.call({{"cmd", "feed explain"}, {"addr", "198.18.4.4"}});
  ASSERT_EQ(e["contributions"].size(), 1u) << e.dump();
  EXPECT_EQ(e["contributions"][0]["participant"], "isp-a");
  EXPECT_EQ(e["contributions"][0]["last_kind"], "pregreet");
  EXPECT_EQ(e["contributions"][0]["last_evidence"], "");
  // Three more connections within the share interval: merged, not published yet.
  on_loop(*a.daemon, [&] {
    a.dp->pregreet = std::vector<control::PregreetSender>{{"198.18.4.4", 5}};
    return 0;
  });
  json sa;
  for (int tries = 0; tries < 2000; ++tries) {
    sa = a.call({{"cmd", "feed status"}});
    if (sa["share"]["kinds"]["pregreet"]["offered"] == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(sa["share"]["kinds"]["pregreet"]["offered"], 2) << sa.dump();
  EXPECT_EQ(sa["share"]["kinds"]["pregreet"]["published"], 1) << sa.dump();
  EXPECT_EQ(sa["share"]["entries"], 1) << sa.dump();
  EXPECT_EQ(b.score("198.18.4.4"), 10);
}

// B's own verdicts are shared, except about a sender the feed scores at B: that block may be the
// feed's doing, and sharing it would hand the feed its own evidence back.
TEST_F(FeedDaemon, VerdictsAreSharedExceptAboutSendersTheFeedScores) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  Site a(cluster, "isp-a", ka, "isp-b", kb, "198.18.200.1");
  Site b(cluster, "isp-b", kb, "isp-a", ka, "198.18.200.1");
  a.call({{"cmd", "report"}, {"addr", "198.18.7.7"}, {"kind", "trap_hit"}});
  for (int tries = 0; tries < 2000 && b.score("198.18.7.7") == 0; ++tries)  // 10 s at most
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GT(b.score("198.18.7.7"), 0);
  on_loop(*b.daemon, [&] {
    b.dp->heavy = std::vector<control::HeavySender>{};
    b.dp->verdicts =
        std::vector<control::VerdictSender>{{"198.18.7.7", 1, 0, 3}, {"198.18.7.8", 1, 0, 2}};
    return 0;
  });
  for (int tries = 0; tries < 2000 && a.score("198.18.7.8") == 0; ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_GT(a.score("198.18.7.8"), 0) << "B's own block reached A";
  const json e = a.call({{"cmd", "feed explain"}, {"addr", "198.18.7.8"}});
  ASSERT_EQ(e["contributions"].size(), 1u) << e.dump();
  EXPECT_EQ(e["contributions"][0]["participant"], "isp-b");
  EXPECT_EQ(e["contributions"][0]["last_kind"], "blocked");
  const json sb = b.call({{"cmd", "feed status"}});
  EXPECT_EQ(sb["share"]["verdicts_scored_by_feed"], 1) << sb.dump();
  EXPECT_EQ(sb["share"]["kinds"]["blocked"]["offered"], 1) << sb.dump();
  EXPECT_EQ(sb["share"]["kinds"]["blocked"]["published"], 1) << sb.dump();
  EXPECT_EQ(sb["published_observations"], 1) << "nothing about 198.18.7.7: " << sb.dump();
}

// Liveness: B watches A with max_silence = 1s. Quiet, A is flagged silent (status and metric
// agree); one batch from A clears it and shows its lag and observations.
TEST_F(FeedDaemon, AQuietParticipantIsFlaggedSilentUntilItsNextBatch) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  Site a(cluster, "isp-a", ka, "isp-b", kb, "198.18.200.1");
  Site b(cluster, "isp-b", kb, "isp-a", ka, "198.18.200.1", "", "max_silence = 1s\n");
  auto participant = [&] {
    const json st = b.call({{"cmd", "feed status"}});
    return st["participants"][0];
  };
  json p = participant();
  EXPECT_EQ(p["name"], "isp-a");
  EXPECT_EQ(p["max_silence_s"], 1);
  EXPECT_TRUE(p["last_batch_unix_ms"].is_null()) << p.dump();
  for (int tries = 0; tries < 2000 && !p["silent"].get<bool>(); ++tries) {  // 10 s at most
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    p = participant();
  }
  ASSERT_TRUE(p["silent"].get<bool>()) << p.dump();
  EXPECT_GT(p["silent_for_s"].get<int64_t>(), 0);
  // The metric says so too (B started last: its module is the one a scrape reports).
  const std::string metrics = on_loop(*b.daemon, [] {
    metrics::Exposition e;
    for (auto &[name, collect] : obs::extra_collectors())
      if (name == "feed") collect(e);
    return e.render();
  });
  EXPECT_NE(metrics.find("sluiced_feed_participant_silent{participant=\"isp-a\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("sluiced_feed_connected 1\n"), std::string::npos) << metrics;

  a.call({{"cmd", "report"}, {"addr", "198.18.6.6"}, {"kind", "complaint"}, {"count", 3}});
  for (int tries = 0; tries < 2000 && p["silent"].get<bool>(); ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    p = participant();
  }
  EXPECT_FALSE(p["silent"].get<bool>()) << p.dump();
  EXPECT_EQ(p["batches"], 1) << p.dump();
  EXPECT_EQ(p["observations"], 1) << p.dump();
  EXPECT_EQ(p["observations_last_minute"], 1) << p.dump();
  EXPECT_TRUE(p["last_batch_unix_ms"].is_number()) << p.dump();
  EXPECT_GE(p["lag_ms"].get<int64_t>(), 0) << p.dump();
}

TEST_F(FeedDaemon, ShareNoneKeepsEverythingLocal) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  Site a(cluster, "isp-a", ka, "isp-b", kb, "198.18.200.1", "share = none\n");
  Site b(cluster, "isp-b", kb, "isp-a", ka, "198.18.200.1");
  on_loop(*a.daemon, [&] {
    a.dp->heavy = std::vector<control::HeavySender>{};
    a.dp->pregreet = std::vector<control::PregreetSender>{{"198.18.5.5", 2}};
    return 0;
  });
  json sa;
  for (int tries = 0; tries < 2000; ++tries) {
    sa = a.call({{"cmd", "feed status"}});
    if (sa["share"]["not_shared"] >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(sa["share"]["not_shared"], 1) << sa.dump();
  EXPECT_EQ(sa["share"]["kinds"].size(), 0u) << sa.dump();
  // A marker report proves B reads A's subject; the pregreet client never arrives.
  a.call({{"cmd", "report"}, {"addr", "198.18.5.6"}, {"kind", "trap_hit"}});
  for (int tries = 0; tries < 2000 && b.score("198.18.5.6") == 0; ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GT(b.score("198.18.5.6"), 0);
  EXPECT_EQ(b.score("198.18.5.5"), 0);
  EXPECT_EQ(a.call({{"cmd", "feed status"}})["published_observations"], 1);
}

TEST_F(FeedDaemon, LocalAllowlistWinsOverTheFeed) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  Site a(cluster, "isp-a", ka, "isp-b", kb, "198.18.200.1");
  Site b(cluster, "isp-b", kb, "isp-a", ka, "198.18.9.9");
  a.call({{"cmd", "report"}, {"addr", "198.18.9.9"}, {"kind", "trap_hit"}});
  a.call({{"cmd", "report"}, {"addr", "198.18.9.10"}, {"kind", "trap_hit"}});  // a marker
  for (int tries = 0; tries < 2000 && b.score("198.18.9.10") == 0; ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GT(b.score("198.18.9.10"), 0);
  EXPECT_EQ(b.score("198.18.9.9"), 0);
  const json e = b.call({{"cmd", "feed explain"}, {"addr", "198.18.9.9"}});
  ASSERT_EQ(e["contributions"].size(), 1u) << e.dump();
  EXPECT_TRUE(e["contributions"][0]["decided_locally"].get<bool>());
  EXPECT_EQ(e["total"], 0);
}

// Removes its directory when the test ends, a failed one too.
struct ScratchDir {
  std::string path;
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// A scratch directory with a key and a trust file, and sluiced.ini text with a [feed] section
// over them loaded as sluiced does (no server needed: the configuration is read before anything
// connects). Throws what the loader throws.
std::string feed_config_dir(const std::string &name) {
  const std::string d = ::testing::TempDir() + "/" + name + "." + std::to_string(getpid());
  std::filesystem::create_directories(d);
  const feed::KeyPair k = feed::generate_keypair();
  write(d + "/key", feed::format_seed(k.secret) + "\n");
  write(d + "/trust.ini", "[isp-b]\nkey = " + feed::format_public_key(k.pub) + "\n");
  return d;
}
void load_feed_config(const std::string &d, const std::string &servers, const std::string &keys) {
  std::istringstream ini("[sluiced]\nstate_dir = " + d + "\n[feed]\nservers = " + servers +
                         "\nparticipant = isp-a\nkey = " + d + "/key\ntrust = " + d +
                         "/trust.ini\n" + keys);
  SluicedConfig cfg;
  auto modules = make_modules();
  load_config(ini, "sluiced.ini", cfg, modules);
}

// The sharing keys of [feed]: bad values are refused naming the key (no server needed: the
// configuration is read before anything connects).
TEST(FeedShareConfig, BadValuesAreRefusedNamingTheKey) {
  const std::string d = feed_config_dir("feed_share_config");
  const ScratchDir cleanup{d};
  auto load = [&](const std::string &keys) { load_feed_config(d, "nats://127.0.0.1:1", keys); };
  EXPECT_NO_THROW(load("share = pregreet, trap_hit\nshare_interval = 5m\nshare_ttl = 1d\n"));
  EXPECT_NO_THROW(load("share = none\n"));
  EXPECT_NO_THROW(load("share = shaped blocked\n"));
  const std::pair<const char *, const char *> bad[] = {
      {"share = unknown_recipient\n", "feed.share"},
      {"share = none, pregreet\n", "feed.share"},
      {"share = ,\n", "feed.share"},
      {"share_interval = 0s\n", "feed.share_interval"},
      {"share_interval = 2h\n", "feed.share_interval"},
      {"share_ttl = 59s\n", "feed.share_ttl"},
      {"share_max_entries = 0\n", "feed.share_max_entries"},
      {"share_rate = 1e3\n", "feed.share_rate"},
      {"share_rate = 100001\n", "feed.share_rate"},
  };
  for (const auto &[keys, name] : bad) {
    try {
      load(keys);
      ADD_FAILURE() << keys << " was accepted";
    } catch (const ConfigError &e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << keys << ": " << e.what();
    }
  }
}

// The TLS keys of [feed]: a relative or unreadable path, a certificate without its key or
// without a CA, a tls:// server without a CA are refused naming the key.
TEST(FeedTlsConfig, BadValuesAreRefusedNamingTheKey) {
  const std::string d = feed_config_dir("feed_tls_config");
  const ScratchDir cleanup{d};
  write(d + "/ca.pem", "not read here\n");
  auto load = [&](const std::string &servers, const std::string &keys) {
    load_feed_config(d, servers, keys);
  };
  const std::string ca = "tls_ca = " + d + "/ca.pem\n";
  EXPECT_NO_THROW(load("tls://127.0.0.1:1", ca));
  EXPECT_NO_THROW(
      load("nats://127.0.0.1:1", ca + "tls_cert = " + d + "/ca.pem\ntls_key = " + d + "/ca.pem\n"));
  const std::tuple<std::string, std::string, const char *> bad[] = {
      {"nats://127.0.0.1:1", "tls_ca = ca.pem\n", "feed.tls_ca"},
      {"nats://127.0.0.1:1", "tls_ca = " + d + "/missing.pem\n", "feed.tls_ca"},
      {"nats://127.0.0.1:1", ca + "tls_cert = " + d + "/ca.pem\n", "feed.tls_cert"},
      {"nats://127.0.0.1:1", "tls_cert = " + d + "/ca.pem\ntls_key = " + d + "/ca.pem\n",
       "feed.tls_cert"},
      {"tls://127.0.0.1:1", "", "feed.tls_ca"},
  };
  for (const auto &[servers, keys, name] : bad) {
    try {
      load(servers, keys);
      ADD_FAILURE() << keys << " was accepted";
    } catch (const ConfigError &e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << keys << ": " << e.what();
    }
  }
}

TEST_F(FeedDaemon, ReportRefusesBadValues) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  Site a(cluster, "isp-a", ka, "isp-b", kb, "198.18.200.1");
  for (const json &bad : {json{{"cmd", "report"}, {"addr", "example.net"}},
                          json{{"cmd", "report"}, {"addr", "198.18.0.1"}, {"kind", "spam"}},
                          json{{"cmd", "report"}, {"addr", "198.18.0.1"}, {"count", 0}},
                          json{{"cmd", "report"}, {"addr", "198.18.0.1"}, {"ttl", 1}},
                          json{{"cmd", "report"}, {"addr", "198.18.0.1"}, {"evidence", "a b"}},
                          json{{"cmd", "report"}}})
    EXPECT_THROW(a.call(bad), sluice::Error) << bad.dump();
}

}  // namespace
}  // namespace sluice::sluiced
