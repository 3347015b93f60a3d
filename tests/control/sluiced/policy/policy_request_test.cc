// The policy request parser (control/sluiced/policy/policy_request.h): what Postfix sends is
// read, cut anywhere it waits for more, and each kind of bad input is refused for its reason.
#include "policy_request.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::sluiced::policy {
namespace {

// A request as Postfix 3.7's smtpd sends it at the RCPT stage (SMTPD_POLICY_README's list).
const std::string kPostfixRequest =
    "request=smtpd_access_policy\n"
    "protocol_state=RCPT\n"
    "protocol_name=ESMTP\n"
    "client_address=198.18.0.7\n"
    "client_name=unknown\n"
    "client_port=40312\n"
    "reverse_client_name=unknown\n"
    "server_address=198.18.1.25\n"
    "server_port=25\n"
    "helo_name=bot.example\n"
    "sender=Spammer@Example.ORG\n"
    "recipient=trap@sluice.test\n"
    "recipient_count=0\n"
    "queue_id=\n"
    "instance=1a2b.656c4d1e.8f3a.0\n"
    "size=0\n"
    "etrn_domain=\n"
    "stress=\n"
    "sasl_method=\n"
    "sasl_username=\n"
    "sasl_sender=\n"
    "ccert_subject=\n"
    "ccert_issuer=\n"
    "ccert_fingerprint=\n"
    "ccert_pubkey_fingerprint=\n"
    "encryption_protocol=\n"
    "encryption_cipher=\n"
    "encryption_keysize=0\n"
    "policy_context=\n"
    "compatibility_level=3.6\n"
    "mail_version=3.7.11\n"
    "\n";

ParseResult parse(const std::string &s, RequestLimits l = {}) {
  return parse_policy_request(s, l);
}

TEST(PolicyRequest, ReadsWhatPostfixSendsAndIgnoresTheRest) {
  const auto r = parse(kPostfixRequest + "request=smtpd_access_policy\n");
  ASSERT_EQ(r.status, ParseStatus::kRequest) << r.detail;
  EXPECT_EQ(r.consumed, kPostfixRequest.size());
  EXPECT_EQ(r.request.protocol_state, "RCPT");
  EXPECT_EQ(r.request.client_address, "198.18.0.7");
  EXPECT_EQ(r.request.client_name, "unknown");
  EXPECT_EQ(r.request.helo_name, "bot.example");
  EXPECT_EQ(r.request.sender, "Spammer@Example.ORG");
  EXPECT_EQ(r.request.recipient, "trap@sluice.test");
  EXPECT_EQ(r.request.queue_id, "");
  EXPECT_EQ(r.request.instance, "1a2b.656c4d1e.8f3a.0");
  EXPECT_EQ(r.request.attributes, 31u);
}

TEST(PolicyRequest, UnknownAttributesAreIgnored) {
  const auto r = parse(
      "request=smtpd_access_policy\nsome_future_attribute=x=y\nclient_address=2001:2::1\n"
      "another=\n\n");
  ASSERT_EQ(r.status, ParseStatus::kRequest) << r.detail;
  EXPECT_EQ(r.request.client_address, "2001:2::1");
  EXPECT_EQ(r.request.attributes, 4u);
}

TEST(PolicyRequest, CrLfLinesAreTaken) {
  const auto r = parse("request=smtpd_access_policy\r\nhelo_name=h.example\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::kRequest) << r.detail;
  EXPECT_EQ(r.request.helo_name, "h.example");
}

TEST(PolicyRequest, Utf8ValuesAreTaken) {
  const auto r =
      parse("request=smtpd_access_policy\nsender=j\xc3\xb6rg@b\xc3\xbc\x63her.example\n\n");
  ASSERT_EQ(r.status, ParseStatus::kRequest) << r.detail;
  EXPECT_EQ(address_domain(r.request.sender), "b\xc3\xbc\x63her.example");
}

TEST(PolicyRequest, EveryCutOfARequestWaitsForMore) {
  for (size_t n = 0; n < kPostfixRequest.size(); ++n) {
    const auto r = parse(kPostfixRequest.substr(0, n));
    ASSERT_EQ(r.status, ParseStatus::kNeedMore) << "cut at " << n << ": " << r.detail;
  }
}

TEST(PolicyRequest, ResumingFromAnyCutGivesWhatTheWholeGives) {
  const std::string bad = "request=smtpd_access_policy\nclient_address=1\nclient_address=2\n\n";
  for (const std::string &text : {kPostfixRequest, bad}) {
    const ParseResult whole = parse(text);
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      const ParseResult first = parse(text.substr(0, cut));
      if (first.status != ParseStatus::kNeedMore) continue;
      const ParseResult rest = parse_policy_request(text, {}, &first.progress);
      ASSERT_EQ(rest.status, whole.status) << cut;
      EXPECT_EQ(rest.consumed, whole.consumed) << cut;
      EXPECT_EQ(rest.refusal, whole.refusal) << cut;
      EXPECT_EQ(rest.line, whole.line) << cut;
      EXPECT_EQ(rest.request.client_address, whole.request.client_address) << cut;
      EXPECT_EQ(rest.request.attributes, whole.request.attributes) << cut;
      EXPECT_EQ(rest.request.instance, whole.request.instance) << cut;
    }
  }
}

TEST(PolicyRequest, TwoRequestsInOneBufferAreReadOneAtATime) {
  const std::string second = "request=smtpd_access_policy\nclient_address=198.18.0.8\n\n";
  const std::string both = kPostfixRequest + second;
  const auto first = parse(both);
  ASSERT_EQ(first.status, ParseStatus::kRequest);
  const auto next = parse(both.substr(first.consumed));
  ASSERT_EQ(next.status, ParseStatus::kRequest);
  EXPECT_EQ(next.request.client_address, "198.18.0.8");
  EXPECT_EQ(next.consumed, second.size());
}

// ---- refusals, one per reason -------------------------------------------------------------

void expect_refused(const ParseResult &r, Refusal why, size_t line) {
  EXPECT_EQ(r.status, ParseStatus::kRefused);
  EXPECT_EQ(r.refusal, why) << r.detail;
  EXPECT_EQ(r.line, line) << r.detail;
  EXPECT_FALSE(r.detail.empty());
}

TEST(PolicyRequest, ALineOverTheLimitIsRefusedBeforeItsNewline) {
  RequestLimits l;
  l.max_line_bytes = 64;
  const std::string long_line = "request=smtpd_access_policy\nhelo_name=" + std::string(100, 'a');
  expect_refused(parse(long_line, l), Refusal::kLineTooLong, 2);
  // Exactly at the limit, its newline included: taken.
  const std::string at_limit = "helo_name=" + std::string(64 - 11, 'a') + "\n";
  ASSERT_EQ(at_limit.size(), 64u);
  EXPECT_EQ(parse("request=smtpd_access_policy\n" + at_limit + "\n", l).status,
            ParseStatus::kRequest);
  EXPECT_EQ(parse("request=smtpd_access_policy\nx" + at_limit + "\n", l).refusal,
            Refusal::kLineTooLong);
}

TEST(PolicyRequest, ARequestOverTheLimitIsRefusedWithoutItsEnd) {
  RequestLimits l;
  l.max_request_bytes = 200;
  std::string s = "request=smtpd_access_policy\n";
  while (s.size() < 300) s += "x=yyyyyyyyyyyyyyyyyy\n";
  const auto r = parse(s, l);
  EXPECT_EQ(r.status, ParseStatus::kRefused);
  EXPECT_EQ(r.refusal, Refusal::kRequestTooLarge) << r.detail;
  // An unterminated stream of valid lines never waits past the limit.
  EXPECT_EQ(parse(s.substr(0, 201), l).refusal, Refusal::kRequestTooLarge);
  EXPECT_EQ(parse(s.substr(0, 200), l).status, ParseStatus::kNeedMore);
}

TEST(PolicyRequest, TooManyAttributesAreRefused) {
  RequestLimits l;
  l.max_attributes = 5;
  std::string s = "request=smtpd_access_policy\n";
  for (int i = 0; i < 4; ++i) s.append("a").append(std::to_string(i)).append("=1\n");
  EXPECT_EQ(parse(s + "\n", l).status, ParseStatus::kRequest);
  expect_refused(parse(s + "a5=1\n", l), Refusal::kTooManyAttributes, 6);
}

TEST(PolicyRequest, ANulByteIsRefused) {
  expect_refused(parse(std::string("request=smtpd_access_policy\nhelo_name=a\0b\n\n", 43)),
                 Refusal::kBinary, 2);
}

TEST(PolicyRequest, ControlBytesAndStrayCrAreRefused) {
  expect_refused(parse("request=smtpd_access_policy\nhelo_name=a\x1b[31mred\n\n"), Refusal::kBinary,
                 2);
  expect_refused(parse("request=smtpd_access_policy\nhelo_name=a\rb\n\n"), Refusal::kBinary, 2);
  expect_refused(parse("request=smtpd_access_policy\x7f\n\n"), Refusal::kBinary, 1);
  // A CR at the end of what arrived may be followed by its newline: wait.
  EXPECT_EQ(parse("request=smtpd_access_policy\r").status, ParseStatus::kNeedMore);
}

TEST(PolicyRequest, BytesThatAreNotUtf8AreRefused) {
  expect_refused(parse("request=smtpd_access_policy\nhelo_name=\xff\xfe\n\n"), Refusal::kBinary, 2);
  expect_refused(parse("request=smtpd_access_policy\nhelo_name=\xc3(\n\n"), Refusal::kBinary, 2);
  expect_refused(parse("request=smtpd_access_policy\nhelo_name=\xc0\xaf\n\n"), Refusal::kBinary,
                 2);  // overlong '/'
  expect_refused(parse("request=smtpd_access_policy\nhelo_name=\xed\xa0\x80\n\n"), Refusal::kBinary,
                 2);  // a surrogate
  // A sequence cut at the end of what arrived: wait.
  EXPECT_EQ(parse("request=smtpd_access_policy\nhelo_name=\xe2\x82").status,
            ParseStatus::kNeedMore);
}

TEST(PolicyRequest, ALineWithoutEqualsIsRefused) {
  expect_refused(parse("request=smtpd_access_policy\nhello there\n\n"), Refusal::kNoEquals, 2);
  expect_refused(parse("GET / HTTP/1.1\r\n"), Refusal::kNoEquals, 1);
}

TEST(PolicyRequest, AnEmptyNameIsRefused) {
  expect_refused(parse("request=smtpd_access_policy\n=value\n\n"), Refusal::kEmptyName, 2);
}

TEST(PolicyRequest, AKnownAttributeTwiceIsRefused) {
  expect_refused(parse("request=smtpd_access_policy\nclient_address=198.18.0.1\n"
                       "client_address=198.18.0.2\n\n"),
                 Refusal::kDuplicate, 3);
  expect_refused(parse("request=smtpd_access_policy\nrequest=smtpd_access_policy\n\n"),
                 Refusal::kDuplicate, 2);
  // Unknown ones are not ours to judge.
  EXPECT_EQ(parse("request=smtpd_access_policy\nx=1\nx=2\n\n").status, ParseStatus::kRequest);
}

TEST(PolicyRequest, ARequestWithoutRequestAttributeIsRefused) {
  expect_refused(parse("client_address=198.18.0.1\n\n"), Refusal::kMissingRequest, 2);
  expect_refused(parse("\n"), Refusal::kMissingRequest, 1);
}

TEST(PolicyRequest, AnotherKindOfRequestIsRefused) {
  expect_refused(parse("request=junk\n\n"), Refusal::kUnknownRequest, 1);
  expect_refused(parse("request=\n\n"), Refusal::kUnknownRequest, 1);
}

TEST(PolicyRequest, RefusalsQuoteInputEscaped) {
  const auto r = parse("request=smtpd_access_policy\n\xe2\x80\xae evil line\n");
  ASSERT_EQ(r.refusal, Refusal::kNoEquals);
  EXPECT_EQ(r.detail.find('\xe2'), std::string::npos) << r.detail;
}

TEST(PolicyRequest, EveryRefusalHasAName) {
  for (size_t k = 0; k < kRefusalKinds; ++k)
    EXPECT_NE(to_string(static_cast<Refusal>(k)), "unknown") << k;
}

TEST(AddressDomain, IsTheLowercasedPartAfterTheLastAt) {
  EXPECT_EQ(address_domain("Spammer@Example.ORG"), "example.org");
  EXPECT_EQ(address_domain("\"a@b\"@c.example"), "c.example");
  EXPECT_EQ(address_domain(""), "");
  EXPECT_EQ(address_domain("postmaster"), "");
  EXPECT_EQ(address_domain("a@" + std::string(300, 'x')).size(), 255u);
}

TEST(CutUtf8, NeverSplitsACharacter) {
  EXPECT_EQ(cut_utf8("ab\xc3\xa9", 3), "ab");
  EXPECT_EQ(cut_utf8("ab\xc3\xa9", 4), "ab\xc3\xa9");
  EXPECT_EQ(cut_utf8("abc", 2), "ab");
}

}  // namespace
}  // namespace sluice::sluiced::policy
