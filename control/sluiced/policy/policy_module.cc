// The Postfix policy service as a sluiced module: the [policy] section (policy_config.h), the
// listener on the daemon's loop (policy_server.h), answers from the daemon's table and the
// policy file's levels (policy_service.h), trap hits published as trap_hit observations on the
// daemon's bus (the local score model, learn/, counts them) or, when nothing subscribes
// ([learning] enabled = false), written as dynamic entries through the store's own verb
// ("host set", so `sluicectl clear` undoes them), the `policy recent` verb and the
// sluiced_policy_* metrics (docs/metrics.md).
#include <arpa/inet.h>
#include <poll.h>
#include <sys/stat.h>

#include <chrono>
#include <map>
#include <memory>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/module.h"
#include "obs/obs_explain.h"
#include "policy_config.h"
#include "policy_file.h"
#include "policy_server.h"
#include "policy_service.h"

namespace sluice::sluiced::policy {
namespace {

using nlohmann::json;
namespace rep = sluice::reputation;
using namespace std::chrono_literals;

constexpr auto kExpireTick = 250ms;
constexpr auto kPolicyCheck = 1s;  // how often the policy file's levels are checked for change
// Hits from one address within this time are one hit: one observation, or one dynamic entry (its
// ttl runs from the first).
constexpr auto kTrapCoalesce = 10s;
constexpr size_t kMaxTrapMemory = 4096;
// Refused requests are logged at most this many times per window; the rest are counted.
constexpr int kRefusalLogsPerWindow = 20;
constexpr auto kRefusalLogWindow = 60s;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class PolicyModule : public Module {
 public:
  std::string module_name() const override { return "policy"; }
  void describe_config(ConfigSchema &schema) override { describe_policy_config(schema); }
  void configure(const po::variables_map &vm) override { cfg_ = read_policy_config(vm); }

  void start(Daemon &d) override {
    daemon_ = &d;
    d.commands().add("policy recent",
                     "the Postfix policy service's last requests (client, HELO, sender domain, "
                     "answer) and counters",
                     [this](const json &r) { return recent(r); });
    if (!cfg_.enabled) return;
    service_ = std::make_unique<PolicyService>(
        cfg_, [this](const rep::IpAddress &a) { return lookup(a); },
        [this](const rep::IpAddress &a, const std::string &trap) { on_trap(a, trap); }, unix_now);
    load_levels(true);
    server_ = std::make_unique<PolicyServer>(
        cfg_.listen, cfg_.socket_mode, cfg_.socket_group, cfg_.limits,
        [this](const PolicyRequest &req, std::string &out) { service_->answer(req, out); },
        [this](Refusal r, const std::string &detail, const std::string &peer) {
          refused(r, detail, peer);
        });
    d.loop().add_fd(server_->fd(), POLLIN, [this](short) { server_->on_ready(); });
    d.loop().add_periodic(kExpireTick, [this] { server_->expire(); });
    if (!d.config().policy.empty())
      d.loop().add_periodic(kPolicyCheck, [this] { load_levels(false); });
    live_ = this;
    static const bool registered = [] {
      // One collector per process (the hook is global): it reports the module running now.
      obs::add_metrics_collector("policy", [](metrics::Exposition &e) {
        if (live_ != nullptr) live_->collect(e);
      });
      return true;
    }();
    (void)registered;
    log_info("policy service: listening on " + listen_text() + ", " +
             std::to_string(cfg_.traps.size()) + " trap recipients");
  }

  void stop() override {
    if (live_ == this) live_ = nullptr;
    if (server_ && daemon_ != nullptr) daemon_->loop().remove_fd(server_->fd());
    server_.reset();
  }
  ~PolicyModule() override {
    if (live_ == this) live_ = nullptr;
  }

  json status() override {
    if (!server_) return nullptr;
    const auto &c = service_->recorder().counters();
    uint64_t refused = 0;
    for (auto n : c.refusals) refused += n;
    return {{"listen", listen_text()},
            {"clients", server_->clients()},
            {"requests", c.requests},
            {"refused", refused},
            {"trap_hits", c.trap_hits}};
  }

 private:
  std::string listen_text() const {
    if (server_ && cfg_.listen.kind == Listen::Kind::kInet) {
      Listen l = cfg_.listen;
      l.port = server_->port();
      return l.text();
    }
    return cfg_.listen.text();
  }

  std::optional<sl_rep_value> lookup(const rep::IpAddress &a) const {
    const rep::Snapshot &t = daemon_->table();
    if (a.family == 4) return t.lookup_v4(htonl(a.v4));
    uint8_t b[16];
    rep::v6_to_bytes(a.v6, b);
    return t.lookup_v6(b);
  }

  // The levels of the policy file sluiced pushes, read again when the file changes (its size or
  // time). A file that does not parse keeps the levels in force, said once.
  void load_levels(bool first) {
    const std::string &path = daemon_->config().policy;
    if (path.empty()) {
      if (first)
        log_notice(
            "policy service: no policy file in [sluiced]: every client is answered as "
            "level 0");
      return;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return;
    const auto stamp =
        std::make_pair(static_cast<int64_t>(st.st_size),
                       static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
    if (!first && stamp == policy_stamp_) return;
    policy_stamp_ = stamp;
    try {
      const dataplane::PolicyFile p = dataplane::load_policy(path);
      Levels l;
      l.policy = p.policy;
      l.names = p.level_names;
      service_->set_levels(std::move(l));
      log_info("policy service: levels from " + path + " (" + std::to_string(p.policy.nlevels) +
               " levels)");
    } catch (const std::exception &e) {
      log_error(std::string("policy service: ") + e.what() + " (the levels in force stay)");
    }
  }

  void refused(Refusal r, const std::string &detail, const std::string &peer) {
    service_->recorder().refused(r);
    const auto now = std::chrono::steady_clock::now();
    if (now - log_window_start_ >= kRefusalLogWindow) {
      if (logs_suppressed_ > 0)
        log_warning("policy service: " + std::to_string(logs_suppressed_) +
                    " more refused requests not logged in the last minute");
      log_window_start_ = now;
      logs_in_window_ = 0;
      logs_suppressed_ = 0;
    }
    if (logs_in_window_++ < kRefusalLogsPerWindow)
      log_warning("policy service: request from " + peer + " refused (" +
                  std::string(to_string(r)) + "): " + detail + "; connection closed");
    else
      ++logs_suppressed_;
  }

  // A trap recipient: the observation (or the client's dynamic entry) is made after this
  // request's reply, on the next turn of the loop. Hits from one address within kTrapCoalesce
  // are one hit (a message to several traps, a restriction class asking twice).
  void on_trap(const rep::IpAddress &a, const std::string &trap) {
    const std::string addr = rep::format_ip(a);
    const auto now = std::chrono::steady_clock::now();
    if (auto it = trap_written_.find(addr);
        it != trap_written_.end() && now - it->second < kTrapCoalesce)
      return;
    if (trap_written_.size() >= kMaxTrapMemory) {
      std::erase_if(trap_written_,
                    [&](const auto &kv) { return now - kv.second >= kTrapCoalesce; });
      if (trap_written_.size() >= kMaxTrapMemory) trap_written_.clear();
    }
    trap_written_[addr] = now;
    daemon_->loop().add_timer(0ms, [this, a, addr, trap] {
      // With the local score model running, the hit is one trap_hit observation and only that
      // (an entry as well would count it twice); without it, the dynamic entry of old (the feed
      // may still share the observation).
      const bool learning = daemon_->observations().scored();
      publish_trap(a, trap);
      if (learning)
        log_notice("policy service: trap hit: " + addr + " wrote to " + trap +
                   "; counted as trap_hit by the local score model (sluicectl learn explain " +
                   addr + "; undo: sluicectl learn forget " + addr + ")");
      else
        write_trap_entry(addr, trap);
    });
  }

  void publish_trap(const rep::IpAddress &a, const std::string &trap) {
    LocalObservation o;
    o.subject = a;
    o.kind = LocalKind::kTrapHit;
    o.observed_at = std::chrono::system_clock::now();
    o.origin = "policy";
    o.evidence = trap.substr(0, 128);
    daemon_->observations().publish(o);
    ++trap_observations_;
  }

  void write_trap_entry(const std::string &addr, const std::string &trap) {
    auto &c = service_->recorder().counters();
    const json req = {{"cmd", "host set"},
                      {"prefix", addr},
                      {"action", "score"},
                      {"score", cfg_.trap_score},
                      {"ttl", std::to_string(cfg_.trap_ttl.count())},
                      {"reason", "trap_hit " + trap},
                      {"origin", "policy service"}};
    try {
      daemon_->commands().handle(req);
      ++c.trap_entries;
      log_notice("policy service: trap hit: " + addr + " wrote to " + trap +
                 "; dynamic entry score " + std::to_string(cfg_.trap_score) + " for " +
                 std::to_string(cfg_.trap_ttl.count()) + "s (undo: sluicectl clear " + addr + ")");
    } catch (const std::exception &e) {
      ++c.trap_errors;
      log_error("policy service: trap hit by " + addr + " on " + trap +
                ": the dynamic entry was not written: " + e.what());
    }
  }

  json recent(const json &req) {
    json out = {{"enabled", service_ != nullptr}};
    if (!service_) return out;
    size_t limit = cfg_.recent;
    if (req.contains("limit")) {
      const json &l = req["limit"];
      if (!l.is_number_integer() || l.get<int64_t>() < 0)
        throw CommandError("limit: not a whole number of requests");
      limit = std::min<size_t>(l.get<uint64_t>(), kMaxRecent);
    }
    json list = json::array();
    for (const auto &r : service_->recorder().recent(limit)) list.push_back(Recorder::to_json(r));
    const auto &c = service_->recorder().counters();
    json refusals = json::object();
    for (size_t k = 1; k < kRefusalKinds; ++k)
      refusals[std::string(to_string(static_cast<Refusal>(k)))] = c.refusals[k];
    const auto &sc = server_->counters();
    out["listen"] = listen_text();
    out["recent"] = list;
    out["counters"] = {{"requests", c.requests},
                       {"replies", c.replies},
                       {"refusals", refusals},
                       {"trap_hits", c.trap_hits},
                       {"trap_entries", c.trap_entries},
                       {"trap_errors", c.trap_errors},
                       {"trap_observations", trap_observations_},
                       {"unknown_clients", c.unknown_clients},
                       {"connections", sc.connections},
                       {"clients", server_->clients()},
                       {"evicted", sc.evicted},
                       {"timeouts", sc.timeouts},
                       {"refused_peers", sc.refused_peer}};
    return out;
  }

  void collect(metrics::Exposition &e) {
    if (!service_ || !server_) return;
    using metrics::MetricType;
    const auto &c = service_->recorder().counters();
    const auto &sc = server_->counters();
    e.declare("sluiced_policy_requests_total", MetricType::counter,
              "Postfix policy requests answered");
    e.add("sluiced_policy_requests_total", {}, c.requests);
    e.declare("sluiced_policy_replies_total", MetricType::counter,
              "Postfix policy replies, by the action's first word");
    for (const auto &[verb, n] : c.replies)
      e.add("sluiced_policy_replies_total", {{"action", verb}}, n);
    e.declare("sluiced_policy_refusals_total", MetricType::counter,
              "Policy requests refused (connection closed without a reply), by reason");
    for (size_t k = 1; k < kRefusalKinds; ++k)
      e.add("sluiced_policy_refusals_total",
            {{"reason", std::string(to_string(static_cast<Refusal>(k)))}}, c.refusals[k]);
    e.declare("sluiced_policy_trap_hits_total", MetricType::counter,
              "Policy requests whose recipient is a spam trap");
    e.add("sluiced_policy_trap_hits_total", {}, c.trap_hits);
    e.declare("sluiced_policy_trap_entries_total", MetricType::counter,
              "Dynamic entries written for trap hits");
    e.add("sluiced_policy_trap_entries_total", {}, c.trap_entries);
    e.declare("sluiced_policy_trap_entry_errors_total", MetricType::counter,
              "Trap hits whose dynamic entry could not be written");
    e.add("sluiced_policy_trap_entry_errors_total", {}, c.trap_errors);
    e.declare("sluiced_policy_trap_observations_total", MetricType::counter,
              "Trap hits published as trap_hit observations (the local score model counts them)");
    e.add("sluiced_policy_trap_observations_total", {}, trap_observations_);
    e.declare("sluiced_policy_unknown_clients_total", MetricType::counter,
              "Policy requests without a usable client_address (answered as level 0)");
    e.add("sluiced_policy_unknown_clients_total", {}, c.unknown_clients);
    const std::pair<const char *, uint64_t> conn[] = {{"connections", sc.connections},
                                                      {"evicted", sc.evicted},
                                                      {"timeouts", sc.timeouts},
                                                      {"refused_peers", sc.refused_peer}};
    for (const auto &[name, n] : conn) {
      const std::string m = std::string("sluiced_policy_") + name + "_total";
      e.declare(m, MetricType::counter, std::string("Policy service connections: ") + name);
      e.add(m, {}, n);
    }
    e.declare("sluiced_policy_clients", MetricType::gauge, "Policy service connections open now");
    e.add("sluiced_policy_clients", {}, static_cast<uint64_t>(server_->clients()));
  }

  static inline PolicyModule *live_ = nullptr;  // the module whose metrics a scrape reports
  PolicyConfig cfg_;
  Daemon *daemon_ = nullptr;
  std::unique_ptr<PolicyService> service_;
  std::unique_ptr<PolicyServer> server_;
  std::pair<int64_t, int64_t> policy_stamp_{-1, -1};
  std::map<std::string, std::chrono::steady_clock::time_point> trap_written_;
  uint64_t trap_observations_ = 0;
  std::chrono::steady_clock::time_point log_window_start_{};
  int logs_in_window_ = 0;
  uint64_t logs_suppressed_ = 0;
};

const ModuleRegistrar kPolicy([] { return std::make_unique<PolicyModule>(); });

}  // namespace
}  // namespace sluice::sluiced::policy
