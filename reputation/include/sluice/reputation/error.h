// Errors of the reputation library. Every message is meant for an operator: it names the file
// (and line, where there is one) and says what is wrong, e.g. "zen.zone:12: bad address".
#pragma once

#include <string>

#include "sluice_error.h"

namespace sluice::reputation {

class Error : public sluice::Error {
 public:
  explicit Error(const std::string &what) : sluice::Error(what) {}
};

// A snapshot or delta file that is not what it claims to be (magic, version, size, checksum).
class FormatError : public Error {
 public:
  using Error::Error;
};

}  // namespace sluice::reputation
