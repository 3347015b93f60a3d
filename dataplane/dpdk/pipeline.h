// The per-packet pipeline of sluice-dp: the canonical core sequence of core/sl_core.h over
// this lcore's flow table, the shared (RCU-published) policy and reputation table, and the
// caller's clock and random numbers. It has no DPDK dependency, so the DPDK worker, the
// capture replay and the tests run the very same code.
//
// The caller acts on the result: PASS -> forward to the other port, DROP -> free, TX -> send
// the reply (tx_len bytes) back out of the arrival port, DELAY -> hand to the pacer with
// release_ns and flow (index, generation), which keeps the flow's packets in order.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/sl_actions.h"
#include "core/sl_classify.h"
#include "core/sl_parse.h"
#include "core/sl_shared.h"
#include "flow_table.h"
#include "rep_table.h"

namespace sluice::dataplane {

struct PacketResult {
  sl_verdict verdict = SL_VERDICT_PASS;
  sl_class cls = SL_CLASS_OTHER;
  uint32_t tx_len = 0;      // TX: the reply's frame length
  uint64_t release_ns = 0;  // DELAY: when to send
  uint32_t flow_idx = 0;    // DELAY: the flow, for the pacer's bookkeeping
  uint32_t flow_gen = 0;
  uint8_t level = 0;
};

// What stage 1 (Pipeline::prepare) learnt of a frame, for stage 2 (Pipeline::finish), and
// stage 2's result.
struct PreparedPacket {
  sl_flow_key key;  // the flow (valid when cls != OTHER)
  ::sl_pkt pkt;     // the parse (valid when cls != OTHER)
  uint8_t *data;
  uint8_t *end;
  uint32_t hash;  // FlowTable::hash(key)
  sl_class cls;
  // finish(): everything but the verdict it returns is here; it sets cls and level, the other
  // fields only where the verdict uses them (TX: tx_len; DELAY: release_ns, flow_idx, flow_gen).
  PacketResult out;
};

// Counters that are not in struct sl_stats (which is shared with the XDP data plane).
struct PipelineExtraStats {
  uint64_t pacer_drops = 0;  // DELAY packets dropped: pacer pool or per-flow limit full
  uint64_t order_holds = 0;  // PASS packets held behind earlier delayed ones of their flow
  uint64_t stale_level = 0;  // flows whose level no longer exists in the policy (forwarded)
};

class Pipeline {
 public:
  // Max packets one flow may have in the pacer; more are dropped and counted.
  static constexpr uint16_t kMaxPendingPerFlow = 512;

  explicit Pipeline(const FlowTableConfig &flows);

  // Runs the core sequence on one frame, in place. `rep` may be null (no table loaded:
  // every sender is clean). The same as prepare() then finish().
  PacketResult process(uint8_t *data, uint32_t len, sl_dir dir, uint64_t now_ns, uint32_t rnd,
                       const sl_policy &policy, const RepTable *rep) {
    PreparedPacket pp;  // not zeroed whole: prepare() fills what finish() reads
    pp.out = PacketResult{};
    count_packets(dir, 1);
    if (prepare(data, len, dir, policy, rep, pp) == SL_CLASS_OTHER) return pp.out;
    pp.out.verdict = finish(
        pp, now_ns, [rnd] { return rnd; }, policy, rep);
    return pp.out;
  }

  // The two stages of process(), for a burst (l3fwd's bulk lookup): the data plane runs
  // prepare() over every frame of the burst, then finish() over each in order. Stage 1 parses,
  // classifies, makes the flow key and its hash, and prefetches the flow's index slot (for an
  // inbound SYN, the reputation table's slots for its sender); it reads no flow state. So the flow
  // lookups of a burst overlap instead of each waiting for its own hash, slot and entry in turn.
  // prepare() returns pp.cls; an OTHER frame needs no finish() (its result is PASS, untouched), but
  // calling it is harmless. The caller counts the frames (count_packets), a burst at a time.
  // finish() returns the verdict and leaves the rest of the result in pp.out (see there). It calls
  // rnd() (a uniform 32-bit number) only for a flow whose level drops segments.
  void count_packets(sl_dir dir, uint32_t n) { stats_.packets[dir] += n; }
  sl_class prepare(uint8_t *data, uint32_t len, sl_dir dir, const sl_policy &policy,
                   const RepTable *rep, PreparedPacket &pp);
  template <class Rnd>
  sl_verdict finish(PreparedPacket &pp, uint64_t now_ns, Rnd &&rnd, const sl_policy &policy,
                    const RepTable *rep);

  // The pacer accepted a DELAY packet of this flow / released one.
  void on_held(const PacketResult &r);
  void on_released(uint32_t flow_idx, uint32_t flow_gen);
  // The pacer refused a DELAY packet (pool full): the caller drops it.
  void on_pacer_full(const PacketResult &r);

  // Expires idle / closed flows; call from the control tick, not per packet.
  uint32_t expire(uint64_t now_ns, uint32_t budget) { return flows_.expire(now_ns, budget); }

  FlowTable &flows() { return flows_; }
  const FlowTable &flows() const { return flows_; }
  const sl_stats &stats() const { return stats_; }
  const PipelineExtraStats &extra() const { return extra_; }

 private:
  sl_verdict on_syn(PreparedPacket &pp, uint64_t now_ns, const sl_policy &policy,
                    const RepTable *rep);
  // Stage 1 of an inbound SYN: the sender's reputation slots (out of line: SYNs are rare).
  static void prefetch_reputation(const PreparedPacket &pp, const RepTable &rep);

  FlowTable flows_;
  sl_stats stats_{};
  PipelineExtraStats extra_{};
};

// Always inline: it runs for every frame, SMTP or not, and as a call (GCC declines to inline
// it by itself) its prologue, epilogue and argument set-up were a sixth of a clean frame's
// instructions.
__attribute__((always_inline)) inline sl_class Pipeline::prepare(uint8_t *data, uint32_t len,
                                                                 sl_dir dir,
                                                                 const sl_policy &policy,
                                                                 const RepTable *rep,
                                                                 PreparedPacket &pp) {
  pp.data = data;
  pp.end = data + len;
  pp.cls = SL_CLASS_OTHER;
  const int pr = sl_parse(data, pp.end, &pp.pkt);
  if (pr != SL_PARSE_OK) {
    if (pr == SL_PARSE_MALFORMED) stats_.malformed++;
    return pp.cls;
  }
  pp.cls = sl_classify(&pp.pkt, pp.end, dir, policy.smtp_ports);
  if (pp.cls == SL_CLASS_OTHER) return pp.cls;
  stats_.smtp[dir]++;
  sl_flow_key_make(&pp.pkt, pp.cls, &pp.key);
  pp.hash = flows_.hash(pp.key);
  // A SYN may insert; every other SMTP segment looks its flow up.
  flows_.prefetch(pp.hash);
  if (SL_UNLIKELY(pp.cls == SL_CLASS_INBOUND_SYN) && rep != nullptr && rep->worth_prefetching())
    prefetch_reputation(pp, *rep);
  return pp.cls;
}

// Always inline, as prepare(): the established-flow path is most of a shaped packet.
template <class Rnd>
__attribute__((always_inline)) inline sl_verdict Pipeline::finish(PreparedPacket &pp,
                                                                  uint64_t now_ns, Rnd &&rnd,
                                                                  const sl_policy &policy,
                                                                  const RepTable *rep) {
  pp.out.cls = pp.cls;
  pp.out.level = 0;
  if (pp.cls == SL_CLASS_OTHER) return SL_VERDICT_PASS;
  if (pp.cls == SL_CLASS_INBOUND_SYN) return on_syn(pp, now_ns, policy, rep);

  PacketResult &r = pp.out;
  ::sl_pkt &pkt = pp.pkt;
  uint8_t *end = pp.end;
  FlowEntry *e = flows_.find(pp.key, pp.hash);
  if (e == nullptr) return SL_VERDICT_PASS;  // a clean flow: no state, untouched
  const uint32_t level = e->state.level;
  r.level = static_cast<uint8_t>(level);
  if (level == 0 || level >= policy.nlevels) {
    // The policy lost this level since the flow began: leave the flow alone from now on.
    extra_.stale_level++;
    flows_.touch(e, now_ns);
    return SL_VERDICT_PASS;
  }
  const sl_profile &prof = policy.profiles[level];
  sl_level_stats &ls = stats_.level[level];
  // The verdict lives in a local (and is returned in a register): GCC otherwise tested verdict
  // and class with one 8-byte load just after two 4-byte stores to them, a store-forwarding
  // stall that cost a tenth of a shaped packet.
  const bool server_seg = pp.cls == SL_CLASS_SERVER_SEG;
  // A coin only where the level drops segments (sl_chance_ppm(x, 0) is false for every x).
  const uint32_t coin = (prof.server_drop_ppm | prof.client_drop_ppm) != 0 ? rnd() : 0;
  sl_verdict v = server_seg ? sl_act_server_seg(&prof, &e->state, &pkt, end, coin)
                            : sl_act_client_seg(&prof, &e->state, &pkt, end, coin);
  flows_.touch(e, now_ns);
  if (v != SL_VERDICT_DROP && pkt.rewritten) ls.rewritten++;

  // Keep the flow's order: a server->client packet that would pass while earlier ones of the
  // same direction are still held goes behind them (the pacer only holds that direction).
  if (e->pending > 0 && v == SL_VERDICT_PASS && server_seg) {
    v = SL_VERDICT_DELAY;
    extra_.order_holds++;
  }
  switch (v) {
    case SL_VERDICT_DROP:
      ls.dropped++;
      break;
    case SL_VERDICT_DELAY: {
      const uint64_t want = now_ns + uint64_t{prof.delay_us} * 1000;
      r.release_ns = std::max(want, e->last_release_ns);
      if (e->pending >= kMaxPendingPerFlow) {
        v = SL_VERDICT_DROP;
        extra_.pacer_drops++;
        ls.dropped++;
        break;
      }
      e->last_release_ns = r.release_ns;
      r.flow_idx = flows_.index_of(e);
      r.flow_gen = e->generation;
      break;
    }
    default:
      break;
  }
  return v;
}

}  // namespace sluice::dataplane
