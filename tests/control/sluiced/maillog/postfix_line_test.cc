// The Postfix log line parser (control/sluiced/maillog/postfix_line.h): every line of the
// fixture (real Postfix 3.7.11 output and its RFC 3164 / RFC 3339 prefix variants) gives the
// kind, address, daemon and evidence the fixture says; hostile lines give nothing or blame the
// right address.
#include "postfix_line.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::sluiced::maillog {
namespace {

namespace rep = sluice::reputation;

struct Row {
  int line_no;
  std::string kind, addr, daemon, evidence, line;
};

std::vector<Row> fixture() {
  std::ifstream in(MAILLOG_TEST_DATA "/postfix_lines.txt");
  EXPECT_TRUE(in) << MAILLOG_TEST_DATA "/postfix_lines.txt";
  std::vector<Row> rows;
  std::string l;
  int n = 0;
  while (std::getline(in, l)) {
    ++n;
    if (l.empty() || l[0] == '#') continue;
    Row r;
    r.line_no = n;
    std::vector<std::string> f;
    size_t start = 0;
    for (int i = 0; i < 4; ++i) {
      const size_t tab = l.find('\t', start);
      EXPECT_NE(tab, std::string::npos) << "postfix_lines.txt:" << n << ": fewer than 5 fields";
      if (tab == std::string::npos) break;
      f.push_back(l.substr(start, tab - start));
      start = tab + 1;
    }
    if (f.size() != 4) continue;
    r.kind = f[0], r.addr = f[1], r.daemon = f[2], r.evidence = f[3], r.line = l.substr(start);
    rows.push_back(r);
  }
  return rows;
}

std::string addr(const PostfixEvent &e) {
  return rep::format_ip(e.client);
}

TEST(PostfixLine, EveryFixtureLine) {
  const auto rows = fixture();
  ASSERT_GE(rows.size(), 60u);
  size_t per_kind[kLocalKindCount] = {};
  size_t matched = 0, v6 = 0, outer = 0;
  for (const auto &r : rows) {
    SCOPED_TRACE("postfix_lines.txt:" + std::to_string(r.line_no) + ": " + r.line);
    const auto e = parse_postfix_line(r.line);
    if (r.kind == "-") {
      EXPECT_FALSE(e.has_value()) << to_string(e->kind) << " " << addr(*e);
      continue;
    }
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(to_string(e->kind), r.kind);
    EXPECT_EQ(addr(*e), r.addr);
    EXPECT_EQ(e->daemon, r.daemon);
    EXPECT_EQ(e->evidence, r.evidence);
    ++matched;
    ++per_kind[static_cast<size_t>(e->kind)];
    v6 += e->client.family == 6;
    outer += r.line.find("postfix-out/") != std::string::npos;
  }
  // The fixture covers every kind the reader makes, IPv6 and a multi-instance name.
  EXPECT_GT(per_kind[static_cast<size_t>(LocalKind::kUnknownRecipient)], 0u);
  EXPECT_GT(per_kind[static_cast<size_t>(LocalKind::kRblReject)], 0u);
  EXPECT_GT(per_kind[static_cast<size_t>(LocalKind::kPregreet)], 0u);
  EXPECT_GT(per_kind[static_cast<size_t>(LocalKind::kProtocolError)], 0u);
  EXPECT_GT(v6, 0u);
  EXPECT_GT(outer, 0u);
  EXPECT_GT(matched, 30u);
}

// The whole real log, line by line: what the fixture's first section keeps of it is what
// matches (no line of the real file matches that the table does not list).
TEST(PostfixLine, RealLogMatchesOnlyTheListedLines) {
  std::ifstream in(MAILLOG_TEST_DATA "/data/postfix-3.7.11-maillog_file.log");
  ASSERT_TRUE(in);
  std::vector<std::string> listed;
  for (const auto &r : fixture())
    if (r.kind != "-") listed.push_back(r.line);
  std::string l;
  size_t matched = 0;
  while (std::getline(in, l)) {
    if (!parse_postfix_line(l)) continue;
    ++matched;
    EXPECT_NE(std::find(listed.begin(), listed.end(), l), listed.end()) << l;
  }
  EXPECT_EQ(matched, 18u);
}

const std::string kReject = "Nov 30 19:38:57 mta postfix/smtpd[24858]: NOQUEUE: reject: RCPT from ";
const std::string kUnknownTail =
    ": 550 5.1.1 <nobody@sluice.test>: Recipient address rejected: User unknown in virtual "
    "mailbox table; from=<a@client.example> to=<nobody@sluice.test> proto=ESMTP "
    "helo=<client60.example>";

// Regression: a reverse-DNS name that holds a bracketed address must not put that address in
// front of the client's own (the address is the LAST bracketed part of the from clause).
TEST(PostfixLine, NameWithBracketsCannotRedirectBlame) {
  auto e = parse_postfix_line(kReject + "evil[198.18.0.9][198.18.0.5]" + kUnknownTail);
  ASSERT_TRUE(e);
  EXPECT_EQ(addr(*e), "198.18.0.5");
  e = parse_postfix_line(kReject + "a[198.18.0.9].b[2001:2::9]x[198.18.0.5]" + kUnknownTail);
  ASSERT_TRUE(e);
  EXPECT_EQ(addr(*e), "198.18.0.5");
  e = parse_postfix_line(
      "Nov 30 19:38:59 mta postfix/smtpd[1]: too many errors after RCPT from "
      "evil[198.18.0.9][198.18.0.5]");
  ASSERT_TRUE(e);
  EXPECT_EQ(addr(*e), "198.18.0.5");
  e = parse_postfix_line(
      "Nov 30 19:38:58 mta postfix/smtpd[1]: improper command pipelining after HELO from "
      "evil[198.18.0.9][198.18.0.5]: MAIL FROM:<a@[198.18.0.7]>\\r\\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(addr(*e), "198.18.0.5");
}

// What a client chooses (HELO, recipient, pipelined text) comes after the clause and is never
// read as the address; the real line of the fixture with helo=<evil[198.18.0.9]> is one case.
TEST(PostfixLine, ClientTextAfterTheClauseIsIgnored) {
  auto e = parse_postfix_line(
      kReject +
      "unknown[198.18.0.63]: 550 5.1.1 <x]: [198.18.0.9]: y@sluice.test>: Recipient address "
      "rejected: User unknown in virtual mailbox table; from=<a@x.example> to=<x> proto=SMTP "
      "helo=<evil[198.18.0.9]>");
  ASSERT_TRUE(e);
  EXPECT_EQ(addr(*e), "198.18.0.63");
  // An RBL reply must name the client's own address.
  e = parse_postfix_line(kReject +
                         "unknown[198.18.0.67]: 554 5.7.1 Service unavailable; Client host "
                         "[198.18.0.9] blocked using bl.sluice.test; from=<a@x> to=<b@y>");
  EXPECT_FALSE(e);
  // postscreen's pipelined text after the address.
  e = parse_postfix_line(
      "Nov 30 19:39:05 mta postfix/postscreen[1]: COMMAND PIPELINING from [198.18.0.68]:39293 "
      "after EHLO: MAIL FROM:<a@[198.18.0.9]>\\r\\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(addr(*e), "198.18.0.68");
  EXPECT_EQ(e->evidence, "COMMAND PIPELINING after EHLO");
}

TEST(PostfixLine, PostfixIPv6AddressForm) {
  auto e = parse_postfix_line(kReject + "unknown[IPv6:2001:2::5]" + kUnknownTail);
  ASSERT_TRUE(e);
  EXPECT_EQ(addr(*e), "2001:2::5");
  e = parse_postfix_line(
      "Nov 30 19:39:03 mta postfix/postscreen[1]: DNSBL rank 3 for [2001:2::66]:60491");
  ASSERT_TRUE(e);
  EXPECT_EQ(addr(*e), "2001:2::66");
  EXPECT_EQ(e->evidence, "DNSBL rank 3");
}

TEST(PostfixLine, TagForms) {
  const std::string body = ": too many errors after RCPT from unknown[198.18.0.72]";
  for (const char *tag : {"postfix/smtpd[1]", "postfix-out/smtpd[22]",
                          "postfix/submission/smtpd[333]", "postfix-in/amavis/smtpd[4]"}) {
    SCOPED_TRACE(tag);
    EXPECT_TRUE(parse_postfix_line(std::string("Nov 30 19:39:00 mta ") + tag + body));
  }
  for (const char *tag : {"smtpd[1]", "exim/smtpd[1]", "postfixx/smtpd[1]", "postfix/smtpd",
                          "postfix/smtpd[]", "postfix/qmgr[1]", "postfix/[1]", "/smtpd[1]",
                          "postfix/smtpd[1x]", "notpostfix/smtpd[1]"}) {
    SCOPED_TRACE(tag);
    EXPECT_FALSE(parse_postfix_line(std::string("Nov 30 19:39:00 mta ") + tag + body));
  }
}

TEST(PostfixLine, PrefixForms) {
  const std::string rest =
      " mx1 postfix/smtpd[1]: too many errors after RCPT from unknown[198.18.0.72]";
  for (const char *p :
       {"Nov 30 19:39:00", "Nov  3 19:39:00", "Nov 3 19:39:00", "Nov 30 19:39:00.123",
        "2026-11-30T19:39:00+00:00", "2026-11-30T19:39:00.123456+01:00", "2026-11-30T19:39:00Z",
        "2026-11-30T19:39:00-0500", "2026-11-30 19:39:00.5Z"}) {
    SCOPED_TRACE(p);
    EXPECT_TRUE(parse_postfix_line(p + rest));
  }
  for (const char *p :
       {"", "Foo 30 19:39:00", "Nov 30 19:39", "Nov 30 19:39:0x", "2026-11-30T19:39:00",
        "2026-11-30T19:39:00+0", "30 Nov 19:39:00", "<22>Nov 30 19:39:00"}) {
    SCOPED_TRACE(p);
    EXPECT_FALSE(parse_postfix_line(p + rest));
  }
  // No host name.
  EXPECT_FALSE(parse_postfix_line(
      "Nov 30 19:39:00 postfix/smtpd[1]: too many errors after RCPT from unknown[198.18.0.72]"));
}

TEST(PostfixLine, ClientsWithoutAUsableAddress) {
  for (const char *c :
       {"unknown[unknown]", "unknown[]", "[198.18.0.5]", "unknown[198.18.0.5", "unknown198.18.0.5]",
        "unknown[198.18.0.256]", "unknown[198.18.0.5 ]", "unknown[fe80::1%eth0]",
        "unknown[2001:2::5::1]", "unknown[IPv6:]", "unknown[0x7f.1]"}) {
    SCOPED_TRACE(c);
    EXPECT_FALSE(parse_postfix_line(kReject + c + kUnknownTail));
    EXPECT_FALSE(parse_postfix_line(
        std::string("Nov 30 19:38:59 mta postfix/smtpd[1]: too many errors after RCPT from ") + c));
  }
  for (const char *c : {"[unknown]:1", "[198.18.0.66]", "[198.18.0.66]:", "[198.18.0.66]:x",
                        "198.18.0.66:1", "[198.18.0.66]:123456", "[198.18.0.66]:1x"}) {
    SCOPED_TRACE(c);
    EXPECT_FALSE(parse_postfix_line(
        std::string("Nov 30 19:39:03 mta postfix/postscreen[1]: DNSBL rank 2 for ") + c));
  }
}

// Every cut of a real line: a truncated line gives nothing, or (cut inside the free text after
// the address) the same event, never another address.
TEST(PostfixLine, TruncatedAnywhere) {
  for (const auto &r : fixture()) {
    if (r.kind == "-") continue;
    for (size_t n = 0; n < r.line.size(); ++n) {
      const auto e = parse_postfix_line(std::string_view(r.line).substr(0, n));
      if (e) {
        EXPECT_EQ(addr(*e), r.addr) << r.line.substr(0, n);
      }
    }
  }
  // Cut in the middle of the address: nothing.
  EXPECT_FALSE(parse_postfix_line(
      "Nov 30 19:38:59 mta postfix/smtpd[1]: too many errors after RCPT from unknown[198.18.0"));
  EXPECT_FALSE(parse_postfix_line(
      "Nov 30 19:38:59 mta postfix/smtpd[1]: too many errors after RCPT from unknown[2001:2:"));
  EXPECT_FALSE(parse_postfix_line(kReject + "unknown[198.18.0.6"));
  EXPECT_FALSE(
      parse_postfix_line("Nov 30 19:39:03 mta postfix/postscreen[1]: DNSBL rank 2 for [198.18"));
}

TEST(PostfixLine, ControlAndBinaryBytes) {
  const std::string good =
      "Nov 30 19:38:59 mta postfix/smtpd[1]: too many errors after RCPT from unknown[198.18.0.72]";
  ASSERT_TRUE(parse_postfix_line(good));
  for (char c : {'\0', '\x01', '\n', '\r', '\x1b', '\x7f'}) {
    for (size_t at : {size_t{0}, size_t{20}, good.size() - 3, good.size()}) {
      std::string l = good;
      l.insert(at, 1, c);
      EXPECT_FALSE(parse_postfix_line(l)) << static_cast<int>(c) << " at " << at;
    }
  }
  // Bytes above 0x7f (UTF-8 in a HELO) are not control bytes; evidence stays printable.
  auto e = parse_postfix_line(
      "Nov 30 19:39:10 mta postfix/postscreen[1]: BARE NEWLINE from [198.18.0.70]:38043 after "
      "EHLO \xc3\xa9t\xc3\xa9.example");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->evidence, "BARE NEWLINE after EHLO");
}

TEST(PostfixLine, EvidenceIsBoundedAndPrintable) {
  const std::string zone(300, 'z');
  auto e = parse_postfix_line(kReject + "unknown[198.18.0.67]: 554 5.7.1 Service unavailable; " +
                              "Client host [198.18.0.67] blocked using " + zone +
                              ".example; from=<a@x> to=<b@y>");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, LocalKind::kRblReject);
  EXPECT_EQ(e->evidence.size(), kMaxEvidenceBytes);
  for (char c : e->evidence) EXPECT_TRUE(c >= 0x20 && c <= 0x7e);
}

TEST(PostfixLine, OtherRejectsAreNotObservations) {
  for (const char *reply :
       {"554 5.7.1 <b@y>: Relay access denied",
        "450 4.7.1 <x>: Helo command rejected: Host not "
        "found",
        "550 5.1.1 <b@y>: Recipient address rejected: Mailbox full",
        "550 5.7.1 <b@y>: Recipient address rejected: User unknown",  // not a 5.1.1
        "554 5.7.1 Service unavailable; Sender address [x.example] blocked using dbl.example",
        "5.1.1 <b@y>: Recipient address rejected: User unknown", "550 5.1.1<b@y>: User unknown"}) {
    SCOPED_TRACE(reply);
    EXPECT_FALSE(parse_postfix_line(kReject + "unknown[198.18.0.60]: " + reply +
                                    "; from=<a@x> to=<b@y> proto=ESMTP helo=<h>"));
  }
  // An unknown recipient is an RCPT-stage reject only.
  EXPECT_FALSE(parse_postfix_line(
      "Nov 30 19:38:57 mta postfix/smtpd[1]: NOQUEUE: reject: MAIL from unknown[198.18.0.60]" +
      kUnknownTail));
  // A reject at another stage may still be an RBL one.
  auto e = parse_postfix_line(
      "Nov 30 19:38:57 mta postfix/smtpd[1]: NOQUEUE: reject: CONNECT from unknown[198.18.0.67]: "
      "554 5.7.1 Service unavailable; Client host [198.18.0.67] blocked using zen.example; "
      "proto=SMTP");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->evidence, "554 5.7.1 zen.example");
}

}  // namespace
}  // namespace sluice::sluiced::maillog
