// Postfix log observations inside sluiced (control/sluiced/maillog/): [maillog] read and refused
// clearly; a followed file's real Postfix lines published on the daemon's ObservationBus with
// origin "maillog", kinds not configured counted but not published; `maillog recent`, status and
// the metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "fake_dataplane.h"
#include "maillog/maillog_config.h"
#include "metrics/exposition.h"
#include "obs/obs_explain.h"
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

maillog::MaillogConfig read(const std::string &text) {
  ConfigSchema schema;
  maillog::describe_maillog_config(schema);
  std::istringstream in(text);
  return maillog::read_maillog_config(schema.parse(in, "sluiced.ini"));
}

std::string refusal(const std::string &text) {
  try {
    read(text);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "accepted";
}

TEST(MaillogConfig, OffByDefault) {
  const auto c = read("");
  EXPECT_FALSE(c.enabled);
  EXPECT_FALSE(c.from_start);
  EXPECT_EQ(c.max_line, 8192u);
  EXPECT_EQ(c.recent, 64u);
  EXPECT_TRUE(c.publish[static_cast<size_t>(LocalKind::kUnknownRecipient)]);
  EXPECT_TRUE(c.publish[static_cast<size_t>(LocalKind::kRblReject)]);
  EXPECT_TRUE(c.publish[static_cast<size_t>(LocalKind::kPregreet)]);
  EXPECT_TRUE(c.publish[static_cast<size_t>(LocalKind::kProtocolError)]);
  EXPECT_FALSE(c.publish[static_cast<size_t>(LocalKind::kComplaint)]);
  EXPECT_FALSE(c.publish[static_cast<size_t>(LocalKind::kConnRate)]);
}

TEST(MaillogConfig, ValuesAreRead) {
  const auto c = read(
      "[maillog]\nenabled = true\npath = /var/log/mail.log\nfrom_start = yes\nmax_line = 1024\n"
      "kinds = pregreet, rbl_reject\nrecent = 5\n");
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.path, "/var/log/mail.log");
  EXPECT_TRUE(c.from_start);
  EXPECT_EQ(c.max_line, 1024u);
  EXPECT_EQ(c.recent, 5u);
  EXPECT_FALSE(c.publish[static_cast<size_t>(LocalKind::kUnknownRecipient)]);
  EXPECT_TRUE(c.publish[static_cast<size_t>(LocalKind::kRblReject)]);
  EXPECT_TRUE(c.publish[static_cast<size_t>(LocalKind::kPregreet)]);
  EXPECT_FALSE(c.publish[static_cast<size_t>(LocalKind::kProtocolError)]);
}

TEST(MaillogConfig, BadValuesAreRefusedNamingTheKey) {
  EXPECT_THAT(refusal("[maillog]\nenabled = true\n"),
              HasSubstr("maillog.path: required when maillog.enabled = true"));
  EXPECT_THAT(refusal("[maillog]\npath = mail.log\n"), HasSubstr("maillog.path: 'mail.log'"));
  EXPECT_THAT(refusal("[maillog]\npath = /var/log/\n"), HasSubstr("not an absolute path"));
  EXPECT_THAT(refusal("[maillog]\nenabled = maybe\n"), HasSubstr("maillog.enabled"));
  EXPECT_THAT(refusal("[maillog]\nfrom_start = 2\n"), HasSubstr("maillog.from_start"));
  EXPECT_THAT(refusal("[maillog]\nmax_line = 10\n"), HasSubstr("maillog.max_line: '10'"));
  EXPECT_THAT(refusal("[maillog]\nmax_line = 8k\n"), HasSubstr("maillog.max_line"));
  EXPECT_THAT(refusal("[maillog]\nrecent = 2000\n"), HasSubstr("maillog.recent"));
  EXPECT_THAT(refusal("[maillog]\nkinds = complaint\n"),
              HasSubstr("maillog.kinds: 'complaint' is not one of"));
  EXPECT_THAT(refusal("[maillog]\nkinds = pregreet,bogus\n"), HasSubstr("'bogus'"));
  EXPECT_THAT(refusal("[maillog]\nkinds = ,\n"), HasSubstr("maillog.kinds: empty"));
  EXPECT_THAT(refusal("[maillog]\nbogus = 1\n"),
              HasSubstr("unknown key 'bogus' in section [maillog]"));
}

// Real lines (tests/control/sluiced/maillog/data/postfix-3.7.11-maillog_file.log).
const std::string kUnknown =
    "Nov 30 19:38:57 mta postfix/smtpd[24858]: NOQUEUE: reject: RCPT from unknown[198.18.0.60]: "
    "550 5.1.1 <nobody@sluice.test>: Recipient address rejected: User unknown in virtual mailbox "
    "table; from=<a@client.example> to=<nobody@sluice.test> proto=ESMTP "
    "helo=<client60.example>\n";
const std::string kPregreet =
    "Nov 30 19:39:00 mta postfix/postscreen[25248]: PREGREET 24 after 0 from "
    "[2001:2::64]:38371: EHLO pregreet6.example\\r\\n\n";
const std::string kRbl =
    "Nov 30 19:39:03 mta postfix/postscreen[25296]: DNSBL rank 2 for [198.18.0.66]:60491\n";
const std::string kOther =
    "Nov 30 19:38:57 mta postfix/smtpd[24858]: connect from unknown[198.18.0.60]\n";

class MaillogDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([this](LogLevel, std::string_view m) {
      std::lock_guard lock(mu);
      logs.emplace_back(m);
    });
    dir.write("sources.ini", "[drop]\ntype = list\npath = drop.txt\nweight = 10\n");
    dir.write("drop.txt", "192.0.2.0/24\n");
    log_path = dir / "mail.log";
    ini = "[sluiced]\nstate_dir = " + dir / "state" + "\nsocket = " + dir / "sluiced.sock" +
          "\nsources = " + dir / "sources.ini" + "\n[maillog]\nenabled = true\npath = " + log_path +
          "\nkinds = unknown_recipient, pregreet\nmax_line = 512\n";
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
      if (m->module_name() == "maillog") mods.push_back(std::move(m));
    ASSERT_EQ(mods.size(), 1u);
    SluicedConfig cfg;
    std::istringstream in(ini);
    load_config(in, "sluiced.ini", cfg, mods);
    cfg.dataplanes = {"fake:a"};
    d = std::make_unique<Daemon>(cfg, std::move(mods), [this](const std::string &spec) {
      return std::make_unique<FakeClient>(spec, dps.at(spec));
    });
    d->start(false);
    d->observations().subscribe([this](const LocalObservation &o) {
      std::lock_guard lock(mu);
      seen.push_back(o);
    });
    loop = std::thread([this] { d->run(); });
  }
  template <class F>
  auto call_on_loop(F fn) {
    std::promise<decltype(fn())> p;
    auto f = p.get_future();
    d->loop().post([&] { p.set_value(fn()); });
    return f.get();
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
  template <class F>
  bool wait_for(F cond) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return cond();
  }
  size_t seen_count() {
    std::lock_guard lock(mu);
    return seen.size();
  }
  void append(const std::string &text) {
    std::ofstream out(log_path, std::ios::app | std::ios::binary);
    out << text;
  }

  TestDir dir;
  std::string ini, log_path;
  std::map<std::string, std::shared_ptr<FakeDataplane>> dps;
  std::unique_ptr<Daemon> d;
  std::thread loop;
  std::mutex mu;
  std::vector<std::string> logs;
  std::vector<LocalObservation> seen;
};

TEST_F(MaillogDaemonTest, LinesBecomeObservations) {
  append(kUnknown);  // before start: not read (from_start = false)
  start();
  append(kOther + kUnknown + kRbl + kPregreet);
  ASSERT_TRUE(wait_for([&] { return seen_count() >= 2; }));
  // The RBL line's kind is not configured: counted, listed, not published.
  ASSERT_TRUE(wait_for([&] {
    return call({{"cmd", "maillog recent"}})["counters"]["lines"] == 4;
  }));
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(rep::format_ip(seen[0].subject), "198.18.0.60");
    EXPECT_EQ(seen[0].kind, LocalKind::kUnknownRecipient);
    EXPECT_EQ(seen[0].origin, "maillog");
    EXPECT_EQ(seen[0].evidence, "550 5.1.1");
    EXPECT_EQ(seen[0].count, 1u);
    EXPECT_EQ(rep::format_ip(seen[1].subject), "2001:2::64");
    EXPECT_EQ(seen[1].kind, LocalKind::kPregreet);
  }
  const json r = call({{"cmd", "maillog recent"}});
  EXPECT_EQ(r["enabled"], true);
  EXPECT_EQ(r["path"], log_path);
  ASSERT_EQ(r["recent"].size(), 3u);
  EXPECT_EQ(r["recent"][1]["client"], "198.18.0.66");
  EXPECT_EQ(r["recent"][1]["kind"], "rbl_reject");
  EXPECT_EQ(r["recent"][1]["published"], false);
  EXPECT_EQ(r["recent"][1]["daemon"], "postscreen");
  EXPECT_EQ(r["counters"]["matched"]["unknown_recipient"], 1);
  EXPECT_EQ(r["counters"]["matched"]["rbl_reject"], 1);
  EXPECT_EQ(r["counters"]["published"], 2);
  EXPECT_EQ(call({{"cmd", "maillog recent"}, {"limit", 1}})["recent"].size(), 1u);
  EXPECT_THROW(call({{"cmd", "maillog recent"}, {"limit", -1}}), CommandError);
  const json s = call_on_loop([&] { return d->status_json(); });
  ASSERT_TRUE(s["modules"].contains("maillog")) << s.dump();
  EXPECT_EQ(s["modules"]["maillog"]["matched"]["pregreet"], 1);
  EXPECT_EQ(s["modules"]["maillog"]["open"], true);
  const std::string text = call_on_loop([] {
    metrics::Exposition e;
    for (auto &[name, c] : obs::extra_collectors())
      if (name == "maillog") c(e);
    return e.render();
  });
  EXPECT_THAT(text, HasSubstr("sluiced_maillog_lines_total 4\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_maillog_matches_total{kind=\"rbl_reject\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_maillog_published_total 2\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_maillog_file_open 1\n"));
}

TEST_F(MaillogDaemonTest, OverlongLinesAndRotationAreCounted) {
  start();
  ASSERT_TRUE(wait_for([&] { return call({{"cmd", "maillog recent"}})["open"] == false; }));
  append(std::string(600, 'x') + "\n" + kUnknown);  // the file appears: read from its start
  ASSERT_TRUE(wait_for([&] { return seen_count() == 1; }));
  ASSERT_EQ(::rename(log_path.c_str(), (log_path + ".1").c_str()), 0);
  append(kPregreet);
  ASSERT_TRUE(wait_for([&] { return seen_count() == 2; }));
  const json c = call({{"cmd", "maillog recent"}})["counters"];
  EXPECT_EQ(c["overlong"], 1);
  EXPECT_EQ(c["rotations"], 1);
}

TEST_F(MaillogDaemonTest, ASymlinkIsRefusedAndSaidOnce) {
  dir.write("real.log", kUnknown);
  ASSERT_EQ(::symlink((dir / "real.log").c_str(), log_path.c_str()), 0);
  ini += "from_start = true\n";
  start();
  ASSERT_TRUE(wait_for([&] {
    std::lock_guard lock(mu);
    for (const auto &l : logs)
      if (l.find("symbolic link") != std::string::npos) return true;
    return false;
  }));
  const json r = call({{"cmd", "maillog recent"}});
  EXPECT_EQ(r["open"], false);
  EXPECT_THAT(r["problem"].get<std::string>(), HasSubstr("symbolic link"));
  EXPECT_EQ(seen_count(), 0u);
}

TEST_F(MaillogDaemonTest, OffMeansNoFollower) {
  ini = "[sluiced]\nstate_dir = " + dir / "state" + "\nsocket = " + dir / "sluiced.sock" +
        "\nsources = " + dir / "sources.ini" + "\n";
  start();
  const json r = call({{"cmd", "maillog recent"}});
  EXPECT_EQ(r["enabled"], false);
  EXPECT_FALSE(r.contains("recent"));
  const json s = call_on_loop([&] { return d->status_json(); });
  EXPECT_FALSE(s.contains("modules") && s["modules"].contains("maillog")) << s.dump();
}

}  // namespace
}  // namespace sluice::sluiced
