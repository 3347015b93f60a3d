// sluice-xdp: start-up of the XDP data plane: attach it to an interface pair, detach it, show
// its status, and replay captures through it with BPF_PROG_TEST_RUN. Everything after start-up
// (table, delta, policy, stats, flows) is sluicectl's: `sluicectl --dataplane xdp:NAME ...`.
// Exit codes: 0 ok, 1 runtime error, 2 usage error, 3 (status) not attached.
#include <boost/program_options.hpp>
#include <fmt/core.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dp_stats.h"
#include "po_error_text.h"
#include "sluice/xdp/attach.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/replay.h"
#include "sluice/xdp/instance_ops.h"
#include "sluice/xdp/link_watch.h"
#include "sluice/xdp/stats_model.h"

namespace po = boost::program_options;
using namespace sluice::xdp;

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitNotAttached = 3;

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Command {
  const char *name;
  const char *usage;    // after "sluice-xdp NAME"
  const char *summary;  // what it does
  int (*run)(const Command &, const std::vector<std::string> &);
};

void version(std::FILE *f) {
  std::fprintf(f, "sluice-xdp %s\n", SLUICE_VERSION);
}

// Parses a command's arguments; --help and --version (added here) print and return nullopt.
std::optional<po::variables_map> parse(const Command &c, const std::vector<std::string> &args,
                                       po::options_description &d,
                                       const po::positional_options_description &pos = {}) {
  d.add_options()("help,h", "show this help")("version", "show the version");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << "Usage: sluice-xdp " << c.name << " " << c.usage << "\n\n"
                << c.summary << "\n\n"
                << d;
      return std::nullopt;
    }
    if (vm.count("version")) {
      version(stdout);
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error &e) {
    throw UsageError(sluice::po_error_text(e));
  }
  return vm;
}

XdpMode mode_arg(const std::string &mode) {
  if (mode != "native" && mode != "generic")
    throw UsageError("unknown XDP mode '" + mode + "' (use native or generic)");
  return parse_mode(mode);
}

int cmd_attach(const Command &c, const std::vector<std::string> &args) {
  AttachOptions o;
  std::string mode = "native";
  po::options_description d("Options");
  d.add_options()("name", po::value(&o.name)->required()->value_name("NAME"),
                  "instance name (pins under /sys/fs/bpf/sluice/NAME/)")(
      "outside", po::value(&o.outside)->value_name("IF"), "interface facing the senders")(
      "inside", po::value(&o.inside)->value_name("IF"), "interface facing the MTAs")(
      "mode", po::value(&mode)->default_value("native")->value_name("MODE"), "native or generic")(
      "upgrade",
      "replace the running programs of instance NAME with this binary's, atomically, keeping "
      "its pinned maps (table, policy, flows, counters); no --outside/--inside/--mode");
  const auto vm = parse(c, args, d);
  if (!vm) return 0;
  if (vm->count("upgrade")) {
    if (vm->count("outside") || vm->count("inside") || !(*vm)["mode"].defaulted())
      throw UsageError(
          "--upgrade keeps the instance's ports and mode: no --outside, --inside "
          "or --mode");
    const auto [out_id, in_id] = upgrade(o.name);
    fmt::print("upgraded '{}': programs {} (outside) and {} (inside), maps kept\n", o.name, out_id,
               in_id);
    return 0;
  }
  if (o.outside.empty() || o.inside.empty())
    throw UsageError("attach needs --outside and --inside (or --upgrade)");
  o.mode = mode_arg(mode);
  attach(o);
  fmt::print("attached '{}': outside {} inside {} ({} XDP)\n", o.name, o.outside, o.inside,
             mode_name(o.mode));
  return 0;
}

int cmd_detach(const Command &c, const std::vector<std::string> &args) {
  std::string name;
  po::options_description d("Options");
  d.add_options()("name", po::value(&name)->required()->value_name("NAME"), "instance name");
  if (!parse(c, args, d)) return 0;
  detach(name);
  fmt::print("detached '{}'\n", name);
  return 0;
}

nlohmann::json port_json(const PortStatus &p) {
  return {{"ifname", p.ifname},
          {"ifindex", p.ifindex},
          {"attached", p.attached},
          {"prog_id", p.prog_id}};
}

int cmd_status(const Command &c, const std::vector<std::string> &args) {
  std::string name;
  po::options_description d("Options");
  d.add_options()("name", po::value(&name)->required()->value_name("NAME"), "instance name")(
      "json",
      "the status as JSON: the instance, and its counters under \"stats\" with the keys "
      "of `sluicectl dataplane stats --json`");
  const auto vm = parse(c, args, d);
  if (!vm) return 0;
  const Status s = status(name);
  const int rc = s.outside.attached && s.inside.attached ? 0 : kExitNotAttached;
  if (vm->count("json")) {
    nlohmann::json j = {{"name", s.name},
                        {"mode", mode_name(s.mode)},
                        {"outside", port_json(s.outside)},
                        {"inside", port_json(s.inside)},
                        {"table_set", s.table_set}};
    j["stats"] = sluice::stats::to_json(dataplane_stats(name));
    std::cout << j.dump(2) << "\n";
    return rc;
  }
  auto port = [](const char *role, const PortStatus &p) {
    fmt::print("{:8} {:16} ifindex {:<5} {}\n", role, p.ifname.empty() ? "(gone)" : p.ifname,
               p.ifindex,
               p.attached       ? "attached"
               : p.prog_id != 0 ? fmt::format("NOT attached (program {} is foreign)", p.prog_id)
                                : std::string("NOT attached"));
  };
  fmt::print("instance {} ({} XDP), policy generation {}, table set {}, {} shaped flows\n", s.name,
             mode_name(s.mode), s.policy_generation, s.table_set, s.flows);
  port("outside", s.outside);
  port("inside", s.inside);
  fmt::print("packets outside {} inside {}; smtp outside {} inside {}; malformed {}; lookups {}\n",
             s.stats.packets[SL_DIR_FROM_OUTSIDE], s.stats.packets[SL_DIR_FROM_INSIDE],
             s.stats.smtp[SL_DIR_FROM_OUTSIDE], s.stats.smtp[SL_DIR_FROM_INSIDE], s.stats.malformed,
             s.stats.lookups);
  for (int l = 1; l < SL_MAX_LEVELS; l++) {
    const sl_level_stats &ls = s.stats.level[l];
    std::string line;
    uint64_t any = 0;
#define SLUICE_XDP_LEVEL_FIELD(f)          \
  line += fmt::format(" {} {}", #f, ls.f); \
  any |= ls.f;
    SLUICE_SL_LEVEL_STATS(SLUICE_XDP_LEVEL_FIELD)
#undef SLUICE_XDP_LEVEL_FIELD
    if (any != 0) fmt::print("level {}:{}\n", l, line);
  }
  return rc;
}

// A policy file parsed, its warnings (e.g. every unlisted sender blocked) said on stderr.
sl_policy load_policy_file(const std::string &file) {
  std::vector<std::string> warnings;
  const sl_policy policy = parse_policy_file(file, &warnings);
  for (const auto &w : warnings) fmt::print(stderr, "sluice-xdp: {}\n", w);
  return policy;
}

int cmd_peer_pass(const Command &c, const std::vector<std::string> &args) {
  std::string dev, mode = "native";
  po::options_description d("Options");
  d.add_options()("dev", po::value(&dev)->required()->value_name("IF"), "interface")(
      "mode", po::value(&mode)->default_value("native")->value_name("MODE"), "native or generic");
  if (!parse(c, args, d)) return 0;
  attach_pass(dev, mode_arg(mode));
  fmt::print("pass program attached to {}\n", dev);
  return 0;
}

int cmd_replay(const Command &c, const std::vector<std::string> &args) {
  ReplayOptions o;
  std::string dir = "outside", policy, table;
  po::options_description d("Options");
  d.add_options()("input", po::value(&o.input)->required()->value_name("IN.pcap"),
                  "capture to read (Ethernet)")(
      "output", po::value(&o.output)->required()->value_name("OUT.pcap"),
      "capture of the frames the program emits")("direction",
                                                 po::value(&dir)->default_value("outside"),
                                                 "port the frames arrive on: outside or inside")(
      "inside-net", po::value(&o.inside_nets)->multitoken()->value_name("PREFIX..."),
      "frames from these source prefixes arrive inside, the others outside (as with sluice-dp "
      "replay; overrides --direction)")("policy", po::value(&policy)->value_name("FILE"),
                                        "policy file (default: none, everything forwarded)")(
      "table", po::value(&table)->value_name("FILE"), "reputation table file (default: empty)");
  if (!parse(c, args, d)) return 0;
  if (dir != "outside" && dir != "inside")
    throw UsageError("--direction must be outside or inside");
  if (!policy.empty()) o.policy = load_policy_file(policy);
  if (!table.empty()) o.table = load_snapshot_table(table);
  o.from_inside = dir == "inside";
  const ReplayResult r = replay(o);
  fmt::print("{} frames: {} forwarded, {} dropped, {} answered (TX), {} other\n", r.frames,
             r.forwarded, r.dropped, r.tx, r.other);
  return 0;
}

std::atomic<bool> g_quit{false};

void on_quit(int) {
  g_quit.store(true);
}

int cmd_watch(const Command &c, const std::vector<std::string> &args) {
  WatchOptions o;
  po::options_description d("Options");
  d.add_options()("name", po::value(&o.name)->required()->value_name("NAME"), "instance name")(
      "settle-ms", po::value(&o.settle_ms)->default_value(o.settle_ms)->value_name("MS"),
      "after bringing a port back up, give its link this long to come up before its being "
      "down counts (0 for veths; 3000 or more for NICs that negotiate)");
  if (!parse(c, args, d)) return 0;
  o.say = [&o](const std::string &s) {
    fmt::print(stderr, "sluice-xdp watch {}: {}\n", o.name, s);
  };
  struct sigaction sa {};
  sa.sa_handler = on_quit;  // no SA_RESTART: the wait returns at once
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  fmt::print(stderr, "sluice-xdp watch {}: mirroring link state between its ports\n", o.name);
  watch_links(o, g_quit);
  fmt::print(stderr, "sluice-xdp watch {}: stopped ({})\n", o.name,
             g_quit.load() ? "signal" : "instance detached");
  return 0;
}

const Command kCommands[] = {
    {"attach",
     "--outside IF --inside IF --name NAME [--mode native|generic] | --name NAME --upgrade",
     "Attaches the XDP data plane to an interface pair as instance NAME, pass-only until "
     "sluicectl\n--dataplane xdp:NAME loads a table and a policy. The programs stay attached "
     "and the maps\npinned after sluice-xdp exits (fail-static). With --upgrade: replaces "
     "the running programs\nof NAME with this binary's in one atomic step per port "
     "(XDP_FLAGS_REPLACE), keeping every\npinned map, so no packet and no flow is lost.",
     cmd_attach},
    {"detach", "--name NAME", "Detaches both programs (if still ours) and removes the pins.",
     cmd_detach},
    {"status", "--name NAME [--json]",
     "Shows the instance's ports (attached or not), policy generation, table set and counters. "
     "Exit 3\nwhen a program is not attached.",
     cmd_status},
    {"replay",
     "--input IN.pcap --output OUT.pcap [--inside-net PREFIX...] [--policy FILE] "
     "[--table FILE]",
     "Runs every frame of a capture through the XDP program with BPF_PROG_TEST_RUN, on private "
     "maps\n(flows carry over from frame to frame), and writes the frames it emits.",
     cmd_replay},
    {"watch", "--name NAME [--settle-ms MS]",
     "Link-state propagation: when one port of the instance loses its link, takes the other "
     "down\n(administratively), and brings it back up when the link returns, so routers on "
     "both sides fail\nover as around a broken cable. Runs until SIGTERM/SIGINT or until the "
     "instance is detached,\nthen brings up any port it took down. Forwarding does not depend "
     "on it (docs/deployment.md).",
     cmd_watch},
    {"peer-pass", "--dev IF [--mode native|generic]",
     "Test rigs: attaches a pass-all XDP program to the far end of a veth pair, which native "
     "XDP\nredirect into a veth needs; it stays until the interface goes away.",
     cmd_peer_pass},
};

void usage(std::FILE *f) {
  std::fputs("Usage: sluice-xdp COMMAND [OPTIONS]\n\nCommands:\n", f);
  for (const Command &c : kCommands) std::fprintf(f, "  %-9s %s\n", c.name, c.usage);
  std::fputs(
      "\nTables, deltas, policies, counters and flows of an attached instance: sluicectl "
      "--dataplane\nxdp:NAME dataplane ... (docs/sluicectl.md). Run 'sluice-xdp COMMAND --help' "
      "for a command's options.\n",
      f);
}

}  // namespace

int main(int argc, char **argv) {
  const std::string cmd = argc >= 2 ? argv[1] : "";
  if (cmd == "--help" || cmd == "-h") {
    usage(stdout);
    return 0;
  }
  if (cmd == "--version") {
    version(stdout);
    return 0;
  }
  const Command *c = nullptr;
  for (const Command &k : kCommands)
    if (cmd == k.name) c = &k;
  if (c == nullptr) {
    if (cmd.empty())
      std::fputs("sluice-xdp: a command is missing\n", stderr);
    else
      std::fprintf(stderr, "sluice-xdp: unknown command '%s'\n", cmd.c_str());
    usage(stderr);
    return kExitUsage;
  }
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    return c->run(*c, args);
  } catch (const UsageError &e) {
    std::fprintf(stderr, "sluice-xdp %s: %s\nTry 'sluice-xdp %s --help'.\n", c->name, e.what(),
                 c->name);
    return kExitUsage;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "sluice-xdp %s: %s\n", c->name, e.what());
    return 1;
  }
}
