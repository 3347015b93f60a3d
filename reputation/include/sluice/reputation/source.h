// Sources: what an operator lists in the sources file, and what a parser makes of one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/reputation/address.h"
#include "sluice/reputation/error.h"

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
// The largest list, in bytes, as stored and after decompression (sources-file key max_size).
inline constexpr uint64_t kDefaultMaxSize = uint64_t{1} << 30;  // 1 GiB

// Why a source was refused as a whole, so that a caller (the daemon's guards, metrics) can tell
// an empty list from a truncated download from a broken one. The message says it for operators.
class SourceError : public Error {
 public:
  enum class Kind {
    kUnreadable,  // cannot be opened or read, or changed while it was read
    kTooLarge,    // more than max_size bytes, as stored or after decompression
    kTruncated,   // a gzip stream that ends early: never a partial list
    kCorrupt,     // not a valid gzip stream (bad header, data or checksum, trailing garbage)
    kMalformed,   // more malformed lines than max_malformed
    kEmpty,       // no entry lists anything and the source is not allow_empty
  };
  SourceError(Kind kind, const std::string &what) : Error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};
std::string_view to_string(SourceError::Kind k);

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
  // a list larger than this (as stored or after decompression) is refused
  uint64_t max_size = kDefaultMaxSize;
  // a list that lists nothing is accepted (else it is refused: SourceError::Kind::kEmpty)
  bool allow_empty = false;

  // The weight an entry with return code `code` (0 = none) contributes.
  int32_t weight_for(uint32_t code) const {
    if (code != 0)
      if (auto it = code_weights.find(code); it != code_weights.end()) return it->second;
    return weight;
  }
  // What an address answering the return codes `codes` (distinct) contributes, as postscreen
  // counts a DNSBL reply against its site=filter*weight entries: each weight.CODE whose code is
  // answered counts once, and `weight` (the filter for every other code) counts once when some
  // answered code has no weight.CODE. One code: weight_for(code). See docs/sources.md.
  int64_t weight_for_codes(std::span<const uint32_t> codes) const {
    int64_t sum = 0;
    bool other = false;
    for (uint32_t c : codes) {
      if (auto it = code_weights.find(c); it != code_weights.end())
        sum += it->second;
      else
        other = true;
    }
    return other ? sum + weight : sum;
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
  // parsers leave it 0.
  uint8_t flags : 2 = 0;
  uint32_t codes = 0;  // rbldnsd: 1 + index in ParsedSource::code_sets when it answers several
                       // codes (then `code` is the lowest of them and `weight` their sum)
};
using EntryV4 = Entry<uint32_t>;
using EntryV6 = Entry<U128>;
static_assert(sizeof(EntryV4) <= 24 && sizeof(EntryV6) <= 48, "Entry stays small");

struct ParsedSource {
  std::vector<EntryV4> v4;
  std::vector<EntryV6> v6;
  std::vector<std::string> problems;  // "file:line: reason", one per malformed (skipped) line
  size_t lines = 0;                   // lines read
  size_t entries = 0;                 // lines that listed something (an entry or exclusion)
  bool gzip = false;                  // the file was gzip-compressed
  // rbldnsd zones: the return codes of entries that answer several (Entry::codes - 1 indexes
  // this); sorted, distinct.
  std::vector<std::vector<uint32_t>> code_sets;
  size_t malformed() const { return problems.size(); }
  // Entries that list something (not exclusions): 0 means the source lists nothing.
  size_t listed() const;
  // The return codes entry e answers: none for exclusions and non-rbldnsd formats.
  template <class A>
  std::vector<uint32_t> codes_of(const Entry<A> &e) const {
    if (e.exclude || e.code == 0) return {};
    if (e.codes != 0) return code_sets[e.codes - 1];
    return {e.code};
  }
};

// Parses a source's text; `file` names it in messages. Throws SourceError (kMalformed) when the
// malformed lines exceed cfg.max_malformed. No size, gzip or emptiness checks: parse_source_bytes.
ParsedSource parse_source_text(const SourceConfig &cfg, std::string_view text,
                               const std::string &file, uint16_t source_index = 0);

// A list file's bytes as read: gunzipped when they start with the gzip magic (cfg.max_size
// bounds them before and after), parsed, and refused when the result lists nothing unless
// cfg.allow_empty. Throws SourceError (see its kinds).
ParsedSource parse_source_bytes(const SourceConfig &cfg, std::string bytes, const std::string &file,
                                uint16_t source_index = 0);

// Reads cfg.path and parses it as parse_source_bytes does. Throws SourceError.
ParsedSource parse_source(const SourceConfig &cfg, uint16_t source_index = 0);

}  // namespace sluice::reputation
