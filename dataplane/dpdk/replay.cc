#include "replay.h"
#include "inside_nets.h"

#include <arpa/inet.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <iostream>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "core/sl_wire.h"
#include "pacer.h"
#include "pcap_io.h"
#include "pipeline.h"
#include "policy_file.h"
#include "rep_table_snapshot.h"

namespace sluice::dataplane {
namespace {

struct Held {
  std::vector<uint8_t> frame;
};

// The output capture, kept in time order: a packet is never stamped earlier than the one
// written before it.
class Writer {
 public:
  explicit Writer(const std::string &path) : out_(path) {}
  void write(uint64_t ns, const uint8_t *data, uint32_t len) {
    ns = std::max(ns, last_);
    last_ = ns;
    out_.write(ns, data, len);
  }
  void commit() { out_.commit(); }
  uint64_t written() const { return out_.written(); }

 private:
  pcap::Writer out_;
  uint64_t last_ = 0;
};

uint32_t xorshift(uint64_t &s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return static_cast<uint32_t>(s >> 32);
}

}  // namespace

ReplayReport replay(const ReplayOptions &opt) {
  const InsideNets inside(opt.inside_nets);
  PolicyFile pf;
  if (!opt.policy.empty()) {
    pf = load_policy(opt.policy);
    for (const std::string &w : policy_warnings(pf, opt.policy))
      std::fprintf(stderr, "sluice-dp replay: %s\n", w.c_str());
  } else {
    pf.policy.nlevels = 1, pf.policy.smtp_ports[0] = sl_htons(25);
  }
  if (opt.smtp_ports) set_smtp_ports(pf.policy, *opt.smtp_ports);
  std::unique_ptr<RepTable> rep;
  if (!opt.table.empty()) rep = rep_table_from_snapshot(reputation::Snapshot::load(opt.table));

  pcap::Reader in(opt.in);
  Writer out(opt.out);

  FlowTableConfig fc;
  fc.max_flows = opt.flow_table_size;
  Pipeline pipe(fc);
  std::unique_ptr<Pacer> pacer;
  ReplayReport rep_out;
  uint64_t rng = opt.seed ? opt.seed : 1;
  auto release = [&](uint64_t now) {
    pacer->poll(now, UINT32_MAX, [&](const PacerItem &it) {
      auto *h = static_cast<Held *>(it.payload);
      pipe.on_released(it.flow_idx, it.flow_gen);
      out.write(it.release_ns, h->frame.data(), static_cast<uint32_t>(h->frame.size()));
      delete h;
    });
  };

  pcap::Frame in_frame;
  while (in.next(in_frame)) {
    const uint64_t now = in_frame.ts_ns;
    ++rep_out.read;
    if (!pacer) {
      PacerConfig pc;
      pc.capacity = opt.pacer_size;
      pacer = std::make_unique<Pacer>(pc, now);
    }
    release(now);
    std::vector<uint8_t> frame = std::move(in_frame.data);
    const sl_dir dir = inside.contains_source(frame.data(), frame.size()) ? SL_DIR_FROM_INSIDE
                                                                          : SL_DIR_FROM_OUTSIDE;
    const PacketResult res = pipe.process(frame.data(), static_cast<uint32_t>(frame.size()), dir,
                                          now, xorshift(rng), pf.policy, rep.get());
    switch (res.verdict) {
      case SL_VERDICT_PASS:
        out.write(now, frame.data(), static_cast<uint32_t>(frame.size()));
        break;
      case SL_VERDICT_DROP:
        ++rep_out.dropped;
        break;
      case SL_VERDICT_TX:
        ++rep_out.replies;
        out.write(now, frame.data(),
                  std::min<uint32_t>(res.tx_len, static_cast<uint32_t>(frame.size())));
        break;
      case SL_VERDICT_DELAY: {
        auto *h = new Held{std::move(frame)};
        if (pacer->insert(res.release_ns, h, res.flow_idx, res.flow_gen)) {
          pipe.on_held(res);
          ++rep_out.delayed;
        } else {
          pipe.on_pacer_full(res);
          ++rep_out.dropped;
          delete h;
        }
        break;
      }
    }
  }
  if (pacer) release(UINT64_MAX >> 2);  // the end of the capture: everything still held leaves
  out.commit();
  rep_out.written = out.written();
  return rep_out;
}

int replay_main(int argc, char **argv) {
  namespace po = boost::program_options;
  ReplayOptions o;
  std::string ports;
  po::options_description desc("Options");
  desc.add_options()("help,h", "show this help")("version", "show the version")(
      "input", po::value(&o.in)->required()->value_name("IN.pcap"),
      "capture to read (Ethernet pcap)")("output",
                                         po::value(&o.out)->required()->value_name("OUT.pcap"),
                                         "capture to write (pcap, nanosecond timestamps)")(
      "inside-net", po::value(&o.inside_nets)->multitoken()->required()->value_name("PREFIX..."),
      "prefixes of the inside (MTA) network; sources there came in on the inside port")(
      "table", po::value(&o.table)->value_name("FILE"), "reputation table file")(
      "policy", po::value(&o.policy)->value_name("FILE"), "policy file")(
      "smtp-ports", po::value(&ports)->value_name("P,..."),
      "comma-separated server ports; overrides the policy's")(
      "pacer-size", po::value(&o.pacer_size)->default_value(o.pacer_size), "packets held at most")(
      "seed", po::value(&o.seed)->default_value(o.seed), "random seed for drop rates");
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    if (vm.count("help")) {
      std::cout << "Usage: sluice-dp replay --input IN.pcap --output OUT.pcap --inside-net "
                   "PREFIX... [--table FILE] [--policy FILE]\n\n"
                   "Runs a capture through sluice-dp's pipeline without DPDK ports: frames from "
                   "the inside\nprefixes come in on the inside port, the others on the outside "
                   "port; what leaves either\nport (forwarded, rewritten, released by the pacer, "
                   "RST replies) is written in order.\n\n"
                << desc;
      return 0;
    }
    if (vm.count("version")) {
      std::cout << "sluice-dp " << SLUICE_VERSION << "\n";
      return 0;
    }
    po::notify(vm);
    if (!ports.empty()) o.smtp_ports = parse_port_list(ports);
  } catch (const std::exception &e) {  // po::error, or a bad --smtp-ports list
    std::fprintf(stderr, "sluice-dp replay: %s\nTry 'sluice-dp replay --help'.\n", e.what());
    return 2;
  }
  try {
    const ReplayReport r = replay(o);
    std::fprintf(
        stderr, "replay: %llu read, %llu written, %llu dropped, %llu RST replies, %llu delayed\n",
        static_cast<unsigned long long>(r.read), static_cast<unsigned long long>(r.written),
        static_cast<unsigned long long>(r.dropped), static_cast<unsigned long long>(r.replies),
        static_cast<unsigned long long>(r.delayed));
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "sluice-dp replay: %s\n", e.what());
    return 1;
  }
}

}  // namespace sluice::dataplane
