// [heavy_hitters] in sluiced.ini (control/sluiced/heavy/heavy_config.h): the defaults, every key
// read, bad values and unknown keys refused naming the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "heavy/heavy_config.h"

namespace sluice::sluiced::heavy {
namespace {

using ::testing::HasSubstr;

HeavyConfig read(const std::string &text) {
  ConfigSchema schema;
  describe_heavy_config(schema);
  std::istringstream in(text);
  return read_heavy_config(schema.parse(in, "sluiced.ini"));
}

std::string refusal(const std::string &text) {
  try {
    read(text);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "accepted";
}

TEST(HeavyConfig, Defaults) {
  const HeavyConfig c = read("");
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.settings.poll_interval, std::chrono::seconds(1));
  EXPECT_EQ(c.settings.min_rate, 120);
  EXPECT_EQ(c.settings.max_per_poll, 256u);
}

TEST(HeavyConfig, EveryKey) {
  const HeavyConfig c = read(
      "[heavy_hitters]\nenabled = false\npoll_interval = 250ms\nmin_rate = 30.5\n"
      "max_per_poll = 64\n");
  EXPECT_FALSE(c.enabled);
  EXPECT_EQ(c.settings.poll_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(c.settings.min_rate, 30.5);
  EXPECT_EQ(c.settings.max_per_poll, 64u);
}

TEST(HeavyConfig, BadValuesAndUnknownKeysAreRefused) {
  EXPECT_THAT(refusal("[heavy_hitters]\nmin_rat = 10\n"),
              HasSubstr("unknown key 'min_rat' in section [heavy_hitters]"));
  EXPECT_THAT(refusal("[heavy_hitters]\nenabled = maybe\n"), HasSubstr("heavy_hitters.enabled"));
  for (const char *v : {"0", "-5", "+5", "1e10", "nan", "inf", "ten", ""})
    EXPECT_THAT(refusal(std::string("[heavy_hitters]\nmin_rate = ") + v + "\n"),
                HasSubstr("heavy_hitters.min_rate"))
        << v;
  for (const char *v : {"0", "65537", "1.5", "-1", "many"})
    EXPECT_THAT(refusal(std::string("[heavy_hitters]\nmax_per_poll = ") + v + "\n"),
                HasSubstr("heavy_hitters.max_per_poll"))
        << v;
  for (const char *v : {"0", "50ms", "2h", "soon", "-1s"})
    EXPECT_THAT(refusal(std::string("[heavy_hitters]\npoll_interval = ") + v + "\n"),
                HasSubstr("heavy_hitters.poll_interval"))
        << v;
}

}  // namespace
}  // namespace sluice::sluiced::heavy
