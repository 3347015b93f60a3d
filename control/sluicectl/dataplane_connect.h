// The data plane a `sluicectl dataplane ...` command talks to: the global --dataplane SPEC,
// each request bounded by --timeout (both registered in cmd_dataplane.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "command_registry.h"
#include "dataplane_client.h"

namespace sluicectl {

inline std::unique_ptr<sluice::control::DataplaneClient> dataplane_for(const Context &ctx) {
  if (!ctx.globals.count("dataplane"))
    throw UsageError("no data plane given: add --dataplane dpdk:SOCKET (or xdp:NAME)");
  sluice::control::ConnectOptions o;
  if (ctx.globals.count("timeout")) {
    const double t = ctx.globals["timeout"].as<double>();
    if (!(t > 0 && t <= 86400)) throw UsageError("--timeout must be > 0 and <= 86400 seconds");
    o.timeout = std::chrono::milliseconds(static_cast<int64_t>(t * 1000 + 0.5));
  }
  try {
    return sluice::control::connect_dataplane(ctx.globals["dataplane"].as<std::string>(), o);
  } catch (const sluice::control::DataplaneSpecError &e) {
    throw UsageError(e.what());  // a --dataplane that names no data plane: exit 2
  }
}

}  // namespace sluicectl
