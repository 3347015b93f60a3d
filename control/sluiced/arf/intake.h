// What happens to one report mail, whichever way it came in (`sluicectl report --arf`, the
// maildir): parsed (arf_report.h), de-duplicated (seen_reports.h), and when it is a new report
// one kComplaint observation about its Source-IP published (origin "arf", evidence the report's
// key). Counts every outcome, refusals per reason.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "arf_report.h"
#include "daemon/local_observation.h"
#include "maildir.h"
#include "seen_reports.h"

namespace sluice::sluiced::arf {

struct Outcome {
  MailFate fate = MailFate::kRefused;
  // refused: "no_source_ip", ... (ArfRefusal), "not_regular", "unreadable" (the maildir's), or
  // "internal_error" (the parser threw: a bug, the mail is kept as refused)
  std::string reason;
  std::string detail;  // refused: why, printable
  ArfReport report;    // accepted or duplicate
};

struct IntakeCounters {
  uint64_t accepted = 0, duplicates = 0;
  std::map<std::string, uint64_t> refused;  // per reason
  uint64_t refused_total() const {
    uint64_t n = 0;
    for (const auto &[k, v] : refused) n += v;
    return n;
  }
};

class Intake {
 public:
  using Publish = std::function<void(const LocalObservation &)>;
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  Intake(ArfLimits limits, size_t dedup_memory, Publish publish, Clock clock = {});

  Outcome take(std::string_view mail);
  // A maildir file: read, or refused unread for MailFile::reason.
  Outcome take(const MailFile &file);

  const IntakeCounters &counters() const { return counters_; }
  SeenReports &seen() { return seen_; }
  const ArfLimits &limits() const { return limits_; }

 private:
  Outcome refused(std::string reason, std::string detail);

  ArfLimits limits_;
  SeenReports seen_;
  Publish publish_;
  Clock clock_;
  IntakeCounters counters_;
};

}  // namespace sluice::sluiced::arf
