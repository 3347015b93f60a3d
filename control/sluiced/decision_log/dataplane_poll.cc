#include "dataplane_poll.h"

namespace sluice::sluiced::decision_log {

PollResult poll_dataplane(control::DataplaneClient &dp, DecisionLog &log, LogSink &sink,
                          size_t flow_limit, Clock::time_point now) {
  PollResult r;
  std::vector<control::DataplaneFlow> flows;
  control::DataplaneStats stats;
  try {
    stats = dp.stats();
    flows = dp.flows(flow_limit);
  } catch (const std::exception &e) {
    r.error = e.what();
    return r;
  }
  r.flows = flows.size();
  r.stats = stats;
  const auto lines = log.observe(dp.describe(), flows, flows.size() < flow_limit, &stats, now);
  for (const auto &l : lines) sink.write(l);
  r.lines = lines.size();
  return r;
}

void write_summary(DecisionLog &log, LogSink &sink, Clock::time_point now) {
  if (auto l = log.summary(now)) sink.write(*l);
}

}  // namespace sluice::sluiced::decision_log
