#include "verifier.h"

#include <sodium.h>

#include "keys.h"

namespace sluice::feed {

namespace {
constexpr std::array<std::string_view, kSkipCount> kSkipNames = {"unknown_kind", "bad_time",
                                                                 "prefix_too_short"};
}

std::string_view to_string(Skip s) {
  return kSkipNames[static_cast<size_t>(s)];
}

std::variant<Batch, Refusal> Verifier::check(std::string_view subject, std::string_view message,
                                             int64_t reference_ms) {
  auto split = split_message(message);
  if (auto *r = std::get_if<Refusal>(&split)) return refuse(*r);
  const Header &h = std::get<Header>(split);
  auto key = keys_.find(std::string(h.participant));
  if (key == keys_.end()) return refuse(Refusal::kUnknownParticipant);
  if (subject.size() != kSubjectPrefix.size() + h.participant.size() ||
      subject.substr(0, kSubjectPrefix.size()) != kSubjectPrefix ||
      subject.substr(kSubjectPrefix.size()) != h.participant)
    return refuse(Refusal::kSubjectMismatch);
  ensure_sodium();
  const std::string signed_msg = signed_bytes(h.body);
  if (crypto_sign_verify_detached(h.signature.data(),
                                  reinterpret_cast<const unsigned char *>(signed_msg.data()),
                                  signed_msg.size(), key->second.data()) != 0)
    return refuse(Refusal::kBadSignature);
  auto parsed = parse_body(h.body);
  if (auto *r = std::get_if<Refusal>(&parsed)) return refuse(*r);
  Batch &b = std::get<Batch>(parsed);
  if (b.participant != h.participant) return refuse(Refusal::kSubjectMismatch);
  auto last = last_seq_.find(b.participant);
  if (last != last_seq_.end() && b.seq <= last->second) return refuse(Refusal::kReplay);
  if (b.sent_at_ms < reference_ms - opts_.max_age_ms) return refuse(Refusal::kStale);
  if (b.sent_at_ms > reference_ms + opts_.max_skew_ms) return refuse(Refusal::kFuture);

  last_seq_[b.participant] = b.seq;
  skipped_[static_cast<size_t>(Skip::kUnknownKind)] += b.skipped_unknown_kind;
  skipped_[static_cast<size_t>(Skip::kBadTime)] += b.skipped_bad_time;
  std::erase_if(b.observations, [&](const Observation &o) {
    const int min = o.subject.family == 4 ? opts_.min_prefix_v4 : opts_.min_prefix_v6;
    if (o.subject.len > 0 && o.subject.len >= min) return false;
    ++skipped_[static_cast<size_t>(Skip::kPrefixTooShort)];
    return true;
  });
  ++accepted_batches_;
  accepted_observations_ += b.observations.size();
  return std::move(b);
}

}  // namespace sluice::feed
