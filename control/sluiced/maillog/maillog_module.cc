// Postfix log observations as a sluiced module: the [maillog] section (maillog_config.h), a
// LogFollower (log_follower.h) on the daemon's loop (its inotify fd, a check every second, and
// another turn at once while a backlog is left), each line through parse_postfix_line
// (postfix_line.h), each match of a published kind put on the daemon's ObservationBus with origin
// "maillog"; the `maillog recent` verb, status() and the sluiced_maillog_* metrics
// (docs/maillog.md).
#include <poll.h>

#include <chrono>
#include <deque>
#include <memory>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/module.h"
#include "log_follower.h"
#include "maillog_config.h"
#include "obs/obs_explain.h"
#include "postfix_line.h"

namespace sluice::sluiced::maillog {
namespace {

using nlohmann::json;
namespace rep = sluice::reputation;
using namespace std::chrono_literals;

constexpr auto kCheck = 1s;  // how often the path is checked without an inotify event

struct Match {
  int64_t time_unix = 0;
  rep::IpAddress client;
  LocalKind kind = LocalKind::kProtocolError;
  std::string daemon, evidence;
  bool published = false;
};

struct Counters {
  uint64_t matched[kLocalKindCount] = {};
  uint64_t published = 0;
};

class MaillogModule : public Module {
 public:
  std::string module_name() const override { return "maillog"; }
  void describe_config(ConfigSchema &schema) override { describe_maillog_config(schema); }
  void configure(const po::variables_map &vm) override { cfg_ = read_maillog_config(vm); }

  void start(Daemon &d) override {
    daemon_ = &d;
    d.commands().add("maillog recent",
                     "the last Postfix log lines that became observations, and the follower's "
                     "counters",
                     [this](const json &r) { return recent(r); });
    if (!cfg_.enabled) return;
    FollowerOptions o;
    o.path = cfg_.path;
    o.from_start = cfg_.from_start;
    o.max_line = cfg_.max_line;
    follower_ = std::make_unique<LogFollower>(o, [this](std::string_view line) { on_line(line); });
    if (follower_->inotify_fd() >= 0)
      d.loop().add_fd(follower_->inotify_fd(), POLLIN,
                      [this](short) { pump(follower_->on_inotify()); });
    else
      log_warning("maillog: no inotify: " + cfg_.path + " is checked every second only");
    d.loop().add_periodic(kCheck, [this] { pump(follower_->poll()); });
    live_ = this;
    static const bool registered = [] {
      obs::add_metrics_collector("maillog", [](metrics::Exposition &e) {
        if (live_ != nullptr) live_->collect(e);
      });
      return true;
    }();
    (void)registered;
    std::string kinds;
    for (size_t k = 0; k < kLocalKindCount; ++k)
      if (cfg_.publish[k])
        kinds += (kinds.empty() ? "" : ", ") + std::string(to_string(static_cast<LocalKind>(k)));
    log_info("maillog: following " + cfg_.path + (cfg_.from_start ? " from its start" : "") +
             "; publishing " + kinds);
    follower_->start();  // lines written from now on are read, whenever the loop first runs
    report_problem();
    // The first read on the loop's first turn: every module has subscribed to the bus by then.
    d.loop().add_timer(0ms, [this] {
      if (follower_) pump(follower_->poll());
    });
  }

  void stop() override {
    if (live_ == this) live_ = nullptr;
    if (follower_ && daemon_ != nullptr && follower_->inotify_fd() >= 0)
      daemon_->loop().remove_fd(follower_->inotify_fd());
    follower_.reset();
  }
  ~MaillogModule() override {
    if (live_ == this) live_ = nullptr;
  }

  json status() override {
    if (!follower_) return nullptr;
    json s = counters_json();
    s["path"] = cfg_.path;
    s["open"] = follower_->is_open();
    if (!follower_->problem().empty()) s["problem"] = follower_->problem();
    return s;
  }

 private:
  // After a call that left more to read, another turn of the loop reads on (other handlers
  // run in between).
  void pump(bool more) {
    report_problem();
    if (!more || again_ || !follower_) return;
    again_ = true;
    daemon_->loop().add_timer(0ms, [this] {
      again_ = false;
      if (follower_) pump(follower_->poll());
    });
  }

  void report_problem() {
    if (!follower_ || follower_->problem() == said_problem_) return;
    said_problem_ = follower_->problem();
    if (said_problem_.empty())
      log_info("maillog: reading " + cfg_.path + " again");
    else
      log_warning("maillog: " + said_problem_ + "; checked again every second");
  }

  void on_line(std::string_view line) {
    const auto ev = parse_postfix_line(line);
    if (!ev) return;
    const auto k = static_cast<size_t>(ev->kind);
    ++counters_.matched[k];
    Match m;
    m.time_unix = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    m.client = ev->client;
    m.kind = ev->kind;
    m.daemon = ev->daemon;
    m.evidence = ev->evidence;
    m.published = cfg_.publish[k];
    if (m.published) {
      LocalObservation o;
      o.subject = ev->client;
      o.kind = ev->kind;
      o.count = 1;
      o.observed_at = std::chrono::system_clock::now();
      o.origin = "maillog";
      o.evidence = ev->evidence;
      ++counters_.published;
      daemon_->observations().publish(o);
    }
    if (cfg_.recent > 0) {
      if (recent_.size() >= cfg_.recent) recent_.pop_front();
      recent_.push_back(std::move(m));
    }
  }

  json counters_json() const {
    json matched = json::object();
    for (size_t k = 0; k < kLocalKindCount; ++k)
      if (log_kind(static_cast<LocalKind>(k)))
        matched[std::string(to_string(static_cast<LocalKind>(k)))] = counters_.matched[k];
    const auto &f = follower_->counters();
    return {{"lines", f.lines},
            {"bytes", f.bytes},
            {"matched", matched},
            {"published", counters_.published},
            {"overlong", f.overlong},
            {"rotations", f.rotations},
            {"truncations", f.truncations},
            {"opens", f.opens},
            {"open_errors", f.open_errors}};
  }

  json recent(const json &req) {
    json out = {{"enabled", follower_ != nullptr}};
    if (!follower_) return out;
    size_t limit = recent_.size();
    if (req.contains("limit")) {
      const json &l = req["limit"];
      if (!l.is_number_integer() || l.get<int64_t>() < 0)
        throw CommandError("limit: not a whole number of matches");
      limit = std::min<size_t>(l.get<uint64_t>(), recent_.size());
    }
    json list = json::array();
    for (size_t i = recent_.size() - limit; i < recent_.size(); ++i) {
      const Match &m = recent_[i];
      list.push_back({{"time_unix", m.time_unix},
                      {"client", rep::format_ip(m.client)},
                      {"kind", std::string(to_string(m.kind))},
                      {"daemon", m.daemon},
                      {"evidence", m.evidence},
                      {"published", m.published}});
    }
    out["path"] = cfg_.path;
    out["open"] = follower_->is_open();
    out["problem"] = follower_->problem();
    out["recent"] = list;
    out["counters"] = counters_json();
    return out;
  }

  void collect(metrics::Exposition &e) {
    if (!follower_) return;
    using metrics::MetricType;
    const auto &f = follower_->counters();
    const std::pair<const char *, std::pair<uint64_t, const char *>> plain[] = {
        {"sluiced_maillog_lines_total", {f.lines, "Log lines read"}},
        {"sluiced_maillog_overlong_lines_total",
         {f.overlong, "Log lines longer than maillog.max_line, dropped"}},
        {"sluiced_maillog_rotations_total", {f.rotations, "Log files replaced at the path"}},
        {"sluiced_maillog_truncations_total",
         {f.truncations, "Log file truncations (copytruncate)"}},
        {"sluiced_maillog_published_total",
         {counters_.published, "Observations published from the log"}}};
    for (const auto &[name, v] : plain) {
      e.declare(name, MetricType::counter, v.second);
      e.add(name, {}, v.first);
    }
    e.declare("sluiced_maillog_matches_total", MetricType::counter,
              "Log lines that name a misbehaving client, by observation kind");
    for (size_t k = 0; k < kLocalKindCount; ++k)
      if (log_kind(static_cast<LocalKind>(k)))
        e.add("sluiced_maillog_matches_total",
              {{"kind", std::string(to_string(static_cast<LocalKind>(k)))}}, counters_.matched[k]);
    e.declare("sluiced_maillog_file_open", MetricType::gauge,
              "1 while the log file is open and read");
    e.add("sluiced_maillog_file_open", {}, static_cast<uint64_t>(follower_->is_open() ? 1 : 0));
  }

  static inline MaillogModule *live_ = nullptr;  // the module whose metrics a scrape reports
  MaillogConfig cfg_;
  Daemon *daemon_ = nullptr;
  std::unique_ptr<LogFollower> follower_;
  Counters counters_;
  std::deque<Match> recent_;
  std::string said_problem_;
  bool again_ = false;
};

const ModuleRegistrar kMaillog([] { return std::make_unique<MaillogModule>(); });

}  // namespace
}  // namespace sluice::sluiced::maillog
