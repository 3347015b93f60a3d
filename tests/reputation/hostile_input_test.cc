// Hostile input to every list parser: embedded NUL bytes and trailing junk are malformed, and a
// malformed line reaches the operator cut short and with its control characters escaped.
#include <gtest/gtest.h>

#include "sluice/reputation/sources_file.h"
#include "test_util.h"

namespace sluice::reputation::testing {
namespace {

using ::testing::HasSubstr;

using namespace std::string_literals;

struct Format {
  SourceType type;
  std::string v4, v6;  // a valid entry of each family the format takes ("" if none)
};

std::vector<Format> formats() {
  return {{SourceType::kList, "192.0.2.1", "2001:db8::1"},
          {SourceType::kRbldnsdIp4set, "192.0.2.1", ""},
          {SourceType::kRbldnsdIp4trie, "192.0.2.1", ""},
          {SourceType::kRbldnsdIp6trie, "", "2001:db8::1"},
          {SourceType::kRbldnsdIp6tset, "", "2001:db8:1:2"},
          {SourceType::kDrop, "192.0.2.1/32", "2001:db8::1/128"}};
}

// Every byte of a message is printable ASCII.
void expect_printable(const std::string &msg) {
  for (unsigned char c : msg)
    ASSERT_TRUE(c >= 0x20 && c < 0x7f) << "raw byte " << int(c) << " in: " << msg;
}

TEST(HostileInput, Ipv6WithAnEmbeddedNulIsNotAnAddress) {
  EXPECT_FALSE(parse_ipv6("2001:db8::1\0junk"s));
  EXPECT_FALSE(parse_ip("2001:db8::1\0"s));
  EXPECT_FALSE(parse_ip("192.0.2.1\0"s));
  EXPECT_TRUE(parse_ipv6("2001:db8::1"));
}

TEST(HostileInput, AnEmbeddedNulMakesTheLineMalformedInEveryFormat) {
  for (const Format &f : formats()) {
    for (const std::string &good : {f.v4, f.v6}) {
      if (good.empty()) continue;
      SCOPED_TRACE(std::string(to_string(f.type)) + " " + good);
      const auto p = parse(config(f.type), good + "\n" + good + "\0junk\n"s);
      EXPECT_EQ(p.entries, 1u) << "the NUL line was taken as an entry";
      ASSERT_EQ(p.malformed(), 1u);
      EXPECT_THAT(p.problems[0], HasSubstr("test.src:2: line contains a NUL byte"));
      expect_printable(p.problems[0]);
    }
  }
}

TEST(HostileInput, TrailingJunkMakesTheLineMalformed) {
  for (const Format &f : formats()) {
    for (const std::string &good : {f.v4, f.v6}) {
      if (good.empty()) continue;
      SCOPED_TRACE(std::string(to_string(f.type)) + " " + good);
      const auto p = parse(config(f.type), good + "junk\n" + good + "/x\n");
      EXPECT_EQ(p.entries, 0u);
      EXPECT_EQ(p.malformed(), 2u);
    }
  }
}

TEST(HostileInput, DropJsonCidrWithANulIsMalformed) {
  const auto p = parse(config(SourceType::kDropJson), R"({"cidr":"2001:db8::/32"})"
                                                      "\n"
                                                      R"({"cidr":"2001:db8::1\u0000junk"})"
                                                      "\n");
  EXPECT_EQ(p.entries, 1u);
  ASSERT_EQ(p.malformed(), 1u);
  EXPECT_THAT(p.problems[0], HasSubstr("test.src:2: bad address '2001:db8::1\\x00junk'"));
}

TEST(HostileInput, AHugeMalformedLineIsCutInItsMessage) {
  const std::string huge(8u << 20, 'z');
  for (const Format &f : formats()) {
    SCOPED_TRACE(std::string(to_string(f.type)));
    const auto p = parse(config(f.type), huge + "\n");
    ASSERT_EQ(p.malformed(), 1u);
    EXPECT_LT(p.problems[0].size(), 300u) << "the line was echoed whole";
    EXPECT_THAT(p.problems[0], HasSubstr("'" + std::string(80, 'z') + "'... (8388608 bytes"));
  }
}

TEST(HostileInput, ControlCharactersAreEscapedInMessages) {
  for (const Format &f : formats()) {
    SCOPED_TRACE(std::string(to_string(f.type)));
    const auto p = parse(config(f.type), "\x1b]0Xowned\x07\x1b[2J\\evil\n");
    ASSERT_EQ(p.malformed(), 1u);
    EXPECT_THAT(p.problems[0], HasSubstr("\\x1b]0Xowned\\x07\\x1b[2J\\\\evil"));
    expect_printable(p.problems[0]);
  }
}

TEST(HostileInput, AnRbldnsdDirectiveNameIsEscaped) {
  const auto p = parse(config(SourceType::kRbldnsdIp4set), "$BO\x01GUS x\n");
  ASSERT_EQ(p.malformed(), 1u);
  EXPECT_THAT(p.problems[0], HasSubstr("unknown directive '$BO\\x01GUS'"));
  // A known directive's name with bytes after it (found by fuzz_list_parsers).
  const auto q = parse(config(SourceType::kRbldnsdIp4set),
                       "$TTL(3\xff\xff"
                       "600\n$SOA\n");
  ASSERT_EQ(q.malformed(), 2u);
  EXPECT_THAT(q.problems[0], HasSubstr("unknown directive '$TTL(3\\xff\\xff600'"));
  EXPECT_THAT(q.problems[1], HasSubstr("$SOA without a value"));
  expect_printable(q.problems[0]);
}

TEST(HostileInput, SourcesFileValuesAreEscapedAndCut) {
  try {
    parse_sources_text("[a]\ntype = " + std::string(1000, 'q') + "\x1b\npath = x\n", "s.ini");
    ADD_FAILURE() << "accepted";
  } catch (const Error &e) {
    const std::string msg = e.what();
    EXPECT_LT(msg.size(), 400u) << msg;
    EXPECT_THAT(msg, HasSubstr("unknown type '" + std::string(80, 'q') + "'... (1001 bytes"));
    expect_printable(msg);
  }
}

}  // namespace
}  // namespace sluice::reputation::testing
