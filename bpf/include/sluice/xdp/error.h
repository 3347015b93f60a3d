// Errors of the XDP loader: one exception type, messages an operator can act on.
#pragma once

#include <string>

#include "sluice_error.h"

namespace sluice::xdp {

class Error : public sluice::Error {
 public:
  using sluice::Error::Error;
};

// "what: strerror(err)" for a negative libbpf return or a positive errno.
[[noreturn]] void throw_errno(const std::string &what, int err);

}  // namespace sluice::xdp
