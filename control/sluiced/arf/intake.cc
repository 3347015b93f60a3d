#include "intake.h"

#include <exception>

namespace sluice::sluiced::arf {

Intake::Intake(ArfLimits limits, size_t dedup_memory, Publish publish, Clock clock)
    : limits_(limits),
      seen_(dedup_memory),
      publish_(std::move(publish)),
      clock_(clock ? std::move(clock) : [] { return std::chrono::system_clock::now(); }) {}

Outcome Intake::refused(std::string reason, std::string detail) {
  ++counters_.refused[reason];
  Outcome o;
  o.fate = MailFate::kRefused;
  o.reason = std::move(reason);
  o.detail = std::move(detail);
  return o;
}

Outcome Intake::take(const MailFile &file) {
  if (!file.read) return refused(file.reason, file.detail);
  return take(file.bytes);
}

Outcome Intake::take(std::string_view mail) {
  ArfResult r;
  try {
    r = parse_arf_report(mail, limits_);
  } catch (const std::exception &e) {
    // A parser bug must not leave a maildir mail in new/ to fail again every turn.
    return refused("internal_error", std::string("the parser failed: ") + e.what());
  }
  if (!r.ok()) return refused(std::string(to_string(r.refusal)), std::move(r.detail));
  Outcome o;
  o.report = std::move(r.report);
  if (!seen_.insert(o.report.key)) {
    ++counters_.duplicates;
    o.fate = MailFate::kDuplicate;
    return o;
  }
  ++counters_.accepted;
  o.fate = MailFate::kAccepted;
  LocalObservation obs;
  obs.subject = o.report.source;
  obs.kind = LocalKind::kComplaint;
  obs.count = 1;
  obs.observed_at = clock_();
  obs.origin = "arf";
  obs.evidence = o.report.key_text.substr(0, 128);
  publish_(obs);
  return o;
}

}  // namespace sluice::sluiced::arf
