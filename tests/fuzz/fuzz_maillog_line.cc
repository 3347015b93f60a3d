// sluiced's Postfix log line parser (control/sluiced/maillog/postfix_line.h) on arbitrary bytes:
// one log line as the follower hands it on (no newline). Checks, besides memory safety:
//   an event's evidence is printable ASCII and at most kMaxEvidenceBytes;
//   its daemon is smtpd or postscreen, its kind one a log can show;
//   a line holding a control byte gives no event;
//   the parse is the same twice (no hidden state).
// Seeds: tests/fuzz/seeds/maillog_line (real Postfix lines and hostile variants).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "postfix_line.h"

using namespace sluice::sluiced;
using namespace sluice::sluiced::maillog;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view line(reinterpret_cast<const char *>(data), size);
  const auto ev = parse_postfix_line(line);
  const auto again = parse_postfix_line(line);
  if (ev.has_value() != again.has_value()) abort();
  if (!ev) return 0;
  if (ev->evidence != again->evidence || ev->kind != again->kind) abort();
  if (ev->evidence.size() > kMaxEvidenceBytes) abort();
  for (char c : ev->evidence)
    if (c < 0x20 || c > 0x7e) abort();
  if (ev->daemon != "smtpd" && ev->daemon != "postscreen") abort();
  if (ev->kind != LocalKind::kUnknownRecipient && ev->kind != LocalKind::kRblReject &&
      ev->kind != LocalKind::kPregreet && ev->kind != LocalKind::kProtocolError)
    abort();
  if (ev->client.family != 4 && ev->client.family != 6) abort();
  for (unsigned char c : line)
    if ((c < 0x20 && c != '\t') || c == 0x7f) abort();
  return 0;
}
