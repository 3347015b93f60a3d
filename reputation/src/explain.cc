#include "sluice/reputation/explain.h"

#include <algorithm>
#include <map>

#include "file_io.h"
#include "parse_util.h"

namespace sluice::reputation {
namespace {

template <class A>
void collect(const std::vector<Entry<A>> &entries, A addr, std::vector<const Entry<A> *> &out) {
  for (const auto &e : entries)
    if (prefix_contains<A>(e.addr, e.len, addr)) out.push_back(&e);
}

// Lines `wanted` of a file, trimmed.
std::map<uint32_t, std::string> lines_of(const SourceConfig &cfg,
                                         const std::vector<uint32_t> &wanted) {
  const std::string &path = cfg.path;
  std::map<uint32_t, std::string> out;
  if (wanted.empty()) return out;
  std::string text;
  try {
    const std::string owner = "source '" + cfg.name + "'";
    text = detail::decode_list(detail::read_list(path, cfg.max_size, owner), path, cfg.max_size,
                               owner);
  } catch (const Error &) {
    return out;  // the file went away since parsing: explain without the text
  }
  detail::for_each_line(text, [&](uint32_t n, std::string_view line) {
    if (std::find(wanted.begin(), wanted.end(), n) != wanted.end())
      out[n] = std::string(detail::trim(line));
  });
  return out;
}

template <class A>
ExplainSource explain_source(const SourceConfig &cfg, const ParsedSource &parsed,
                             const std::vector<Entry<A>> &entries, A addr) {
  ExplainSource s;
  s.name = cfg.name;
  s.type = cfg.type;
  s.path = cfg.path;
  s.allow = cfg.allow;
  std::vector<const Entry<A> *> hits;
  collect(entries, addr, hits);
  // Most specific first; at equal length an exclusion first, then the earliest line: the same
  // order in which compile() decides.
  std::sort(hits.begin(), hits.end(), [](const Entry<A> *a, const Entry<A> *b) {
    if (a->len != b->len) return a->len > b->len;
    if (a->exclude != b->exclude) return a->exclude;
    return a->line < b->line;
  });
  std::vector<uint32_t> wanted;
  for (auto *e : hits) wanted.push_back(e->line);
  auto text = lines_of(cfg, wanted);
  for (size_t i = 0; i < hits.size(); ++i) {
    const Entry<A> &e = *hits[i];
    ExplainEntry x;
    x.prefix = format_prefix<A>(e.addr, e.len);
    x.text = text.count(e.line) ? text[e.line] : std::string();
    x.line = e.line;
    x.code = e.code;
    x.codes = parsed.codes_of(e);
    x.weight = e.weight;
    x.exclude = e.exclude;
    x.flags = e.flags;
    x.decides = i == 0;
    s.entries.push_back(std::move(x));
  }
  if (!hits.empty() && !hits[0]->exclude) {
    s.listed = true;
    s.contribution = hits[0]->weight;
    s.flags = hits[0]->flags | (cfg.allow ? SL_REP_ALLOW : 0u);
  }
  return s;
}

}  // namespace

Explanation explain(const SourcesFile &sf, std::span<const ParsedSource> parsed,
                    const IpAddress &address) {
  Explanation x;
  x.address = address;
  for (size_t k = 0; k < sf.sources.size() && k < parsed.size(); ++k) {
    ExplainSource s =
        address.family == 4
            ? explain_source<uint32_t>(sf.sources[k], parsed[k], parsed[k].v4, address.v4)
            : explain_source<U128>(sf.sources[k], parsed[k], parsed[k].v6, address.v6);
    if (s.entries.empty()) continue;
    if (s.listed) {
      x.score += s.contribution;
      if (s.flags & SL_REP_ALLOW) x.allow = true;
      if (s.flags & SL_REP_DENY) x.deny = true;
    }
    x.sources.push_back(std::move(s));
  }
  x.value.score = static_cast<__s32>(std::clamp<int64_t>(x.score, INT32_MIN, INT32_MAX));
  x.value.flags = (x.allow ? SL_REP_ALLOW : 0u) | (x.deny ? SL_REP_DENY : 0u);
  return x;
}

uint32_t level_for(std::span<const int32_t> thresholds, int32_t score, uint32_t flags) {
  if (flags & SL_REP_DENY) return static_cast<uint32_t>(thresholds.size());
  if (flags & SL_REP_ALLOW) return 0;
  uint32_t level = 0;
  for (size_t k = 0; k < thresholds.size(); ++k)
    if (score >= thresholds[k]) level = static_cast<uint32_t>(k + 1);
  return level;
}

}  // namespace sluice::reputation
