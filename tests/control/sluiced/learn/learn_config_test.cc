// [learning] in sluiced.ini (control/sluiced/learn/learn_config.h): the defaults, every key read,
// bad values refused naming the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "learn/learn_config.h"

namespace sluice::sluiced::learn {
namespace {

using ::testing::HasSubstr;

LearnConfig read(const std::string &text) {
  ConfigSchema schema;
  describe_learn_config(schema);
  std::istringstream in(text);
  return read_learn_config(schema.parse(in, "sluiced.ini"));
}

std::string refusal(const std::string &text) {
  try {
    read(text);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "accepted";
}

const KindSettings &kind(const LearnConfig &c, LocalKind k) {
  return c.model.kinds[static_cast<size_t>(k)];
}

TEST(LearningConfig, Defaults) {
  const LearnConfig c = read("");
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.model.max_addresses, 65536u);
  EXPECT_EQ(c.model.step_ms, 60000);
  EXPECT_EQ(c.save_interval, std::chrono::seconds(5));
  EXPECT_EQ(c.state_file, "");
  EXPECT_EQ(kind(c, LocalKind::kComplaint).weight, 4);
  EXPECT_EQ(kind(c, LocalKind::kComplaint).threshold, 0.5);
  EXPECT_EQ(kind(c, LocalKind::kConnRate).threshold, 120);
  EXPECT_EQ(kind(c, LocalKind::kConnRate).weight, 0.01);
  EXPECT_EQ(kind(c, LocalKind::kTrapHit).half_life_ms, 86400000);
  EXPECT_EQ(kind(c, LocalKind::kUnknownRecipient).threshold, 5);
}

TEST(LearningConfig, EveryKeyIsRead) {
  const LearnConfig c = read(
      "[learning]\nenabled = false\nmax_addresses = 1000\nstep = 30s\nsave_interval = 250ms\n"
      "state = /var/lib/sluice/other.state\ncomplaint.weight = 5\ncomplaint.cap = 20\n"
      "complaint.threshold = 1\ncomplaint.half_life = 6h\nconn_rate.weight = 0.005\n"
      "protocol_error.half_life = 90m\n");
  EXPECT_FALSE(c.enabled);
  EXPECT_EQ(c.model.max_addresses, 1000u);
  EXPECT_EQ(c.model.step_ms, 30000);
  EXPECT_EQ(c.save_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(c.state_file, "/var/lib/sluice/other.state");
  EXPECT_EQ(kind(c, LocalKind::kComplaint).weight, 5);
  EXPECT_EQ(kind(c, LocalKind::kComplaint).cap, 20);
  EXPECT_EQ(kind(c, LocalKind::kComplaint).threshold, 1);
  EXPECT_EQ(kind(c, LocalKind::kComplaint).half_life_ms, 6 * 3600000);
  EXPECT_EQ(kind(c, LocalKind::kConnRate).weight, 0.005);
  EXPECT_EQ(kind(c, LocalKind::kProtocolError).half_life_ms, 90 * 60000);
  EXPECT_EQ(kind(c, LocalKind::kPregreet).weight, 3);  // untouched: the default
}

TEST(LearningConfig, BadValuesAreRefusedNamingTheKey) {
  EXPECT_THAT(refusal("[learning]\nenabled = maybe\n"), HasSubstr("learning.enabled"));
  EXPECT_THAT(refusal("[learning]\nmax_addresses = 0\n"), HasSubstr("learning.max_addresses"));
  EXPECT_THAT(refusal("[learning]\nmax_addresses = 2.5\n"), HasSubstr("learning.max_addresses"));
  EXPECT_THAT(refusal("[learning]\nmax_addresses = 2000000\n"),
              HasSubstr("learning.max_addresses"));
  EXPECT_THAT(refusal("[learning]\nstep = 2h\n"), HasSubstr("learning.step: '2h' is outside"));
  EXPECT_THAT(refusal("[learning]\nstep = 0\n"), HasSubstr("learning.step"));
  EXPECT_THAT(refusal("[learning]\nstate = relative.state\n"),
              HasSubstr("learning.state: 'relative.state' is not an absolute path"));
  EXPECT_THAT(refusal("[learning]\ncomplaint.weight = -1\n"),
              HasSubstr("learning.complaint.weight: '-1' is not a number"));
  EXPECT_THAT(refusal("[learning]\ncomplaint.weight = nan\n"),
              HasSubstr("learning.complaint.weight"));
  EXPECT_THAT(refusal("[learning]\ntrap_hit.cap = lots\n"), HasSubstr("learning.trap_hit.cap"));
  EXPECT_THAT(refusal("[learning]\nconn_rate.threshold = 1e10\n"),
              HasSubstr("learning.conn_rate.threshold"));
  EXPECT_EQ(refusal("[learning]\npregreet.half_life = 1\n"), "accepted");
  EXPECT_THAT(refusal("[learning]\npregreet.half_life = 5ms\n"),
              HasSubstr("learning.pregreet.half_life"));
  EXPECT_THAT(refusal("[learning]\npregreet.half_life = 400d\n"),
              HasSubstr("learning.pregreet.half_life"));
  EXPECT_THAT(refusal("[learning]\nspam.weight = 1\n"),
              HasSubstr("unknown key 'weight' in section [learning.spam]"));
  EXPECT_THAT(refusal("[learning]\nbogus = 1\n"),
              HasSubstr("unknown key 'bogus' in section [learning]"));
}

}  // namespace
}  // namespace sluice::sluiced::learn
