// One ARF feedback report (RFC 5965) out of the bytes of one mail, or a refusal with a reason.
// Pure: no I/O, no clock, no global state. The reader is a small strict MIME reader written for
// this (docs/complaints.md says why no MIME library): header blocks with folding, Content-Type
// parameters (quoted or not, names and report-type compared without case), multipart bodies
// split on their boundary (CRLF or LF line ends), base64 or quoted-printable on the feedback
// part, and a report inside a forwarder's multipart or message/rfc822 at bounded depth.
//
// Only the fields of the feedback part (the report's second part, message/feedback-report)
// count: a Source-IP written in the human-readable first part or in the original message (the
// third part) is never read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/reputation/address.h"

namespace sluice::sluiced::arf {

struct ArfLimits {
  size_t max_bytes = size_t{1} << 20;  // the whole mail
  size_t max_parts = 64;               // MIME parts in the whole mail, every level
  unsigned max_depth = 4;              // multipart / message/rfc822 nesting below the top
  size_t max_line = 998;               // one header line, CR LF excluded (RFC 5322)
  size_t max_fields = 200;             // fields in one header block
};

enum class ArfRefusal : uint8_t {
  kNone,
  kEmpty,             // no bytes
  kTooLarge,          // over max_bytes
  kBinary,            // a NUL byte (the mail or the decoded feedback part)
  kLineTooLong,       // a header line over max_line
  kBadHeader,         // a header line that is not "Name: value", a block of too many fields
  kBadMime,           // a multipart without a usable boundary, a bad Content-Type
  kUnclosedBoundary,  // a multipart whose closing delimiter never comes
  kTooManyParts,      // over max_parts
  kTooDeep,           // nesting over max_depth
  kNotReport,         // no multipart/report anywhere
  kWrongReportType,   // a multipart/report whose report-type is not feedback-report
  kSeveralReports,    // more than one feedback report in one mail
  kNoFeedbackPart,    // the report's second part is missing or not message/feedback-report
  kBadEncoding,       // the feedback part's transfer encoding is unknown or does not decode
  kMissingField,      // Feedback-Type, User-Agent or Version missing
  kBadField,          // one of them given twice
  kNotComplaint,      // Feedback-Type not-spam or auth-failure: not a complaint about the source
  kNoSourceIp,        // no Source-IP field
  kSeveralSourceIps,  // more than one: which one is true cannot be known
  kBadSourceIp,       // a Source-IP that is not an IPv4 or IPv6 address
};
inline constexpr size_t kArfRefusalCount = 21;

// "empty", "too_large", ...: the names in status, logs and docs/complaints.md.
std::string_view to_string(ArfRefusal r);

struct ArfReport {
  reputation::IpAddress source;
  bool source_reserved = false;  // private, loopback, documentation, benchmark, ... (still used)
  std::string feedback_type;     // lower case: abuse, fraud, virus, other, or an extension
  std::string user_agent, version;
  std::string arrival_date;                   // as written; empty if absent
  std::vector<std::string> reported_domains;  // as written, at most kMaxReportedDomains
  // De-duplication: BLAKE2b-128 of the report's Message-ID if it has a usable one, else of the
  // feedback part's fields (names lower case, values with runs of white space as one space).
  std::array<uint8_t, 16> key{};
  std::string key_text;  // printable, <= 128 bytes: "<message-id>" or "fields:" + 16 hex digits
};
inline constexpr size_t kMaxReportedDomains = 16;
inline constexpr size_t kMaxFieldValue = 256;  // longer values are cut (they are only shown)

struct ArfResult {
  ArfRefusal refusal = ArfRefusal::kNone;  // kNone: `report` holds the report
  std::string detail;                      // why, for the operator (printable, bounded)
  ArfReport report;
  bool ok() const { return refusal == ArfRefusal::kNone; }
};

ArfResult parse_arf_report(std::string_view mail, const ArfLimits &limits = {});

// Whether the address is not a public unicast one (RFC 6890 special-purpose ranges).
bool is_reserved_address(const reputation::IpAddress &a);

}  // namespace sluice::sluiced::arf
