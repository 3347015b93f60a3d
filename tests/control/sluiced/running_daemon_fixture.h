// A DaemonFixture whose daemon runs: chosen modules configured from `ini`, the event loop on a
// thread of its own, and the helpers tests use to talk to it on its loop (calls, tables of the
// in-memory data planes, the captured log, bounded waits).
#pragma once

#include <arpa/inet.h>

#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/daemon.h"
#include "daemon_fixture.h"
#include "metrics/exposition.h"
#include "obs/obs_explain.h"
#include "sluice/reputation/address.h"

namespace sluice::sluiced::testing {

class RunningDaemonFixture : public DaemonFixture {
 protected:
  void TearDown() override {
    stop_daemon();
    DaemonFixture::TearDown();
  }

  // The daemon with these modules, configured from `ini`, started, its loop running.
  void start(const std::set<std::string> &names) {
    names_ = names;
    std::vector<std::unique_ptr<Module>> mods;
    for (auto &m : make_modules())
      if (names.count(m->module_name())) mods.push_back(std::move(m));
    ASSERT_EQ(mods.size(), names.size());
    std::istringstream in(ini);
    load_config(in, "sluiced.ini", cfg, mods);
    cfg.dataplanes = {"fake:a", "fake:b"};
    d = std::make_unique<Daemon>(cfg, std::move(mods), fake_clients());
    d->start(true);
    loop = std::thread([this] { d->run(); });
  }
  void stop_daemon() {
    if (loop.joinable()) {
      d->stop();
      loop.join();
    }
    if (d) d->shutdown();
    d.reset();
  }
  void restart() {
    stop_daemon();
    start(names_);
  }

  // Runs `fn` on the daemon's loop and returns its result.
  template <class F>
  auto on_loop(F fn) {
    std::promise<decltype(fn())> p;
    auto f = p.get_future();
    d->loop().post([&] { p.set_value(fn()); });
    return f.get();
  }
  // A control verb, as the socket would hand it over; a refusal is rethrown here.
  nlohmann::json call(nlohmann::json req) {
    std::promise<nlohmann::json> p;
    auto f = p.get_future();
    d->loop().post([&] {
      try {
        p.set_value(d->commands().handle(req));
      } catch (...) {
        p.set_exception(std::current_exception());
      }
    });
    return f.get();
  }
  // The score the data plane `spec` holds for `addr` (0: not in its table).
  int32_t score(const std::string &spec, const char *addr) {
    return on_loop([&] {
      auto ip = *reputation::parse_ip(addr);
      std::optional<sl_rep_value> v;
      if (ip.family == 4) {
        v = dps[spec]->table.lookup_v4(htonl(ip.v4));
      } else {
        uint8_t b[16];
        reputation::v6_to_bytes(ip.v6, b);
        v = dps[spec]->table.lookup_v6(b);
      }
      return v ? v->score : 0;
    });
  }
  // Polls `cond` until it holds or 20 s pass (the limit only bounds a hang).
  template <class F>
  bool wait_for(F cond) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return cond();
  }
  bool logged(const std::string &what) {
    std::lock_guard lock(log_mu);
    for (const auto &l : logs)
      if (l.find(what) != std::string::npos) return true;
    return false;
  }
  // The daemon's extra metric families, rendered.
  std::string metrics() {
    return on_loop([&] {
      metrics::Exposition e;
      for (auto &[name, c] : obs::extra_collectors()) c(e);
      return e.render();
    });
  }

  std::string ini;
  std::unique_ptr<Daemon> d;
  std::thread loop;

 private:
  std::set<std::string> names_;
};

}  // namespace sluice::sluiced::testing
