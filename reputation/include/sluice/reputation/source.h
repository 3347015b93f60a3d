// Sources: what an operator lists in the sources file, and what a parser makes of one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/reputation/address.h"

namespace sluice::reputation {

enum class SourceType {
  kRbldnsdIp4set,   // rbldnsd-ip4set
  kRbldnsdIp4tset,  // rbldnsd-ip4tset
  kRbldnsdIp4trie,  // rbldnsd-ip4trie
  kRbldnsdIp6trie,  // rbldnsd-ip6trie
  kRbldnsdIp6tset,  // rbldnsd-ip6tset
  kDrop,            // drop: Spamhaus DROP text ("CIDR ; SBLnnn")
  kDropJson,        // drop-json: Spamhaus DROP JSON lines
  kList,            // list: ADDR|RANGE|PREFIX[,WEIGHT[,COMMENT]]
};

std::string_view to_string(SourceType t);
std::optional<SourceType> source_type_from_string(std::string_view name);
bool is_rbldnsd(SourceType t);

inline constexpr size_t kDefaultMaxMalformed = 100;

struct SourceConfig {
  std::string name;  // the section name
  SourceType type = SourceType::kList;
  std::string path;  // as resolved (relative paths are relative to the sources file)
  int32_t weight = 1;
  bool allow = false;  // an allowlist: entries get SL_REP_ALLOW
  // rbldnsd zones: weight per return code (the A value, host order), e.g. 127.0.0.4 -> 5.
  std::map<uint32_t, int32_t> code_weights;
  // more malformed lines than this fail the build
  size_t max_malformed = kDefaultMaxMalformed;

  // The weight an entry with return code `code` (0 = none) contributes.
  int32_t weight_for(uint32_t code) const {
    if (code != 0)
      if (auto it = code_weights.find(code); it != code_weights.end()) return it->second;
    return weight;
  }
};

// One listed prefix (a range is split into the prefixes that cover it exactly).
// Specificity is len; `exclude` removes the prefix from its source (rbldnsd "!").
template <class A>
struct Entry {
  A addr;           // host order, host bits clear
  int32_t weight;   // resolved: per-entry weight, else return-code weight, else source weight
  uint32_t line;    // 1-based line in the source file
  uint32_t code;    // rbldnsd return code (A value, host order); 0 for other formats
  uint16_t source;  // index of the source in the build
  uint8_t len;
  bool exclude : 1;
  // SL_REP_ALLOW | SL_REP_DENY this entry sets when it decides for its source (per-entry flags,
  // as sluiced's dynamic entries have; an allow source's SL_REP_ALLOW applies on top). The
  // parsers leave it 0. Bit fields keep an entry at 20 bytes (IPv4) and 32 (IPv6).
  uint8_t flags : 2 = 0;
};
using EntryV4 = Entry<uint32_t>;
using EntryV6 = Entry<U128>;
static_assert(sizeof(EntryV4) == 20 && sizeof(EntryV6) == 32, "Entry stays small");

struct ParsedSource {
  std::vector<EntryV4> v4;
  std::vector<EntryV6> v6;
  std::vector<std::string> problems;  // "file:line: reason", one per malformed (skipped) line
  size_t lines = 0;                   // lines read
  size_t entries = 0;                 // lines that listed something (an entry or exclusion)
  size_t malformed() const { return problems.size(); }
};

// Parses a source's text; `file` names it in messages. Throws Error when the malformed lines
// exceed cfg.max_malformed.
ParsedSource parse_source_text(const SourceConfig &cfg, std::string_view text,
                               const std::string &file, uint16_t source_index = 0);

// Reads cfg.path and parses it; throws Error when it cannot be read.
ParsedSource parse_source(const SourceConfig &cfg, uint16_t source_index = 0);

}  // namespace sluice::reputation
