// One line of a Postfix log (mail.log, the journal's export, Postfix's own maillog_file) in, and,
// when it says a client misbehaved, who and how out: the reading fail2ban's postfix filters do,
// for sluiced's local observations (docs/maillog.md).
//
// The syslog prefix may be RFC 3164 ("Nov 30 10:02:03 mx1 "), RFC 3339 as rsyslog and journald's
// export write it ("2026-11-30T10:02:03.123456+00:00 mx1 "), or Postfix's postlogd maillog_file
// form (the RFC 3164 one). The tag is "postfix/DAEMON[PID]: ", or a multi-instance or per-service
// syslog_name ("postfix-out/smtpd", "postfix/submission/smtpd"): its first part is "postfix" or
// starts with "postfix-", its last part names the daemon. Lines this returns an event for:
//
//   smtpd   "reject: STAGE from NAME[ADDR]: 550 5.1.1 <...>: Recipient address rejected: User
//            unknown ..."                                               unknown_recipient
//   smtpd   "reject: STAGE from NAME[ADDR]: 554 5.7.1 ... Client host [ADDR] blocked using ZONE"
//                                                                       rbl_reject
//   smtpd   "improper command pipelining after CMD from NAME[ADDR]: ..." protocol_error
//   smtpd   "too many errors after CMD from NAME[ADDR]"                  protocol_error
//   postscreen "DNSBL rank N for [ADDR]:PORT"                           rbl_reject
//   postscreen "PREGREET N after T from [ADDR]:PORT: ..."               pregreet
//   postscreen "COMMAND PIPELINING from [ADDR]:PORT after CMD: ..."     protocol_error
//   postscreen "NON-SMTP COMMAND from [ADDR]:PORT after CMD: ..."       protocol_error
//   postscreen "BARE NEWLINE from [ADDR]:PORT after CMD"                protocol_error
//
// Everything else is nullopt: other daemons and programs, clients without an address
// ("unknown[unknown]"), addresses parse_ip does not take, lines holding NUL or other control
// bytes (Postfix escapes what clients send; a raw control byte means the line is not Postfix's).
//
// NAME[ADDR]: smtpd logs the client's verified reverse-DNS name (or "unknown") and its address.
// The address is taken from the LAST "[...]" of the from clause, the clause ending at the first
// "]: " (or the line's end): a name such as "evil[198.18.0.9]" cannot put another address in
// front of the real one. What clients choose (HELO, recipients, pipelined commands) comes after
// the clause and is never read for the address.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/local_observation.h"
#include "sluice/reputation/address.h"

namespace sluice::sluiced::maillog {

inline constexpr size_t kMaxEvidenceBytes = 128;

struct PostfixEvent {
  reputation::IpAddress client;
  LocalKind kind = LocalKind::kProtocolError;
  // Printable ASCII, at most kMaxEvidenceBytes: the reply's codes and the queue id ("550 5.1.1
  // 261ABA76203"), the DNSBL zone ("554 5.7.1 bl.example"), or the test's name ("PREGREET 23
  // after 0", "too many errors after RCPT").
  std::string evidence;
  std::string daemon;  // "smtpd", "postscreen"
};

std::optional<PostfixEvent> parse_postfix_line(std::string_view line);

// The message after the syslog prefix and tag, and the tag's parts; nullopt when the line has
// no syslog prefix this reader knows or is not from Postfix. (Exposed for the tests.)
struct PostfixTag {
  std::string_view program;  // "postfix", "postfix-out", "postfix/submission"
  std::string_view daemon;   // "smtpd"
  std::string_view message;  // what follows "]: "
};
std::optional<PostfixTag> split_syslog_line(std::string_view line);

}  // namespace sluice::sluiced::maillog
