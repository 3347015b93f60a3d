// The trust file: which participants a site listens to, their keys, and how much it trusts each
// (docs/feed.md section 6). INI, read with Boost.Program_options' config-file parser:
//
//   quorum = 2                 # act on a source only when >= 2 participants report it
//   max_ttl = 1d               # suggested ttls are cut to this
//   min_prefix_v4 = 16         # shorter subject prefixes are skipped
//   min_prefix_v6 = 32
//   max_age = 120s             # freshness window (docs/feed.md section 2)
//   max_skew = 30s
//   points.trap_hit = 10       # points per reported event, per kind
//
//   [isp-b]                    # one section per participant; the name is the participant's
//   key = BASE64               # its Ed25519 public key
//   weight = 1.0               # multiplies its points (0..10)
//   cap = 20                   # most it adds to (or takes from) one address's score
//   half_life = 1h             # its points halve every half_life
//   max_entries = 100000       # subjects kept for it at once; more are refused and counted
//   max_silence = 10m          # flagged silent after this long without a batch (0/off: never)
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec.h"
#include "observation.h"
#include "verifier.h"

namespace sluice::feed {

struct ParticipantTrust {
  std::string name;
  PublicKey key{};
  double weight = 1.0;
  int32_t cap = 20;
  int64_t half_life_ms = 3600000;
  size_t max_entries = 100000;
  int64_t max_silence_ms = 0;  // 0: never flagged silent
};

// Default points per event of each kind, in Kind order.
inline constexpr std::array<int32_t, kKindCount> kDefaultPoints = {
    5,    // complaint
    10,   // trap_hit
    2,    // conn_rate
    5,    // pregreet
    1,    // shaped
    3,    // blocked
    -10,  // vouch
    1,    // fan_out
};

struct TrustConfig {
  std::vector<ParticipantTrust> participants;
  std::array<int32_t, kKindCount> points = kDefaultPoints;
  size_t quorum = 1;
  int64_t max_ttl_ms = 86400000;
  VerifierOptions verifier;

  const ParticipantTrust *find(std::string_view name) const {
    for (const auto &p : participants)
      if (p.name == name) return &p;
    return nullptr;
  }
};

// "90", "90s", "5m", "2h", "1d" -> milliseconds; false on anything else or over 365 days.
bool parse_duration_ms(std::string_view text, int64_t &out);

// Throws sluice::Error ("FILE: reason", "FILE: [section] reason") on a syntax error, an unknown
// key, a bad value, a participant without a key, or no participants.
TrustConfig parse_trust_text(std::string_view text, const std::string &path);
TrustConfig load_trust_file(const std::string &path);

}  // namespace sluice::feed
