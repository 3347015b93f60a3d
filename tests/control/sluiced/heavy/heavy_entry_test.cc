// One heavy_senders() entry as sluiced checks it (control/sluiced/heavy/heavy_entry.h): the four
// prefix forms the data planes report, and everything else refused with its reason.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <variant>

#include "heavy/heavy_entry.h"

namespace sluice::sluiced::heavy {
namespace {

control::HeavySender sender(std::string prefix, uint64_t syns, uint64_t window_ns) {
  control::HeavySender s;
  s.prefix = std::move(prefix);
  s.syns = syns;
  s.window_ns = window_ns;
  return s;
}

std::string refusal(const control::HeavySender &s) {
  const auto r = check_sender(s);
  if (const auto *why = std::get_if<Refusal>(&r)) return std::string(to_string(*why));
  return "accepted";
}

constexpr uint64_t kSecond = 1000000000;

TEST(HeavyEntry, TheFourFormsParseAndFormat) {
  for (const char *text : {"198.18.0.7/32", "198.18.0.0/24", "2001:2::7/128", "2001:2::/64"}) {
    const auto p = parse_heavy_prefix(text);
    ASSERT_TRUE(p) << text;
    const std::string t(text);
    EXPECT_EQ(format_heavy_prefix(*p), p->host() ? t.substr(0, t.find('/')) : t);
  }
  EXPECT_TRUE(parse_heavy_prefix("198.18.0.7/32")->host());
  EXPECT_FALSE(parse_heavy_prefix("198.18.0.0/24")->host());
  EXPECT_EQ(parse_heavy_prefix("198.18.0.7/32")->address().v4, 0xc6120007u);
  EXPECT_EQ(parse_heavy_prefix("2001:2::/64")->len, 64);
}

TEST(HeavyEntry, RateIsSynsPerMinuteOfItsWindow) {
  const auto r = check_sender(sender("198.18.0.7/32", 10, kSecond));
  ASSERT_TRUE(std::holds_alternative<CheckedSender>(r));
  EXPECT_DOUBLE_EQ(std::get<CheckedSender>(r).per_minute, 600);
  const auto slow = check_sender(sender("198.18.0.7/32", 30, 60 * kSecond));
  EXPECT_DOUBLE_EQ(std::get<CheckedSender>(slow).per_minute, 30);
  // The bound itself is still believed.
  const auto top = check_sender(sender("198.18.0.7/32", 1000000000, 60 * kSecond));
  EXPECT_DOUBLE_EQ(std::get<CheckedSender>(top).per_minute, kMaxPerMinute);
}

TEST(HeavyEntry, HostileEntriesAreRefusedWithTheirReason) {
  for (const char *bad : {"",
                          "/",
                          "198.18.0.7",
                          "198.18.0.7/",
                          "198.18.0.7/33",
                          "198.18.0.0/16",
                          "198.18.0.7/24",
                          "198.18.0.0/0",
                          "198.18.0.7/-32",
                          "198.18.0.7/+32",
                          "198.18.0.7/32 ",
                          " 198.18.0.7/32",
                          "198.18.0.7/3200",
                          "198.18.0.7/32/32",
                          "2001:2::7/64",
                          "2001:2::/48",
                          "2001:2::7/32",
                          "198.18.0.256/32",
                          "example.net/32",
                          "::ffff:198.18.0.7/24",
                          "198.18.0.7\n/32",
                          "2001:2::/0128"})
    EXPECT_EQ(refusal(sender(bad, 100, kSecond)), "bad_prefix") << "'" << bad << "'";
  EXPECT_EQ(refusal(sender(std::string("198.18.0.7\0/32", 14), 100, kSecond)), "bad_prefix");
  EXPECT_EQ(refusal(sender(std::string(100000, '1') + "/32", 100, kSecond)), "bad_prefix");
  EXPECT_EQ(refusal(sender("198.18.0.7/32", 100, 0)), "bad_window");
  EXPECT_EQ(refusal(sender("198.18.0.7/32", std::numeric_limits<uint64_t>::max(), 1)),
            "absurd_rate");
  EXPECT_EQ(refusal(sender("198.18.0.7/32", 1000000001, 60 * kSecond)), "absurd_rate");
  // Nothing sent is no rate, not a refusal.
  EXPECT_EQ(refusal(sender("198.18.0.7/32", 0, kSecond)), "accepted");
  EXPECT_EQ(refusal(sender("198.18.0.7/32", 1, std::numeric_limits<uint64_t>::max())), "accepted");
}

}  // namespace
}  // namespace sluice::sluiced::heavy
