// The dynamic entries inside sluiced: opens the store in the state directory, gives its entries
// to every table build as one contribution ("dynamic"), enforces expiries (the daemon rebuilds at
// next_change(), the earliest expiry), and adds the control verbs
//
//   host set    {prefix, action, score?, ttl?, reason?, origin?}   -> entry, replaced, dataplanes
//   host unset  {prefix}                                           -> removed, dataplanes
//   host list   {}                                                 -> entries, now
//   clear       {address}                                          -> removed, dataplanes
//   explain     {address}                                          -> every source's part
//
// host set, host unset and clear change the store (committed first), then rebuild and push
// before replying: the reply lists every data plane and whether it runs the new table.
#include <fmt/format.h>

#include <chrono>
#include <memory>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/module.h"
#include "host_request.h"
#include "sluice/reputation/address.h"
#include "sluice/reputation/explain.h"
#include "store.h"

namespace sluice::sluiced {
namespace {

using nlohmann::json;
namespace rep = sluice::reputation;

// The request's arguments: everything but the envelope's "cmd".
json args_of(const json &request) {
  json a = request;
  a.erase("cmd");
  return a;
}

std::string describe(const DynamicEntry &e) {
  std::string what = e.action == Action::kScore ? fmt::format("score {:+}", e.score)
                                                : std::string(to_string(e.action));
  return fmt::format("{} {}{}{}", format_prefix(e.prefix), what,
                     e.expires ? fmt::format(" until {}", *e.expires) : std::string(),
                     e.reason.empty() ? std::string() : " (" + e.reason + ")");
}

class StoreModule : public Module, public ContributionProvider {
 public:
  std::string module_name() const override { return "store"; }
  std::string provider_name() const override { return "dynamic"; }

  void start(Daemon &d) override {
    daemon_ = &d;
    StoreOptions opts;
    opts.state_dir = d.config().state_dir;
    OpenReport report;
    store_ = DynamicStore::open(opts, unix_s(WallClock::now()), &report);
    for (const auto &n : report.notices) (report.set_aside ? log_error : log_notice)(n);
    for (const auto &e : report.expired) log_info("dynamic entry expired: " + describe(e));
    log_info(fmt::format("{}: {} dynamic entries", store_->path(), store_->size()));
    d.add_provider(*this);
    auto &c = d.commands();
    c.add("host set", "add or replace a dynamic entry (score, allow or deny; ttl, reason)",
          [this](const json &r) { return host_set(r); });
    c.add("host unset", "remove the dynamic entry of a prefix",
          [this](const json &r) { return host_unset(r); });
    c.add("host list", "every dynamic entry", [this](const json &) { return host_list(); });
    c.add("clear", "remove every dynamic penalty covering an address (the undo)",
          [this](const json &r) { return clear(r); });
    c.add("explain", "every source's part in an address's score, dynamic entries included",
          [this](const json &r) { return explain(r); });
  }

  void stop() override { store_.reset(); }

  json status() override {
    if (!store_) return nullptr;
    json j = {{"path", store_->path()}, {"entries", store_->size()}};
    auto next = store_->next_expiry();
    j["next_expiry_unix"] = next ? json(*next) : json(nullptr);
    return j;
  }

  // ---- ContributionProvider ----
  std::vector<Contribution> contributions(WallClock::time_point now) override {
    const int64_t t = unix_s(now);
    try {
      for (const auto &e : store_->expire(t)) log_info("dynamic entry expired: " + describe(e));
    } catch (const StoreError &e) {
      // Not removed from the file: retried at the next build; the table leaves it out anyway.
      log_error(e.what());
    }
    Contribution c;
    c.config = DynamicStore::source_config();
    c.parsed = store_->contribution(t);
    std::vector<Contribution> out;
    out.push_back(std::move(c));
    return out;
  }
  std::optional<WallClock::time_point> next_change() const override {
    auto next = store_ ? store_->next_expiry() : std::nullopt;
    if (!next) return std::nullopt;
    return WallClock::time_point(std::chrono::seconds(*next));
  }

 private:
  // Rebuilds and pushes now; what every data plane runs afterwards.
  json apply(std::string_view why) {
    daemon_->rebuild_now(why);
    json dps = json::array();
    for (const auto &s : daemon_->status().dataplanes)
      dps.push_back({{"spec", s.spec},
                     {"in_sync", s.in_sync},
                     {"reachable", s.reachable},
                     {"error", s.last_error}});
    return dps;
  }

  json host_set(const json &request) {
    const json args = args_of(request);
    json a = args;
    std::string origin = "control socket";
    if (a.contains("origin")) {
      if (!a["origin"].is_string()) throw EntryError("field 'origin' is not a string");
      origin = a["origin"].get<std::string>();
      a.erase("origin");
    }
    HostSetRequest r = parse_host_set(a);
    DynamicEntry e = make_entry(r, wall_now_ms(), origin);
    auto replaced = store_->set(e);
    log_notice(fmt::format("dynamic entry set: {} by {}{}", describe(e), origin,
                           replaced ? " (replaces " + describe(*replaced) + ")" : ""));
    json reply = {{"entry", to_json(e)}};
    reply["replaced"] = replaced ? to_json(*replaced) : json(nullptr);
    reply["dataplanes"] = apply("host set " + format_prefix(e.prefix));
    return reply;
  }

  json host_unset(const json &request) {
    DynamicPrefix p = parse_host_unset(args_of(request));
    auto removed = store_->unset(p);
    json reply;
    reply["removed"] = removed ? to_json(*removed) : json(nullptr);
    if (removed) log_notice("dynamic entry unset: " + describe(*removed));
    reply["dataplanes"] = removed ? apply("host unset " + format_prefix(p)) : json::array();
    return reply;
  }

  json host_list() {
    json entries = json::array();
    for (const auto &e : store_->list()) entries.push_back(to_json(e));
    return {{"entries", entries}, {"now", unix_s(WallClock::now())}};
  }

  json clear(const json &request) {
    rep::IpAddress a = parse_clear(args_of(request));
    json removed = json::array();
    for (const auto &e : store_->clear(a)) {
      log_notice(fmt::format("dynamic entry cleared for {}: {}", rep::format_ip(a), describe(e)));
      removed.push_back(to_json(e));
    }
    json reply = {{"address", rep::format_ip(a)}, {"removed", removed}};
    reply["dataplanes"] = removed.empty() ? json::array() : apply("clear " + rep::format_ip(a));
    return reply;
  }

  // Every source of the last build that covers the address (reputation's explain over the
  // daemon's inputs), with the dynamic source's entries given their reason, origin and expiry.
  json explain(const json &request) {
    const json args = args_of(request);
    if (!args.is_object() || args.size() != 1 || !args.contains("address") ||
        !args["address"].is_string())
      throw EntryError("explain takes one field, 'address'");
    const std::string text = args["address"].get<std::string>();
    auto a = rep::parse_ip(text);
    if (!a) throw EntryError(fmt::format("{}: not an IPv4 or IPv6 address", text.substr(0, 64)));
    const int64_t now = unix_s(WallClock::now());
    const BuildInput &in = daemon_->last_build();
    rep::SourcesFile sf;
    sf.sources = in.configs;
    std::vector<rep::ParsedSource> parsed;
    parsed.reserve(in.parsed.size());
    for (const auto &p : in.parsed) {
      rep::ParsedSource copy;
      copy.v4 = p->v4;
      copy.v6 = p->v6;
      copy.code_sets = p->code_sets;
      parsed.push_back(std::move(copy));
    }
    rep::Explanation x = rep::explain(sf, parsed, *a);
    json sources = json::array();
    const std::string dynamic_name = DynamicStore::source_config().name;
    for (const auto &s : x.sources) {
      json js = {{"name", s.name},
                 {"allow", (s.flags & SL_REP_ALLOW) != 0},
                 {"deny", (s.flags & SL_REP_DENY) != 0},
                 {"listed", s.listed},
                 {"contribution", s.contribution},
                 {"entries", json::array()}};
      for (const auto &e : s.entries) {
        json codes = json::array();  // rbldnsd return codes, as addresses
        for (uint32_t c : e.codes) codes.push_back(rep::format_ipv4(c));
        js["entries"].push_back({{"prefix", e.prefix},
                                 {"codes", codes},
                                 {"weight", e.weight},
                                 {"exclude", e.exclude},
                                 {"line", e.line},
                                 {"text", e.text},
                                 {"decides", e.decides}});
      }
      if (s.name == dynamic_name) {
        // The store's own records, most specific first as explain's entries are.
        json dyn = json::array();
        bool first = true;
        for (const auto &e : store_->covering(*a, now)) {
          json je = to_json(e);
          je["decides"] = first;
          first = false;
          dyn.push_back(je);
        }
        js["dynamic"] = dyn;
      }
      sources.push_back(js);
    }
    const rep::Snapshot &t = daemon_->table();
    std::optional<sl_rep_value> live;
    if (a->family == 4) {
      live = t.lookup_v4(sl_htonl(a->v4));
    } else {
      uint8_t b[16];
      rep::v6_to_bytes(a->v6, b);
      live = t.lookup_v6(b);
    }
    const sl_rep_value v = live.value_or(sl_rep_value{0, 0});
    return {{"address", rep::format_ip(*a)},
            {"score", v.score},
            {"allow", (v.flags & SL_REP_ALLOW) != 0},
            {"deny", (v.flags & SL_REP_DENY) != 0},
            {"sources", sources},
            {"now", now}};
  }

  Daemon *daemon_ = nullptr;
  std::unique_ptr<DynamicStore> store_;
};

const ModuleRegistrar kStore([] { return std::make_unique<StoreModule>(); });

}  // namespace
}  // namespace sluice::sluiced
