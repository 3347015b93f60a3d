// Test support for the feed: a participant with a key, batches and sealed messages.
#pragma once

#include <string>

#include "feed/codec.h"
#include "feed/keys.h"
#include "feed/observation.h"

namespace sluice::feed::testing {

inline constexpr int64_t kNowMs = 1764500000000;  // a fixed "now" for pure tests

inline Observation observation(std::string_view subject, Kind kind = Kind::kComplaint,
                               uint32_t count = 1, int64_t at_ms = kNowMs) {
  Observation o;
  o.subject = *parse_prefix(subject);
  o.kind = kind;
  o.count = count;
  o.window_s = 300;
  o.ttl_s = 3600;
  o.observed_at_ms = at_ms;
  return o;
}

inline Batch batch(std::string participant, uint64_t seq, int64_t sent_at_ms = kNowMs) {
  Batch b;
  b.participant = std::move(participant);
  b.seq = seq;
  b.sent_at_ms = sent_at_ms;
  b.observations.push_back(observation("198.18.0.7"));
  return b;
}

struct Participant {
  std::string name;
  KeyPair key = generate_keypair();
  std::string subject() const { return subject_for(name); }
  std::string message(const Batch &b) const { return seal(name, encode_body(b), key.secret); }
  std::string message_with_body(std::string_view body) const {
    return seal(name, body, key.secret);
  }
};

}  // namespace sluice::feed::testing
