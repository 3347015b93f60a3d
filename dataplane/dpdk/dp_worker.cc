#include "dp_worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_random.h>
#include <rte_rcu_qsbr.h>
#include <sys/prctl.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace sluice::dataplane {

namespace {

// A TX verdict's reply (an RST, built in the first segment) trimmed to tx_len: later segments
// freed, then the first cut. rte_pktmbuf_trim alone only trims within the last segment.
void trim_to_reply(rte_mbuf *m, uint32_t tx_len) {
  if (m->nb_segs > 1 && tx_len <= rte_pktmbuf_data_len(m)) {
    rte_pktmbuf_free(m->next);
    m->next = nullptr;
    m->nb_segs = 1;
    m->pkt_len = rte_pktmbuf_data_len(m);
  }
  if (tx_len < rte_pktmbuf_pkt_len(m)) rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - tx_len);
}

}  // namespace

uint64_t tsc_now_ns() {
  static const double ns_per_cycle = 1e9 / static_cast<double>(rte_get_tsc_hz());
  return static_cast<uint64_t>(static_cast<double>(rte_rdtsc()) * ns_per_cycle);
}

Worker::Worker(uint32_t rcu_id, uint16_t outside_port, uint16_t inside_port, uint16_t queue,
               const WorkerConfig &cfg, Published &pub, uint64_t now_ns)
    : rcu_id_(rcu_id),
      port_{outside_port, inside_port},
      queue_(queue),
      burst_(cfg.burst > kMaxBurst ? kMaxBurst : cfg.burst),
      idle_sleep_us_(cfg.idle_sleep_us),
      busy_poll_ns_(uint64_t{cfg.busy_poll_us} * 1000),
      pub_(pub),
      pipe_(cfg.flows),
      pacer_(cfg.pacer, now_ns),
      rng_(rte_rand() | 1),
      replay_pool_(cfg.replay_pool) {}

Worker::~Worker() {
  for (int s = 0; s < 2; ++s) {
    rte_pktmbuf_free_bulk(txbuf_[s], txlen_[s]);
    txlen_[s] = 0;
  }
  pacer_.poll(UINT64_MAX >> 1, UINT32_MAX,
              [](const PacerItem &it) { rte_pktmbuf_free(static_cast<rte_mbuf *>(it.payload)); });
}

void Worker::online() {
  rte_rcu_qsbr_thread_register(pub_.qsbr(), rcu_id_);
  rte_rcu_qsbr_thread_online(pub_.qsbr(), rcu_id_);
}

void Worker::offline() {
  rte_rcu_qsbr_thread_offline(pub_.qsbr(), rcu_id_);
  rte_rcu_qsbr_thread_unregister(pub_.qsbr(), rcu_id_);
}

void Worker::flush(int side) {
  const uint16_t n = txlen_[side];
  if (n == 0) return;
  const uint16_t sent = rte_eth_tx_burst(port_[side], queue_, txbuf_[side], n);
  ports_stats_[side].tx += sent;
  if (sent < n) {
    ports_stats_[side].tx_dropped += n - sent;
    rte_pktmbuf_free_bulk(&txbuf_[side][sent], n - sent);
  }
  txlen_[side] = 0;
}

void Worker::send(int side, rte_mbuf *m) {
  txbuf_[side][txlen_[side]++] = m;
  if (txlen_[side] == burst_) flush(side);
}

void Worker::handle(rte_mbuf **pkts, uint16_t n, int dir, uint64_t now_ns, const sl_policy &policy,
                    const RepTable *rep) {
  const int other = 1 - dir;
  constexpr uint16_t kAhead = 3;
  // The other port's TX buffer is where nearly every frame goes: its fill level stays in a
  // register for the burst instead of a member reloaded and stored per frame.
  rte_mbuf **const out = txbuf_[other];
  uint16_t nout = txlen_[other];
  const uint16_t burst = burst_;
  auto forward = [&](rte_mbuf *m) {
    out[nout++] = m;
    if (nout == burst) {
      txlen_[other] = nout;
      flush(other);
      nout = 0;
    }
  };
  // Stage 1 over the burst: parse, classify, flow key and hash, prefetch of the flow's slot.
  // Frames before the burst's first SMTP segment leave at once (all of a clean burst does);
  // from that segment on everything waits for stage 2, which keeps the burst's order.
  pipe_.count_packets(static_cast<sl_dir>(dir), n);
  // Only the first segment is read; lengths are checked against the whole frame, so a
  // datagram that goes on into later segments is judged on its headers like any other.
  auto prepare = [&](uint16_t i) __attribute__((always_inline)) {
    rte_mbuf *m = pkts[i];
    return pipe_.prepare(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m),
                         rte_pktmbuf_pkt_len(m), static_cast<sl_dir>(dir), policy, rep, prep_[i]);
  };
  // Packet data is prefetched kAhead frames ahead; the loops run in two parts (l3fwd's way), the
  // last kAhead frames with nothing left to prefetch, so no frame tests whether there is.
  const uint16_t ahead_end = n > kAhead ? n - kAhead : 0;
  for (uint16_t i = 0; i < n && i < kAhead; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
  uint16_t i = 0;
  for (; i < ahead_end; ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kAhead], void *));
    if (prepare(i) != SL_CLASS_OTHER) break;
    forward(pkts[i]);
  }
  if (i == ahead_end) {
    for (; i < n; ++i) {
      if (prepare(i) != SL_CLASS_OTHER) break;
      forward(pkts[i]);
    }
  }
  const uint16_t first_smtp = i;
  for (++i; i < ahead_end; ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kAhead], void *));
    prepare(i);
  }
  for (; i < n; ++i) prepare(i);
  // Stage 2, in arrival order: flow lookup (its slot is in cache by now), the profile, the
  // verdict.
  uint64_t rng = rng_;  // in a register for the burst, not reloaded and stored per draw
  for (i = first_smtp; i < n; ++i) {
    rte_mbuf *m = pkts[i];
    PreparedPacket &pp = prep_[i];
    if (pp.cls == SL_CLASS_OTHER) {
      forward(m);
      continue;
    }
    const PacketResult &r = pp.out;
    switch (pipe_.finish(pp, now_ns, rng, policy, rep)) {
      case SL_VERDICT_PASS:
        forward(m);
        break;
      case SL_VERDICT_DROP:
        rte_pktmbuf_free(m);
        break;
      case SL_VERDICT_TX:
        trim_to_reply(m, r.tx_len);
        send(dir, m);
        break;
      case SL_VERDICT_DELAY:
        if (pacer_.insert(r.release_ns, m, r.flow_idx, r.flow_gen, static_cast<uint32_t>(other))) {
          pipe_.on_held(r);
        } else {
          pipe_.on_pacer_full(r);
          rte_pktmbuf_free(m);
        }
        break;
    }
  }
  rng_ = rng;
  txlen_[other] = nout;
}

uint32_t Worker::poll_once(uint64_t now_ns) {
  rte_mbuf *pkts[kMaxBurst];
  const PolicyBox *pol = pub_.policy();
  const RepTable *rep = pub_.rep();
  uint32_t total = 0;
  for (int dir = 0; dir < 2; ++dir) {
    const uint16_t n = rte_eth_rx_burst(port_[dir], queue_, pkts, burst_);
    if (n == 0) continue;
    ports_stats_[dir].rx += n;
    total += n;
    handle(pkts, n, dir, now_ns, pol->policy, rep);
  }
  pacer_.poll(now_ns, kMaxBurst, [this](const PacerItem &it) {
    pipe_.on_released(it.flow_idx, it.flow_gen);
    send(static_cast<int>(it.aux), static_cast<rte_mbuf *>(it.payload));
  });
  flush(0);
  flush(1);
  // Done with this burst's policy and table pointers.
  rte_rcu_qsbr_quiescent(pub_.qsbr(), rcu_id_);
  return total;
}

uint32_t Worker::replay_held(uint64_t now_ns) {
  const PolicyBox *pol = pub_.policy();
  const RepTable *rep = pub_.rep();
  const uint32_t gen = (rep != nullptr ? rep->generation() : 0) + pol->policy.generation;
  if (gen == replayed_gen_) return 0;
  replayed_gen_ = gen;
  if (replay_pool_ == nullptr) return 0;
  pipe_.held_acks().copy_all(replaying_);
  uint32_t sent = 0;
  for (const HeldFrames::Held &h : replaying_) {
    rte_mbuf *m = rte_pktmbuf_alloc(replay_pool_);
    if (m == nullptr) break;  // the next change tries again; the probes still work meanwhile
    auto *data = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(m, h.frame.len));
    if (data == nullptr) {
      rte_pktmbuf_free(m);
      break;
    }
    std::memcpy(data, h.frame.bytes, h.frame.len);
    const PacketResult r = pipe_.replay_held(data, h.frame.len, now_ns, pol->policy, rep);
    if (r.cls != SL_CLASS_SERVER_SEG) pipe_.held_acks().unhold(h.key, pipe_.flows().hash(h.key));
    switch (r.verdict) {
      case SL_VERDICT_PASS:
        send(SL_DIR_FROM_OUTSIDE, m);  // on to the client, as the server's segment would go
        ++sent;
        break;
      case SL_VERDICT_TX:
        trim_to_reply(m, r.tx_len);
        send(SL_DIR_FROM_INSIDE, m);  // an RST back to the server
        ++sent;
        break;
      default:
        rte_pktmbuf_free(m);
        break;
    }
  }
  flush(SL_DIR_FROM_OUTSIDE);
  flush(SL_DIR_FROM_INSIDE);
  return sent;
}

void Worker::control_tick(uint64_t now_ns) {
  pipe_.expire(now_ns, 256);
  replay_held(now_ns);
  const uint32_t req = flows_req_.load(std::memory_order_acquire);
  if (req != flows_done_.load(std::memory_order_relaxed)) {
    flows_out_.clear();
    flows_skipped_ = 0;
    if (flows_limit_ > 0)
      pipe_.flows().for_each([&](const FlowEntry &e) {
        if (flows_skipped_ < flows_skip_) {
          ++flows_skipped_;
          return true;
        }
        flows_out_.push_back({e.key, e.state, e.pending});
        return flows_out_.size() < flows_limit_;
      });
    flows_done_.store(req, std::memory_order_release);
  }
}

bool Worker::request_flows(size_t skip, size_t limit, std::vector<FlowInfo> &out, size_t &skipped,
                           unsigned timeout_ms) {
  // A request the lcore never answered (timeout) may still be read by it: not while it is idle.
  if (flows_done_.load(std::memory_order_acquire) != flows_req_.load(std::memory_order_relaxed))
    return false;
  flows_skip_ = skip;
  flows_limit_ = limit;
  const uint32_t req = flows_req_.fetch_add(1, std::memory_order_acq_rel) + 1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (flows_done_.load(std::memory_order_acquire) != req) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  out.assign(flows_out_.begin(), flows_out_.end());
  skipped = flows_skipped_;
  return true;
}

void Worker::run(const std::atomic<bool> &quit) {
  online();
  // A sleeping thread wakes no earlier than its timer slack allows (50 us by default), so
  // short idle sleeps would all last 50 us or more: ask for 1 us of slack instead.
  if (idle_sleep_us_ != 0) prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  uint64_t last_rx = tsc_now_ns();
  last_control_ns_ = last_rx;
  while (!quit.load(std::memory_order_relaxed)) {
    const uint64_t now = tsc_now_ns();
    const uint32_t received = poll_once(now);
    if (++iterations_ % kControlEvery == 0 || now - last_control_ns_ >= kControlPeriodNs) {
      control_tick(now);
      last_control_ns_ = now;
    }
    if (idle_sleep_us_ == 0) continue;
    if (received != 0) {
      last_rx = now;
    } else if (now - last_rx >= busy_poll_ns_) {
      // Idle: give the CPU back briefly (held packets are released at most a sleep late).
      // Offline for RCU so a table swap need not wait for us.
      rte_rcu_qsbr_thread_offline(pub_.qsbr(), rcu_id_);
      rte_delay_us_sleep(idle_sleep_us_);
      rte_rcu_qsbr_thread_online(pub_.qsbr(), rcu_id_);
    }
  }
  offline();
}

}  // namespace sluice::dataplane
