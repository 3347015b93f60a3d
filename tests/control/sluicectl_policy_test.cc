// sluicectl policy check: the real executable on policy files and a table made here.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sluice/reputation/snapshot.h"

extern char **environ;

#include "run_sluicectl.h"

namespace {

namespace fs = std::filesystem;
namespace rep = sluice::reputation;
using nlohmann::json;
using ::testing::HasSubstr;

using Result = sluice::testing::CliResult;
using sluice::testing::slurp;

class SluicectlPolicy : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluicectl-policy-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string &name) const { return (dir_ / name).string(); }
  std::string write(const std::string &name, const std::string &text) {
    std::ofstream(path(name)) << text;
    return path(name);
  }

  Result run(std::vector<std::string> args) {
    return sluice::testing::run_sluicectl(std::move(args), dir_);
  }

  // Six entries whose levels under kPolicy are known: scores 1 and 16-but-allowlisted -> 0,
  // 5 and a prefix of 3 -> 1, 9 -> 2, 20 -> 3.
  std::string table() {
    auto v4 = [](uint8_t last) { return uint32_t{0xc6120100u | last}; };  // 198.18.1.x
    std::vector<rep::HostV4> hosts = {{htonl(v4(1)), {1, 0}},
                                      {htonl(v4(2)), {5, 0}},
                                      {htonl(v4(3)), {9, 0}},
                                      {htonl(v4(4)), {20, 0}},
                                      {htonl(v4(5)), {16, SL_REP_ALLOW}}};
    rep::HostV6 h6{};
    h6.addr[0] = 0x20;
    h6.addr[1] = 0x01;
    h6.addr[3] = 0x02;
    rep::PrefixV6 p6{};
    std::copy(std::begin(h6.addr), std::end(h6.addr), p6.addr);
    p6.len = 48;
    p6.value = {3, 0};
    rep::Snapshot::from_entries(hosts, {}, {}, {p6}).save(path("t.snap"));
    return path("t.snap");
  }

  fs::path dir_;
};

const char *kPolicy =
    "[level.1]\nname = throttle\nthreshold = 3\nwindow_clamp = 2048\n"
    "[level.2]\nname = tarpit\nthreshold = 8\ntarpit = true\n"
    "[level.3]\nname = block\nthreshold = 15\nblock = rst\n";

TEST_F(SluicectlPolicy, CountsTheTableEntriesEachLevelCatches) {
  const std::string pol = write("p.ini", kPolicy);
  Result r = run({"policy", "check", pol, "--table", table(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "a policy that lets unlisted senders pass has nothing to warn about";
  const json j = json::parse(r.out);
  EXPECT_EQ(j["entries"], 6);
  EXPECT_EQ(j["unlisted_level"], 0);
  ASSERT_EQ(j["levels"].size(), 4u);
  const uint64_t want[] = {2, 2, 1, 1};
  const char *action[] = {"pass", "shape", "tarpit", "block (rst)"};
  for (unsigned l = 0; l < 4; ++l) {
    SCOPED_TRACE(l);
    EXPECT_EQ(j["levels"][l]["level"], l);
    EXPECT_EQ(j["levels"][l]["entries"], want[l]);
    EXPECT_DOUBLE_EQ(j["levels"][l]["entries_share"].get<double>(), want[l] / 6.0);
    EXPECT_EQ(j["levels"][l]["unlisted_share"], l == 0 ? 1.0 : 0.0);
    EXPECT_EQ(j["levels"][l]["action"], action[l]);
  }
  EXPECT_EQ(j["levels"][3]["name"], "block");
  EXPECT_EQ(j["levels"][3]["threshold"], 15);

  r = run({"policy", "check", pol, "--table", path("t.snap")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("table " + path("t.snap") + ": 6 entries"));
  EXPECT_THAT(r.out, HasSubstr("33.3%"));
  EXPECT_THAT(r.out, HasSubstr("16.7%"));
}

TEST_F(SluicectlPolicy, WarnsAndShowsWhenUnlistedSendersAreBlocked) {
  const std::string pol = write("p.ini",
                                "[level.1]\nname = throttle\nthreshold = -2\nwindow_clamp = 512\n"
                                "[level.2]\nname = wall\nthreshold = 0\nblock = drop\n");
  Result r = run({"policy", "check", pol, "--table", table(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(pol + ": warning: level 2 'wall' has threshold 0 <= 0: every "
                                     "unlisted sender (score 0) is blocked (SYN dropped)"));
  const json j = json::parse(r.out);
  EXPECT_EQ(j["unlisted_level"], 2);
  EXPECT_EQ(j["levels"][2]["unlisted_share"], 1.0);
  EXPECT_EQ(j["levels"][0]["unlisted_share"], 0.0);
  ASSERT_EQ(j["warnings"].size(), 1u);
  // Scores 1, 5, 9, 20 and 3 are all >= 0: five entries blocked, the allowlisted one passes.
  EXPECT_EQ(j["levels"][2]["entries"], 5);
  EXPECT_EQ(j["levels"][0]["entries"], 1);

  r = run({"policy", "check", pol});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("every unlisted sender (score 0) is blocked"));
  EXPECT_THAT(r.out, HasSubstr("valid, 3 levels"));
}

// A level's aggregate caps are part of its action.
TEST_F(SluicectlPolicy, ShowsALevelsAggregateCaps) {
  const std::string capped =
      write("capped.ini",
            "[level.1]\nthreshold = 3\nwindow_clamp = 2048\nmax_flows = 4\nmax_flows_net = 16\n"
            "max_syn_per_min = 30\nsyn_burst = 5\nover_cap = rst\n[level.2]\nthreshold = 9\n"
            "block = drop\n");
  const Result r = run({"policy", "check", capped, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["levels"][1]["action"],
            "shape; caps 4 per address, 16 per network, 30 SYN/min (burst 5), over: rst");
  EXPECT_EQ(j["levels"][2]["action"], "block (drop)");
  const Result bad = run({"policy", "check",
                          write("bad.ini",
                                "[level.1]\nthreshold = 3\nblock = drop\n"
                                "max_flows = 2\n")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("bad.ini:4: "));
  EXPECT_THAT(bad.err, HasSubstr("creates no flows"));
}

// The server scope and the tarpit's kind are part of what an operator checks.
TEST_F(SluicectlPolicy, ShowsTheServerScopeAndAStatelessTarpit) {
  const std::string scoped =
      write("scoped.ini",
            "[smtp]\nservers = 2001:2::/64, 198.18.2.0/24\n[level.1]\nname = hold\n"
            "threshold = 5\ntarpit = stateless\n");
  Result r = run({"policy", "check", scoped});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ports 25, servers 198.18.2.0/24, 2001:2::/64\n"));
  EXPECT_THAT(r.out, HasSubstr("tarpit (stateless)"));
  r = run({"policy", "check", scoped, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["servers"], json({"198.18.2.0/24", "2001:2::/64"}));
  EXPECT_EQ(j["levels"][1]["action"], "tarpit (stateless)");

  r = run({"policy", "check", write("all.ini", kPolicy), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["servers"], json::array());
  r = run({"policy", "check", path("all.ini")});
  EXPECT_THAT(r.out, HasSubstr("ports 25, servers all\n"));
}

TEST_F(SluicectlPolicy, ABadPolicyFailsWithFileAndLine) {
  const std::string pol = write("p.ini", "[level.1]\nthreshold = 1\n[level.01]\nthreshold = 2\n");
  Result r = run({"policy", "check", pol});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(pol + ":3: "));
  EXPECT_EQ(run({"policy", "check", path("missing.ini")}).exit_code, 1);
  const std::string good = write("g.ini", kPolicy);
  EXPECT_EQ(run({"policy", "check", good, "--table", path("missing.snap")}).exit_code, 1);
}

TEST_F(SluicectlPolicy, UsageErrorsExitTwo) {
  EXPECT_EQ(run({"policy"}).exit_code, 2);
  EXPECT_EQ(run({"policy", "check"}).exit_code, 2);
  EXPECT_EQ(run({"policy", "bogus"}).exit_code, 2);
  EXPECT_EQ(run({"policy", "check", "a", "b"}).exit_code, 2);
  Result r = run({"policy", "check", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--table"));
}

}  // namespace
