// The decision log's sinks: the file sink writes whole lines; auto picks syslog without a
// journal socket; unknown specs are refused.
#include "sluiced/decision_log/sink.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sluice::sluiced::decision_log {
namespace {

TEST(Sink, FileSinkAppendsOneStampedLinePerMessage) {
  char dir[] = "/tmp/sluiced_sink.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/decisions.log";
  {
    auto s = make_sink("file:" + path);
    EXPECT_EQ(s->describe(), "file:" + path);
    s->write({"SHAPE [198.18.0.1]:1 to [198.18.1.2]:25: level throttle", {}});
    s->write({"SUPPRESSED 3 decision log lines", {}});
  }
  std::ifstream in(path);
  std::string a, b, extra;
  ASSERT_TRUE(std::getline(in, a));
  ASSERT_TRUE(std::getline(in, b));
  EXPECT_FALSE(std::getline(in, extra));
  EXPECT_NE(a.find(" sluiced: SHAPE [198.18.0.1]:1 to [198.18.1.2]:25: level throttle"),
            std::string::npos);
  EXPECT_EQ(a.size(), std::string("2026-01-01T00:00:00Z sluiced: SHAPE [198.18.0.1]:1 to "
                                  "[198.18.1.2]:25: level throttle")
                          .size());
  EXPECT_NE(b.find(" sluiced: SUPPRESSED 3"), std::string::npos);
  unlink(path.c_str());
  rmdir(dir);
}

TEST(Sink, UnknownSpecsAndUnopenableFilesAreRefused) {
  EXPECT_THROW(make_sink("stderr"), SinkError);
  EXPECT_THROW(make_sink("file:"), SinkError);
  EXPECT_THROW(make_sink("file:/nonexistent-dir/x.log"), SinkError);
}

TEST(Sink, AutoIsTheJournalOnlyWhenItsSocketExists) {
  const std::string want =
      access(std::string(kJournalSocket).c_str(), W_OK) == 0 ? "journal" : "syslog";
  EXPECT_EQ(make_sink("auto")->describe(), want);
  EXPECT_EQ(make_sink("syslog")->describe(), "syslog");
  // The journal sink is made whether or not journald runs (a lost line is not an error).
  auto j = make_sink("journal");
  EXPECT_EQ(j->describe(), "journal");
  j->write({"SHAPE test line", {{"SLUICE_ACTION", "SHAPE"}}});
}

}  // namespace
}  // namespace sluice::sluiced::decision_log
