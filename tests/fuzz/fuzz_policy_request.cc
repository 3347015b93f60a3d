// sluiced's Postfix policy request parser (control/sluiced/policy/policy_request.h) on arbitrary
// bytes. Input: byte 0 picks the limits (bits 0..3: max_attributes 1..16; bits 4..7:
// max_line_bytes 16 << (value % 8)), byte 1 max_request_bytes (64 << (value % 10)); the rest is
// what a client sent on one connection. Checks, besides memory safety:
//   a request is within the limits, and re-parsing exactly its bytes gives the same request;
//   a verdict reached on the first part of the input (request or refusal, its reason and line)
//   is the verdict on the whole (the server parses again as more bytes arrive);
//   resuming from the progress of a parse of the first part gives the verdict on the whole;
//   the parser never waits for more once the input is longer than max_request_bytes;
//   every request taken has request=smtpd_access_policy and at most max_attributes lines.
// Seeds: tests/fuzz/seeds/policy_request.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy_request.h"

using namespace sluice::sluiced::policy;

namespace {

bool same(const PolicyRequest &a, const PolicyRequest &b) {
  return a.protocol_state == b.protocol_state && a.client_address == b.client_address &&
         a.client_name == b.client_name && a.helo_name == b.helo_name && a.sender == b.sender &&
         a.recipient == b.recipient && a.queue_id == b.queue_id && a.instance == b.instance &&
         a.attributes == b.attributes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  RequestLimits limits;
  limits.max_attributes = 1 + (data[0] & 0x0f);
  limits.max_line_bytes = size_t{16} << ((data[0] >> 4) % 8);
  limits.max_request_bytes = size_t{64} << (data[1] % 10);
  const std::string_view in(reinterpret_cast<const char *>(data + 2), size - 2);

  const ParseResult whole = parse_policy_request(in, limits);
  switch (whole.status) {
    case ParseStatus::kRequest: {
      if (whole.consumed == 0 || whole.consumed > in.size() ||
          whole.consumed > limits.max_request_bytes)
        std::abort();
      if (whole.request.attributes == 0 || whole.request.attributes > limits.max_attributes)
        std::abort();
      if (in.substr(0, whole.consumed).find("request=smtpd_access_policy\n") ==
              std::string_view::npos &&
          in.substr(0, whole.consumed).find("request=smtpd_access_policy\r\n") ==
              std::string_view::npos)
        std::abort();
      const ParseResult exact = parse_policy_request(in.substr(0, whole.consumed), limits);
      if (exact.status != ParseStatus::kRequest || exact.consumed != whole.consumed ||
          !same(exact.request, whole.request))
        std::abort();
      break;
    }
    case ParseStatus::kRefused:
      if (whole.refusal == Refusal::kNone || whole.detail.empty() || whole.line == 0) std::abort();
      break;
    case ParseStatus::kNeedMore:
      if (in.size() > limits.max_request_bytes) std::abort();
      break;
  }
  // Received in two parts: what the first part decided stands.
  const size_t cut = in.size() / 2;
  const ParseResult first = parse_policy_request(in.substr(0, cut), limits);
  if (first.status != ParseStatus::kNeedMore) {
    if (first.status != whole.status || first.refusal != whole.refusal || first.line != whole.line)
      std::abort();
    if (first.status == ParseStatus::kRequest &&
        (first.consumed != whole.consumed || !same(first.request, whole.request)))
      std::abort();
  } else {
    // Resumed where the first part stopped: the verdict on the whole, from the start.
    const ParseResult resumed = parse_policy_request(in, limits, &first.progress);
    if (resumed.status != whole.status || resumed.refusal != whole.refusal ||
        resumed.line != whole.line || resumed.consumed != whole.consumed ||
        !same(resumed.request, whole.request))
      std::abort();
  }
  return 0;
}
