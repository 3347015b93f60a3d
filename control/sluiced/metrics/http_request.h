// The request side of sluiced's metrics endpoint: an HTTP/1.x request head, read from a
// client that may be hostile. It takes what a scraper sends (request line, headers, no body)
// and refuses everything else with the status the server answers:
//   400 a malformed request line or header, a control byte, a folded header line, a body
//       (Content-Length other than 0, any Transfer-Encoding), a target not in origin form;
//   431 a head longer than max_head_bytes or with more than max_headers header lines;
//   505 an HTTP version other than 1.0 and 1.1.
// Lines end in CRLF or a bare LF (RFC 9112 2.2); a bare CR is refused.
// Fuzzed by tests/fuzz/fuzz_metrics_http.cc.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::sluiced::metrics {

struct HttpLimits {
  size_t max_head_bytes = 8192;  // request line + headers + the empty line
  size_t max_headers = 32;
};

struct HttpRequest {
  std::string method;   // as sent (case-sensitive, RFC 9110 9.1)
  std::string target;   // origin form: "/metrics", "/metrics?x=1"
  std::string version;  // "HTTP/1.0" or "HTTP/1.1"
  size_t headers = 0;   // header lines seen
  std::string path() const { return target.substr(0, target.find('?')); }
};

enum class ParseState { incomplete, complete, error };

struct ParseResult {
  ParseState state = ParseState::incomplete;
  HttpRequest request;    // when complete
  int status = 0;         // when error: 400, 431 or 505
  std::string reason;     // when error: what was wrong, for the server's own counters/logs
  size_t head_bytes = 0;  // when complete: bytes of the head (anything after is not read)
};

// Parses the bytes a client has sent so far. incomplete: send more (the caller keeps the bytes
// and calls again with more); never incomplete once `received` exceeds max_head_bytes.
ParseResult parse_http_request(std::string_view received, const HttpLimits &limits = {});

}  // namespace sluice::sluiced::metrics
