// Complaints inside sluiced (control/sluiced/arf/): [complaints] read and refused clearly;
// `report arf` over the control socket publishes exactly one complaint observation per new
// report (a duplicate and a refusal publish none), also after a restart; a mail put in the
// configured maildir does the same; sluicectl report --arf FILE and --arf - drive it, a report
// mail near 1 MiB fits through the socket, and status counts every outcome.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include "arf/arf_samples.h"
#include "arf/complaints_config.h"
#include "control/run_sluicectl.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon_client.h"
#include "fake_dataplane.h"
#include "metrics/exposition.h"
#include "obs/obs_explain.h"
#include "sluice/reputation/address.h"
#include "test_dir.h"

namespace sluice::sluiced {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using namespace arf::testing;

// ---- [complaints] -----------------------------------------------------------------------------

arf::ComplaintsConfig read(const std::string &text) {
  ConfigSchema schema;
  arf::describe_complaints_config(schema);
  std::istringstream in(text);
  return arf::read_complaints_config(schema.parse(in, "sluiced.ini"));
}

std::string refusal(const std::string &text) {
  try {
    read(text);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "accepted";
}

TEST(ComplaintsConfig, DefaultsAndValues) {
  auto c = read("");
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.maildir, "");
  EXPECT_EQ(c.max_report_bytes, size_t{1} << 20);
  EXPECT_EQ(c.dedup_memory, 100000u);
  c = read(
      "[complaints]\nenabled = no\nmaildir = /var/lib/sluice/arf/\nmax_report_bytes = 4096\n"
      "dedup_memory = 0\n");
  EXPECT_FALSE(c.enabled);
  EXPECT_EQ(c.maildir, "/var/lib/sluice/arf");
  EXPECT_EQ(c.max_report_bytes, 4096u);
  EXPECT_EQ(c.dedup_memory, 0u);
}

TEST(ComplaintsConfig, BadValuesAreRefusedNamingTheKey) {
  EXPECT_THAT(refusal("[complaints]\nenabled = maybe\n"), HasSubstr("complaints.enabled"));
  EXPECT_THAT(refusal("[complaints]\nmaildir = relative/dir\n"),
              HasSubstr("complaints.maildir: 'relative/dir' is not an absolute path"));
  EXPECT_THAT(refusal("[complaints]\nmax_report_bytes = 10\n"),
              HasSubstr("complaints.max_report_bytes"));
  EXPECT_THAT(refusal("[complaints]\nmax_report_bytes = 1MB\n"),
              HasSubstr("complaints.max_report_bytes"));
  EXPECT_THAT(refusal("[complaints]\ndedup_memory = -1\n"), HasSubstr("complaints.dedup_memory"));
  EXPECT_THAT(refusal("[complaints]\nbogus = 1\n"),
              HasSubstr("unknown key 'bogus' in section [complaints]"));
}

// ---- in the daemon ----------------------------------------------------------------------------

std::string b64(const std::string &s) {
  std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char *>(s.data()),
                    s.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return out;
}

class ComplaintsDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([this](LogLevel, std::string_view m) {
      std::lock_guard lock(mu);
      logs.emplace_back(m);
    });
    for (const char *d : {"md/new", "md/cur", "md/tmp"}) fs::create_directories(dir / d);
    ini = "[sluiced]\nstate_dir = " + dir / "state" + "\nsocket = " + dir / "sluiced.sock" +
          "\n[complaints]\nmaildir = " + dir / "md" + "\n";
    dps["fake:a"] = std::make_shared<testing::FakeDataplane>();
  }
  void TearDown() override {
    halt();
    set_log_sink(nullptr);
  }
  void start() {
    std::vector<std::unique_ptr<Module>> mods;
    for (auto &m : make_modules())
      if (m->module_name() == "complaints") mods.push_back(std::move(m));
    ASSERT_EQ(mods.size(), 1u);
    SluicedConfig cfg;
    std::istringstream in(ini);
    load_config(in, "sluiced.ini", cfg, mods);
    cfg.dataplanes = {"fake:a"};
    d = std::make_unique<Daemon>(cfg, std::move(mods), [this](const std::string &spec) {
      return std::make_unique<testing::FakeClient>(spec, dps.at(spec));
    });
    d->start(true);
    d->observations().subscribe([this](const LocalObservation &o) {
      std::lock_guard lock(mu);
      seen.push_back(o);
    });
    loop = std::thread([this] { d->run(); });
  }
  void halt() {
    if (loop.joinable()) {
      d->stop();
      loop.join();
    }
    if (d) d->shutdown();
    d.reset();
  }
  // One request over the control socket, as sluicectl sends it.
  json call(const json &req) {
    control::DaemonClient c(dir / "sluiced.sock");
    return c.call(req);
  }
  json report(const std::string &mail) {
    return call({{"cmd", "report arf"}, {"mail_base64", b64(mail)}});
  }
  std::vector<LocalObservation> observations() {
    std::lock_guard lock(mu);
    return seen;
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
  sluice::testing::CliResult ctl(std::vector<std::string> args,
                                 const std::string &stdin_file = "") {
    args.insert(args.begin(), {"--daemon", dir / "sluiced.sock"});
    return sluice::testing::run_sluicectl(args, dir.path(), stdin_file);
  }

  testing::TestDir dir;
  std::string ini;
  std::map<std::string, std::shared_ptr<testing::FakeDataplane>> dps;
  std::unique_ptr<Daemon> d;
  std::thread loop;
  std::mutex mu;
  std::vector<std::string> logs;
  std::vector<LocalObservation> seen;
};

TEST_F(ComplaintsDaemonTest, ReportArfPublishesOneObservationPerNewReport) {
  start();
  json r = report(typical_report());
  EXPECT_EQ(r["result"], "accepted");
  EXPECT_EQ(r["subject"], "198.51.100.7");
  EXPECT_EQ(r["feedback_type"], "abuse");
  EXPECT_EQ(r["key"], "<fbl-2026-11-30-0001@mailbox.example>");
  auto obs = observations();
  ASSERT_EQ(obs.size(), 1u);
  EXPECT_EQ(reputation::format_ip(obs[0].subject), "198.51.100.7");
  EXPECT_EQ(obs[0].kind, LocalKind::kComplaint);
  EXPECT_EQ(obs[0].origin, "arf");
  EXPECT_EQ(obs[0].evidence, "<fbl-2026-11-30-0001@mailbox.example>");
  // The same report again: a duplicate, nothing published.
  r = report(crlf(typical_report()));
  EXPECT_EQ(r["result"], "duplicate");
  EXPECT_EQ(observations().size(), 1u);
  // Refused: nothing published, the reason said.
  r = report(replace(typical_report(), "Source-IP: 198.51.100.7\n",
                     "Source-IP: 198.51.100.7\nSource-IP: 198.51.100.8\n"));
  EXPECT_EQ(r["result"], "refused");
  EXPECT_EQ(r["reason"], "several_source_ips");
  EXPECT_EQ(observations().size(), 1u);
  // Another report (IPv6): one more.
  r = report(
      report_with(replace(kFeedbackFields, "Source-IP: 198.51.100.7", "Source-IP: 2001:db8::7"), "",
                  "<other@mailbox.example>"));
  EXPECT_EQ(r["result"], "accepted");
  EXPECT_EQ(r["subject"], "2001:db8::7");
  EXPECT_EQ(observations().size(), 2u);
  EXPECT_THROW(call({{"cmd", "report arf"}, {"mail_base64", "not base64!"}}), control::DaemonError);
  EXPECT_THROW(call({{"cmd", "report arf"}}), control::DaemonError);
  const json st = call({{"cmd", "status"}})["modules"]["complaints"];
  EXPECT_EQ(st["accepted"], 2);
  EXPECT_EQ(st["duplicates"], 1);
  EXPECT_EQ(st["refused"]["several_source_ips"], 1);
  EXPECT_EQ(st["remembered"], 2);
  EXPECT_EQ(observations().size(), 2u);
  std::promise<std::string> p;
  auto f = p.get_future();
  d->loop().post([&] {
    metrics::Exposition e;
    for (auto &[name, c] : obs::extra_collectors())
      if (name == "complaints") c(e);
    p.set_value(e.render());
  });
  const std::string text = f.get();
  EXPECT_THAT(text, HasSubstr("sluiced_complaints_reports_total{result=\"accepted\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_complaints_reports_total{result=\"duplicate\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("sluiced_complaints_refusals_total{reason=\"several_source_ips\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_complaints_refusals_total{reason=\"no_source_ip\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_complaints_refusals_total{reason=\"not_regular\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("sluiced_complaints_remembered 2\n"));
}

TEST_F(ComplaintsDaemonTest, TheKeysSurviveARestart) {
  start();
  EXPECT_EQ(report(typical_report())["result"], "accepted");
  halt();
  start();
  EXPECT_EQ(report(typical_report())["result"], "duplicate");
  EXPECT_EQ(observations().size(), 1u);
}

TEST_F(ComplaintsDaemonTest, AMailInTheMaildirIsTakenOnce) {
  start();
  {
    std::ofstream out(dir / "md/tmp/1.mx", std::ios::binary);
    out << typical_report();
  }
  fs::rename(dir / "md/tmp/1.mx", dir / "md/new/1.mx");
  ASSERT_TRUE(wait_for([&] { return fs::exists(dir / "md/cur/1.mx:2,S"); }));
  EXPECT_EQ(observations().size(), 1u);
  // Through sluicectl, the same report is a duplicate now.
  const auto r = ctl({"report", "--arf", dir / "md/cur/1.mx:2,S"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("duplicate: abuse complaint about 198.51.100.7"));
  EXPECT_EQ(observations().size(), 1u);
}

TEST_F(ComplaintsDaemonTest, SluicectlReportArfFromAFileAndFromStandardInput) {
  start();
  const std::string file = dir.write("report.eml", typical_report());
  auto r = ctl({"report", "--arf", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("accepted: abuse complaint about 198.51.100.7 (report "
                               "<fbl-2026-11-30-0001@mailbox.example>)"));
  EXPECT_EQ(observations().size(), 1u);
  const std::string other =
      dir.write("other.eml", report_with(kFeedbackFields, "", "<stdin-1@mailbox.example>"));
  r = ctl({"report", "--arf", "-"}, other);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("accepted: abuse complaint about 198.51.100.7"));
  EXPECT_EQ(observations().size(), 2u);
  r = ctl({"report", "--arf", "-"}, other);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("duplicate"));
  // Refused: exit 1 with the reason.
  const std::string bad =
      dir.write("bad.eml", replace(typical_report(), "Source-IP: 198.51.100.7\n", ""));
  r = ctl({"report", "--arf", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("refused (no_source_ip)"));
  EXPECT_EQ(observations().size(), 2u);
  // Usage: --arf with ADDR or --kind, neither ADDR nor --arf; a file that is not there.
  r = ctl({"report"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("ADDR is required"));
  EXPECT_EQ(ctl({"report", "198.51.100.9", "--arf", file}).exit_code, 2);
  EXPECT_EQ(ctl({"report", "--arf", file, "--kind", "trap_hit"}).exit_code, 2);
  r = ctl({"report", "--arf", dir / "missing.eml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("missing.eml"));
  EXPECT_EQ(observations().size(), 2u);
}

// A private or reserved Source-IP is still an address: taken, and said in the log.
TEST_F(ComplaintsDaemonTest, APrivateSourceIpIsTakenAndLogged) {
  start();
  const json r =
      report(replace(typical_report(), "Source-IP: 198.51.100.7", "Source-IP: 10.1.2.3"));
  EXPECT_EQ(r["result"], "accepted");
  EXPECT_EQ(r["subject"], "10.1.2.3");
  EXPECT_EQ(r["reserved"], true);
  ASSERT_EQ(observations().size(), 1u);
  EXPECT_EQ(reputation::format_ip(observations()[0].subject), "10.1.2.3");
  std::lock_guard lock(mu);
  bool said = false;
  for (const auto &l : logs)
    if (l.find("10.1.2.3") != std::string::npos &&
        l.find("private or reserved") != std::string::npos)
      said = true;
  EXPECT_TRUE(said);
}

// A report mail of 1 MiB (the default limit) fits through the control socket in base64
// (regression: the socket's 1 MiB request limit refused it).
TEST_F(ComplaintsDaemonTest, AOneMebibyteReportFitsThroughTheSocket) {
  start();
  std::string big = replace(typical_report(), "Buy now.\n", "");
  std::string filler;
  while (big.size() + filler.size() + 80 <= (size_t{1} << 20)) filler.append(76, 'y').append("\n");
  big = replace(big, "Source-IP: 203.0.113.97\n", filler);
  ASSERT_LE(big.size(), size_t{1} << 20);
  ASSERT_GT(big.size(), (size_t{1} << 20) - 200);
  const std::string file = dir.write("big.eml", big);
  auto r = ctl({"report", "--arf", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("accepted"));
  // One byte over the daemon's limit: refused by the daemon, unparsed.
  const std::string over =
      dir.write("over.eml", big + std::string((size_t{1} << 20) - big.size() + 1, '\n'));
  r = ctl({"report", "--arf", over});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("refused (too_large)"));
  EXPECT_EQ(observations().size(), 1u);
}

TEST_F(ComplaintsDaemonTest, DisabledRefusesTheVerbAndReadsNoMaildir) {
  ini += "enabled = false\n";
  start();
  EXPECT_THROW(report(typical_report()), control::DaemonError);
  std::ofstream(dir / "md/new/2.mx") << typical_report();
  EXPECT_EQ(call({{"cmd", "status"}})["modules"]["complaints"]["enabled"], false);
  EXPECT_TRUE(fs::exists(dir / "md/new/2.mx"));
  EXPECT_TRUE(observations().empty());
}

}  // namespace
}  // namespace sluice::sluiced
