// The checks a consumer makes on every message (docs/feed.md section 2), in order, with a
// counter per refusal reason. Accepting a batch advances its participant's sequence; a refused
// batch changes nothing. Pure: no I/O, the caller passes the reference time.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>

#include "codec.h"

namespace sluice::feed {

struct VerifierOptions {
  int64_t max_age_ms = 120000;  // sent_at older than reference - this: stale
  int64_t max_skew_ms = 30000;  // sent_at later than reference + this: future
  int min_prefix_v4 = 16;       // shorter subject prefixes are skipped
  int min_prefix_v6 = 32;
};

// Observations skipped inside an accepted batch (the batch still applies).
enum class Skip : uint8_t { kUnknownKind, kBadTime, kPrefixTooShort };
inline constexpr size_t kSkipCount = 3;
std::string_view to_string(Skip s);

class Verifier {
 public:
  explicit Verifier(VerifierOptions opts = {}) : opts_(opts) {}

  void set_key(const std::string &participant, const PublicKey &key) { keys_[participant] = key; }
  const std::map<std::string, PublicKey> &keys() const { return keys_; }

  // `subject`: the NATS subject the message came on; `reference_ms`: the stream's stored time
  // (or the receipt time), milliseconds since the Unix epoch.
  std::variant<Batch, Refusal> check(std::string_view subject, std::string_view message,
                                     int64_t reference_ms);

  // Per participant, the last accepted sequence (persisted by the caller).
  const std::map<std::string, uint64_t> &sequences() const { return last_seq_; }
  void restore_sequence(const std::string &participant, uint64_t seq) {
    last_seq_[participant] = seq;
  }

  uint64_t refused(Refusal r) const { return refused_[static_cast<size_t>(r)]; }
  uint64_t skipped(Skip s) const { return skipped_[static_cast<size_t>(s)]; }
  uint64_t accepted_batches() const { return accepted_batches_; }
  uint64_t accepted_observations() const { return accepted_observations_; }
  const VerifierOptions &options() const { return opts_; }

 private:
  Refusal refuse(Refusal r) {
    ++refused_[static_cast<size_t>(r)];
    return r;
  }

  VerifierOptions opts_;
  std::map<std::string, PublicKey> keys_;
  std::map<std::string, uint64_t> last_seq_;
  std::array<uint64_t, kRefusalCount> refused_{};
  std::array<uint64_t, kSkipCount> skipped_{};
  uint64_t accepted_batches_ = 0;
  uint64_t accepted_observations_ = 0;
};

}  // namespace sluice::feed
