// The one error base of sluice. Every exception the libraries throw for an operator's input or
// the environment derives from it (reputation::Error, xdp::Error, PolicyError,
// DataplaneError, UsageError, the pcap files'), so a tool's main() catches sluice::Error and
// prints what() as it is: the message names the file (and line, where there is one) and says
// what is wrong, e.g. "zen.zone:12: bad address".
#pragma once

#include <stdexcept>
#include <string>

namespace sluice {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace sluice
