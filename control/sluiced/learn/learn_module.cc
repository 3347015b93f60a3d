// The local score model as a sluiced module (docs/learning.md): [learning] in sluiced.ini, the
// daemon's ObservationBus subscribed, one table contribution per kind ("local:KIND"), the state
// file, and the verbs
//
//   learn explain  {addr}   -> each kind's decayed count, points, last observation
//   learn forget   {addr}   -> removed kinds (the undo; rebuilds and pushes before replying)
//   report         {addr, kind?, count?, window?, ttl?, evidence?}   only when sluiced has no
//                  [feed] (the feed's own "report" publishes the same observation on the bus)
//
// Everything runs on the loop's thread.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/module.h"
#include "learn_config.h"
#include "learn_model.h"
#include "learn_state.h"
#include "metrics/exposition.h"
#include "obs/obs_explain.h"
#include "sluice/reputation/address.h"

namespace sluice::sluiced::learn {
namespace {

using nlohmann::json;
namespace rep = sluice::reputation;

// New observations that change the table rebuild it at most this often (or once per step when
// that is shorter): producers are driven by senders, and a flood of threshold crossings must not
// keep the daemon compiling. A rebuild for a few changed addresses is a partial recompile and a
// delta (milliseconds, docs/learning.md "Measured"), so four a second cost little, and a heavy
// sender waits at most this long behind another rebuild (the goal: shaped 2 s after its first
// SYN, of which the data plane's window and the poll take most).
constexpr std::chrono::milliseconds kMinRebuildGap{250};

// The kinds an operator's `report` counts locally: those the feed and the local model share.
bool reportable(LocalKind k) {
  return k == LocalKind::kComplaint || k == LocalKind::kTrapHit || k == LocalKind::kConnRate ||
         k == LocalKind::kPregreet;
}

// COUNT events over WINDOW seconds as a rate per minute (at least 1).
uint32_t per_minute(int64_t count, int64_t window_s) {
  const double r = static_cast<double>(count) * 60.0 / static_cast<double>(window_s);
  return static_cast<uint32_t>(std::clamp(std::llround(r), 1LL, 4000000000LL));
}

// "ADDR", "ADDR/32" or "ADDR/128": one address; nullopt for anything else.
std::optional<rep::IpAddress> parse_host(std::string_view text) {
  const size_t slash = text.find('/');
  auto a = rep::parse_ip(text.substr(0, slash));
  if (!a) return std::nullopt;
  if (slash != std::string_view::npos && text.substr(slash + 1) != (a->family == 4 ? "32" : "128"))
    return std::nullopt;
  return a;
}

rep::IpAddress arg_address(const json &req) {
  const std::string text = arg_string(req, "addr");
  auto a = parse_host(text);
  if (!a)
    throw CommandError(
        fmt::format("addr: '{}' is not an address (the local model keeps single "
                    "addresses)",
                    text.substr(0, 64)));
  return *a;
}

class LearnModule : public Module, public ContributionProvider {
 public:
  std::string module_name() const override { return "learning"; }
  std::string provider_name() const override { return "local"; }

  void describe_config(ConfigSchema &schema) override { describe_learn_config(schema); }
  void configure(const po::variables_map &vm) override {
    cfg_ = read_learn_config(vm);
    // The feed runs when any [feed] key is set (its module refuses a partial section); it then
    // owns the "report" verb and publishes what it is told on the bus.
    feed_configured_ = false;
    for (const auto &[key, value] : vm)
      if (key.rfind("feed.", 0) == 0 && !value.defaulted()) feed_configured_ = true;
  }

  void start(Daemon &d) override {
    daemon_ = &d;
    d.commands().add("learn explain",
                     "the local score model's part in ADDR's score: per kind its decayed count, "
                     "points and last observation",
                     [this](const json &r) { return explain(r); });
    d.commands().add("learn forget", "drop everything the local score model learned about ADDR",
                     [this](const json &r) { return forget(r); });
    if (!feed_configured_)
      d.commands().add("report", "count an observation about ADDR in the local score model",
                       [this](const json &r) { return report(r); });
    if (!cfg_.enabled) {
      log_info("learning: off ([learning] enabled = false)");
      return;
    }
    model_ = std::make_unique<LocalModel>(cfg_.model);
    state_path_ =
        cfg_.state_file.empty() ? d.config().state_dir + "/learning.state" : cfg_.state_file;
    load_state();
    d.observations().subscribe([this](const LocalObservation &o) { on_observation(o); },
                               /*scores=*/true);
    d.add_provider(*this);
    d.loop().add_periodic(cfg_.save_interval, [this] { save(false); });
    live_ = this;
    static const bool registered = [] {
      // One collector per process (the hook is global): it reports the module running now.
      obs::add_metrics_collector("learning", [](metrics::Exposition &e) {
        if (live_ != nullptr) live_->collect(e);
      });
      return true;
    }();
    (void)registered;
  }

  void stop() override {
    if (model_) save(false);
    if (live_ == this) live_ = nullptr;
  }
  ~LearnModule() override {
    if (live_ == this) live_ = nullptr;
  }

  json status() override {
    json j = {{"enabled", model_ != nullptr}};
    if (!model_) return j;
    json observed = json::object(), contributing = json::object();
    const auto per_kind = model_->published_per_kind();
    for (size_t i = 0; i < kLocalKindCount; ++i) {
      const std::string name(to_string(static_cast<LocalKind>(i)));
      observed[name] = model_->observations(static_cast<LocalKind>(i));
      contributing[name] = per_kind[i];
    }
    j["addresses"] = model_->addresses();
    j["max_addresses"] = cfg_.model.max_addresses;
    j["evictions"] = model_->evictions();
    j["observations"] = observed;
    j["contributions"] = contributing;
    j["state_file"] = state_path_;
    j["saves"] = saves_;
    j["save_failures"] = save_failures_;
    return j;
  }

  // ---- ContributionProvider ----
  std::vector<Contribution> contributions(WallClock::time_point now) override {
    std::vector<Contribution> out(kLocalKindCount);
    for (size_t i = 0; i < kLocalKindCount; ++i) {
      rep::SourceConfig &c = out[i].config;
      c.name = "local:" + std::string(to_string(static_cast<LocalKind>(i)));
      c.type = rep::SourceType::kList;
      // No path: explain would read it for entry text (the state file has none to give).
      c.weight = 0;  // every entry carries its own points
    }
    last_evaluated_ = std::chrono::steady_clock::now();
    for (const LocalModel::Entry &e : model_->evaluate(unix_ms(now))) {
      rep::ParsedSource &p = out[static_cast<size_t>(e.kind)].parsed;
      if (e.address.family == 4)
        p.v4.push_back({e.address.v4, e.points, 0, 0, 0, 32, false});
      else
        p.v6.push_back({e.address.v6, e.points, 0, 0, 0, 128, false});
      ++p.entries;
    }
    return out;
  }
  std::optional<WallClock::time_point> next_change() const override {
    auto next = model_ ? model_->next_change() : std::nullopt;
    if (!next) return std::nullopt;
    return WallClock::time_point(std::chrono::milliseconds(*next));
  }

 private:
  void on_observation(const LocalObservation &o) {
    const bool changed = model_->observe(o, wall_now_ms());
    dirty_ = true;
    if (changed)
      request_rebuild(fmt::format("local {} {}", to_string(o.kind), rep::format_ip(o.subject)));
  }

  void request_rebuild(std::string why) {
    if (rebuild_pending_) return;
    const auto gap = std::min(kMinRebuildGap, std::chrono::milliseconds(cfg_.model.step_ms));
    const auto since = std::chrono::steady_clock::now() - last_evaluated_;
    if (since >= gap) {
      daemon_->contributions_changed(why);
      return;
    }
    rebuild_pending_ = true;
    daemon_->loop().add_timer(std::chrono::duration_cast<std::chrono::milliseconds>(gap - since) +
                                  std::chrono::milliseconds(1),
                              [this, why = std::move(why)] {
                                rebuild_pending_ = false;
                                daemon_->contributions_changed(why);
                              });
  }

  void load_state() {
    try {
      const auto recs = read_state_file(state_path_);
      model_->restore(recs, wall_now_ms());
      log_info(fmt::format("learning: {} records for {} addresses from {}", recs.size(),
                           model_->addresses(), state_path_));
    } catch (const StateError &e) {
      const std::string aside = state_path_ + ".bad";
      const bool moved = std::rename(state_path_.c_str(), aside.c_str()) == 0;
      log_error(fmt::format("learning: {}; starting with nothing learned{}", e.what(),
                            moved ? " (the file is set aside as " + aside + ")" : ""));
    }
  }

  void save(bool force) {
    if (!model_ || (!dirty_ && !force)) return;
    try {
      write_state_file(state_path_, model_->records());
      dirty_ = false;
      ++saves_;
      if (save_failing_) log_notice("learning: " + state_path_ + " written again");
      save_failing_ = false;
    } catch (const StateError &e) {
      ++save_failures_;
      if (!save_failing_) log_error(fmt::format("learning: {} (retried)", e.what()));
      save_failing_ = true;
    }
  }

  json explain(const json &req) {
    const rep::IpAddress a = arg_address(req);
    json reply = {{"address", rep::format_ip(a)}, {"enabled", model_ != nullptr}};
    json kinds = json::array();
    int64_t total = 0;
    if (model_) {
      const int64_t now = wall_now_ms();
      const auto published = model_->published(a);
      for (const KindView &v : model_->explain(a, now)) {
        const size_t i = static_cast<size_t>(v.kind);
        const KindSettings &ks = cfg_.model.kinds[i];
        kinds.push_back({{"kind", to_string(v.kind)},
                         {"source", "local:" + std::string(to_string(v.kind))},
                         {"count", v.count},
                         {"points", v.points},
                         {"contribution", published[i]},
                         {"points_now", v.contribution},
                         {"below_threshold", v.below_threshold},
                         {"capped", v.capped},
                         {"weight", ks.weight},
                         {"cap", ks.cap},
                         {"threshold", ks.threshold},
                         {"half_life_ms", ks.half_life_ms},
                         {"rate", is_rate(v.kind)},
                         {"recorded_count", v.record->count},
                         {"recorded_unix_ms", v.record->updated_ms},
                         {"observations", v.record->observations},
                         {"last_seen_unix_ms", v.record->last_seen_ms},
                         {"origin", v.record->origin},
                         {"evidence", v.record->evidence}});
        total += published[i];
      }
      reply["now_unix_ms"] = now;
    }
    reply["kinds"] = kinds;
    reply["total"] = total;
    const rep::Snapshot &t = daemon_->table();
    std::optional<sl_rep_value> v;
    if (a.family == 4) {
      v = t.lookup_v4(sl_htonl(a.v4));
    } else {
      uint8_t b[16];
      rep::v6_to_bytes(a.v6, b);
      v = t.lookup_v6(b);
    }
    reply["table_score"] = v ? v->score : 0;
    return reply;
  }

  json forget(const json &req) {
    const rep::IpAddress a = arg_address(req);
    json removed = json::array();
    if (model_) {
      for (LocalKind k : model_->forget(a)) removed.push_back(to_string(k));
      if (!removed.empty()) {
        dirty_ = true;
        log_notice(fmt::format("learning: forgot {} ({})", rep::format_ip(a), removed.dump()));
        daemon_->rebuild_now("learn forget " + rep::format_ip(a));
      }
    }
    return {{"address", rep::format_ip(a)}, {"removed", removed}};
  }

  // The operator's report when sluiced has no [feed]: the same arguments as the feed's verb,
  // checked the same way, counted here only.
  json report(const json &req) {
    const std::string addr = arg_string(req, "addr");
    const std::string kind_text = arg_opt_string(req, "kind").value_or("complaint");
    const int64_t count = arg_opt_int(req, "count").value_or(1);
    const int64_t ttl = arg_opt_int(req, "ttl").value_or(3600);
    const int64_t window = arg_opt_int(req, "window").value_or(60);
    if (count < 1 || count > 1000000) throw CommandError("count: 1..1000000");
    if (ttl < 60 || ttl > 2592000) throw CommandError("ttl: 60..2592000 seconds");
    if (window < 1 || window > 604800) throw CommandError("window: 1..604800 seconds");
    const std::string evidence = arg_opt_string(req, "evidence").value_or("");
    if (evidence.size() > kMaxEvidence) throw CommandError("evidence: at most 128 characters");
    for (char c : evidence)
      if (c < 0x21 || c > 0x7e) throw CommandError("evidence: printable ASCII without spaces");
    auto kind = local_kind_from_string(kind_text);
    if (!kind || !reportable(*kind))
      throw CommandError(fmt::format(
          "kind: '{}' is not counted locally (complaint, trap_hit, conn_rate or pregreet), and "
          "sluiced has no [feed] to share it",
          kind_text.substr(0, 32)));
    auto a = parse_host(addr);
    if (!a)
      throw CommandError(
          fmt::format("addr: '{}' is not an address (without [feed], a report "
                      "counts in the local model, which keeps single addresses)",
                      addr.substr(0, 64)));
    if (!model_)
      throw CommandError("sluiced has no [feed] and [learning] is off: a report goes nowhere");
    LocalObservation o;
    o.subject = *a;
    o.kind = *kind;
    o.count = static_cast<uint32_t>(count);
    // A rate kind's observation is a rate: COUNT over WINDOW seconds, per minute.
    if (is_rate(*kind)) o.count = per_minute(count, window);
    o.observed_at = WallClock::now();
    o.origin = "sluicectl";
    o.evidence = evidence;
    daemon_->observations().publish(o);
    // As the store's verbs do: in every data plane when the reply comes.
    daemon_->rebuild_now("report " + rep::format_ip(*a));
    log_notice(fmt::format("learning: reported by the operator: {} {} x{}{}", rep::format_ip(*a),
                           kind_text, count, evidence.empty() ? "" : " (" + evidence + ")"));
    return {{"queued", false},
            {"counted_locally", true},
            {"participant", "this site only (no [feed])"},
            {"subject", rep::format_ip(*a)},
            {"kind", kind_text}};
  }

  void collect(metrics::Exposition &e) {
    if (!model_) return;
    using metrics::MetricType;
    e.declare("sluiced_learning_observations_total", MetricType::counter,
              "Observations the local score model folded in, by kind");
    e.declare("sluiced_learning_contributions", MetricType::gauge,
              "Addresses a kind adds points to in the table now");
    const auto per_kind = model_->published_per_kind();
    for (size_t i = 0; i < kLocalKindCount; ++i) {
      const metrics::Labels l = {{"kind", std::string(to_string(static_cast<LocalKind>(i)))}};
      e.add("sluiced_learning_observations_total", l,
            model_->observations(static_cast<LocalKind>(i)));
      e.add("sluiced_learning_contributions", l, static_cast<uint64_t>(per_kind[i]));
    }
    e.declare("sluiced_learning_addresses", MetricType::gauge,
              "Addresses the local score model remembers");
    e.add("sluiced_learning_addresses", {}, static_cast<uint64_t>(model_->addresses()));
    e.declare("sluiced_learning_evictions_total", MetricType::counter,
              "Addresses forgotten to stay within learning.max_addresses");
    e.add("sluiced_learning_evictions_total", {}, model_->evictions());
    e.declare("sluiced_learning_state_save_failures_total", MetricType::counter,
              "Failed writes of the learning state file");
    e.add("sluiced_learning_state_save_failures_total", {}, save_failures_);
  }

  static inline LearnModule *live_ = nullptr;  // the module whose metrics a scrape reports
  LearnConfig cfg_;
  bool feed_configured_ = false;
  Daemon *daemon_ = nullptr;
  std::unique_ptr<LocalModel> model_;
  std::string state_path_;
  bool dirty_ = false, save_failing_ = false, rebuild_pending_ = false;
  std::chrono::steady_clock::time_point last_evaluated_{};
  uint64_t saves_ = 0, save_failures_ = 0;
};

const ModuleRegistrar kLearn([] { return std::make_unique<LearnModule>(); });

}  // namespace
}  // namespace sluice::sluiced::learn
