// sluice-xdp: attach the XDP data plane to an interface pair, detach it, show its status, and
// replay captures through it with BPF_PROG_TEST_RUN.
#include <boost/program_options.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "sluice/xdp/attach.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/replay.h"
#include <arpa/inet.h>

#include "sluice/xdp/instance_ops.h"

namespace po = boost::program_options;
using namespace sluice::xdp;

namespace {

const char *kUsage =
    "usage: sluice-xdp <command> [options]\n"
    "  attach --outside IF --inside IF --name NAME [--mode native|generic]\n"
    "  detach --name NAME\n"
    "  status --name NAME\n"
    "  table-load --name NAME SNAPSHOT     replace the reputation table (atomic)\n"
    "  table-delta --name NAME DELTA       apply a delta to the last loaded snapshot\n"
    "  policy --name NAME FILE             replace thresholds and profiles\n"
    "  flows --name NAME [--limit N]       list shaped flows\n"
    "  peer-pass --dev IF [--mode native|generic]\n"
    "         (test rigs: a pass-all XDP program for the far end of a veth pair, which native\n"
    "         XDP redirect into a veth needs; it stays until the interface goes away)\n"
    "  replay --input IN.pcap --output OUT.pcap [--direction outside|inside]\n"
    "         [--inside-net PREFIX...] [--policy FILE] [--table SNAPSHOT]\n"
    "         (--inside-net: frames from these sources arrive inside, others outside,\n"
    "         as with sluice-dp replay; overrides --direction)\n"
    "         (BPF_PROG_TEST_RUN on private maps; flows carry over from frame to frame)\n";

po::variables_map parse(const std::vector<std::string> &args, const po::options_description &d) {
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(d).run(), vm);
  po::notify(vm);
  return vm;
}

int cmd_attach(const std::vector<std::string> &args) {
  AttachOptions o;
  std::string mode = "native";
  po::options_description d("attach");
  d.add_options()("name", po::value(&o.name)->required(), "instance name")(
      "outside", po::value(&o.outside)->required(), "interface facing the senders")(
      "inside", po::value(&o.inside)->required(), "interface facing the MTAs")(
      "mode", po::value(&mode)->default_value("native"), "native or generic");
  parse(args, d);
  o.mode = parse_mode(mode);
  attach(o);
  fmt::print("attached '{}': outside {} inside {} ({} XDP)\n", o.name, o.outside, o.inside,
             mode_name(o.mode));
  return 0;
}

int cmd_detach(const std::vector<std::string> &args) {
  std::string name;
  po::options_description d("detach");
  d.add_options()("name", po::value(&name)->required(), "instance name");
  parse(args, d);
  detach(name);
  fmt::print("detached '{}'\n", name);
  return 0;
}

int cmd_status(const std::vector<std::string> &args) {
  std::string name;
  po::options_description d("status");
  d.add_options()("name", po::value(&name)->required(), "instance name");
  parse(args, d);
  const Status s = status(name);
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
             s.stats.packets[0], s.stats.packets[1], s.stats.smtp[0], s.stats.smtp[1],
             s.stats.malformed, s.stats.lookups);
  for (int l = 1; l < SL_MAX_LEVELS; l++) {
    const auto &ls = s.stats.level[l];
    if (ls.syns + ls.flows + ls.rewritten + ls.dropped + ls.rst_sent == 0) continue;
    fmt::print("level {}: syns {} flows {} rewritten {} dropped {} rst {}\n", l, ls.syns, ls.flows,
               ls.rewritten, ls.dropped, ls.rst_sent);
  }
  return s.outside.attached && s.inside.attached ? 0 : 3;
}

// NAME and one positional file argument.
std::pair<std::string, std::string> name_and_file(const std::vector<std::string> &args,
                                                  const char *what) {
  std::string name, file;
  po::options_description d(what);
  d.add_options()("name", po::value(&name)->required(), "instance name")(
      "file", po::value(&file)->required(), "input file");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
  po::notify(vm);
  return {name, file};
}

int cmd_table_load(const std::vector<std::string> &args) {
  const auto [name, file] = name_and_file(args, "table-load");
  const ReplaceStats st = load_snapshot(name, file);
  fmt::print("table loaded into set {}\n", st.active_set);
  return 0;
}

int cmd_table_delta(const std::vector<std::string> &args) {
  const auto [name, file] = name_and_file(args, "table-delta");
  const ReplaceStats st = apply_delta_file(name, file);
  fmt::print("delta applied; table now in set {}\n", st.active_set);
  return 0;
}

// A policy file parsed, its warnings (e.g. every unlisted sender blocked) said on stderr.
sl_policy load_policy_file(const std::string &file) {
  std::vector<std::string> warnings;
  const sl_policy policy = parse_policy_file(file, &warnings);
  for (const auto &w : warnings) fmt::print(stderr, "sluice-xdp: {}\n", w);
  return policy;
}

int cmd_policy(const std::vector<std::string> &args) {
  const auto [name, file] = name_and_file(args, "policy");
  fmt::print("policy generation {}\n", set_policy(name, load_policy_file(file)));
  return 0;
}

std::string addr_text(const uint8_t *a, uint8_t family) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == SL_AF_INET ? AF_INET : AF_INET6, a, buf, sizeof(buf));
  return buf;
}

int cmd_flows(const std::vector<std::string> &args) {
  std::string name;
  size_t limit = 100;
  po::options_description d("flows");
  d.add_options()("name", po::value(&name)->required(), "instance name")(
      "limit", po::value(&limit)->default_value(100), "at most this many");
  parse(args, d);
  for (const auto &[k, st] : list_flows(name, limit))
    fmt::print("{}:{} -> {}:{} level {} flags {:#x}\n", addr_text(k.client, k.family),
               __builtin_bswap16(k.client_port), addr_text(k.server, k.family),
               __builtin_bswap16(k.server_port), st.level, st.flags);
  return 0;
}

int cmd_peer_pass(const std::vector<std::string> &args) {
  std::string dev, mode = "native";
  po::options_description d("peer-pass");
  d.add_options()("dev", po::value(&dev)->required(), "interface")(
      "mode", po::value(&mode)->default_value("native"), "native or generic");
  parse(args, d);
  attach_pass(dev, parse_mode(mode));
  fmt::print("pass program attached to {}\n", dev);
  return 0;
}

int cmd_replay(const std::vector<std::string> &args) {
  ReplayOptions o;
  std::string dir = "outside", policy, table;
  po::options_description d("replay");
  d.add_options()("input", po::value(&o.input)->required(), "pcap to read")(
      "output", po::value(&o.output)->required(), "pcap of the frames the program emits")(
      "direction", po::value(&dir)->default_value("outside"), "port the frames arrive on")(
      "inside-net", po::value(&o.inside_nets)->multitoken(),
      "frames from these source prefixes arrive inside, the others outside")(
      "policy", po::value(&policy), "policy file (default: none, everything forwarded)")(
      "table", po::value(&table), "reputation snapshot (default: empty)");
  parse(args, d);
  if (!policy.empty()) o.policy = load_policy_file(policy);
  if (!table.empty()) o.table = load_snapshot_table(table);
  if (dir != "outside" && dir != "inside") throw Error("--direction must be outside or inside");
  o.from_inside = dir == "inside";
  const ReplayResult r = replay(o);
  fmt::print("{} frames: {} forwarded, {} dropped, {} answered (TX), {} other\n", r.frames,
             r.forwarded, r.dropped, r.tx, r.other);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (cmd == "attach") return cmd_attach(args);
    if (cmd == "detach") return cmd_detach(args);
    if (cmd == "status") return cmd_status(args);
    if (cmd == "replay") return cmd_replay(args);
    if (cmd == "peer-pass") return cmd_peer_pass(args);
    if (cmd == "table-load") return cmd_table_load(args);
    if (cmd == "table-delta") return cmd_table_delta(args);
    if (cmd == "policy") return cmd_policy(args);
    if (cmd == "flows") return cmd_flows(args);
    std::fprintf(stderr, "sluice-xdp: unknown command '%s'\n%s", cmd.c_str(), kUsage);
    return 2;
  } catch (const po::error &e) {
    std::fprintf(stderr, "sluice-xdp %s: %s\n%s", cmd.c_str(), e.what(), kUsage);
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "sluice-xdp %s: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
