// The reputation table in the XDP maps: IPv4/IPv6 host hashes, IPv4 prefixes as DIR-24-8,
// IPv6 prefixes as an exact-length hash (/64, /56, /48, /32) plus an LPM trie for every other
// length, double buffered.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/sl_shared.h"
#include "sluice/reputation/delta.h"
#include "sluice/reputation/snapshot.h"
#include "sluice/xdp/sl_xdp_layout.h"

namespace sluice::xdp {

class XdpObject;

// A compiled table as the data plane sees it (the reputation library's entry arrays): every
// entry carries its effective value, so a lookup takes the exact host if any, else the longest
// prefix.
using RepTable = reputation::TableEntries;

// DIR-24-8 (encoding: sl_xdp_layout.h) in memory, for tests and offline checks.
struct Dir24 {
  std::vector<uint32_t> tbl24;  // 2^24 entries
  std::vector<slx_tbl8_group> tbl8;
  std::vector<sl_rep_value> values;  // deduplicated
};

// Where write_dir24 writes: the three arrays of one set of maps (mapped), or a Dir24's.
// tbl24 has 2^24 entries; tbl8 and values are capacities.
struct Dir24Arrays {
  std::span<uint32_t> tbl24;
  std::span<slx_tbl8_group> tbl8;
  std::span<sl_rep_value> values;
};
struct Dir24Used {
  size_t tbl8 = 0;
  size_t values = 0;
};

// Writes the prefixes as DIR-24-8 over `out`: every tbl24 entry, the tbl8 groups and values used
// (the rest of those arrays is left as it was; nothing refers to it). Written in place into the
// maps, so a full load neither builds 64 MiB in memory nor copies it. Throws Error on a length
// over 32 before writing anything, and part-way when the table needs more tbl8 groups or
// distinct values than `out` holds.
Dir24Used write_dir24(std::span<const reputation::PrefixV4> prefixes, const Dir24Arrays &out);
// The same into memory sized as the maps are (the arrays trimmed to what is used).
Dir24 build_dir24(std::span<const reputation::PrefixV4> prefixes);
std::optional<sl_rep_value> dir24_lookup(const Dir24 &d, uint32_t addr_be);

// IPv6 prefixes as the maps hold them: /32, /48, /56 and /64 in the exact-length hash, every
// other length (/0 to /128) in the LPM trie (sl_xdp_layout.h). Every prefix is stored as it is,
// none expanded or skipped; the only limit is SLX_MAX_PREFIXES_V6 per map (Error beyond).
struct V6Prefixes {
  std::vector<std::pair<slx_v6_prefix_key, sl_rep_value>> hashed;
  std::vector<std::pair<slx_v6_lpm_key, slx_v6_lpm_value>> trie;
};
V6Prefixes split_v6(std::span<const reputation::PrefixV6> prefixes);

// File descriptors of the reputation maps (both sets) and the set selector.
struct RepMapFds {
  int active = -1;
  int host4[2] = {-1, -1};
  int host6[2] = {-1, -1};
  int tbl24[2] = {-1, -1};
  int tbl8[2] = {-1, -1};
  int pfxval[2] = {-1, -1};
  int pfx6[2] = {-1, -1};
  int lpm6[2] = {-1, -1};
};

// Borrowed from a loaded object (valid while it lives).
RepMapFds rep_map_fds(const XdpObject &obj);

// Opened from the pins of a running instance; closes them on destruction.
class PinnedRepMaps {
 public:
  explicit PinnedRepMaps(const std::string &pin_dir);
  ~PinnedRepMaps();
  PinnedRepMaps(const PinnedRepMaps &) = delete;
  PinnedRepMaps &operator=(const PinnedRepMaps &) = delete;
  const RepMapFds &fds() const { return fds_; }

 private:
  RepMapFds fds_;
};

struct ReplaceStats {
  uint32_t active_set = 0;
  size_t entries = 0;  // entries of the table now loaded (set by the instance operations)
  bool whole = false;  // the inactive set was written whole (not only a difference)
};

// A program that read the selector just before a flip may still be reading the set the flip made
// inactive (XDP programs run to completion within microseconds): that set is written again only
// this long after the flip.
inline constexpr std::chrono::milliseconds kFlipSettle{10};

// Who waits out kFlipSettle after a replacement's flip. kAfterFlip: the replacement itself, before
// it returns, so that its caller may replace again at once. kByCaller: nobody here; the caller
// records when the flip happened and waits until kFlipSettle after it before its next replacement
// (instance_ops does, across processes), so the new table is acknowledged as soon as it is read.
enum class Settle { kAfterFlip, kByCaller };

// Full replacement: fills the inactive set, then flips the selector (and counts the generation
// up by one), so a reader (one SYN) sees either the whole old table or the whole new one.
// Throws Error (the active set is untouched; the inactive one may be half written).
ReplaceStats replace_table(const RepMapFds &fds, const RepTable &table,
                           Settle settle = Settle::kAfterFlip);

// The inactive set written whole to hold `table`, without a flip: the data plane goes on reading
// the active set. For a caller that waited out kFlipSettle since the last flip and wants the
// inactive set to hold a known table (the standby) before the next change. Throws Error (the
// inactive set may be half written).
void write_inactive_set(const RepMapFds &fds, const RepTable &table);

// The same replacement when the inactive set is known to hold `standby` (the table before the
// active one): only the difference is written (hosts removed, added or changed; the prefix maps
// only if their prefixes changed), so a small change to a large table costs a small write.
// `changes`, when given, is diff(standby, next_table) already known (reputation::diff_within),
// and the tables are not walked to find it. Throws Error (the active set is untouched; the
// inactive one may be half written, so the next replacement must be a full one).
ReplaceStats update_table(const RepMapFds &fds, const reputation::Snapshot &standby,
                          const reputation::Snapshot &next_table,
                          Settle settle = Settle::kAfterFlip,
                          const reputation::Delta *changes = nullptr);

// The set the data plane reads now (0 or 1).
uint32_t active_set(const RepMapFds &fds);
// The table's generation: how many replacements rep_active has seen (its low bit is the set).
// Every load and delta adds one; live flows follow it (docs/packet-core.md).
uint32_t table_generation(const RepMapFds &fds);

}  // namespace sluice::xdp
