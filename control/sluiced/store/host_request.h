// The dynamic entries' requests on sluiced's control socket, as JSON objects (the arguments of
// the host.set, host.unset and clear verbs), and the entries' JSON form in replies. Every field
// goes through dynamic_entry.h's strict parsers; anything else is refused with EntryError naming
// the field. Fuzzed by tests/fuzz/fuzz_host_request.cc.
//
//   host.set    {"prefix": "198.18.0.0/24", "action": "score", "score": 5,
//                "ttl": "1h", "reason": "fail2ban postfix-sasl"}      ttl and reason optional;
//               {"prefix": "2001:2::1", "action": "deny"}             score only with "score"
//   host.unset  {"prefix": "198.18.0.0/24"}
//   clear       {"address": "198.18.0.7"}
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "dynamic_entry.h"
#include "sluice/reputation/address.h"

namespace sluice::sluiced {

struct HostSetRequest {
  DynamicPrefix prefix;
  Action action = Action::kScore;
  int32_t score = 0;
  std::optional<int64_t> ttl_seconds;
  std::string reason;
};

HostSetRequest parse_host_set(const nlohmann::json &args);
DynamicPrefix parse_host_unset(const nlohmann::json &args);
reputation::IpAddress parse_clear(const nlohmann::json &args);

// The entry a host.set request makes at `now_ms` (wall clock, unix milliseconds), attributed to
// `origin` (who asked: "sluicectl uid 0", a concern's name): created at the whole second,
// expiring as `expiry_after` says (a parsed ttl cannot overflow: at most kMaxTtlSeconds).
DynamicEntry make_entry(const HostSetRequest &r, int64_t now_ms, const std::string &origin);

// {"prefix", "action", "score", "created", "expires" (null: never), "reason", "origin"}.
nlohmann::json to_json(const DynamicEntry &e);
// The reverse, as strict as the requests (used by sluicectl on replies).
DynamicEntry entry_from_json(const nlohmann::json &j);

}  // namespace sluice::sluiced
