// The set-up every in-process daemon test shares: sluiced's log captured, its state, socket and
// sources in a scratch directory, and two in-memory data planes (fake:a, fake:b).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "fake_dataplane.h"
#include "test_dir.h"

namespace sluice::sluiced::testing {

class DaemonFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([this](LogLevel, std::string_view m) {
      std::lock_guard lock(log_mu);
      logs.emplace_back(m);
    });
    cfg.state_dir = dir / "state";
    cfg.socket = dir / "sluiced.sock";
    cfg.socket_mode = 0600;
    cfg.dataplanes = {"fake:a", "fake:b"};
    dps["fake:a"] = std::make_shared<FakeDataplane>();
    dps["fake:b"] = std::make_shared<FakeDataplane>();
  }
  void TearDown() override { set_log_sink(nullptr); }

  // The sources file (INI text) the daemon reads.
  void write_sources(const std::string &ini) { cfg.sources = dir.write("sources.ini", ini); }
  // A client factory over the fake data planes.
  ClientFactory fake_clients() {
    return [this](const std::string &spec) {
      return std::make_unique<FakeClient>(spec, dps.at(spec));
    };
  }

  TestDir dir;
  SluicedConfig cfg;
  std::map<std::string, std::shared_ptr<FakeDataplane>> dps;
  std::mutex log_mu;
  std::vector<std::string> logs;
};

}  // namespace sluice::sluiced::testing
