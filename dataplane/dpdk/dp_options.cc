#include "dp_options.h"
#include "po_error_text.h"

#include <grp.h>

#include <boost/program_options.hpp>
#include <vector>

#include <sstream>
#include <stdexcept>

#include "policy_file.h"

namespace sluice::dataplane {

namespace po = boost::program_options;

DpOptions parse_dp_options(int argc, char **argv) {
  DpOptions o;
  std::string ports, mode_text = "0600", group_text, propagation = "on";
  bool no_control = false;
  po::options_description desc(
      "Usage: sluice-dp [EAL options] -- --outside PORT --inside PORT [options]\n"
      "       sluice-dp replay --input IN.pcap --output OUT.pcap --inside-net PREFIX... "
      "[--table FILE]\n"
      "                        [--policy FILE]   (sluice-dp replay --help)\n\n"
      "The DPDK data plane: forwards between two ports and shapes abusive SMTP senders. Its "
      "options\ncome after EAL's and a '--'; once it runs, sluicectl --dataplane dpdk:SOCKET "
      "changes its table\nand policy and reads its counters (docs/dataplane-dpdk.md).\n\n"
      "Options");
  desc.add_options()("help,h", "show this help")("version", "show the version")(
      "outside", po::value(&o.outside)->required(),
      "port facing the senders: port id or device name")(
      "inside", po::value(&o.inside)->required(), "port facing the MTAs: port id or device name")(
      "table", po::value(&o.table), "compiled reputation snapshot (empty table if not given)")(
      "table-if-present", po::value(&o.table_if_present)->value_name("FILE"),
      "like --table, but a missing FILE (noted) or an unreadable or invalid one (a warning) "
      "starts an empty table instead of an error: for the table sluiced last built "
      "(/var/lib/sluice/table.snap), so "
      "that a restarted sluice-dp shapes from its first SYN, before sluiced's next check")(
      "policy", po::value(&o.policy), "policy file (docs/policy.md); pass-only if not given")(
      "control", po::value(&o.control)->default_value(o.control),
      "Unix socket for sluicectl (docs/dataplane-dpdk.md); refused if it is live or is not a "
      "socket. The default's folder is made if missing")("no-control", po::bool_switch(&no_control),
                                                         "open no control socket")(
      "control-mode", po::value(&mode_text)->default_value(mode_text),
      "the control socket's permission bits (octal, within 0777)")(
      "control-group", po::value(&group_text),
      "group (name or number) of the control socket; its members may connect (besides root)")(
      "smtp-ports", po::value(&ports), "comma-separated server ports; overrides the policy's")(
      "flow-table-size", po::value(&o.flow_table_size)->default_value(o.flow_table_size),
      "shaped flows per lcore")("pacer-size", po::value(&o.pacer_size)->default_value(o.pacer_size),
                                "packets the pacer may hold per lcore")(
      "idle-timeout", po::value(&o.idle_timeout_s)->default_value(o.idle_timeout_s),
      "seconds an idle shaped flow is kept")(
      "closing-timeout", po::value(&o.closing_timeout_s)->default_value(o.closing_timeout_s),
      "seconds a flow is kept after FIN/RST")("burst", po::value(&o.burst)->default_value(o.burst),
                                              "RX/TX burst size")(
      "idle-sleep-us", po::value(&o.idle_sleep_us)->default_value(o.idle_sleep_us),
      "when idle, sleep this many microseconds between polls (0 = poll without pause, for "
      "dedicated cores; virtual ports such as net_af_packet want a few, so the kernel's "
      "packet work gets the CPU)")(
      "busy-poll-us", po::value(&o.busy_poll_us)->default_value(o.busy_poll_us),
      "with --idle-sleep-us: idle means no packet for this many microseconds (a dialogue's "
      "next segment usually arrives sooner and then finds the lcore polling)")(
      "mtu", po::value(&o.mtu)->default_value(o.mtu),
      "the ports' MTU (68..16000): frames up to it (plus Ethernet header and two VLAN tags) "
      "pass byte for byte; each mbuf holds a whole frame. net_af_packet ports need the kernel "
      "interfaces' MTU and a ring frame large enough (framesz=, docs/deployment.md)")(
      "link-propagation", po::value(&propagation)->default_value(propagation),
      "on|off: when one port loses its link, take the other down, and bring it back up when "
      "the link returns, as a cable would (docs/deployment.md)")(
      "link-settle-ms", po::value(&o.link_settle_ms)->default_value(o.link_settle_ms),
      "after bringing a port back up, give its link this long to come up before its being "
      "down counts (NICs negotiate for a second or more)");
  std::ostringstream help;
  help << desc;
  o.help_text = help.str();
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    if (vm.count("help")) {
      o.help = true;
      return o;
    }
    po::notify(vm);
  } catch (const po::error &e) {
    throw std::invalid_argument(sluice::po_error_text(e));
  }
  if (no_control) {
    if (!vm["control"].defaulted())
      throw std::invalid_argument("--control and --no-control contradict each other");
    o.control.clear();
  } else if (o.control.empty()) {
    throw std::invalid_argument("--control needs a path (--no-control opens no socket)");
  }
  if (!ports.empty()) {
    try {
      o.smtp_ports = parse_port_list(ports);
    } catch (const PolicyError &e) {
      throw std::invalid_argument(std::string("--smtp-ports: ") + e.what());
    }
  }
  {
    size_t used = 0;
    unsigned long m = 0;
    try {
      m = std::stoul(mode_text, &used, 8);
    } catch (const std::exception &) {
      used = 0;
    }
    if (mode_text.empty() || used != mode_text.size() || m > 0777)
      throw std::invalid_argument(
          "--control-mode must be octal permission bits within 0777, not '" + mode_text + "'");
    o.control_mode = static_cast<uint32_t>(m);
  }
  if (!group_text.empty()) {
    group gr{}, *res = nullptr;
    std::vector<char> buf(16384);
    if (::getgrnam_r(group_text.c_str(), &gr, buf.data(), buf.size(), &res) == 0 &&
        res != nullptr) {
      o.control_group = gr.gr_gid;
    } else {
      size_t used = 0;
      unsigned long g = 0;
      try {
        g = std::stoul(group_text, &used, 10);
      } catch (const std::exception &) {
        used = 0;
      }
      if (used != group_text.size() || g >= 0xffffffffUL)
        throw std::invalid_argument("--control-group: no group '" + group_text + "'");
      o.control_group = static_cast<uint32_t>(g);
    }
  }
  if (propagation != "on" && propagation != "off")
    throw std::invalid_argument("--link-propagation must be on or off, not '" + propagation + "'");
  o.link_propagation = propagation == "on";
  if (o.mtu < 68 || o.mtu > 16000) throw std::invalid_argument("--mtu must be 68..16000");
  if (o.link_settle_ms > 600000) throw std::invalid_argument("--link-settle-ms must be <= 600000");
  if (o.flow_table_size == 0) throw std::invalid_argument("--flow-table-size must be > 0");
  if (o.pacer_size == 0) throw std::invalid_argument("--pacer-size must be > 0");
  if (o.burst == 0 || o.burst > 256) throw std::invalid_argument("--burst must be 1..256");
  if (o.idle_sleep_us > 1000000) throw std::invalid_argument("--idle-sleep-us must be <= 1000000");
  if (o.busy_poll_us > 1000000) throw std::invalid_argument("--busy-poll-us must be <= 1000000");
  if (o.outside == o.inside) throw std::invalid_argument("--outside and --inside are the same");
  if (!o.table.empty() && !o.table_if_present.empty())
    throw std::invalid_argument("--table and --table-if-present: give one of them");
  return o;
}

}  // namespace sluice::dataplane
