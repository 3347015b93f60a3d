// rbldnsd zone formats: every address form, values, directives, comments, exclusions.
#include <gtest/gtest.h>

#include "sluice/reputation/compile.h"
#include "sluice/reputation/explain.h"
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
  // One entry per prefix: the two spellings of 127.0.0.0/24 are one key.
  EXPECT_THAT(rendered(p), ElementsAre("127.0.0.0/24 w=1 c=2", "127.0.1.0/24 w=1 c=2",
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
  // The end has as many octets as the start, or one octet replacing the start's last one.
  auto p = parse(config(SourceType::kRbldnsdIp4set),
                 "10.0.0-10.0.1\n10.2-3\n10.4.0.0-10.4.1.255\n10.1.0.0-1.255\n");
  EXPECT_THAT(rendered(p),
              ElementsAre("10.0.0.0/23 w=1 c=2", "10.2.0.0/15 w=1 c=2", "10.4.0.0/23 w=1 c=2"));
  ASSERT_EQ(p.malformed(), 1u);  // rbldnsd refuses a two-octet end after a four-octet start
  EXPECT_THAT(p.problems[0], HasSubstr(":4: bad address '10.1.0.0-1.255'"));
}

TEST(RbldnsdIp4set, ExclusionsAreEntriesMarkedExcluded) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), "127.0.0.0/24\n!127.0.0.5\n! 127.0.0.6\n");
  EXPECT_THAT(rendered(p),
              ElementsAre("127.0.0.0/24 w=1 c=2", "!127.0.0.5/32 w=0", "!127.0.0.6/32 w=0"));
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
  EXPECT_THAT(p.problems[1], HasSubstr("test.src:2: bad address '1.2.3.4/33'"));
  EXPECT_THAT(p.problems[2], HasSubstr("test.src:3: '1.2.3.5/24' has bits set beyond /24"));
  EXPECT_THAT(p.problems[3], HasSubstr("test.src:4:"));
  EXPECT_THAT(p.problems[4], HasSubstr("test.src:5: bad address '1.2.3.9-1.2.3.1'"));
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

TEST(RbldnsdIp4tset, TakesSingleAddressesOnlyWithTheZonesOneValue) {
  // rbldnsd ignores what follows an ip4tset address, and the zone's first value line, wherever
  // it stands, is every entry's value.
  auto p = parse(config(SourceType::kRbldnsdIp4tset), R"(1.2.3.4
:127.0.0.3:Trivial set
1.2.3.0/24
!1.2.3.5
1.2.3.6 :127.0.0.4:ignored
:5:a second value line is ignored
1.2.3.7:9
1.2.3.4
)");
  EXPECT_THAT(rendered(p),
              ElementsAre("1.2.3.4/32 w=1 c=3", "1.2.3.6/32 w=1 c=3", "1.2.3.7/32 w=1 c=3"));
  ASSERT_EQ(p.malformed(), 2u);
  EXPECT_THAT(p.problems[0], HasSubstr(":3:"));
  EXPECT_THAT(p.problems[1], HasSubstr(":4: exclusions are not supported"));
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
  EXPECT_THAT(rendered(p), ElementsAre("::/0 w=1 c=2", "2001:db8::/32 w=1 c=4",
                                       "2001:db8::1/128 w=1 c=2", "!2001:db8::2/128 w=1 c=2"));
  ASSERT_EQ(p.malformed(), 3u);
  EXPECT_THAT(p.problems[0], HasSubstr(":6: bad IPv6 address '2001:db8::/129'"));
  EXPECT_THAT(p.problems[1], HasSubstr(":7: bad IPv6 address"));
  EXPECT_THAT(p.problems[2], HasSubstr(":8: '2001:db8::1/64' has bits set beyond /64"));
}

TEST(RbldnsdIp6tset, EntriesAreFourWordSlash64sAndExclusionsFullAddresses) {
  auto p = parse(config(SourceType::kRbldnsdIp6tset), R"(2001:db8:1:2
!2001:db8:1:2::5
2001:db8::1
!2001:db8:1:3
2001:db8:1
2001:db8:1:2::
::1
!2001:db8:1:2:0:0:0:6
)");
  EXPECT_THAT(rendered(p), ElementsAre("2001:db8:1:2::/64 w=1 c=2", "!2001:db8:1:2::5/128 w=1 c=2",
                                       "!2001:db8:1:2::6/128 w=1 c=2"));
  ASSERT_EQ(p.malformed(), 5u);
  EXPECT_THAT(p.problems[0], HasSubstr(":3: an ip6tset entry is a /64 written as four words"));
  EXPECT_THAT(p.problems[1], HasSubstr(":4: an ip6tset exclusion is a full address"));
  EXPECT_THAT(p.problems[2], HasSubstr(":5: an ip6tset entry is a /64"));
  EXPECT_THAT(p.problems[3], HasSubstr(":6: an ip6tset entry is a /64"));
  EXPECT_THAT(p.problems[4], HasSubstr(":7: bad return code in default value"));  // "::1"
}

TEST(RbldnsdIp4set, CrLfLineEndingsAreAccepted) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), "1.2.3.4\r\n1.2.3.5 :3:x\r\n");
  EXPECT_THAT(rendered(p), ElementsAre("1.2.3.4/32 w=1 c=2", "1.2.3.5/32 w=1 c=3"));
}

// The codes the source answers for an address: its most specific entry's (what rbldnsd answers).
std::vector<uint32_t> answer(const ParsedSource &p, const char *addr) {
  auto ip = parse_ip(addr);
  const EntryV4 *best4 = nullptr;
  const EntryV6 *best6 = nullptr;
  if (ip->family == 4) {
    for (const auto &e : p.v4)
      if (prefix_contains<uint32_t>(e.addr, e.len, ip->v4) && (!best4 || e.len > best4->len))
        best4 = &e;
    return best4 ? p.codes_of(*best4) : std::vector<uint32_t>{};
  }
  for (const auto &e : p.v6)
    if (prefix_contains<U128>(e.addr, e.len, ip->v6) && (!best6 || e.len > best6->len)) best6 = &e;
  return best6 ? p.codes_of(*best6) : std::vector<uint32_t>{};
}
std::vector<uint32_t> codes(std::initializer_list<uint32_t> last_octets) {
  std::vector<uint32_t> v;
  for (uint32_t o : last_octets) v.push_back(0x7f000000u | o);
  return v;
}

// explain shows every code the deciding entry answers, and the contribution the table holds
// (their weights' sum), not only the lowest code.
TEST(RbldnsdIp4set, ExplainShowsEveryCodeOfTheDecidingEntry) {
  auto c = config(SourceType::kRbldnsdIp4set, 100);
  c.name = "zone";
  for (uint32_t k = 2; k <= 7; ++k) c.code_weights[0x7f000000u | k] = 1 << k;
  auto p = parse(c, "198.18.1.200 :6\n198.18.1.200 :7\n198.18.1.0/24 :5\n");
  ASSERT_EQ(p.malformed(), 0u) << ::testing::PrintToString(p.problems);
  SourcesFile sf;
  sf.sources.push_back(c);
  std::vector<ParsedSource> ps{p};
  const Explanation x = explain(sf, ps, *parse_ip("198.18.1.200"));
  ASSERT_EQ(x.sources.size(), 1u);
  ASSERT_FALSE(x.sources[0].entries.empty());
  const ExplainEntry &e = x.sources[0].entries[0];
  EXPECT_TRUE(e.decides);
  EXPECT_EQ(e.codes, codes({6, 7}));
  EXPECT_EQ(e.code, 0x7f000006u);
  EXPECT_EQ(x.sources[0].contribution, 64 + 128);
  EXPECT_EQ(x.value.score, value4(compile(ps, sf.sources), "198.18.1.200").score);
  const Explanation y = explain(sf, ps, *parse_ip("198.18.1.9"));
  ASSERT_FALSE(y.sources.empty());
  EXPECT_EQ(y.sources[0].entries[0].codes, codes({5}));
}

TEST(RbldnsdIp4set, AnAddressAnswersEveryCodeListedAtItsDecidingLevel) {
  // rbldnsd keeps ip4set entries as /32, /24, /16 and /8 keys: the /25 and the /26 are both
  // /32 keys, so an address in both answers both codes; the /24 only decides where no /32 key is.
  auto c = config(SourceType::kRbldnsdIp4set, 100);
  for (uint32_t k = 2; k <= 7; ++k) c.code_weights[0x7f000000u | k] = 1 << k;
  auto p = parse(c, R"(198.18.1.0/25 :2
198.18.1.0/26 :4
198.18.1.0/24 :5
198.18.1.200 :6
198.18.1.200 :6
198.18.1.200 :7
198.18.2.1 :3
198.18.2.1
)");
  ASSERT_EQ(p.malformed(), 0u) << ::testing::PrintToString(p.problems);
  EXPECT_EQ(answer(p, "198.18.1.5"), codes({2, 4}));
  EXPECT_EQ(answer(p, "198.18.1.100"), codes({2}));
  EXPECT_EQ(answer(p, "198.18.1.150"), codes({5}));
  EXPECT_EQ(answer(p, "198.18.1.200"), codes({6, 7}));
  EXPECT_EQ(answer(p, "198.18.2.1"), codes({2, 3}));
  EXPECT_EQ(answer(p, "198.18.3.1"), codes({}));
  // One contribution per address: the distinct codes' weights add up (postscreen's filters).
  std::vector<ParsedSource> ps{p};
  std::vector<SourceConfig> cs{c};
  auto t = compile(ps, cs);
  EXPECT_EQ(value4(t, "198.18.1.5").score, 4 + 16);
  EXPECT_EQ(value4(t, "198.18.1.100").score, 4);
  EXPECT_EQ(value4(t, "198.18.1.150").score, 32);
  EXPECT_EQ(value4(t, "198.18.1.200").score, 64 + 128);
  EXPECT_EQ(value4(t, "198.18.2.1").score, 4 + 8);
}

TEST(RbldnsdIp4set, AnExclusionWinsItsLevelWhateverThePrefixLength) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), R"(!198.18.1.0/25
198.18.1.0/26 :4
198.18.2.0/24 :3
!198.18.2.0/23
198.18.4.0/24
!198.18.4.9
198.18.4.9 :5
)");
  EXPECT_EQ(answer(p, "198.18.1.5"), codes({}));  // the /26 and the /25 are both /32 keys
  EXPECT_EQ(answer(p, "198.18.2.5"), codes({}));  // the /23 is two /24 keys
  EXPECT_EQ(answer(p, "198.18.3.5"), codes({}));
  EXPECT_EQ(answer(p, "198.18.4.9"), codes({}));  // an exclusion beats its key's entries
  EXPECT_EQ(answer(p, "198.18.4.10"), codes({2}));
}

TEST(RbldnsdIp4set, AddressFormsAsRbldnsdReadsThem) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), R"(198
198/8
0.0.0.0/0
198.18-198.18.3.4
0198.018.001.009
198.18.2.0/0024
198.18.3.1-5
198.18.4-5
198.18.6.1 - 198.18.6.9
)");
  EXPECT_THAT(rendered(p),
              ElementsAre("198.0.0.0/8 w=1 c=2", "198.18.1.9/32 w=1 c=2", "198.18.2.0/24 w=1 c=2",
                          "198.18.3.1/32 w=1 c=2", "198.18.3.2/31 w=1 c=2", "198.18.3.4/31 w=1 c=2",
                          "198.18.4.0/23 w=1 c=2", "198.18.6.1/32 w=1 c=2"));
  ASSERT_EQ(p.malformed(), 3u);  // a bare number, /0 (ip4set), a range of mixed lengths
  EXPECT_THAT(p.problems[0], HasSubstr(":1: bad address '198'"));
  EXPECT_THAT(p.problems[1], HasSubstr(":3: bad address '0.0.0.0/0'"));
  EXPECT_THAT(p.problems[2], HasSubstr(":4:"));
}

TEST(RbldnsdIp4set, ReturnCodesAsRbldnsdReadsThem) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), R"(1.2.3.1 :127.5
1.2.3.2 :1.2.3
1.2.3.3 :0
1.2.3.4 :
1.2.3.5 :3 junk
1.2.3.6 :4 :txt after blanks
1.2.3.7 ::txt
:0:a bad default is ignored
1.2.3.8
)");
  EXPECT_EQ(answer(p, "1.2.3.1"), codes({5}));  // inet_aton: 127.5 is 127.0.0.5
  EXPECT_EQ(answer(p, "1.2.3.2"), std::vector<uint32_t>{0x01020003});
  EXPECT_EQ(answer(p, "1.2.3.6"), codes({4}));
  EXPECT_EQ(answer(p, "1.2.3.8"), codes({2}));
  for (const char *dropped : {"1.2.3.3", "1.2.3.4", "1.2.3.5", "1.2.3.7"})
    EXPECT_EQ(answer(p, dropped), codes({})) << dropped;
  EXPECT_EQ(p.malformed(), 5u);
}

TEST(RbldnsdIp4set, MaxRange4RefusesLargerRangesAfterItAndOnlyShrinks) {
  auto p = parse(config(SourceType::kRbldnsdIp4set), R"(198.18.8.0/22
#$MAXRANGE4 /24
198.18.0.0/23
198.18.2.0/24
$MAXRANGE4 65536
198.18.4.0/22
:$maxrange4 2
198.18.6.0-198.18.6.1
198.18.6.4-198.18.6.6
)");
  EXPECT_EQ(answer(p, "198.18.8.1"), codes({2}));
  EXPECT_EQ(answer(p, "198.18.0.1"), codes({}));
  EXPECT_EQ(answer(p, "198.18.2.1"), codes({2}));
  EXPECT_EQ(answer(p, "198.18.4.1"), codes({}));
  EXPECT_EQ(answer(p, "198.18.6.1"), codes({2}));
  EXPECT_EQ(answer(p, "198.18.6.5"), codes({}));
  EXPECT_EQ(p.malformed(), 4u);
}

TEST(RbldnsdTrie, ADuplicatedPrefixKeepsItsFirstLineAnExclusionIncluded) {
  auto p = parse(config(SourceType::kRbldnsdIp4trie), R"(198.18.1.0/24 :3
!198.18.1.0/24
198.18.1.0/24 :4
!198.18.2.0/24
198.18.2.0/24 :5
198.18.0.0/16
0/0 :6
)");
  EXPECT_EQ(answer(p, "198.18.1.1"), codes({3}));
  EXPECT_EQ(answer(p, "198.18.2.1"), codes({}));
  EXPECT_EQ(answer(p, "198.18.3.1"), codes({2}));
  EXPECT_EQ(answer(p, "10.0.0.1"), codes({6}));  // ip4trie takes /0, ip4set does not
  std::vector<ParsedSource> ps{p};
  std::vector<SourceConfig> cs{config(SourceType::kRbldnsdIp4trie)};
  auto t = compile(ps, cs);
  EXPECT_EQ(value4(t, "198.18.1.1").score, 1);  // the table agrees: the first line decides
  EXPECT_EQ(value4(t, "198.18.2.1").score, 0);
  auto q = parse(config(SourceType::kRbldnsdIp6trie), R"(2001:db8::/32 :3
!2001:db8::/32
2001:db8:1::/48
!2001:db8:1::/48 :4
)");
  EXPECT_EQ(answer(q, "2001:db8:2::1"), codes({3}));
  EXPECT_EQ(answer(q, "2001:db8:1::1"), codes({2}));
}

TEST(RbldnsdIp6trie, AddressFormsAsRbldnsdReadsThem) {
  auto p = parse(config(SourceType::kRbldnsdIp6trie), R"(2001:db8:1:2 :3
2001:db8:3
2001:db8::4:
2001:db8:5:0:0:0:0:1:7
2001
::ffff:198.18.0.1
2001:db8:6::00001
2001:db8:7::/064
)");
  EXPECT_EQ(answer(p, "2001:db8:1:2::9"), codes({3}));   // four words: a /64
  EXPECT_EQ(answer(p, "2001:db8:3:ff::1"), codes({2}));  // three words: a /48
  EXPECT_EQ(answer(p, "2001:db8::4"), codes({2}));       // a trailing ':' is read past
  EXPECT_EQ(answer(p, "2001:db8:5::1"), codes({7}));     // eight words, then the value ":7"
  EXPECT_EQ(answer(p, "2001:db8:6::1"), codes({2}));     // leading zeros beyond four digits
  EXPECT_EQ(answer(p, "2001:db8:7::1"), codes({2}));
  EXPECT_EQ(p.malformed(), 2u);  // a bare word, embedded IPv4
}

}  // namespace
}  // namespace sluice::reputation::testing
