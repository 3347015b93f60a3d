#include "postfix_line.h"

#include <array>

namespace sluice::sluiced::maillog {
namespace {

namespace rep = sluice::reputation;
using std::string_view;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_alnum(char c) {
  return is_digit(c) || is_upper(c) || (c >= 'a' && c <= 'z');
}

// Takes `word` from the front of s.
bool eat(string_view &s, string_view word) {
  if (!s.starts_with(word)) return false;
  s.remove_prefix(word.size());
  return true;
}

// Takes 1..max digits from the front of s.
bool eat_digits(string_view &s, size_t min, size_t max) {
  size_t n = 0;
  while (n < s.size() && n < max && is_digit(s[n])) ++n;
  if (n < min) return false;
  s.remove_prefix(n);
  return true;
}

// Takes `n` exact digits.
bool eat_n_digits(string_view &s, size_t n) {
  if (s.size() < n) return false;
  for (size_t i = 0; i < n; ++i)
    if (!is_digit(s[i])) return false;
  s.remove_prefix(n);
  return true;
}

// "hh:mm:ss" with an optional fraction.
bool eat_clock(string_view &s) {
  if (!eat_n_digits(s, 2) || !eat(s, ":") || !eat_n_digits(s, 2) || !eat(s, ":") ||
      !eat_n_digits(s, 2))
    return false;
  if (eat(s, ".") && !eat_digits(s, 1, 9)) return false;
  return true;
}

// RFC 3164: "Nov 30 10:02:03 " (day space-padded or not).
bool eat_bsd_stamp(string_view &s) {
  static constexpr std::array<string_view, 12> kMonths = {"Jan ", "Feb ", "Mar ", "Apr ",
                                                          "May ", "Jun ", "Jul ", "Aug ",
                                                          "Sep ", "Oct ", "Nov ", "Dec "};
  bool month = false;
  for (auto m : kMonths) month = month || eat(s, m);
  if (!month) return false;
  eat(s, " ");
  return eat_digits(s, 1, 2) && eat(s, " ") && eat_clock(s) && eat(s, " ");
}

// RFC 3339 / ISO 8601: "2026-11-30T10:02:03.123456+00:00 " (zone Z, +hh:mm or +hhmm).
bool eat_iso_stamp(string_view &s) {
  if (!eat_n_digits(s, 4) || !eat(s, "-") || !eat_n_digits(s, 2) || !eat(s, "-") ||
      !eat_n_digits(s, 2) || !(eat(s, "T") || eat(s, " ")) || !eat_clock(s))
    return false;
  if (!eat(s, "Z")) {
    if (!(eat(s, "+") || eat(s, "-")) || !eat_n_digits(s, 2)) return false;
    eat(s, ":");
    if (!eat_n_digits(s, 2)) return false;
  }
  return eat(s, " ");
}

bool tag_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '-' || c == '/';
}

// The clause a "from" introduces in smtpd's lines: NAME[ADDR], ending at the first "]: " or at
// the line's end. The address is the last bracketed part of the clause.
std::optional<rep::IpAddress> smtpd_client(string_view s, string_view *addr_text = nullptr) {
  string_view clause;
  if (const size_t end = s.find("]: "); end != string_view::npos)
    clause = s.substr(0, end + 1);
  else
    clause = s;
  if (clause.size() < 3 || clause.back() != ']') return std::nullopt;
  const size_t open = clause.rfind('[');
  if (open == string_view::npos || open == 0) return std::nullopt;  // a name is always there
  string_view addr = clause.substr(open + 1, clause.size() - open - 2);
  eat(addr, "IPv6:");
  if (addr_text) *addr_text = addr;
  return rep::parse_ip(addr);
}

// postscreen's "[ADDR]:PORT", followed by the end, a space or ':'.
std::optional<rep::IpAddress> postscreen_client(string_view s) {
  if (!eat(s, "[")) return std::nullopt;
  const size_t close = s.find(']');
  if (close == string_view::npos) return std::nullopt;
  string_view addr = s.substr(0, close);
  s.remove_prefix(close + 1);
  if (!eat(s, ":") || !eat_digits(s, 1, 5)) return std::nullopt;
  if (!s.empty() && s[0] != ' ' && s[0] != ':') return std::nullopt;
  eat(addr, "IPv6:");
  return rep::parse_ip(addr);
}

std::string evidence(string_view s) {
  std::string out;
  for (char c : s.substr(0, kMaxEvidenceBytes)) out.push_back(c >= 0x20 && c <= 0x7e ? c : '?');
  return out;
}

// The word of capitals after "after " (a command or state name: "EHLO", "CONNECT",
// "END-OF-MESSAGE"), or "".
string_view after_word(string_view s) {
  const size_t at = s.find("after ");
  if (at == string_view::npos) return {};
  s.remove_prefix(at + 6);
  size_t n = 0;
  while (n < s.size() && n < 32 && (is_upper(s[n]) || s[n] == '-')) ++n;
  return s.substr(0, n);
}

// "550 5.1.1 " at the front of a reply: its code and enhanced status.
bool eat_reply_codes(string_view &s, string_view *codes) {
  string_view start = s;
  if (!eat_n_digits(s, 3) || !eat(s, " ")) return false;
  if (!eat_digits(s, 1, 1) || !eat(s, ".") || !eat_digits(s, 1, 3) || !eat(s, ".") ||
      !eat_digits(s, 1, 3))
    return false;
  *codes = start.substr(0, start.size() - s.size());
  return eat(s, " ");
}

std::optional<PostfixEvent> smtpd_line(string_view m) {
  PostfixEvent ev;
  ev.daemon = "smtpd";
  for (string_view label : {"improper command pipelining after ", "too many errors after "}) {
    string_view s = m;
    if (!eat(s, label)) continue;
    const size_t from = s.find(" from ");
    const string_view cmd = s.substr(0, from);
    if (from == string_view::npos || cmd.empty() || cmd.size() > 32) return std::nullopt;
    for (char c : cmd)
      if (!is_upper(c) && c != '-') return std::nullopt;
    const auto a = smtpd_client(s.substr(from + 6));
    if (!a) return std::nullopt;
    ev.client = *a;
    ev.kind = LocalKind::kProtocolError;
    ev.evidence = evidence(
        std::string(label[0] == 'i' ? "improper pipelining after " : "too many errors after ") +
        std::string(cmd));
    return ev;
  }
  // "NOQUEUE: reject: RCPT from ..." or "QUEUEID: reject: ..."
  string_view s = m;
  string_view qid;
  if (!eat(s, "NOQUEUE: ")) {
    size_t n = 0;
    while (n < s.size() && n < 32 && is_alnum(s[n])) ++n;
    if (n == 0) return std::nullopt;
    qid = s.substr(0, n);
    s.remove_prefix(n);
    if (!eat(s, ": ")) return std::nullopt;
  }
  if (!eat(s, "reject: ")) return std::nullopt;
  size_t n = 0;
  while (n < s.size() && n < 32 && (is_upper(s[n]) || s[n] == '-')) ++n;
  const string_view stage = s.substr(0, n);
  if (n == 0) return std::nullopt;
  s.remove_prefix(n);
  if (!eat(s, " from ")) return std::nullopt;
  string_view addr_text;
  const auto a = smtpd_client(s, &addr_text);
  if (!a) return std::nullopt;
  const size_t end = s.find("]: ");
  if (end == string_view::npos) return std::nullopt;
  s.remove_prefix(end + 3);
  string_view codes;
  if (!eat_reply_codes(s, &codes)) return std::nullopt;
  // The reply's own text, before the envelope smtpd appends ("; from=<...> to=<...> ...").
  const string_view text = s.substr(0, s.find("; from=<"));
  // Appended, not `" " + std::string(qid)`: GCC 12's -Wrestrict misjudges that form at -O2
  // with the sanitizers (a false positive that -Werror turns into a failed build).
  std::string qid_suffix;
  if (!qid.empty()) qid_suffix.append(" ").append(qid);
  const bool unknown_status = codes.ends_with(" 5.1.1") || codes.ends_with(" 4.1.1");
  if (stage == "RCPT" && unknown_status &&
      text.find(": Recipient address rejected: User unknown") != string_view::npos) {
    ev.client = *a;
    ev.kind = LocalKind::kUnknownRecipient;
    ev.evidence = evidence(std::string(codes) + qid_suffix);
    return ev;
  }
  const std::string host = "Client host [" + std::string(addr_text) + "] blocked using ";
  if (const size_t at = text.find(host); at != string_view::npos) {
    string_view zone = text.substr(at + host.size());
    size_t z = 0;
    while (z < zone.size() &&
           (is_alnum(zone[z]) || zone[z] == '.' || zone[z] == '-' || zone[z] == '_'))
      ++z;
    if (z == 0) return std::nullopt;
    ev.client = *a;
    ev.kind = LocalKind::kRblReject;
    ev.evidence = evidence(std::string(codes) + " " + std::string(zone.substr(0, z)) + qid_suffix);
    return ev;
  }
  return std::nullopt;
}

std::optional<PostfixEvent> postscreen_line(string_view m) {
  PostfixEvent ev;
  ev.daemon = "postscreen";
  string_view s = m;
  if (eat(s, "PREGREET ")) {
    string_view count = s;
    if (!eat_digits(s, 1, 10) || !eat(s, " after ")) return std::nullopt;
    count = count.substr(0, count.size() - s.size() - 7);
    string_view t = s;
    size_t n = 0;
    while (n < t.size() && n < 16 && (is_digit(t[n]) || t[n] == '.')) ++n;
    if (n == 0) return std::nullopt;
    s.remove_prefix(n);
    if (!eat(s, " from ")) return std::nullopt;
    const auto a = postscreen_client(s);
    if (!a) return std::nullopt;
    ev.client = *a;
    ev.kind = LocalKind::kPregreet;
    ev.evidence =
        evidence("PREGREET " + std::string(count) + " after " + std::string(t.substr(0, n)));
    return ev;
  }
  if (eat(s, "DNSBL rank ")) {
    string_view rank = s;
    if (!eat_digits(s, 1, 10)) return std::nullopt;
    rank = rank.substr(0, rank.size() - s.size());
    if (!eat(s, " for ")) return std::nullopt;
    const auto a = postscreen_client(s);
    if (!a) return std::nullopt;
    ev.client = *a;
    ev.kind = LocalKind::kRblReject;
    ev.evidence = evidence("DNSBL rank " + std::string(rank));
    return ev;
  }
  for (string_view label : {"COMMAND PIPELINING", "NON-SMTP COMMAND", "BARE NEWLINE"}) {
    s = m;
    if (!eat(s, label) || !eat(s, " from ")) continue;
    const auto a = postscreen_client(s);
    if (!a) return std::nullopt;
    ev.client = *a;
    ev.kind = LocalKind::kProtocolError;
    std::string e(label);
    // The state after the address: "[ADDR]:PORT after EHLO ..."
    const size_t close = s.find("]:");
    if (const string_view w = after_word(s.substr(close == string_view::npos ? 0 : close));
        !w.empty())
      e += " after " + std::string(w);
    ev.evidence = evidence(e);
    return ev;
  }
  return std::nullopt;
}

}  // namespace

std::optional<PostfixTag> split_syslog_line(string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return std::nullopt;
  }
  if (!eat_bsd_stamp(s) && !eat_iso_stamp(s)) return std::nullopt;
  // The host name: one word.
  size_t n = 0;
  while (n < s.size() && n < 256 && s[n] != ' ') ++n;
  if (n == 0 || n == s.size() || s[n] != ' ') return std::nullopt;
  s.remove_prefix(n + 1);
  // The tag: PROGRAM/DAEMON[PID]:
  n = 0;
  while (n < s.size() && n < 128 && tag_char(s[n])) ++n;
  const string_view tag = s.substr(0, n);
  s.remove_prefix(n);
  if (!eat(s, "[") || !eat_digits(s, 1, 10) || !eat(s, "]: ")) return std::nullopt;
  const size_t slash = tag.rfind('/');
  if (slash == string_view::npos || slash == 0 || slash + 1 == tag.size()) return std::nullopt;
  PostfixTag t;
  t.program = tag.substr(0, slash);
  t.daemon = tag.substr(slash + 1);
  const string_view first = t.program.substr(0, t.program.find('/'));
  if (first != "postfix" && !first.starts_with("postfix-")) return std::nullopt;
  t.message = s;
  return t;
}

std::optional<PostfixEvent> parse_postfix_line(string_view line) {
  const auto t = split_syslog_line(line);
  if (!t) return std::nullopt;
  if (t->daemon == "smtpd") return smtpd_line(t->message);
  if (t->daemon == "postscreen") return postscreen_line(t->message);
  return std::nullopt;
}

}  // namespace sluice::sluiced::maillog
