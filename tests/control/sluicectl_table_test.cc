// sluicectl table ...: the real executable on the sample sources; output and exit codes.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sluice/reputation/snapshot.h"

extern char **environ;

#include "run_sluicectl.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kData = SLUICE_REP_TEST_DATA;

using Result = sluice::testing::CliResult;
using sluice::testing::slurp;

class Sluicectl : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluicectl-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string &name) const { return (dir_ / name).string(); }

  Result run(std::vector<std::string> args) {
    return sluice::testing::run_sluicectl(std::move(args), dir_);
  }

  Result build(const std::string &sources, const std::string &output,
               std::vector<std::string> extra = {}) {
    std::vector<std::string> a{"table",    "build", "--sources", kData + "/" + sources,
                               "--output", output};
    a.insert(a.end(), extra.begin(), extra.end());
    return run(a);
  }

  fs::path dir_;
};

TEST_F(Sluicectl, HelpListsRegisteredCommands) {
  Result r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("Usage: sluicectl"));
  EXPECT_THAT(r.out, HasSubstr("table"));
}

// A bad value that holds one of Boost's message placeholders is a usage error, promptly: Boost's
// own message for it substitutes %value% with the value in a loop that never ended.
TEST_F(Sluicectl, AValueHoldingBoostsPlaceholderIsAUsageError) {
  for (const char *v : {"%value%", "%canonical_option%", "%option%"}) {
    SCOPED_TRACE(v);
    const auto r = run({"--timeout", v, "status"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("invalid value for option '--timeout'"));
  }
  const auto r = run({"table", "explain", "--thresholds", "%value%", "198.18.0.1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST_F(Sluicectl, UnknownCommandIsAUsageError) {
  Result r = run({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'frobnicate'"));
  EXPECT_EQ(run({}).exit_code, 2);
  EXPECT_EQ(run({"--no-such-option"}).exit_code, 2);
}

TEST_F(Sluicectl, EveryTableSubcommandHasHelp) {
  for (const char *sub : {"build", "lookup", "explain", "diff", "stats"}) {
    Result r = run({"table", sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_THAT(r.out, HasSubstr(std::string("Usage: sluicectl table ") + sub)) << sub;
  }
  Result r = run({"table", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("explain"));
  EXPECT_EQ(run({"table", "frob"}).exit_code, 2);
  EXPECT_EQ(run({"table"}).exit_code, 2);
}

TEST_F(Sluicectl, BuildWritesATableAndSummarisesEverySource) {
  Result r = build("sources.ini", path("t.snap"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("zen"));
  EXPECT_THAT(r.out, HasSubstr("spamhaus-drop6"));
  EXPECT_THAT(r.out, HasSubstr("wrote " + path("t.snap")));
  EXPECT_EQ(r.err, "");
  auto t = sluice::reputation::Snapshot::load(path("t.snap"));
  EXPECT_GT(t.hosts_v4().size(), 0u);
  EXPECT_GT(t.prefixes_v6().size(), 0u);
}

TEST_F(Sluicectl, BuildJsonCountsPerSource) {
  Result r = build("sources.ini", path("t.snap"), {"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  ASSERT_EQ(j["sources"].size(), 6u);
  EXPECT_EQ(j["sources"][0]["name"], "zen");
  EXPECT_EQ(j["sources"][0]["malformed"], 0);
  EXPECT_EQ(j["sources"][3]["type"], "drop-json");
  EXPECT_EQ(j["sources"][3]["prefixes_v6"], 2);
}

TEST_F(Sluicectl, MalformedLinesAreReportedSkippedAndCounted) {
  Result r = build("sources_malformed.ini", path("m.snap"), {"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("malformed.txt:3: bad address '198.18.9.300'"));
  EXPECT_THAT(r.err, HasSubstr("malformed.txt:4: bad weight 'abc'"));
  EXPECT_THAT(r.err, HasSubstr("malformed.txt:5: bad prefix length '33'"));
  json j = json::parse(r.out);
  EXPECT_EQ(j["sources"][0]["malformed"], 3);
  EXPECT_EQ(j["sources"][0]["entries"], 2);
}

TEST_F(Sluicectl, TooManyMalformedLinesFailAndKeepTheOldTable) {
  ASSERT_EQ(build("sources.ini", path("t.snap")).exit_code, 0);
  const std::string before = slurp(path("t.snap"));
  Result r = build("sources_strict.ini", path("t.snap"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("more than 2 malformed lines"));
  EXPECT_EQ(slurp(path("t.snap")), before);
  // The command-line limit overrides the sources file.
  EXPECT_EQ(build("sources_strict.ini", path("t.snap"), {"--max-malformed", "3"}).exit_code, 0);
}

TEST_F(Sluicectl, ANegativeOrNonNumericMalformedLimitIsAUsageError) {
  // "-1" used to become size_t's largest value: no limit at all.
  for (std::vector<std::string> bad : {std::vector<std::string>{"--max-malformed=-1"},
                                       {"--max-malformed", "-1"},
                                       {"--max-malformed=abc"},
                                       {"--max-malformed=3x"},
                                       {"--max-malformed="}}) {
    SCOPED_TRACE(bad.back());
    Result r = build("sources_strict.ini", path("t.snap"), bad);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_FALSE(fs::exists(path("t.snap")));
  }
  Result r = build("sources_strict.ini", path("t.snap"), {"--max-malformed=-1"});
  EXPECT_THAT(r.err, HasSubstr("bad --max-malformed '-1'"));
}

TEST_F(Sluicectl, AnUnreadableSourceFailsTheBuild) {
  Result r = build("sources_missing.ini", path("t.snap"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("does-not-exist.txt: cannot read"));
  EXPECT_FALSE(fs::exists(path("t.snap")));
  EXPECT_EQ(build("no-such-sources.ini", path("t.snap")).exit_code, 1);
}

TEST_F(Sluicectl, BuildWithoutRequiredOptionsIsAUsageError) {
  Result r = run({"table", "build", "--output", path("t.snap")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--sources FILE is required"));
  EXPECT_EQ(run({"table", "build", "--bogus"}).exit_code, 2);
}

TEST_F(Sluicectl, LookupShowsMatchScoreAllowAndLevel) {
  ASSERT_EQ(build("sources.ini", path("t.snap")).exit_code, 0);
  Result r = run({"table", "lookup", "--table", path("t.snap"), "--thresholds", "3,5,8", "--json",
                  "198.18.1.7", "198.18.1.100", "198.18.64.25", "2001:2:0:100::25", "192.0.2.1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  ASSERT_EQ(j.size(), 5u);
  // zen 5 (127.0.0.4) + DROP 10 + local 4
  EXPECT_EQ(j[0]["match"], "host");
  EXPECT_EQ(j[0]["score"], 19);
  EXPECT_EQ(j[0]["level"], 3);
  // zen /24 3 + DROP /22 10
  EXPECT_EQ(j[1]["match"], "prefix");
  EXPECT_EQ(j[1]["prefix"], "198.18.1.0/24");
  EXPECT_EQ(j[1]["score"], 13);
  // DROP 10, allowlisted: level 0
  EXPECT_EQ(j[2]["allow"], true);
  EXPECT_EQ(j[2]["level"], 0);
  // zen6 host 3 + DROP6 /64 10
  EXPECT_EQ(j[3]["score"], 13);
  EXPECT_EQ(j[4]["match"], "none");
  EXPECT_EQ(j[4]["score"], 0);

  Result h = run({"table", "lookup", "--table", path("t.snap"), "198.18.1.7"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_THAT(h.out, HasSubstr("198.18.1.7"));
  EXPECT_THAT(h.out, HasSubstr("19"));
}

TEST_F(Sluicectl, LookupRefusesBadAddressesAndBadTables) {
  ASSERT_EQ(build("sources.ini", path("t.snap")).exit_code, 0);
  Result r = run({"table", "lookup", "--table", path("t.snap"), "198.18.1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("'198.18.1' is not an IPv4 or IPv6 address"));
  std::ofstream(path("junk.snap"))
      << "this is not a table, but long enough to have a header..." << std::string(64, 'x');
  Result bad = run({"table", "lookup", "--table", path("junk.snap"), "198.18.1.1"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("not a sluice reputation table (bad magic)"));
}

TEST_F(Sluicectl, ExplainNamesEverySourceEntryAndTheResult) {
  Result r = run({"table", "explain", "--sources", kData + "/sources.ini", "--thresholds", "3,5,8",
                  "198.18.1.7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("198.18.1.7: score 19, level 3"));
  EXPECT_THAT(r.out, HasSubstr("zen.zone:7"));
  EXPECT_THAT(r.out, HasSubstr("198.18.1.7 :127.0.0.4:Dynamic address"));
  EXPECT_THAT(r.out, HasSubstr("shadowed"));
  EXPECT_THAT(r.out, HasSubstr("drop.txt:5"));
  EXPECT_THAT(r.out, HasSubstr("local.txt:2"));

  Result j = run({"table", "explain", "--sources", kData + "/sources.ini", "--json", "198.18.1.9"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  json x = json::parse(j.out);
  EXPECT_EQ(x["score"], 10);
  EXPECT_EQ(x["sources"][0]["name"], "zen");
  EXPECT_EQ(x["sources"][0]["listed"], false);
  EXPECT_EQ(x["sources"][0]["entries"][0]["exclude"], true);
  EXPECT_EQ(x["sources"][0]["entries"][0]["decides"], true);
}

TEST_F(Sluicectl, LevelsComeFromThePolicyFile) {
  ASSERT_EQ(build("sources.ini", path("t.snap")).exit_code, 0);
  Result r = run({"table", "lookup", "--table", path("t.snap"), "--policy", kData + "/policy.ini",
                  "--json", "198.18.1.7", "198.18.1.9", "198.18.64.25"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j[0]["level"], 3);  // 19 >= 15
  EXPECT_EQ(j[0]["level_name"], "block");
  EXPECT_EQ(j[1]["level"], 2);  // 10 >= 8
  EXPECT_EQ(j[2]["level"], 0);  // allowlisted
  Result x = run({"table", "explain", "--sources", kData + "/sources.ini", "--policy",
                  kData + "/policy.ini", "198.18.1.9"});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  EXPECT_THAT(x.out, HasSubstr("198.18.1.9: score 10, level 2 (tarpit)"));
  EXPECT_EQ(run({"table", "lookup", "--table", path("t.snap"), "--policy", kData + "/policy.ini",
                 "--thresholds", "1", "198.18.1.7"})
                .exit_code,
            2);
}

TEST_F(Sluicectl, ExplainOfAnUnlistedAddress) {
  Result r = run({"table", "explain", "--sources", kData + "/sources.ini", "192.0.2.1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("192.0.2.1: score 0"));
  EXPECT_THAT(r.out, HasSubstr("no source lists it"));
}

TEST_F(Sluicectl, DiffCountsChangesAndWritesADelta) {
  ASSERT_EQ(build("sources.ini", path("a.snap")).exit_code, 0);
  ASSERT_EQ(build("sources_v2.ini", path("b.snap")).exit_code, 0);
  Result r =
      run({"table", "diff", path("a.snap"), path("b.snap"), "--output", path("d.delta"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  // local2 adds 198.18.8.8; zen6, drop6, certified, local go away; DROP weighs 12 now.
  EXPECT_EQ(j["hosts_v4"]["added"], 1);
  EXPECT_GT(j["prefixes_v4"]["changed"].get<int>(), 0);
  EXPECT_GT(j["prefixes_v6"]["removed"].get<int>(), 0);
  EXPECT_EQ(j["total"].get<size_t>(), j["changes"].size());
  EXPECT_TRUE(fs::exists(path("d.delta")));
  bool found = false;
  for (const auto &c : j["changes"])
    if (c["entry"] == "198.18.8.8" && c["change"] == "add") found = true;
  EXPECT_TRUE(found);

  Result same = run({"table", "diff", path("a.snap"), path("a.snap")});
  EXPECT_EQ(same.exit_code, 0);
  EXPECT_THAT(same.out, HasSubstr("0 changes"));
  EXPECT_EQ(run({"table", "diff", path("a.snap")}).exit_code, 2);
}

TEST_F(Sluicectl, StatsValidatesAndCounts) {
  ASSERT_EQ(build("sources.ini", path("t.snap")).exit_code, 0);
  Result r = run({"table", "stats", "--table", path("t.snap"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  auto t = sluice::reputation::Snapshot::load(path("t.snap"));
  EXPECT_EQ(j["hosts_v4"], t.hosts_v4().size());
  EXPECT_EQ(j["prefixes_v6"], t.prefixes_v6().size());
  EXPECT_EQ(j["bytes"], fs::file_size(path("t.snap")));
  EXPECT_EQ(j["allow_entries"], 3);

  // One flipped byte in the entries: refused with the reason.
  {
    std::fstream f(path("t.snap"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(70);
    f.put('\x7f');
  }
  Result bad = run({"table", "stats", "--table", path("t.snap")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("checksum mismatch"));
  EXPECT_THAT(bad.out, Not(HasSubstr("IPv4 hosts")));
}

}  // namespace
