#include "pipeline.h"

#include <algorithm>
#include <cstring>

#include "core/sl_core.h"

namespace sluice::dataplane {

Pipeline::Pipeline(const FlowTableConfig &flows) : flows_(flows) {}

void Pipeline::prefetch_reputation(const PreparedPacket &pp, const RepTable &rep) {
  if (pp.key.family == SL_AF_INET) {
    uint32_t a;
    std::memcpy(&a, pp.key.client, 4);
    rep.prefetch_v4(a);
  } else {
    rep.prefetch_v6(pp.key.client);
  }
}

sl_verdict Pipeline::on_syn(PreparedPacket &pp, uint64_t now_ns, const sl_policy &policy,
                            const RepTable *rep) {
  const sl_flow_key &key = pp.key;
  ::sl_pkt &pkt = pp.pkt;
  PacketResult &r = pp.out;
  stats_.lookups++;
  std::optional<sl_rep_value> v;
  if (rep != nullptr) {
    if (key.family == SL_AF_INET) {
      uint32_t a;
      std::memcpy(&a, key.client, 4);
      v = rep->lookup_v4(a);
    } else {
      v = rep->lookup_v6(key.client);
    }
  }
  // An unlisted sender has score 0 (which a policy may still place above level 0).
  const sl_rep_value val = v.value_or(sl_rep_value{0, 0});
  const uint32_t level = sl_level_for(&policy, val.score, val.flags);
  r.level = static_cast<uint8_t>(level);
  if (level == 0) return SL_VERDICT_PASS;
  sl_level_stats &ls = stats_.level[level];
  ls.syns++;
  sl_flow_state st{};
  uint32_t tx_len = 0;
  r.verdict = sl_act_syn(&policy.profiles[level], &pkt, pp.data, pp.end, &st, &tx_len);
  switch (r.verdict) {
    case SL_VERDICT_PASS: {
      if (pkt.rewritten) ls.rewritten++;
      st.level = static_cast<uint8_t>(level);
      st.created_ns = now_ns;
      st.last_seen_ns = now_ns;
      const uint64_t ev = flows_.counters().evictions;
      flows_.insert(key, pp.hash, st, now_ns);
      stats_.flow_evictions += flows_.counters().evictions - ev;
      ls.flows++;
      break;
    }
    case SL_VERDICT_TX:
      ls.rst_sent++;
      r.tx_len = tx_len;
      break;
    case SL_VERDICT_DROP:
      ls.dropped++;
      break;
    case SL_VERDICT_DELAY:  // not produced for SYNs; forward as the core would elsewhere
      r.verdict = SL_VERDICT_PASS;
      break;
  }
  return r.verdict;
}

void Pipeline::on_held(const PacketResult &r) {
  if (FlowEntry *e = flows_.at(r.flow_idx, r.flow_gen)) {
    e->pending++;
    stats_.level[e->state.level].delayed++;
  }
}

void Pipeline::on_released(uint32_t flow_idx, uint32_t flow_gen) {
  if (FlowEntry *e = flows_.at(flow_idx, flow_gen); e != nullptr && e->pending > 0) e->pending--;
}

void Pipeline::on_pacer_full(const PacketResult &r) {
  extra_.pacer_drops++;
  if (r.level < SL_MAX_LEVELS) stats_.level[r.level].dropped++;
}

}  // namespace sluice::dataplane
