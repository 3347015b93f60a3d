// One entry of a data plane's heavy_senders() answer (control/dataplane_client.h), checked
// before sluiced believes it: its prefix must be one address (/32, /128) or the network the data
// planes aggregate (/24, /64) with the host bits clear, its window must be a length, and its rate
// must be one an address can send at. A data plane is trusted to shape, not to write sluiced's
// table: an entry that fails a check is refused and counted, and touches nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "dataplane_client.h"
#include "sluice/reputation/address.h"

namespace sluice::sluiced::heavy {

enum class Refusal : uint8_t {
  kBadPrefix,   // not ADDRESS/LEN, a length other than 32, 24, 128, 64, host bits set
  kBadWindow,   // window_ns of 0
  kAbsurdRate,  // above kMaxPerMinute
  kDuplicate,   // the same prefix twice in one answer
  kOverLimit,   // beyond the limit asked for
};
inline constexpr size_t kRefusalCount = 5;
// "bad_prefix", "bad_window", "absurd_rate", "duplicate", "over_limit": logs and metrics.
std::string_view to_string(Refusal r);

// More SYNs per minute than one address sends: 16.7 million per second, above the packet rate
// of a 10 Gb/s link (14.9 Mpps). A data plane that reports it is broken, not under attack.
inline constexpr double kMaxPerMinute = 1e9;

// A host or one of the networks the data planes aggregate.
struct HeavyPrefix {
  int family = 4;
  reputation::U128 bits = 0;  // the address, host order (IPv4 in the low 32 bits)
  uint8_t len = 32;

  bool host() const { return len == (family == 4 ? 32 : 128); }
  reputation::IpAddress address() const;
  bool operator==(const HeavyPrefix &) const = default;
  bool operator<(const HeavyPrefix &o) const {
    if (family != o.family) return family < o.family;
    if (bits != o.bits) return bits < o.bits;
    return len < o.len;
  }
};

// "198.18.0.7/32", "198.18.0.0/24", "2001:2::7/128", "2001:2::/64"; nullopt for anything else.
std::optional<HeavyPrefix> parse_heavy_prefix(std::string_view text);
// "198.18.0.7" for a host, "198.18.0.0/24" for a network.
std::string format_heavy_prefix(const HeavyPrefix &p);

struct CheckedSender {
  HeavyPrefix prefix;
  double per_minute = 0;  // SYNs per minute, 0 .. kMaxPerMinute
};

// The entry as sluiced uses it, or why it is refused (never kDuplicate or kOverLimit: those
// are about the answer, not the entry).
std::variant<CheckedSender, Refusal> check_sender(const control::HeavySender &s);

}  // namespace sluice::sluiced::heavy
