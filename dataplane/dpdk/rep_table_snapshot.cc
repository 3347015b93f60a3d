#include "rep_table_snapshot.h"

#include <algorithm>

namespace sluice::dataplane {

RepTableInput rep_input_from_snapshot(const reputation::Snapshot &snap) {
  RepTableInput in;
  in.hosts_v4.reserve(snap.hosts_v4().size());
  for (const auto &h : snap.hosts_v4()) in.hosts_v4.emplace_back(h.addr_be, h.value);
  in.prefixes_v4.reserve(snap.prefixes_v4().size());
  for (const auto &p : snap.prefixes_v4()) in.prefixes_v4.push_back({p.addr_be, p.len, p.value});
  in.hosts_v6.reserve(snap.hosts_v6().size());
  for (const auto &h : snap.hosts_v6()) {
    RepHostV6 x{};
    std::copy(h.addr, h.addr + 16, x.addr.begin());
    x.value = h.value;
    in.hosts_v6.push_back(x);
  }
  in.prefixes_v6.reserve(snap.prefixes_v6().size());
  for (const auto &p : snap.prefixes_v6()) {
    RepPrefixV6 x{};
    std::copy(p.addr, p.addr + 16, x.addr.begin());
    x.len = p.len;
    x.value = p.value;
    in.prefixes_v6.push_back(x);
  }
  return in;
}

}  // namespace sluice::dataplane
