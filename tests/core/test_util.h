// Small helpers shared by the packet core tests.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "core/sl_core.h"

namespace sluice::testing {

// A frame in an exactly sized heap allocation, so ASan flags any access past its end.
class ExactBuffer {
 public:
  explicit ExactBuffer(const std::vector<uint8_t> &bytes)
      : size_(bytes.size()), data_(new uint8_t[bytes.empty() ? 1 : bytes.size()]) {
    if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
  }
  uint8_t *data() { return data_.get(); }
  void *begin() { return data_.get(); }
  void *end() { return data_.get() + size_; }
  size_t size() const { return size_; }
  std::vector<uint8_t> bytes(size_t n) const { return {data_.get(), data_.get() + n}; }
  std::vector<uint8_t> bytes() const { return bytes(size_); }

 private:
  size_t size_;
  std::unique_ptr<uint8_t[]> data_;
};

inline void expect_same_flow(const std::optional<sl_flow_state> &actual,
                             const std::optional<sl_flow_state> &expected) {
  ASSERT_EQ(actual.has_value(), expected.has_value()) << "flow presence";
  if (!actual) return;
  EXPECT_EQ(actual->level, expected->level);
  EXPECT_EQ(actual->flags, expected->flags);
  EXPECT_EQ(actual->client_mss, expected->client_mss);
  EXPECT_EQ(actual->client_wscale, expected->client_wscale);
  EXPECT_EQ(actual->server_mss, expected->server_mss);
  EXPECT_EQ(actual->server_wscale, expected->server_wscale);
}

}  // namespace sluice::testing
