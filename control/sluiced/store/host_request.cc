#include "host_request.h"

#include <fmt/format.h>

#include <initializer_list>
#include <string_view>

#include "input_text.h"

namespace sluice::sluiced {

using nlohmann::json;

namespace {

// Refuses a non-object and any key not in `known`.
void only_keys(const json &args, std::initializer_list<std::string_view> known) {
  if (!args.is_object()) throw EntryError("the request's arguments are not a JSON object");
  for (const auto &[key, value] : args.items()) {
    bool ok = false;
    for (auto k : known) ok = ok || key == k;
    if (!ok) throw EntryError(fmt::format("unknown field {}", shown(key)));
  }
}

const std::string &text_field(const json &args, const char *name) {
  auto it = args.find(name);
  if (it == args.end()) throw EntryError(fmt::format("missing field '{}'", name));
  if (!it->is_string()) throw EntryError(fmt::format("field '{}' is not a string", name));
  return it->get_ref<const std::string &>();
}

int64_t integer_field(const json &j, const char *name, int64_t min, int64_t max) {
  auto it = j.find(name);
  if (it == j.end()) throw EntryError(fmt::format("missing field '{}'", name));
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(max))
      throw EntryError(fmt::format("field '{}': {} is out of range ({}..{})", name, v, min, max));
    return static_cast<int64_t>(v);
  }
  if (it->is_number_integer()) {
    const int64_t v = it->get<int64_t>();
    if (v < min || v > max)
      throw EntryError(fmt::format("field '{}': {} is out of range ({}..{})", name, v, min, max));
    return v;
  }
  throw EntryError(fmt::format("field '{}' is not an integer", name));
}

}  // namespace

HostSetRequest parse_host_set(const json &args) {
  only_keys(args, {"prefix", "action", "score", "ttl", "reason"});
  HostSetRequest r;
  r.prefix = parse_prefix(text_field(args, "prefix"));
  const std::string &action = text_field(args, "action");
  auto a = action_from_string(action);
  if (!a)
    throw EntryError(fmt::format("field 'action': {} is not score, allow or deny", shown(action)));
  r.action = *a;
  if (r.action == Action::kScore)
    r.score = static_cast<int32_t>(integer_field(args, "score", INT32_MIN, INT32_MAX));
  else if (args.contains("score"))
    throw EntryError(fmt::format("field 'score' with action '{}'", to_string(r.action)));
  if (args.contains("ttl")) r.ttl_seconds = parse_ttl(text_field(args, "ttl"));
  if (args.contains("reason")) {
    r.reason = text_field(args, "reason");
    check_text(r.reason, kMaxReasonBytes, "reason");
  }
  return r;
}

DynamicPrefix parse_host_unset(const json &args) {
  only_keys(args, {"prefix"});
  return parse_prefix(text_field(args, "prefix"));
}

reputation::IpAddress parse_clear(const json &args) {
  only_keys(args, {"address"});
  const std::string &text = text_field(args, "address");
  auto ip = reputation::parse_ip(text);
  if (!ip)
    throw EntryError(
        fmt::format("{}: not an IPv4 or IPv6 address (clear takes one address)", shown(text)));
  return *ip;
}

DynamicEntry make_entry(const HostSetRequest &r, int64_t now_ms, const std::string &origin) {
  DynamicEntry e;
  e.prefix = r.prefix;
  e.action = r.action;
  e.score = r.action == Action::kScore ? r.score : 0;
  // Floor division, so a time before 1970 (only a broken clock) still gives the second it is in.
  e.created = now_ms / 1000 - (now_ms % 1000 < 0 ? 1 : 0);
  if (r.ttl_seconds) e.expires = expiry_after(now_ms, *r.ttl_seconds);
  e.reason = r.reason;
  e.origin = origin;
  check_text(e.origin, kMaxOriginBytes, "origin");
  return e;
}

json to_json(const DynamicEntry &e) {
  json j;
  j["prefix"] = format_prefix(e.prefix);
  j["action"] = std::string(to_string(e.action));
  j["score"] = e.score;
  j["created"] = e.created;
  j["expires"] = e.expires ? json(*e.expires) : json(nullptr);
  j["reason"] = e.reason;
  j["origin"] = e.origin;
  return j;
}

DynamicEntry entry_from_json(const json &j) {
  only_keys(j, {"prefix", "action", "score", "created", "expires", "reason", "origin"});
  DynamicEntry e;
  e.prefix = parse_prefix(text_field(j, "prefix"));
  auto a = action_from_string(text_field(j, "action"));
  if (!a) throw EntryError("field 'action': not score, allow or deny");
  e.action = *a;
  e.score = static_cast<int32_t>(integer_field(j, "score", INT32_MIN, INT32_MAX));
  e.created = integer_field(j, "created", INT64_MIN, INT64_MAX);
  if (j.contains("expires") && !j.at("expires").is_null())
    e.expires = integer_field(j, "expires", INT64_MIN, INT64_MAX);
  e.reason = text_field(j, "reason");
  e.origin = text_field(j, "origin");
  check_text(e.reason, kMaxReasonBytes, "reason");
  check_text(e.origin, kMaxOriginBytes, "origin");
  return e;
}

}  // namespace sluice::sluiced
