// The trust model: what peers' observations are worth to this site (docs/feed.md section 6).
//
// Per participant and subject the model keeps one record: points (kind points x count, summed
// over reports), decayed with the participant's half-life from each report's observed_at, and an
// expiry (the latest observed_at + ttl, ttl cut to max_ttl). A participant's contribution to a
// subject's score is round(weight x decayed points), clamped to +-cap. With a quorum of k, a
// positive contribution counts only when >= k participants contribute positively to the same
// subject; vouches (negative) always count. Subjects the caller says are decided locally
// (allowlists, operator entries) get nothing from the feed. Pure: the caller passes the time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "observation.h"
#include "sluice/reputation/source.h"
#include "trust_file.h"

namespace sluice::feed {

struct Contribution {
  std::string participant;
  Prefix subject;
  int32_t weight = 0;      // what it adds to the score now (0 when held or decided locally)
  int32_t raw_weight = 0;  // before the quorum and local decisions
  int64_t expires_ms = 0;
  uint32_t reports = 0;  // observations folded into it
  Kind last_kind = Kind::kComplaint;
  std::string last_evidence;
  bool held_by_quorum = false;
  bool decided_locally = false;
};

// Per-entry weights for the table, one source per participant ("feed:NAME").
struct TableSources {
  std::vector<reputation::SourceConfig> configs;
  std::vector<reputation::ParsedSource> sources;
};

using LocalDecision = std::function<bool(const Prefix &)>;

class TrustModel {
 public:
  explicit TrustModel(TrustConfig cfg) : cfg_(std::move(cfg)) {}

  // Folds an accepted batch in at time now_ms; observations from a participant not in the
  // config are ignored. Returns the observations applied (the rest: refused for the
  // participant's max_entries, counted in full_refusals()).
  size_t apply(const Batch &batch, int64_t now_ms);
  // Drops expired records; returns how many.
  size_t expire(int64_t now_ms);

  // Every live record's contribution at now_ms, sorted by subject then participant.
  std::vector<Contribution> contributions(int64_t now_ms,
                                          const LocalDecision &local = nullptr) const;
  // The contributions to subjects that contain `address` (a host prefix), for explain.
  std::vector<Contribution> explain(const Prefix &address, int64_t now_ms,
                                    const LocalDecision &local = nullptr) const;
  // The contributions that count, as table sources with indices first_index...
  TableSources table_sources(int64_t now_ms, uint16_t first_index,
                             const LocalDecision &local = nullptr) const;

  // The earliest expiry of a live record after now_ms, or 0 when there is none.
  int64_t next_expiry(int64_t now_ms) const;

  size_t entries() const;
  size_t entries(const std::string &participant) const;
  uint64_t full_refusals() const { return full_refusals_; }
  const TrustConfig &config() const { return cfg_; }

  // The records as JSON text (with the sequences the caller passes), and back; restore throws
  // sluice::Error ("FILE: reason") on anything malformed and changes nothing then.
  struct Record {
    double points = 0;  // at updated_ms
    int64_t updated_ms = 0;
    int64_t expires_ms = 0;
    uint32_t reports = 0;
    Kind last_kind = Kind::kComplaint;
    std::string last_evidence;
  };
  std::string save(const std::map<std::string, uint64_t> &sequences) const;
  void restore(std::string_view text, const std::string &path,
               std::map<std::string, uint64_t> &sequences);

 private:
  double decayed(const ParticipantTrust &p, const Record &r, int64_t now_ms) const;
  int32_t weight_of(const ParticipantTrust &p, const Record &r, int64_t now_ms) const;

  TrustConfig cfg_;
  std::map<std::string, std::map<Prefix, Record>> records_;  // participant -> subject -> record
  uint64_t full_refusals_ = 0;
};

}  // namespace sluice::feed
