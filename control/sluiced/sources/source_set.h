// The list sources of the sources file, each with its last good version.
//
// A source is read by copying its file once into the state directory
// (STATE/sources/NAME.new: a list replaced mid-read is read whole or read again on its next
// event) and parsing the copy with the reputation library (gzip and every format as
// `sluicectl table build` reads them). The version then passes the guards (guard.h); an
// accepted one is renamed to STATE/sources/NAME.good, which is what a restarted sluiced
// starts from, whether or not the list is still good then. A refused one is deleted; the live
// version stays and the refusal is logged, counted and shown by `sources list`.
//
// A source is re-read only when its file's identity (device, inode, size, mtime) differs from
// the last read, unless forced (SIGHUP, `sources accept`).
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/sluiced_config.h"
#include "daemon/status.h"
#include "sluice/reputation/sources_file.h"
#include "sources/guard.h"

namespace sluice::sluiced {

struct FileIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity &) const = default;
};

class SourceSet {
 public:
  // `cfg` (sources file, state_dir, guard settings) must outlive the set.
  explicit SourceSet(const SluicedConfig &cfg);

  // Reads the sources file. Sources added or whose settings changed lose their live version
  // unless the last good copy in the state directory was made with the same type (restored);
  // removed ones are dropped. Throws sluice::Error for a bad sources file (nothing changes).
  // Returns true when the set of sources or their settings changed.
  bool load_config();

  // Re-reads one source if its file changed (or `force`); `accept_once` turns the guards off
  // for this read. Returns the guard's decision when the file was read, nullopt when it was
  // not (unchanged). Throws std::out_of_range for an unknown name.
  std::optional<GuardDecision> refresh(const std::string &name, bool force = false,
                                       bool accept_once = false);
  // refresh() of every source; true when some live version changed.
  bool refresh_all(bool force = false);
  // Whether the last refresh()/refresh_all()/load_config() changed a live version; reset by
  // take_changed().
  bool take_changed();

  bool has(const std::string &name) const { return states_.count(name) != 0; }
  const std::string &sources_path() const { return cfg_.sources; }
  // The files to watch: every source's path (the sources file is watched by the caller).
  std::vector<std::string> list_paths() const;
  // The source names whose path is `path`.
  std::vector<std::string> sources_at(const std::string &path) const;

  struct Live {
    const reputation::SourceConfig *config;
    std::shared_ptr<const reputation::ParsedSource> parsed;  // null: no good version
  };
  std::vector<Live> live() const;  // in sources-file order

  std::vector<SourceStatus> status(WallClock::time_point now) const;

  std::function<void(const SourceEvent &)> on_event;  // every accept and refusal

 private:
  struct State {
    reputation::SourceConfig config;
    std::shared_ptr<const reputation::ParsedSource> parsed;
    std::optional<FileIdentity> last_read;  // identity of the file last read (good or not)
    std::optional<WallClock::time_point> live_mtime, read_at, rejected_at;
    uint64_t rejections = 0;
    std::string last_rejection;
    bool rejected = false;  // the last read was refused
  };
  std::string store_path(const std::string &name, const char *suffix) const;
  void restore(State &st);
  GuardDecision read(State &st, bool accept_once);

  const SluicedConfig &cfg_;
  std::vector<std::string> order_;
  std::map<std::string, State> states_;
  bool changed_ = false;
};

// Entries of a parsed version as the guards count them: prefixes after splitting ranges,
// exclusions included.
size_t entry_count(const reputation::ParsedSource &p);

}  // namespace sluice::sluiced
