// sluiced's ARF report parser (control/sluiced/arf/arf_report.h) on arbitrary bytes. Input:
// byte 0 picks the limits (bits 0..1: max_depth 4 - value; bits 2..3: max_parts 64 >> value;
// bits 4..5: max_line 998 >> value), the rest is one mail. Checks, besides memory safety:
//   the same bytes give the same verdict (no hidden state);
//   a refusal has a reason and a printable detail; a report has a Source-IP of family 4 or 6,
//   a Feedback-Type, a printable key of at most 128 bytes, fields of bounded size;
//   a report written with LF line ends is the same report with CRLF (same address and key).
// Seeds: tests/fuzz/seeds/arf_report (the test reports; byte 0 is 0: the default limits).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "arf_report.h"

using namespace sluice::sluiced::arf;

namespace {

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c >= 0x7f) return false;
  return true;
}

bool same(const ArfResult &a, const ArfResult &b) {
  if (a.refusal != b.refusal || a.detail != b.detail) return false;
  if (!a.ok()) return true;
  return a.report.source.family == b.report.source.family &&
         a.report.source.v4 == b.report.source.v4 && a.report.source.v6 == b.report.source.v6 &&
         a.report.key == b.report.key && a.report.key_text == b.report.key_text &&
         a.report.feedback_type == b.report.feedback_type;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  ArfLimits lim;
  lim.max_depth = 4 - (data[0] & 3);
  lim.max_parts = size_t{64} >> ((data[0] >> 2) & 3);
  lim.max_line = size_t{998} >> ((data[0] >> 4) & 3);
  const std::string_view mail(reinterpret_cast<const char *>(data + 1), size - 1);

  const ArfResult r = parse_arf_report(mail, lim);
  if (!same(r, parse_arf_report(mail, lim))) std::abort();
  if (!r.ok()) {
    if (r.detail.empty() || !printable(r.detail)) std::abort();
    if (to_string(r.refusal).empty()) std::abort();
    return 0;
  }
  const ArfReport &rep = r.report;
  if (rep.source.family != 4 && rep.source.family != 6) std::abort();
  if (rep.feedback_type.empty() || rep.key_text.empty() || rep.key_text.size() > 128 ||
      !printable(rep.key_text))
    std::abort();
  if (rep.user_agent.size() > kMaxFieldValue || rep.version.size() > kMaxFieldValue ||
      rep.arrival_date.size() > kMaxFieldValue || rep.reported_domains.size() > kMaxReportedDomains)
    std::abort();
  if (mail.find('\r') == std::string_view::npos) {
    std::string crlf;
    for (char c : mail) {
      if (c == '\n') crlf += '\r';
      crlf += c;
    }
    if (crlf.size() <= lim.max_bytes) {
      const ArfResult c = parse_arf_report(crlf, lim);
      if (!c.ok() || c.report.key != rep.key || c.report.source.v4 != rep.source.v4 ||
          c.report.source.v6 != rep.source.v6)
        std::abort();
    }
  }
  return 0;
}
