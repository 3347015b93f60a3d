// The feed as a sluiced module (docs/feed.md, docs/sluiced.md [feed]): reads the [feed] section,
// runs a FeedService, hands its eventfd to the daemon's loop, contributes one table source per
// participant ("feed:NAME"), and adds the verbs "report", "feed status" and "feed explain". A
// report about one address of a kind the local score model knows is also published on the
// daemon's observation bus (learn/ counts it; without [feed], learn/ answers "report" itself).
// The other way round, what the bus carries from this site's own sources (the data planes' heavy
// hitters, pregreet clients and verdicts, trap hits, complaints) is published to the feed through
// a LocalShare, which merges repeats and caps the rate ([feed] share*); a verdict (shaped,
// blocked) about a sender the feed itself scores is not.
// Everything here runs on the loop's thread; the service's own threads never call back.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
#include "input_text.h"
#include "keys.h"
#include "liveness.h"
#include "local_share.h"
#include "metrics/exposition.h"
#include "nats_feed.h"
#include "prefix_set.h"
#include "obs/obs_explain.h"
#include "share_config.h"

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
feed::PrefixSet local_decisions(const BuildInput &b) {
  feed::PrefixSet out;
  for (size_t i = 0; i < b.configs.size() && i < b.parsed.size(); ++i) {
    const auto &c = b.configs[i];
    if (c.name.rfind("feed:", 0) == 0 || !b.parsed[i]) continue;
    if (!c.allow && c.name != "dynamic") continue;
    for (const auto &e : b.parsed[i]->v4)
      if (!e.exclude) out.add_v4(e.addr, e.len);
    for (const auto &e : b.parsed[i]->v6)
      if (!e.exclude) out.add_v6(e.addr, e.len);
  }
  return out;
}

// The subjects the feed raises the score of in the table now (a vouch, which lowers it, cannot
// be the cause of a block).
feed::PrefixSet feed_subjects(const feed::TableSources &t) {
  feed::PrefixSet out;
  for (const auto &s : t.sources) {
    for (const auto &e : s.v4)
      if (e.weight > 0) out.add_v4(e.addr, e.len);
    for (const auto &e : s.v6)
      if (e.weight > 0) out.add_v6(e.addr, e.len);
  }
  return out;
}

feed::Prefix host_prefix(const reputation::IpAddress &a) {
  feed::Prefix p;
  p.family = a.family;
  p.v4 = a.family == 4 ? a.v4 : 0;
  p.v6 = a.family == 6 ? a.v6 : reputation::U128{0};
  p.len = a.family == 4 ? 32 : 128;
  return p;
}

// This site's verdicts: what the data planes did to a sender because of its score.
bool is_verdict(LocalKind k) {
  return k == LocalKind::kShaped || k == LocalKind::kBlocked;
}

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
    d.add_options()                                                                            //
        ("feed.servers", po::value<std::string>(), "nats://HOST:PORT[, ...] of the cluster")   //
        ("feed.credentials", po::value<std::string>(), "file with user = and password =")      //
        ("feed.participant", po::value<std::string>(), "this site's participant name")         //
        ("feed.key", po::value<std::string>(), "this site's Ed25519 secret key file")          //
        ("feed.trust", po::value<std::string>(), "the trust file (participants, keys)")        //
        ("feed.state", po::value<std::string>(), "state file (default STATE_DIR/feed.state)")  //
        ("feed.tls_ca", po::value<std::string>(), "CA file: TLS to the servers")               //
        ("feed.tls_cert", po::value<std::string>(), "client certificate file (PEM)")           //
        ("feed.tls_key", po::value<std::string>(), "client key file (PEM)");
    describe_share_config(d);
    schema.add_section(d);
  }

  void configure(const po::variables_map &vm) override {
    auto get = [&](const char *k) { return vm.count(k) ? vm[k].as<std::string>() : std::string(); };
    bool any = false;
    for (const auto &o : vm)
      if (o.first.rfind("feed.", 0) == 0) any = true;
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
    share_settings_ = read_share_config(vm);
    read_tls(get);
    // Read the files now, so `sluiced --check` reports them.
    feed::load_secret_key(cfg_.key_file);
    feed::load_trust_file(cfg_.trust_file);
    if (!cfg_.credentials_file.empty()) {
      feed::NatsSettings s;
      feed::load_credentials(cfg_.credentials_file, s);
    }
    enabled_ = true;
  }

  // [feed] tls_ca, tls_cert, tls_key: absolute paths to readable files, a certificate only with
  // its key and both only with a CA; a tls:// server needs the CA.
  template <class Get>
  void read_tls(const Get &get) {
    cfg_.tls_ca = get("feed.tls_ca");
    cfg_.tls_cert = get("feed.tls_cert");
    cfg_.tls_key = get("feed.tls_key");
    for (const auto &[key, path] :
         {std::pair{"feed.tls_ca", &cfg_.tls_ca}, std::pair{"feed.tls_cert", &cfg_.tls_cert},
          std::pair{"feed.tls_key", &cfg_.tls_key}}) {
      if (path->empty()) continue;
      if ((*path)[0] != '/')
        throw ConfigError(fmt::format("{}: {} is not absolute", key, shown(*path)));
      if (access(path->c_str(), R_OK) != 0)
        throw ConfigError(fmt::format("{}: {}: {}", key, shown(*path), std::strerror(errno)));
    }
    if (cfg_.tls_cert.empty() != cfg_.tls_key.empty())
      throw ConfigError("feed.tls_cert: a client certificate and its key go together (tls_key)");
    if (!cfg_.tls_cert.empty() && cfg_.tls_ca.empty())
      throw ConfigError("feed.tls_cert: needs tls_ca (the CA the servers' certificates chain to)");
    for (const auto &s : cfg_.servers)
      if (s.rfind("tls://", 0) == 0 && cfg_.tls_ca.empty())
        throw ConfigError(fmt::format("feed.tls_ca: required for {}", s));
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
    share_ = std::make_unique<LocalShare>(share_settings_);
    live_ = this;
    static const bool registered = [] {
      obs::add_metrics_collector("feed", [](metrics::Exposition &e) {
        if (live_ != nullptr) live_->collect(e);
      });
      return true;
    }();
    (void)registered;
    d.observations().subscribe([this](const LocalObservation &o) {
      if (reporting_) return;  // the operator's own report: already queued for the feed
      // A verdict about a sender the feed scores could be the feed's own doing: shared, it would
      // come back as more evidence and hold the sender for as long as it keeps connecting.
      if (is_verdict(o.kind) && scored_by_feed_.covers(host_prefix(o.subject))) {
        ++verdicts_not_shared_;
        return;
      }
      share_->offer(o, wall_now_ms());
      publish_shared();
    });
    connect();
  }

  ~FeedModule() override {
    if (live_ == this) live_ = nullptr;
  }

  void stop() override {
    if (live_ == this) live_ = nullptr;
    if (!service_) return;
    if (daemon_) daemon_->loop().remove_fd(service_->fd());
    service_->stop();
  }

  json status() override {
    if (!service_) return nullptr;
    return status_json();
  }

  std::vector<Contribution> contributions(WallClock::time_point now) override {
    const feed::PrefixSet local = local_decisions(daemon_->last_build());
    feed::LocalDecision decided;
    if (!local.empty()) decided = [&local](const feed::Prefix &p) { return local.covers(p); };
    service_->model().expire(unix_ms(now));
    feed::TableSources t = service_->model().table_sources(unix_ms(now), 0, decided);
    scored_by_feed_ = feed_subjects(t);
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

  // Hands what the LocalShare has due to the service and sets a timer for the next due time.
  void publish_shared() {
    const int64_t now = wall_now_ms();
    for (auto &o : share_->take_due(now))
      if (!service_->report(std::move(o))) ++share_queue_full_;
    const auto next = share_->next_due_ms();
    if (!next) return;
    if (share_timer_ != 0 && share_timer_due_ <= *next) return;
    if (share_timer_ != 0) daemon_->loop().cancel(share_timer_);
    share_timer_due_ = *next;
    share_timer_ = daemon_->loop().add_timer(
        std::chrono::milliseconds(std::max<int64_t>(0, *next - now)), [this] {
          share_timer_ = 0;
          publish_shared();
        });
  }

  json share_json() const {
    const ShareCounters &c = share_->counters();
    json kinds = json::object();
    for (size_t k = 0; k < kLocalKindCount; ++k)
      if (share_settings_.kinds[k])
        kinds[std::string(to_string(static_cast<LocalKind>(k)))] = {{"offered", c.offered[k]},
                                                                    {"published", c.published[k]}};
    return {{"kinds", kinds},
            {"interval_ms", share_settings_.interval_ms},
            {"ttl_s", share_settings_.ttl_s},
            {"per_second", share_settings_.per_second},
            {"entries", share_->entries()},
            {"max_entries", share_settings_.max_entries},
            {"merged", c.merged},
            {"not_shared", c.not_shared},
            {"dropped_full", c.dropped_full},
            {"dropped_old", c.dropped_old},
            {"dropped_queue_full", share_queue_full_},
            {"verdicts_scored_by_feed", verdicts_not_shared_},
            {"waited_for_budget", c.waited_for_budget}};
  }

  void collect(metrics::Exposition &e) const {
    using metrics::MetricType;
    const feed::FeedStatus st = service_->status();
    e.declare("sluiced_feed_connected", MetricType::gauge, "1 while connected to the feed");
    e.add("sluiced_feed_connected", {}, uint64_t{st.connected ? 1u : 0u});
    e.declare("sluiced_feed_published_batches_total", MetricType::counter,
              "Batches this site published");
    e.add("sluiced_feed_published_batches_total", {}, st.published_batches);
    e.declare("sluiced_feed_published_observations_total", MetricType::counter,
              "Observations this site published");
    e.add("sluiced_feed_published_observations_total", {}, st.published_observations);
    e.declare("sluiced_feed_publish_failures_total", MetricType::counter,
              "Publishes that failed (their observations are dropped)");
    e.add("sluiced_feed_publish_failures_total", {}, st.publish_failures);
    e.declare("sluiced_feed_queued_observations", MetricType::gauge,
              "Observations waiting for the publisher");
    e.add("sluiced_feed_queued_observations", {}, st.queued_reports);
    e.declare("sluiced_feed_batches_accepted_total", MetricType::counter,
              "Other participants' batches accepted");
    e.add("sluiced_feed_batches_accepted_total", {}, st.accepted_batches);
    e.declare("sluiced_feed_batches_refused_total", MetricType::counter,
              "Other participants' batches refused, by reason");
    for (size_t i = 0; i < feed::kRefusalCount; ++i)
      e.add("sluiced_feed_batches_refused_total",
            {{"reason", std::string(feed::to_string(static_cast<feed::Refusal>(i)))}},
            st.refused[i]);
    e.declare("sluiced_feed_observations_skipped_total", MetricType::counter,
              "Observations of accepted batches skipped, by reason");
    for (size_t i = 0; i < feed::kSkipCount; ++i)
      e.add("sluiced_feed_observations_skipped_total",
            {{"reason", std::string(feed::to_string(static_cast<feed::Skip>(i)))}}, st.skipped[i]);
    e.declare("sluiced_feed_entries", MetricType::gauge,
              "Subjects the trust model keeps, all participants");
    e.add("sluiced_feed_entries", {}, static_cast<uint64_t>(st.entries));
    e.declare("sluiced_feed_participant_observations_total", MetricType::counter,
              "Observations accepted from each participant since start");
    e.declare("sluiced_feed_participant_last_batch_timestamp_seconds", MetricType::gauge,
              "When each participant's last batch was accepted (0: none since start)");
    e.declare("sluiced_feed_participant_lag_seconds", MetricType::gauge,
              "Each participant's last batch: accepted here minus signed there");
    e.declare("sluiced_feed_participant_silent", MetricType::gauge,
              "1 when a participant has been quiet past its max_silence");
    for (const auto &l : service_->liveness(wall_now_ms())) {
      const metrics::Labels lb = {{"participant", l.name}};
      e.add("sluiced_feed_participant_observations_total", lb, l.observations);
      e.add("sluiced_feed_participant_last_batch_timestamp_seconds", lb,
            static_cast<double>(l.last_accepted_ms) / 1000);
      e.add("sluiced_feed_participant_lag_seconds", lb, static_cast<double>(l.last_lag_ms) / 1000);
      e.add("sluiced_feed_participant_silent", lb, uint64_t{l.silent ? 1u : 0u});
    }
    const ShareCounters &c = share_->counters();
    e.declare("sluiced_feed_shared_observations_total", MetricType::counter,
              "This site's own observations handed to the publisher, by kind");
    for (size_t k = 0; k < kLocalKindCount; ++k)
      if (share_settings_.kinds[k])
        e.add("sluiced_feed_shared_observations_total",
              {{"kind", std::string(to_string(static_cast<LocalKind>(k)))}}, c.published[k]);
    e.declare("sluiced_feed_share_dropped_total", MetricType::counter,
              "This site's own observations not shared, by reason");
    e.add("sluiced_feed_share_dropped_total", {{"reason", "full"}}, c.dropped_full);
    e.add("sluiced_feed_share_dropped_total", {{"reason", "old"}}, c.dropped_old);
    e.add("sluiced_feed_share_dropped_total", {{"reason", "scored_by_feed"}}, verdicts_not_shared_);
    e.add("sluiced_feed_share_dropped_total", {{"reason", "queue_full"}}, share_queue_full_);
  }

  json status_json() const {
    const feed::FeedStatus s = service_->status();
    json refused = json::object(), skipped = json::object();
    for (size_t i = 0; i < feed::kRefusalCount; ++i)
      refused[std::string(feed::to_string(static_cast<feed::Refusal>(i)))] = s.refused[i];
    for (size_t i = 0; i < feed::kSkipCount; ++i)
      skipped[std::string(feed::to_string(static_cast<feed::Skip>(i)))] = s.skipped[i];
    json participants = json::array();
    const int64_t now = wall_now_ms();
    const auto live = service_->liveness(now);
    const auto &trusted = service_->model().config().participants;
    for (size_t i = 0; i < trusted.size() && i < live.size(); ++i) {
      const auto &p = trusted[i];
      const auto &l = live[i];
      participants.push_back(
          {{"name", p.name},
           {"weight", p.weight},
           {"cap", p.cap},
           {"half_life_s", p.half_life_ms / 1000},
           {"entries", service_->model().entries(p.name)},
           {"last_batch_unix_ms", l.last_accepted_ms == 0 ? json() : json(l.last_accepted_ms)},
           {"lag_ms", l.last_accepted_ms == 0 ? json() : json(l.last_lag_ms)},
           {"batches", l.batches},
           {"observations", l.observations},
           {"observations_last_minute", l.observations_last_minute},
           {"max_silence_s", l.max_silence_ms / 1000},
           {"silent_for_s", l.silent_for_ms / 1000},
           {"silent", l.silent}});
    }
    return {{"participant", cfg_.participant},
            {"connected", s.connected},
            {"published_batches", s.published_batches},
            {"published_observations", s.published_observations},
            {"publish_failures", s.publish_failures},
            {"queued_reports", s.queued_reports},
            {"dropped_reports", s.dropped_reports},
            {"inbox", s.inbox},
            {"inbox_full_waits", s.inbox_full_waits},
            {"share", share_json()},
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
          if (!service_->report(o))
            throw CommandError(
                fmt::format("the feed's queue is full ({} reports wait)", feed::kMaxQueuedReports));
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
          const feed::PrefixSet local = local_decisions(daemon_->last_build());
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
        o.kind == feed::Kind::kVouch || o.kind == feed::Kind::kFanOut)
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
    reporting_ = true;
    daemon_->observations().publish(lo);
    reporting_ = false;
    return daemon_->observations().scored();
  }

  static inline FeedModule *live_ = nullptr;  // the module whose metrics a scrape reports
  FeedConfig cfg_;
  ShareSettings share_settings_ = default_share_settings();
  std::unique_ptr<LocalShare> share_;
  bool reporting_ = false;            // publishing the operator's report on the bus
  feed::PrefixSet scored_by_feed_;    // the feed's subjects at the last contributions()
  uint64_t verdicts_not_shared_ = 0;  // shaped / blocked about one of them
  uint64_t share_queue_full_ = 0;
  EventLoop::TimerId share_timer_ = 0;
  int64_t share_timer_due_ = 0;
  bool enabled_ = false;
  Daemon *daemon_ = nullptr;
  std::unique_ptr<FeedService> service_;
};

const ModuleRegistrar kFeed([] { return std::make_unique<FeedModule>(); });

}  // namespace
}  // namespace sluice::sluiced
