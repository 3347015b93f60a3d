#include "xdp_client.h"

#include <arpa/inet.h>

#include "sluice/xdp/attach.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/instance_ops.h"
#include "sluice/xdp/sl_xdp_layout.h"

namespace sluice::control {
namespace {

// Every loader error becomes the control plane's error type, message unchanged.
template <typename F>
auto guarded(const std::string &who, F &&f) {
  try {
    return f();
  } catch (const xdp::Error &e) {
    throw DataplaneError(who + ": " + e.what());
  }
}

std::string addr_text(const uint8_t *a, uint8_t family) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == SL_AF_INET ? AF_INET : AF_INET6, a, buf, sizeof(buf));
  return buf;
}

// Object files are always linked, so this registers the scheme in every binary with the client.
const bool g_registered = [] {
  register_xdp_dataplane();
  return true;
}();

}  // namespace

void register_xdp_dataplane() {
  register_dataplane_scheme("xdp", [](const std::string &arg) -> std::unique_ptr<DataplaneClient> {
    return std::make_unique<XdpClient>(arg);
  });
}

XdpClient::XdpClient(std::string name) : name_(std::move(name)) {
  guarded(describe(), [&] {
    if (!xdp::instance_exists(name_))
      throw xdp::Error("no XDP instance named '" + name_ + "' (attach it with sluice-xdp attach)");
    return 0;
  });
}

void XdpClient::load_table(const std::string &snapshot_path) {
  guarded(describe(), [&] { return xdp::load_snapshot(name_, snapshot_path); });
}

void XdpClient::apply_delta(const std::string &delta_path) {
  guarded(describe(), [&] { return xdp::apply_delta_file(name_, delta_path); });
}

void XdpClient::set_policy(const std::string &policy_path) {
  guarded(describe(), [&] { return xdp::set_policy_file(name_, policy_path); });
}

DataplaneStats XdpClient::stats() {
  return guarded(describe(), [&] {
    const xdp::Status s = xdp::status(name_);
    const sl_policy pol = xdp::get_policy(name_);
    DataplaneStats out;
    out.outside.rx = s.stats.packets[SL_DIR_FROM_OUTSIDE];
    out.inside.rx = s.stats.packets[SL_DIR_FROM_INSIDE];
    out.malformed = s.stats.malformed;
    out.lookups = s.stats.lookups;
    out.flows = s.flows;
    out.flow_capacity = SLX_MAX_FLOWS;
    out.flow_evictions = s.stats.flow_evictions;
    out.table_entries = xdp::table_entries(name_);
    out.policy_generation = s.policy_generation;
    const uint32_t n = pol.nlevels > SL_MAX_LEVELS ? SL_MAX_LEVELS : pol.nlevels;
    for (uint32_t l = 0; l < n; l++) {
      const auto &ls = s.stats.level[l];
      DataplaneLevelCounters c;
      c.level = l;
      c.threshold = pol.thresholds[l];
      c.syns = ls.syns;
      c.flows = ls.flows;
      c.rewritten = ls.rewritten;
      c.delayed = ls.delayed;
      c.dropped = ls.dropped;
      c.rst_sent = ls.rst_sent;
      out.outside.dropped += ls.dropped;
      out.levels.push_back(c);
    }
    return out;
  });
}

std::vector<DataplaneFlow> XdpClient::flows(size_t limit) {
  return guarded(describe(), [&] {
    std::vector<DataplaneFlow> out;
    for (const auto &[k, st] : xdp::list_flows(name_, limit)) {
      DataplaneFlow f;
      f.client = addr_text(k.client, k.family);
      f.server = addr_text(k.server, k.family);
      f.client_port = ntohs(k.client_port);
      f.server_port = ntohs(k.server_port);
      f.level = st.level;
      f.flags = st.flags;
      f.created_ns = st.created_ns;
      f.last_seen_ns = st.last_seen_ns;
      out.push_back(f);
    }
    return out;
  });
}

}  // namespace sluice::control
