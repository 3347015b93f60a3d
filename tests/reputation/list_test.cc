// The plain list format: ENTRY[,WEIGHT[,COMMENT]].
#include <gtest/gtest.h>

#include "test_util.h"

namespace sluice::reputation::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(List, AddressesPrefixesAndRangesOfBothFamilies) {
  auto p = parse(config(SourceType::kList, 2), R"(# comment
; another comment

192.0.2.1
192.0.2.128/25
198.18.0.0-198.18.1.255
198.18.2.1-198.18.2.2
2001:db8::1
2001:db8:1::/48
2001:db8:2::-2001:db8:2::3
)");
  EXPECT_EQ(p.malformed(), 0u) << ::testing::PrintToString(p.problems);
  EXPECT_THAT(rendered(p),
              ElementsAre("192.0.2.1/32 w=2", "192.0.2.128/25 w=2", "198.18.0.0/23 w=2",
                          "198.18.2.1/32 w=2", "198.18.2.2/32 w=2", "2001:db8::1/128 w=2",
                          "2001:db8:1::/48 w=2", "2001:db8:2::/126 w=2"));
  EXPECT_EQ(p.entries, 7u);
}

TEST(List, WeightAndCommentColumns) {
  auto p = parse(config(SourceType::kList, 2), R"(192.0.2.1,5
192.0.2.2,-3,vouched for
192.0.2.3,,empty weight keeps the source's
192.0.2.4 , +7 , spaces
!192.0.2.5,,excluded
)");
  EXPECT_EQ(p.malformed(), 0u) << ::testing::PrintToString(p.problems);
  EXPECT_THAT(rendered(p), ElementsAre("192.0.2.1/32 w=5", "192.0.2.2/32 w=-3", "192.0.2.3/32 w=2",
                                       "192.0.2.4/32 w=7", "!192.0.2.5/32 w=2"));
}

TEST(List, MalformedLinesAreReported) {
  auto p = parse(config(SourceType::kList), R"(192.0.2.1,abc
192.0.2.0-2001:db8::1
192.0.2.9-192.0.2.1
,5
192.0.2.7
)");
  EXPECT_THAT(rendered(p), ElementsAre("192.0.2.7/32 w=1"));
  ASSERT_EQ(p.malformed(), 4u);
  EXPECT_THAT(p.problems[0], HasSubstr("test.src:1: bad weight 'abc'"));
  EXPECT_THAT(p.problems[1], HasSubstr("test.src:2: range '192.0.2.0-2001:db8::1' mixes"));
  EXPECT_THAT(p.problems[2], HasSubstr("test.src:3: range '192.0.2.9-192.0.2.1' ends before"));
  EXPECT_THAT(p.problems[3], HasSubstr("test.src:4: missing address"));
}

TEST(List, RangeOverTheWholeSpaceIsOnePrefix) {
  auto p = parse(config(SourceType::kList),
                 "0.0.0.0-255.255.255.255\n::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n");
  EXPECT_THAT(rendered(p), ElementsAre("0.0.0.0/0 w=1", "::/0 w=1"));
}

}  // namespace
}  // namespace sluice::reputation::testing
