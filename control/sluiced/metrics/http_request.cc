#include "http_request.h"

#include <algorithm>
#include <cctype>

namespace sluice::sluiced::metrics {
namespace {

// RFC 9110 5.6.2 tchar.
bool tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), tchar);
}

// Visible ASCII (the request target; RFC 3986 characters are a subset).
bool vchar(char c) {
  return c > 0x20 && c < 0x7f;
}
// A field value byte: visible, SP, HTAB or obs-text (RFC 9110 5.5).
bool field_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == ' ' || u == '\t' || (u > 0x20 && u != 0x7f);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

ParseResult fail(int status, std::string reason) {
  ParseResult r;
  r.state = ParseState::error;
  r.status = status;
  r.reason = std::move(reason);
  return r;
}

// Splits off one line (without its CRLF / LF). false when no line end is in `rest` yet, or
// when the line holds a CR that does not end it (`bad_cr` then true; a CR as the very last
// byte received may still be followed by its LF).
bool next_line(std::string_view &rest, std::string_view &line, bool &bad_cr) {
  const size_t lf = rest.find('\n');
  const std::string_view body = rest.substr(0, lf == std::string_view::npos ? rest.size() : lf);
  const size_t cr = body.find('\r');
  if (cr != std::string_view::npos) {
    const bool ends_line = lf != std::string_view::npos && cr + 1 == lf;
    const bool last_byte = lf == std::string_view::npos && cr + 1 == rest.size();
    if (!ends_line && !last_byte) {
      bad_cr = true;
      return false;
    }
  }
  if (lf == std::string_view::npos) return false;
  line = body;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  rest.remove_prefix(lf + 1);
  return true;
}

ParseResult parse_request_line(std::string_view line, HttpRequest &req) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, "request line is not METHOD SP TARGET SP VERSION");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!token(method)) return fail(400, "method is not a token");
  if (target.empty() || target[0] != '/' || !std::all_of(target.begin(), target.end(), vchar))
    return fail(400, "target is not in origin form");
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !std::isdigit(version[5]) ||
      version[6] != '.' || !std::isdigit(version[7]))
    return fail(400, "version is not HTTP/d.d");
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return fail(505, "HTTP version not 1.x");
  req.method = method;
  req.target = target;
  req.version = version;
  return {};
}

ParseResult parse_header(std::string_view line, HttpRequest &req) {
  if (line.front() == ' ' || line.front() == '\t') return fail(400, "folded header line");
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return fail(400, "header line without ':'");
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = line.substr(colon + 1);
  if (!token(name)) return fail(400, "header name is not a token");
  if (!std::all_of(value.begin(), value.end(), field_char))
    return fail(400, "control byte in a header value");
  const std::string lname = lower(name);
  if (lname == "transfer-encoding") return fail(400, "a request body is not accepted");
  if (lname == "content-length" && trim(value) != "0")
    return fail(400, "a request body is not accepted");
  ++req.headers;
  return {};
}

}  // namespace

ParseResult parse_http_request(std::string_view received, const HttpLimits &limits) {
  std::string_view rest = received.substr(0, std::min(received.size(), limits.max_head_bytes));
  HttpRequest req;
  std::string_view line;
  bool bad_cr = false;
  bool first = true;
  size_t headers = 0;
  while (next_line(rest, line, bad_cr)) {
    if (first) {
      ParseResult r = parse_request_line(line, req);
      if (r.state == ParseState::error) return r;
      first = false;
      continue;
    }
    if (line.empty()) {
      ParseResult done;
      done.state = ParseState::complete;
      done.request = std::move(req);
      done.head_bytes = static_cast<size_t>(rest.data() - received.data());
      return done;
    }
    if (++headers > limits.max_headers) return fail(431, "too many header lines");
    ParseResult r = parse_header(line, req);
    if (r.state == ParseState::error) return r;
  }
  if (bad_cr) return fail(400, "bare CR in the request");
  // A request line still arriving is judged by its bytes already: one that no request line can
  // hold (a TLS handshake, binary noise) is refused now, not at the deadline.
  if (first) {
    for (size_t i = 0; i < rest.size(); ++i) {
      const auto u = static_cast<unsigned char>(rest[i]);
      const bool trailing_cr = u == '\r' && i + 1 == rest.size();
      if ((u < 0x20 || u >= 0x7f) && !trailing_cr) return fail(400, "not an HTTP request line");
    }
  }
  if (received.size() >= limits.max_head_bytes)  // no complete head within the limit
    return fail(
        431, first ? "request line longer than the limit" : "request head longer than the limit");
  return {};
}

}  // namespace sluice::sluiced::metrics
