// The per-packet pipeline of sluice-dp: the packet core's sequence (core/sl_sequence.h) over
// this lcore's flow table, the shared (RCU-published) policy and reputation table, and the
// caller's clock and random numbers, plus what only sluice-dp does (the pacer's order holds,
// per-flow pending limit and release times). It has no DPDK dependency, so the DPDK worker,
// the capture replay and the tests run the very same code.
//
// The caller acts on the result: PASS -> forward to the other port, DROP -> free, TX -> send
// the reply (tx_len bytes) back out of the arrival port, DELAY -> hand to the pacer with
// release_ns and flow (index, generation), which keeps the flow's packets in order.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>

#include "core/sl_actions.h"
#include "core/sl_caps.h"
#include "core/sl_classify.h"
#include "core/sl_fanout.h"
#include "core/sl_greet.h"
#include "core/sl_heavy.h"
#include "core/sl_parse.h"
#include "core/sl_shared.h"
#include "flow_table.h"
#include "held_frames.h"
#include "heavy_merge.h"
#include "heavy_seqlock.h"
#include "line_alloc.h"
#include "rep_table.h"

namespace sluice::dataplane {

// xorshift64 (state seeded from rte_rand()): drop-rate coins need uniform numbers, not
// secrets, and rte_rand() per packet cost a third of the clean-packet path.
inline uint32_t xorshift32(uint64_t &s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return static_cast<uint32_t>(s >> 32);
}

// The packet core's environment in sluice-dp (see core/sl_sequence.h), built per packet on the
// stack (every field a register once inlined). No default member values: each stage sets the
// fields it uses (Pipeline::prepare only the three sl_seq_classify can read); zeroing the whole
// struct per frame, which GCC did with `rep stos` once it grew past 96 bytes, cost a quarter of
// a clean frame.
struct SeqEnv {
  FlowTable *flows;
  sl_stats *stats;
  const RepTable *rep;  // null: no table loaded, every sender unlisted
  uint32_t hash;        // FlowTable::hash() of the packet's flow key (stage 1)
  uint64_t now_ns;
  uint64_t *rng;  // xorshift state; null: `rnd` is the random number
  uint32_t rnd;
  sl_heavy_sketch *heavy;            // this lcore's SYN sketch (null in stage 1: only SYNs count)
  sl_heavy_table *heavy_table;       // and its candidate table
  std::atomic<uint32_t> *heavy_seq;  // the table's seqlock counters (heavy_seqlock.h)
  sl_caps_table *caps;               // this lcore's caps table (null in stage 1)
  const __u64 *heavy_hashes;         // stage 1's sl_heavy_hashes of a SYN's client, or null
  HeldFrames *held;                  // this lcore's held tarpit ACKs (server segments)
  sl_greet_table *greet;             // this lcore's greeting slots (segments)
  sl_fanout_table *fanout;           // this lcore's fan-out pair slots (SYNs only: unset in
                                     // the other stages, which never read it)
  bool replayed;                     // the packet is a held ACK sent through again
};

}  // namespace sluice::dataplane

#define SL_ENV sluice::dataplane::SeqEnv
#define SL_ENV_FLOW sluice::dataplane::FlowEntry

SL_INLINE sl_stats *sl_env_stats(SL_ENV *env) {
  return env->stats;
}

SL_INLINE void sl_env_rep_lookup(SL_ENV *env, const sl_flow_key *key, sl_rep_value *out) {
  if (env->rep == nullptr) return;
  std::optional<sl_rep_value> v;
  if (key->family == SL_AF_INET) {
    uint32_t a;
    std::memcpy(&a, key->client, 4);
    v = env->rep->lookup_v4(a);
  } else {
    v = env->rep->lookup_v6(key->client);
  }
  if (v) *out = *v;
}

SL_INLINE sluice::dataplane::FlowEntry *sl_env_flow_find(SL_ENV *env, const sl_flow_key *key) {
  return env->flows->find(*key, env->hash);
}

SL_INLINE sl_flow_state *sl_env_flow_state(sluice::dataplane::FlowEntry *e) {
  return &e->state;
}

// Never fails: a full table evicts its coldest flow (counted in flow_evictions).
SL_INLINE int sl_env_flow_insert(SL_ENV *env, const sl_flow_key *key, const sl_flow_state *st) {
  const uint64_t ev = env->flows->counters().evictions;
  env->flows->insert(*key, env->hash, *st, env->now_ns);
  env->stats->flow_evictions += env->flows->counters().evictions - ev;
  return 0;
}

SL_INLINE void sl_env_flow_touch(SL_ENV *env, sluice::dataplane::FlowEntry *e) {
  env->flows->touch(e, env->now_ns);
}

SL_INLINE __u64 sl_env_now(SL_ENV *env) {
  return env->now_ns;
}

SL_INLINE __u32 sl_env_random(SL_ENV *env) {
  return env->rng != nullptr ? sluice::dataplane::xorshift32(*env->rng) : env->rnd;
}

// The published table's generation (Published::set_rep numbers every table it publishes).
SL_INLINE __u32 sl_env_table_gen(SL_ENV *env) {
  return env->rep != nullptr ? env->rep->generation() : 0;
}

SL_INLINE sl_heavy_sketch *sl_env_heavy(SL_ENV *env) {
  return env->heavy;
}

// The offer goes through the table's seqlock (heavy_seqlock.h): the control thread reads the
// table while this lcore runs.
SL_INLINE void sl_env_heavy_report(SL_ENV *env, const sl_heavy_key *key, __u32 estimate,
                                   __u32 epoch) {
  sluice::dataplane::heavy_offer(*env->heavy_table, env->heavy_seq, *key, estimate, epoch);
}

SL_INLINE sl_greet_table *sl_env_greet(SL_ENV *env) {
  return env->greet;
}

SL_INLINE sl_fanout_table *sl_env_fanout(SL_ENV *env) {
  return env->fanout;
}

// The slot's hash from the flow table's keyed hash of the key (stage 1 computed it, and
// prefetched the slot with it: Pipeline::prepare): no second hash of the key.
#define SL_ENV_GREET_HASH 1
SL_INLINE __u64 sl_env_greet_hash(SL_ENV *env, const sl_greet_table *, const sl_flow_key *) {
  return sl_greet_hash_from32(env->hash);
}

// An event (a pregreet, a SYN shaped or blocked, a subscriber's new remote MTA): an event entry of
// this lcore's candidate table, under its seqlock like an offer. A new key takes only an empty or
// stale slot, so a flood of blocked senders never pushes the heavy hitters out.
SL_INLINE void sl_env_event(SL_ENV *env, const sl_heavy_key *k) {
  sluice::dataplane::heavy_event(*env->heavy_table, env->heavy_seq, *k,
                                 sl_heavy_epoch(env->now_ns));
}

// This lcore's caps table (core/sl_caps.h): bounded, an eviction counted.
SL_INLINE sl_cap_entry *sl_env_cap_entry(SL_ENV *env, const sl_heavy_key *key, int create) {
  return sl_caps_table_get(env->caps, key, create, &env->stats->caps_evicted);
}

// Stage 1 hashed the SYN's client to prefetch its sketch lines (Pipeline::prepare): handed over
// rather than hashed again; hashed here when stage 1 did not (no sketch then, or a test that
// calls finish alone).
#define SL_ENV_HEAVY_HASHES 1
SL_INLINE void sl_env_heavy_hashes(SL_ENV *env, const sl_heavy_sketch *sk, const sl_flow_key *key,
                                   __u64 *h_host, __u64 *h_net) {
  if (env->heavy_hashes != nullptr) {
    *h_host = env->heavy_hashes[0];
    *h_net = env->heavy_hashes[1];
    return;
  }
  sl_heavy_hashes(sk->seed, key, h_host, h_net);
}

SL_INLINE int sl_env_replayed(SL_ENV *env) {
  return env->replayed ? 1 : 0;
}

SL_INLINE void sl_env_tarpit_hold(SL_ENV *env, const sl_flow_key *key, const void *data,
                                  __u32 len) {
  env->held->hold(*key, env->hash, data, len);
}

SL_INLINE void sl_env_tarpit_unhold(SL_ENV *env, const sl_flow_key *key) {
  env->held->unhold(*key, env->hash);
}

#include "core/sl_sequence.h"

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
  sl_flow_key key;  // the flow (valid for a SYN or a segment)
  ::sl_pkt pkt;     // the parse (valid when cls != OTHER)
  uint8_t *data;
  uint8_t *end;
  uint32_t hash;  // FlowTable::hash(key) (valid with key)
  sl_class cls;
  bool heavy_hashed;      // an inbound SYN whose client stage 1 hashed for the sketch
  __u64 heavy_hashes[2];  // then its sl_heavy_hashes (address, network)
  // finish(): everything but the verdict it returns is here; it sets cls and level, the other
  // fields only where the verdict uses them (TX: tx_len; DELAY: release_ns, flow_idx, flow_gen).
  PacketResult out;
};

// Counters that are not in struct sl_stats (which is shared with the XDP data plane).
struct PipelineExtraStats {
  uint64_t pacer_drops = 0;  // DELAY packets dropped: pacer pool or per-flow limit full
  uint64_t order_holds = 0;  // PASS packets held behind earlier delayed ones of their flow
};

class Pipeline {
 public:
  // Max packets one flow may have in the pacer; more are dropped and counted.
  static constexpr uint16_t kMaxPendingPerFlow = 512;

  explicit Pipeline(const FlowTableConfig &flows);
  // Stage 1's environment points into the object itself.
  Pipeline(const Pipeline &) = delete;
  Pipeline &operator=(const Pipeline &) = delete;

  // SYN heavy hitters (core/sl_heavy.h): this lcore's sketch and candidate table, its greeting
  // slots (core/sl_greet.h) and its fan-out pair slots (core/sl_fanout.h). All start empty with
  // a random hash seed; seed_heavy empties them and sets the seed (tests compare runners with
  // one seed).
  void seed_heavy(uint64_t seed);
  const sl_heavy_sketch &heavy_sketch() const { return *heavy_; }
  const sl_heavy_table &heavy_table() const { return *heavy_table_; }
  // Aggregate caps (core/sl_caps.h): this lcore's table of sender addresses and networks,
  // empty with a random bucket seed at the start. Tests seed and read its entries.
  sl_caps_table &caps() { return *caps_; }
  // From any thread, while the lcore runs: this lcore's candidates (each bucket copied under its
  // sequence counter, heavy_seqlock.h) and its sketch into `merge`. Returns the buckets
  // skipped because the lcore kept writing them through every retry (their candidates are
  // missing from this read; the next read has them). The sketch's cells are single aligned
  // 32-bit words read as they are: a cell read mid-update is its old or its new count, both a
  // valid estimate; it must stay alive as long as `merge`.
  size_t read_heavy(heavy::HeavyMerge &merge) const;

  // Runs the core sequence on one frame, in place. `rep` may be null (no table loaded:
  // every sender is clean). The same as prepare() then finish().
  PacketResult process(uint8_t *data, uint32_t len, sl_dir dir, uint64_t now_ns, uint32_t rnd,
                       const sl_policy &policy, const RepTable *rep) {
    PreparedPacket pp;  // not zeroed whole: prepare() fills what finish() reads
    pp.out = PacketResult{};
    count_packets(dir, 1);
    if (prepare(data, len, len, dir, policy, rep, pp) == SL_CLASS_OTHER) return pp.out;
    pp.out.verdict = finish(pp, now_ns, nullptr, rnd, policy, rep);
    return pp.out;
  }

  // The two stages of process(), for a burst (l3fwd's bulk lookup): the data plane runs
  // prepare() over every frame of the burst, then finish() over each in order. Stage 1 parses,
  // classifies, makes the flow key and its hash, and prefetches the flow's index slot (for an
  // inbound SYN, the reputation table's slots for its sender); it reads no flow state. So the flow
  // lookups of a burst overlap instead of each waiting for its own hash, slot and entry in turn.
  // prepare() returns pp.cls; an OTHER frame needs no finish() (its result is PASS, untouched), but
  // calling it is harmless. The caller counts the frames (count_packets), a burst at a time.
  // finish() returns the verdict and leaves the rest of the result in pp.out (see there). It
  // draws from the xorshift state `rng` only for a flow whose level drops segments.
  // prepare() reads [data, data + len) of a frame of frame_len bytes: all of it, or the first
  // segment of a multi-segment mbuf (the rest unread; lengths are checked against the whole).
  void count_packets(sl_dir dir, uint32_t n) { stats_.packets[dir] += n; }
  sl_class prepare(uint8_t *data, uint32_t len, uint32_t frame_len, sl_dir dir,
                   const sl_policy &policy, const RepTable *rep, PreparedPacket &pp);
  // Always inline, as the stage itself (as a call it cost a tenth of a shaped packet).
  __attribute__((always_inline)) sl_verdict finish(PreparedPacket &pp, uint64_t now_ns,
                                                   uint64_t &rng, const sl_policy &policy,
                                                   const RepTable *rep) {
    return finish(pp, now_ns, &rng, 0, policy, rep);
  }

  // A held tarpit ACK (held_frames.h) sent through the sequence again, in place, as a server
  // segment marked as a replay: DROP while its sender is still tarpitted (or its connection is
  // gone), else the verdict of the sender's new level (PASS: send it to the client; TX: the
  // reply, tx_len bytes, to the server). Never DELAY: an ACK that releases goes at once.
  PacketResult replay_held(uint8_t *data, uint32_t len, uint64_t now_ns, const sl_policy &policy,
                           const RepTable *rep);
  HeldFrames &held_acks() { return held_acks_; }
  const HeldFrames &held_acks() const { return held_acks_; }

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
  // rng null: rnd is the random number.
  sl_verdict finish(PreparedPacket &pp, uint64_t now_ns, uint64_t *rng, uint32_t rnd,
                    const sl_policy &policy, const RepTable *rep);
  // Stage 2's environment for one packet: every field set one by one (an aggregate initialiser
  // had GCC clear the struct first with `rep stos`, on every SMTP segment); no SYN sketch
  // (on_syn_or_unseen adds it).
  __attribute__((always_inline)) SeqEnv stage2_env(const RepTable *rep, uint32_t hash,
                                                   uint64_t now_ns, uint64_t *rng, uint32_t rnd,
                                                   bool replayed) {
    SeqEnv env;
    env.flows = &flows_;
    env.stats = &stats_;
    env.rep = rep;
    env.hash = hash;
    env.now_ns = now_ns;
    env.rng = rng;
    env.rnd = rnd;
    env.heavy = nullptr;
    env.heavy_table = heavy_table_.get();
    env.heavy_seq = heavy_seq_.data();
    env.caps = caps_.get();
    env.heavy_hashes = nullptr;
    env.held = &held_acks_;
    env.greet = greet_.get();
    env.replayed = replayed;
    return env;
  }
  // An inbound SYN or an UNSEEN packet (out of line: rare).
  sl_verdict on_syn_or_unseen(PreparedPacket &pp, uint64_t now_ns, const sl_policy &policy,
                              const RepTable *rep);
  // Stage 1 of an inbound SYN: the sender's reputation slots (out of line: SYNs are rare).
  static void prefetch_reputation(const PreparedPacket &pp, const RepTable &rep);
  // An inbound SYN's sketch lines (core/sl_heavy.h: two per prefix), its hashes kept in pp for
  // stage 2: the sketch (1 MiB) is larger than a core's L2, and a flood of new senders misses.
  void prefetch_heavy(PreparedPacket &pp) const {
    sl_heavy_hashes(heavy_->seed, &pp.key, &pp.heavy_hashes[0], &pp.heavy_hashes[1]);
    for (uint32_t net = 0; net < 2; ++net)
      for (uint32_t j = 0; j < SL_HEAVY_KEY_LINES; ++j)
        __builtin_prefetch(heavy_->line[sl_heavy_line_index(pp.heavy_hashes[net], net, j)], 1);
    pp.heavy_hashed = true;
  }

  // A segment's greeting slot (core/sl_greet.h: a server's SYN-ACK or a client's data): the
  // slots (512 KiB) miss the cache as often as not.
  void prefetch_greet(const PreparedPacket &pp) const {
    __builtin_prefetch(sl_greet_slot(greet_.get(), sl_greet_hash_from32(pp.hash)), 1);
  }

  // Each on cache lines of its own (line_alloc.h): this lcore writes them.
  FlowTable flows_;
  LineBox<sl_heavy_sketch> heavy_;
  LineBox<sl_heavy_table> heavy_table_;
  LineVector<std::atomic<uint32_t>> heavy_seq_;  // one per bucket of heavy_table_
  LineBox<sl_caps_table> caps_;
  LineBox<sl_greet_table> greet_;
  LineBox<sl_fanout_table> fanout_;
  sl_stats stats_{};
  // Stage 1's environment: classification reads the counters only (sl_env_stats), so it is set
  // once here rather than built per frame.
  SeqEnv classify_env_{};
  PipelineExtraStats extra_{};
  HeldFrames held_acks_;  // after the counters the packet path writes: off their cache lines
};

// Always inline: it runs for every frame, SMTP or not, and as a call (GCC declines to inline
// it by itself) its prologue, epilogue and argument set-up were a sixth of a clean frame's
// instructions.
__attribute__((always_inline)) inline sl_class Pipeline::prepare(uint8_t *data, uint32_t len,
                                                                 uint32_t frame_len, sl_dir dir,
                                                                 const sl_policy &policy,
                                                                 const RepTable *rep,
                                                                 PreparedPacket &pp) {
  uint8_t *const end = data + len;
  // Only the class is stored for an OTHER frame (stage 2 reads nothing else of it): a store per
  // field was a tenth of a non-SMTP frame's instructions.
  pp.cls =
      sl_seq_classify_common_first(&classify_env_, data, end, frame_len, dir, &policy, &pp.pkt);
  if (pp.cls == SL_CLASS_OTHER || SL_UNLIKELY(pp.cls == SL_CLASS_UNSEEN)) return pp.cls;
  pp.data = data;
  pp.end = end;
  sl_flow_key_make(&pp.pkt, pp.cls, &pp.key);
  pp.hash = flows_.hash(pp.key);
  // A SYN may insert; every other SMTP segment looks its flow up.
  flows_.prefetch(pp.hash);
  pp.heavy_hashed = false;
  if (SL_UNLIKELY(pp.cls == SL_CLASS_CLIENT_SYN)) {
    if (rep != nullptr && rep->worth_prefetching()) prefetch_reputation(pp, *rep);
    if (policy.heavy_syn_threshold != 0 && pp.key.outbound == 0) prefetch_heavy(pp);
  } else if (policy.pregreet != 0 && sl_greet_touches(&pp.pkt, pp.cls)) {
    prefetch_greet(pp);
  }
  return pp.cls;
}

// Always inline, as prepare(): the established-flow path is most of a shaped packet.
__attribute__((always_inline)) inline sl_verdict Pipeline::finish(PreparedPacket &pp,
                                                                  uint64_t now_ns, uint64_t *rng,
                                                                  uint32_t rnd,
                                                                  const sl_policy &policy,
                                                                  const RepTable *rep) {
  pp.out.cls = pp.cls;
  pp.out.level = 0;
  if (pp.cls == SL_CLASS_OTHER) return SL_VERDICT_PASS;
  // CLIENT_SEG (2) or SERVER_SEG (3) in one test.
  if (SL_UNLIKELY(static_cast<unsigned>(pp.cls) - SL_CLASS_CLIENT_SEG > 1u))
    return on_syn_or_unseen(pp, now_ns, policy, rep);

  PacketResult &r = pp.out;
  SeqEnv env = stage2_env(rep, pp.hash, now_ns, rng, rnd, false);
  sl_seq_out out;
  // The verdict lives in a local (and is returned in a register): GCC otherwise tested verdict
  // and class with one 8-byte load just after two 4-byte stores to them, a store-forwarding
  // stall that cost a tenth of a shaped packet.
  sl_verdict v = sl_seq_segment(&env, &policy, &pp.pkt, pp.data, pp.end, pp.cls, &pp.key, &out);
  FlowEntry *e = out.flow;
  if (e == nullptr) {  // a clean flow: no state, untouched; or a stateless tarpit's answer
    if (SL_UNLIKELY(v != SL_VERDICT_PASS)) {
      r.level = static_cast<uint8_t>(out.level);
      r.tx_len = out.tx_len;
    }
    return v;
  }
  const uint32_t level = out.level;
  r.level = static_cast<uint8_t>(level);
  // A flow moved to a block level since its SYN: the segment became the RST (rare).
  if (SL_UNLIKELY(v == SL_VERDICT_TX)) r.tx_len = out.tx_len;

  // sluice-dp only: keep the flow's order. A server->client packet that would pass while
  // earlier ones of the same direction are still held goes behind them (the pacer only holds
  // that direction).
  if (e->pending > 0 && v == SL_VERDICT_PASS && pp.cls == SL_CLASS_SERVER_SEG) {
    v = SL_VERDICT_DELAY;
    extra_.order_holds++;
  }
  if (v == SL_VERDICT_DELAY) {
    // A stale level (order holds only) has no delay of its own.
    const bool live = level < std::min<uint32_t>(policy.nlevels, SL_MAX_LEVELS);
    const uint64_t want = now_ns + (live ? uint64_t{policy.profiles[level].delay_us} * 1000 : 0);
    r.release_ns = std::max(want, e->last_release_ns);
    if (e->pending >= kMaxPendingPerFlow) {
      extra_.pacer_drops++;
      if (level < SL_MAX_LEVELS) stats_.level[level].dropped++;
      return SL_VERDICT_DROP;
    }
    e->last_release_ns = r.release_ns;
    r.flow_idx = flows_.index_of(e);
    r.flow_gen = e->generation;
  }
  return v;
}

}  // namespace sluice::dataplane
