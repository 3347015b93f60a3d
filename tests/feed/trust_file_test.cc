// The trust file: every key, its defaults, and a clear refusal for each mistake.
#include <gtest/gtest.h>

#include "feed/keys.h"
#include "feed/trust_file.h"

namespace sluice::feed {
namespace {

std::string key() {
  return format_public_key(generate_keypair().pub);
}

TEST(FeedTrustFile, ReadsEveryKey) {
  const std::string k = key();
  TrustConfig c = parse_trust_text(
      "quorum = 2\nmax_ttl = 2h\nmin_prefix_v4 = 20\nmin_prefix_v6 = 40\nmax_age = 5m\n"
      "max_skew = 10s\npoints.trap_hit = 25\npoints.vouch = -3\n"
      "[isp-b]\nkey = " +
          k +
          "\nweight = 0.5\ncap = 7\nhalf_life = 30m\nmax_entries = 9\nmax_silence = 10m\n"
          "description = the other ISP\n[isp-c]\nkey = " +
          key() + "\n",
      "trust.ini");
  EXPECT_EQ(c.quorum, 2u);
  EXPECT_EQ(c.max_ttl_ms, 7200000);
  EXPECT_EQ(c.verifier.min_prefix_v4, 20);
  EXPECT_EQ(c.verifier.min_prefix_v6, 40);
  EXPECT_EQ(c.verifier.max_age_ms, 300000);
  EXPECT_EQ(c.verifier.max_skew_ms, 10000);
  EXPECT_EQ(c.points[static_cast<size_t>(Kind::kTrapHit)], 25);
  EXPECT_EQ(c.points[static_cast<size_t>(Kind::kVouch)], -3);
  EXPECT_EQ(c.points[static_cast<size_t>(Kind::kComplaint)], kDefaultPoints[0]);
  ASSERT_EQ(c.participants.size(), 2u);
  const ParticipantTrust &b = c.participants[0];
  EXPECT_EQ(b.name, "isp-b");
  EXPECT_EQ(format_public_key(b.key), k);
  EXPECT_DOUBLE_EQ(b.weight, 0.5);
  EXPECT_EQ(b.cap, 7);
  EXPECT_EQ(b.half_life_ms, 1800000);
  EXPECT_EQ(b.max_entries, 9u);
  EXPECT_EQ(b.max_silence_ms, 600000);
  const ParticipantTrust &c2 = c.participants[1];
  EXPECT_DOUBLE_EQ(c2.weight, 1.0);
  EXPECT_EQ(c2.cap, 20);
  EXPECT_EQ(c2.max_silence_ms, 0);  // not watched unless asked
}

TEST(FeedTrustFile, RefusesMistakesNamingTheFile) {
  const std::string k = "key = " + key() + "\n";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "no participants"},
      {"[isp-b]\nweight = 1\n", "[isp-b] missing 'key'"},
      {"[isp-b]\nkey = AAAA\n", "[isp-b] bad key"},
      {"[isp-b]\n" + k + "colour = red\n", "[isp-b] unknown key 'colour'"},
      {"[isp-b]\n" + k + "weight = 11\n", "[isp-b] bad weight"},
      {"[isp-b]\n" + k + "weight = x\n", "[isp-b] bad weight"},
      {"[isp-b]\n" + k + "cap = -1\n", "[isp-b] bad cap"},
      {"[isp-b]\n" + k + "half_life = 1y\n", "[isp-b] bad half_life"},
      {"[isp-b]\n" + k + "max_entries = 0\n", "[isp-b] bad max_entries"},
      {"[isp-b]\n" + k + "max_silence = 500ms\n", "[isp-b] bad max_silence"},
      {"[isp-b]\n" + k + "max_silence = never\n", "[isp-b] bad max_silence"},
      {"[ISP B]\n" + k, "is not a participant name"},
      {"quorum = 0\n[isp-b]\n" + k, "bad quorum"},
      {"max_ttl = 5s\n[isp-b]\n" + k, "bad max_ttl"},
      {"min_prefix_v4 = 0\n[isp-b]\n" + k, "bad min_prefix_v4"},
      {"min_prefix_v6 = 129\n[isp-b]\n" + k, "bad min_prefix_v6"},
      {"points.spam = 1\n[isp-b]\n" + k, "unknown kind"},
      {"colour = 1\n[isp-b]\n" + k, "unknown key 'colour' outside a section"},
      {"[isp-b]\n" + k + k, "duplicate key"},
      {"[isp-b\n", "trust.ini: "},
      {"[isp-b]\n%invalid_line%\n", "trust.ini: line 2: neither"},  // hung Boost's message
  };
  for (const auto &[text, expect] : bad) {
    try {
      parse_trust_text(text, "trust.ini");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const sluice::Error &e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("trust.ini: ", 0), 0u) << e.what();
    }
  }
}

TEST(FeedTrustFile, Durations) {
  int64_t ms;
  EXPECT_TRUE(parse_duration_ms("90", ms));
  EXPECT_EQ(ms, 90000);
  EXPECT_TRUE(parse_duration_ms("5m", ms));
  EXPECT_EQ(ms, 300000);
  EXPECT_TRUE(parse_duration_ms("1d", ms));
  EXPECT_EQ(ms, 86400000);
  for (const char *bad : {"", "m", "-1s", "1.5h", "366d", "1 h"})
    EXPECT_FALSE(parse_duration_ms(bad, ms)) << bad;
}

TEST(FeedKeys, SecretKeyFileGivesTheSamePublicKey) {
  KeyPair k = generate_keypair();
  KeyPair back = parse_secret_key("# my key\n" + format_seed(k.secret) + "\n", "k.key");
  EXPECT_EQ(back.pub, k.pub);
  EXPECT_THROW(parse_secret_key("", "k.key"), sluice::Error);
  EXPECT_THROW(parse_secret_key("nonsense\n", "k.key"), sluice::Error);
  EXPECT_THROW(parse_secret_key(format_seed(k.secret) + "\n" + format_seed(k.secret), "k.key"),
               sluice::Error);
}

}  // namespace
}  // namespace sluice::feed
