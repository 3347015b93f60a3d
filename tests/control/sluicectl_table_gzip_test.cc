// sluicectl table build on gzipped and broken downloads: a gzipped rbldnsd zone builds the
// same table as the plain zone (it used to parse as a few malformed lines and build an empty
// table with exit 0); an empty, truncated or oversized download fails the build and leaves the
// old table in place, unless the sources file says the source may be empty.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../reputation/gzip_util.h"
#include "sluice/reputation/snapshot.h"

extern char **environ;

#include "run_sluicectl.h"

namespace {

namespace fs = std::filesystem;
using sluice::testing::CliResult;
using sluice::testing::slurp;
using ::testing::HasSubstr;

const std::string kData = SLUICE_REP_TEST_DATA;

class TableBuildDownloads : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluicectl-gzip-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string &name) const { return (dir_ / name).string(); }
  void write(const std::string &name, const std::string &bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
  }
  // A sources file with one rbldnsd-ip4set source [zen] reading `zone`, plus `extra` keys.
  CliResult build(const std::string &zone, const std::string &extra = "") {
    write("sources.ini", "[zen]\ntype = rbldnsd-ip4set\npath = " + zone + "\nweight = 3\n" + extra);
    return sluice::testing::run_sluicectl(
        {"table", "build", "--sources", path("sources.ini"), "--output", path("t.snap")}, dir_);
  }
  fs::path dir_;
};

TEST_F(TableBuildDownloads, AGzippedZoneBuildsTheTableThePlainZoneBuilds) {
  const std::string zone = slurp(kData + "/zen.zone");
  write("zen.zone", zone);
  ASSERT_EQ(build("zen.zone").exit_code, 0);
  fs::copy_file(path("t.snap"), path("plain.snap"));
  write("zen.download", sluice::reputation::testing::gzip(zone));  // the name says nothing
  CliResult r = build("zen.download");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "malformed lines reported";
  auto gz = sluice::reputation::Snapshot::load(path("t.snap"));
  auto pl = sluice::reputation::Snapshot::load(path("plain.snap"));
  EXPECT_GT(gz.hosts_v4().size() + gz.prefixes_v4().size(), 3u);
  EXPECT_EQ(gz.hosts_v4().size(), pl.hosts_v4().size());
  EXPECT_EQ(gz.prefixes_v4().size(), pl.prefixes_v4().size());
  EXPECT_EQ(gz.lookup_v4(htonl(0xc6120107)).value_or(sl_rep_value{0, 0}).score, 3);
}

TEST_F(TableBuildDownloads, EmptyOrBrokenDownloadsFailAndKeepTheOldTable) {
  write("zen.zone", slurp(kData + "/zen.zone"));
  ASSERT_EQ(build("zen.zone").exit_code, 0);
  const std::string before = slurp(path("t.snap"));
  const std::string gz = sluice::reputation::testing::gzip(slurp(kData + "/zen.zone"));
  struct Case {
    std::string bytes, extra, error;
  };
  for (const Case &c : {Case{"", "", "lists nothing"},
                        Case{sluice::reputation::testing::gzip(""), "", "lists nothing"},
                        Case{"# only a header\n", "", "set allow_empty = true in [zen]"},
                        Case{gz.substr(0, gz.size() / 2), "", "truncated gzip stream"},
                        Case{gz, "max_size = 100\n", "the max_size limit of source 'zen'"}}) {
    write("down.zone", c.bytes);
    CliResult r = build("down.zone", c.extra);
    EXPECT_EQ(r.exit_code, 1) << c.error;
    EXPECT_THAT(r.err, HasSubstr(c.error));
    EXPECT_EQ(slurp(path("t.snap")), before) << c.error;
  }
  // A source that may be empty builds an empty table.
  write("down.zone", sluice::reputation::testing::gzip(""));
  CliResult r = build("down.zone", "allow_empty = true\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto t = sluice::reputation::Snapshot::load(path("t.snap"));
  EXPECT_EQ(t.hosts_v4().size() + t.prefixes_v4().size(), 0u);
}

}  // namespace
