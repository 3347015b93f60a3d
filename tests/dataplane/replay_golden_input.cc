#include "replay_golden_input.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <stdexcept>

#include "common/tcp_frame.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::dataplane::golden {
namespace {

using sluice::testing::arp_frame;
using sluice::testing::linux_syn;
using sluice::testing::TcpFrame;

constexpr uint64_t kMs = 1'000'000;

uint32_t v4(const std::string &s) {
  uint32_t a;
  inet_pton(AF_INET, s.c_str(), &a);
  return a;
}

std::vector<Rec> conversation(const Conv &c, uint64_t t0) {
  TcpFrame syn = linux_syn(c.client, c.server);
  syn.vlan = c.vlan;
  syn.sport = c.sport;
  auto from_server = [&](uint8_t flags, uint32_t seq, size_t payload) {
    TcpFrame f = syn;
    f.options.clear();
    std::swap(f.src, f.dst);
    std::swap(f.sport, f.dport);
    f.flags = flags;
    f.seq = seq;
    f.ack = syn.seq + 1;
    f.window = 65160;
    if (flags & 0x02) f.options = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
    f.payload.assign(payload, 'g');
    return f.build();
  };
  TcpFrame data = syn;
  data.options.clear();
  data.flags = 0x18;
  data.seq = syn.seq + 1;
  data.ack = 5001;
  data.payload.assign(20, 'c');
  return {{t0, syn.build()},
          {t0 + 1 * kMs, from_server(0x12, 5000, 0)},
          {t0 + 3 * kMs, from_server(0x18, 5001, 30)},
          {t0 + 5 * kMs, data.build()},
          {t0 + 6 * kMs, from_server(0x10, 5031, 0)}};
}

}  // namespace

const std::vector<Conv> &conversations() {
  // Senders 198.18.1.<score> (IPv4) and 2001:2:0:1::<score hex> (IPv6); the MTA network
  // 198.18.0.0/24 and 2001:2::/64 is inside.
  static const std::vector<Conv> convs = {
      {"198.18.7.7", "198.18.0.2", -1, 41000},     // clean
      {"198.18.1.3", "198.18.0.2", -1, 41003},     // throttle
      {"198.18.1.5", "198.18.0.2", 100, 41005},    // slow (delay), VLAN 100
      {"198.18.1.8", "198.18.0.2", -1, 41008},     // tarpit
      {"198.18.1.9", "198.18.0.2", -1, 41009},     // drop-data
      {"198.18.1.10", "198.18.0.2", -1, 41010},    // block-rst
      {"198.18.1.25", "198.18.0.2", 200, 41025},   // block-drop, VLAN 200
      {"2001:2:0:1::3", "2001:2::2", -1, 42003},   // IPv6 throttle (prefix)
      {"2001:2:0:1::a", "2001:2::2", 300, 42010},  // IPv6 block-rst, VLAN 300
  };
  return convs;
}

std::vector<Rec> write_inputs(const std::filesystem::path &dir) {
  std::vector<reputation::HostV4> h4;
  for (int s : {3, 5, 8, 9, 10, 25}) h4.push_back({v4("198.18.1." + std::to_string(s)), {s, 0}});
  std::vector<reputation::PrefixV6> p6(1);
  inet_pton(AF_INET6, "2001:2:0:1::", p6[0].addr);
  p6[0].len = 64;
  p6[0].value = {3, 0};  // the whole IPv6 sender /64 is throttled
  std::vector<reputation::HostV6> h6(1);
  inet_pton(AF_INET6, "2001:2:0:1::a", h6[0].addr);
  h6[0].value = {10, 0};  // one IPv6 host is blocked with RST
  reputation::Snapshot::from_entries(h4, {}, h6, p6).save((dir / kTable).string());

  std::vector<Rec> in;
  uint64_t t = 1'700'000'000ull * 1'000'000'000;
  for (const Conv &c : conversations()) {
    for (Rec &r : conversation(c, t)) in.push_back(std::move(r));
    t += 500 * kMs;  // conversations do not overlap: output order is easy to read
  }
  in.push_back({t, arp_frame()});
  write_pcap((dir / kInput).string(), in);
  return in;
}

void write_pcap(const std::string &path, const std::vector<Rec> &recs) {
  pcap_t *dead =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_NANO);
  pcap_dumper_t *d = pcap_dump_open(dead, path.c_str());
  if (d == nullptr) {
    pcap_close(dead);
    throw std::runtime_error(path + ": cannot write");
  }
  for (const Rec &r : recs) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(r.ns / 1'000'000'000);
    h.ts.tv_usec = static_cast<suseconds_t>(r.ns % 1'000'000'000);
    h.caplen = h.len = static_cast<uint32_t>(r.frame.size());
    pcap_dump(reinterpret_cast<u_char *>(d), &h, r.frame.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

std::vector<Rec> read_pcap(const std::string &path) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t *p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  std::vector<Rec> out;
  if (p == nullptr) return out;
  pcap_pkthdr *h;
  const u_char *b;
  while (pcap_next_ex(p, &h, &b) == 1)
    out.push_back({uint64_t(h->ts.tv_sec) * 1'000'000'000 + uint64_t(h->ts.tv_usec),
                   std::vector<uint8_t>(b, b + h->caplen)});
  pcap_close(p);
  return out;
}

}  // namespace sluice::dataplane::golden
