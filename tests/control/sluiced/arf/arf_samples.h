// ARF feedback reports written for these tests after RFC 5965's structure (a human-readable
// part, the message/feedback-report part, the original message), and the ways to spoil them.
// The human-readable part and the original message both carry a planted "Source-IP:" line that
// must never be taken.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice::sluiced::arf::testing {

inline std::string replace(std::string s, std::string_view from, std::string_view to) {
  const size_t at = s.find(from);
  if (at == std::string::npos) throw std::logic_error("sample has no " + std::string(from));
  s.replace(at, from.size(), to);
  return s;
}

inline std::string crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

inline const std::string kFeedbackFields =
    "Feedback-Type: abuse\n"
    "User-Agent: MailboxFBL/2.1\n"
    "Version: 1\n"
    "Original-Mail-From: <bulk@sender.example>\n"
    "Original-Rcpt-To: <someone@mailbox.example>\n"
    "Arrival-Date: Mon, 30 Nov 2026 09:58:12 +0000\n"
    "Source-IP: 198.51.100.7\n"
    "Reported-Domain: sender.example\n";

inline const std::string kOriginal =
    "Received: from mta.sender.example (mta.sender.example [198.51.100.7])\n"
    "\tby mx.mailbox.example; Mon, 30 Nov 2026 09:58:12 +0000\n"
    "From: <bulk@sender.example>\n"
    "To: <someone@mailbox.example>\n"
    "Subject: Cheap things\n"
    "Source-IP: 203.0.113.98\n"
    "Message-ID: <orig-1@sender.example>\n"
    "\n"
    "Buy now.\n"
    "Source-IP: 203.0.113.97\n";

// The report with `fields` as its feedback part (Content-Transfer-Encoding `cte` if not empty).
inline std::string report_with(
    const std::string &fields, const std::string &cte = "",
    const std::string &message_id = "<fbl-2026-11-30-0001@mailbox.example>") {
  std::string m =
      "From: <abuse-fbl@mailbox.example>\n"
      "To: <abuse@sluice.test>\n"
      "Subject: FW: complaint about a message from 198.51.100.7\n"
      "Date: Mon, 30 Nov 2026 10:00:00 +0000\n";
  if (!message_id.empty()) m += "Message-ID: " + message_id + "\n";
  m += "MIME-Version: 1.0\n"
       "Content-Type: multipart/report; report-type=feedback-report;\n"
       "    boundary=\"part_boundary_7c1\"\n"
       "\n"
       "This is a multi-part message in MIME format.\n"
       "\n"
       "--part_boundary_7c1\n"
       "Content-Type: text/plain; charset=\"US-ASCII\"\n"
       "Content-Transfer-Encoding: 7bit\n"
       "\n"
       "A user of mailbox.example marked a message as spam.\n"
       "Source-IP: 203.0.113.99\n"
       "\n"
       "--part_boundary_7c1\n"
       "Content-Type: message/feedback-report\n";
  if (!cte.empty()) m += "Content-Transfer-Encoding: " + cte + "\n";
  m += "\n" + fields + "\n";
  m += "--part_boundary_7c1\n"
       "Content-Type: message/rfc822\n"
       "Content-Disposition: inline\n"
       "\n" +
       kOriginal +
       "\n"
       "--part_boundary_7c1--\n";
  return m;
}

inline std::string typical_report() {
  return report_with(kFeedbackFields);
}

}  // namespace sluice::sluiced::arf::testing
