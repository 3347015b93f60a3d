// Per participant: is it still talking (docs/feed.md, "Liveness")? The time of its last accepted
// batch, the lag of that batch (accepted minus signed), batches and observations accepted, the
// observations of the last 60 s, and "silent" once it has been quiet past its max_silence (trust
// file; a participant never heard counts from when this site started listening). Pure: the
// caller passes the time; used from the daemon's loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "trust_file.h"

namespace sluice::feed {

struct ParticipantLiveness {
  std::string name;
  int64_t last_accepted_ms = 0;  // 0: nothing accepted since start
  int64_t last_lag_ms = 0;       // of the last accepted batch: accepted at minus sent_at
  uint64_t batches = 0;
  uint64_t observations = 0;
  uint64_t observations_last_minute = 0;
  int64_t max_silence_ms = 0;  // 0: not watched
  int64_t silent_for_ms = 0;   // since the last batch (or since start)
  bool silent = false;         // watched and silent_for_ms > max_silence_ms
};

class Liveness {
 public:
  // started_ms: when this site began to listen (a participant never heard is silent from then).
  Liveness(const TrustConfig &cfg, int64_t started_ms);

  // An accepted batch of `participant`, signed at sent_at_ms, applied at now_ms.
  void accepted(const std::string &participant, int64_t sent_at_ms, size_t observations,
                int64_t now_ms);
  // Every configured participant, in the trust file's order.
  std::vector<ParticipantLiveness> view(int64_t now_ms) const;

 private:
  struct State {
    int64_t max_silence_ms = 0;
    int64_t last_ms = 0, lag_ms = 0;
    uint64_t batches = 0, observations = 0;
    // observations per second of the last 60 s, by second (the second's number in `second`)
    std::array<uint64_t, 60> per_second{};
    std::array<int64_t, 60> second{};
  };
  std::vector<std::string> order_;
  std::map<std::string, State> state_;
  int64_t started_ms_;
};

}  // namespace sluice::feed
