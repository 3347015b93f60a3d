#include "policy_request.h"

#include <array>

#include "input_text.h"

namespace sluice::sluiced::policy {
namespace {

constexpr std::string_view kRequestValue = "smtpd_access_policy";
constexpr size_t kMaxDomainBytes = 255;

// The attributes kept, by name; a bit each for the duplicate check.
struct Known {
  std::string_view name;
  std::string PolicyRequest::*field;
};
constexpr std::array<Known, 8> kKnown = {{
    {"protocol_state", &PolicyRequest::protocol_state},
    {"client_address", &PolicyRequest::client_address},
    {"client_name", &PolicyRequest::client_name},
    {"helo_name", &PolicyRequest::helo_name},
    {"sender", &PolicyRequest::sender},
    {"recipient", &PolicyRequest::recipient},
    {"queue_id", &PolicyRequest::queue_id},
    {"instance", &PolicyRequest::instance},
}};
constexpr uint32_t kRequestBit = 1u << kKnown.size();

std::string size_text(size_t n) {
  return std::to_string(n) + " bytes";
}

}  // namespace

std::string_view to_string(Refusal r) {
  switch (r) {
    case Refusal::kNone:
      return "none";
    case Refusal::kLineTooLong:
      return "line_too_long";
    case Refusal::kRequestTooLarge:
      return "request_too_large";
    case Refusal::kTooManyAttributes:
      return "too_many_attributes";
    case Refusal::kBinary:
      return "binary";
    case Refusal::kNoEquals:
      return "no_equals";
    case Refusal::kEmptyName:
      return "empty_name";
    case Refusal::kDuplicate:
      return "duplicate";
    case Refusal::kMissingRequest:
      return "missing_request";
    case Refusal::kUnknownRequest:
      return "unknown_request";
  }
  return "unknown";
}

// One pass over the bytes, each byte checked in order against the limits, then its content
// (UTF-8 state, control bytes, a CR that must precede the newline), and each complete line as
// its newline arrives. Every check depends only on the bytes up to the one being checked, so a
// request cut anywhere is refused for the same reason, at the same place, as the whole.
ParseResult parse_policy_request(std::string_view in, const RequestLimits &limits,
                                 const ParseProgress *from) {
  ParseResult r;
  size_t line_start = 0;
  size_t line_no = 1;
  unsigned utf8_need = 0;                  // continuation bytes still expected
  uint8_t utf8_lo = 0x80, utf8_hi = 0xbf;  // range of the next continuation byte
  bool after_cr = false;
  uint32_t seen = 0;
  bool has_request = false;
  if (from != nullptr && from->offset <= in.size()) {
    line_start = from->offset;
    line_no = from->line;
    seen = from->seen;
    has_request = from->has_request;
    r.request = from->request;
  }

  auto refuse = [&](Refusal why, std::string detail) {
    r.status = ParseStatus::kRefused;
    r.refusal = why;
    r.line = line_no;
    r.detail = "line " + std::to_string(line_no) + ": " + std::move(detail);
    r.request = PolicyRequest{};
    return r;
  };

  for (size_t i = line_start; i < in.size(); ++i) {
    const auto c = static_cast<uint8_t>(in[i]);
    if (i + 1 > limits.max_request_bytes)
      return refuse(Refusal::kRequestTooLarge,
                    "request longer than " + size_text(limits.max_request_bytes));
    if (i - line_start + 1 > limits.max_line_bytes)
      return refuse(Refusal::kLineTooLong, "line longer than " + size_text(limits.max_line_bytes));
    if (after_cr && c != '\n') return refuse(Refusal::kBinary, "a CR not followed by a newline");
    if (utf8_need > 0) {
      if (c < utf8_lo || c > utf8_hi)
        return refuse(Refusal::kBinary, "bytes that are not UTF-8 at offset " +
                                            std::to_string(i - line_start) + " of the line");
      utf8_lo = 0x80;
      utf8_hi = 0xbf;
      --utf8_need;
      continue;
    }
    if (c >= 0x80) {
      // RFC 3629: C2..DF one continuation; E0 (A0..BF), E1..EC, ED (80..9F), EE..EF two;
      // F0 (90..BF), F1..F3, F4 (80..8F) three. No overlongs, surrogates or past U+10FFFF.
      if (c >= 0xc2 && c <= 0xdf) {
        utf8_need = 1;
      } else if (c >= 0xe0 && c <= 0xef) {
        utf8_need = 2;
        if (c == 0xe0) utf8_lo = 0xa0;
        if (c == 0xed) utf8_hi = 0x9f;
      } else if (c >= 0xf0 && c <= 0xf4) {
        utf8_need = 3;
        if (c == 0xf0) utf8_lo = 0x90;
        if (c == 0xf4) utf8_hi = 0x8f;
      } else {
        return refuse(Refusal::kBinary, "bytes that are not UTF-8 at offset " +
                                            std::to_string(i - line_start) + " of the line");
      }
      continue;
    }
    if (c == '\r') {
      after_cr = true;
      continue;
    }
    if (c != '\n') {
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return refuse(Refusal::kBinary,
                      (c == 0 ? std::string("a NUL byte")
                              : "control byte " + shown(std::string_view(in.data() + i, 1))) +
                          " at offset " + std::to_string(i - line_start) + " of the line");
      continue;
    }
    // A complete line: [line_start, i), its CR (if any) left out.
    std::string_view line = in.substr(line_start, i - line_start);
    if (after_cr) line.remove_suffix(1);
    after_cr = false;
    if (line.empty()) {
      if (!has_request)
        return refuse(Refusal::kMissingRequest, "request ends without request=smtpd_access_policy");
      r.status = ParseStatus::kRequest;
      r.consumed = i + 1;
      return r;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return refuse(Refusal::kNoEquals, "no '=' in " + shown(line));
    if (eq == 0)
      return refuse(Refusal::kEmptyName, "no attribute name before '=' in " + shown(line));
    if (++r.request.attributes > limits.max_attributes)
      return refuse(Refusal::kTooManyAttributes,
                    "more than " + std::to_string(limits.max_attributes) + " attributes");
    const std::string_view name = line.substr(0, eq), value = line.substr(eq + 1);
    if (name == "request") {
      if (seen & kRequestBit) return refuse(Refusal::kDuplicate, "request= given twice");
      seen |= kRequestBit;
      if (value != kRequestValue)
        return refuse(Refusal::kUnknownRequest,
                      "request=" + shown(value, false) + " is not smtpd_access_policy");
      has_request = true;
    } else {
      for (size_t k = 0; k < kKnown.size(); ++k) {
        if (kKnown[k].name != name) continue;
        if (seen & (1u << k))
          return refuse(Refusal::kDuplicate, std::string(name) + "= given twice");
        seen |= 1u << k;
        r.request.*kKnown[k].field = std::string(value);
        break;
      }
    }
    line_start = i + 1;
    ++line_no;
  }
  // Out of bytes before the empty line: nothing wrong so far.
  r.progress.offset = line_start;
  r.progress.line = line_no;
  r.progress.seen = seen;
  r.progress.has_request = has_request;
  r.progress.request = std::move(r.request);
  r.request = PolicyRequest{};
  return r;
}

std::string address_domain(std::string_view address) {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string d = cut_utf8(address.substr(at + 1), kMaxDomainBytes);
  for (char &ch : d)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return d;
}

std::string cut_utf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t n = max_bytes;
  // Back to the start of the sequence the cut falls in (continuation bytes are 10xxxxxx).
  while (n > 0 && (static_cast<uint8_t>(text[n]) & 0xc0) == 0x80) --n;
  return std::string(text.substr(0, n));
}

}  // namespace sluice::sluiced::policy
