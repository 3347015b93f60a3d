// A Postfix policy delegation request (Postfix's SMTPD_POLICY_README): name=value lines, each
// ended by a newline, the request ended by an empty line. What a client on the policy socket
// may send is anything: parse_policy_request() is a pure function over the bytes received so
// far on one connection, incremental (a request cut anywhere answers kNeedMore) and strict
// about what it takes:
//
//   a line longer than max_line_bytes, a request longer than max_request_bytes, more than
//   max_attributes lines, a NUL or other control byte (a tab excepted; a CR only right before
//   the newline), bytes that are not UTF-8, a line without '=' or with an empty name, a known
//   attribute given twice, and a request without `request=smtpd_access_policy` are refused.
//   Attributes it does not know are ignored, as the README says policy servers must.
//
// A refusal is decided as soon as the bytes that cause it are in the buffer (a bad line is
// refused when its newline arrives, an overlong one as soon as it passes the limit), so a
// hostile client never makes the server keep more than max_request_bytes of it. Postfix's
// side of a refusal: the server logs, counts and closes without a reply, as the README asks
// ("in case of trouble the policy server must not send a reply"); smtpd then retries or
// applies smtpd_policy_service_default_action.
//
// Fuzzed by tests/fuzz/fuzz_policy_request.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::sluiced::policy {

struct RequestLimits {
  size_t max_line_bytes = 4096;      // one name=value line, its newline included
  size_t max_request_bytes = 32768;  // every line and the empty line
  size_t max_attributes = 100;       // name=value lines, unknown ones included
};

// The attributes sluiced reads (the rest are skipped). Empty when absent: Postfix sends every
// attribute it knows, empty values included ("sender=" for the null sender).
struct PolicyRequest {
  std::string protocol_state;  // CONNECT, EHLO, HELO, MAIL, RCPT, DATA, END-OF-MESSAGE, VRFY, ETRN
  std::string client_address;  // the SMTP client's IP address as Postfix saw it
  std::string client_name;
  std::string helo_name;
  std::string sender;     // the envelope sender, "" for the null sender
  std::string recipient;  // the envelope recipient (RCPT stage)
  std::string queue_id;
  std::string instance;   // the same for every request of one message
  size_t attributes = 0;  // name=value lines of the request, unknown ones included
};

enum class ParseStatus : uint8_t {
  kNeedMore,  // no complete request yet, nothing wrong so far: read more
  kRequest,   // `request` holds one request; `consumed` bytes were it
  kRefused,   // `refusal` and `detail` say why; the connection ends
};

enum class Refusal : uint8_t {
  kNone,
  kLineTooLong,
  kRequestTooLarge,
  kTooManyAttributes,
  kBinary,          // NUL, a control byte, a stray CR, bytes that are not UTF-8
  kNoEquals,        // a line without '='
  kEmptyName,       // "=value"
  kDuplicate,       // a known attribute given twice
  kMissingRequest,  // no request= attribute
  kUnknownRequest,  // request= something other than smtpd_access_policy
};
inline constexpr size_t kRefusalKinds = 10;  // kNone included
// The metric label and log word of a refusal ("line_too_long", ...).
std::string_view to_string(Refusal r);

// Where a kNeedMore parse stopped: the start of the line it could not finish, and what the
// complete lines before it said. Handing it back with the same bytes and more resumes there, so
// a client that sends its request a byte at a time costs at most one line's rescan per read
// (the result is the one a parse of all the bytes from the start gives).
struct ParseProgress {
  size_t offset = 0;  // bytes of complete lines already checked
  size_t line = 1;    // the number of the line at `offset`
  uint32_t seen = 0;  // known attributes met (the duplicate check)
  bool has_request = false;
  PolicyRequest request;  // the attributes read so far
};

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  PolicyRequest request;  // kRequest
  size_t consumed = 0;    // kRequest: bytes of the request, the empty line included
  Refusal refusal = Refusal::kNone;
  size_t line = 0;         // kRefused: 1-based line of the request where it went wrong (0: none)
  std::string detail;      // kRefused: a sentence for the log, input shown escaped and cut
  ParseProgress progress;  // kNeedMore: where to resume
};

// Parses the first request in `received` (the bytes after the previous request's end). `from`:
// the progress of the previous kNeedMore parse of a prefix of the same bytes (nullptr: start).
ParseResult parse_policy_request(std::string_view received, const RequestLimits &limits = {},
                                 const ParseProgress *from = nullptr);

// The domain of an envelope address: what follows its last '@', lowercased; "" for the null
// sender or an address without '@'. At most 255 bytes (longer ones are cut).
std::string address_domain(std::string_view address);

// At most max_bytes of UTF-8 text, cut before a whole character.
std::string cut_utf8(std::string_view text, size_t max_bytes);

}  // namespace sluice::sluiced::policy
