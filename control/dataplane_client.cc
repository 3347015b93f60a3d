#include "dataplane_client.h"

#include <map>
#include <mutex>

#include "dpdk_client.h"

namespace sluice::control {
namespace {

std::mutex g_mu;
std::map<std::string, DataplaneFactory> &schemes() {
  static std::map<std::string, DataplaneFactory> m;
  return m;
}

}  // namespace

void register_dataplane_scheme(const std::string &scheme, DataplaneFactory factory) {
  std::lock_guard lock(g_mu);
  schemes()[scheme] = std::move(factory);
}

std::unique_ptr<DataplaneClient> connect_dataplane(const std::string &spec,
                                                   const ConnectOptions &options) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
    throw DataplaneSpecError("data plane '" + spec +
                             "': expected SCHEME:ARG (dpdk:SOCKET, xdp:NAME)");
  const std::string scheme = spec.substr(0, colon), arg = spec.substr(colon + 1);
  if (scheme == "dpdk") return std::make_unique<DpdkClient>(arg, options.timeout);
  DataplaneFactory f;
  {
    std::lock_guard lock(g_mu);
    const auto it = schemes().find(scheme);
    if (it == schemes().end())
      throw DataplaneSpecError("data plane '" + spec + "': unknown scheme '" + scheme + "'");
    f = it->second;
  }
  return f(arg);
}

}  // namespace sluice::control
