#include "sluice/xdp/replay.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstdlib>

#include "core/sl_wire.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/pcap_file.h"
#include "sluice/xdp/test_run.h"
#include "sluice/xdp/xdp_object.h"

namespace sluice::xdp {
namespace {

struct Net {
  int family = 0;  // AF_INET / AF_INET6
  uint8_t addr[16] = {};
  unsigned len = 0;
};

Net parse_net(const std::string &text) {
  Net n;
  const auto slash = text.find('/');
  const std::string a = text.substr(0, slash);
  if (inet_pton(AF_INET, a.c_str(), n.addr) == 1) {
    n.family = AF_INET;
    n.len = 32;
  } else if (inet_pton(AF_INET6, a.c_str(), n.addr) == 1) {
    n.family = AF_INET6;
    n.len = 128;
  } else {
    throw Error("--inside-net: '" + text + "' is not an address/prefix");
  }
  if (slash != std::string::npos) {
    const std::string l = text.substr(slash + 1);
    char *end = nullptr;
    const unsigned long len = std::strtoul(l.c_str(), &end, 10);
    if (l.empty() || *end != '\0' || len > n.len)
      throw Error("--inside-net: bad prefix length in '" + text + "'");
    n.len = static_cast<unsigned>(len);
  }
  return n;
}

bool in_net(const Net &n, int family, const uint8_t *a) {
  if (family != n.family) return false;
  unsigned bits = n.len, i = 0;
  for (; bits >= 8; bits -= 8, ++i)
    if (a[i] != n.addr[i]) return false;
  if (bits == 0) return true;
  const auto m = static_cast<uint8_t>(0xff << (8 - bits));
  return (a[i] & m) == (n.addr[i] & m);
}

// True if the frame's source address (behind up to 2 VLAN tags) is in one of `nets`.
bool from_inside_net(const std::vector<uint8_t> &f, const std::vector<Net> &nets) {
  size_t off = 12;
  for (int tags = 0; tags <= 2; ++tags) {
    if (off + 2 > f.size()) return false;
    const auto type = static_cast<uint16_t>(f[off] << 8 | f[off + 1]);
    off += 2;
    if (type == SL_ETH_P_8021Q || type == SL_ETH_P_8021AD) {
      off += 2;
      continue;
    }
    int family = 0;
    const uint8_t *src = nullptr;
    if (type == SL_ETH_P_IP && off + 20 <= f.size()) {
      family = AF_INET;
      src = f.data() + off + 12;
    } else if (type == SL_ETH_P_IPV6 && off + 40 <= f.size()) {
      family = AF_INET6;
      src = f.data() + off + 8;
    } else {
      return false;
    }
    for (const Net &n : nets)
      if (in_net(n, family, src)) return true;
    return false;
  }
  return false;
}

}  // namespace

ReplayResult replay(const ReplayOptions &opts) {
  const sl_policy pol = opts.policy.value_or(sl_policy{});
  std::vector<Net> nets;
  for (const auto &n : opts.inside_nets) nets.push_back(parse_net(n));
  const auto frames = read_pcap(opts.input);
  XdpObject obj;
  uint32_t zero = 0, one = 1, lo = 1;  // redirect target: any device will do for a test run
  if (bpf_map_update_elem(obj.map_fd("policy"), &zero, &pol, BPF_ANY) != 0 ||
      bpf_map_update_elem(obj.map_fd("tx_port"), &zero, &lo, BPF_ANY) != 0 ||
      bpf_map_update_elem(obj.map_fd("tx_port"), &one, &lo, BPF_ANY) != 0)
    throw Error("cannot initialise the replay maps");
  if (opts.table) replace_table(rep_map_fds(obj), *opts.table);
  const int outside = obj.prog_fd(Program::outside), inside = obj.prog_fd(Program::inside);
  ReplayResult r;
  std::vector<PcapFrame> out;
  for (const auto &f : frames) {
    r.frames++;
    if (f.data.size() < 14) {
      // Shorter than an Ethernet header: no NIC delivers it to XDP, and the kernel refuses to
      // test-run it. Passed through untouched, as the program does with anything not ours.
      r.forwarded++;
      out.push_back(f);
      continue;
    }
    const bool in = nets.empty() ? opts.from_inside : from_inside_net(f.data, nets);
    const TestRunResult t = test_run(in ? inside : outside, f.data);
    switch (t.action) {
      case XDP_REDIRECT:
      case XDP_PASS:
        r.forwarded++;
        out.push_back({f.ts_sec, f.ts_frac, t.output});
        break;
      case XDP_TX:
        r.tx++;
        out.push_back({f.ts_sec, f.ts_frac, t.output});
        break;
      case XDP_DROP:
        r.dropped++;
        break;
      default:
        r.other++;
        break;
    }
  }
  write_pcap(opts.output, out);
  return r;
}

}  // namespace sluice::xdp
