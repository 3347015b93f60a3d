// The policy's server scope, `[smtp] servers = PREFIX, ...` (docs/policy.md): which MTAs sluice
// protects. Parsed into sl_policy's servers4/servers6, which the packet core reads
// (core/sl_scope.h); written back in the same syntax.
#pragma once

#include <string>

#include "core/sl_shared.h"

namespace sluice::dataplane {

// "198.18.2.0/24, 2001:2::/64" (each ADDRESS/LEN or a bare ADDRESS, a host) into the policy's
// scope. Refused (PolicyError("reason"), without a location: the caller adds FILE:LINE): an
// empty list or entry, an entry that is not an IPv4 or IPv6 prefix, a length out of range, host
// bits set below the length, a prefix listed twice or inside (or around) one listed before, more
// than SL_MAX_SERVER_PREFIXES of one family.
void set_server_scope(sl_policy &policy, const std::string &text);

// The policy's scope as set_server_scope() reads it (IPv4 prefixes first, in order); "" when
// the policy watches every server.
std::string format_server_scope(const sl_policy &policy);

}  // namespace sluice::dataplane
