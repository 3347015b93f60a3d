// Compiling sources into the table.
//
// Score model (docs/sources.md): every source contributes at most once to an address, as it
// would answer a DNSBL query for it: its most specific entry containing the address decides
// (at equal specificity an exclusion wins, then the earliest line). An exclusion that decides
// means "not listed by this source". A score is the sum of the deciding entries' weights over
// all sources; the allow flag is set when any allow source lists the address, or when a source's
// deciding entry carries SL_REP_ALLOW; the deny flag (SL_REP_DENY) likewise when a source's
// deciding entry carries it (sluiced's dynamic entries). Both flags can be set at once; the
// packet core lets the deny win.
//
// The compiled table holds one entry per distinct listed prefix (hosts are /32 and /128), each
// with the value of the addresses it covers that no more specific entry covers. Entries that
// would give the same answer as the entry above them (or score 0 without flags when nothing is
// above) are left out, so a lookup that finds nothing means score 0, no flags.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "sluice/reputation/delta.h"
#include "sluice/reputation/snapshot.h"
#include "sluice/reputation/source.h"
#include "sluice/reputation/sources_file.h"

namespace sluice::reputation {

// sources[i] entries carry source index i; configs[i] says whether source i is an allowlist.
Snapshot compile(std::span<const ParsedSource> sources, std::span<const SourceConfig> configs,
                 uint64_t created_unix = 0);

// Recompiling in part, for a small change to a large table (one dynamic entry beside a list of
// a million): a changed entry can only change the table at its own prefix and inside it, so
// only those regions are walked again, each with the entries that enclose it.
//
// The prefixes (host order, host bits clear) of every entry that differs between two versions
// of the sources.
struct ChangedPrefixes {
  std::vector<std::pair<uint32_t, uint8_t>> v4;
  std::vector<std::pair<U128, uint8_t>> v6;
  size_t size() const { return v4.size() + v6.size(); }
};

// Adds to `out` the prefix of every entry that is in exactly one of `before` and `after`,
// entries compared on what compile() reads of them (address, length, exclusion, line, weight,
// flags; not `source`).
void add_changed_prefixes(const ParsedSource &before, const ParsedSource &after,
                          ChangedPrefixes &out);

// The delta that takes `current` to compile(sources, configs, current.created_unix()), given
// that `current` is compile() of sources that differ from `sources` only in entries whose
// prefixes `changed` lists (the same number of sources, the same allow flags). Source i is
// *sources[i]; entries' `source` fields are not read. Costs one pass over every source's
// entries (no copy, no sort) plus a walk of the changed regions.
Delta recompile(const Snapshot &current, std::span<const ParsedSource *const> sources,
                std::span<const SourceConfig> configs, const ChangedPrefixes &changed);

struct SourceSummary {
  std::string name;
  SourceType type;
  std::string path;
  size_t lines = 0;
  size_t entries = 0;
  size_t prefixes_v4 = 0;  // after splitting ranges
  size_t prefixes_v6 = 0;
  std::vector<std::string> problems;  // "file:line: reason" per malformed line
};

struct BuildResult {
  Snapshot table;
  std::vector<SourceSummary> sources;
  double parse_seconds = 0;
  double compile_seconds = 0;
};

// Parses every source (in parallel, up to the number of CPUs) and compiles them. Throws Error
// when a source cannot be read or has too many malformed lines.
BuildResult build(const SourcesFile &sources);

// Reads and parses every source of a sources file (what build() and explain use).
std::vector<ParsedSource> parse_all(const SourcesFile &sources);

}  // namespace sluice::reputation
