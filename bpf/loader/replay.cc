#include "sluice/xdp/replay.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstdlib>

#include "core/sl_wire.h"
#include "inside_nets.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/pcap_file.h"
#include "sluice/xdp/policy_map.h"
#include "sluice/xdp/test_run.h"
#include "sluice/xdp/xdp_object.h"

namespace sluice::xdp {
namespace {

// --inside-net errors in this library's own error type.
InsideNets parse_inside_nets(const std::vector<std::string> &texts) {
  try {
    return InsideNets(texts);
  } catch (const std::invalid_argument &e) {
    throw Error(e.what());
  }
}

}  // namespace

ReplayResult replay(const ReplayOptions &opts) {
  const sl_policy pol = opts.policy.value_or(sl_policy{});
  const InsideNets inside_nets = parse_inside_nets(opts.inside_nets);
  const auto frames = read_pcap(opts.input);
  XdpObject obj;
  uint32_t zero = 0, one = 1, lo = 1;  // redirect target: any device will do for a test run
  write_policy(obj.map_fd("policy"), pol);
  if (bpf_map_update_elem(obj.map_fd("tx_port"), &zero, &lo, BPF_ANY) != 0 ||
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
    const bool in = inside_nets.empty() ? opts.from_inside
                                        : inside_nets.contains_source(f.data.data(), f.data.size());
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
