// One decision-log poll of one data plane: its flows and stats through the DataplaneClient,
// into the DecisionLog, out to the sink. The daemon calls it per data plane on its
// [decision_log] poll_interval timer.
#pragma once

#include <optional>
#include <string>

#include "dataplane_client.h"
#include "decision_log.h"
#include "sink.h"

namespace sluice::sluiced::decision_log {

struct PollResult {
  size_t flows = 0;   // flows the data plane returned
  size_t lines = 0;   // lines written
  std::string error;  // the data plane's error, or "" (nothing logged for it then)
  std::optional<control::DataplaneStats> stats;  // the counters read with the flows
};

// Asks for at most `flow_limit` flows; a reply of exactly that many is treated as cut (the
// memory of logged flows is then not pruned). Never throws for a data plane's error.
PollResult poll_dataplane(control::DataplaneClient &dp, DecisionLog &log, LogSink &sink,
                          size_t flow_limit, Clock::time_point now);

// Writes the "N lines suppressed" line when one is due.
void write_summary(DecisionLog &log, LogSink &sink, Clock::time_point now);

}  // namespace sluice::sluiced::decision_log
