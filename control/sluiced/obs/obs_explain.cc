#include "obs_explain.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <memory>

#include "sluice/reputation/address.h"

namespace sluice::sluiced::obs {
namespace {

namespace rep = reputation;

// The deciding entry of one source for `addr`: the most specific covering entry, an exclusion
// winning a tie (docs/sources.md). nullptr when none covers it.
template <class A, class E>
const E *deciding(const std::vector<E> &entries, A addr) {
  const E *best = nullptr;
  for (const auto &e : entries) {
    if (!rep::prefix_contains<A>(e.addr, e.len, addr)) continue;
    if (best == nullptr || e.len > best->len || (e.len == best->len && e.exclude && !best->exclude))
      best = &e;
  }
  return best;
}

struct Cache {
  uint64_t version = 0;
  std::map<std::string, std::optional<decision_log::SenderVerdict>> by_address;
};

}  // namespace

decision_log::Explain make_explainer(Daemon &d) {
  auto cache = std::make_shared<Cache>();
  return [&d, cache](const std::string &text) -> std::optional<decision_log::SenderVerdict> {
    const uint64_t version = d.table().checksum();
    if (version != cache->version || cache->by_address.size() >= kExplainCache) {
      cache->by_address.clear();
      cache->version = version;
    }
    if (auto it = cache->by_address.find(text); it != cache->by_address.end()) return it->second;
    std::optional<decision_log::SenderVerdict> out;
    const std::optional<rep::IpAddress> a = rep::parse_ip(text);
    if (a) {
      std::optional<sl_rep_value> v;
      if (a->family == 4) {
        v = d.table().lookup_v4(htonl(a->v4));
      } else {
        uint8_t bytes[16];
        rep::v6_to_bytes(a->v6, bytes);
        v = d.table().lookup_v6(bytes);
      }
      if (v) {
        decision_log::SenderVerdict sv;
        sv.score = v->score;
        sv.allow = (v->flags & SL_REP_ALLOW) != 0;
        sv.deny = (v->flags & SL_REP_DENY) != 0;
        const BuildInput &b = d.last_build();
        for (size_t i = 0; i < b.configs.size() && i < b.parsed.size(); ++i) {
          if (!b.parsed[i]) continue;
          bool listed = false;
          int32_t weight = 0;
          if (a->family == 4) {
            if (const auto *e = deciding(b.parsed[i]->v4, a->v4); e && !e->exclude) {
              listed = true;
              weight = e->weight;
            }
          } else if (const auto *e = deciding(b.parsed[i]->v6, a->v6); e && !e->exclude) {
            listed = true;
            weight = e->weight;
          }
          if (listed)
            sv.sources.push_back(
                {b.configs[i].name + (b.configs[i].allow ? " (allow)" : ""), weight});
        }
        out = std::move(sv);
      }
    }
    cache->by_address.emplace(text, out);
    return out;
  };
}

void add_contribution_metrics(metrics::Exposition &e, const BuildInput &build,
                              size_t contributions) {
  e.declare("sluiced_contribution_entries", metrics::MetricType::gauge,
            "Entries each provider contributed to the last build (the dynamic store's "
            "host set entries, the feed's), by contribution name");
  const size_t n = std::min(build.configs.size(), build.parsed.size());
  for (size_t i = n - std::min(n, contributions); i < n; ++i) {
    const auto &p = build.parsed[i];
    e.add("sluiced_contribution_entries", {{"contribution", build.configs[i].name}},
          static_cast<uint64_t>(p ? p->v4.size() + p->v6.size() : 0));
  }
}

std::vector<std::pair<std::string, metrics::MetricsRegistry::Collector>> &extra_collectors() {
  static std::vector<std::pair<std::string, metrics::MetricsRegistry::Collector>> c;
  return c;
}

void add_metrics_collector(std::string name, metrics::MetricsRegistry::Collector c) {
  extra_collectors().emplace_back(std::move(name), std::move(c));
}

}  // namespace sluice::sluiced::obs
