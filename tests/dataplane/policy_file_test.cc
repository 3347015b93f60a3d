// The policy file parser: a valid file maps onto sl_policy field by field; every kind of bad
// input is refused with FILE:LINE: reason.
#include "policy_file.h"

#include "core/sl_caps.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace sluice::dataplane {
namespace {

PolicyFile parse(const std::string &text) {
  std::istringstream in(text);
  return parse_policy(in, "test.ini");
}

// The error message of parsing `text`, or "" if it parsed.
std::string error_of(const std::string &text) {
  try {
    parse(text);
  } catch (const PolicyError &e) {
    return e.what();
  }
  return "";
}

const char *kFull = R"(# sluice policy
[smtp]
ports = 25, 587

[level.1]
name = throttle
threshold = 3
window_clamp = 2048
mss_clamp = 536
delay_ms = 200

[level.2]
name = tarpit
threshold = 8
tarpit = yes
strip_sack_perm = true
client_drop_ppm = 250000
server_drop_ppm = 1000

[level.3]
name = block
threshold = 10
block = rst
)";

TEST(PolicyFile, MapsEveryFieldOntoSlPolicy) {
  const PolicyFile p = parse(kFull);
  EXPECT_EQ(p.policy.nlevels, 4u);
  EXPECT_EQ(p.policy.smtp_ports[0], sl_htons(25));
  EXPECT_EQ(p.policy.smtp_ports[1], sl_htons(587));
  EXPECT_EQ(p.policy.smtp_ports[2], 0);
  EXPECT_EQ(p.policy.thresholds[1], 3);
  EXPECT_EQ(p.policy.thresholds[2], 8);
  EXPECT_EQ(p.policy.thresholds[3], 10);
  const sl_profile &t = p.policy.profiles[1];
  EXPECT_EQ(t.window_clamp, 2048u);
  EXPECT_EQ(t.mss_clamp, 536);
  EXPECT_EQ(t.delay_us, 200000u);
  EXPECT_EQ(t.strip_wscale, 1) << "a window clamp implies stripping window scale";
  EXPECT_EQ(t.block, SL_BLOCK_NONE);
  const sl_profile &tp = p.policy.profiles[2];
  EXPECT_EQ(tp.tarpit, 1);
  EXPECT_EQ(tp.strip_sack_perm, 1);
  EXPECT_EQ(tp.strip_wscale, 0);
  EXPECT_EQ(tp.client_drop_ppm, 250000u);
  EXPECT_EQ(tp.server_drop_ppm, 1000u);
  EXPECT_EQ(p.policy.profiles[3].block, SL_BLOCK_RST);
  ASSERT_EQ(p.level_names.size(), 4u);
  EXPECT_EQ(p.level_names[0], "pass");
  EXPECT_EQ(p.level_names[1], "throttle");
  EXPECT_EQ(p.level_names[3], "block");
}

TEST(PolicyFile, DefaultsToPort25AndOnlyPassLevel) {
  const PolicyFile p = parse("# nothing\n");
  EXPECT_EQ(p.policy.nlevels, 1u);
  EXPECT_EQ(p.policy.smtp_ports[0], sl_htons(25));
  EXPECT_EQ(p.policy.smtp_ports[1], 0);
}

TEST(PolicyFile, FormatRoundTrips) {
  const PolicyFile p = parse(kFull);
  const PolicyFile again = parse(format_policy(p));
  EXPECT_EQ(0, memcmp(&p.policy, &again.policy, sizeof(sl_policy)));
  EXPECT_EQ(p.level_names, again.level_names);
}

TEST(PolicyFile, LoadsFromFileAndNamesItInErrors) {
  const std::string path = ::testing::TempDir() + "policy_" + std::to_string(getpid()) + ".ini";
  {
    std::ofstream f(path);
    f << "[level.1]\nthreshold = 3\nwindow_clamp = 70000\n";
  }
  try {
    load_policy(path);
    ADD_FAILURE() << "window_clamp above 65535 accepted";
  } catch (const PolicyError &e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ":3: ", 0), 0u) << e.what();
  }
  std::remove(path.c_str());
  try {
    load_policy(path);
    ADD_FAILURE() << "missing file accepted";
  } catch (const PolicyError &e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos);
  }
}

TEST(PolicyFile, RefusesALineWithANulByte) {
  const std::string text("[level.1]\nthreshold = 1\0junk\n", 29);
  const std::string msg = error_of(text);
  EXPECT_EQ(msg.rfind("test.ini:2: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("NUL"), std::string::npos) << msg;
}

TEST(PolicyFile, ErrorsShowHostileValuesCutAndEscaped) {
  const std::string value = "\x1b[2J" + std::string(1'000'000, 'A');
  const std::string msg = error_of("[level.1]\nthreshold = " + value + "\n");
  EXPECT_EQ(msg.rfind("test.ini:2: ", 0), 0u) << msg;
  EXPECT_LT(msg.size(), 300u) << "the whole value was echoed";
  EXPECT_NE(msg.find("'\\x1b[2JAAAA"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1000004 bytes"), std::string::npos) << msg;
  for (unsigned char c : msg) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "raw byte " << int(c);
}

TEST(PolicyFile, ShownEscapesAndCuts) {
  EXPECT_EQ(shown("a\\b\n\xff"), "'a\\\\b\\x0a\\xff'");
  EXPECT_EQ(shown("plain", false), "plain");
  const std::string cut = shown(std::string(81, 'x'));
  EXPECT_EQ(cut, "'" + std::string(80, 'x') + "'... (81 bytes, first 80 shown)");
  EXPECT_EQ(shown(std::string(80, 'x')), "'" + std::string(80, 'x') + "'");
}

TEST(PolicyFile, EveryDocumentedKeyIsAccepted) {
  // One line per key of docs/policy.md's table; all of them in one level.
  const PolicyFile p = parse(
      "[smtp]\nports = 25\n[level.1]\nthreshold = 1\nname = x\nwindow_clamp = 1\nmss_clamp = 1\n"
      "strip_wscale = true\nstrip_sack_perm = true\ndelay_us = 1\nclient_drop_ppm = 1\n"
      "server_drop_ppm = 1\ntarpit = true\nblock = none\nmode = enforce\nmax_flows = 1\n"
      "max_flows_net = 1\nmax_syn_per_min = 1\nsyn_burst = 1\nover_cap = drop\n"
      "[level.2]\nthreshold = 2\ndelay_ms = 2\n");
  EXPECT_EQ(p.policy.nlevels, 3u);
  EXPECT_EQ(p.policy.profiles[2].delay_us, 2000u);
}

PolicyFile with_level1(int threshold, const char *extra) {
  return parse("[level.1]\nname = bad\nthreshold = " + std::to_string(threshold) + "\n" + extra);
}

TEST(PolicyFile, WarnsWhenUnlistedSendersAreBlocked) {
  for (int t : {0, -5}) {
    const PolicyFile p = with_level1(t, "block = drop\n");
    EXPECT_EQ(unlisted_level(p), 1u);
    const auto w = policy_warnings(p, "p.ini");
    ASSERT_EQ(w.size(), 1u) << "threshold " << t;
    EXPECT_EQ(w[0].rfind("p.ini: warning: level 1 'bad' has threshold " + std::to_string(t), 0), 0u)
        << w[0];
    EXPECT_NE(w[0].find("every unlisted sender (score 0) is blocked"), std::string::npos) << w[0];
  }
  const auto shaped = policy_warnings(with_level1(0, "window_clamp = 512\n"), "p.ini");
  ASSERT_EQ(shaped.size(), 1u);
  EXPECT_NE(shaped[0].find("is shaped"), std::string::npos) << shaped[0];
}

TEST(PolicyFile, NoWarningWhenUnlistedSendersPass) {
  const PolicyFile p = with_level1(1, "block = rst\n");
  EXPECT_EQ(unlisted_level(p), 0u);
  EXPECT_TRUE(policy_warnings(p, "p.ini").empty());
  EXPECT_TRUE(policy_warnings(parse(kFull), "p.ini").empty());
}

struct BadCase {
  const char *what;
  const char *text;
  const char *prefix;  // expected start of the message
  const char *mentions;
};

class PolicyFileBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(PolicyFileBad, RefusedWithFileLineReason) {
  const std::string msg = error_of(GetParam().text);
  ASSERT_FALSE(msg.empty()) << GetParam().what << " was accepted";
  EXPECT_EQ(msg.rfind(GetParam().prefix, 0), 0u) << msg;
  EXPECT_NE(msg.find(GetParam().mentions), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, PolicyFileBad,
    ::testing::Values(
        BadCase{"no '='", "[level.1]\nthreshold 3\n", "test.ini:2: ", "key = value"},
        BadCase{"unclosed section", "[level.1\n", "test.ini:1: ", "']'"},
        BadCase{"unknown section", "[levels]\nx = 1\n", "test.ini:1: ", "unknown section"},
        BadCase{"level 0", "[level.0]\nthreshold = 1\n", "test.ini:1: ", "unknown section"},
        BadCase{"level too high", "[level.8]\nthreshold = 1\n", "test.ini:1: ", "unknown section"},
        BadCase{"unknown key", "[level.1]\nthreshold = 1\nwindow = 3\n",
                "test.ini:3: ", "unknown key 'window'"},
        BadCase{"not a number", "[level.1]\nthreshold = ten\n", "test.ini:2: ", "'ten'"},
        BadCase{"negative window", "[level.1]\nthreshold = 1\nwindow_clamp = -1\n",
                "test.ini:3: ", "non-negative"},
        BadCase{"ppm above a million", "[level.1]\nthreshold = 1\nclient_drop_ppm = 1000001\n",
                "test.ini:3: ", "exceeds"},
        BadCase{"bad boolean", "[level.1]\nthreshold = 1\nstrip_sack_perm = maybe\n",
                "test.ini:3: ", "boolean"},
        BadCase{"bad tarpit", "[level.1]\nthreshold = 1\ntarpit = maybe\n",
                "test.ini:3: ", "false, server (or true), stateless"},
        BadCase{"bad block", "[level.1]\nthreshold = 1\nblock = reject\n",
                "test.ini:3: ", "none, drop, rst"},
        BadCase{"bad level mode", "[level.1]\nthreshold = 1\nmode = dryrun\n",
                "test.ini:3: ", "enforce, observe"},
        BadCase{"bad policy mode", "[smtp]\nports = 25\nmode = sometimes\n",
                "test.ini:3: ", "enforce, observe"},
        BadCase{"duplicate key", "[level.1]\nthreshold = 1\nthreshold = 2\n",
                "test.ini:3: ", "duplicate key"},
        BadCase{"repeated section", "[level.1]\nthreshold = 1\n[level.1]\n",
                "test.ini:3: ", "repeated"},
        BadCase{"missing threshold", "[level.1]\nname = x\n", "test.ini:1: ", "no threshold"},
        BadCase{"gap in levels", "[level.1]\nthreshold = 1\n[level.3]\nthreshold = 2\n",
                "test.ini:3: ", "without gaps"},
        BadCase{"decreasing thresholds", "[level.1]\nthreshold = 5\n[level.2]\nthreshold = 4\n",
                "test.ini:4: ", "must not decrease"},
        BadCase{"scaled window clamp",
                "[level.1]\nthreshold = 1\nwindow_clamp = 100\nstrip_wscale = false\n",
                "test.ini:4: ", "strip_wscale"},
        BadCase{"key outside section", "ports = 25\n", "test.ini:1: ", "outside a section"},
        BadCase{"port 0", "[smtp]\nports = 0\n", "test.ini:2: ", "port 0"},
        BadCase{"port too large", "[smtp]\nports = 70000\n", "test.ini:2: ", "exceeds"},
        BadCase{"too many ports", "[smtp]\nports = 1,2,3,4,5\n", "test.ini:2: ", "at most"},
        BadCase{"duplicate port", "[smtp]\nports = 25, 25\n", "test.ini:2: ", "twice"},
        BadCase{"empty port entry", "[smtp]\nports = 25,,587\n", "test.ini:2: ", "empty entry"},
        // [level.1] and [level.01] both named level 1, and the later one silently won.
        BadCase{"level with leading zero",
                "[level.1]\nthreshold = 10\nblock = drop\n[level.01]\nthreshold = 20\n",
                "test.ini:4: ", "[level.1] (no leading zeros)"},
        BadCase{"leading zero after a gap", "[level.1]\nthreshold = 1\n[level.03]\nthreshold = 2\n",
                "test.ini:3: ", "leading zeros"},
        BadCase{"leading zero with lower threshold",
                "[level.1]\nthreshold = 5\n[level.02]\nthreshold = 4\n",
                "test.ini:3: ", "leading zeros"},
        BadCase{"signed level number", "[level.+1]\nthreshold = 1\n",
                "test.ini:1: ", "unknown section"},
        BadCase{"dotted key", "[level.1]\nthreshold = 1\nx.block = drop\n",
                "test.ini:3: ", "'x.block' is not a plain name"},
        BadCase{"dotted key in smtp", "[smtp]\nports.x = 25\n", "test.ini:2: ", "plain name"},
        BadCase{"unknown key in smtp", "[smtp]\nport = 25\n",
                "test.ini:2: ", "unknown key 'port' in [smtp] (expected ports"},
        BadCase{"control byte in name", "[level.1]\nthreshold = 1\nname = a\x1b[2Jb\n",
                "test.ini:3: ", "'a\\x1b[2Jb' has a byte that is not printable"},
        BadCase{"caps on a block level", "[level.1]\nthreshold = 1\nblock = drop\nmax_flows = 3\n",
                "test.ini:4: ", "creates no flows"},
        BadCase{"caps on a stateless tarpit",
                "[level.1]\nthreshold = 1\nmax_syn_per_min = 6\ntarpit = stateless\n",
                "test.ini:3: ", "answers SYNs statelessly"},
        BadCase{"burst without a rate", "[level.1]\nthreshold = 1\nsyn_burst = 3\n",
                "test.ini:3: ", "syn_burst needs max_syn_per_min"},
        BadCase{"burst of 0", "[level.1]\nthreshold = 1\nmax_syn_per_min = 6\nsyn_burst = 0\n",
                "test.ini:4: ", "at least 1"},
        BadCase{"burst over 71 minutes",
                "[level.1]\nthreshold = 1\nmax_syn_per_min = 1\nsyn_burst = 100\n",
                "test.ini:4: ", "over 71 minutes"},
        BadCase{"rate too high", "[level.1]\nthreshold = 1\nmax_syn_per_min = 600001\n",
                "test.ini:3: ", "exceeds 600000"},
        BadCase{"bad over_cap", "[level.1]\nthreshold = 1\nmax_flows = 2\nover_cap = reject\n",
                "test.ini:4: ", "drop, rst"},
        BadCase{"over_cap without a cap", "[level.1]\nthreshold = 1\nover_cap = rst\n",
                "test.ini:3: ", "without a cap"},
        BadCase{"outbound level 0", "[outbound.level.0]\nthreshold = 1\n",
                "test.ini:1: ", "unknown section"},
        BadCase{"outbound level with leading zero", "[outbound.level.01]\nthreshold = 1\n",
                "test.ini:1: ", "[outbound.level.1] (no leading zeros)"},
        BadCase{"gap in outbound levels",
                "[outbound.level.1]\nthreshold = 1\n[outbound.level.3]\nthreshold = 2\n",
                "test.ini:3: ", "[outbound.level.3] without [outbound.level.2]"},
        BadCase{"decreasing outbound thresholds",
                "[outbound.level.1]\nthreshold = 5\n[outbound.level.2]\nthreshold = 4\n",
                "test.ini:4: ", "below [outbound.level.1]'s 5"},
        BadCase{"outbound level without threshold", "[outbound.level.1]\nblock = drop\n",
                "test.ini:1: ", "[outbound.level.1] has no threshold"},
        BadCase{"too many levels in all",
                "[level.1]\nthreshold = 1\n[level.2]\nthreshold = 2\n[level.3]\nthreshold = 3\n"
                "[level.4]\nthreshold = 4\n[outbound.level.1]\nthreshold = 1\n"
                "[outbound.level.2]\nthreshold = 2\n[outbound.level.3]\nthreshold = 3\n"
                "[outbound.level.4]\nthreshold = 4\n",
                "test.ini:9: ", "4 inbound and 4 outbound levels: at most 7 in all"},
        BadCase{"unknown key in outbound", "[outbound]\nports = 25\nthreshold = 3\n",
                "test.ini:3: ", "unknown key 'threshold' in [outbound] (expected ports)"},
        BadCase{"bad outbound port", "[outbound]\nports = 0\n", "test.ini:2: ", "port 0"},
        BadCase{"two levels with one name",
                "[level.1]\nname = slow\nthreshold = 1\n[outbound.level.1]\nname = slow\n"
                "threshold = 1\n",
                "test.ini: ", "two levels are named 'slow'"},
        BadCase{"caps on a blocking outbound level",
                "[outbound.level.1]\nthreshold = 1\nblock = rst\nmax_flows = 3\n",
                "test.ini:4: ", "creates no flows"},
        BadCase{"long name",
                "[level.1]\nthreshold = 1\nname = "
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
                "test.ini:3: ", "longer than 64"}),
    [](const auto &info) {
      std::string n = info.param.what;
      for (char &c : n)
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

// [outbound] and [outbound.level.N]: the outbound levels follow the inbound ones (out_first),
// each set numbered and checked on its own; outbound ports default to 25.
TEST(PolicyFile, OutboundLevelsFollowTheInboundOnes) {
  const PolicyFile p = parse(
      "[outbound.level.2]\nname = out-block\nthreshold = 20\nblock = rst\n"
      "[level.1]\nname = throttle\nthreshold = 3\nwindow_clamp = 1024\n"
      "[outbound.level.1]\nname = out-slow\nthreshold = 8\nwindow_clamp = 2048\n"
      "mss_clamp = 536\nmax_syn_per_min = 30\n"
      "[level.2]\nname = block\nthreshold = 10\nblock = drop\n");
  EXPECT_EQ(p.policy.nlevels, 5u);
  EXPECT_EQ(p.policy.out_first, 3u);
  EXPECT_EQ(p.policy.out_ports[0], sl_htons(25));
  EXPECT_EQ(p.policy.out_ports[1], 0);
  ASSERT_EQ(p.level_names.size(), 5u);
  EXPECT_EQ(p.level_names[2], "block");
  EXPECT_EQ(p.level_names[3], "out-slow");
  EXPECT_EQ(p.level_names[4], "out-block");
  EXPECT_EQ(p.policy.thresholds[3], 8);
  EXPECT_EQ(p.policy.profiles[3].window_clamp, 2048u);
  EXPECT_EQ(p.policy.profiles[3].strip_wscale, 1);  // implied by the clamp, as inbound
  EXPECT_EQ(p.policy.profiles[3].mss_clamp, 536);
  EXPECT_EQ(p.policy.caps[3].syn_interval_us, 2'000'000u);
  EXPECT_EQ(p.policy.thresholds[4], 20);
  EXPECT_EQ(p.policy.profiles[4].block, SL_BLOCK_RST);
  EXPECT_EQ(p.policy.profiles[2].block, SL_BLOCK_DROP);
  // Round trip: written back as [outbound] and [outbound.level.N].
  const std::string text = format_policy(p);
  EXPECT_NE(text.find("[outbound.level.2]\nname = out-block"), std::string::npos) << text;
  const PolicyFile again = parse(text);
  EXPECT_EQ(std::memcmp(&again.policy, &p.policy, sizeof(p.policy)), 0) << text;
  EXPECT_EQ(again.level_names, p.level_names);
}

TEST(PolicyFile, OutboundSectionAloneCountsFanOutOnly) {
  const PolicyFile none = parse("[level.1]\nthreshold = 3\n");
  EXPECT_EQ(none.policy.out_ports[0], 0);
  EXPECT_EQ(none.policy.out_first, 0u);
  const PolicyFile p = parse("[outbound]\nports = 25, 2525\n[level.1]\nthreshold = 3\n");
  EXPECT_EQ(p.policy.out_ports[0], sl_htons(25));
  EXPECT_EQ(p.policy.out_ports[1], sl_htons(2525));
  EXPECT_EQ(p.policy.out_first, 0u);  // no outbound levels: subscribers are never shaped
  EXPECT_EQ(p.policy.nlevels, 2u);
  const PolicyFile again = parse(format_policy(p));
  EXPECT_EQ(std::memcmp(&again.policy, &p.policy, sizeof(p.policy)), 0);
}

TEST(PolicyFile, WarnsWhenEveryUnlistedSubscriberIsShaped) {
  const PolicyFile p = parse(
      "[level.1]\nthreshold = 3\n[outbound.level.1]\nthreshold = 0\n"
      "window_clamp = 512\n");
  EXPECT_EQ(unlisted_level(p), 0u);
  EXPECT_EQ(unlisted_level(p, true), 2u);
  const auto w = policy_warnings(p, "p.ini");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("every unlisted subscriber's outbound SMTP (score 0) is shaped"),
            std::string::npos)
      << w[0];
}

// [smtp] unseen_tcp: drop unless the file says pass; anything else is refused with its line.
TEST(PolicyFile, ModeObserveForTheWholePolicyOrOneLevel) {
  const char *levels = "[level.1]\nthreshold = 3\n[level.2]\nthreshold = 9\nblock = rst\n";
  const PolicyFile enforcing = parse(levels);
  EXPECT_EQ(enforcing.policy.profiles[1].observe, 0);
  EXPECT_EQ(enforcing.policy.profiles[2].observe, 0);
  // [smtp] mode = observe: every level observes ...
  const PolicyFile all = parse(std::string("[smtp]\nmode = observe\n") + levels);
  EXPECT_EQ(all.policy.profiles[1].observe, 1);
  EXPECT_EQ(all.policy.profiles[2].observe, 1);
  // ... unless a level says enforce; one level alone may observe too.
  const PolicyFile mixed = parse(
      "[smtp]\nmode = observe\n[level.1]\nthreshold = 3\n[level.2]\nthreshold = 9\n"
      "mode = enforce\n");
  EXPECT_EQ(mixed.policy.profiles[1].observe, 1);
  EXPECT_EQ(mixed.policy.profiles[2].observe, 0);
  const PolicyFile one = parse("[level.1]\nthreshold = 3\nmode = Observe\n");
  EXPECT_EQ(one.policy.profiles[1].observe, 1);
  EXPECT_EQ(parse("[smtp]\nmode = enforce\n[level.1]\nthreshold = 3\n").policy.profiles[1].observe,
            0);
  // Formatting keeps it.
  const PolicyFile again = parse(format_policy(mixed));
  EXPECT_EQ(std::memcmp(&again.policy, &mixed.policy, sizeof(sl_policy)), 0);
}

TEST(PolicyFile, UnseenTcpDefaultsToDropAndTakesPass) {
  EXPECT_EQ(parse("[smtp]\nports = 25\n").policy.unseen_tcp, uint32_t{SL_UNSEEN_DROP});
  EXPECT_EQ(parse("[smtp]\nunseen_tcp = pass\n").policy.unseen_tcp, uint32_t{SL_UNSEEN_PASS});
  EXPECT_EQ(parse("[smtp]\nunseen_tcp = drop\n").policy.unseen_tcp, uint32_t{SL_UNSEEN_DROP});
  const PolicyFile p = parse("[smtp]\nunseen_tcp = pass\n");
  EXPECT_EQ(parse(format_policy(p)).policy.unseen_tcp, uint32_t{SL_UNSEEN_PASS});
  EXPECT_EQ(error_of("[smtp]\nports = 25\nunseen_tcp = maybe\n"),
            "test.ini:3: 'unseen_tcp' must be drop or pass, not 'maybe'");
}

TEST(PolicyFile, HeavyHittersDefaultOnAndTakeAThreshold) {
  const uint32_t dflt = parse("[smtp]\nports = 25\n").policy.heavy_syn_threshold;
  EXPECT_GT(dflt, 0u);  // on by default
  EXPECT_EQ(parse("[smtp]\nheavy_syn_threshold = 40\n").policy.heavy_syn_threshold, 40u);
  EXPECT_EQ(parse("[smtp]\nheavy_hitters = off\n").policy.heavy_syn_threshold, 0u);
  EXPECT_EQ(
      parse("[smtp]\nheavy_hitters = off\nheavy_syn_threshold = 9\n").policy.heavy_syn_threshold,
      0u);
  EXPECT_EQ(parse("[smtp]\nheavy_hitters = on\n").policy.heavy_syn_threshold, dflt);
  for (const char *text : {"[smtp]\nheavy_syn_threshold = 40\n", "[smtp]\nheavy_hitters = no\n"}) {
    const PolicyFile p = parse(text);
    const PolicyFile again = parse(format_policy(p));
    EXPECT_EQ(std::memcmp(&again.policy, &p.policy, sizeof(sl_policy)), 0);
  }
  EXPECT_EQ(error_of("[smtp]\n\nheavy_hitters = maybe\n"),
            "test.ini:3: 'heavy_hitters': 'maybe' is not a boolean (true/false)");
  EXPECT_EQ(error_of("[smtp]\nheavy_syn_threshold = 0\n"),
            "test.ini:2: 'heavy_syn_threshold' must be at least 1 (heavy_hitters = off turns "
            "counting off)");
  EXPECT_EQ(error_of("[smtp]\nheavy_syn_threshold = -3\n"),
            "test.ini:2: 'heavy_syn_threshold': '-3' is not a non-negative integer");
  EXPECT_EQ(error_of("[smtp]\nheavy_syn_threshold = 1000001\n"),
            "test.ini:2: 'heavy_syn_threshold': 1000001 exceeds 1000000");
  EXPECT_EQ(error_of("[level.1]\nthreshold = 1\nheavy_hitters = on\n").substr(0, 39),
            "test.ini:3: unknown key 'heavy_hitters'");
}

TEST(PolicyFile, PregreetIsOnByDefaultAndRoundTrips) {
  EXPECT_EQ(parse("[smtp]\nports = 25\n").policy.pregreet, 1u);
  EXPECT_EQ(parse("[smtp]\npregreet = off\n").policy.pregreet, 0u);
  EXPECT_EQ(parse("[smtp]\npregreet = on\n").policy.pregreet, 1u);
  for (const char *text : {"[smtp]\npregreet = off\n", "[smtp]\npregreet = true\n"}) {
    const PolicyFile p = parse(text);
    const PolicyFile again = parse(format_policy(p));
    EXPECT_EQ(std::memcmp(&again.policy, &p.policy, sizeof(sl_policy)), 0) << text;
  }
  EXPECT_EQ(error_of("[smtp]\npregreet = sometimes\n"),
            "test.ini:2: 'pregreet': 'sometimes' is not a boolean (true/false)");
  EXPECT_EQ(error_of("[level.1]\nthreshold = 1\npregreet = on\n").substr(0, 34),
            "test.ini:3: unknown key 'pregreet'");
}

// Aggregate caps: max_flows, max_flows_net, max_syn_per_min (+ syn_burst, 10 s' worth by
// default) and over_cap, kept as the core's GCRA interval and tolerance; format round-trips.
TEST(PolicyFile, AggregateCapsPerLevel) {
  const PolicyFile p = parse(
      "[level.1]\nthreshold = 3\nmax_flows = 4\nmax_flows_net = 16\nmax_syn_per_min = 60\n"
      "syn_burst = 5\n[level.2]\nthreshold = 5\nmax_syn_per_min = 120\nover_cap = rst\n"
      "[level.3]\nthreshold = 8\nblock = rst\n");
  const sl_caps &a = p.policy.caps[1], &b = p.policy.caps[2];
  EXPECT_EQ(a.max_flows, 4u);
  EXPECT_EQ(a.max_flows_net, 16u);
  EXPECT_EQ(a.syn_interval_us, 1'000'000u);
  EXPECT_EQ(a.syn_tolerance_us, 4'000'000u) << "a burst of 5: 4 intervals of tolerance";
  EXPECT_EQ(a.over, static_cast<uint32_t>(SL_CAP_DROP)) << "drop unless over_cap says rst";
  EXPECT_EQ(b.syn_interval_us, 500'000u);
  EXPECT_EQ(b.syn_tolerance_us, 19u * 500'000u) << "unset: 10 s' worth (20 SYNs)";
  EXPECT_EQ(b.max_flows, 0u);
  EXPECT_EQ(b.over, static_cast<uint32_t>(SL_CAP_RST));
  EXPECT_FALSE(sl_caps_any(&p.policy.caps[3]));
  const PolicyFile again = parse(format_policy(p));
  EXPECT_EQ(std::memcmp(&again.policy, &p.policy, sizeof(sl_policy)), 0) << format_policy(p);
  // A rate whose interval is not whole microseconds is written back as the one kept.
  const PolicyFile odd = parse("[level.1]\nthreshold = 3\nmax_syn_per_min = 7\n");
  EXPECT_EQ(odd.policy.caps[1].syn_interval_us, 8'571'428u);
  const PolicyFile odd_again = parse(format_policy(odd));
  EXPECT_EQ(std::memcmp(&odd_again.policy, &odd.policy, sizeof(sl_policy)), 0);
  // Every cap 0 is no cap, and no over_cap is written.
  const PolicyFile none = parse("[level.1]\nthreshold = 3\nmax_flows = 0\n");
  EXPECT_FALSE(sl_caps_any(&none.policy.caps[1]));
  EXPECT_EQ(format_policy(none).find("over_cap"), std::string::npos);
}

// tarpit = false | server (true) | stateless; a stateless level cannot block; the parser marks a
// policy with a stateless level for the core (tarpit_cookies) and never sets a cookie key.
TEST(PolicyFile, TarpitServerOrStateless) {
  const auto tarpit_of = [](const std::string &v) {
    return parse("[level.1]\nthreshold = 3\ntarpit = " + v + "\n").policy.profiles[1].tarpit;
  };
  EXPECT_EQ(tarpit_of("false"), SL_TARPIT_NONE);
  EXPECT_EQ(tarpit_of("no"), SL_TARPIT_NONE);
  EXPECT_EQ(tarpit_of("true"), SL_TARPIT_SERVER);
  EXPECT_EQ(tarpit_of("yes"), SL_TARPIT_SERVER);
  EXPECT_EQ(tarpit_of("server"), SL_TARPIT_SERVER);
  EXPECT_EQ(tarpit_of("Stateless"), SL_TARPIT_STATELESS);

  const PolicyFile server = parse("[level.1]\nthreshold = 3\ntarpit = server\n");
  EXPECT_EQ(server.policy.tarpit_cookies, 0u);
  const PolicyFile stateless = parse(
      "[level.1]\nthreshold = 3\n[level.2]\nthreshold = 5\ntarpit = stateless\n"
      "[level.3]\nthreshold = 9\nblock = rst\n");
  EXPECT_EQ(stateless.policy.tarpit_cookies, 1u);
  for (uint32_t w : stateless.policy.cookie_key) EXPECT_EQ(w, 0u) << "the data plane draws it";
  const PolicyFile again = parse(format_policy(stateless));
  EXPECT_EQ(std::memcmp(&again.policy, &stateless.policy, sizeof(sl_policy)), 0);
  EXPECT_NE(format_policy(stateless).find("tarpit = stateless\n"), std::string::npos);

  EXPECT_EQ(error_of("[level.1]\nthreshold = 3\ntarpit = stateless\nblock = drop\n"),
            "test.ini:3: tarpit = stateless answers the SYN, block refuses it: choose one");
  EXPECT_EQ(error_of("[level.1]\nthreshold = 3\ntarpit = maybe\n"),
            "test.ini:3: 'tarpit': 'maybe' is not one of false, server (or true), stateless");
  const PolicyFile w = parse("[level.1]\nthreshold = 0\ntarpit = stateless\n");
  ASSERT_EQ(policy_warnings(w, "p.ini").size(), 1u);
  EXPECT_NE(policy_warnings(w, "p.ini")[0].find("tarpitted (stateless)"), std::string::npos);
}

// The cookie key: drawn once (16 bytes, not all zero), then kept across policy changes.
TEST(PolicyFile, CookieKeyIsDrawnOnceAndKept) {
  sl_policy first{};
  keep_cookie_key(first, nullptr);
  bool any = false;
  for (uint32_t w : first.cookie_key) any = any || w != 0;
  EXPECT_TRUE(any);
  sl_policy second{};
  keep_cookie_key(second, &first);
  EXPECT_EQ(std::memcmp(first.cookie_key, second.cookie_key, sizeof first.cookie_key), 0);
  sl_policy other{};
  keep_cookie_key(other, nullptr);
  EXPECT_NE(std::memcmp(first.cookie_key, other.cookie_key, sizeof first.cookie_key), 0);
  // A running policy without a key (an XDP instance's first policy) gets a fresh one.
  sl_policy blank{}, next{};
  keep_cookie_key(next, &blank);
  any = false;
  for (uint32_t w : next.cookie_key) any = any || w != 0;
  EXPECT_TRUE(any);
}

}  // namespace
}  // namespace sluice::dataplane
