#include "pipeline.h"

#include <cstring>
#include <random>

#include "core/sl_core.h"

// The pipeline is compiled for DPDK's CPU baseline (CMakeLists.txt: sluice_dp_isa); on x86-64
// that has SSE4.1, and the heavy hitters' update must be its SIMD form.
#if defined(__x86_64__) && !defined(SL_HEAVY_SSE4)
#error "sluice_dp_pipeline on x86-64 needs SSE4.1 (DPDK's -march flags): see CMakeLists.txt"
#endif

namespace sluice::dataplane {

Pipeline::Pipeline(const FlowTableConfig &flows)
    : flows_(flows),
      heavy_(make_line_box<sl_heavy_sketch>()),
      heavy_table_(make_line_box<sl_heavy_table>()),
      heavy_seq_(SL_HEAVY_TABLE_BUCKETS),
      caps_(make_line_box<sl_caps_table>()),
      greet_(make_line_box<sl_greet_table>()),
      fanout_(make_line_box<sl_fanout_table>()) {
  std::random_device rd;
  seed_heavy((uint64_t{rd()} << 32) | rd());
  std::memset(caps_.get(), 0, sizeof(*caps_));
  caps_->seed = (uint64_t{rd()} << 32) | rd();
  classify_env_.stats = &stats_;
}

void Pipeline::seed_heavy(uint64_t seed) {
  std::memset(heavy_.get(), 0, sizeof(*heavy_));
  std::memset(heavy_table_.get(), 0, sizeof(*heavy_table_));
  heavy_->seed = seed;
  heavy_table_->seed = seed ^ SL_HEAVY_TABLE_SEED_XOR;
  // The slots' seed stays 0: sluice-dp takes their hash from its flow table's keyed one
  // (sl_env_greet_hash in pipeline.h).
  std::memset(greet_.get(), 0, sizeof(*greet_));
  std::memset(fanout_.get(), 0, sizeof(*fanout_));
  fanout_->seed = seed ^ SL_FANOUT_SEED_XOR;
}

size_t Pipeline::read_heavy(heavy::HeavyMerge &merge) const {
  const size_t skipped = read_heavy_table(*heavy_table_, heavy_seq_.data(), merge);
  merge.add_sketch(*heavy_);
  return skipped;
}

void Pipeline::prefetch_reputation(const PreparedPacket &pp, const RepTable &rep) {
  if (pp.key.family == SL_AF_INET) {
    uint32_t a;
    std::memcpy(&a, pp.key.client, 4);
    rep.prefetch_v4(a);
  } else {
    rep.prefetch_v6(pp.key.client);
  }
}

sl_verdict Pipeline::on_syn_or_unseen(PreparedPacket &pp, uint64_t now_ns, const sl_policy &policy,
                                      const RepTable *rep) {
  PacketResult &r = pp.out;
  if (pp.cls == SL_CLASS_UNSEEN) {
    SeqEnv env = stage2_env(rep, 0, now_ns, nullptr, 0, false);
    r.verdict = sl_seq_unseen(&env, &policy);
    return r.verdict;
  }
  SeqEnv env = stage2_env(rep, pp.hash, now_ns, nullptr, 0, false);
  env.heavy = heavy_.get();
  env.heavy_hashes = pp.heavy_hashed ? pp.heavy_hashes : nullptr;
  env.fanout = fanout_.get();
  sl_seq_out out;
  r.verdict = sl_seq_syn(&env, &policy, &pp.pkt, pp.data, pp.end, &pp.key, &out);
  r.level = static_cast<uint8_t>(out.level);
  if (r.verdict == SL_VERDICT_TX) r.tx_len = out.tx_len;
  return r.verdict;
}

PacketResult Pipeline::replay_held(uint8_t *data, uint32_t len, uint64_t now_ns,
                                   const sl_policy &policy, const RepTable *rep) {
  PreparedPacket pp;
  pp.out = PacketResult{};
  count_packets(SL_DIR_FROM_INSIDE, 1);  // as the XDP program counts it: a packet from inside
  if (prepare(data, len, len, SL_DIR_FROM_INSIDE, policy, rep, pp) != SL_CLASS_SERVER_SEG) {
    // The policy no longer watches this connection (its port or its server): nothing to
    // release; the client goes on at its next probe, which the data plane leaves alone.
    pp.out.verdict = SL_VERDICT_DROP;
    return pp.out;
  }
  SeqEnv env = stage2_env(rep, pp.hash, now_ns, nullptr, 0, true);
  sl_seq_out out;
  sl_verdict v = sl_seq_segment(&env, &policy, &pp.pkt, pp.data, pp.end, pp.cls, &pp.key, &out);
  if (v == SL_VERDICT_DELAY) v = SL_VERDICT_PASS;
  pp.out.verdict = v;
  pp.out.cls = pp.cls;
  pp.out.level = static_cast<uint8_t>(out.level);
  if (v == SL_VERDICT_TX) pp.out.tx_len = out.tx_len;
  return pp.out;
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
