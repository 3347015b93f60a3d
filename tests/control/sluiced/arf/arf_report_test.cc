// The ARF parser (control/sluiced/arf/arf_report.h): reports it takes, each with the address and
// fields it must find, and every hostile mail it must refuse, each with its reason.
#include "arf_report.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <set>
#include <vector>

#include "arf_samples.h"

namespace sluice::sluiced::arf {
namespace {

namespace rep = sluice::reputation;
using namespace testing;

std::string b64(const std::string &s, size_t wrap = 76) {
  std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char *>(s.data()),
                    s.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  std::string lines;
  for (size_t i = 0; i < out.size(); i += wrap) lines += out.substr(i, wrap) + "\n";
  return lines;
}

// A mail wrapping `inner` (a whole mail) as a forwarded message/rfc822 attachment.
std::string forwarded(const std::string &inner, const std::string &boundary = "fwd-b1") {
  return "From: <postmaster@forwarder.example>\n"
         "Message-ID: <forward-99@forwarder.example>\n"
         "Subject: Fwd: spam complaint\n"
         "MIME-Version: 1.0\n"
         "Content-Type: multipart/mixed; boundary=" +
         boundary +
         "\n\n"
         "--" +
         boundary +
         "\n"
         "Content-Type: text/plain\n\n"
         "See the attached report. Source-IP: 203.0.113.96\n\n"
         "--" +
         boundary +
         "\n"
         "Content-Type: message/rfc822\n\n" +
         inner + "\n--" + boundary + "--\n";
}

// `inner` entity text (headers and body) as the single part of `depth` multipart/mixed levels.
std::string nested(const std::string &inner, int depth) {
  std::string m = inner;
  for (int i = 0; i < depth; ++i) {
    const std::string b = "lvl" + std::to_string(i);
    m = "Content-Type: multipart/mixed; boundary=" + b + "\n\n--" + b + "\n" + m + "\n--" + b +
        "--\n";
  }
  return "From: <a@forwarder.example>\nMIME-Version: 1.0\n" + m;
}

// The report's own entity (no top-level From etc.): what a forwarder puts in a multipart part.
std::string report_entity() {
  const std::string r = typical_report();
  return r.substr(r.find("Content-Type: multipart/report"));
}

const char *const kSubject = "Subject: FW: complaint about a message from 198.51.100.7";

struct Good {
  const char *name;
  std::string mail;
  const char *source;
  int family;
  bool reserved;
  const char *feedback_type;
  const char *key_text;  // "" : a fields hash
};

std::vector<Good> good_reports() {
  std::string folded =
      replace(typical_report(), "Source-IP: 198.51.100.7\n", "source-ip:\n  198.51.100.7\n");
  folded = replace(folded, "User-Agent: MailboxFBL/2.1\n", "USER-AGENT:\n\tMailboxFBL/2.1\n");
  folded = replace(folded, "Feedback-Type: abuse\n", "FEEDBACK-TYPE: Abuse\n");
  folded = replace(folded, "report-type=feedback-report;\n    boundary=\"part_boundary_7c1\"",
                   "Report-Type=\"Feedback-Report\";\n\tBOUNDARY=part_boundary_7c1 (unquoted)");
  folded = replace(folded, "Content-Type: multipart/report", "content-type: Multipart/Report");
  const std::string qp_fields =
      replace(replace(kFeedbackFields, "Feedback-Type: abuse\n", "Feedback-Type: ab=\nuse\n"),
              "User-Agent: MailboxFBL/2.1\n", "User-Agent: Mailbox=46BL/2.1   \n");
  return {
      {"typical", typical_report(), "198.51.100.7", 4, true, "abuse",
       "<fbl-2026-11-30-0001@mailbox.example>"},
      {"crlf", crlf(typical_report()), "198.51.100.7", 4, true, "abuse",
       "<fbl-2026-11-30-0001@mailbox.example>"},
      {"ipv6", replace(typical_report(), "Source-IP: 198.51.100.7", "Source-IP: 2001:db8::25"),
       "2001:db8::25", 6, true, "abuse", "<fbl-2026-11-30-0001@mailbox.example>"},
      {"ipv4_mapped_ipv6",
       replace(typical_report(), "Source-IP: 198.51.100.7", "Source-IP: ::ffff:198.51.100.7"),
       "198.51.100.7", 4, true, "abuse", "<fbl-2026-11-30-0001@mailbox.example>"},
      {"public_address_with_comment",
       replace(typical_report(), "Source-IP: 198.51.100.7",
               "Source-IP: 8.8.4.4 (mta.sender.example)"),
       "8.8.4.4", 4, false, "abuse", "<fbl-2026-11-30-0001@mailbox.example>"},
      {"private_address",
       replace(typical_report(), "Source-IP: 198.51.100.7", "Source-IP: 10.1.2.3"), "10.1.2.3", 4,
       true, "abuse", "<fbl-2026-11-30-0001@mailbox.example>"},
      {"folded_and_cased", folded, "198.51.100.7", 4, true, "abuse",
       "<fbl-2026-11-30-0001@mailbox.example>"},
      {"base64_feedback_part", report_with(b64(kFeedbackFields), "base64"), "198.51.100.7", 4, true,
       "abuse", "<fbl-2026-11-30-0001@mailbox.example>"},
      {"base64_crlf", crlf(report_with(b64(crlf(kFeedbackFields), 40), "BASE64")), "198.51.100.7",
       4, true, "abuse", "<fbl-2026-11-30-0001@mailbox.example>"},
      {"quoted_printable_feedback_part", report_with(qp_fields, "quoted-printable"), "198.51.100.7",
       4, true, "abuse", "<fbl-2026-11-30-0001@mailbox.example>"},
      {"forwarded_as_rfc822", forwarded(typical_report()), "198.51.100.7", 4, true, "abuse",
       "<fbl-2026-11-30-0001@mailbox.example>"},
      {"forwarded_crlf", crlf(forwarded(typical_report())), "198.51.100.7", 4, true, "abuse",
       "<fbl-2026-11-30-0001@mailbox.example>"},
      {"report_part_of_a_multipart", nested(report_entity(), 2), "198.51.100.7", 4, true, "abuse",
       ""},
      {"no_message_id", report_with(kFeedbackFields, "", ""), "198.51.100.7", 4, true, "abuse", ""},
      {"fraud", replace(typical_report(), "Feedback-Type: abuse", "Feedback-Type: fraud"),
       "198.51.100.7", 4, true, "fraud", "<fbl-2026-11-30-0001@mailbox.example>"},
      {"header_line_of_998",
       replace(typical_report(), kSubject, "Subject: " + std::string(989, 'x')), "198.51.100.7", 4,
       true, "abuse", "<fbl-2026-11-30-0001@mailbox.example>"},
  };
}

TEST(ArfReport, TakesTheSourceIpOfTheFeedbackPartOnly) {
  for (const Good &g : good_reports()) {
    SCOPED_TRACE(g.name);
    const ArfResult r = parse_arf_report(g.mail);
    ASSERT_TRUE(r.ok()) << to_string(r.refusal) << ": " << r.detail;
    EXPECT_EQ(rep::format_ip(r.report.source), g.source);
    EXPECT_EQ(r.report.source.family, g.family);
    EXPECT_EQ(r.report.source_reserved, g.reserved);
    EXPECT_EQ(r.report.feedback_type, g.feedback_type);
    EXPECT_EQ(r.report.user_agent, "MailboxFBL/2.1");
    EXPECT_EQ(r.report.version, "1");
    EXPECT_EQ(r.report.arrival_date, "Mon, 30 Nov 2026 09:58:12 +0000");
    EXPECT_EQ(r.report.reported_domains, std::vector<std::string>{"sender.example"});
    if (*g.key_text)
      EXPECT_EQ(r.report.key_text, g.key_text);
    else
      EXPECT_EQ(r.report.key_text.rfind("fields:", 0), 0u) << r.report.key_text;
    EXPECT_LE(r.report.key_text.size(), 128u);
  }
}

TEST(ArfReport, TheKeyIsTheMessageIdElseTheFeedbackFields) {
  const auto key = [](const std::string &m) { return parse_arf_report(m).report.key; };
  // The same Message-ID: the same report, whatever else differs (a resend, another line end).
  EXPECT_EQ(key(typical_report()), key(crlf(typical_report())));
  EXPECT_EQ(key(typical_report()), key(forwarded(typical_report())));
  EXPECT_NE(key(typical_report()),
            key(report_with(kFeedbackFields, "", "<fbl-2026-11-30-0002@mailbox.example>")));
  // No Message-ID: the fields decide; white space does not, a field's value does.
  const auto a = key(report_with(kFeedbackFields, "", ""));
  EXPECT_EQ(a, key(report_with(replace(kFeedbackFields, "Version: 1", "Version:   1  "), "", "")));
  EXPECT_EQ(a, key(report_with(b64(kFeedbackFields), "base64", "")));
  EXPECT_NE(a, key(report_with(replace(kFeedbackFields, "09:58:12", "09:58:13"), "", "")));
  EXPECT_NE(a, key(typical_report()));
}

struct Bad {
  const char *name;
  std::string mail;
  ArfRefusal refusal;
  ArfLimits limits = {};
};

std::vector<Bad> bad_reports() {
  const std::string t = typical_report();
  std::string many_parts = "Content-Type: multipart/mixed; boundary=m\n\n";
  for (int i = 0; i < 70; ++i) many_parts += "--m\nContent-Type: text/plain\n\nx\n";
  many_parts += "--m--\n";
  const std::string two_reports = "Content-Type: multipart/mixed; boundary=two\n\n--two\n" +
                                  report_entity() + "\n--two\n" + report_entity() + "\n--two--\n";
  ArfLimits small;
  small.max_bytes = 1000;
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk += static_cast<char>((i * 7919 + 13) % 255 + 1);
  return {
      {"empty", "", ArfRefusal::kEmpty},
      {"too_large", t, ArfRefusal::kTooLarge, small},
      {"nul_byte", replace(t, "Buy now.", std::string("Buy\0now.", 8)), ArfRefusal::kBinary},
      {"binary_junk", junk, ArfRefusal::kBadHeader},
      {"plain_text_mail", "From: <a@b.example>\nSubject: spam!\n\nSource-IP: 198.51.100.7\n",
       ArfRefusal::kNotReport},
      {"no_headers_at_all", "\nSource-IP: 198.51.100.7\n", ArfRefusal::kNotReport},
      {"multipart_mixed_without_report",
       "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\n"
       "Source-IP: 198.51.100.7\n--x--\n",
       ArfRefusal::kNotReport},
      {"delivery_status_report",
       replace(t, "report-type=feedback-report", "report-type=delivery-status"),
       ArfRefusal::kWrongReportType},
      {"report_without_report_type", replace(t, "report-type=feedback-report;", ""),
       ArfRefusal::kWrongReportType},
      {"second_part_not_feedback",
       replace(t, "Content-Type: message/feedback-report", "Content-Type: text/plain"),
       ArfRefusal::kNoFeedbackPart},
      {"single_part_report",
       "Content-Type: multipart/report; report-type=feedback-report; boundary=s\n\n--s\n"
       "Content-Type: text/plain\n\nSource-IP: 198.51.100.7\n--s--\n",
       ArfRefusal::kNoFeedbackPart},
      {"missing_source_ip_planted_elsewhere", replace(t, "Source-IP: 198.51.100.7\n", ""),
       ArfRefusal::kNoSourceIp},
      {"several_source_ips",
       replace(t, "Source-IP: 198.51.100.7\n",
               "Source-IP: 198.51.100.7\nSource-IP: 198.51.100.8\n"),
       ArfRefusal::kSeveralSourceIps},
      {"source_ip_a_name", replace(t, "Source-IP: 198.51.100.7", "Source-IP: mta.sender.example"),
       ArfRefusal::kBadSourceIp},
      {"source_ip_out_of_range", replace(t, "Source-IP: 198.51.100.7", "Source-IP: 198.51.100.300"),
       ArfRefusal::kBadSourceIp},
      {"source_ip_prefix", replace(t, "Source-IP: 198.51.100.7", "Source-IP: 198.51.100.0/24"),
       ArfRefusal::kBadSourceIp},
      {"source_ip_empty", replace(t, "Source-IP: 198.51.100.7", "Source-IP:"),
       ArfRefusal::kBadSourceIp},
      {"boundary_never_closed", replace(t, "--part_boundary_7c1--\n", ""),
       ArfRefusal::kUnclosedBoundary},
      {"boundary_never_used", replace(t, "boundary=\"part_boundary_7c1\"", "boundary=\"other\""),
       ArfRefusal::kUnclosedBoundary},
      {"multipart_without_boundary", replace(t, ";\n    boundary=\"part_boundary_7c1\"", ""),
       ArfRefusal::kBadMime},
      {"unterminated_quoted_boundary",
       replace(t, "boundary=\"part_boundary_7c1\"", "boundary=\"part_boundary_7c1"),
       ArfRefusal::kBadMime},
      // Regression: a backslash closing the header inside a comment ran the reader past the
      // value's end (std::out_of_range escaped the parser).
      {"comment_ending_in_a_backslash", "Content-Type: (x\\\n\nbody\n", ArfRefusal::kBadMime},
      {"parameter_comment_ending_in_a_backslash",
       "Content-Type: multipart/report; report-type=feedback-report (a\\\n\nbody\n",
       ArfRefusal::kBadMime},
      {"two_content_types", replace(t, "MIME-Version: 1.0\n", "Content-Type: text/plain\n"),
       ArfRefusal::kBadMime},
      {"header_line_of_999", replace(t, kSubject, "Subject: " + std::string(990, 'x')),
       ArfRefusal::kLineTooLong},
      {"feedback_field_line_of_999",
       replace(t, "Reported-Domain: sender.example", "Reported-Domain: " + std::string(982, 'd')),
       ArfRefusal::kLineTooLong},
      {"header_line_without_colon", replace(t, "MIME-Version: 1.0", "MIME-Version 1.0"),
       ArfRefusal::kBadHeader},
      {"continuation_first", " folded\n" + t, ArfRefusal::kBadHeader},
      {"text_after_the_fields", report_with(kFeedbackFields + "\nSource-IP: 203.0.113.1\n"),
       ArfRefusal::kBadHeader},
      {"too_many_parts", many_parts, ArfRefusal::kTooManyParts},
      {"nested_too_deep", nested(report_entity(), 5), ArfRefusal::kTooDeep},
      {"forward_too_deep", forwarded(forwarded(forwarded(forwarded(t, "f1"), "f2"), "f3"), "f4"),
       ArfRefusal::kTooDeep},
      {"two_reports", two_reports, ArfRefusal::kSeveralReports},
      {"bad_base64", report_with("Feedback-Type: abuse!!!\n", "base64"), ArfRefusal::kBadEncoding},
      {"unknown_encoding", report_with(kFeedbackFields, "x-uuencode"), ArfRefusal::kBadEncoding},
      {"bad_quoted_printable", report_with("Feedback-Type: ab=ZZuse\n", "quoted-printable"),
       ArfRefusal::kBadEncoding},
      {"base64_hiding_a_nul",
       report_with(b64(std::string("Feedback-Type: abuse\0\n", 22)), "base64"),
       ArfRefusal::kBinary},
      {"no_feedback_type", replace(t, "Feedback-Type: abuse\n", ""), ArfRefusal::kMissingField},
      // Found by fuzz_arf_report: an empty value was taken as a complaint of no type.
      {"empty_feedback_type", replace(t, "Feedback-Type: abuse\n", "Feedback-Type: \n"),
       ArfRefusal::kMissingField},
      {"blank_feedback_type", replace(t, "Feedback-Type: abuse\n", "Feedback-Type: \t \n"),
       ArfRefusal::kMissingField},
      {"no_user_agent", replace(t, "User-Agent: MailboxFBL/2.1\n", ""), ArfRefusal::kMissingField},
      {"no_version", replace(t, "Version: 1\n", ""), ArfRefusal::kMissingField},
      {"two_versions", replace(t, "Version: 1\n", "Version: 1\nVersion: 2\n"),
       ArfRefusal::kBadField},
      {"not_spam", replace(t, "Feedback-Type: abuse", "Feedback-Type: not-spam"),
       ArfRefusal::kNotComplaint},
      {"auth_failure", replace(t, "Feedback-Type: abuse", "Feedback-Type: Auth-Failure"),
       ArfRefusal::kNotComplaint},
  };
}

TEST(ArfReport, RefusesHostileMailWithAReason) {
  for (const Bad &b : bad_reports()) {
    SCOPED_TRACE(b.name);
    const ArfResult r = parse_arf_report(b.mail, b.limits);
    EXPECT_EQ(r.refusal, b.refusal) << to_string(r.refusal) << ": " << r.detail;
    EXPECT_FALSE(r.detail.empty());
    for (unsigned char c : r.detail) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << r.detail;
  }
}

// The planted addresses of the human-readable and original parts: never the report's subject,
// whatever the feedback part holds (regression: only the feedback part's fields count).
TEST(ArfReport, APlantedSourceIpIsNeverTaken) {
  for (const Good &g : good_reports()) {
    const ArfResult r = parse_arf_report(g.mail);
    ASSERT_TRUE(r.ok()) << g.name;
    const std::string s = rep::format_ip(r.report.source);
    EXPECT_EQ(s.rfind("203.0.113.", 0), std::string::npos) << g.name << ": " << s;
  }
  const ArfResult none =
      parse_arf_report(replace(typical_report(), "Source-IP: 198.51.100.7\n", ""));
  EXPECT_EQ(none.refusal, ArfRefusal::kNoSourceIp);
}

TEST(ArfReport, LimitsAreTheConfiguredOnes) {
  const std::string t = typical_report();
  ArfLimits l;
  l.max_bytes = t.size();
  EXPECT_TRUE(parse_arf_report(t, l).ok());
  l.max_bytes = t.size() - 1;
  EXPECT_EQ(parse_arf_report(t, l).refusal, ArfRefusal::kTooLarge);
  ArfLimits depth;
  depth.max_depth = 4;
  EXPECT_TRUE(parse_arf_report(nested(report_entity(), 4), depth).ok());
  EXPECT_EQ(parse_arf_report(nested(report_entity(), 5), depth).refusal, ArfRefusal::kTooDeep);
  ArfLimits parts;
  parts.max_parts = 3;
  EXPECT_TRUE(parse_arf_report(t, parts).ok());
  parts.max_parts = 2;
  EXPECT_EQ(parse_arf_report(t, parts).refusal, ArfRefusal::kTooManyParts);
}

TEST(ArfReport, RefusalNamesAreDistinct) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kArfRefusalCount; ++i)
    EXPECT_TRUE(names.insert(to_string(static_cast<ArfRefusal>(i))).second) << i;
}

TEST(ArfReport, ReservedAddresses) {
  for (const char *a : {"10.0.0.1", "127.0.0.1", "192.168.1.1", "172.16.0.1", "198.18.0.1",
                        "192.0.2.1", "100.64.0.1", "169.254.1.1", "224.0.0.1", "::1", "fd00::1",
                        "fe80::1", "2001:db8::1", "2001:2::1"})
    EXPECT_TRUE(is_reserved_address(*rep::parse_ip(a))) << a;
  for (const char *a : {"8.8.8.8", "193.0.0.1", "2a00:1450::1", "2600::1"})
    EXPECT_FALSE(is_reserved_address(*rep::parse_ip(a))) << a;
}

}  // namespace
}  // namespace sluice::sluiced::arf
