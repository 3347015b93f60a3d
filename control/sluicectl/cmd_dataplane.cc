// sluicectl dataplane: talk to a running data plane named by the global --dataplane option
// (dpdk:SOCKET for sluice-dp, xdp:NAME for the XDP data plane):
//   sluicectl --dataplane dpdk:/run/sluice-dp.sock dataplane table load TABLE
//   ...                                           dataplane table delta DELTA
//   ...                                           dataplane policy set POLICY
//   ...                                           dataplane stats [--json]
//   ...                                           dataplane flows [--limit N] [--json]
// --timeout SECONDS (global) bounds each request to sluice-dp.
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "dataplane_client.h"
#include "text_table.h"

#include "policy_file.h"

namespace sluicectl {
namespace {

using nlohmann::json;
namespace dp = sluice::control;

const char *kUsage =
    "sluicectl --dataplane SPEC dataplane table load FILE | table delta FILE | policy set FILE "
    "| stats | flows [--limit N]  [--json]";

const GlobalOptionsRegistrar kGlobals([](po::options_description &d) {
  d.add_options()("dataplane", po::value<std::string>()->value_name("SPEC"),
                  "the data plane to control: dpdk:SOCKET (sluice-dp --control SOCKET) or "
                  "xdp:NAME")(
      "timeout", po::value<double>()->value_name("SECONDS")->default_value(10.0),
      "dpdk: give up when the data plane has not answered a request within this long");
});

std::unique_ptr<dp::DataplaneClient> connect(const Context &ctx) {
  if (!ctx.globals.count("dataplane"))
    throw UsageError("no data plane given: add --dataplane dpdk:SOCKET (or xdp:NAME)");
  dp::ConnectOptions o;
  if (ctx.globals.count("timeout")) {
    const double t = ctx.globals["timeout"].as<double>();
    if (!(t > 0 && t <= 86400)) throw UsageError("--timeout must be > 0 and <= 86400 seconds");
    o.timeout = std::chrono::milliseconds(static_cast<int64_t>(t * 1000 + 0.5));
  }
  return dp::connect_dataplane(ctx.globals["dataplane"].as<std::string>(), o);
}

void print_stats(const dp::DataplaneStats &s, bool as_json, std::ostream &out) {
  if (as_json) {
    json levels = json::array();
    for (const auto &l : s.levels)
      levels.push_back({{"level", l.level},
                        {"name", l.name},
                        {"threshold", l.threshold},
                        {"syns", l.syns},
                        {"flows", l.flows},
                        {"rewritten", l.rewritten},
                        {"delayed", l.delayed},
                        {"dropped", l.dropped},
                        {"rst_sent", l.rst_sent}});
    json lcores = json::array();
    for (const auto &c : s.lcores)
      lcores.push_back({{"queue", c.queue},
                        {"rx_outside", c.rx_outside},
                        {"rx_inside", c.rx_inside},
                        {"smtp", c.smtp},
                        {"flows", c.flows},
                        {"flow_capacity", c.flow_capacity},
                        {"flow_evictions", c.flow_evictions},
                        {"pacer_depth", c.pacer_depth}});
    auto port = [](const dp::DataplanePortCounters &p) {
      return json{{"rx", p.rx}, {"tx", p.tx}, {"dropped", p.dropped}};
    };
    out << json{{"outside", port(s.outside)},
                {"inside", port(s.inside)},
                {"malformed", s.malformed},
                {"lookups", s.lookups},
                {"flows", s.flows},
                {"flow_capacity", s.flow_capacity},
                {"flow_evictions", s.flow_evictions},
                {"pacer_depth", s.pacer_depth},
                {"pacer_drops", s.pacer_drops},
                {"table_entries", s.table_entries},
                {"policy_generation", s.policy_generation},
                {"levels", levels},
                {"lcores", lcores}}
               .dump(2, ' ', false, json::error_handler_t::replace)
        << "\n";
    return;
  }
  TextTable ports({"port", "rx", "tx", "dropped"});
  ports.row({"outside", std::to_string(s.outside.rx), std::to_string(s.outside.tx),
             std::to_string(s.outside.dropped)});
  ports.row({"inside", std::to_string(s.inside.rx), std::to_string(s.inside.tx),
             std::to_string(s.inside.dropped)});
  ports.print(out);
  out << fmt::format(
      "\nflows {} / {} (evicted {}), pacer depth {} (dropped {}), table {} entries, "
      "policy generation {}, lookups {}, malformed {}\n\n",
      s.flows, s.flow_capacity, s.flow_evictions, s.pacer_depth, s.pacer_drops, s.table_entries,
      s.policy_generation, s.lookups, s.malformed);
  TextTable lv(
      {"level", "name", "threshold", "syns", "flows", "rewritten", "delayed", "dropped", "rst"});
  for (const auto &l : s.levels)
    lv.row({std::to_string(l.level), l.name, std::to_string(l.threshold), std::to_string(l.syns),
            std::to_string(l.flows), std::to_string(l.rewritten), std::to_string(l.delayed),
            std::to_string(l.dropped), std::to_string(l.rst_sent)});
  lv.print(out);
  // With one lcore its row would repeat the totals above.
  if (s.lcores.size() > 1) {
    out << "\n";
    TextTable lc({"queue", "rx outside", "rx inside", "smtp", "flows", "evicted", "pacer"});
    for (const auto &c : s.lcores)
      lc.row({std::to_string(c.queue), std::to_string(c.rx_outside), std::to_string(c.rx_inside),
              std::to_string(c.smtp),
              std::to_string(c.flows) + " / " + std::to_string(c.flow_capacity),
              std::to_string(c.flow_evictions), std::to_string(c.pacer_depth)});
    lc.print(out);
  }
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
                   {"pending", f.pending}});
    out << a.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return;
  }
  TextTable t({"client", "server", "level", "flags", "pending"});
  for (const auto &f : flows)
    t.row({fmt::format("{}:{}", f.client, f.client_port),
           fmt::format("{}:{}", f.server, f.server_port), std::to_string(f.level),
           fmt::format("{:#x}", f.flags), std::to_string(f.pending)});
  t.print(out);
  out << flows.size() << " flow(s)\n";
}

int run_dataplane(Context &ctx) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help")("json", "machine-readable output")(
      "limit", po::value<size_t>()->default_value(1000), "flows: at most this many")(
      "words", po::value<std::vector<std::string>>(), "subcommand and its argument");
  po::positional_options_description pos;
  pos.add("words", -1);
  const po::variables_map vm = parse_args(ctx, ctx.args, opts, pos);
  if (vm.count("help")) {
    ctx.out << "Usage: " << kUsage << "\n\n" << opts;
    return kExitOk;
  }
  const auto words =
      vm.count("words") ? vm["words"].as<std::vector<std::string>>() : std::vector<std::string>{};
  const bool as_json = vm.count("json") > 0;
  auto want = [&](size_t n) {
    if (words.size() != n) throw UsageError(std::string("usage: ") + kUsage);
  };
  if (words.empty()) throw UsageError(std::string("usage: ") + kUsage);
  const std::string &w0 = words[0];
  try {
    if (w0 == "table" && words.size() >= 2 && words[1] == "load") {
      want(3);
      connect(ctx)->load_table(words[2]);
      ctx.out << "table loaded: " << words[2] << "\n";
    } else if (w0 == "table" && words.size() >= 2 && words[1] == "delta") {
      want(3);
      connect(ctx)->apply_delta(words[2]);
      ctx.out << "delta applied: " << words[2] << "\n";
    } else if (w0 == "policy" && words.size() >= 2 && words[1] == "set") {
      want(3);
      // Parsed here too, so the operator hears the warnings (and errors) the data plane logs.
      const auto pf = sluice::dataplane::load_policy(words[2]);
      for (const auto &w : sluice::dataplane::policy_warnings(pf, words[2])) ctx.err << w << "\n";
      connect(ctx)->set_policy(words[2]);
      ctx.out << "policy set: " << words[2] << "\n";
    } else if (w0 == "stats") {
      want(1);
      print_stats(connect(ctx)->stats(), as_json, ctx.out);
    } else if (w0 == "flows") {
      want(1);
      print_flows(connect(ctx)->flows(vm["limit"].as<size_t>()), as_json, ctx.out);
    } else {
      throw UsageError("unknown dataplane subcommand '" + w0 + "'; usage: " + kUsage);
    }
  } catch (const dp::DataplaneError &e) {
    ctx.err << ctx.command_path << ": " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

const CommandRegistrar kDataplane("dataplane",
                                  "control a running data plane (--dataplane SPEC): table load/"
                                  "delta, policy set, stats, flows",
                                  run_dataplane);

}  // namespace
}  // namespace sluicectl
