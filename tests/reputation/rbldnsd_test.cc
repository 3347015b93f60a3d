// rbldnsd zone formats: every address form, values, directives, comments, exclusions.
#include <gtest/gtest.h>

#include "test_util.h"

namespace sluice::reputation::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(RbldnsdIp4set, AcceptsEveryAddressForm) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), R"(127.0.0
127/24
127.0.1.0/24
127.0.2.0-127.0.2.255
127.0.3.9
)");
  EXPECT_EQ(p.malformed(), 0u);
  EXPECT_THAT(rendered(p),
              ElementsAre("127.0.0.0/24 w=1 c=2", "127.0.0.0/24 w=1 c=2", "127.0.1.0/24 w=1 c=2",
                          "127.0.2.0/24 w=1 c=2", "127.0.3.9/32 w=1 c=2"));
  EXPECT_EQ(p.entries, 5u);
}

TEST(RbldnsdIp4set, PartialEndRangeEndsInTheStartsBlock) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), "127.0.0.1-255\n");
  EXPECT_THAT(rendered(p),
              ElementsAre("127.0.0.1/32 w=1 c=2", "127.0.0.2/31 w=1 c=2", "127.0.0.4/30 w=1 c=2",
                          "127.0.0.8/29 w=1 c=2", "127.0.0.16/28 w=1 c=2", "127.0.0.32/27 w=1 c=2",
                          "127.0.0.64/26 w=1 c=2", "127.0.0.128/25 w=1 c=2"));
}

TEST(RbldnsdIp4set, PartialOctetRangesCoverWholeBlocks) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), "10.0.0-10.0.1\n10.1.0.0-1.255\n");
  EXPECT_THAT(rendered(p), ElementsAre("10.0.0.0/23 w=1 c=2", "10.1.0.0/23 w=1 c=2"));
}

TEST(RbldnsdIp4set, ExclusionsAreEntriesMarkedExcluded) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), "127.0.0.0/24\n!127.0.0.5\n! 127.0.0.6\n");
  EXPECT_THAT(rendered(p), ElementsAre("127.0.0.0/24 w=1 c=2", "!127.0.0.5/32 w=1 c=2",
                                       "!127.0.0.6/32 w=1 c=2"));
}

TEST(RbldnsdIp4set, DefaultAndPerEntryValuesSetTheReturnCode) {
  auto c = config(SourceType::kRbldnsdIp4set, 3);
  c.code_weights[0x7f000004] = 5;
  auto p = parse(c, R"(1.2.3.1
:127.0.0.4:Policy listing
1.2.3.2
1.2.3.3 :127.0.0.3:Spam source
1.2.3.4:10:no space before the value
1.2.3.5 :4:short form
1.2.3.6 plain TXT keeps the default code
)");
  EXPECT_EQ(p.malformed(), 0u) << ::testing::PrintToString(p.problems);
  EXPECT_THAT(rendered(p),
              ElementsAre("1.2.3.1/32 w=3 c=2", "1.2.3.2/32 w=5 c=4", "1.2.3.3/32 w=3 c=3",
                          "1.2.3.4/32 w=3 c=10", "1.2.3.5/32 w=5 c=4", "1.2.3.6/32 w=5 c=4"));
}

TEST(RbldnsdIp4set, DirectivesAndCommentsAreNotEntries) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), R"($SOA 3600 z.example. h.example. 1 2 3 4 5
$NS 3600 ns.example.
$TTL 3600
$TTL 1h
# hash comment
; semicolon comment
   
1.2.3.4 # trailing comment
1.2.3.5 ; trailing comment
)");
  EXPECT_EQ(p.malformed(), 0u) << ::testing::PrintToString(p.problems);
  EXPECT_THAT(rendered(p), ElementsAre("1.2.3.4/32 w=1 c=2", "1.2.3.5/32 w=1 c=2"));
  EXPECT_EQ(p.lines, 9u);
}

TEST(RbldnsdIp4set, MalformedLinesAreReportedWithFileAndLineAndSkipped) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), R"(1.2.3.256
1.2.3.4/33
1.2.3.5/24
abc
1.2.3.9-1.2.3.1
$TTL soon
$BOGUS 1
1.2.3.7 :127.0.0.999:bad code
1.2.3.8
)");
  EXPECT_THAT(rendered(p), ElementsAre("1.2.3.8/32 w=1 c=2"));
  ASSERT_EQ(p.malformed(), 8u);
  EXPECT_THAT(p.problems[0], HasSubstr("test.src:1: bad address"));
  EXPECT_THAT(p.problems[1], HasSubstr("test.src:2: bad prefix length"));
  EXPECT_THAT(p.problems[2], HasSubstr("test.src:3: '1.2.3.5/24' has bits set beyond /24"));
  EXPECT_THAT(p.problems[3], HasSubstr("test.src:4:"));
  EXPECT_THAT(p.problems[4], HasSubstr("test.src:5: range '1.2.3.9-1.2.3.1' ends before"));
  EXPECT_THAT(p.problems[5], HasSubstr("test.src:6: bad $TTL"));
  EXPECT_THAT(p.problems[6], HasSubstr("test.src:7: unknown directive '$BOGUS'"));
  EXPECT_THAT(p.problems[7], HasSubstr("test.src:8: bad return code"));
}

TEST(RbldnsdIp4set, TooManyMalformedLinesFail) {
  auto c = config(SourceType::kRbldnsdIp4set);
  c.max_malformed = 2;
  EXPECT_NO_THROW(parse(c, "x\ny\n1.2.3.4\n"));
  try {
    parse(c, "x\ny\nz\n1.2.3.4\n");
    FAIL() << "expected an Error";
  } catch (const Error &e) {
    EXPECT_THAT(e.what(), HasSubstr("test.src: more than 2 malformed lines"));
  }
}

TEST(RbldnsdIp4tset, TakesSingleAddressesOnly) {
  auto p = parse(config(SourceType::kRbldnsdIp4tset), R"(:127.0.0.3:Trivial set
1.2.3.4
1.2.3.0/24
!1.2.3.5
1.2.3.6 :127.0.0.4:no per-entry values
1.2.3.7
)");
  EXPECT_THAT(rendered(p), ElementsAre("1.2.3.4/32 w=1 c=3", "1.2.3.7/32 w=1 c=3"));
  ASSERT_EQ(p.malformed(), 3u);
  EXPECT_THAT(p.problems[0], HasSubstr(":3:"));
  EXPECT_THAT(p.problems[1], HasSubstr(":4: exclusions are not supported"));
  EXPECT_THAT(p.problems[2], HasSubstr(":5: rbldnsd-ip4tset entries cannot carry a value"));
}

TEST(RbldnsdIp4trie, TakesPrefixesAndExclusionsButNoRanges) {
  auto p = parse(config(SourceType::kRbldnsdIp4trie), R"(10.0.0.0/8 :2:big
10.1.0.0/16
!10.1.2.3
10.2.3.4
10.3.0.0-10.3.0.255
)");
  EXPECT_THAT(rendered(p), ElementsAre("10.0.0.0/8 w=1 c=2", "10.1.0.0/16 w=1 c=2",
                                       "!10.1.2.3/32 w=1 c=2", "10.2.3.4/32 w=1 c=2"));
  ASSERT_EQ(p.malformed(), 1u);
  EXPECT_THAT(p.problems[0], HasSubstr(":5: ranges are not allowed in rbldnsd-ip4trie"));
}

TEST(RbldnsdIp6trie, AcceptsCompressedAndFullFormsAndExclusions) {
  auto p = parse(config(SourceType::kRbldnsdIp6trie), R"($TTL 3600
2001:db8::/32 :127.0.0.4:v6 block
2001:0db8:0000:0000:0000:0000:0000:0001
!2001:db8::2
::/0
2001:db8::/129
2001:zz::1
2001:db8::1/64
)");
  EXPECT_THAT(rendered(p), ElementsAre("2001:db8::/32 w=1 c=4", "2001:db8::1/128 w=1 c=2",
                                       "!2001:db8::2/128 w=1 c=2", "::/0 w=1 c=2"));
  ASSERT_EQ(p.malformed(), 3u);
  EXPECT_THAT(p.problems[0], HasSubstr(":6: bad prefix length"));
  EXPECT_THAT(p.problems[1], HasSubstr(":7: bad address"));
  EXPECT_THAT(p.problems[2], HasSubstr(":8: '2001:db8::1/64' has bits set beyond /64"));
}

TEST(RbldnsdIp6tset, FourWordsAreA64AndFullAddressesA128) {
  auto p = parse(config(SourceType::kRbldnsdIp6tset), R"(2001:db8:1:2
2001:db8::1
!2001:db8:1:3
2001:db8:1
)");
  EXPECT_THAT(rendered(p), ElementsAre("2001:db8:1:2::/64 w=1 c=2", "2001:db8::1/128 w=1 c=2",
                                       "!2001:db8:1:3::/64 w=1 c=2"));
  ASSERT_EQ(p.malformed(), 1u);
  EXPECT_THAT(p.problems[0], HasSubstr(":4:"));
}

TEST(RbldnsdIp4set, CrLfLineEndingsAreAccepted) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), "1.2.3.4\r\n1.2.3.5 :3:x\r\n");
  EXPECT_THAT(rendered(p), ElementsAre("1.2.3.4/32 w=1 c=2", "1.2.3.5/32 w=1 c=3"));
}

}  // namespace
}  // namespace sluice::reputation::testing
