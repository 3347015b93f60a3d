#include "heavy_poller.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace sluice::sluiced::heavy {

HeavyPoller::HeavyPoller(HeavySettings s, const std::vector<std::string> &specs,
                         ClientFactory factory)
    : s_(s), factory_(std::move(factory)) {
  for (const auto &spec : specs) {
    PlaneState p;
    p.spec = spec;
    planes_.push_back(std::move(p));
  }
}

void HeavyPoller::failed(PlaneState &p, Clock::time_point now, const std::string &what,
                         PollResult &out) {
  p.client.reset();
  ++p.failures;
  if (p.answering || !p.failed_once)
    out.notices.push_back(fmt::format(
        "heavy hitters: {}: {}; retried with back-off (up to {} s), counted, not logged again "
        "until it answers",
        p.spec, what, kMaxBackoff.count() / 1000));
  p.answering = false;
  p.failed_once = true;
  p.error = what;
  p.backoff = p.backoff.count() == 0 ? s_.poll_interval : std::min(kMaxBackoff, p.backoff * 2);
  p.retry_at = now + p.backoff;
}

void HeavyPoller::ask(PlaneState &p, Clock::time_point now, std::vector<HeavyTotal> &totals,
                      PollResult &out) {
  ++p.polls;
  std::vector<control::HeavySender> answer;
  try {
    if (!p.client) p.client = factory_(p.spec);
    answer = p.client->heavy_senders(s_.max_per_poll);
  } catch (const std::exception &e) {
    failed(p, now, e.what(), out);
    return;
  }
  if (!p.answering && p.failed_once)
    out.notices.push_back(fmt::format("heavy hitters: {} answers again", p.spec));
  p.answering = true;
  p.error.clear();
  p.backoff = std::chrono::milliseconds(0);
  ++out.answered;
  std::set<HeavyPrefix> seen;
  size_t n = 0;
  for (const auto &s : answer) {
    if (++n > s_.max_per_poll) {
      refused_[static_cast<size_t>(Refusal::kOverLimit)] += answer.size() - s_.max_per_poll;
      break;
    }
    auto checked = check_sender(s);
    if (auto *r = std::get_if<Refusal>(&checked)) {
      ++refused_[static_cast<size_t>(*r)];
      continue;
    }
    const CheckedSender &c = std::get<CheckedSender>(checked);
    if (!seen.insert(c.prefix).second) {
      ++refused_[static_cast<size_t>(Refusal::kDuplicate)];
      continue;
    }
    ++p.entries;
    totals.push_back({c.prefix, c.per_minute, {p.spec}});
  }
}

namespace {

// What a count grew by since the last answer (`before`): all of it when it is new or smaller
// (its entry started again).
uint64_t fresh_count(const std::map<std::string, uint64_t> &before, const std::string &key,
                     uint64_t now) {
  const auto it = before.find(key);
  return it != before.end() && now >= it->second ? now - it->second : now;
}

// One data-plane observation of `subject`: `count` events (or, for a rate kind, the rate) at
// `wall`, with its evidence cut to kMaxEvidence.
LocalObservation dp_observation(const reputation::IpAddress &subject, LocalKind kind,
                                uint32_t count, std::chrono::system_clock::time_point wall,
                                std::string evidence) {
  LocalObservation o;
  o.subject = subject;
  o.kind = kind;
  o.count = count;
  o.observed_at = wall;
  o.origin = "dp";
  o.evidence = std::move(evidence);
  if (o.evidence.size() > kMaxEvidence) o.evidence.resize(kMaxEvidence);
  return o;
}

// What a count grew by, as an observation's count (capped as the feed's counts are).
uint32_t growth_count(uint64_t fresh) {
  return static_cast<uint32_t>(std::min<uint64_t>(fresh, 4000000000ull));
}

// An answer's failure, logged when it changes; returns false. An answer after failures: logged.
bool note_answer(const char *what, const std::string &spec, const char *error,
                 std::string &last_error, PollResult &out) {
  if (error != nullptr) {
    if (last_error != error)
      out.notices.push_back(
          fmt::format("{}: {}: {}; asked again every poll, logged again when the answer changes",
                      what, spec, error));
    last_error = error;
    return false;
  }
  if (!last_error.empty()) out.notices.push_back(fmt::format("{}: {} answers again", what, spec));
  last_error.clear();
  return true;
}

// A per-address count list (pregreet connections, fan-out destinations): each address whose
// count grew since the last answer (`seen`, replaced by this answer's) becomes one observation
// of `kind` for its growth, with `evidence(growth)`. An unparsable address, a zero count or a
// repeated address is refused and counted (`refused`); at most `max` addresses are read.
template <typename Item, typename CountOf, typename Evidence>
void observe_growth(const std::vector<Item> &answer, CountOf count_of, size_t max,
                    std::map<std::string, uint64_t> &seen_before, uint64_t &refused, LocalKind kind,
                    Evidence evidence, std::chrono::system_clock::time_point wall,
                    std::vector<LocalObservation> &out) {
  std::map<std::string, uint64_t> seen;
  for (const auto &s : answer) {
    if (seen.size() >= max) break;
    const uint64_t count = count_of(s);
    const auto addr = reputation::parse_ip(s.address);
    if (!addr || count == 0 || !seen.emplace(s.address, count).second) {
      ++refused;
      continue;
    }
    const uint64_t fresh = fresh_count(seen_before, s.address, count);
    if (fresh == 0) continue;
    out.push_back(dp_observation(*addr, kind, growth_count(fresh), wall, evidence(fresh)));
  }
  seen_before = std::move(seen);
}
}  // namespace

void HeavyPoller::ask_verdicts(PlaneState &p, std::chrono::system_clock::time_point wall,
                               PollResult &out) {
  std::vector<control::VerdictSender> answer;
  try {
    answer = p.client->verdict_senders(s_.max_per_poll);
  } catch (const std::exception &e) {
    note_answer("verdicts", p.spec, e.what(), p.verdict_error, out);
    return;
  }
  note_answer("verdicts", p.spec, nullptr, p.verdict_error, out);
  std::map<std::string, uint64_t> seen;
  std::set<std::string> listed;
  for (const auto &s : answer) {
    if (listed.size() >= s_.max_per_poll) break;
    const auto addr = reputation::parse_ip(s.address);
    if (!addr || s.level < 1 || s.level >= SL_MAX_LEVELS || s.shaped + s.blocked == 0 ||
        !listed.insert(fmt::format("{} {}", s.address, s.level)).second) {
      ++p.verdict_refused;
      continue;
    }
    for (const LocalKind kind : {LocalKind::kShaped, LocalKind::kBlocked}) {
      const uint64_t count = kind == LocalKind::kShaped ? s.shaped : s.blocked;
      if (count == 0) continue;
      const std::string key = fmt::format("{} {} {}", s.address, s.level, to_string(kind));
      seen.emplace(key, count);
      const uint64_t fresh = fresh_count(p.verdict_seen, key, count);
      if (fresh == 0) continue;
      out.verdicts.push_back(
          dp_observation(*addr, kind, growth_count(fresh), wall,
                         fmt::format("{} SYN{} {} at level {} on {}", fresh, fresh == 1 ? "" : "s",
                                     to_string(kind), s.level, p.spec)));
    }
  }
  p.verdict_seen = std::move(seen);
}

void HeavyPoller::ask_pregreet(PlaneState &p, std::chrono::system_clock::time_point wall,
                               PollResult &out) {
  std::vector<control::PregreetSender> answer;
  try {
    answer = p.client->pregreet_senders(s_.max_per_poll);
  } catch (const std::exception &e) {
    note_answer("pregreet", p.spec, e.what(), p.pregreet_error, out);
    return;
  }
  note_answer("pregreet", p.spec, nullptr, p.pregreet_error, out);
  observe_growth(
      answer, [](const control::PregreetSender &s) { return s.connections; }, s_.max_per_poll,
      p.pregreet_seen, p.pregreet_refused, LocalKind::kPregreet,
      [&](uint64_t fresh) {
        return fmt::format("{} connection{} talked before the greeting on {}", fresh,
                           fresh == 1 ? "" : "s", p.spec);
      },
      wall, out.pregreet);
}

void HeavyPoller::ask_fanout(PlaneState &p, std::chrono::system_clock::time_point wall,
                             PollResult &out) {
  std::vector<control::FanoutSender> answer;
  try {
    answer = p.client->fanout_senders(s_.max_per_poll);
  } catch (const std::exception &e) {
    note_answer("fan-out", p.spec, e.what(), p.fanout_error, out);
    return;
  }
  note_answer("fan-out", p.spec, nullptr, p.fanout_error, out);
  observe_growth(
      answer, [](const control::FanoutSender &s) { return s.destinations; }, s_.max_per_poll,
      p.fanout_seen, p.fanout_refused, LocalKind::kFanOut,
      [&](uint64_t fresh) {
        return fmt::format("{} new remote MTA{} on {}", fresh, fresh == 1 ? "" : "s", p.spec);
      },
      wall, out.fanout);
}

PollResult HeavyPoller::poll(Clock::time_point now, std::chrono::system_clock::time_point wall) {
  PollResult out;
  std::vector<HeavyTotal> all;
  for (auto &p : planes_) {
    if (now < p.retry_at) continue;
    ++out.asked;
    ask(p, now, all, out);
    if (p.answering) ask_pregreet(p, wall, out);
    if (p.answering) ask_verdicts(p, wall, out);
    if (p.answering) ask_fanout(p, wall, out);
  }
  // The same prefix from several data planes: one total (the planes in configuration order,
  // as they were asked).
  std::map<HeavyPrefix, HeavyTotal> summed;
  for (auto &t : all) {
    auto [it, fresh] = summed.try_emplace(t.prefix, t);
    if (fresh) continue;
    it->second.per_minute += t.per_minute;
    it->second.dataplanes.push_back(std::move(t.dataplanes.front()));
  }
  for (auto &[prefix, t] : summed) {
    if (t.per_minute < s_.min_rate) continue;
    (prefix.host() ? out.hosts : out.networks).push_back(std::move(t));
  }
  auto heaviest = [](const HeavyTotal &a, const HeavyTotal &b) {
    return a.per_minute != b.per_minute ? a.per_minute > b.per_minute : a.prefix < b.prefix;
  };
  for (auto *v : {&out.hosts, &out.networks}) {
    std::sort(v->begin(), v->end(), heaviest);
    if (v->size() > s_.max_per_poll) v->resize(s_.max_per_poll);
  }
  for (const auto &t : out.hosts) {
    const auto rate =
        static_cast<uint32_t>(std::clamp(std::llround(t.per_minute), 1LL, 4000000000LL));
    out.observations.push_back(
        dp_observation(t.prefix.address(), LocalKind::kConnRate, rate, wall, evidence_of(t)));
  }
  for (auto &o : out.pregreet) out.observations.push_back(o);
  for (auto &o : out.verdicts) out.observations.push_back(o);
  for (auto &o : out.fanout) out.observations.push_back(o);
  observations_ += out.observations.size();
  note_changes(out);
  return out;
}

void HeavyPoller::note_changes(PollResult &out) {
  const PollResult &r = out;
  std::set<HeavyPrefix> now_heavy;
  size_t started = 0, not_logged = 0;
  for (const auto *v : {&r.hosts, &r.networks}) {
    for (const auto &t : *v) {
      now_heavy.insert(t.prefix);
      if (heavy_.count(t.prefix)) continue;
      if (++started > kNoticesPerPoll) {
        ++not_logged;
        continue;
      }
      out.notices.push_back(fmt::format(
          "heavy hitters: {} {}{}", format_heavy_prefix(t.prefix), evidence_of(t),
          t.prefix.host() ? " (conn_rate observed)"
                          : " (a network: reported, not scored; the local model keeps addresses)"));
    }
  }
  if (not_logged > 0)
    out.notices.push_back(fmt::format("heavy hitters: {} more senders at or above {:.0f} SYN/min",
                                      not_logged, s_.min_rate));
  size_t stopped = 0;
  for (const auto &p : heavy_) {
    if (now_heavy.count(p) || ++stopped > kNoticesPerPoll) continue;
    out.notices.push_back(fmt::format("heavy hitters: {} not at or above {:.0f} SYN/min any more",
                                      format_heavy_prefix(p), s_.min_rate));
  }
  if (stopped > kNoticesPerPoll)
    out.notices.push_back(
        fmt::format("heavy hitters: {} more senders not any more", stopped - kNoticesPerPoll));
  heavy_ = std::move(now_heavy);
}

std::string evidence_of(const HeavyTotal &t) {
  std::string planes;
  for (const auto &d : t.dataplanes) planes += (planes.empty() ? "" : " + ") + d;
  std::string e = fmt::format("{:.0f} SYN/min on {}", t.per_minute, planes);
  if (e.size() > kMaxEvidence)
    e = fmt::format("{:.0f} SYN/min on {} data planes", t.per_minute, t.dataplanes.size());
  if (e.size() > kMaxEvidence) e.resize(kMaxEvidence);
  return e;
}

}  // namespace sluice::sluiced::heavy
