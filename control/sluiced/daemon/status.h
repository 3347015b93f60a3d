// What sluiced knows about its sources, data planes and table: read by `status`, `sources list`
// and by the metrics exporter (Daemon::status()), and the events an Observer receives as they
// happen (a source accepted or rejected, a push done or failed, a table built).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/provider.h"

namespace sluice::sluiced {

enum class SourceState {
  kOk,        // its current file is the live version
  kRejected,  // its current file was refused; the last good version stays live
  kMissing,   // never read successfully (no last good version): contributes nothing
};
const char *to_string(SourceState s);

struct SourceStatus {
  std::string name, type, path;
  SourceState state = SourceState::kMissing;
  size_t entries = 0;  // of the live (last good) version: prefixes after splitting ranges
  std::optional<WallClock::time_point> live_mtime;  // the live version's file time (its age)
  std::optional<WallClock::time_point> last_read;   // last time the file was read
  bool stale = false;                               // older than its max_age
  std::chrono::milliseconds max_age{0};             // 0: no liveness check
  double max_shrink = 50;                           // percent
  uint64_t rejections = 0;                          // since start
  std::string last_rejection;                       // reason, "" if none
  std::optional<WallClock::time_point> last_rejection_at;
};

struct DataplaneStatus {
  std::string spec;
  bool reachable = false;
  bool in_sync = false;  // runs the table sluiced last built
  uint64_t version = 0;  // the data plane's table version as last seen (0 unknown)
  uint64_t pushes = 0, full_loads = 0, failures = 0;  // since start
  std::optional<WallClock::time_point> last_push;     // last successful push
  double last_push_seconds = 0;                       // how long it took
  std::string last_error;                             // "" after a success
  uint32_t policy_generation = 0;                     // as last set by sluiced (0: none)
};

struct TableStatus {
  uint64_t version = 0;  // checksum of the table image: what in-sync data planes report
  size_t entries = 0;
  std::optional<WallClock::time_point> built;  // last build that changed it
  uint64_t builds = 0;                         // since start
  size_t contributions = 0;                    // provider contributions in the last build
};

struct DaemonStatus {
  TableStatus table;
  std::vector<SourceStatus> sources;
  std::vector<DataplaneStatus> dataplanes;
};

struct SourceEvent {
  std::string name;
  bool accepted = false;  // false: rejected
  bool forced = false;    // accepted by `sources accept`
  std::string reason;     // why it was rejected
  size_t entries = 0;     // of the version read
};

struct PushEvent {
  std::string dataplane;
  bool ok = false;
  bool full = false;  // a full load (else a delta)
  double seconds = 0;
  uint64_t version = 0;  // the table version pushed
  size_t changes = 0;    // entries in the delta, or in the table for a full load
  std::string error;
};

struct TableEvent {
  uint64_t version = 0;
  size_t entries = 0;
  size_t changes = 0;  // entries changed since the previous table
  double compile_seconds = 0;
};

// Called on the event loop's thread; must not block.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_source(const SourceEvent &) {}
  virtual void on_push(const PushEvent &) {}
  virtual void on_table(const TableEvent &) {}
};

}  // namespace sluice::sluiced
