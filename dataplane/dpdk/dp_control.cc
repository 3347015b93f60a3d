#include "dp_control.h"

#include <arpa/inet.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "bounded_file.h"
#include "control_proto.h"
#include "heavy_merge.h"
#include "policy_file.h"
#include "sluice/reputation/delta.h"

namespace sluice::dataplane {
namespace {

std::string addr_text(const uint8_t *a, uint8_t family) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == SL_AF_INET ? AF_INET : AF_INET6, a, buf, sizeof(buf));
  return buf;
}

const std::string &need_string(const nlohmann::json &req, const char *key) {
  if (!req.contains(key) || !req[key].is_string())
    throw std::invalid_argument(std::string("missing string field \"") + key + "\"");
  return req[key].get_ref<const std::string &>();
}

size_t optional_count(const nlohmann::json &req, const char *key, size_t dflt) {
  if (!req.contains(key)) return dflt;
  if (!req[key].is_number_unsigned())
    throw std::invalid_argument(std::string("\"") + key + "\" must be a non-negative integer");
  return req[key].get<size_t>();
}

// The file sent with a request, and the name the client gave it (for messages only).
std::string file_name(const nlohmann::json &req, int fd, const std::string &cmd) {
  if (fd < 0) {
    if (req.contains("path"))
      throw std::invalid_argument(cmd +
                                  ": sluice-dp does not open paths sent over the socket; send "
                                  "the open file with the request (sluicectl does)");
    throw std::invalid_argument(cmd + ": no file was sent with the request");
  }
  if (req.contains("name") && req["name"].is_string())
    return req["name"].get<std::string>().substr(0, 4096);
  return "(file sent by the client)";
}

// Loads a snapshot from a sealed in-memory copy: the table never maps the client's file, so a
// file rewritten in place later cannot fault (SIGBUS) the data plane. The loader's messages name
// the copy's /proc path; they are put back in terms of `name`.
reputation::Snapshot snapshot_from_fd(int fd, const std::string &name) {
  const UniqueFd copy = copy_to_sealed_memfd(fd, name, kMaxTableFileBytes);
  const std::string proc = "/proc/self/fd/" + std::to_string(copy.get());
  try {
    return reputation::Snapshot::load(proc);
  } catch (const std::exception &e) {
    std::string msg = e.what();
    for (size_t at = msg.find(proc); at != std::string::npos; at = msg.find(proc, at + 1))
      msg.replace(at, proc.size(), name);
    throw FileError(msg);
  }
}

reputation::Delta delta_from_fd(int fd, const std::string &name) {
  const std::string bytes = read_bounded(fd, name, kMaxTableFileBytes);
  try {
    return reputation::decode({reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()});
  } catch (const std::exception &e) {
    throw FileError(name + ": " + e.what());
  }
}

}  // namespace

DpControl::DpControl(Published &pub, std::vector<Worker *> workers,
                     std::optional<std::vector<uint16_t>> smtp_ports_override)
    : pub_(pub), workers_(std::move(workers)), ports_override_(std::move(smtp_ports_override)) {}

void DpControl::publish_table(LiveRep::Next next) {
  pub_.set_rep(std::move(next.table));  // built before anything changes
  table_.commit(std::move(next));
  table_changed_ = std::chrono::steady_clock::now();
}

void DpControl::load_table(const std::string &path) {
  load_table_fd(open_for_reading(path).get(), path);
}

void DpControl::apply_delta(const std::string &path) {
  apply_delta_fd(open_for_reading(path).get(), path);
}

void DpControl::load_table_fd(int fd, const std::string &name) {
  reputation::Snapshot snap = snapshot_from_fd(fd, name);  // read before taking the lock
  std::lock_guard lock(mu_);
  publish_table(table_.with_snapshot(std::move(snap)));
}

void DpControl::apply_delta_fd(int fd, const std::string &name) {
  const reputation::Delta d = delta_from_fd(fd, name);
  std::lock_guard lock(mu_);
  // A small delta: the published table's base shared plus an overlay of the changes since it
  // (cost of the changes); a large one, or past LiveRep::kMaxOverlay changes, a rebuild.
  publish_table(table_.with_delta(d));
}

void DpControl::publish_policy(PolicyFile &&pf) {
  if (ports_override_) set_smtp_ports(pf.policy, *ports_override_);
  auto box = std::make_unique<PolicyBox>();
  box->policy = pf.policy;
  keep_cookie_key(box->policy, have_policy_ ? &last_policy_ : nullptr);
  last_policy_ = box->policy;
  have_policy_ = true;
  box->policy.generation = ++generation_;
  box->level_names = std::move(pf.level_names);
  pub_.set_policy(std::move(box));
}

void DpControl::load_policy(const std::string &path) {
  load_policy_fd(open_for_reading(path).get(), path);
}

void DpControl::load_policy_fd(int fd, const std::string &name) {
  set_policy_text(read_bounded(fd, name, kMaxPolicyFileBytes), name);
}

void DpControl::set_policy_text(const std::string &text, const std::string &name) {
  std::lock_guard lock(mu_);
  std::istringstream in(text);
  PolicyFile pf = parse_policy(in, name);
  // Said once per load in sluice-dp's log (e.g. every unlisted sender blocked).
  for (const std::string &w : policy_warnings(pf, shown(name, false)))
    std::fprintf(stderr, "sluice-dp: %s\n", w.c_str());
  policy_text_ = format_policy(pf);
  publish_policy(std::move(pf));
}

stats::DataplaneStats DpControl::stats_model() const {
  stats::DataplaneStats out;
  out.kind = "dpdk";
  // Each lcore's share: with several, an operator sees whether RSS spreads the load and whether
  // one lcore's flow table or pacer fills before the others (each has its own).
  for (const Worker *w : workers_) {
    const sl_stats &s = w->pipeline().stats();
    const PortCounters &po = w->port_counters(SL_DIR_FROM_OUTSIDE);
    const PortCounters &pi = w->port_counters(SL_DIR_FROM_INSIDE);
    const FlowTable &ft = w->pipeline().flows();
    stats::LcoreStats c;
    c.queue = w->queue();
    c.rx_outside = po.rx;
    c.rx_inside = pi.rx;
    c.smtp = s.smtp[SL_DIR_FROM_OUTSIDE] + s.smtp[SL_DIR_FROM_INSIDE];
    c.flows = ft.size();
    c.flow_capacity = ft.capacity();
    c.flow_evictions = s.flow_evictions;
    c.pacer_depth = w->pacer().depth();
    out.lcores.push_back(c);
    stats::accumulate(out.totals, s);
    for (auto [port, pc] : {std::pair{&out.outside, &po}, std::pair{&out.inside, &pi}}) {
      port->rx += pc->rx;
      port->tx += pc->tx;
      port->tx_dropped += pc->tx_dropped;
    }
    out.flow_table.flows += ft.size();
    out.flow_table.flow_capacity += ft.capacity();
    out.flow_table.flow_inserts += ft.counters().inserts;
    out.flow_table.flow_expired += ft.counters().expired;
    out.pacer.depth += w->pacer().depth();
    out.pacer.capacity += w->pacer().capacity();
    out.pacer.drops += w->pipeline().extra().pacer_drops;
    out.pacer.order_holds += w->pipeline().extra().order_holds;
  }
  std::lock_guard lock(mu_);  // policy writers hold mu_, so *pol stays alive
  const PolicyBox *pol = pub_.policy();
  for (uint32_t l = 0; l < pol->policy.nlevels && l < SL_MAX_LEVELS; ++l)
    out.levels.push_back(
        {l < pol->level_names.size() ? pol->level_names[l] : "", pol->policy.thresholds[l]});
  out.table.entries = pub_.rep()->entries();
  // The version is computed here, once per change (the first stats after it), not per delta.
  out.table.version = pub_.table_updates() != 0 ? table_.version() : 0;
  out.table.compiled_unix = pub_.table_updates() != 0 ? table_.created_unix() : 0;
  out.table.age_s = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                              std::chrono::steady_clock::now() - table_changed_)
                                              .count());
  out.table.updates = pub_.table_updates();
  out.policy.generation = pol->policy.generation;
  out.policy.updates = pub_.policy_updates();
  return out;
}

nlohmann::json DpControl::stats() const {
  nlohmann::json j = stats::to_json(stats_model());
  j["ok"] = true;
  return j;
}

nlohmann::json DpControl::flows(size_t limit, size_t skip) const {
  // Each flow's JSON is about 250 bytes; stop well before the message limit.
  static constexpr size_t kBudget = proto::kMaxMessage - 4096;
  nlohmann::json out = nlohmann::json::array();
  size_t bytes = 64, skipped_total = 0;
  bool more = false;
  for (Worker *w : workers_) {
    if (out.size() >= limit) {
      more = true;
      break;
    }
    std::vector<FlowInfo> got;
    size_t skipped = 0;
    // One more than needed: it says whether this lcore has more after this page.
    const size_t want = limit - out.size() + 1;
    if (!w->request_flows(skip - skipped_total, want, got, skipped, 1000))
      throw std::runtime_error("an lcore did not answer the flow request within 1 s");
    skipped_total += skipped;
    for (const FlowInfo &f : got) {
      if (out.size() >= limit) {
        more = true;
        break;
      }
      nlohmann::json j = {{"client", addr_text(f.key.client, f.key.family)},
                          {"client_port", ntohs(f.key.client_port)},
                          {"server", addr_text(f.key.server, f.key.family)},
                          {"server_port", ntohs(f.key.server_port)},
                          {"level", f.state.level},
                          {"flags", f.state.flags},
                          {"client_mss", f.state.client_mss},
                          {"server_mss", f.state.server_mss},
                          {"created_ns", f.state.created_ns},
                          {"last_seen_ns", f.state.last_seen_ns},
                          {"pending", f.pending},
                          {"outbound", f.key.outbound != 0}};
      const size_t n = j.dump().size() + 1;
      if (bytes + n > kBudget) {
        more = true;
        break;
      }
      bytes += n;
      out.push_back(std::move(j));
    }
    if (more) break;
  }
  const size_t count = out.size();
  return {{"ok", true}, {"flows", std::move(out)}, {"more", more}, {"next", skip + count}};
}

nlohmann::json DpControl::heavy(size_t limit, uint64_t now_ns) const {
  if (limit < 1 || limit > kMaxHeavyLimit)
    throw std::invalid_argument("heavy: \"limit\" must be 1.." + std::to_string(kMaxHeavyLimit));
  uint32_t threshold;
  bool pregreet, outbound;
  {
    std::lock_guard lock(mu_);  // policy writers hold mu_, so the policy stays alive
    threshold = pub_.policy()->policy.heavy_syn_threshold;
    pregreet = pub_.policy()->policy.pregreet != 0;
    outbound = pub_.policy()->policy.out_ports[0] != 0;
  }
  const uint32_t epoch = sl_heavy_epoch(now_ns);
  nlohmann::json senders = nlohmann::json::array(), pregreeters = nlohmann::json::array(),
                 verdicts = nlohmann::json::array(), fanout = nlohmann::json::array();
  size_t skipped = 0;
  uint64_t replaced = 0, refused = 0;
  heavy::HeavyMerge merge(epoch);
  for (const Worker *w : workers_) {
    skipped += w->pipeline().read_heavy(merge);
    const sl_heavy_table &t = w->pipeline().heavy_table();
    replaced += __atomic_load_n(&t.replaced, __ATOMIC_RELAXED);
    refused += __atomic_load_n(&t.refused, __ATOMIC_RELAXED);
  }
  // Off: nothing is counted now; what the tables still hold from before is not reported. The
  // SYNs shaped and blocked are always counted.
  if (threshold != 0)
    for (const heavy::HeavyCount &c : merge.top(limit))
      senders.push_back({{"prefix", heavy::prefix_text(c.key)}, {"syns", c.syns}});
  if (pregreet)
    for (const heavy::HeavyCount &c : merge.pregreet(limit))
      pregreeters.push_back({{"address", heavy::address_text(c.key)}, {"connections", c.syns}});
  if (outbound)
    for (const heavy::HeavyCount &c : merge.fanout(limit))
      fanout.push_back({{"address", heavy::address_text(c.key)}, {"destinations", c.syns}});
  for (const heavy::VerdictCount &v : merge.verdicts(limit))
    verdicts.push_back({{"address", heavy::address_text(v.key)},
                        {"level", v.key.level},
                        {"shaped", v.shaped},
                        {"blocked", v.blocked}});
  return {{"ok", true},
          {"enabled", threshold != 0},
          {"threshold", threshold},
          {"window_ns", heavy::kWindowNs},
          {"epoch", epoch},
          {"senders", std::move(senders)},
          {"pregreet_enabled", pregreet},
          {"pregreet", std::move(pregreeters)},
          {"verdicts", std::move(verdicts)},
          {"outbound_enabled", outbound},
          {"fanout", std::move(fanout)},
          {"skipped_buckets", skipped},
          {"replaced", replaced},
          {"refused", refused}};
}

nlohmann::json DpControl::handle(const nlohmann::json &req, int file_fd) {
  const std::string &cmd = need_string(req, "cmd");
  if (cmd == "ping") return {{"ok", true}};
  if (cmd == "stats") return stats();
  if (cmd == "flows")
    return flows(optional_count(req, "limit", 1000), optional_count(req, "skip", 0));
  if (cmd == "heavy") {
    if (!req.contains("limit"))
      throw std::invalid_argument("heavy: missing \"limit\" (1.." + std::to_string(kMaxHeavyLimit) +
                                  ")");
    const nlohmann::json &l = req["limit"];
    // Unsigned JSON numbers only: a negative, fractional, string or boolean limit is refused
    // before any conversion (nlohmann would wrap -1 or truncate 2.5).
    if (!l.is_number_unsigned() || l.get<uint64_t>() < 1 || l.get<uint64_t>() > kMaxHeavyLimit)
      throw std::invalid_argument("heavy: \"limit\" must be an integer 1.." +
                                  std::to_string(kMaxHeavyLimit));
    return heavy(l.get<size_t>(), tsc_now_ns());
  }
  if (cmd == "table.load") {
    load_table_fd(file_fd, file_name(req, file_fd, cmd));
    return {{"ok", true}, {"entries", pub_.rep()->entries()}};
  }
  if (cmd == "table.delta") {
    apply_delta_fd(file_fd, file_name(req, file_fd, cmd));
    return {{"ok", true}, {"entries", pub_.rep()->entries()}};
  }
  if (cmd == "policy.set") {
    if (req.contains("text"))
      set_policy_text(need_string(req, "text"),
                      req.contains("name") ? need_string(req, "name") : std::string("policy"));
    else
      load_policy_fd(file_fd, file_name(req, file_fd, cmd));
    std::lock_guard lock(mu_);
    return {{"ok", true}, {"generation", generation_}};
  }
  if (cmd == "policy.get") {
    std::lock_guard lock(mu_);
    return {{"ok", true}, {"text", policy_text_}, {"generation", generation_}};
  }
  throw std::invalid_argument("unknown command '" + cmd.substr(0, 64) + "'");
}

}  // namespace sluice::dataplane
