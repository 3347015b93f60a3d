/* sluice XDP data plane: the packet core of dataplane/core on an interface pair.
 *
 * Two entry points share one body: sluice_outside runs on the port facing the senders,
 * sluice_inside on the port facing the MTAs. Every packet not dropped or answered leaves by the
 * other port through the tx_port devmap. The per-packet sequence is the core's
 * (core/sl_sequence.h); this file is its environment (maps, clock, random numbers) and I/O.
 *
 * XDP cannot hold a packet, so SL_VERDICT_DELAY forwards at once; profiles slow senders here by
 * server_drop_ppm (loss-induced slowing) instead. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "core/sl_core.h"
#include "sluice_maps.bpf.h"
#include "sluice_rep.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The reputation lookup; the benchmark object swaps in an LPM_TRIE variant for comparison. */
#ifndef SLX_REP_LOOKUP
#define SLX_REP_LOOKUP(key, out) slx_rep_lookup(key, out)
#endif

/* ---- the packet core's environment (see core/sl_sequence.h) ---------------------------------- */

struct slx_env {
  struct sl_stats *stats;        /* this CPU's */
  struct sl_heavy_sketch *heavy; /* this CPU's SYN sketch; 0 outside slx_on_syn */
  struct xdp_md *ctx;            /* the frame: its whole length, a held ACK's copy */
  int replayed;                  /* a held ACK sent through again (slx_is_replay) */
};

#define SL_ENV struct slx_env
#define SL_ENV_FLOW struct sl_flow_state

static __always_inline struct sl_stats *sl_env_stats(struct slx_env *env) {
  return env->stats;
}

static __always_inline void sl_env_rep_lookup(struct slx_env *env, const struct sl_flow_key *key,
                                              struct sl_rep_value *out) {
  (void)env;
  (void)SLX_REP_LOOKUP(key, out);
}

static __always_inline struct sl_flow_state *sl_env_flow_find(struct slx_env *env,
                                                              const struct sl_flow_key *key) {
  (void)env;
  return bpf_map_lookup_elem(&flows, key);
}

static __always_inline struct sl_flow_state *sl_env_flow_state(struct sl_flow_state *flow) {
  return flow;
}

static __always_inline int sl_env_flow_insert(struct slx_env *env, const struct sl_flow_key *key,
                                              const struct sl_flow_state *st) {
  (void)env;
  return bpf_map_update_elem(&flows, key, st, BPF_ANY) == 0 ? 0 : -1;
}

static __always_inline void sl_env_flow_touch(struct slx_env *env, struct sl_flow_state *flow) {
  (void)env;
  flow->last_seen_ns = bpf_ktime_get_ns();
}

/* The heavy-hitter count (env->heavy set: slx_count_syn only) reads the coarse clock: the same
 * CLOCK_MONOTONIC at most a tick behind, plenty for a window of 1.07 s, and on the test VM
 * bpf_ktime_get_ns cost about 35 ns a SYN there. Flows keep the precise clock. */
static __always_inline __u64 sl_env_now(struct slx_env *env) {
  if (env->heavy) return bpf_ktime_get_coarse_ns();
  return bpf_ktime_get_ns();
}

static __always_inline __u32 sl_env_random(struct slx_env *env) {
  (void)env;
  return bpf_get_prandom_u32();
}

/* rep_active counts the table replacements (loads and deltas: bpf/loader/rep_tables.cc); its
 * low bit is the active set. */
static __always_inline __u32 sl_env_table_gen(struct slx_env *env) {
  __u32 zero = 0;
  __u32 *gen = bpf_map_lookup_elem(&rep_active, &zero);
  (void)env;
  return gen ? *gen : 0;
}

static __always_inline struct sl_heavy_sketch *sl_env_heavy(struct slx_env *env) {
  return env->heavy;
}

/* A report point: the prefix's entry in heavy_table, this CPU's value (sl_heavy_entry_set, as
 * sluice-dp's table entries), created if the prefix has none. A value another CPU created for
 * the prefix starts zeroed on this CPU: it is given the key here. Rare (report points only). */
static __always_inline void sl_env_heavy_report(struct slx_env *env, const struct sl_heavy_key *key,
                                                __u32 estimate, __u32 epoch) {
  struct sl_heavy_entry *e = bpf_map_lookup_elem(&heavy_table, key);
  (void)env;
  if (e) {
    if (e->estimate == 0) e->key = *key;
    sl_heavy_entry_set(e, estimate, epoch);
    return;
  }
  struct sl_heavy_entry n = {.key = *key, .estimate = estimate, .epoch = epoch};
  bpf_map_update_elem(&heavy_table, key, &n, BPF_ANY);
}

static __always_inline struct sl_greet_table *sl_env_greet(struct slx_env *env) {
  __u32 zero = 0;
  (void)env;
  return bpf_map_lookup_elem(&greet, &zero);
}

static __always_inline struct sl_fanout_table *sl_env_fanout(struct slx_env *env) {
  __u32 zero = 0;
  (void)env;
  return bpf_map_lookup_elem(&fanout, &zero);
}

/* A SYN shaped or blocked, or a subscriber's new remote MTA, in this CPU's verdict_table as in an
 * lcore's candidate table (sl_heavy_table_event_in). A global function, verified once: inlined at
 * each of the SYN step's call sites, the bucket's walk multiplies that step's states past the
 * verifier's limit. */
__attribute__((noinline)) int slx_verdict_event(const struct sl_heavy_key *k, __u32 epoch) {
  __u32 cpu = bpf_get_smp_processor_id();
  struct sl_heavy_table *t = bpf_map_lookup_elem(&verdict_table, &cpu);
  if (t == 0 || k == 0) return 0;
  sl_heavy_table_event_in(t, sl_heavy_table_bucket(t, k), k, epoch);
  return 0;
}

/* An event. A pregreet: the client address's entry in heavy_table, this CPU's value
 * (sl_heavy_entry_event, as sluice-dp's table entries), created if it has none. A SYN shaped or
 * blocked, a fan-out: slx_verdict_event. The window from the coarse clock (a window is 2^30 ns; the
 * precise one costs a shaped SYN about 20 ns more in a VM, measured). */
static __always_inline void sl_env_event(struct slx_env *env, const struct sl_heavy_key *k) {
  struct sl_heavy_entry *e;
  __u32 epoch = sl_heavy_epoch(bpf_ktime_get_coarse_ns());
  (void)env;
  if (k->kind != SL_HEAVY_KIND_PREGREET) {
    slx_verdict_event(k, epoch);
    return;
  }
  e = bpf_map_lookup_elem(&heavy_table, k);
  if (e) {
    if (e->estimate == 0) e->key = *k;
    sl_heavy_entry_event(e, epoch);
    return;
  }
  struct sl_heavy_entry n = {.key = *k, .estimate = 1, .epoch = epoch};
  bpf_map_update_elem(&heavy_table, k, &n, BPF_ANY);
}

/* This CPU's sketch when the policy counts SYNs (no lookup when it does not), else 0. */
static __always_inline struct sl_heavy_sketch *slx_heavy_sketch(const struct sl_policy *pol) {
  __u32 cpu;
  if (pol->heavy_syn_threshold == 0) return 0;
  cpu = bpf_get_smp_processor_id();
  return bpf_map_lookup_elem(&heavy_sketch, &cpu);
}

/* The core's caps steps are BPF global functions (SL_SUBPROG): they take no env (see
 * core/sl_sequence.h); sl_env_cap_entry, the one hook they call, reads none. */
#define SL_SUBPROG_NO_ENV

/* A subscriber's outbound connections run in programs of their own (outbound_progs,
 * slx_process_outbound): sl_seq_classify hands them back unclassified, so the main programs'
 * verification walks the option parser for their inbound side only. */
#define SL_ENV_OUTBOUND_APART

/* A caps entry (core/sl_caps.h) of the shared LRU map; a new one is created zeroed (another
 * CPU creating it at the same moment wins, and its entry is used). */
static __always_inline struct sl_cap_entry *sl_env_cap_entry(struct slx_env *env,
                                                             const struct sl_heavy_key *key,
                                                             int create) {
  const struct sl_cap_entry *zero;
  struct sl_cap_entry *e;
  __u32 first = 0;
  (void)env;
  e = bpf_map_lookup_elem(&caps, key);
  if (e || !create) return e;
  zero = bpf_map_lookup_elem(&caps_zero, &first);
  if (!zero) return 0;
  bpf_map_update_elem(&caps, key, zero, BPF_NOEXIST);
  return bpf_map_lookup_elem(&caps, key);
}

/* A helper call, a nanosecond on every packet: asked only for a frame the parser finds
 * malformed over its linear part (sl_seq_parse). */
#define SL_ENV_FRAME_LEN 1
static __always_inline __u32 sl_env_frame_len(struct slx_env *env) {
  return (__u32)bpf_xdp_get_buff_len(env->ctx);
}

static __always_inline int sl_env_replayed(struct slx_env *env) {
  return env->replayed;
}

/* The ACK's first len bytes (len <= SL_HELD_FRAME_MAX, within the linear part: the core checked
 * its headers there) copied into this CPU's scratch entry, then into `held` under the flow's
 * key. A global function: verified once, not on every path through the server segment's. */
__attribute__((noinline)) int slx_hold(struct xdp_md *ctx, const struct sl_flow_key *key,
                                       __u32 len) {
  __u32 zero = 0;
  struct sl_held_frame *f = bpf_map_lookup_elem(&held_scratch, &zero);
  if (!f || !ctx || !key || len == 0 || len > SL_HELD_FRAME_MAX) return 0;
  /* The checked copy clang handed on lost its bounds: the verifier sees them again here. */
  SL_VERIFIER_OPAQUE(len);
  len &= 0xff;
  if (len == 0 || len > SL_HELD_FRAME_MAX) return 0;
  f->len = (__u16)len;
  if (bpf_xdp_load_bytes(ctx, 0, f->bytes, len) != 0) return 0;
  bpf_map_update_elem(&held, key, f, BPF_ANY);
  return 0;
}

static __always_inline void sl_env_tarpit_hold(struct slx_env *env, const struct sl_flow_key *key,
                                               const void *data, __u32 len) {
  (void)data;
  if (env->ctx) slx_hold(env->ctx, key, len);
}

/* Also called by sl_seq_replay_held, a global function, with env 0 (SL_SUBPROG_NO_ENV). */
static __always_inline void sl_env_tarpit_unhold(struct slx_env *env,
                                                 const struct sl_flow_key *key) {
  (void)env;
  bpf_map_delete_elem(&held, key);
}

#include "core/sl_sequence.h"

/* A held ACK the loader sends through again carries the replay marker as metadata
 * (SLX_REPLAY_META_LEN bytes before the frame); frames off the wire carry none. */
static __always_inline int slx_is_replay(struct xdp_md *ctx) {
  void *meta = (void *)(long)ctx->data_meta;
  void *data = (void *)(long)ctx->data;
  __u32 *w = meta;
  if (meta + SLX_REPLAY_META_LEN > data) return 0;
  return w[0] == SLX_REPLAY_MAGIC0 && w[1] == SLX_REPLAY_MAGIC1;
}

static __always_inline int slx_forward(__u32 dir) {
  /* Unconfigured peer: hand the packet to the local stack rather than lose it. */
  return bpf_redirect_map(&tx_port, dir == SL_DIR_FROM_OUTSIDE ? SLX_PORT_INSIDE : SLX_PORT_OUTSIDE,
                          XDP_PASS);
}

/* What sl_parse/sl_classify found, as offsets rather than packet pointers, so it can cross into
 * a global function. Global functions are verified once, on their own, instead of once per
 * path through the parser (VLAN tags x IP versions x extension headers x TCP options), which
 * keeps the verifier far below its instruction limit.
 *
 * cls and dir come first on purpose. With the fields in sl_pkt's order, clang copied l3_off ..
 * payload_len as one 8-byte load from the stack, just after the parser had stored them as a
 * 4-byte and two 2-byte stores: a load the CPU cannot forward from the pending stores, which
 * stalls until they retire. It cost a shaped segment 8 ns (64 -> 72 ns, sluice_xdp_bench). */
struct slx_parsed {
  __u8 cls;
  __u8 dir;
  __u16 l3_off;
  __u16 l4_off;
  __u16 tcp_hlen;
  __u16 payload_len;
  __u8 family;
  __u8 vlan_tags;
  __u8 tcp_flags;
  __u8 opt_mss;
  __u8 opt_wscale;
  __u8 opt_sack_perm;
};

/* Rebuilds the core's struct sl_pkt from the offsets, with the bounds checks the verifier needs
 * to see in this function. 0 on success. */
static __always_inline int slx_rebuild(void *data, void *data_end, const struct slx_parsed *m,
                                       struct sl_pkt *pkt) {
  __u32 l3 = m->l3_off, l4 = m->l4_off, hlen = m->tcp_hlen;
  if (l3 > 64 || l4 > 4096 || hlen < 20 || hlen > 60) return -1;
  __u8 *ip = (__u8 *)data + l3;
  __u8 *tcp = (__u8 *)data + l4;
  /* 40 bytes: the IPv6 header, or an IPv4 header and at least the fixed TCP header. */
  if (ip + 40 > (__u8 *)data_end) return -1;
  if (tcp + 20 > (__u8 *)data_end) return -1; /* a constant check gives tcp its range */
  if (tcp + hlen > (__u8 *)data_end) return -1;
  __builtin_memset(pkt, 0, sizeof(*pkt));
  pkt->tcp = (struct sl_tcp *)(void *)tcp;
  pkt->l3 = ip;
  pkt->l3_off = (__u16)l3;
  pkt->l4_off = (__u16)l4;
  pkt->tcp_hlen = (__u16)hlen;
  pkt->payload_len = m->payload_len;
  pkt->family = m->family;
  pkt->vlan_tags = m->vlan_tags;
  pkt->tcp_flags = m->tcp_flags;
  pkt->opt_mss = m->opt_mss;
  pkt->opt_wscale = m->opt_wscale;
  pkt->opt_sack_perm = m->opt_sack_perm;
  return 0; /* pkt->outbound 0: the caller sets it, a constant of its own (slx_syn, slx_segment) */
}

/* The offsets of a classified SMTP packet, for the global functions below. */
static __always_inline void slx_keep(struct slx_parsed *m, const struct sl_pkt *pkt,
                                     enum sl_class cls, enum sl_dir dir) {
  m->cls = (__u8)cls;
  m->dir = (__u8)dir;
  m->l3_off = pkt->l3_off;
  m->l4_off = pkt->l4_off;
  m->tcp_hlen = pkt->tcp_hlen;
  m->payload_len = pkt->payload_len;
  m->family = pkt->family;
  m->vlan_tags = pkt->vlan_tags;
  m->tcp_flags = pkt->tcp_flags;
  m->opt_mss = pkt->opt_mss;
  m->opt_wscale = pkt->opt_wscale;
  m->opt_sack_perm = pkt->opt_sack_perm;
}

/* TX: the core rewrote the packet into its reply (an RST) in place; trim the frame to the
 * reply's length and send it back out of the port it came in on. The whole frame's length, not
 * data_end's: a jumbo segment may carry fragments beyond data_end. */
static __always_inline int slx_tx_reply(struct xdp_md *ctx, __u32 tx_len) {
  int delta = (int)tx_len - (int)bpf_xdp_get_buff_len(ctx);
  if (delta != 0 && bpf_xdp_adjust_tail(ctx, delta) != 0) return XDP_DROP;
  return XDP_TX;
}

/* An inbound SYN, the first step of sl_seq_syn: counted for the heavy hitters (sl_seq_heavy).
 * A global function of its own, called by slx_process just before slx_on_syn rather than from
 * it: inside slx_on_syn its stack (the two prefixes, the sketch columns, a new candidate
 * entry) would add to slx_on_syn's, and slx_process + slx_on_syn would exceed the verifier's
 * 512 bytes for a call chain; building the flow key in slx_process instead took its
 * verification past a million instructions. So this one rebuilds the packet and key itself.
 * sl_seq_syn in slx_on_syn then finds no sketch and does not count the SYN again. */
__attribute__((noinline)) int slx_count_syn(struct xdp_md *ctx, const struct slx_parsed *m,
                                            const struct sl_policy *pol) {
  if (!m || !pol) return 0;
  struct slx_env env = {.heavy = slx_heavy_sketch(pol)};
  if (!env.heavy) return 0;
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct sl_pkt pkt;
  if (slx_rebuild(data, data_end, m, &pkt) != 0) return 0;
  struct sl_flow_key key;
  sl_flow_key_make(&pkt, SL_CLASS_CLIENT_SYN, &key);
  sl_seq_heavy(&env, pol, &key);
  return 0;
}

/* A client's SYN: sl_seq_syn (an inbound one's heavy-hitter count done by slx_count_syn just
 * before; an outbound one's fan-out counted in it). `outbound` is a constant of each global
 * function below: stored as one in pkt, the verifier knows it and walks only that side's
 * paths of the sequence. */
static __always_inline int slx_syn(struct xdp_md *ctx, const struct slx_parsed *m,
                                   const struct sl_policy *pol, const int outbound) {
  __u32 zero = 0;
  if (!m) return XDP_ABORTED;
  __u32 dir = m->dir & 1;
  struct slx_env env = {.stats = bpf_map_lookup_elem(&stats, &zero)};
  if (!env.stats || !pol) return slx_forward(dir);
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct sl_pkt pkt;
  if (slx_rebuild(data, data_end, m, &pkt) != 0) return slx_forward(dir);
  pkt.outbound = (__u8)outbound;
  struct sl_flow_key key;
  sl_flow_key_make(&pkt, SL_CLASS_CLIENT_SYN, &key);

  struct sl_seq_out out;
  enum sl_verdict v = sl_seq_syn(&env, pol, &pkt, data, data_end, &key, &out);
  if (v == SL_VERDICT_DROP) return XDP_DROP;
  if (v == SL_VERDICT_TX) return slx_tx_reply(ctx, out.tx_len);
  return slx_forward(dir);
}

__attribute__((noinline)) int slx_on_syn(struct xdp_md *ctx, const struct slx_parsed *m,
                                         const struct sl_policy *pol) {
  return slx_syn(ctx, m, pol, 0);
}

__attribute__((noinline)) int slx_on_syn_out(struct xdp_md *ctx, const struct slx_parsed *m,
                                             const struct sl_policy *pol) {
  return slx_syn(ctx, m, pol, 1);
}

/* Client or server segment: sl_seq_segment, its class and direction constants of each caller
 * (as slx_syn's), so that each global function below holds only its own path (a client
 * segment's stateless tarpit check, a server segment's rewrites). */
static __always_inline int slx_segment(struct xdp_md *ctx, const struct slx_parsed *m,
                                       const struct sl_policy *pol, const enum sl_class cls,
                                       const int outbound) {
  __u32 zero = 0;
  if (!m) return XDP_ABORTED;
  __u32 dir = m->dir & 1;
  struct slx_env env = {.stats = bpf_map_lookup_elem(&stats, &zero)};
  if (!env.stats || !pol) return slx_forward(dir);
  if (cls == SL_CLASS_SERVER_SEG && !outbound) { /* held ACKs are inbound only */
    env.ctx = ctx;
    env.replayed = slx_is_replay(ctx);
  }
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct sl_pkt pkt;
  if (slx_rebuild(data, data_end, m, &pkt) != 0) return slx_forward(dir);
  pkt.outbound = (__u8)outbound;
  struct sl_flow_key key;
  sl_flow_key_make(&pkt, cls, &key);

  struct sl_seq_out out;
  enum sl_verdict v = sl_seq_segment(&env, pol, &pkt, data, data_end, cls, &key, &out);
  if (v == SL_VERDICT_DROP) return XDP_DROP;
  /* A flow moved to a block level since its SYN (the segment became the RST), or a stateless
   * tarpit's answer. */
  if (v == SL_VERDICT_TX) return slx_tx_reply(ctx, out.tx_len);
  return slx_forward(dir); /* PASS, and DELAY: XDP cannot hold a packet */
}

__attribute__((noinline)) int slx_on_client_seg(struct xdp_md *ctx, const struct slx_parsed *m,
                                                const struct sl_policy *pol) {
  return slx_segment(ctx, m, pol, SL_CLASS_CLIENT_SEG, 0);
}

__attribute__((noinline)) int slx_on_server_seg(struct xdp_md *ctx, const struct slx_parsed *m,
                                                const struct sl_policy *pol) {
  return slx_segment(ctx, m, pol, SL_CLASS_SERVER_SEG, 0);
}

__attribute__((noinline)) int slx_on_client_seg_out(struct xdp_md *ctx, const struct slx_parsed *m,
                                                    const struct sl_policy *pol) {
  return slx_segment(ctx, m, pol, SL_CLASS_CLIENT_SEG, 1);
}

__attribute__((noinline)) int slx_on_server_seg_out(struct xdp_md *ctx, const struct slx_parsed *m,
                                                    const struct sl_policy *pol) {
  return slx_segment(ctx, m, pol, SL_CLASS_SERVER_SEG, 1);
}

/* A subscriber's connection (SL_ENV_OUTBOUND_APART), from slx_classify: not one of enum
 * sl_class's values. */
#define SLX_CLASS_OUTBOUND 16

/* Parse and classify (sl_seq_classify); *m kept for an SMTP class. Returns the class, or
 * SLX_CLASS_OUTBOUND for a subscriber's connection. A global function of its own per direction
 * (dir a constant of each): the parser's many paths (VLAN tags x IP versions x extension headers
 * x TCP options) end at its return, so the verifier walks what the program does next once per
 * class rather than once per parser path. Inlined, the parser and the dispatch after it took the
 * outside program past the verifier's million instructions. slx_process decides most frames
 * before, with no call (sl_classify_plain_other): this is for the rest. */
static __always_inline int slx_classify(struct xdp_md *ctx, const struct sl_policy *pol,
                                        struct sl_stats *st, struct slx_parsed *m,
                                        const enum sl_dir dir) {
  struct slx_env env = {.stats = st, .ctx = ctx};
  if (!m || !pol || !st) return SL_CLASS_OTHER;
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  /* The linear part's length. The IP length fields are checked against the whole frame's, so
   * a datagram that goes on in fragments is still parsed and judged; sl_seq_parse asks for it
   * (sl_env_frame_len) only when the linear part is too short for the datagram. */
  struct sl_pkt pkt;
  enum sl_class cls =
      sl_seq_classify(&env, data, data_end, (__u32)((long)data_end - (long)data), dir, pol, &pkt);
  if (cls == SL_CLASS_OTHER) return pkt.outbound != 0 ? SLX_CLASS_OUTBOUND : SL_CLASS_OTHER;
  if (cls != SL_CLASS_UNSEEN) slx_keep(m, &pkt, cls, dir);
  return cls;
}

__attribute__((noinline)) int slx_classify_outside(struct xdp_md *ctx, const struct sl_policy *pol,
                                                   struct sl_stats *st, struct slx_parsed *m) {
  return slx_classify(ctx, pol, st, m, SL_DIR_FROM_OUTSIDE);
}

__attribute__((noinline)) int slx_classify_inside(struct xdp_md *ctx, const struct sl_policy *pol,
                                                  struct sl_stats *st, struct slx_parsed *m) {
  return slx_classify(ctx, pol, st, m, SL_DIR_FROM_INSIDE);
}

static __always_inline int slx_process(struct xdp_md *ctx, const enum sl_dir dir) {
  __u32 zero = 0;
  struct slx_env env = {.stats = bpf_map_lookup_elem(&stats, &zero)};
  const struct sl_policy *pol = slx_policy(); /* once: the whole packet sees this policy */
  if (!env.stats || !pol) return slx_forward(dir);
  env.stats->packets[dir]++;

  {
    /* Most frames are the common one and not SMTP: decided here, with no call. slx_classify
     * parses the rest (and SMTP again: deciding it here too, the verifier walked the dispatch
     * below once per source of m, past its limit). */
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct sl_pkt pkt;
    if (SL_LIKELY(sl_classify_plain_other(data, data_end, dir, pol, &pkt))) return slx_forward(dir);
  }
  struct slx_parsed m;
  /* The global function reads ctx->data and data_end itself, as the block above does, after
   * the map lookups: live across a helper call, data_end would take a callee-saved register
   * or, as it did, be spilled and reloaded before every bounds check. */
  int cls = dir == SL_DIR_FROM_OUTSIDE ? slx_classify_outside(ctx, pol, env.stats, &m)
                                       : slx_classify_inside(ctx, pol, env.stats, &m);
  if (SL_LIKELY(cls == SL_CLASS_OTHER)) return slx_forward(dir);
  /* A subscriber's connection: its own program, outbound_progs. A slot the loader did not fill
   * forwards it untouched. */
  if (SL_UNLIKELY(cls == SLX_CLASS_OUTBOUND)) {
    bpf_tail_call(ctx, &outbound_progs,
                  dir == SL_DIR_FROM_INSIDE ? SLX_OUTBOUND_FROM_INSIDE : SLX_OUTBOUND_FROM_OUTSIDE);
    return slx_forward(dir);
  }
  if (cls == SL_CLASS_UNSEEN)
    return sl_seq_unseen(&env, pol) == SL_VERDICT_DROP ? XDP_DROP : slx_forward(dir);

  /* dir is a constant of each program: the inside one never calls the SYN or client-segment
   * functions, so the verifier never walks them for it (and the outside one never the server
   * segment's). */
  if (dir == SL_DIR_FROM_INSIDE) return slx_on_server_seg(ctx, &m, pol);
  if (cls == SL_CLASS_CLIENT_SYN) {
    if (pol->heavy_syn_threshold != 0) slx_count_syn(ctx, &m, pol);
    return slx_on_syn(ctx, &m, pol);
  }
  return slx_on_client_seg(ctx, &m, pol);
}

/* A subscriber's outbound connection, parsed and classified again (sl_classify: the policy may
 * have been swapped since slx_classify) and counted as SMTP; *m kept. Returns its class, or OTHER
 * when it is no longer outbound SMTP. A global function per direction, as slx_classify. */
static __always_inline int slx_classify_outbound(struct xdp_md *ctx, const struct sl_policy *pol,
                                                 struct sl_stats *st, struct slx_parsed *m,
                                                 const enum sl_dir dir) {
  struct slx_env env = {.stats = st, .ctx = ctx};
  if (!m || !pol || !st) return SL_CLASS_OTHER;
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct sl_pkt pkt;
  enum sl_class cls = sl_seq_classify_outbound(
      &env, data, data_end, (__u32)((long)data_end - (long)data), dir, pol, &pkt);
  if (cls == SL_CLASS_OTHER) return SL_CLASS_OTHER;
  slx_keep(m, &pkt, cls, dir);
  return cls;
}

__attribute__((noinline)) int slx_classify_out_inside(struct xdp_md *ctx,
                                                      const struct sl_policy *pol,
                                                      struct sl_stats *st, struct slx_parsed *m) {
  return slx_classify_outbound(ctx, pol, st, m, SL_DIR_FROM_INSIDE);
}

__attribute__((noinline)) int slx_classify_out_outside(struct xdp_md *ctx,
                                                       const struct sl_policy *pol,
                                                       struct sl_stats *st, struct slx_parsed *m) {
  return slx_classify_outbound(ctx, pol, st, m, SL_DIR_FROM_OUTSIDE);
}

/* A subscriber's outbound connection, tail-called from slx_process (which counted the frame):
 * the SYN or client segment from inside, the remote MTA's server segment from outside. dir is a
 * constant of each program, so each verifies only its side's functions. A packet the policy no
 * longer calls outbound (swapped in between) is forwarded untouched. */
static __always_inline int slx_process_outbound(struct xdp_md *ctx, const enum sl_dir dir) {
  __u32 zero = 0;
  struct sl_stats *st = bpf_map_lookup_elem(&stats, &zero);
  const struct sl_policy *pol = slx_policy();
  if (!st || !pol) return slx_forward(dir);
  struct slx_parsed m;
  int cls = dir == SL_DIR_FROM_OUTSIDE ? slx_classify_out_outside(ctx, pol, st, &m)
                                       : slx_classify_out_inside(ctx, pol, st, &m);
  if (cls == SL_CLASS_OTHER) return slx_forward(dir);
  if (dir == SL_DIR_FROM_OUTSIDE) return slx_on_server_seg_out(ctx, &m, pol);
  if (cls == SL_CLASS_CLIENT_SYN) return slx_on_syn_out(ctx, &m, pol);
  return slx_on_client_seg_out(ctx, &m, pol);
}

/* xdp.frags: frames larger than a page (jumbo MTUs) arrive with fragments; the core reads only
 * the linear part (up to data_end), where the headers are, and checks lengths against the whole
 * frame. Without it, no XDP program attaches to a veth or NIC whose MTU exceeds a page minus
 * headroom. */
SEC("xdp.frags")
int sluice_outside(struct xdp_md *ctx) {
  return slx_process(ctx, SL_DIR_FROM_OUTSIDE);
}

SEC("xdp.frags")
int sluice_inside(struct xdp_md *ctx) {
  return slx_process(ctx, SL_DIR_FROM_INSIDE);
}

/* Outbound abuse control's programs (outbound_progs), tail-called by the two above. */
SEC("xdp.frags")
int sluice_outbound_inside(struct xdp_md *ctx) {
  return slx_process_outbound(ctx, SL_DIR_FROM_INSIDE);
}

SEC("xdp.frags")
int sluice_outbound_outside(struct xdp_md *ctx) {
  return slx_process_outbound(ctx, SL_DIR_FROM_OUTSIDE);
}

/* For the far ends of veth pairs in test rigs: native XDP redirect into a veth only delivers
 * when the receiving peer has an XDP program; this one lets every packet through. */
SEC("xdp.frags")
int sluice_pass(struct xdp_md *ctx __attribute__((unused))) {
  return XDP_PASS;
}
