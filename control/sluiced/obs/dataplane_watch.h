// The data planes as the metrics and the decision log see them: one client per configured data
// plane (its own connection, apart from the pusher's), asked for its counters every
// stats_interval and for its flows every poll_interval. A scrape never talks to a data plane:
// it renders the counters of the last poll, so a slow data plane or a flood of scrapes cannot
// stall the loop beyond one bounded request per interval. A data plane that fails is
// reconnected at the next poll.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane_client.h"

namespace sluice::sluiced::obs {

struct WatchedDataplane {
  std::string spec;
  std::unique_ptr<control::DataplaneClient> client;  // null until connected
  std::optional<control::DataplaneStats> stats;      // of the last successful request
  bool up = false;                                   // the last request answered
  std::string error;                                 // the last error, "" after a success
  uint64_t errors = 0;

  // The client, connecting when there is none; nullptr (and error set) when it cannot.
  control::DataplaneClient *connect(std::chrono::milliseconds timeout);
  // After a failed request: forget the connection, note the error.
  void failed(const std::string &what);
  // Asks for the counters now (remembered in `stats`).
  void refresh_stats(std::chrono::milliseconds timeout);
};

}  // namespace sluice::sluiced::obs
