// The feed as a sluiced module (docs/feed.md, docs/sluiced.md [feed]): reads the [feed] section,
// runs a FeedService, hands its eventfd to the daemon's loop, contributes one table source per
// participant ("feed:NAME"), and adds the verbs "report", "feed status" and "feed explain". A
// report about one address of a kind the local score model knows is also published on the
// daemon's observation bus (learn/ counts it; without [feed], learn/ answers "report" itself).
// Everything here runs on the loop's thread; the service's own threads never call back.
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/module.h"
#include "feed_service.h"
#include "fmt/format.h"
#include "keys.h"
#include "nats_feed.h"

namespace sluice::sluiced {
namespace {

using feed::FeedConfig;
using feed::FeedService;
using nlohmann::json;

constexpr std::chrono::milliseconds kReconnectEvery{2000};
// Contributions decay continuously; the table follows them at this step.
constexpr int64_t kDecayStepMs = 60000;

std::vector<std::string> split_servers(const std::string &text) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(text);
  while (std::getline(in, cur, ',')) {
    const size_t b = cur.find_first_not_of(" \t"), e = cur.find_last_not_of(" \t");
    if (b == std::string::npos) throw ConfigError("feed.servers: an empty server in the list");
    cur = cur.substr(b, e - b + 1);
    if (cur.rfind("nats://", 0) != 0 && cur.rfind("tls://", 0) != 0)
      throw ConfigError(fmt::format("feed.servers: '{}' is not nats://HOST:PORT", cur));
    out.push_back(cur);
  }
  if (out.empty()) throw ConfigError("feed.servers: no server");
  return out;
}

// Prefixes the operator decided locally (allowlists, the dynamic store's entries), from the
// last build: the feed contributes nothing to a subject inside one of them.
class LocalIndex {
 public:
  explicit LocalIndex(const BuildInput &b) {
    for (size_t i = 0; i < b.configs.size() && i < b.parsed.size(); ++i) {
      const auto &c = b.configs[i];
      if (c.name.rfind("feed:", 0) == 0 || !b.parsed[i]) continue;
      if (!c.allow && c.name != "dynamic") continue;
      for (const auto &e : b.parsed[i]->v4)
        if (!e.exclude) v4_.insert({e.addr, e.len});
      for (const auto &e : b.parsed[i]->v6)
        if (!e.exclude) v6_.insert({e.addr, e.len});
    }
  }
  bool covers(const feed::Prefix &p) const {
    if (p.family == 4) {
      for (int len = 0; len <= p.len; ++len)
        if (v4_.count({p.v4 & reputation::prefix_mask<uint32_t>(len), static_cast<uint8_t>(len)}))
          return true;
      return false;
    }
    for (int len = 0; len <= p.len; ++len)
      if (v6_.count(
              {p.v6 & reputation::prefix_mask<reputation::U128>(len), static_cast<uint8_t>(len)}))
        return true;
    return false;
  }
  bool empty() const { return v4_.empty() && v6_.empty(); }

 private:
  std::set<std::pair<uint32_t, uint8_t>> v4_;
  std::set<std::pair<reputation::U128, uint8_t>> v6_;
};

json contribution_json(const feed::Contribution &c) {
  return {{"participant", c.participant},
          {"subject", feed::format_prefix(c.subject)},
          {"weight", c.weight},
          {"raw_weight", c.raw_weight},
          {"expires_unix", c.expires_ms / 1000},
          {"reports", c.reports},
          {"last_kind", feed::to_string(c.last_kind)},
          {"last_evidence", c.last_evidence},
          {"held_by_quorum", c.held_by_quorum},
          {"decided_locally", c.decided_locally}};
}

class FeedModule : public Module, public ContributionProvider {
 public:
  std::string module_name() const override { return "feed"; }
  std::string provider_name() const override { return "feed"; }

  void describe_config(ConfigSchema &schema) override {
    po::options_description d("[feed]");
    d.add_options()                                                                           //
        ("feed.servers", po::value<std::string>(), "nats://HOST:PORT[, ...] of the cluster")  //
        ("feed.credentials", po::value<std::string>(), "file with user = and password =")     //
        ("feed.participant", po::value<std::string>(), "this site's participant name")        //
        ("feed.key", po::value<std::string>(), "this site's Ed25519 secret key file")         //
        ("feed.trust", po::value<std::string>(), "the trust file (participants, keys)")       //
        ("feed.state", po::value<std::string>(), "state file (default STATE_DIR/feed.state)");
    schema.add_section(d);
  }

  void configure(const po::variables_map &vm) override {
    auto get = [&](const char *k) { return vm.count(k) ? vm[k].as<std::string>() : std::string(); };
    const bool any = vm.count("feed.servers") || vm.count("feed.participant") ||
                     vm.count("feed.key") || vm.count("feed.trust") ||
                     vm.count("feed.credentials") || vm.count("feed.state");
    if (!any) return;  // no [feed]: the module stays off
    for (const char *k : {"feed.servers", "feed.participant", "feed.key", "feed.trust"})
      if (!vm.count(k)) throw ConfigError(fmt::format("{}: required in [feed]", k));
    cfg_.servers = split_servers(get("feed.servers"));
    cfg_.participant = get("feed.participant");
    if (!feed::valid_participant(cfg_.participant))
      throw ConfigError("feed.participant: 1..63 of a-z 0-9 - _, starting with a letter or digit");
    cfg_.key_file = get("feed.key");
    cfg_.trust_file = get("feed.trust");
    cfg_.credentials_file = get("feed.credentials");
    cfg_.state_file = get("feed.state");
    // Read the files now, so `sluiced --check` reports them.
    feed::load_secret_key(cfg_.key_file);
    feed::load_trust_file(cfg_.trust_file);
    if (!cfg_.credentials_file.empty()) {
      feed::NatsSettings s;
      feed::load_credentials(cfg_.credentials_file, s);
    }
    enabled_ = true;
  }

  void start(Daemon &d) override {
    if (!enabled_) return;
    daemon_ = &d;
    if (cfg_.state_file.empty()) cfg_.state_file = d.config().state_dir + "/feed.state";
    service_ = std::make_unique<FeedService>(cfg_);
    d.add_provider(*this);
    d.loop().add_fd(service_->fd(), POLLIN, [this](short) {
      if (service_->process(wall_now_ms()) > 0) daemon_->contributions_changed("feed");
    });
    add_commands(d);
    connect();
  }

  void stop() override {
    if (!service_) return;
    if (daemon_) daemon_->loop().remove_fd(service_->fd());
    service_->stop();
  }

  json status() override {
    if (!service_) return nullptr;
    return status_json();
  }

  std::vector<Contribution> contributions(WallClock::time_point now) override {
    const LocalIndex local(daemon_->last_build());
    feed::LocalDecision decided;
    if (!local.empty()) decided = [&local](const feed::Prefix &p) { return local.covers(p); };
    service_->model().expire(unix_ms(now));
    feed::TableSources t = service_->model().table_sources(unix_ms(now), 0, decided);
    std::vector<Contribution> out;
    for (size_t i = 0; i < t.configs.size(); ++i)
      out.push_back({std::move(t.configs[i]), std::move(t.sources[i])});
    return out;
  }

  std::optional<WallClock::time_point> next_change() const override {
    if (!service_ || service_->model().entries() == 0) return std::nullopt;
    const int64_t now = wall_now_ms();
    int64_t next = now + kDecayStepMs;
    if (int64_t e = service_->model().next_expiry(now); e != 0 && e < next) next = e;
    return WallClock::time_point(std::chrono::milliseconds(next));
  }

 private:
  void connect() {
    try {
      service_->start();
      log_notice(
          fmt::format("feed: connected as {} to {}", cfg_.participant, cfg_.servers.front()));
    } catch (const sluice::Error &e) {
      log_warning(fmt::format("feed: {}; retrying every {} ms (local operation goes on)", e.what(),
                              kReconnectEvery.count()));
      daemon_->loop().add_timer(kReconnectEvery, [this] { connect(); });
    }
  }

  json status_json() const {
    const feed::FeedStatus s = service_->status();
    json refused = json::object(), skipped = json::object();
    for (size_t i = 0; i < feed::kRefusalCount; ++i)
      refused[std::string(feed::to_string(static_cast<feed::Refusal>(i)))] = s.refused[i];
    for (size_t i = 0; i < feed::kSkipCount; ++i)
      skipped[std::string(feed::to_string(static_cast<feed::Skip>(i)))] = s.skipped[i];
    json participants = json::array();
    for (const auto &p : service_->model().config().participants)
      participants.push_back({{"name", p.name},
                              {"weight", p.weight},
                              {"cap", p.cap},
                              {"half_life_s", p.half_life_ms / 1000},
                              {"entries", service_->model().entries(p.name)}});
    return {{"participant", cfg_.participant},
            {"connected", s.connected},
            {"published_batches", s.published_batches},
            {"published_observations", s.published_observations},
            {"publish_failures", s.publish_failures},
            {"queued_reports", s.queued_reports},
            {"accepted_batches", s.accepted_batches},
            {"accepted_observations", s.accepted_observations},
            {"refused", refused},
            {"skipped", skipped},
            {"full_refusals", s.full_refusals},
            {"entries", s.entries},
            {"state_save_failures", s.state_save_failures},
            {"participants", participants}};
  }

  void add_commands(Daemon &d) {
    d.commands().add(
        "report", "publish an observation about ADDR to the feed", [this](const json &req) {
          const std::string addr = arg_string(req, "addr");
          auto subject = feed::parse_prefix(addr);
          if (!subject)
            throw CommandError(fmt::format("addr: '{}' is not an address or prefix", addr));
          const std::string kind_text = arg_opt_string(req, "kind").value_or("complaint");
          auto kind = feed::kind_from_string(kind_text);
          if (!kind) throw CommandError(fmt::format("kind: unknown kind '{}'", kind_text));
          feed::Observation o;
          o.subject = *subject;
          o.kind = *kind;
          const int64_t count = arg_opt_int(req, "count").value_or(1);
          const int64_t ttl = arg_opt_int(req, "ttl").value_or(3600);
          const int64_t window = arg_opt_int(req, "window").value_or(60);
          if (count < 1 || count > static_cast<int64_t>(feed::kMaxCount))
            throw CommandError("count: 1..1000000");
          if (ttl < static_cast<int64_t>(feed::kMinTtlSeconds) ||
              ttl > static_cast<int64_t>(feed::kMaxTtlSeconds))
            throw CommandError("ttl: 60..2592000 seconds");
          if (window < 1 || window > static_cast<int64_t>(feed::kMaxWindowSeconds))
            throw CommandError("window: 1..604800 seconds");
          o.count = static_cast<uint32_t>(count);
          o.ttl_s = static_cast<uint32_t>(ttl);
          o.window_s = static_cast<uint32_t>(window);
          o.observed_at_ms = wall_now_ms();
          o.evidence = arg_opt_string(req, "evidence").value_or("");
          if (!o.evidence.empty()) {
            if (o.evidence.size() > feed::kMaxEvidence)
              throw CommandError("evidence: at most 128 characters");
            for (char c : o.evidence)
              if (c < 0x21 || c > 0x7e)
                throw CommandError("evidence: printable ASCII without spaces");
          }
          service_->report(o);
          return json{{"queued", true},
                      {"counted_locally", count_locally(o)},
                      {"participant", cfg_.participant},
                      {"subject", feed::format_prefix(o.subject)},
                      {"kind", feed::to_string(o.kind)}};
        });
    d.commands().add("feed status", "the feed: connection, counters, participants",
                     [this](const json &) { return status_json(); });
    d.commands().add(
        "feed explain", "each participant's contribution to ADDR and its expiry",
        [this](const json &req) {
          const std::string addr = arg_string(req, "addr");
          auto subject = feed::parse_prefix(addr);
          if (!subject || subject->len != (subject->family == 4 ? 32 : 128))
            throw CommandError(fmt::format("addr: '{}' is not an address", addr));
          const LocalIndex local(daemon_->last_build());
          feed::LocalDecision decided;
          if (!local.empty()) decided = [&local](const feed::Prefix &p) { return local.covers(p); };
          json list = json::array();
          // As the score model counts it: per participant, its most specific subject decides.
          std::map<std::string, std::pair<int, int32_t>> deciding;
          for (const auto &c : service_->model().explain(*subject, wall_now_ms(), decided)) {
            list.push_back(contribution_json(c));
            auto &[len, weight] = deciding[c.participant];
            if (c.subject.len >= len) len = c.subject.len, weight = c.weight;
          }
          int64_t total = 0;
          for (const auto &[name, d] : deciding) total += d.second;
          return json{{"addr", addr}, {"contributions", list}, {"total", total}};
        });
  }

  // The operator's report also counts in this site's own local score model (docs/learning.md)
  // when it is about one address and of a kind the model knows (complaint, trap_hit, conn_rate,
  // pregreet): published on the daemon's observation bus. Returns whether anyone took it.
  bool count_locally(const feed::Observation &o) {
    auto kind = local_kind_from_string(feed::to_string(o.kind));
    const bool host = o.subject.len == (o.subject.family == 4 ? 32 : 128);
    if (!kind || !host || o.kind == feed::Kind::kShaped || o.kind == feed::Kind::kBlocked ||
        o.kind == feed::Kind::kVouch)
      return false;
    LocalObservation lo;
    lo.subject.family = o.subject.family;
    lo.subject.v4 = o.subject.v4;
    lo.subject.v6 = o.subject.v6;
    lo.kind = *kind;
    lo.count = o.count;
    if (is_rate(*kind))  // COUNT over WINDOW seconds: the model takes SYNs per minute
      lo.count = static_cast<uint32_t>(std::clamp<uint64_t>(
          (uint64_t{o.count} * 60 + o.window_s / 2) / std::max<uint32_t>(1, o.window_s), 1,
          UINT32_MAX));
    lo.observed_at = WallClock::time_point(std::chrono::milliseconds(o.observed_at_ms));
    lo.origin = "sluicectl";
    lo.evidence = o.evidence;
    daemon_->observations().publish(lo);
    return daemon_->observations().has_subscribers();
  }

  FeedConfig cfg_;
  bool enabled_ = false;
  Daemon *daemon_ = nullptr;
  std::unique_ptr<FeedService> service_;
};

const ModuleRegistrar kFeed([] { return std::make_unique<FeedModule>(); });

}  // namespace
}  // namespace sluice::sluiced
