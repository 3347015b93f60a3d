#include "decision_log.h"

#include <fmt/format.h>

namespace sluice::sluiced::decision_log {

std::string_view verb(Action a) {
  switch (a) {
    case Action::tarpit:
      return "TARPIT";
    case Action::block:
      return "BLOCK";
    case Action::shape:
      break;
  }
  return "SHAPE";
}

Action action_of(const sl_profile &p) {
  if (p.block != SL_BLOCK_NONE) return Action::block;
  if (p.tarpit != 0) return Action::tarpit;
  return Action::shape;
}

std::string sanitize(std::string_view text) {
  std::string out(text);
  for (char &c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

namespace {

std::string bracketed(const std::string &address, uint16_t port) {
  return fmt::format("[{}]:{}", sanitize(address), port);
}

std::string signed_weight(int32_t w) {
  return fmt::format("{:+d}", w);
}

std::string level_name_of(const control::DataplaneStats *stats, uint32_t level) {
  if (stats != nullptr && level < stats->levels.size() && !stats->levels[level].name.empty())
    return sanitize(stats->levels[level].name);
  return fmt::format("level{}", level);
}

}  // namespace

DecisionLog::DecisionLog(const DecisionLogConfig &config, Explain explain, Clock::time_point now)
    : config_(config), explain_(std::move(explain)), limiter_(config.limits, now) {}

namespace {

// A level's name as a line shows it: with its observe mode said, if it has one.
std::string level_text(const std::string &name, bool observing) {
  return observing ? name + " (observe: forwarded unchanged)" : name;
}

}  // namespace

LogLine DecisionLog::flow_line(const std::string &dataplane, const control::DataplaneFlow &f,
                               const std::string &level_name, Action action, bool observing) const {
  std::optional<SenderVerdict> v;
  if (explain_) v = explain_(f.client);
  std::string score = "score unknown";
  std::string sources;
  if (v) {
    score = fmt::format("score {}", v->score);
    for (const auto &c : v->sources) {
      if (!sources.empty()) sources += ", ";
      sources += fmt::format("{} {}", sanitize(c.source), signed_weight(c.weight));
    }
    if (v->deny) sources += sources.empty() ? "operator deny" : ", operator deny";
    if (!sources.empty()) score += fmt::format(" ({})", sources);
  }
  LogLine l;
  l.message = fmt::format("{} {} to {}: level {}, {}, data plane {}", verb(action),
                          bracketed(f.client, f.client_port), bracketed(f.server, f.server_port),
                          level_text(level_name, observing), score, sanitize(dataplane));
  l.fields = {{"SLUICE_ACTION", std::string(verb(action))},
              {"SLUICE_SENDER", sanitize(f.client)},
              {"SLUICE_SENDER_PORT", std::to_string(f.client_port)},
              {"SLUICE_SERVER", sanitize(f.server)},
              {"SLUICE_SERVER_PORT", std::to_string(f.server_port)},
              {"SLUICE_LEVEL", level_name},
              {"SLUICE_DATAPLANE", sanitize(dataplane)}};
  if (observing) l.fields.emplace_back("SLUICE_OBSERVE", "1");
  if (v) {
    l.fields.emplace_back("SLUICE_SCORE", std::to_string(v->score));
    l.fields.emplace_back("SLUICE_SOURCES", sources);
  }
  return l;
}

std::vector<LogLine> DecisionLog::observe(const std::string &dataplane,
                                          const std::vector<control::DataplaneFlow> &flows,
                                          bool complete, const control::DataplaneStats *stats,
                                          Clock::time_point now) {
  std::vector<LogLine> out;
  auto it = planes_.find(dataplane);
  if (it == planes_.end())
    it = planes_.emplace(dataplane, Plane{FlowMemory(config_.max_remembered_flows), {}, {}, false})
             .first;
  Plane &p = it->second;
  p.memory.begin_poll();
  for (const auto &f : flows) {
    if (f.level == 0) continue;  // not shaped (a level the policy dropped, say)
    if (!p.memory.seen(f)) continue;
    if (!limiter_.admit(f.client, now)) continue;
    const Action a = f.level < actions_.size() ? actions_[f.level] : Action::shape;
    out.push_back(flow_line(dataplane, f, level_name_of(stats, f.level), a, observing(f.level)));
  }
  p.memory.end_poll(complete);

  if (stats != nullptr) {
    const size_t n = std::min<size_t>(stats->levels.size(), SL_MAX_LEVELS);
    std::vector<uint64_t> syns(n), made(n);
    for (size_t l = 0; l < n; ++l) {
      syns[l] = stats->totals.level[l].syns;
      made[l] = stats->totals.level[l].flows;
    }
    if (p.have_baseline) {
      for (size_t l = 1; l < n && l < p.syns.size(); ++l) {
        // A counter that went down: the data plane restarted; this poll is the new baseline.
        if (syns[l] < p.syns[l] || made[l] < p.flows[l]) continue;
        const uint64_t attempts = syns[l] - p.syns[l];
        const uint64_t flowed = made[l] - p.flows[l];
        if (attempts <= flowed) continue;
        // With the policy known, only a blocking level's missing flows are blocks (elsewhere
        // they are flows a full flow table could not hold, counted as flow_table_full).
        if (!actions_.empty() && (l >= actions_.size() || actions_[l] != Action::block)) continue;
        if (!limiter_.admit("", now)) continue;
        const std::string name = level_name_of(stats, static_cast<uint32_t>(l));
        LogLine line;
        line.message = fmt::format(
            "BLOCK {} connection attempts at level {}: senders not recorded (a blocked SYN keeps "
            "no state), data plane {}",
            attempts - flowed, level_text(name, observing(l)), sanitize(dataplane));
        line.fields = {{"SLUICE_ACTION", "BLOCK"},
                       {"SLUICE_ATTEMPTS", std::to_string(attempts - flowed)},
                       {"SLUICE_LEVEL", name},
                       {"SLUICE_DATAPLANE", sanitize(dataplane)}};
        if (observing(l)) line.fields.emplace_back("SLUICE_OBSERVE", "1");
        out.push_back(std::move(line));
      }
    }
    p.syns = std::move(syns);
    p.flows = std::move(made);
    p.have_baseline = true;
  }
  logged_ += out.size();
  return out;
}

std::optional<LogLine> DecisionLog::summary(Clock::time_point now) {
  const std::optional<Suppressed> n = limiter_.summary(now);
  if (!n) return std::nullopt;
  const auto &lim = config_.limits;
  LogLine l;
  l.message = fmt::format(
      "SUPPRESSED {} decision log lines in the last {} s (limits: {}/s per sender, {}/s overall)",
      n->lines, n->seconds, lim.per_sender_rate, lim.overall_rate);
  l.fields = {{"SLUICE_ACTION", "SUPPRESSED"}, {"SLUICE_SUPPRESSED", std::to_string(n->lines)}};
  ++logged_;
  return l;
}

}  // namespace sluice::sluiced::decision_log
