// Packet rate of sluice-dp's lcore loop against plain io forwarding (what dpdk-testpmd's
// "io" mode does: rx_burst, tx_burst, nothing else) on the same net_ring virtual ports, same
// burst size (32). Each iteration injects one burst on the receiving port's RX ring, runs one
// forwarding step, and recycles what came out of the other port's TX ring, so the ring costs
// are identical on both sides and the difference is sluice-dp's per-packet work.
// Goals (issue 17, against dpdk-testpmd): non-SMTP traffic <= 1.1x io forwarding; an
// established shaped flow <= 1.3x.
// The separate script bench/dataplane/testpmd_compare.sh runs the real dpdk-testpmd.
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <arpa/inet.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>

#include "dp_ports.h"
#include "dp_published.h"
#include "dp_worker.h"
#include "flow_table.h"
#include "policy_file.h"

namespace {

using namespace sluice::dataplane;

constexpr uint16_t kBurst = 32;
rte_mempool *g_pool;
std::string g_prefix;

struct Port {
  uint16_t id;
  rte_ring *rx, *tx;
};

Port make_port(const std::string &name) {
  Port p{};
  p.rx = rte_ring_create((name + "r").c_str(), 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  p.tx = rte_ring_create((name + "t").c_str(), 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  p.id = static_cast<uint16_t>(rte_eth_from_rings(name.c_str(), &p.rx, 1, &p.tx, 1, SOCKET_ID_ANY));
  setup_port(p.id, 1, g_pool, 1024, 1024);
  return p;
}

// A TCP segment from the MTA (198.18.0.2:25) to a sender, or, for non-SMTP, web traffic.
std::vector<uint8_t> frame(uint16_t sport, uint16_t dport, uint32_t src, uint32_t dst) {
  std::vector<uint8_t> f(14 + 20 + 20 + 64, 'x');
  std::memset(f.data(), 0, 54);
  f[12] = 0x08;
  uint8_t *ip = &f[14];
  ip[0] = 0x45;
  ip[3] = static_cast<uint8_t>(f.size() - 14);
  ip[8] = 64;
  ip[9] = 6;
  const uint32_t s = htonl(src), d = htonl(dst);
  std::memcpy(ip + 12, &s, 4);
  std::memcpy(ip + 16, &d, 4);
  uint8_t *tcp = ip + 20;
  tcp[0] = static_cast<uint8_t>(sport >> 8);
  tcp[1] = static_cast<uint8_t>(sport);
  tcp[2] = static_cast<uint8_t>(dport >> 8);
  tcp[3] = static_cast<uint8_t>(dport);
  tcp[12] = 0x50;
  tcp[13] = 0x18;
  tcp[14] = 0xfe;
  tcp[15] = 0x88;
  return f;
}

std::vector<rte_mbuf *> make_mbufs(const std::vector<uint8_t> &f, size_t n) {
  std::vector<rte_mbuf *> v(n);
  for (auto &m : v) {
    m = rte_pktmbuf_alloc(g_pool);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
  }
  return v;
}

struct Rig {
  Port in_port, out_port;
  std::unique_ptr<Published> pub;
  std::unique_ptr<Worker> worker;
};

Rig &rig() {
  static Rig r = [] {
    Rig x;
    x.out_port = make_port("bo");
    x.in_port = make_port("bi");
    x.pub = std::make_unique<Published>(RTE_MAX_LCORE);
    std::istringstream pin("[level.1]\nthreshold = 3\nwindow_clamp = 2048\n");
    PolicyFile pf = parse_policy(pin, "bench");
    auto box = std::make_unique<PolicyBox>();
    box->policy = pf.policy;
    x.pub->set_policy(std::move(box));
    RepTableInput in;
    in.hosts_v4.push_back({htonl(0xc6120103), {3, 0}});  // 198.18.1.3: throttled
    x.pub->set_rep(std::make_unique<RepTable>(in));
    WorkerConfig wc;
    wc.flows.max_flows = 4096;
    wc.burst = kBurst;
    x.worker = std::make_unique<Worker>(0, x.out_port.id, x.in_port.id, 0, wc, *x.pub, 0);
    return x;
  }();
  return r;
}

// Runs `step` over bursts arriving on `from` and leaving on `to`, recycling the mbufs; `refresh`
// first puts back what the last pass changed in them.
template <class Step, class Refresh>
void run(benchmark::State &state, const Port &from, const Port &to, std::vector<rte_mbuf *> mbufs,
         Step step, Refresh refresh) {
  rte_mbuf *burst[kBurst];
  size_t lost = 0;
  for (auto _ : state) {
    refresh(mbufs.data());
    rte_ring_enqueue_burst(from.rx, reinterpret_cast<void **>(mbufs.data()), kBurst, nullptr);
    step();
    const unsigned n =
        rte_ring_dequeue_burst(to.tx, reinterpret_cast<void **>(burst), kBurst, nullptr);
    lost += kBurst - n;
    std::memcpy(mbufs.data(), burst, n * sizeof(rte_mbuf *));
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["lost"] = static_cast<double>(lost);
  // mbufs that went around are freed; the loop keeps exactly kBurst in flight.
  for (unsigned i = 0; i < kBurst && lost == 0; ++i) rte_pktmbuf_free(mbufs[i]);
}

template <class Step>
void run(benchmark::State &state, const Port &from, const Port &to, std::vector<rte_mbuf *> mbufs,
         Step step) {
  run(state, from, to, std::move(mbufs), step, [](rte_mbuf **) {});
}

void io_forward(const Port &from, const Port &to) {
  rte_mbuf *pkts[kBurst];
  const uint16_t n = rte_eth_rx_burst(from.id, 0, pkts, kBurst);
  const uint16_t sent = rte_eth_tx_burst(to.id, 0, pkts, n);
  if (sent < n) rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
}

void BM_IoForward(benchmark::State &state) {
  Rig &r = rig();
  auto m = make_mbufs(frame(40000, 80, 0xc6120107, 0xc6120002), kBurst);
  run(state, r.out_port, r.in_port, m, [&] { io_forward(r.out_port, r.in_port); });
}
BENCHMARK(BM_IoForward);

void BM_SluiceNonSmtp(benchmark::State &state) {
  Rig &r = rig();
  auto m = make_mbufs(frame(40000, 80, 0xc6120107, 0xc6120002), kBurst);
  uint64_t now = 1;
  run(state, r.out_port, r.in_port, m, [&] { r.worker->poll_once(now += 1000); });
}
BENCHMARK(BM_SluiceNonSmtp);

void BM_SluiceShapedFlow(benchmark::State &state) {
  Rig &r = rig();
  // Establish the flow: the throttled sender's SYN, then server segments of that flow.
  std::vector<uint8_t> syn = frame(40000, 25, 0xc6120103, 0xc6120002);
  syn[14 + 20 + 13] = 0x02;
  auto s = make_mbufs(syn, 1);
  rte_ring_enqueue(r.out_port.rx, s[0]);
  r.worker->poll_once(1);
  rte_mbuf *out;
  while (rte_ring_dequeue(r.in_port.tx, reinterpret_cast<void **>(&out)) == 0)
    rte_pktmbuf_free(out);
  if (r.worker->pipeline().flows().size() != 1) state.SkipWithError("flow not created");
  // Every segment's window (0xfe88) is over the level's clamp, so each is rewritten: the
  // window and checksum (4 bytes at TCP offset 14) are put back before the burst goes round
  // again (a store per frame, which the figure includes), or from the second pass on the
  // segments would arrive clamped already and pass unchanged.
  const std::vector<uint8_t> seg = frame(25, 40000, 0xc6120002, 0xc6120103);
  constexpr size_t kWinOff = 14 + 20 + 14;
  uint32_t win_csum;
  std::memcpy(&win_csum, seg.data() + kWinOff, 4);
  auto m = make_mbufs(seg, kBurst);
  uint64_t now = 2;
  const uint64_t rewritten0 = r.worker->pipeline().stats().level[1].rewritten;
  run(
      state, r.in_port, r.out_port, m, [&] { r.worker->poll_once(now += 1000); },
      [&](rte_mbuf **ms) {
        for (uint16_t i = 0; i < kBurst; ++i)
          std::memcpy(rte_pktmbuf_mtod(ms[i], uint8_t *) + kWinOff, &win_csum, 4);
      });
  const uint64_t rewritten = r.worker->pipeline().stats().level[1].rewritten - rewritten0;
  state.counters["rewritten"] = static_cast<double>(rewritten);
  if (rewritten != static_cast<uint64_t>(state.iterations()) * kBurst)
    state.SkipWithError("not every segment was rewritten: the case is not a shaped flow's");
}
BENCHMARK(BM_SluiceShapedFlow);

// Flow lookup: sluice-dp's own table against rte_hash (the DPDK alternative the design
// considered), 256k live flows, random lookups of existing flows in bursts of 32.
constexpr uint32_t kFlows = 1u << 18;

std::vector<sl_flow_key> flow_keys() {
  std::vector<sl_flow_key> keys(kFlows);
  std::mt19937 rng(5);
  for (auto &k : keys) {
    k = sl_flow_key{};
    const uint32_t c = rng();
    std::memcpy(k.client, &c, 4);
    k.server[0] = 198;
    k.server[1] = 18;
    k.client_port = static_cast<__be16>(rng());
    k.server_port = htons(25);
    k.family = SL_AF_INET;
  }
  return keys;
}

void BM_FlowLookupOwnTable(benchmark::State &state) {
  static const auto keys = flow_keys();
  FlowTable t(FlowTableConfig{.max_flows = kFlows});
  for (const auto &k : keys) t.insert(k, sl_flow_state{}, 0);
  std::mt19937 rng(9);
  std::vector<uint32_t> order(4096);
  for (auto &o : order) o = rng() % kFlows;
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    for (int b = 0; b < 32; ++b) hits += t.find(keys[order[i++ & 4095]]) != nullptr;
  }
  state.SetItemsProcessed(state.iterations() * 32);
  state.counters["hit_rate"] =
      static_cast<double>(hits) / static_cast<double>(state.iterations() * 32);
}
BENCHMARK(BM_FlowLookupOwnTable);

void BM_FlowLookupRteHash(benchmark::State &state) {
  static const auto keys = flow_keys();
  rte_hash_parameters params{};
  params.name = "bench_flows";
  params.entries = kFlows * 2;  // same 50% load as the own table's index
  params.key_len = sizeof(sl_flow_key);
  params.hash_func = rte_jhash;
  params.socket_id = SOCKET_ID_ANY;
  rte_hash *h = rte_hash_create(&params);
  if (h == nullptr) {
    state.SkipWithError("rte_hash_create failed");
    return;
  }
  for (uint32_t i = 0; i < kFlows; ++i) rte_hash_add_key_data(h, &keys[i], nullptr);
  std::mt19937 rng(9);
  std::vector<uint32_t> order(4096);
  for (auto &o : order) o = rng() % kFlows;
  size_t i = 0, hits = 0;
  const void *burst[32];
  void *data[32];
  for (auto _ : state) {
    for (int b = 0; b < 32; ++b) burst[b] = &keys[order[i++ & 4095]];
    uint64_t mask = 0;
    rte_hash_lookup_bulk_data(h, burst, 32, &mask, data);
    hits += static_cast<size_t>(__builtin_popcountll(mask));
  }
  state.SetItemsProcessed(state.iterations() * 32);
  state.counters["hit_rate"] =
      static_cast<double>(hits) / static_cast<double>(state.iterations() * 32);
  rte_hash_free(h);
}
BENCHMARK(BM_FlowLookupRteHash);

void cleanup() {
  rte_eal_cleanup();
  std::error_code ec;
  std::filesystem::remove_all("/var/run/dpdk/" + g_prefix, ec);
}

}  // namespace

int main(int argc, char **argv) {
  g_prefix = "sluice_bench_" + std::to_string(getpid());
  std::vector<std::string> args = {
      "bench", "--no-huge",     "--no-pci",      "-m",     "512",           "-l",
      "0",     "--log-level=3", "--file-prefix", g_prefix, "--no-telemetry"};
  std::vector<char *> eal;
  for (auto &a : args) eal.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal.size()), eal.data()) < 0) return 1;
  std::atexit(cleanup);
  g_pool =
      rte_pktmbuf_pool_create("bench_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
