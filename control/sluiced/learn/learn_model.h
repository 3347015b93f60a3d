// The local score model (docs/learning.md): what this site's own observations (daemon/
// local_observation.h) are worth in the table.
//
// Per address and kind it keeps a decayed count that halves every half_life of its kind. For
// most kinds it counts events: every observation adds its count. A rate kind (is_rate():
// conn_rate, whose observations carry SYNs per minute) keeps a gauge instead: an observation
// raises it to its rate when that is above the decayed gauge, and leaves it otherwise, so a
// sender at 600 SYN/min is worth 600 SYN/min at the first observation, and a hundred
// observations of it are worth no more. The kind's points for the address are
//   0                             while the decayed count (or rate) is below the threshold,
//   min(cap, weight x count)      otherwise,
// and what the table gets is that rounded to a whole number (0: no entry). Memory is bounded:
// at max_addresses, a new address evicts the one with the lowest current points (ties: the
// lowest points it would have without thresholds, then the oldest).
//
// Pure: no clock of its own (every call takes the time, unix milliseconds), no daemon, no I/O.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/local_observation.h"
#include "sluice/reputation/address.h"

namespace sluice::sluiced::learn {

struct KindSettings {
  double weight = 1;     // points per event (fractional allowed; 0 turns the kind off)
  double cap = 10;       // the most points one address gets from this kind
  double threshold = 1;  // the decayed count below which the kind contributes nothing
  int64_t half_life_ms = 3600000;
};

struct ModelSettings {
  std::array<KindSettings, kLocalKindCount> kinds = default_kinds();
  size_t max_addresses = 65536;
  int64_t step_ms = 60000;  // decay is re-evaluated for the table at most this often

  static std::array<KindSettings, kLocalKindCount> default_kinds();
};

// Evidence and origin as the model keeps them: origin at most 32 bytes, evidence at most 128,
// bytes outside printable ASCII replaced by '?'.
inline constexpr size_t kMaxOrigin = 32;
// A decayed count never exceeds this (the state file's bound).
inline constexpr double kMaxCount = 1e15;
inline constexpr size_t kMaxEvidence = 128;
std::string bounded_printable(std::string_view s, size_t max);

// One address's record for one kind.
struct KindRecord {
  // The decayed count at updated_ms. For a rate kind: the gauge's last raise, the rate at
  // updated_ms (e.g. 412 SYN/min at 10:02); an observation below the decayed gauge changes
  // neither.
  double count = 0;
  int64_t updated_ms = 0;
  int64_t last_seen_ms = 0;   // observed_at of the latest observation
  uint64_t observations = 0;  // observations folded in
  std::string origin;         // of the latest observation
  std::string evidence;       // of the latest observation (may be empty)
};

// One kind's part in an address's score now, for explain and the table.
struct KindView {
  LocalKind kind;
  double count = 0;   // decayed to now
  double points = 0;  // before rounding (0 below the threshold)
  int32_t contribution = 0;
  bool below_threshold = false;
  bool capped = false;
  const KindRecord *record = nullptr;
};

// A saved record (the state file's line): address, kind, record.
struct SavedRecord {
  reputation::IpAddress address;
  LocalKind kind = LocalKind::kComplaint;
  KindRecord record;
};

class LocalModel {
 public:
  explicit LocalModel(ModelSettings s) : s_(std::move(s)) {}

  // Folds one observation in at now_ms: its count added, or for a rate kind its rate taken when
  // above the decayed gauge. An observed_at after now counts as now; before now, its count is
  // decayed by its age. Returns whether some table contribution changed (the caller
  // rebuilds then).
  bool observe(const LocalObservation &o, int64_t now_ms);

  // Every address's contributions at now_ms, per kind: (address, kind, whole points), sorted by
  // address then kind. Remembers them as published (changed(), next_change()), and forgets the
  // records that decayed away (their would-be points below 0.01).
  struct Entry {
    reputation::IpAddress address;
    LocalKind kind;
    int32_t points;
  };
  std::vector<Entry> evaluate(int64_t now_ms);

  // When the published contributions next differ by decay alone: the earliest time one of them
  // rounds to another value or falls below its threshold, but never before the last evaluate()
  // + step. nullopt when nothing is published.
  std::optional<int64_t> next_change() const;

  // Every kind recorded for the address, at now_ms (empty when none).
  std::vector<KindView> explain(const reputation::IpAddress &a, int64_t now_ms) const;
  // What the last evaluate() published for the address, per kind (zeros when nothing).
  std::array<int32_t, kLocalKindCount> published(const reputation::IpAddress &a) const;
  // Drops every record of the address; returns the kinds dropped. Published entries stay until
  // the next evaluate() (the caller rebuilds when the answer is not empty).
  std::vector<LocalKind> forget(const reputation::IpAddress &a);

  // Every record, for the state file (sorted by address, then kind).
  std::vector<SavedRecord> records() const;
  // Replaces every record with these (the last of a duplicate wins); evicts down to
  // max_addresses as observe() does. Published entries are forgotten (the next evaluate()
  // publishes afresh).
  void restore(const std::vector<SavedRecord> &recs, int64_t now_ms);

  size_t addresses() const { return map_.size(); }
  uint64_t evictions() const { return evictions_; }
  uint64_t observations(LocalKind k) const { return observed_[static_cast<size_t>(k)]; }
  // Published (address, kind) entries per kind, from the last evaluate().
  std::array<size_t, kLocalKindCount> published_per_kind() const;
  const ModelSettings &settings() const { return s_; }

  // The decayed count of `r` for kind k at now_ms, and the points it is worth.
  double decayed(LocalKind k, const KindRecord &r, int64_t now_ms) const;
  KindView view(LocalKind k, const KindRecord &r, int64_t now_ms) const;

 private:
  struct Key {
    int family = 4;
    reputation::U128 bits = 0;
    bool operator==(const Key &) const = default;
    bool operator<(const Key &o) const {
      return family != o.family ? family < o.family : bits < o.bits;
    }
  };
  struct KeyHash {
    size_t operator()(const Key &k) const;
  };
  struct Slot {
    std::array<std::optional<KindRecord>, kLocalKindCount> kinds;
    int64_t touched_ms = 0;  // the last observation folded in
    uint64_t generation = 0;
  };
  static Key key_of(const reputation::IpAddress &a);
  static reputation::IpAddress address_of(const Key &k);
  // (points now, points without thresholds) of a slot: what eviction ranks by.
  std::pair<double, double> rank(const Slot &s, int64_t now_ms) const;
  void make_room(int64_t now_ms);
  int32_t contribution_of(const Key &k, LocalKind kind, int64_t now_ms) const;
  int32_t published_of(const Key &k, LocalKind kind) const;

  ModelSettings s_;
  std::unordered_map<Key, Slot, KeyHash> map_;
  // The last evaluate()'s entries: (address, kind) -> points.
  std::unordered_map<Key, std::array<int32_t, kLocalKindCount>, KeyHash> published_;
  std::optional<int64_t> evaluated_ms_;
  // Eviction candidates (lowest rank first), taken in one scan and used until exhausted; a slot
  // touched since the scan is skipped (its generation changed).
  std::vector<std::pair<Key, uint64_t>> candidates_;
  size_t next_candidate_ = 0;
  int64_t candidates_ms_ = 0;  // when they were ranked (ranked again a step later)
  uint64_t generation_ = 0;
  uint64_t evictions_ = 0;
  std::array<uint64_t, kLocalKindCount> observed_{};
};

}  // namespace sluice::sluiced::learn
