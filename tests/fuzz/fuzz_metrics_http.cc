// sluiced's /metrics request parser (control/sluiced/metrics/http_request.h) on arbitrary bytes.
// Input: byte 0 picks the limits (bits 0..3: max_headers 0..15; bits 4..7: max_head_bytes
// 64 << (value % 8)); the rest is what a client sent. Checks, besides memory safety:
//   a complete head is within the limit, and re-parsing exactly its bytes gives the same request;
//   a head judged complete or refused is never judged otherwise once more bytes arrive (the
//   server parses the bytes received so far, again on every read).
// Seeds: tests/fuzz/seeds/metrics_http.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http_request.h"

using sluice::sluiced::metrics::HttpLimits;
using sluice::sluiced::metrics::parse_http_request;
using sluice::sluiced::metrics::ParseState;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  HttpLimits limits;
  limits.max_headers = data[0] & 0x0f;
  limits.max_head_bytes = size_t{64} << ((data[0] >> 4) % 8);
  const std::string_view in(reinterpret_cast<const char *>(data + 1), size - 1);

  const auto whole = parse_http_request(in, limits);
  if (whole.state == ParseState::complete) {
    if (whole.head_bytes > in.size() || whole.head_bytes > limits.max_head_bytes) std::abort();
    const auto head = parse_http_request(in.substr(0, whole.head_bytes), limits);
    if (head.state != ParseState::complete || head.request.target != whole.request.target ||
        head.request.method != whole.request.method || head.head_bytes != whole.head_bytes)
      std::abort();
    if (whole.request.target.empty() || whole.request.target[0] != '/') std::abort();
  }
  if (whole.state == ParseState::error && (whole.status < 400 || whole.status > 599)) std::abort();
  // Received in two parts: what the first part decided stands.
  const size_t cut = in.size() / 2;
  const auto first = parse_http_request(in.substr(0, cut), limits);
  if (first.state != ParseState::incomplete && first.state != whole.state) std::abort();
  if (first.state == ParseState::error && first.status != whole.status) std::abort();
  return 0;
}
