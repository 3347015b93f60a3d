// The feed's data model (docs/feed.md, schema v1): a batch of observations about senders, as a
// participant publishes it. Every limit of the wire format is a named constant here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/reputation/address.h"

namespace sluice::feed {

inline constexpr int kSchemaVersion = 1;
inline constexpr size_t kMaxMessageBytes = 65536;
inline constexpr size_t kMaxObservations = 1024;
inline constexpr size_t kMaxParticipantName = 63;
inline constexpr size_t kMaxHelo = 255;
inline constexpr size_t kMaxSenderDomain = 253;
inline constexpr size_t kMaxEvidence = 128;
inline constexpr uint64_t kMaxSeq = (uint64_t{1} << 53) - 1;
inline constexpr uint64_t kMaxCount = 1000000;
inline constexpr uint64_t kMaxWindowSeconds = 604800;
inline constexpr uint64_t kMinTtlSeconds = 60;
inline constexpr uint64_t kMaxTtlSeconds = 2592000;
// observed_at may lie this far after sent_at (clock skew) or before it (a window's end).
inline constexpr int64_t kObservedAfterSentMs = 300000;
inline constexpr int64_t kObservedBeforeSentMs = 604800000;

enum class Kind : uint8_t {
  kComplaint,
  kTrapHit,
  kConnRate,
  kPregreet,
  kShaped,
  kBlocked,
  kVouch,
  kFanOut,  // appended: a consumer that does not know it skips it (unknown_kind)
};
inline constexpr size_t kKindCount = 8;
std::string_view to_string(Kind k);
std::optional<Kind> kind_from_string(std::string_view s);

// An address or prefix, host bits clear (reputation's host-order forms).
struct Prefix {
  int family = 4;  // 4 or 6
  uint32_t v4 = 0;
  reputation::U128 v6 = 0;
  uint8_t len = 32;
  bool operator==(const Prefix &) const = default;
  auto operator<=>(const Prefix &o) const {
    if (family != o.family) return family <=> o.family;
    if (family == 4 && v4 != o.v4) return v4 <=> o.v4;
    if (family == 6 && v6 != o.v6)
      return v6 < o.v6 ? std::strong_ordering::less : std::strong_ordering::greater;
    return len <=> o.len;
  }
};
// "198.18.0.7", "198.18.0.0/24", "2001:2::/48"; nullopt when malformed or host bits are set.
std::optional<Prefix> parse_prefix(std::string_view text);
std::string format_prefix(const Prefix &p);

struct Observation {
  Prefix subject;
  std::string helo;           // empty: absent
  std::string sender_domain;  // empty: absent
  Kind kind = Kind::kComplaint;
  uint32_t count = 1;
  uint32_t window_s = 1;
  uint32_t ttl_s = kMinTtlSeconds;
  int64_t observed_at_ms = 0;
  std::string evidence;  // empty: absent
};

struct Batch {
  std::string participant;
  uint64_t seq = 0;
  int64_t sent_at_ms = 0;
  std::vector<Observation> observations;
  // Filled by the parser: observations skipped for a reason that does not refuse the batch.
  size_t skipped_unknown_kind = 0;
  size_t skipped_bad_time = 0;
};

// 1..63 of a-z 0-9 - _, starting with a letter or digit (also a NATS subject token).
bool valid_participant(std::string_view name);

// The NATS subject a participant publishes to: "sluice.obs.<participant>".
inline constexpr std::string_view kSubjectPrefix = "sluice.obs.";
std::string subject_for(std::string_view participant);

}  // namespace sluice::feed
