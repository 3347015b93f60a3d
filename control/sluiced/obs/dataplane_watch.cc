#include "dataplane_watch.h"

namespace sluice::sluiced::obs {

control::DataplaneClient *WatchedDataplane::connect(std::chrono::milliseconds timeout) {
  if (client) return client.get();
  try {
    control::ConnectOptions o;
    o.timeout = timeout;
    client = control::connect_dataplane(spec, o);
  } catch (const std::exception &e) {
    failed(e.what());
    return nullptr;
  }
  return client.get();
}

void WatchedDataplane::failed(const std::string &what) {
  client.reset();
  up = false;
  error = what;
  ++errors;
}

void WatchedDataplane::refresh_stats(std::chrono::milliseconds timeout) {
  control::DataplaneClient *c = connect(timeout);
  if (c == nullptr) return;
  try {
    stats = c->stats();
    up = true;
    error.clear();
  } catch (const std::exception &e) {
    failed(e.what());
  }
}

}  // namespace sluice::sluiced::obs
