#include "sluice/xdp/replay.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstdlib>

#include "core/sl_wire.h"
#include "inside_nets.h"
#include "pcap_io.h"
#include "sluice/xdp/error.h"
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
  pcap::Reader frames(opts.input);
  XdpObject obj;
  uint32_t zero = 0, one = 1, lo = 1;  // redirect target: any device will do for a test run
  if (bpf_map_update_elem(obj.map_fd("policy"), &zero, &pol, BPF_ANY) != 0 ||
      bpf_map_update_elem(obj.map_fd("tx_port"), &zero, &lo, BPF_ANY) != 0 ||
      bpf_map_update_elem(obj.map_fd("tx_port"), &one, &lo, BPF_ANY) != 0)
    throw Error("cannot initialise the replay maps");
  if (opts.table) replace_table(rep_map_fds(obj), *opts.table);
  const int outside = obj.prog_fd(Program::outside), inside = obj.prog_fd(Program::inside);
  ReplayResult r;
  // The output keeps each frame's input timestamp (nanoseconds) and appears only when the
  // whole capture went through.
  pcap::Writer out(opts.output);
  pcap::Frame f;
  while (frames.next(f)) {
    r.frames++;
    if (f.data.size() < 14) {
      // Shorter than an Ethernet header: no NIC delivers it to XDP, and the kernel refuses to
      // test-run it. Passed through untouched, as the program does with anything not ours.
      r.forwarded++;
      out.write(f.ts_ns, f.data.data(), f.data.size());
      continue;
    }
    const bool in = inside_nets.empty() ? opts.from_inside
                                        : inside_nets.contains_source(f.data.data(), f.data.size());
    const TestRunResult t = test_run(in ? inside : outside, f.data);
    switch (t.action) {
      case XDP_REDIRECT:
      case XDP_PASS:
        r.forwarded++;
        out.write(f.ts_ns, t.output.data(), t.output.size());
        break;
      case XDP_TX:
        r.tx++;
        out.write(f.ts_ns, t.output.data(), t.output.size());
        break;
      case XDP_DROP:
        r.dropped++;
        break;
      default:
        r.other++;
        break;
    }
  }
  out.commit();
  return r;
}

}  // namespace sluice::xdp
