// Spamhaus DROP in its text and JSON-lines forms.
#include <gtest/gtest.h>

#include "test_util.h"

namespace sluice::reputation::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(DropText, HeaderLinesAreSkippedAndCidrsListed) {
  auto p = parse(config(SourceType::kDrop, 10),
                 R"(; Spamhaus DROP List 2024/01/01 - (c) 2024 The Spamhaus Project SLU
; https://www.spamhaus.org/drop/drop.txt
; Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT
1.10.16.0/20 ; SBL256894
1.19.0.0/16 ; SBL434604
2001:db8:100::/40 ; SBL123456
223.254.0.0/16;SBL212803
)");
  EXPECT_EQ(p.malformed(), 0u);
  EXPECT_THAT(rendered(p), ElementsAre("1.10.16.0/20 w=10", "1.19.0.0/16 w=10",
                                       "223.254.0.0/16 w=10", "2001:db8:100::/40 w=10"));
  EXPECT_EQ(p.entries, 4u);
}

TEST(DropText, MalformedLinesAreReported) {
  auto p = parse(config(SourceType::kDrop), R"(; header
1.10.16.1/20 ; SBL1
 ; SBL2
300.1.0.0/16 ; SBL3
1.2.0.0/16 ; SBL4
)");
  EXPECT_THAT(rendered(p), ElementsAre("1.2.0.0/16 w=1"));
  ASSERT_EQ(p.malformed(), 2u);
  EXPECT_THAT(p.problems[0], HasSubstr("test.src:2: '1.10.16.1/20' has bits set beyond /20"));
  EXPECT_THAT(p.problems[1], HasSubstr("test.src:4: bad address '300.1.0.0'"));
}

TEST(DropJson, RecordsAreListedAndTheMetadataLineSkipped) {
  auto p = parse(config(SourceType::kDropJson, 10),
                 R"({"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}
{"cidr":"2001:db8:100::/40","sblid":"SBL123456","rir":"ripencc"}
{"type":"metadata","timestamp":1704067200,"size":2,"records":2,"copyright":"(c) Spamhaus"}
)");
  EXPECT_EQ(p.malformed(), 0u);
  EXPECT_THAT(rendered(p), ElementsAre("1.10.16.0/20 w=10", "2001:db8:100::/40 w=10"));
}

TEST(DropJson, MalformedLinesAreReported) {
  auto p = parse(config(SourceType::kDropJson), R"({"cidr":"1.10.16.0/20"
[1,2]
{"cidr":42}
{"cidr":"1.2.3.0/33"}
{"cidr":"1.2.3.0/24","sblid":"SBL1"}
)");
  EXPECT_THAT(rendered(p), ElementsAre("1.2.3.0/24 w=1"));
  ASSERT_EQ(p.malformed(), 4u);
  EXPECT_THAT(p.problems[0], HasSubstr("test.src:1: not a JSON value"));
  EXPECT_THAT(p.problems[1], HasSubstr("test.src:2: not a JSON object"));
  EXPECT_THAT(p.problems[2], HasSubstr("test.src:3: \"cidr\" is not a string"));
  EXPECT_THAT(p.problems[3], HasSubstr("test.src:4: bad prefix length"));
}

}  // namespace
}  // namespace sluice::reputation::testing
