#include "common/privileged.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace sluice::testing {

bool ci_mode() {
  const char *ci = std::getenv("CI");
  return ci != nullptr && std::strcmp(ci, "true") == 0;
}

std::string privileged_unavailable_reason() {
  if (geteuid() != 0) return "not running as root (uid " + std::to_string(geteuid()) + ")";
  return {};
}

}  // namespace sluice::testing
