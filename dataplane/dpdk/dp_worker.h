// One sluice-dp lcore: a queue pair on each port, its own flow table, pacer and counters.
// The loop follows DPDK's l2fwd/l3fwd: burst RX, prefetch ahead, process, burst TX, free what
// TX refused; control work (flow expiry, requests from the control thread) every
// kControlEvery iterations or every millisecond, never per packet. With several lcores each owns
// one RX/TX queue pair and symmetric RSS keeps both directions of a connection on the same lcore.
#pragma once

#include <rte_common.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "dp_published.h"
#include "line_alloc.h"
#include "pacer.h"
#include "pipeline.h"

struct rte_mbuf;
struct rte_mempool;

namespace sluice::dataplane {

struct WorkerConfig {
  FlowTableConfig flows;
  PacerConfig pacer;
  uint16_t burst = 32;
  // Once no packet has arrived for busy_poll_us, sleep this long between polls (0 = poll
  // without pause). Dedicated cores on real NICs want 0; virtual ports (af_packet on veth)
  // want a few microseconds, or the busy loop starves the kernel's softirq work on the same
  // CPU. The busy window keeps a conversation's round trips off the sleep path: the next
  // segment of an SMTP dialogue usually comes within a few hundred microseconds.
  uint32_t idle_sleep_us = 0;
  uint32_t busy_poll_us = 500;
  // Where a held tarpit ACK's frame is built when it is sent on (replay_held); null: held ACKs
  // are never sent, and a released client resumes at its own next zero-window probe.
  rte_mempool *replay_pool = nullptr;
};

struct PortCounters {
  uint64_t rx = 0, tx = 0;
  uint64_t tx_dropped = 0;  // TX refused (queue full): freed
};

struct FlowInfo {
  sl_flow_key key;
  sl_flow_state state;
  uint16_t pending;
};

class alignas(RTE_CACHE_LINE_SIZE) Worker {
 public:
  static constexpr uint32_t kMaxBurst = 256;
  static constexpr uint32_t kControlEvery = 1024;
  // ...or this often, whichever comes first: with --idle-sleep-us, 1024 iterations may take
  // seconds, and a flow request must be answered well within its deadline.
  static constexpr uint64_t kControlPeriodNs = 1000000;

  // ports[SL_DIR_FROM_OUTSIDE] is the outside port, ports[SL_DIR_FROM_INSIDE] the inside one.
  Worker(uint32_t rcu_id, uint16_t outside_port, uint16_t inside_port, uint16_t queue,
         const WorkerConfig &cfg, Published &pub, uint64_t now_ns);
  ~Worker();  // frees the mbufs still held by the pacer and the TX buffers

  // RCU membership of the calling thread (the lcore running this worker).
  void online();
  void offline();

  // One iteration: an RX burst from each port, processed and sent, then due pacer releases.
  // Returns the packets received.
  uint32_t poll_once(uint64_t now_ns);
  // Expiry, held tarpit ACKs after a table or policy change (replay_held) and the mailbox (the
  // loop calls this every kControlEvery iterations or kControlPeriodNs, whichever comes first).
  void control_tick(uint64_t now_ns);
  // When the table or the policy changed since the last call: every held tarpit ACK sent
  // through the sequence again (Pipeline::replay_held), to the client when its sender left the
  // tarpit, to the server when it became an RST. Returns the frames sent.
  uint32_t replay_held(uint64_t now_ns);
  // The lcore loop until *quit becomes true. Clock: TSC.
  void run(const std::atomic<bool> &quit);

  // Read from other threads (plain 64-bit counters written by this lcore only).
  const PortCounters &port_counters(int dir) const { return ports_stats_[dir]; }
  const Pipeline &pipeline() const { return pipe_; }
  Pipeline &pipeline() { return pipe_; }  // tests seed flows; only from the lcore's thread
  const Pacer &pacer() const { return pacer_; }
  uint16_t queue() const { return queue_; }  // the RX/TX queue it polls on both ports

  // Control thread (one at a time): asks the lcore to skip `skip` flows and copy the next
  // `limit` (its walk stops there); waits at most timeout_ms for the next control tick.
  // `skipped` is how many it skipped (fewer when it has fewer). False on timeout (the lcore is
  // not running).
  bool request_flows(size_t skip, size_t limit, std::vector<FlowInfo> &out, size_t &skipped,
                     unsigned timeout_ms);

 private:
  void handle(rte_mbuf **pkts, uint16_t n, int dir, uint64_t now_ns, const sl_policy &policy,
              const RepTable *rep);
  void send(int side, rte_mbuf *m);
  void flush(int side);

  uint32_t rcu_id_;
  uint16_t port_[2];
  uint16_t queue_;
  uint16_t burst_;
  uint32_t idle_sleep_us_;
  uint64_t busy_poll_ns_;
  Published &pub_;
  Pipeline pipe_;
  Pacer pacer_;
  PortCounters ports_stats_[2];
  rte_mbuf *txbuf_[2][kMaxBurst];
  PreparedPacket prep_[kMaxBurst];  // stage 1's results for the burst being handled
  uint16_t txlen_[2] = {0, 0};
  uint64_t iterations_ = 0;
  uint64_t last_control_ns_ = 0;
  uint64_t rng_;
  rte_mempool *replay_pool_;
  uint32_t replayed_gen_ = 0;  // the generation held ACKs were last replayed at
  // Written by this lcore at its control ticks: on lines of their own too (line_alloc.h).
  LineVector<HeldFrames::Held> replaying_;  // their copies during a replay (kept: no allocation)

  std::atomic<uint32_t> flows_req_{0}, flows_done_{0};
  size_t flows_skip_ = 0, flows_limit_ = 0, flows_skipped_ = 0;
  LineVector<FlowInfo> flows_out_;
};

// TSC -> nanoseconds (monotonic).
uint64_t tsc_now_ns();

}  // namespace sluice::dataplane
