// The complaints maildir (control/sluiced/arf/maildir.h) with the intake behind it (intake.h):
// a new mail is read once and moved to cur/ with its fate in the info suffix, a duplicate is
// counted once, a refused mail stays in cur/ flagged, a symlink is not followed, a file over the
// limit is not read, turns are bounded; and the de-duplication memory (seen_reports.h).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "arf_samples.h"
#include "intake.h"
#include "maildir.h"
#include "seen_reports.h"
#include "sluice_error.h"

namespace sluice::sluiced::arf {
namespace {

namespace fs = std::filesystem;
using namespace testing;

std::string slurp(const fs::path &p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class MaildirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "arf_maildir.XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    root = t;
    for (const char *d : {"new", "cur", "tmp"}) fs::create_directories(root / "md" / d);
    md = std::make_unique<Maildir>((root / "md").string());
    ArfLimits l;
    l.max_bytes = 64 * 1024;
    intake = std::make_unique<Intake>(
        l, 1000, [this](const LocalObservation &o) { published.push_back(o); });
  }
  void TearDown() override {
    md.reset();
    fs::remove_all(root);
  }
  // Delivered as a maildir writer does: written in tmp/, renamed into new/.
  void deliver(const std::string &name, const std::string &bytes) {
    {
      std::ofstream out(root / "md" / "tmp" / name, std::ios::binary);
      out << bytes;
    }
    fs::rename(root / "md" / "tmp" / name, root / "md" / "new" / name);
  }
  Maildir::Turn scan(size_t max = 64) {
    return md->scan(max, intake->limits().max_bytes,
                    [this](const MailFile &m) { return intake->take(m).fate; });
  }
  std::vector<std::string> names(const char *dir) {
    std::vector<std::string> out;
    for (const auto &e : fs::directory_iterator(root / "md" / dir))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path root;
  std::unique_ptr<Maildir> md;
  std::unique_ptr<Intake> intake;
  std::vector<LocalObservation> published;
};

TEST_F(MaildirTest, ANewReportIsReadOnceAndMovedToCurAsSeen) {
  deliver("1700000000.M1P1.mx", typical_report());
  const auto t = scan();
  EXPECT_EQ(t.handled, 1u);
  EXPECT_FALSE(t.more);
  EXPECT_TRUE(names("new").empty());
  EXPECT_EQ(names("cur"), std::vector<std::string>{"1700000000.M1P1.mx:2,S"});
  EXPECT_EQ(slurp(root / "md" / "cur" / "1700000000.M1P1.mx:2,S"), typical_report());
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(reputation::format_ip(published[0].subject), "198.51.100.7");
  EXPECT_EQ(published[0].kind, LocalKind::kComplaint);
  EXPECT_EQ(published[0].origin, "arf");
  EXPECT_EQ(published[0].count, 1u);
  EXPECT_EQ(published[0].evidence, "<fbl-2026-11-30-0001@mailbox.example>");
  EXPECT_EQ(scan().handled, 0u);  // nothing read again
  EXPECT_EQ(published.size(), 1u);
  EXPECT_EQ(intake->counters().accepted, 1u);
}

TEST_F(MaildirTest, TheSameReportTwiceCountsOnce) {
  deliver("a.mx", typical_report());
  deliver("b.mx", crlf(typical_report()));  // the same report (same Message-ID), other line ends
  EXPECT_EQ(scan().handled, 2u);
  EXPECT_EQ(published.size(), 1u);
  EXPECT_EQ(intake->counters().accepted, 1u);
  EXPECT_EQ(intake->counters().duplicates, 1u);
  EXPECT_EQ(names("cur"), (std::vector<std::string>{"a.mx:2,S", "b.mx:2,S"}));
}

TEST_F(MaildirTest, ARefusedMailStaysInCurFlaggedAndUnchanged) {
  const std::string bad = replace(typical_report(), "Source-IP: 198.51.100.7\n", "");
  deliver("bad.mx", bad);
  scan();
  EXPECT_EQ(names("cur"), std::vector<std::string>{"bad.mx:2,F"});
  EXPECT_EQ(slurp(root / "md" / "cur" / "bad.mx:2,F"), bad);
  EXPECT_TRUE(published.empty());
  EXPECT_EQ(intake->counters().refused.at("no_source_ip"), 1u);
}

TEST_F(MaildirTest, ASymlinkInNewIsNotFollowed) {
  {
    std::ofstream out(root / "outside.eml");
    out << typical_report();
  }
  fs::create_symlink(root / "outside.eml", root / "md" / "new" / "link.mx");
  scan();
  EXPECT_TRUE(published.empty());
  EXPECT_EQ(intake->counters().refused.at("not_regular"), 1u);
  EXPECT_EQ(names("cur"), std::vector<std::string>{"link.mx:2,F"});
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(root / "md" / "cur" / "link.mx:2,F")));
  EXPECT_EQ(slurp(root / "outside.eml"), typical_report());
}

TEST_F(MaildirTest, AFileOverTheLimitIsNotRead) {
  deliver("big.mx", typical_report() + std::string(64 * 1024, 'x'));
  scan();
  EXPECT_TRUE(published.empty());
  EXPECT_EQ(intake->counters().refused.at("too_large"), 1u);
  EXPECT_EQ(names("cur"), std::vector<std::string>{"big.mx:2,F"});
}

TEST_F(MaildirTest, ADirectoryOrAFifoIsNotRead) {
  fs::create_directory(root / "md" / "new" / "dir.mx");
  ASSERT_EQ(::mkfifo((root / "md" / "new" / "fifo.mx").c_str(), 0600), 0);
  scan();  // a fifo opened for reading would block here without O_NONBLOCK
  EXPECT_EQ(intake->counters().refused.at("not_regular"), 2u);
  EXPECT_EQ(names("cur"), (std::vector<std::string>{"dir.mx:2,F", "fifo.mx:2,F"}));
}

TEST_F(MaildirTest, TurnsAreBoundedAndDotFilesLeftAlone) {
  for (int i = 0; i < 10; ++i) {
    const std::string n = std::to_string(i);
    deliver(std::string("m").append(n),
            report_with(kFeedbackFields, "", std::string("<id-").append(n).append("@x.example>")));
  }
  deliver(".hidden", typical_report());
  auto t = scan(4);
  EXPECT_EQ(t.handled, 4u);
  EXPECT_TRUE(t.more);
  EXPECT_EQ(published.size(), 4u);
  t = scan(4);
  EXPECT_EQ(t.handled, 4u);
  EXPECT_TRUE(t.more);
  t = scan(4);
  EXPECT_EQ(t.handled, 2u);
  EXPECT_FALSE(t.more);
  EXPECT_EQ(published.size(), 10u);
  EXPECT_EQ(names("new"), std::vector<std::string>{".hidden"});
}

TEST_F(MaildirTest, AnInfoSuffixIsReplaced) {
  EXPECT_EQ(Maildir::cur_name("x.mx:2,S", MailFate::kRefused), "x.mx:2,F");
  EXPECT_EQ(Maildir::cur_name("x.mx", MailFate::kDuplicate), "x.mx:2,S");
}

TEST_F(MaildirTest, InotifySaysWhenAMailArrives) {
  md->drain_events();
  deliver("n.mx", typical_report());
  pollfd p{md->inotify_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  md->drain_events();
  EXPECT_EQ(scan().handled, 1u);
}

TEST_F(MaildirTest, AMaildirWithoutCurIsRefused) {
  fs::create_directories(root / "half" / "new");
  try {
    Maildir m((root / "half").string());
    FAIL() << "opened";
  } catch (const sluice::Error &e) {
    EXPECT_NE(std::string(e.what()).find("/half/cur"), std::string::npos) << e.what();
  }
}

TEST(SeenReports, RemembersAtMostItsCapacityOldestForgottenFirst) {
  SeenReports s(3);
  auto key = [](uint8_t b) {
    SeenReports::Key k{};
    k[0] = b;
    return k;
  };
  EXPECT_TRUE(s.insert(key(1)));
  EXPECT_FALSE(s.insert(key(1)));
  EXPECT_TRUE(s.insert(key(2)));
  EXPECT_TRUE(s.insert(key(3)));
  EXPECT_TRUE(s.insert(key(4)));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.evicted(), 1u);
  EXPECT_FALSE(s.contains(key(1)));
  EXPECT_TRUE(s.insert(key(1)));  // forgotten: new again
  EXPECT_FALSE(s.contains(key(2)));
  SeenReports none(0);
  EXPECT_TRUE(none.insert(key(1)));
  EXPECT_TRUE(none.insert(key(1)));  // no memory: every report counts
}

TEST(SeenReports, SavedAndLoaded) {
  const fs::path p = fs::temp_directory_path() / ("arf_seen_test." + std::to_string(::getpid()));
  SeenReports a(10);
  SeenReports::Key k1{}, k2{};
  k1[5] = 1;
  k2[7] = 2;
  a.insert(k1);
  a.insert(k2);
  ASSERT_TRUE(a.save(p.string()));
  SeenReports b(1);  // a smaller memory keeps the newest
  ASSERT_TRUE(b.load(p.string()));
  EXPECT_FALSE(b.contains(k1));
  EXPECT_TRUE(b.contains(k2));
  {
    std::ofstream out(p, std::ios::binary | std::ios::app);
    out << "x";  // not a whole number of records
  }
  SeenReports c(10);
  EXPECT_FALSE(c.load(p.string()));
  EXPECT_EQ(c.size(), 0u);
  fs::remove(p);
  EXPECT_FALSE(c.load(p.string()));
}

}  // namespace
}  // namespace sluice::sluiced::arf
