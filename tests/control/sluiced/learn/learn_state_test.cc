// The learning state file (control/sluiced/learn/learn_state.h): what format_state writes reads
// back the same; anything else is refused as "NAME:LINE: reason", never crashes (the fuzz
// target's seeds run here too).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "learn/learn_state.h"
#include "test_dir.h"

namespace sluice::sluiced::learn {
namespace {

namespace rep = sluice::reputation;
using ::testing::HasSubstr;

SavedRecord record(const char *addr, LocalKind kind, double count, std::string origin,
                   std::string evidence) {
  SavedRecord r;
  r.address = *rep::parse_ip(addr);
  r.kind = kind;
  r.record.count = count;
  r.record.updated_ms = 1764000000123;
  r.record.last_seen_ms = 1764000000000;
  r.record.observations = 7;
  r.record.origin = std::move(origin);
  r.record.evidence = std::move(evidence);
  return r;
}

std::string refusal(const std::string &text) {
  try {
    parse_state(text, "learning.state");
  } catch (const StateError &e) {
    return e.what();
  }
  return "accepted";
}

const std::string kHead = "sluice-learning 1\n";

TEST(LearningState, WhatIsWrittenReadsBackTheSame) {
  const std::vector<SavedRecord> recs = {
      record("198.18.0.1", LocalKind::kComplaint, 2.0000000000000004, "arf", "report-1"),
      record("2001:2::1", LocalKind::kConnRate, 412.5, "dp", ""),
      record("198.18.0.2", LocalKind::kTrapHit, 1e-300, "policy", "a b%c-"),
      record("198.18.0.3", LocalKind::kPregreet, 0.1, "-", "-")};
  const std::string text = format_state(recs);
  const auto back = parse_state(text, "x");
  ASSERT_EQ(back.size(), recs.size());
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(rep::format_ip(back[i].address), rep::format_ip(recs[i].address));
    EXPECT_EQ(back[i].kind, recs[i].kind);
    EXPECT_EQ(back[i].record.count, recs[i].record.count);  // exactly
    EXPECT_EQ(back[i].record.updated_ms, recs[i].record.updated_ms);
    EXPECT_EQ(back[i].record.last_seen_ms, recs[i].record.last_seen_ms);
    EXPECT_EQ(back[i].record.observations, 7u);
    EXPECT_EQ(back[i].record.origin, recs[i].record.origin);
    EXPECT_EQ(back[i].record.evidence, recs[i].record.evidence);
  }
  EXPECT_THAT(text, HasSubstr(" policy a%20b%25c-\n"));
  EXPECT_EQ(format_state(back), text);
  EXPECT_TRUE(parse_state(kHead, "x").empty());
}

TEST(LearningState, AnythingElseIsRefusedNamingTheLine) {
  const std::string ok = "198.18.0.1 complaint 2 1764000000000 1764000000000 1 arf -\n";
  EXPECT_EQ(refusal(kHead + ok), "accepted");
  EXPECT_EQ(refusal(kHead + "# comment\n\n" + ok), "accepted");
  EXPECT_EQ(refusal(""), "learning.state:1: empty (no 'sluice-learning 1')");
  EXPECT_EQ(refusal("sluice-learning 2\n" + ok),
            "learning.state:1: not a learning state file (no 'sluice-learning 1')");
  EXPECT_EQ(refusal(kHead + ok.substr(0, ok.size() - 1)),
            "learning.state:2: the last line has no line feed (cut short?)");
  EXPECT_EQ(refusal(kHead + ok + "198.18.0.999 complaint 2 1 1 1 arf -\n"),
            "learning.state:3: not an IPv4 or IPv6 address");
  EXPECT_EQ(refusal(kHead + "198.18.0.1 spam 2 1 1 1 arf -\n"), "learning.state:2: unknown kind");
  for (const char *count : {"nan", "inf", "-1", "+1", "1e16", "0x10", "1,5"})
    EXPECT_EQ(refusal(kHead + "198.18.0.1 complaint " + count + " 1 1 1 arf -\n"),
              "learning.state:2: count: not a number 0 .. 1e15")
        << count;
  EXPECT_EQ(refusal(kHead + "198.18.0.1 complaint 1 -5 1 1 arf -\n"),
            "learning.state:2: updated_ms: not a unix time in milliseconds");
  EXPECT_EQ(refusal(kHead + "198.18.0.1 complaint 1 1 99999999999999999 1 arf -\n"),
            "learning.state:2: last_seen_ms: not a unix time in milliseconds");
  EXPECT_EQ(refusal(kHead + "198.18.0.1 complaint 1 1 1 1.5 arf -\n"),
            "learning.state:2: observations: not a whole number");
  EXPECT_EQ(refusal(kHead + "198.18.0.1 complaint 1 1 1 1 a%0Ab -\n"),
            "learning.state:2: origin: not printable, or longer than 32 bytes");
  EXPECT_EQ(refusal(kHead + "198.18.0.1 complaint 1 1 1 1 arf %2\n"),
            "learning.state:2: evidence: not printable, or longer than 128 bytes");
  EXPECT_EQ(refusal(kHead + "198.18.0.1 complaint 1 1 1 1 arf " + std::string(129, 'e') + "\n"),
            "learning.state:2: evidence: not printable, or longer than 128 bytes");
  EXPECT_EQ(refusal(kHead + "198.18.0.1 complaint 1 1 1 1 arf\n"),
            "learning.state:2: 7 fields, expected 8");
  EXPECT_EQ(refusal(kHead + "198.18.0.1  complaint 1 1 1 1 arf -\n"),
            "learning.state:2: 9 fields, expected 8");
  EXPECT_EQ(refusal(kHead + ok + ok), "learning.state:3: this address and kind appear twice");
  EXPECT_EQ(refusal(kHead + std::string(2000, 'x') + "\n"),
            "learning.state:2: line longer than 1024 bytes");
  EXPECT_EQ(refusal(kHead + "198.18.0.1 complaint 1 1 1 1 arf \xff\n"),
            "learning.state:2: evidence: not printable, or longer than 128 bytes");
}

TEST(LearningState, FilesAreWrittenWholeAndAMissingFileIsEmpty) {
  testing::TestDir dir;
  const std::string path = dir / "learning.state";
  EXPECT_TRUE(read_state_file(path).empty());
  write_state_file(path, {record("198.18.0.1", LocalKind::kComplaint, 2, "arf", "r")});
  const auto back = read_state_file(path);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].record.evidence, "r");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_THROW(write_state_file(dir / "no/such/dir/learning.state", {}), StateError);
  std::filesystem::create_directory(dir / "adir");
  try {
    read_state_file(dir / "adir");
    ADD_FAILURE() << "a directory was read";
  } catch (const StateError &e) {
    EXPECT_THAT(e.what(), HasSubstr(dir / "adir"));
  }
}

// The fuzz target's seeds, and each of them cut at every length: a clear refusal or records,
// never a crash (the seeds are also where a crash found by scripts/fuzz is kept).
TEST(LearningState, TheFuzzSeedsAreRefusedOrReadAndNeverCrash) {
  const std::filesystem::path seeds =
      std::filesystem::path(SLUICE_SOURCE_DIR) / "tests/fuzz/seeds/learning_state";
  size_t files = 0;
  for (const auto &f : std::filesystem::directory_iterator(seeds)) {
    std::ifstream in(f.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    ++files;
    for (size_t n = 0; n <= text.size(); ++n) {
      try {
        const auto recs = parse_state(text.substr(0, n), "seed");
        EXPECT_EQ(parse_state(format_state(recs), "again").size(), recs.size());
      } catch (const StateError &e) {
        EXPECT_THAT(e.what(), HasSubstr("seed:"));
      }
    }
  }
  EXPECT_GE(files, 3u);
}

}  // namespace
}  // namespace sluice::sluiced::learn
