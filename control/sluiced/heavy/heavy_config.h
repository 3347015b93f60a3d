// [heavy_hitters] in sluiced.ini (docs/learning.md, "Heavy hitters"): how sluiced polls the data
// planes' SYN heavy hitters. Every error is a ConfigError naming the key.
//
//   [heavy_hitters]
//   enabled = true
//   poll_interval = 1s     # 100ms .. 1h
//   min_rate = 120         # SYN/min at or above which a host is observed (1 .. 1000000000)
//   max_per_poll = 256     # entries asked of each data plane, observations per poll (1 .. 65536)
#pragma once

#include "daemon/config.h"
#include "heavy_poller.h"

namespace sluice::sluiced::heavy {

struct HeavyConfig {
  bool enabled = true;
  HeavySettings settings;
};

void describe_heavy_config(ConfigSchema &schema);
HeavyConfig read_heavy_config(const po::variables_map &vm);

}  // namespace sluice::sluiced::heavy
