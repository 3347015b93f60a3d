#include "codec.h"

#include <sodium.h>

#include <nlohmann/json.hpp>
#include <set>

#include "fmt/format.h"
#include "keys.h"
#include "sluice_error.h"

namespace sluice::feed {
using nlohmann::json;

namespace {

constexpr std::string_view kHeaderPrefix = "SLUICE-FEED/";
constexpr std::string_view kHeaderV1 = "SLUICE-FEED/1";
constexpr std::string_view kSignContext = "sluice-feed/1";
constexpr size_t kSignatureBase64 = 88;

constexpr std::array<std::string_view, kRefusalCount> kRefusalNames = {"oversize",
                                                                       "malformed",
                                                                       "wrong_version",
                                                                       "unknown_participant",
                                                                       "subject_mismatch",
                                                                       "bad_signature",
                                                                       "replay",
                                                                       "stale",
                                                                       "future"};

bool hostname_char(char c, bool literal_ok) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  if (c == '.' || c == '-' || c == '_') return true;
  return literal_ok && (c == '[' || c == ']' || c == ':');
}

bool valid_name(std::string_view s, size_t max, bool literal_ok) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (!hostname_char(c, literal_ok)) return false;
  return true;
}

bool valid_evidence(std::string_view s) {
  if (s.empty() || s.size() > kMaxEvidence) return false;
  for (char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// Parses the body, refusing duplicate member names in any object (the callback sees every key
// with the object it belongs to on a stack).
json parse_strict(std::string_view body, bool &duplicate) {
  std::vector<std::set<std::string>> open;
  auto cb = [&](int, json::parse_event_t ev, json &value) {
    switch (ev) {
      case json::parse_event_t::object_start:
        open.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open.empty() && !open.back().insert(value.get<std::string>()).second) duplicate = true;
        break;
      default:
        break;
    }
    return true;
  };
  return json::parse(body.begin(), body.end(), cb, /*allow_exceptions=*/false);
}

// A required unsigned integer member within [lo, hi].
bool get_uint(const json &obj, const char *name, uint64_t lo, uint64_t hi, uint64_t &out,
              std::string &why) {
  auto it = obj.find(name);
  if (it == obj.end()) return why = fmt::format("missing '{}'", name), false;
  if (!it->is_number_unsigned())
    return why = fmt::format("'{}' is not an unsigned integer", name), false;
  out = it->get<uint64_t>();
  if (out < lo || out > hi)
    return why = fmt::format("'{}' {} out of range {}..{}", name, out, lo, hi), false;
  return true;
}

// An optional string member; absent leaves `out` empty.
bool get_opt_string(const json &obj, const char *name, std::string &out, std::string &why) {
  auto it = obj.find(name);
  if (it == obj.end()) return true;
  if (!it->is_string()) return why = fmt::format("'{}' is not a string", name), false;
  out = it->get<std::string>();
  return true;
}

}  // namespace

std::string_view to_string(Refusal r) {
  return kRefusalNames[static_cast<size_t>(r)];
}

std::variant<Header, Refusal> split_message(std::string_view message) {
  if (message.size() > kMaxMessageBytes) return Refusal::kOversize;
  size_t nl = message.find('\n');
  if (nl == std::string_view::npos) return Refusal::kMalformed;
  std::string_view line = message.substr(0, nl);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return Refusal::kMalformed;
  std::string_view tag = line.substr(0, sp1);
  if (tag.substr(0, kHeaderPrefix.size()) != kHeaderPrefix) return Refusal::kMalformed;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Refusal::kMalformed;
  Header h;
  h.participant = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view sig = line.substr(sp2 + 1);
  if (!valid_participant(h.participant) || sig.size() != kSignatureBase64)
    return Refusal::kMalformed;
  auto raw = from_base64(sig, h.signature.size());
  if (!raw) return Refusal::kMalformed;
  std::copy(raw->begin(), raw->end(), h.signature.begin());
  if (tag != kHeaderV1) return Refusal::kWrongVersion;
  h.body = message.substr(nl + 1);
  return h;
}

std::variant<Batch, Refusal> parse_body(std::string_view body, std::string *error) {
  std::string why;
  auto fail = [&](Refusal r) -> std::variant<Batch, Refusal> {
    if (error) *error = why;
    return r;
  };
  bool duplicate = false;
  json doc = parse_strict(body, duplicate);
  if (doc.is_discarded()) return why = "not valid JSON", fail(Refusal::kMalformed);
  if (!doc.is_object()) return why = "not a JSON object", fail(Refusal::kMalformed);
  if (duplicate) return why = "duplicate member name", fail(Refusal::kMalformed);
  uint64_t v;
  {
    auto it = doc.find("v");
    if (it == doc.end()) return why = "missing 'v'", fail(Refusal::kMalformed);
    if (!it->is_number_unsigned())
      return why = "'v' is not an unsigned integer", fail(Refusal::kMalformed);
    v = it->get<uint64_t>();
    if (v != kSchemaVersion)
      return why = fmt::format("version {}", v), fail(Refusal::kWrongVersion);
  }
  Batch b;
  {
    auto it = doc.find("participant");
    if (it == doc.end() || !it->is_string())
      return why = "missing or non-string 'participant'", fail(Refusal::kMalformed);
    b.participant = it->get<std::string>();
    if (!valid_participant(b.participant))
      return why = "bad 'participant'", fail(Refusal::kMalformed);
  }
  uint64_t n;
  if (!get_uint(doc, "seq", 1, kMaxSeq, b.seq, why)) return fail(Refusal::kMalformed);
  if (!get_uint(doc, "sent_at", 0, kMaxSeq, n, why)) return fail(Refusal::kMalformed);
  b.sent_at_ms = static_cast<int64_t>(n);
  auto obs = doc.find("observations");
  if (obs == doc.end() || !obs->is_array())
    return why = "missing or non-array 'observations'", fail(Refusal::kMalformed);
  if (obs->empty() || obs->size() > kMaxObservations)
    return why = fmt::format("{} observations (1..{})", obs->size(), kMaxObservations),
           fail(Refusal::kMalformed);
  b.observations.reserve(obs->size());
  size_t index = 0;
  for (const json &o : *obs) {
    auto at = [&](const std::string &w) { return fmt::format("observation {}: {}", index, w); };
    ++index;
    if (!o.is_object()) return why = at("not an object"), fail(Refusal::kMalformed);
    Observation ob;
    auto s = o.find("subject");
    if (s == o.end() || !s->is_string())
      return why = at("missing or non-string 'subject'"), fail(Refusal::kMalformed);
    auto p = parse_prefix(s->get_ref<const std::string &>());
    if (!p) return why = at("bad 'subject'"), fail(Refusal::kMalformed);
    ob.subject = *p;
    if (!get_opt_string(o, "helo", ob.helo, why) ||
        !get_opt_string(o, "sender_domain", ob.sender_domain, why) ||
        !get_opt_string(o, "evidence", ob.evidence, why))
      return why = at(why), fail(Refusal::kMalformed);
    if (o.contains("helo") && !valid_name(ob.helo, kMaxHelo, true))
      return why = at("bad 'helo'"), fail(Refusal::kMalformed);
    if (o.contains("sender_domain") && !valid_name(ob.sender_domain, kMaxSenderDomain, false))
      return why = at("bad 'sender_domain'"), fail(Refusal::kMalformed);
    if (o.contains("evidence") && !valid_evidence(ob.evidence))
      return why = at("bad 'evidence'"), fail(Refusal::kMalformed);
    auto k = o.find("kind");
    if (k == o.end() || !k->is_string())
      return why = at("missing or non-string 'kind'"), fail(Refusal::kMalformed);
    uint64_t count, window, ttl, observed;
    if (!get_uint(o, "count", 1, kMaxCount, count, why) ||
        !get_uint(o, "window", 1, kMaxWindowSeconds, window, why) ||
        !get_uint(o, "ttl", kMinTtlSeconds, kMaxTtlSeconds, ttl, why) ||
        !get_uint(o, "observed_at", 0, kMaxSeq, observed, why))
      return why = at(why), fail(Refusal::kMalformed);
    ob.count = static_cast<uint32_t>(count);
    ob.window_s = static_cast<uint32_t>(window);
    ob.ttl_s = static_cast<uint32_t>(ttl);
    ob.observed_at_ms = static_cast<int64_t>(observed);
    auto kind = kind_from_string(k->get_ref<const std::string &>());
    if (!kind) {
      ++b.skipped_unknown_kind;  // a later version's kind: skip, keep the rest
      continue;
    }
    ob.kind = *kind;
    if (ob.observed_at_ms > b.sent_at_ms + kObservedAfterSentMs ||
        ob.observed_at_ms < b.sent_at_ms - kObservedBeforeSentMs) {
      ++b.skipped_bad_time;
      continue;
    }
    b.observations.push_back(std::move(ob));
  }
  return b;
}

namespace {

json observation_json(const Observation &o) {
  json j = {{"subject", format_prefix(o.subject)},
            {"kind", to_string(o.kind)},
            {"count", o.count},
            {"window", o.window_s},
            {"ttl", o.ttl_s},
            {"observed_at", o.observed_at_ms}};
  if (!o.helo.empty()) {
    if (!valid_name(o.helo, kMaxHelo, true)) throw Error("feed: bad helo name");
    j["helo"] = o.helo;
  }
  if (!o.sender_domain.empty()) {
    if (!valid_name(o.sender_domain, kMaxSenderDomain, false))
      throw Error("feed: bad sender domain");
    j["sender_domain"] = o.sender_domain;
  }
  if (!o.evidence.empty()) {
    if (!valid_evidence(o.evidence)) throw Error("feed: bad evidence id");
    j["evidence"] = o.evidence;
  }
  if (o.count < 1 || o.count > kMaxCount || o.window_s < 1 || o.window_s > kMaxWindowSeconds ||
      o.ttl_s < kMinTtlSeconds || o.ttl_s > kMaxTtlSeconds || o.observed_at_ms < 0)
    throw Error("feed: an observation's count, window, ttl or time is out of range");
  return j;
}

}  // namespace

std::string encode_body(const Batch &b) {
  if (!valid_participant(b.participant)) throw Error("feed: bad participant name");
  if (b.seq < 1 || b.seq > kMaxSeq) throw Error("feed: sequence out of range");
  if (b.observations.empty() || b.observations.size() > kMaxObservations)
    throw Error(fmt::format("feed: {} observations in a batch (1..{})", b.observations.size(),
                            kMaxObservations));
  json obs = json::array();
  for (const Observation &o : b.observations) obs.push_back(observation_json(o));
  json doc = {{"v", kSchemaVersion},
              {"participant", b.participant},
              {"seq", b.seq},
              {"sent_at", b.sent_at_ms},
              {"observations", std::move(obs)}};
  return doc.dump();
}

size_t encoded_size(const Observation &o) {
  return observation_json(o).dump().size();
}

std::string signed_bytes(std::string_view body) {
  std::string out(kSignContext);
  out.push_back('\0');
  out.append(body);
  return out;
}

std::string seal(std::string_view participant, std::string_view body, const SecretKey &key) {
  ensure_sodium();
  Signature sig{};
  const std::string msg = signed_bytes(body);
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char *>(msg.data()),
                       msg.size(), key.data());
  std::string out(kHeaderV1);
  out += ' ';
  out += participant;
  out += ' ';
  out += to_base64(sig.data(), sig.size());
  out += '\n';
  out += body;
  if (out.size() > kMaxMessageBytes)
    throw Error(fmt::format("feed: a batch of {} bytes is over the {}-byte limit", out.size(),
                            kMaxMessageBytes));
  return out;
}

}  // namespace sluice::feed
