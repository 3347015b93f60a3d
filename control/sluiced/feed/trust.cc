#include "trust.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "fmt/format.h"
#include "sluice_error.h"

namespace sluice::feed {
namespace rep = sluice::reputation;
using nlohmann::json;

namespace {

bool contains(const Prefix &net, const Prefix &addr) {
  if (net.family != addr.family || net.len > addr.len) return false;
  if (net.family == 4) return rep::prefix_contains<uint32_t>(net.v4, net.len, addr.v4);
  return rep::prefix_contains<rep::U128>(net.v6, net.len, addr.v6);
}

}  // namespace

double TrustModel::decayed(const ParticipantTrust &p, const Record &r, int64_t now_ms) const {
  const double age = static_cast<double>(std::max<int64_t>(0, now_ms - r.updated_ms));
  return r.points * std::exp2(-age / static_cast<double>(p.half_life_ms));
}

int32_t TrustModel::weight_of(const ParticipantTrust &p, const Record &r, int64_t now_ms) const {
  if (now_ms >= r.expires_ms) return 0;
  const double w = std::round(p.weight * decayed(p, r, now_ms));
  const double cap = static_cast<double>(p.cap);
  return static_cast<int32_t>(std::clamp(w, -cap, cap));
}

size_t TrustModel::apply(const Batch &batch, int64_t now_ms) {
  const ParticipantTrust *p = cfg_.find(batch.participant);
  if (!p) return 0;
  auto &mine = records_[p->name];
  size_t applied = 0;
  for (const Observation &o : batch.observations) {
    auto it = mine.find(o.subject);
    if (it == mine.end()) {
      if (mine.size() >= p->max_entries) {
        ++full_refusals_;
        continue;
      }
      it = mine.emplace(o.subject, Record{}).first;
      it->second.updated_ms = now_ms;
    }
    Record &r = it->second;
    const int64_t at = std::min(o.observed_at_ms, now_ms);
    const double fresh =
        static_cast<double>(cfg_.points[static_cast<size_t>(o.kind)]) *
        static_cast<double>(o.count) *
        std::exp2(-static_cast<double>(now_ms - at) / static_cast<double>(p->half_life_ms));
    r.points = decayed(*p, r, now_ms) + fresh;
    r.updated_ms = std::max(r.updated_ms, now_ms);
    const int64_t ttl = std::min<int64_t>(int64_t{o.ttl_s} * 1000, cfg_.max_ttl_ms);
    r.expires_ms = std::max(r.expires_ms, at + ttl);
    ++r.reports;
    r.last_kind = o.kind;
    r.last_evidence = o.evidence;
    ++applied;
  }
  return applied;
}

size_t TrustModel::expire(int64_t now_ms) {
  size_t dropped = 0;
  for (auto &[name, subjects] : records_)
    dropped +=
        std::erase_if(subjects, [&](const auto &kv) { return now_ms >= kv.second.expires_ms; });
  return dropped;
}

std::vector<Contribution> TrustModel::contributions(int64_t now_ms,
                                                    const LocalDecision &local) const {
  std::vector<Contribution> out;
  for (const auto &[name, subjects] : records_) {
    const ParticipantTrust *p = cfg_.find(name);
    if (!p) continue;
    for (const auto &[subject, r] : subjects) {
      if (now_ms >= r.expires_ms) continue;
      Contribution c;
      c.participant = name;
      c.subject = subject;
      c.raw_weight = weight_of(*p, r, now_ms);
      c.weight = c.raw_weight;
      c.expires_ms = r.expires_ms;
      c.reports = r.reports;
      c.last_kind = r.last_kind;
      c.last_evidence = r.last_evidence;
      out.push_back(std::move(c));
    }
  }
  std::sort(out.begin(), out.end(), [](const Contribution &a, const Contribution &b) {
    return a.subject != b.subject ? a.subject < b.subject : a.participant < b.participant;
  });
  // Quorum and local decisions, per subject.
  for (size_t i = 0; i < out.size();) {
    size_t j = i;
    size_t positive = 0;
    while (j < out.size() && out[j].subject == out[i].subject) positive += out[j++].raw_weight > 0;
    const bool decided = local && local(out[i].subject);
    for (size_t k = i; k < j; ++k) {
      if (decided) {
        out[k].decided_locally = true;
        out[k].weight = 0;
      } else if (out[k].raw_weight > 0 && positive < cfg_.quorum) {
        out[k].held_by_quorum = true;
        out[k].weight = 0;
      }
    }
    i = j;
  }
  return out;
}

std::vector<Contribution> TrustModel::explain(const Prefix &address, int64_t now_ms,
                                              const LocalDecision &local) const {
  std::vector<Contribution> all = contributions(now_ms, local);
  std::erase_if(all, [&](const Contribution &c) { return !contains(c.subject, address); });
  return all;
}

TableSources TrustModel::table_sources(int64_t now_ms, uint16_t first_index,
                                       const LocalDecision &local) const {
  TableSources out;
  std::map<std::string, size_t> slot;
  for (const ParticipantTrust &p : cfg_.participants) {
    rep::SourceConfig c;
    c.name = "feed:" + p.name;
    c.type = rep::SourceType::kList;
    c.weight = 0;
    slot[p.name] = out.configs.size();
    out.configs.push_back(std::move(c));
    out.sources.emplace_back();
  }
  for (const Contribution &c : contributions(now_ms, local)) {
    if (c.weight == 0) continue;
    const size_t i = slot.at(c.participant);
    const auto index = static_cast<uint16_t>(first_index + i);
    rep::ParsedSource &s = out.sources[i];
    if (c.subject.family == 4)
      s.v4.push_back({c.subject.v4, c.weight, 0, 0, index, c.subject.len, false});
    else
      s.v6.push_back({c.subject.v6, c.weight, 0, 0, index, c.subject.len, false});
    ++s.entries;
  }
  return out;
}

int64_t TrustModel::next_expiry(int64_t now_ms) const {
  int64_t next = 0;
  for (const auto &[name, subjects] : records_)
    for (const auto &[subject, r] : subjects)
      if (r.expires_ms > now_ms && (next == 0 || r.expires_ms < next)) next = r.expires_ms;
  return next;
}

size_t TrustModel::entries() const {
  size_t n = 0;
  for (const auto &[name, subjects] : records_) n += subjects.size();
  return n;
}

size_t TrustModel::entries(const std::string &participant) const {
  auto it = records_.find(participant);
  return it == records_.end() ? 0 : it->second.size();
}

// The text is written directly rather than through a json document: a catching-up site saves a
// million records before it acks, and building that document took seconds. Names, subjects and
// kinds need no escaping (their characters are checked on the way in). Evidence from a batch is
// printable ASCII, but a restored state file may hold any JSON string: '"', '\\' and control
// characters are escaped, other bytes (valid UTF-8, as the parser read them) pass. restore()
// reads it as JSON.
std::string TrustModel::save(const std::map<std::string, uint64_t> &sequences) const {
  std::string out = R"({"version":1,"sequences":{)";
  bool first = true;
  for (const auto &[name, seq] : sequences) {
    fmt::format_to(std::back_inserter(out), R"({}"{}":{})", first ? "" : ",", name, seq);
    first = false;
  }
  out += R"(},"records":[)";
  first = true;
  std::string evidence;
  for (const auto &[name, subjects] : records_)
    for (const auto &[subject, r] : subjects) {
      evidence.clear();
      for (char c : r.last_evidence) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20) {
          fmt::format_to(std::back_inserter(evidence), "\\u{:04x}", u);
          continue;
        }
        if (c == '"' || c == '\\') evidence += '\\';
        evidence += c;
      }
      fmt::format_to(std::back_inserter(out),
                     R"({}{{"participant":"{}","subject":"{}","points":{},"updated_ms":{},)"
                     R"("expires_ms":{},"reports":{},"kind":"{}","evidence":"{}"}})",
                     first ? "" : ",", name, format_prefix(subject), r.points, r.updated_ms,
                     r.expires_ms, r.reports, to_string(r.last_kind), evidence);
      first = false;
    }
  out += "]}";
  return out;
}

void TrustModel::restore(std::string_view text, const std::string &path,
                         std::map<std::string, uint64_t> &sequences) {
  auto bad = [&](const std::string &why) { return Error(fmt::format("{}: {}", path, why)); };
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  // The version is looked at before the try below: a "version" that is not a number must be
  // refused like a missing one, not escape as a json type error.
  if (!doc.is_object() || !doc.contains("version") || !doc["version"].is_number_integer() ||
      doc["version"].get<int64_t>() != 1)
    throw bad("not a feed state file (version 1)");
  // Whole numbers only, and within [lo, hi]: a number the parser kept as a double (a fraction,
  // or too many digits) converted to an integer type would be undefined behaviour.
  auto whole = [&](const json &v, int64_t lo, int64_t hi, const std::string &what) -> int64_t {
    int64_t x = 0;
    if (v.is_number_unsigned() && v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX))
      x = static_cast<int64_t>(v.get<uint64_t>());
    else if (v.is_number_integer() && !v.is_number_unsigned())
      x = v.get<int64_t>();
    else
      throw bad(what + ": not a whole number");
    if (x < lo || x > hi) throw bad(what + ": out of range");
    return x;
  };
  std::map<std::string, uint64_t> seqs;
  decltype(records_) recs;
  try {
    for (const auto &[name, seq] : doc.at("sequences").items()) {
      if (!valid_participant(name)) throw bad("bad participant name in sequences");
      seqs[name] = static_cast<uint64_t>(
          whole(seq, 0, static_cast<int64_t>(kMaxSeq), "sequence of " + name));
    }
    size_t n = 0;
    for (const json &r : doc.at("records")) {
      ++n;
      const std::string name = r.at("participant").get<std::string>();
      auto subject = parse_prefix(r.at("subject").get<std::string>());
      auto kind = kind_from_string(r.at("kind").get<std::string>());
      if (!valid_participant(name) || !subject || !kind)
        throw bad(fmt::format("record {}: bad participant, subject or kind", n));
      const std::string where = fmt::format("record {}", n);
      Record rec{r.at("points").get<double>(),
                 whole(r.at("updated_ms"), INT64_MIN, INT64_MAX, where + " updated_ms"),
                 whole(r.at("expires_ms"), INT64_MIN, INT64_MAX, where + " expires_ms"),
                 static_cast<uint32_t>(whole(r.at("reports"), 0, UINT32_MAX, where + " reports")),
                 *kind,
                 r.at("evidence").get<std::string>()};
      if (!std::isfinite(rec.points)) throw bad(fmt::format("record {}: bad points", n));
      recs[name][*subject] = std::move(rec);
    }
  } catch (const json::exception &e) {
    throw bad(fmt::format("malformed ({})", e.what()));
  }
  records_ = std::move(recs);
  sequences = std::move(seqs);
}

}  // namespace sluice::feed
