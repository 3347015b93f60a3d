// From the raw entries of an rbldnsd zone (one per line, ranges split into prefixes) to what
// rbldnsd answers, as one entry per prefix, so that the compiler's rule (a source's most
// specific entry covering an address decides) gives rbldnsd's answer for every address:
//
// - ip4set: keys at four levels (/32, /24, /16, /8; a prefix's length says its level, see
//   ip4set_keys). The most specific level with a key for the address decides; there, an
//   exclusion wins, else the address answers every distinct code listed at that key. Overlapping
//   prefixes of one level are split into disjoint pieces, each with the union of their codes.
// - ip4trie, ip6trie: longest prefix match; a prefix listed twice keeps its first line, an
//   exclusion included (rbldnsd warns "duplicated entry" and ignores the later lines).
// - ip4tset, ip6tset: one value for the whole zone (its first ":A:TXT" line); ip6tset excludes
//   single addresses of its /64s.
//
// An entry answering several codes weighs SourceConfig::weight_for_codes (docs/sources.md).
#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <span>

#include "parse_util.h"
#include "rbldnsd_forms.h"

namespace sluice::reputation::detail {
namespace {

int32_t clamp32(int64_t v) {
  return static_cast<int32_t>(std::clamp<int64_t>(v, INT32_MIN, INT32_MAX));
}

template <class A>
bool key_less(const Entry<A> &a, const Entry<A> &b) {
  if (a.addr != b.addr) return a.addr < b.addr;
  if (a.len != b.len) return a.len < b.len;
  return a.line < b.line;
}

// Tries: the first line of each prefix.
template <class A>
void first_wins(std::vector<Entry<A>> &v, const SourceConfig &cfg) {
  std::sort(v.begin(), v.end(), key_less<A>);
  v.erase(std::unique(v.begin(), v.end(),
                      [](const Entry<A> &a, const Entry<A> &b) {
                        return a.addr == b.addr && a.len == b.len;
                      }),
          v.end());
  for (auto &e : v) e.weight = cfg.weight_for(e.code);
}

// Tsets: one code for every entry; duplicates once.
template <class A>
void one_value(std::vector<Entry<A>> &v, const SourceConfig &cfg, uint32_t code) {
  std::sort(v.begin(), v.end(), key_less<A>);
  v.erase(std::unique(v.begin(), v.end(),
                      [](const Entry<A> &a, const Entry<A> &b) {
                        return a.addr == b.addr && a.len == b.len;
                      }),
          v.end());
  for (auto &e : v) {
    e.code = code;
    e.weight = cfg.weight_for(code);
  }
}

int ip4set_level(int len) {
  return len > 24 ? 0 : len > 16 ? 1 : len > 8 ? 2 : 3;
}

// ip4set: per level, the disjoint pieces of the union of its prefixes, each with every code of
// the prefixes covering it, or an exclusion when one of them is. Entries that overlap no other
// entry of their level (most of them) are their own piece; only clusters of overlapping ones
// are swept.
class Ip4setLevels {
 public:
  Ip4setLevels(ParsedSource &out, const SourceConfig &cfg) : out_(out), cfg_(cfg) {}

  void run(std::vector<EntryV4> &v) {
    std::array<std::vector<EntryV4>, 4> levels;
    for (const auto &e : v) levels[static_cast<size_t>(ip4set_level(e.len))].push_back(e);
    result_.reserve(v.size());
    for (auto &level : levels) {
      std::sort(level.begin(), level.end(), key_less<uint32_t>);
      size_t i = 0;
      while (i < level.size()) {
        uint64_t end = prefix_last<uint32_t>(level[i].addr, level[i].len);
        size_t j = i + 1;
        for (; j < level.size() && level[j].addr <= end; ++j)
          end = std::max<uint64_t>(end, prefix_last<uint32_t>(level[j].addr, level[j].len));
        if (j == i + 1)
          alone(level[i]);
        else
          sweep(std::span<const EntryV4>(level).subspan(i, j - i));
        i = j;
      }
    }
    std::sort(result_.begin(), result_.end(), key_less<uint32_t>);
    v = std::move(result_);
  }

 private:
  void alone(EntryV4 e) {
    if (e.exclude) {
      e.code = 0;
      e.weight = 0;
    } else {
      e.weight = cfg_.weight_for(e.code);
    }
    result_.push_back(e);
  }

  void sweep(std::span<const EntryV4> cluster) {
    struct Event {
      uint64_t at;
      bool open;
      const EntryV4 *e;
    };
    std::vector<Event> events;
    events.reserve(2 * cluster.size());
    for (const auto &e : cluster) {
      events.push_back({e.addr, true, &e});
      events.push_back({uint64_t{prefix_last<uint32_t>(e.addr, e.len)} + 1, false, &e});
    }
    std::sort(events.begin(), events.end(),
              [](const Event &a, const Event &b) { return a.at < b.at; });
    std::map<uint32_t, size_t> codes;  // code -> how many open entries list it
    std::multiset<uint32_t> lines, excl_lines;
    size_t i = 0;
    while (i < events.size()) {
      const uint64_t at = events[i].at;
      for (; i < events.size() && events[i].at == at; ++i) {
        const EntryV4 &e = *events[i].e;
        if (events[i].open) {
          if (e.exclude) {
            excl_lines.insert(e.line);
          } else {
            ++codes[e.code];
            lines.insert(e.line);
          }
        } else if (e.exclude) {
          excl_lines.erase(excl_lines.find(e.line));
        } else {
          if (--codes[e.code] == 0) codes.erase(e.code);
          lines.erase(lines.find(e.line));
        }
      }
      if (i == events.size() || (codes.empty() && excl_lines.empty())) continue;
      // The piece [at, next - 1] carries the open entries' answer.
      const uint64_t next = events[i].at;
      EntryV4 piece = *events[i - 1].e;
      piece.codes = 0;
      if (!excl_lines.empty()) {
        piece.exclude = true;
        piece.line = *excl_lines.begin();
        piece.code = 0;
        piece.weight = 0;
      } else {
        std::vector<uint32_t> set;
        for (auto &[c, n] : codes) set.push_back(c);
        piece.exclude = false;
        piece.line = *lines.begin();
        piece.code = set.front();
        piece.weight = clamp32(cfg_.weight_for_codes(set));
        if (set.size() > 1) {
          auto [it, fresh] =
              set_index_.try_emplace(set, static_cast<uint32_t>(out_.code_sets.size()));
          if (fresh) out_.code_sets.push_back(set);
          piece.codes = it->second + 1;
        }
      }
      range_to_prefixes<uint32_t>(static_cast<uint32_t>(at), static_cast<uint32_t>(next - 1),
                                  [&](uint32_t p, int len) {
                                    EntryV4 e = piece;
                                    e.addr = p;
                                    e.len = static_cast<uint8_t>(len);
                                    result_.push_back(e);
                                  });
    }
  }

  ParsedSource &out_;
  const SourceConfig &cfg_;
  std::vector<EntryV4> result_;
  std::map<std::vector<uint32_t>, uint32_t> set_index_;
};

}  // namespace

void resolve_rbldnsd(Sink &sink, uint32_t tset_code) {
  const SourceConfig &cfg = sink.config();
  ParsedSource &out = sink.parsed();
  switch (cfg.type) {
    case SourceType::kRbldnsdIp4set:
      Ip4setLevels(out, cfg).run(out.v4);
      break;
    case SourceType::kRbldnsdIp4trie:
      first_wins(out.v4, cfg);
      break;
    case SourceType::kRbldnsdIp6trie:
      first_wins(out.v6, cfg);
      break;
    case SourceType::kRbldnsdIp4tset:
      one_value(out.v4, cfg, tset_code);
      break;
    case SourceType::kRbldnsdIp6tset:
      one_value(out.v6, cfg, tset_code);
      break;
    default:
      break;
  }
}

}  // namespace sluice::reputation::detail
