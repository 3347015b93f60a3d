#include "xdp_client.h"

#include <arpa/inet.h>

#include <exception>

#include "sluice/xdp/attach.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/heavy_maps.h"
#include "sluice/xdp/instance_ops.h"
#include "sluice/xdp/stats_model.h"

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

namespace {

// Every entry of a table is loaded or the load fails (nothing is skipped), so there is no note.
TableChange table_change(const xdp::ReplaceStats &st) {
  TableChange c;
  c.entries = st.entries;
  return c;
}

}  // namespace

XdpClient::~XdpClient() {
  if (standby_.joinable()) standby_.join();
}

TableChange XdpClient::load_table(const std::string &snapshot_path) {
  if (standby_.joinable()) standby_.join();
  const TableChange c =
      guarded(describe(), [&] { return table_change(xdp::load_snapshot(name_, snapshot_path)); });
  standby_ = std::thread([name = name_] {
    try {
      xdp::prepare_standby(name);
    } catch (const std::exception &) {
      // Only a saving lost: the next delta writes the inactive set whole, as without it.
    }
  });
  return c;
}

TableChange XdpClient::apply_delta(const std::string &delta_path) {
  return guarded(describe(),
                 [&] { return table_change(xdp::apply_delta_file(name_, delta_path)); });
}

uint32_t XdpClient::set_policy(const std::string &policy_path) {
  return guarded(describe(), [&] { return xdp::set_policy_file(name_, policy_path); });
}

DataplaneStats XdpClient::stats() {
  return guarded(describe(), [&] { return xdp::dataplane_stats(name_); });
}

RunningVersions XdpClient::versions() {
  return guarded(describe(), [&] { return xdp::running_versions(name_); });
}

std::vector<DataplaneFlow> XdpClient::flows(size_t limit) {
  return guarded(describe(), [&] {
    std::vector<DataplaneFlow> out;
    for (const auto &[k, st] : xdp::list_flows(name_, limit)) {
      DataplaneFlow f;
      f.client = addr_text(k.client, k.family);
      f.outbound = k.outbound != 0;
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

std::vector<HeavySender> XdpClient::heavy_senders(size_t limit) {
  return guarded(describe(), [&] {
    std::vector<HeavySender> out;
    for (const heavy::HeavyCount &c : xdp::heavy_senders(name_, limit))
      out.push_back({heavy::prefix_text(c.key), c.syns, heavy::kWindowNs});
    return out;
  });
}

std::vector<PregreetSender> XdpClient::pregreet_senders(size_t limit) {
  return guarded(describe(), [&] {
    std::vector<PregreetSender> out;
    for (const heavy::HeavyCount &c : xdp::pregreet_senders(name_, limit))
      out.push_back({heavy::address_text(c.key), c.syns});
    return out;
  });
}

std::vector<FanoutSender> XdpClient::fanout_senders(size_t limit) {
  return guarded(describe(), [&] {
    std::vector<FanoutSender> out;
    for (const heavy::HeavyCount &c : xdp::fanout_senders(name_, limit))
      out.push_back({heavy::address_text(c.key), c.syns});
    return out;
  });
}

std::vector<VerdictSender> XdpClient::verdict_senders(size_t limit) {
  return guarded(describe(), [&] {
    std::vector<VerdictSender> out;
    for (const heavy::VerdictCount &v : xdp::verdict_senders(name_, limit))
      out.push_back({heavy::address_text(v.key), v.key.level, v.shaped, v.blocked});
    return out;
  });
}

}  // namespace sluice::control
