// sluicectl dataplane ...: talk to a running data plane named by the global --dataplane option
// (dpdk:SOCKET for sluice-dp, xdp:NAME for the XDP data plane); the same commands and the same
// output for both:
//   sluicectl --dataplane SPEC dataplane table load TABLE
//   sluicectl --dataplane SPEC dataplane table delta DELTA
//   sluicectl --dataplane SPEC dataplane policy set POLICY
//   sluicectl --dataplane SPEC dataplane stats [--json]
//   sluicectl --dataplane SPEC dataplane flows [--limit N] [--json]
//   sluicectl --dataplane SPEC dataplane heavy [--limit N] [--json]  (cmd_dataplane_heavy.cc)
// --timeout SECONDS (global) bounds each request to sluice-dp.
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "dataplane_client.h"
#include "dataplane_connect.h"
#include "text_table.h"

#include "policy_file.h"

namespace sluicectl {
namespace {

using nlohmann::json;
namespace dp = sluice::control;

const GlobalOptionsRegistrar kGlobals([](po::options_description &d) {
  d.add_options()("dataplane", po::value<std::string>()->value_name("SPEC"),
                  "the data plane to control: dpdk:SOCKET (sluice-dp --control SOCKET) or "
                  "xdp:NAME")(
      "timeout", po::value<double>()->value_name("SECONDS")->default_value(10.0),
      "dpdk: give up when the data plane has not answered a request within this long");
});

const GroupRegistrar kGroup("dataplane",
                            "control a running data plane (--dataplane SPEC): table load/delta, "
                            "policy set, stats, flows, heavy");
const GroupRegistrar kTableGroup("dataplane table", "replace or update the running table");
const GroupRegistrar kPolicyGroup("dataplane policy", "replace the running policy");

// Runs `act` on the connected data plane; its refusals are runtime errors (exit 1).
template <class F>
int with_dataplane(Context &ctx, F &&act) {
  try {
    act(*dataplane_for(ctx));
  } catch (const dp::DataplaneError &e) {
    ctx.err << ctx.command_path << ": " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

// A command that sends one file to the data plane (`sluicectl dataplane WORDS FILE`) and says
// what it did.
template <class Send>
int send_file(Context &ctx, const char *what, const char *description, Send send) {
  CommandOptions opts;
  opts.words("file", 1, "the file");
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl --dataplane SPEC " + ctx.command_path.substr(10) + " " + what, description});
  if (!vm) return kExitOk;
  if (!vm->count("file")) throw UsageError(std::string(what) + " is required");
  const std::string file = (*vm)["file"].as<std::vector<std::string>>().front();
  return with_dataplane(ctx, [&](dp::DataplaneClient &c) { ctx.out << send(c, file) << "\n"; });
}

std::string table_text(const char *done, const std::string &file, const dp::TableChange &t) {
  return fmt::format("{}: {} ({} entries){}", done, file, t.entries,
                     t.note.empty() ? "" : "; " + t.note);
}

int run_table_load(Context &ctx) {
  return send_file(ctx, "TABLE",
                   "Replaces the data plane's whole reputation table with a table file (sluicectl "
                   "table build);\nreaders never see half a table.",
                   [](dp::DataplaneClient &c, const std::string &f) {
                     return table_text("table loaded", f, c.load_table(f));
                   });
}

int run_table_delta(Context &ctx) {
  return send_file(ctx, "DELTA",
                   "Applies a delta file (sluicectl table diff OLD NEW --output DELTA) to the "
                   "table the data\nplane runs.",
                   [](dp::DataplaneClient &c, const std::string &f) {
                     return table_text("delta applied", f, c.apply_delta(f));
                   });
}

int run_policy_set(Context &ctx) {
  return send_file(ctx, "POLICY",
                   "Replaces thresholds and level profiles with a policy file (docs/policy.md).",
                   [&ctx](dp::DataplaneClient &c, const std::string &f) {
                     // Parsed here too, so the operator hears the warnings (and errors) the
                     // data plane logs.
                     const auto pf = sluice::dataplane::load_policy(f);
                     for (const auto &w : sluice::dataplane::policy_warnings(pf, f))
                       ctx.err << w << "\n";
                     const uint32_t g = c.set_policy(f);
                     return fmt::format("policy set: {} (generation {})", f, g);
                   });
}

std::string n(uint64_t v) {
  return std::to_string(v);
}

void print_stats(const dp::DataplaneStats &s, std::ostream &out) {
  TextTable ports({"port", "rx", "tx", "tx dropped"});
  ports.row({"outside", n(s.outside.rx), n(s.outside.tx), n(s.outside.tx_dropped)});
  ports.row({"inside", n(s.inside.rx), n(s.inside.tx), n(s.inside.tx_dropped)});
  ports.print(out);
  out << fmt::format(
      "\n{} data plane: flows {} / {} (evicted {}, table full {}), pacer depth {} (dropped {}), "
      "table {} entries (version {:016x}, changed {} s ago), policy generation {}, lookups {}, "
      "malformed {}\n\n",
      s.kind, s.flow_table.flows, s.flow_table.flow_capacity, s.totals.flow_evictions,
      s.totals.flow_table_full, s.pacer.depth, s.pacer.drops, s.table.entries, s.table.version,
      s.table.age_s, s.policy.generation, s.totals.lookups, s.totals.malformed);
  TextTable lv(
      {"level", "name", "threshold", "syns", "flows", "rewritten", "delayed", "dropped", "rst"});
  for (size_t l = 0; l < s.levels.size() && l < SL_MAX_LEVELS; ++l) {
    const sl_level_stats &c = s.totals.level[l];
    lv.row({n(l), s.levels[l].name, std::to_string(s.levels[l].threshold), n(c.syns), n(c.flows),
            n(c.rewritten), n(c.delayed), n(c.dropped), n(c.rst_sent)});
  }
  lv.print(out);
  // The stateless tarpit keeps no flow, so the level table shows only its SYNs.
  if (s.totals.tarpit_synacks + s.totals.tarpit_acks + s.totals.tarpit_silent != 0)
    out << fmt::format(
        "\nstateless tarpit: {} SYNs answered, {} segments answered, {} dropped unanswered\n",
        s.totals.tarpit_synacks, s.totals.tarpit_acks, s.totals.tarpit_silent);
  // SYNs over a level's aggregate caps are in its dropped / rst columns; why, is here.
  if (s.totals.caps_rate + s.totals.caps_flows + s.totals.caps_evicted != 0)
    out << fmt::format(
        "\naggregate caps: {} SYNs over a sender's open connections, {} over its rate, {} "
        "entries evicted\n",
        s.totals.caps_flows, s.totals.caps_rate, s.totals.caps_evicted);
  // With one lcore its row would repeat the totals above.
  if (s.lcores.size() > 1) {
    out << "\n";
    TextTable lc({"queue", "rx outside", "rx inside", "smtp", "flows", "evicted", "pacer"});
    for (const auto &c : s.lcores)
      lc.row({n(c.queue), n(c.rx_outside), n(c.rx_inside), n(c.smtp),
              n(c.flows) + " / " + n(c.flow_capacity), n(c.flow_evictions), n(c.pacer_depth)});
    lc.print(out);
  }
}

int run_stats(Context &ctx) {
  CommandOptions opts;
  opts.json("the counters as JSON (the same keys for every data plane)");
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl --dataplane SPEC dataplane stats [--json]",
       "Per-port, per-level and total counters, flow-table occupancy, pacer depth (DPDK), the "
       "table's\nentries, version and age, the policy generation; for sluice-dp also each "
       "lcore's share.\nThe JSON keys are listed in docs/dataplane-dpdk.md."});
  if (!vm) return kExitOk;
  return with_dataplane(ctx, [&](dp::DataplaneClient &c) {
    const dp::DataplaneStats s = c.stats();
    if (vm->count("json"))
      ctx.out << sluice::stats::to_json(s).dump(2, ' ', false, json::error_handler_t::replace)
              << "\n";
    else
      print_stats(s, ctx.out);
  });
}

void print_flows(const std::vector<dp::DataplaneFlow> &flows, bool as_json, std::ostream &out) {
  if (as_json) {
    json a = json::array();
    for (const auto &f : flows)
      a.push_back({{"client", f.client},
                   {"client_port", f.client_port},
                   {"server", f.server},
                   {"server_port", f.server_port},
                   {"level", f.level},
                   {"flags", f.flags},
                   {"created_ns", f.created_ns},
                   {"last_seen_ns", f.last_seen_ns},
                   {"pending", f.pending},
                   {"outbound", f.outbound}});
    out << a.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return;
  }
  TextTable t({"client", "server", "level", "flags", "pending"});
  for (const auto &f : flows)
    t.row({fmt::format("{}:{}{}", f.client, f.client_port, f.outbound ? " (out)" : ""),
           fmt::format("{}:{}", f.server, f.server_port), std::to_string(f.level),
           fmt::format("{:#x}", f.flags), std::to_string(f.pending)});
  t.print(out);
  out << flows.size() << " flow(s)\n";
}

int run_flows(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()("limit", po::value<size_t>()->default_value(1000)->value_name("N"),
                             "at most this many flows");
  opts.json();
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl --dataplane SPEC dataplane flows [--limit N] [--json]",
       "The shaped flows: addresses, ports, level, flags (SL_FLOW_*), packets held by the "
       "pacer."});
  if (!vm) return kExitOk;
  return with_dataplane(ctx, [&](dp::DataplaneClient &c) {
    print_flows(c.flows((*vm)["limit"].as<size_t>()), vm->count("json") > 0, ctx.out);
  });
}

const CommandRegistrar kTableLoad("dataplane table load", "replace the whole table (TABLE)",
                                  run_table_load);
const CommandRegistrar kTableDelta("dataplane table delta", "apply a delta (DELTA)",
                                   run_table_delta);
const CommandRegistrar kPolicySet("dataplane policy set", "replace the policy (POLICY)",
                                  run_policy_set);
const CommandRegistrar kStats("dataplane stats", "ports, totals, levels, table, policy, lcores",
                              run_stats);
const CommandRegistrar kFlows("dataplane flows", "the shaped flows", run_flows);

}  // namespace
}  // namespace sluicectl
