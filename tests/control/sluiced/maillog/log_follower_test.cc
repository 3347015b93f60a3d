// The log follower (control/sluiced/maillog/log_follower.h) on real files in a scratch folder:
// appends, partial lines, rotation by rename, copytruncate, a file that appears later, huge lines,
// bounded reads, symbolic links, and inotify telling it when to read.
#include "log_follower.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sluice::sluiced::maillog {
namespace {

namespace fs = std::filesystem;

class Follower : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "sluiced_maillog.XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
    path_ = dir_ + "/mail.log";
  }
  void TearDown() override {
    follower_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void make(bool from_start = false, size_t max_line = 8192, size_t max_read = 1 << 20) {
    FollowerOptions o;
    o.path = path_;
    o.from_start = from_start;
    o.max_line = max_line;
    o.max_read_bytes = max_read;
    follower_ =
        std::make_unique<LogFollower>(o, [this](std::string_view l) { lines_.emplace_back(l); });
  }
  void append(const std::string &text, const std::string &p = "") {
    std::ofstream out(p.empty() ? path_ : p, std::ios::app | std::ios::binary);
    out << text;
  }
  std::vector<std::string> take() {
    auto l = std::move(lines_);
    lines_.clear();
    return l;
  }
  // poll() until it says there is no more to read (bounded).
  void drain() {
    for (int i = 0; i < 10000 && follower_->poll(); ++i) {
    }
  }

  std::string dir_, path_;
  std::unique_ptr<LogFollower> follower_;
  std::vector<std::string> lines_;
};

using Lines = std::vector<std::string>;

TEST_F(Follower, StartsAtTheEndByDefault) {
  append("old 1\nold 2\n");
  make();
  EXPECT_FALSE(follower_->poll());
  EXPECT_TRUE(take().empty());
  EXPECT_TRUE(follower_->is_open());
  append("new 1\n");
  follower_->poll();
  EXPECT_EQ(take(), Lines{"new 1"});
}

// Regression: the end is placed when start() runs, not at the first poll(): lines written between
// the daemon's start and its loop's first turn were skipped.
TEST_F(Follower, StartPlacesTheEndWithoutReading) {
  append("old\n");
  make();
  follower_->start();
  EXPECT_TRUE(take().empty());
  append("written before the first poll\n");
  follower_->poll();
  EXPECT_EQ(take(), Lines{"written before the first poll"});
}

TEST_F(Follower, FromStartReadsWhatIsThere) {
  append("old 1\nold 2\n");
  make(true);
  follower_->poll();
  EXPECT_EQ(take(), (Lines{"old 1", "old 2"}));
}

TEST_F(Follower, StartingMidLineSkipsToTheNextLine) {
  append("old\nhalf a li");
  make();
  follower_->poll();
  append("ne\nnext\n");
  follower_->poll();
  EXPECT_EQ(take(), Lines{"next"});
}

TEST_F(Follower, PartialLineCompletedLater) {
  append("");
  make();
  follower_->poll();
  append("Nov 30 10:02:03 mx1 postfix/smtpd[1]: too many");
  follower_->poll();
  EXPECT_TRUE(take().empty());
  append(" errors\nsecond\nthi");
  follower_->poll();
  EXPECT_EQ(take(), (Lines{"Nov 30 10:02:03 mx1 postfix/smtpd[1]: too many errors", "second"}));
  append("rd\n");
  follower_->poll();
  EXPECT_EQ(take(), Lines{"third"});
  EXPECT_EQ(follower_->counters().lines, 3u);
}

TEST_F(Follower, RotationByRename) {
  append("before\n");
  make();
  follower_->poll();
  append("one\n");
  ASSERT_EQ(::rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  // The writer still has the old file open until it is told to reopen.
  append("late in the old file\n", path_ + ".1");
  follower_->poll();  // the path is empty now: the old file is read on
  EXPECT_EQ(take(), (Lines{"one", "late in the old file"}));
  append("later still\n", path_ + ".1");
  append("fresh\n");  // the new file
  follower_->poll();
  EXPECT_EQ(take(), (Lines{"later still", "fresh"}));
  EXPECT_EQ(follower_->counters().rotations, 1u);
  append("more\n");
  follower_->poll();
  EXPECT_EQ(take(), Lines{"more"});
}

TEST_F(Follower, RotationDropsAPartialLineOfTheOldFile) {
  append("");
  make();
  follower_->poll();
  append("cut sho");
  follower_->poll();
  ASSERT_EQ(::rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  append("rt\n");  // a new file: its first line is not the old one's end
  follower_->poll();
  EXPECT_EQ(take(), Lines{"rt"});
  EXPECT_EQ(follower_->counters().rotations, 1u);
}

TEST_F(Follower, CopyTruncate) {
  append("");
  make();
  follower_->poll();
  append("a long line that was copied away\nand another\n");
  follower_->poll();
  EXPECT_EQ(take().size(), 2u);
  ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
  append("after\n");
  follower_->poll();
  EXPECT_EQ(take(), Lines{"after"});
  EXPECT_EQ(follower_->counters().truncations, 1u);
  EXPECT_EQ(follower_->counters().rotations, 0u);
}

TEST_F(Follower, MissingFileAppearsLater) {
  make();
  EXPECT_FALSE(follower_->poll());
  EXPECT_FALSE(follower_->is_open());
  EXPECT_EQ(follower_->problem(), "");
  EXPECT_EQ(follower_->counters().open_errors, 0u);
  append("first\nsecond\n");  // a new file is read from its start
  follower_->poll();
  EXPECT_EQ(take(), (Lines{"first", "second"}));
}

TEST_F(Follower, MissingDirectoryAppearsLater) {
  path_ = dir_ + "/later/mail.log";
  make();
  follower_->poll();
  fs::create_directory(dir_ + "/later");
  append("first\n");
  follower_->poll();
  EXPECT_EQ(take(), Lines{"first"});
}

TEST_F(Follower, HugeLinesAreCountedAndDropped) {
  append("");
  make(false, 100);
  follower_->poll();
  append(std::string(1000, 'x') + "\nok\n" + std::string(101, 'y') + "\n" + std::string(100, 'z') +
         "\n");
  follower_->poll();
  EXPECT_EQ(take(), (Lines{"ok", std::string(100, 'z')}));
  EXPECT_EQ(follower_->counters().overlong, 2u);
  // One spread over several reads is counted once and never handed on in pieces.
  append(std::string(80, 'a'));
  follower_->poll();
  append(std::string(80, 'b'));
  follower_->poll();
  append(std::string(80, 'c') + "\nafter\n");
  follower_->poll();
  EXPECT_EQ(take(), Lines{"after"});
  EXPECT_EQ(follower_->counters().overlong, 3u);
}

TEST_F(Follower, ReadsAreBounded) {
  append("");
  make(false, 8192, 4096);
  follower_->poll();
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "line " + std::to_string(i) + "\n";
  append(text);
  int calls = 0;
  uint64_t before = follower_->counters().bytes;
  bool more = true;
  while (more && calls < 10000) {
    more = follower_->poll();
    ++calls;
    const uint64_t now = follower_->counters().bytes;
    EXPECT_LE(now - before, 4096u);
    before = now;
  }
  EXPECT_FALSE(more);
  EXPECT_GE(calls, static_cast<int>(text.size() / 4096));
  const auto l = take();
  ASSERT_EQ(l.size(), 5000u);
  EXPECT_EQ(l.back(), "line 4999");
}

TEST_F(Follower, SymbolicLinkIsNotFollowed) {
  const std::string real = dir_ + "/real.log";
  append("secret\n", real);
  ASSERT_EQ(::symlink(real.c_str(), path_.c_str()), 0);
  make(true);
  follower_->poll();
  follower_->poll();
  EXPECT_FALSE(follower_->is_open());
  EXPECT_NE(follower_->problem().find("symbolic link"), std::string::npos);
  EXPECT_EQ(follower_->counters().open_errors, 1u);  // said once
  EXPECT_TRUE(take().empty());
}

TEST_F(Follower, OnlyRegularFiles) {
  fs::create_directory(path_);
  make(true);
  follower_->poll();
  EXPECT_FALSE(follower_->is_open());
  EXPECT_NE(follower_->problem().find("not a regular file"), std::string::npos);
}

// inotify on the directory says when the file grew or was replaced.
TEST_F(Follower, InotifyWakesIt) {
  append("");
  make();
  follower_->poll();
  ASSERT_GE(follower_->inotify_fd(), 0);
  const auto wait_readable = [&] {
    pollfd p{follower_->inotify_fd(), POLLIN, 0};
    return ::poll(&p, 1, 10000) == 1;
  };
  append("grown\n");
  ASSERT_TRUE(wait_readable());
  follower_->on_inotify();
  EXPECT_EQ(take(), Lines{"grown"});
  ASSERT_EQ(::rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  append("new file\n");
  ASSERT_TRUE(wait_readable());
  follower_->on_inotify();
  EXPECT_EQ(take(), Lines{"new file"});
  // Another file's events in the directory read nothing.
  append("elsewhere\n", dir_ + "/other.log");
  ASSERT_TRUE(wait_readable());
  EXPECT_FALSE(follower_->on_inotify());
  EXPECT_TRUE(take().empty());
}

}  // namespace
}  // namespace sluice::sluiced::maillog
