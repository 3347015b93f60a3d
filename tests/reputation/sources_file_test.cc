// The sources file (INI): sections, defaults, per-return-code weights, errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sluice/reputation/error.h"
#include "sluice/reputation/ini_syntax.h"
#include "sluice/reputation/sources_file.h"

namespace sluice::reputation {
namespace {

using ::testing::HasSubstr;

TEST(SourcesFile, ReadsSectionsInOrderWithDefaults) {
  auto sf = parse_sources_text(R"(max_malformed = 7
[zen]
type = rbldnsd-ip4set
path = zones/zen.zone
weight = 3
weight.127.0.0.4 = 5
weight.10 = -2      # 127.0.0.10

[ok]
type = list
path = /etc/sluice/ok.txt
allow = yes
max_malformed = 0
description = certified senders

[drop]
type = drop
path = drop.txt
)",
                               "/srv/conf/sources.ini");
  ASSERT_EQ(sf.sources.size(), 3u);
  const auto &zen = sf.sources[0];
  EXPECT_EQ(zen.name, "zen");
  EXPECT_EQ(zen.type, SourceType::kRbldnsdIp4set);
  EXPECT_EQ(zen.path, "/srv/conf/zones/zen.zone");
  EXPECT_EQ(zen.weight, 3);
  EXPECT_FALSE(zen.allow);
  EXPECT_EQ(zen.max_malformed, 7u);
  EXPECT_EQ(zen.weight_for(0x7f000004), 5);
  EXPECT_EQ(zen.weight_for(0x7f00000a), -2);
  EXPECT_EQ(zen.weight_for(0x7f000002), 3);
  const auto &ok = sf.sources[1];
  EXPECT_EQ(ok.path, "/etc/sluice/ok.txt");
  EXPECT_TRUE(ok.allow);
  EXPECT_EQ(ok.weight, 0);  // allow sources weigh 0 unless told
  EXPECT_EQ(ok.max_malformed, 0u);
  const auto &drop = sf.sources[2];
  EXPECT_EQ(drop.weight, 1);
  EXPECT_EQ(drop.path, "/srv/conf/drop.txt");
}

void expect_error(const char *text, const char *message) {
  try {
    parse_sources_text(text, "s.ini");
    ADD_FAILURE() << "expected an Error for:\n" << text;
  } catch (const Error &e) {
    EXPECT_THAT(e.what(), HasSubstr(message));
  }
}

// A line Boost's INI parser refuses is refused before the parser sees it, with its number: a
// line holding the parser's own placeholder ("%invalid_line%") hung its message formatting.
TEST(SourcesFile, ABadLineIsRefusedWithItsNumberBeforeTheIniParserSeesIt) {
  expect_error("[zen]\ntype = list\n%invalid_line%\n",
               "s.ini: line 3: neither \"key = value\" nor \"[section]\"");
  expect_error("# comment\n[zen]\n = list\n", "s.ini: line 3: a value without a key");
  expect_error("[zen\n", "s.ini: line 1: neither");
  EXPECT_FALSE(ini_syntax_error("# only = a comment\n\n[zen] # section\n key = v=w # c\r\n"));
}

TEST(SourcesFile, RejectsMistakesWithTheFileAndSection) {
  expect_error("[a]\ntype = list\npath = x\nwieght = 3\n", "s.ini: [a] unknown key 'wieght'");
  expect_error("[a]\ntype = dnsbl\npath = x\n", "s.ini: [a] unknown type 'dnsbl'");
  expect_error("[a]\ntype = list\n", "s.ini: [a] missing 'path'");
  expect_error("[a]\npath = x\n", "s.ini: [a] missing 'type'");
  expect_error("[a]\ntype = list\npath = x\nweight = heavy\n", "s.ini: [a] bad weight 'heavy'");
  expect_error("[a]\ntype = list\npath = x\nallow = maybe\n", "s.ini: [a] bad allow 'maybe'");
  expect_error("[a]\ntype = list\npath = x\nweight.127.0.0.2 = 3\n", "apply to rbldnsd zones only");
  expect_error("[a]\ntype = rbldnsd-ip4set\npath = x\nweight.127.0.0.300 = 3\n",
               "bad return code in 'weight.127.0.0.300'");
  expect_error("[a]\ntype = list\npath = x\ntype = drop\n", "s.ini: [a] duplicate key 'type'");
  expect_error("[a]\ntype = list\npath = x\nthis line has no equals sign\n", "s.ini: ");
  expect_error("colour = blue\n[a]\ntype = list\npath = x\n", "unknown key 'colour' outside");
  expect_error("# nothing\n", "no sources");
}

}  // namespace
}  // namespace sluice::reputation
