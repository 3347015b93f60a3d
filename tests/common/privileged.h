// Guard for tests that need root (BPF, network namespaces, DPDK on veth).
//
// Without root the test is skipped with a reason. With CI=true in the environment a skip is a
// failure instead: CI runs as root and must exercise every privileged test.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace sluice::testing {

// Empty when the test may run; otherwise why it cannot (not root, no bpffs, ...).
std::string privileged_unavailable_reason();
bool ci_mode();

}  // namespace sluice::testing

// Use as the first statement of a privileged TEST / TEST_F body (or SetUp).
#define SLUICE_REQUIRE_PRIVILEGED()                                                        \
  do {                                                                                     \
    const std::string sluice_reason_ = ::sluice::testing::privileged_unavailable_reason(); \
    if (!sluice_reason_.empty()) {                                                         \
      if (::sluice::testing::ci_mode()) {                                                  \
        FAIL() << "privileged test cannot run under CI=true: " << sluice_reason_;          \
      }                                                                                    \
      GTEST_SKIP() << "needs root: " << sluice_reason_;                                    \
    }                                                                                      \
  } while (0)
