// Actions per level (control/sluiced/policy/policy_action.h): placeholders filled, and every
// action that could corrupt the reply or let mail skip smtpd's other restrictions refused.
#include "policy_action.h"

#include <gtest/gtest.h>

namespace sluice::sluiced::policy {
namespace {

std::string refusal(const std::string &text) {
  try {
    parse_action(text);
  } catch (const ActionError &e) {
    return e.what();
  }
  return "accepted";
}

TEST(PolicyAction, PlaceholdersAreFilled) {
  const auto a = parse_action("PREPEND X-Sluice: score={score}; level={level} ({level_name})");
  EXPECT_EQ(a.verb(), "PREPEND");
  EXPECT_EQ(a.fill(-12, 2, "throttle"), "PREPEND X-Sluice: score=-12; level=2 (throttle)");
  std::string out;
  a.reply(out, 7, 1, "shape");
  EXPECT_EQ(out, "action=PREPEND X-Sluice: score=7; level=1 (shape)\n\n");
}

TEST(PolicyAction, TheDefaultIsDunno) {
  std::string out;
  ActionTemplate().reply(out, 0, 0, "pass");
  EXPECT_EQ(out, "action=DUNNO\n\n");
}

TEST(PolicyAction, OperatorsActionsAreTaken) {
  for (const char *ok :
       {"DUNNO", "dunno", "DEFER_IF_PERMIT 4.7.1 rate limited here",
        "REJECT 5.7.1 listed at level {level}", "450 4.7.1 try later", "554 go away",
        "WARN sluice level {level}", "HOLD", "DISCARD", "INFO seen", "DEFER_IF_REJECT"})
    EXPECT_EQ(refusal(ok), "accepted") << ok;
  EXPECT_EQ(parse_action("defer_if_permit x").verb(), "DEFER_IF_PERMIT");
}

TEST(PolicyAction, ANewlineOrControlByteIsRefused) {
  EXPECT_NE(refusal("DUNNO\naction=OK").find("printable ASCII"), std::string::npos);
  EXPECT_NE(refusal("REJECT a\tb").find("printable ASCII"), std::string::npos);
  EXPECT_NE(refusal("REJECT caf\xc3\xa9").find("printable ASCII"), std::string::npos);
}

TEST(PolicyAction, LengthIsBounded) {
  EXPECT_EQ(refusal("REJECT " + std::string(kMaxActionBytes - 7, 'x')), "accepted");
  EXPECT_NE(refusal("REJECT " + std::string(kMaxActionBytes, 'x')).find("longer than"),
            std::string::npos);
  EXPECT_NE(refusal("").find("empty"), std::string::npos);
}

TEST(PolicyAction, ActionsThatBypassOrRerouteAreRefused) {
  for (const char *bad : {"OK", "permit", "REDIRECT a@b.example", "FILTER smtp:x", "BCC a@b"})
    EXPECT_NE(refusal(bad).find("not allowed"), std::string::npos) << bad;
  EXPECT_NE(refusal("FROBNICATE").find("not an action"), std::string::npos);
  EXPECT_NE(refusal("250 fine").find("not an action"), std::string::npos);
}

TEST(PolicyAction, MalformedActionsAreRefused) {
  EXPECT_NE(refusal("DUNNO please").find("DUNNO takes no text"), std::string::npos);
  EXPECT_NE(refusal("PREPEND no header").find("header"), std::string::npos);
  EXPECT_NE(refusal("PREPEND : x").find("header"), std::string::npos);
  EXPECT_NE(refusal("450").find("needs a text"), std::string::npos);
  EXPECT_NE(refusal("DEFER_IF_PERMIT 5.7.1 x").find("class"), std::string::npos);
  EXPECT_NE(refusal("REJECT 4.7.1 x").find("class"), std::string::npos);
  EXPECT_NE(refusal(" DUNNO").find("space"), std::string::npos);
}

TEST(PolicyAction, OnlyKnownPlaceholders) {
  EXPECT_NE(refusal("WARN {client}").find("not a placeholder"), std::string::npos);
  EXPECT_NE(refusal("WARN {score").find("without its '}'"), std::string::npos);
  EXPECT_NE(refusal("WARN score}").find("without its '{'"), std::string::npos);
}

}  // namespace
}  // namespace sluice::sluiced::policy
