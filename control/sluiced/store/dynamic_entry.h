// sluiced's dynamic entries: single addresses or prefixes an operator (sluicectl host set) or one
// of the daemon's concerns adds with a score, an allow or a deny, an optional expiry, a reason
// and an origin. This header holds the entry itself and the strict parsers of its fields, which
// every input (the control socket's requests, sluicectl's arguments, rows read back from the
// store's database) goes through. See docs/sluiced.md, "Dynamic entries".
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/reputation/address.h"
#include "sluice_error.h"

namespace sluice::sluiced {

// Every refusal of a dynamic entry's input (the message quotes the input through shown()).
class EntryError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

// Limits, one place.
inline constexpr int kMinPrefixLenV4 = 8;   // no dynamic entry wider than a /8 ...
inline constexpr int kMinPrefixLenV6 = 16;  // ... or an IPv6 /16: a typo must not deny the world
inline constexpr size_t kMaxReasonBytes = 256;
inline constexpr size_t kMaxOriginBytes = 128;
inline constexpr int64_t kMaxTtlSeconds = int64_t{100} * 366 * 86400;  // about 100 years

// A prefix of either family: host order, host bits clear; len 32 or 128 for a single address.
struct DynamicPrefix {
  int family = 4;             // 4 or 6
  reputation::U128 addr = 0;  // IPv4 in the low 32 bits
  uint8_t len = 32;

  auto operator<=>(const DynamicPrefix &) const = default;
  bool operator==(const DynamicPrefix &) const = default;
  bool covers(const reputation::IpAddress &a) const;
};

// "198.18.0.1", "198.18.0.0/24", "2001:2::/48", "2001:2::1". Refused: anything else, a length
// out of range or with leading zeros or a sign, host bits set after the length ("198.18.0.1/24":
// the message names 198.18.0.0/24), a prefix wider than kMinPrefixLenV4/V6, an IPv4-mapped IPv6
// address (the data planes look IPv4 senders up as IPv4).
DynamicPrefix parse_prefix(std::string_view text);
// "198.18.0.0/24", "2001:2::1/128": always with the length, the key the store keeps.
std::string format_prefix(const DynamicPrefix &p);

// The ttl as operators write it: a positive number of seconds, or groups of a number and a unit
// s, m, h, d, w ("90", "90s", "15m", "1h30m", "7d", "2w"). Refused: 0, empty, signs, unknown
// units, a total over kMaxTtlSeconds (the message says to leave the ttl out for an entry that
// never expires), numbers that overflow.
int64_t parse_ttl(std::string_view text);
// The shortest form parse_ttl() reads back ("1h30m", "7d", "45s").
std::string format_ttl(int64_t seconds);

// Reason and origin: valid UTF-8, no control characters, at most `max_bytes` bytes; empty is
// fine. `what` names the field in the message.
void check_text(std::string_view text, size_t max_bytes, std::string_view what);

enum class Action : uint8_t {
  kScore,  // contributes `score` (signed) to the table
  kAllow,  // sets SL_REP_ALLOW (never shaped), score contribution 0
  kDeny,   // sets SL_REP_DENY (the policy's highest level whatever the score; beats allow)
};
std::string_view to_string(Action a);
std::optional<Action> action_from_string(std::string_view text);

struct DynamicEntry {
  DynamicPrefix prefix;
  Action action = Action::kScore;
  int32_t score = 0;               // kScore only; 0 otherwise
  int64_t created = 0;             // unix seconds, wall clock
  std::optional<int64_t> expires;  // unix seconds, wall clock; none: never expires
  std::string reason;              // the operator's words ("fail2ban postfix-sasl")
  std::string origin;              // which command or concern made it ("sluicectl uid 0")

  bool expired_at(int64_t now) const { return expires && *expires <= now; }
  // A penalty: what `clear` removes (a deny or a positive score).
  bool is_penalty() const {
    return action == Action::kDeny || (action == Action::kScore && score > 0);
  }
  bool operator==(const DynamicEntry &) const = default;
};

// The whole second at which an entry made at `now_ms` (unix milliseconds) with `ttl_seconds`
// expires: the first one by which it has been in force for the whole ttl. Entries expire at
// whole seconds and `expired_at` compares whole seconds, so the start is rounded up; rounding
// down would cut up to a second off a short ttl. Refuses a result past the int64 range.
int64_t expiry_after(int64_t now_ms, int64_t ttl_seconds);

}  // namespace sluice::sluiced
