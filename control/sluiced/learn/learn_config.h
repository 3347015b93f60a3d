// [learning] in sluiced.ini (docs/learning.md): the local score model's settings, read and
// checked. Every error is a ConfigError naming the key ("learning.complaint.weight: ...").
#pragma once

#include <chrono>
#include <string>

#include "daemon/config.h"
#include "learn_model.h"

namespace sluice::sluiced::learn {

struct LearnConfig {
  bool enabled = true;
  ModelSettings model;
  std::string state_file;  // empty: STATE_DIR/learning.state
  std::chrono::milliseconds save_interval{5000};
};

void describe_learn_config(ConfigSchema &schema);
LearnConfig read_learn_config(const po::variables_map &vm);

}  // namespace sluice::sluiced::learn
