// The control plane's view of a data plane: one interface, one implementation per data plane.
//   dpdk:PATH  sluice-dp's control socket (dpdk_client.h)
//   xdp:NAME   the XDP data plane's pinned maps (xdp_client.h, on bpf/'s loader)
// sluicectl --dataplane SPEC and sluiced use connect_dataplane(SPEC).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sluice_error.h"

namespace sluice::control {

// How long a client waits for a data plane to accept and answer one request.
inline constexpr std::chrono::milliseconds kDefaultTimeout{10000};

class DataplaneError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

struct DataplanePortCounters {
  uint64_t rx = 0, tx = 0, dropped = 0;
};

struct DataplaneLevelCounters {
  uint32_t level = 0;
  std::string name;
  int32_t threshold = 0;
  uint64_t syns = 0, flows = 0, rewritten = 0, delayed = 0, dropped = 0, rst_sent = 0;
};

// One forwarding lcore of a DPDK data plane (it polls `queue` on both ports and has its own flow
// table and pacer).
struct DataplaneLcoreCounters {
  uint32_t queue = 0;
  uint64_t rx_outside = 0, rx_inside = 0, smtp = 0;
  uint64_t flows = 0, flow_capacity = 0, flow_evictions = 0, pacer_depth = 0;
};

struct DataplaneStats {
  DataplanePortCounters outside, inside;
  uint64_t malformed = 0, lookups = 0;
  uint64_t flows = 0, flow_capacity = 0, flow_evictions = 0;
  uint64_t pacer_depth = 0, pacer_drops = 0;  // 0 for data planes without a pacer (XDP)
  uint64_t table_entries = 0;
  uint32_t policy_generation = 0;
  std::vector<DataplaneLevelCounters> levels;
  std::vector<DataplaneLcoreCounters> lcores;  // DPDK: one per forwarding lcore; XDP: none
};

struct DataplaneFlow {
  std::string client, server;  // addresses as text
  uint16_t client_port = 0, server_port = 0;
  uint32_t level = 0, flags = 0;  // SL_FLOW_* flags
  uint64_t created_ns = 0, last_seen_ns = 0;
  uint32_t pending = 0;  // packets held by the pacer
};

class DataplaneClient {
 public:
  virtual ~DataplaneClient() = default;
  virtual std::string describe() const = 0;  // the spec it was made from
  // Each throws DataplaneError with the data plane's reason; on error nothing changed.
  virtual void load_table(const std::string &snapshot_path) = 0;
  virtual void apply_delta(const std::string &delta_path) = 0;
  virtual void set_policy(const std::string &policy_path) = 0;
  virtual DataplaneStats stats() = 0;
  virtual std::vector<DataplaneFlow> flows(size_t limit) = 0;
};

struct ConnectOptions {
  std::chrono::milliseconds timeout = kDefaultTimeout;  // per request (dpdk:)
};

using DataplaneFactory = std::function<std::unique_ptr<DataplaneClient>(const std::string &arg)>;

// Adds a scheme ("xdp") whose factory receives what follows "scheme:". "dpdk" is built in.
void register_dataplane_scheme(const std::string &scheme, DataplaneFactory factory);
// "dpdk:/run/sluice-dp.sock" -> a connected client. Throws DataplaneError for an unknown
// scheme or a data plane that cannot be reached.
std::unique_ptr<DataplaneClient> connect_dataplane(const std::string &spec,
                                                   const ConnectOptions &options = {});

}  // namespace sluice::control
