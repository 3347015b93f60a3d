// The policy file: thresholds and level profiles for sluice-dp and sluice_xdp, in INI syntax.
// See docs/policy.md for the format.
//
// Errors are thrown as PolicyError with the message "FILE:LINE: reason" (LINE omitted when the
// problem is not tied to one line, e.g. a missing level), so an operator can fix the file.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/sl_shared.h"
#include "input_text.h"
#include "sluice_error.h"

namespace sluice::dataplane {

class PolicyError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

struct PolicyFile {
  sl_policy policy{};                    // ready for the data plane; generation left at 0
  std::vector<std::string> level_names;  // index = level; [0] is "pass" unless renamed; the
                                         // outbound levels follow the inbound ones
};

// Parses policy text; `name` is used in error messages (usually the file path).
PolicyFile parse_policy(std::istream &in, const std::string &name);
// Reads and parses a file; an unreadable file is a PolicyError too.
PolicyFile load_policy(const std::string &path);
// Writes the policy back in the same syntax (parse_policy(format_policy(p)) == p).
std::string format_policy(const PolicyFile &p);

// The stateless tarpit's secret (sl_policy.cookie_key), which a policy file never holds: the
// running policy's key when it has one (cookies already issued stay valid across a policy
// change), else 16 bytes from getrandom(2). Throws PolicyError when there is no randomness.
void keep_cookie_key(sl_policy &next, const sl_policy *running);

// The level an unlisted sender (score 0, no flags) gets under this policy; with `outbound`, the
// level of an unlisted subscriber's outbound SMTP.
unsigned unlisted_level(const PolicyFile &p, bool outbound = false);
// What an operator should hear about at load: today, a level with threshold <= 0 that every
// unlisted sender, or every unlisted subscriber's outbound SMTP, falls into ("NAME: warning:
// ..."). Empty when there is nothing to say.
std::vector<std::string> policy_warnings(const PolicyFile &p, const std::string &name);

// Input text in error messages: input_text.h.
using ::sluice::shown;

// "25, 587" -> network-order ports (at most SL_MAX_SMTP_PORTS, each 1..65535, no duplicates).
// Throws PolicyError("reason") without a location; callers add theirs.
std::vector<uint16_t> parse_port_list(const std::string &text);
// Copies host-order ports into sl_policy::smtp_ports (network order, zero-filled).
void set_smtp_ports(sl_policy &policy, const std::vector<uint16_t> &ports_host_order);

}  // namespace sluice::dataplane
