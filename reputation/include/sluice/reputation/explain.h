// Explain: why an address has the score it has. Works from the sources (not the compiled
// table): every entry of every source that covers the address, which one decides for its
// source, each source's contribution, the total and the level under given thresholds.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/sl_shared.h"
#include "sluice/reputation/address.h"
#include "sluice/reputation/source.h"
#include "sluice/reputation/sources_file.h"

namespace sluice::reputation {

struct ExplainEntry {
  std::string prefix;  // the listed prefix that covers the address ("192.0.2.0/24")
  std::string text;    // the source line, trimmed
  uint32_t line = 0;
  uint32_t code = 0;            // rbldnsd return code (the lowest when several), 0 if none
  std::vector<uint32_t> codes;  // every rbldnsd return code it answers, ascending; empty if none
  int32_t weight = 0;
  bool exclude = false;
  uint32_t flags = 0;    // the entry's own SL_REP_ALLOW | SL_REP_DENY (Entry::flags)
  bool decides = false;  // the most specific entry of its source: the one that counts
};

struct ExplainSource {
  std::string name;
  SourceType type;
  std::string path;
  bool allow = false;
  bool listed = false;                // the deciding entry lists the address (not an exclusion)
  int32_t contribution = 0;           // its weight when listed
  uint32_t flags = 0;                 // the flags it contributes when listed
  std::vector<ExplainEntry> entries;  // most specific first
};

struct Explanation {
  IpAddress address;
  std::vector<ExplainSource> sources;  // only sources with an entry covering the address
  int64_t score = 0;
  bool allow = false;
  bool deny = false;
  sl_rep_value value{0, 0};  // what the compiled table answers
};

Explanation explain(const SourcesFile &sf, std::span<const ParsedSource> parsed,
                    const IpAddress &address);

// The level under thresholds, as the packet core decides (sl_level_for): thresholds[k] opens
// level k+1 (non-decreasing); the level is the highest whose threshold the score reaches, 0 if
// none, and always 0 with the allow flag; with the deny flag the highest level
// (thresholds.size()) whatever the score, even with the allow flag.
uint32_t level_for(std::span<const int32_t> thresholds, int32_t score, uint32_t flags);

}  // namespace sluice::reputation
