// Errors of the XDP loader: one exception type, messages an operator can act on.
#pragma once

#include <stdexcept>
#include <string>

namespace sluice::xdp {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "what: strerror(err)" for a negative libbpf return or a positive errno.
[[noreturn]] void throw_errno(const std::string &what, int err);

}  // namespace sluice::xdp
