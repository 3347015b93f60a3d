/* sluice packet core: the per-packet sequence, written once for every runner (sluice-dp, the
 * XDP program, the native test runner and the fuzzer).
 *
 *   sl_seq_classify  parse and classify (a server outside the policy's scope: OTHER); counts
 *                    packets the core cannot or need not shape. Most frames' OTHER with less:
 *                    sl_seq_classify_common_first (the same, the common frame parsed first;
 *                    sluice-dp) or sl_classify_plain_other (sl_classify.h; XDP, before it)
 *   sl_flow_key_make (sl_classify.h) the flow key of an SMTP packet
 *   sl_seq_syn       CLIENT_SYN: counted for the heavy hitters (sl_seq_heavy; an outbound
 *                    one for its subscriber's fan-out, sl_seq_fanout), reputation (unlisted =
 *                    score 0), level, the level's caps (sl_seq_caps), sl_act_syn, new flow
 *   sl_seq_segment   CLIENT_SEG / SERVER_SEG: the pregreet test (sl_seq_greet), flow,
 *                    re-lookup after a table or policy change,
 *                    a capped flow's close released (sl_seq_caps_release), released / stale /
 *                    blocked / observed flows, sl_act_*_seg
 *   sl_seq_unseen    UNSEEN: the policy's unseen_tcp
 *   sl_seq_act       the three above by class;  sl_seq_run  all of it for one frame
 *
 * Runners split it where they need to (sluice-dp: sl_seq_classify_common_first and the key in stage
 * 1 of a burst, sl_seq_act in stage 2; XDP: sl_seq_syn and sl_seq_segment in global functions of
 * their own for the verifier) but never reorder or repeat it. The rules it implements are in
 * docs/packet-core.md.
 *
 * The environment: before including this header a runner defines (macros or static inline
 * functions; no function pointers, so the BPF verifier sees every call):
 *
 *   SL_ENV       its environment type (per packet or per burst: tables, clock, random state)
 *   SL_ENV_FLOW  its flow-table entry type
 *   struct sl_stats *sl_env_stats(SL_ENV *env)          the counters to add to
 *   void sl_env_rep_lookup(SL_ENV *env, const struct sl_flow_key *key,
 *                          struct sl_rep_value *out)    the client's entry (exact host, then
 *                                                       longest prefix); leaves *out alone
 *                                                       when the client is unlisted
 *   SL_ENV_FLOW *sl_env_flow_find(SL_ENV *env, const struct sl_flow_key *key)   or 0
 *   struct sl_flow_state *sl_env_flow_state(SL_ENV_FLOW *flow)
 *   int sl_env_flow_insert(SL_ENV *env, const struct sl_flow_key *key,
 *                          const struct sl_flow_state *st)      0 stored, else no room
 *   void sl_env_flow_touch(SL_ENV *env, SL_ENV_FLOW *flow)      used now (last_seen, LRU)
 *   __u64 sl_env_now(SL_ENV *env)                       nanoseconds, for new flows
 *   __u32 sl_env_random(SL_ENV *env)                    uniform; only drawn for a level that
 *                                                       drops segments
 *   __u32 sl_env_table_gen(SL_ENV *env)                 the reputation table's generation: grows
 *                                                       by at least 1 with every load and delta
 *                                                       that lands (read before the lookup it
 *                                                       belongs to, never after)
 *   struct sl_heavy_sketch *sl_env_heavy(SL_ENV *env)   this lcore's / CPU's SYN sketch
 *                                                       (sl_heavy.h), or 0: not counted
 *   void sl_env_heavy_report(SL_ENV *env, const struct sl_heavy_key *key, __u32 estimate,
 *                            __u32 epoch)               a prefix's estimate reached a report
 *                                                       point in window `epoch`: offer it to
 *                                                       the runner's bounded candidate table
 *   struct sl_cap_entry *sl_env_cap_entry(SL_ENV *env, const struct sl_heavy_key *key,
 *                                         int create)   the caps entry of a sender address or
 *                                                       network (sl_caps.h), with `create` a
 *                                                       new zero one when absent (counting an
 *                                                       eviction in caps_evicted); 0 when absent
 *                                                       and not created, or no room
 *   struct sl_greet_table *sl_env_greet(SL_ENV *env)    the runner's greeting slots
 *                                                       (sl_greet.h), or 0: no pregreet test
 *   void sl_env_event(SL_ENV *env, const struct sl_heavy_key *k)   one event of an event key
 *                                                       (sl_heavy.h: a pregreet, a SYN shaped or
 *                                                       blocked, per client address and level, a
 *                                                       subscriber's new remote MTA): count it in
 *                                                       the runner's bounded table of event
 *                                                       entries
 *   struct sl_fanout_table *sl_env_fanout(SL_ENV *env)  the runner's fan-out pair slots
 *                                                       (sl_fanout.h), or 0: fan-out not counted
 *
 *   int sl_env_replayed(SL_ENV *env)                    nonzero when the packet is a held
 *                                                       tarpit ACK the runner sends through
 *                                                       again (sl_seq_replay_held), 0 for a
 *                                                       packet off the wire
 *   void sl_env_tarpit_hold(SL_ENV *env, const struct sl_flow_key *key, const void *data,
 *                           __u32 len)                  keep data[0, len) as the flow's held
 *                                                       ACK (sl_held_frame; a newer one replaces
 *                                                       it; the runner's table is bounded and
 *                                                       may forget one)
 *   void sl_env_tarpit_unhold(SL_ENV *env, const struct sl_flow_key *key)   forget it (also
 *                                                       called from sl_seq_replay_held, a
 *                                                       SL_SUBPROG: see SL_SUBPROG_NO_ENV)
 *
 * and optionally SL_ENV_GREET_HASH, with
 *   __u64 sl_env_greet_hash(SL_ENV *env, const struct sl_greet_table *g,
 *                           const struct sl_flow_key *key)   sl_greet_hash(g->seed, key), which a
 *                                                       runner that prefetched the slot computed
 * and optionally SL_ENV_HEAVY_HASHES, with
 *   void sl_env_heavy_hashes(SL_ENV *env, const struct sl_heavy_sketch *sk,
 *                            const struct sl_flow_key *key, __u64 *h_host, __u64 *h_net)
 *                                                       the SYN's sl_heavy_hashes for sketch
 *                                                       sk, from an earlier stage that hashed
 *                                                       them to prefetch the sketch's lines
 * and optionally SL_ENV_FRAME_LEN, with
 *   __u32 sl_env_frame_len(SL_ENV *env)                 the whole frame's length, fragments
 *                                                       included, for a runner to whom it costs
 *                                                       something (XDP: a helper call). It then
 *                                                       passes the readable part's length as
 *                                                       frame_len, and sl_seq_classify asks for
 *                                                       the whole length only for a frame the
 *                                                       parser finds malformed (sl_seq_parse)
 * and optionally SL_ENV_OUTBOUND_APART: the runner handles a subscriber's outbound connections
 * on a path of its own (XDP: programs of their own, for the verifier's limit). sl_seq_classify
 * then returns such a segment as OTHER with pkt->outbound set, its class not taken and nothing
 * counted; the runner's own path classifies it (sl_classify) and goes on with sl_seq_act.
 * and optionally SL_SUBPROG_NO_ENV: the out-of-line steps (SL_SUBPROG) then take no env, and
 * the hooks they call (sl_env_cap_entry, sl_env_tarpit_unhold) get 0 for it. (XDP: handing a BPF
 * global function the address of the caller's env makes the verifier forget the pointers in it,
 * which the callee could have overwritten, and its stack is too short for a copy; its hook reads
 * none.)
 *
 * Live flows follow the table: a flow records the generation its level came from
 * (sl_seq_generation: the table's plus the policy's, two counters that only grow, so their sum
 * changes whenever either does). A segment of a flow from another generation looks its sender
 * up once more and takes the level the table and policy give now (sl_seq_relookup); when
 * nothing changed that costs one compare.
 *
 * A tarpitted client learns of its release from the data plane: a flow at a server-side tarpit
 * level keeps the server's last pure ACK as it arrived (sl_seq_tarpit_keep), before its window is
 * zeroed. After every table or policy change the runner sends each held ACK through the sequence
 * once more, marked as a replay (sl_env_replayed): a flow still tarpitted drops it; one whose
 * sender moved off the tarpit lets it go on at the new level (sl_seq_replay_held), so the
 * client sees the MTA's real window, or the new level's clamp, or is cut, within a control
 * period instead of at its next zero-window probe.
 */
#ifndef SLUICE_CORE_SL_SEQUENCE_H
#define SLUICE_CORE_SL_SEQUENCE_H

#if !defined(SL_ENV) || !defined(SL_ENV_FLOW)
#error "define SL_ENV, SL_ENV_FLOW and the sl_env_* hooks before including sl_sequence.h"
#endif
/* An out-of-line step's env: its first parameter (SL_SUBPROG_ENV_PARAM, passed with
 * SL_SUBPROG_ENV_ARG(env)), or none (SL_SUBPROG_ENV_INIT, with SL_SUBPROG_NO_ENV). */
#if defined(SL_SUBPROG_NO_ENV)
#define SL_SUBPROG_ENV_PARAM
#define SL_SUBPROG_ENV_ARG(env)
#define SL_SUBPROG_ENV_INIT SL_ENV *env = 0;
#else
#define SL_SUBPROG_ENV_PARAM SL_ENV *env,
#define SL_SUBPROG_ENV_ARG(env) env,
#define SL_SUBPROG_ENV_INIT
#endif

#include "sl_actions.h"
#include "sl_base.h"
#include "sl_caps.h"
#include "sl_classify.h"
#include "sl_cookie.h"
#include "sl_decide.h"
#include "sl_fanout.h"
#include "sl_greet.h"
#include "sl_heavy.h"
#include "sl_parse.h"
#include "sl_scope.h"
#include "sl_shared.h"

SL_STATIC_ASSERT((SL_MAX_LEVELS & (SL_MAX_LEVELS - 1)) == 0, "SL_MAX_LEVELS is a power of two");

/* What the sequence tells the runner besides the verdict. */
struct sl_seq_out {
  SL_ENV_FLOW *flow; /* segments: the flow's entry (0 when it has none) */
  __u32 level;       /* the SYN's level, or the flow's; 0 when neither */
  __u32 tx_len;      /* TX: the reply's frame length */
};

/* SL_PARSE_UNSEEN: from outside towards a watched port, or a port it cannot read -> UNSEEN;
 * with [outbound], from inside towards an outbound port or a port it cannot read too (a
 * subscriber's SYN in tiny fragments must not be a way past an outbound block); else OTHER. Out
 * of line in user space: rare, and the clean path stays short. */
#if defined(__bpf__)
SL_INLINE
#else
static __attribute__((noinline)) inline
#endif
enum sl_class sl_seq_unseen_class(SL_ENV *env, void *data_end, enum sl_dir dir,
                                  const struct sl_policy *pol, const struct sl_pkt *pkt) {
  __u8 *tcp = (__u8 *)pkt->tcp;
  const __be16 *ports = dir == SL_DIR_FROM_OUTSIDE ? pol->smtp_ports : pol->out_ports;
  int watched;

  if (dir != SL_DIR_FROM_OUTSIDE && pol->out_ports[0] == 0) return SL_CLASS_OTHER;
  /* The destination port either way: the MTA's from outside, the remote MTA's from inside. */
  if (tcp != 0 && tcp + 4 <= (__u8 *)data_end)
    watched = sl_port_watched((__be16)sl_load16(tcp + 2), ports);
  else /* no port to read: it could be any of them */
    watched = sl_any_port_watched(ports);
  if (!watched) return SL_CLASS_OTHER;
  if (dir == SL_DIR_FROM_OUTSIDE && !sl_server_in_scope(pol, pkt, data_end, dir)) {
    sl_env_stats(env)->out_of_scope++;
    return SL_CLASS_OTHER;
  }
  sl_env_stats(env)->smtp[dir]++;
  return SL_CLASS_UNSEEN;
}

/* Not SL_PARSE_OK: counts it, and picks out the TCP whose header cannot be seen. */
SL_INLINE enum sl_class sl_seq_unparsed(SL_ENV *env, int rc, void *data_end, enum sl_dir dir,
                                        const struct sl_policy *pol, const struct sl_pkt *pkt) {
  if (rc == SL_PARSE_MALFORMED) sl_env_stats(env)->malformed++;
  if (rc == SL_PARSE_FRAGMENT) sl_env_stats(env)->frag_later++;
  if (SL_UNLIKELY(rc == SL_PARSE_UNSEEN)) return sl_seq_unseen_class(env, data_end, dir, pol, pkt);
  return SL_CLASS_OTHER;
}

/* sl_parse_frame. A runner that defines SL_ENV_FRAME_LEN passes the readable part's length: the
 * IP length fields are the parser's only use of the whole length, and only to refuse a datagram
 * longer than the frame, so a frame that parses as anything but malformed over the readable part
 * parses the same over the whole frame. Only a malformed one is parsed again, with the whole
 * length, in case fragments hold the rest of its datagram. (Checking the length after the parse
 * instead, with no second parse, kept the verifier's work lower, 468,000 instructions processed
 * against 668,000, but cost a non-SMTP packet 0.75 ns of the 1 ns the helper call costs.) */
SL_INLINE int sl_seq_parse(SL_ENV *env, void *data, void *data_end, __u32 frame_len,
                           struct sl_pkt *pkt) {
  int rc = sl_parse_frame(data, data_end, frame_len, pkt);
#ifdef SL_ENV_FRAME_LEN
  if (SL_UNLIKELY(rc == SL_PARSE_MALFORMED)) {
    __u32 whole = sl_env_frame_len(env);
    if (whole > frame_len) rc = sl_parse_frame(data, data_end, whole, pkt);
  }
#else
  (void)env;
#endif
  return rc;
}

/* An SMTP packet, counted: every packet sl_seq_classify or sl_seq_classify_outbound returns as
 * SMTP, and the first fragments among them. */
SL_INLINE void sl_seq_count_smtp(struct sl_stats *st, enum sl_dir dir, const struct sl_pkt *pkt) {
  st->smtp[dir]++;
  if (SL_UNLIKELY(pkt->frag != 0)) st->frag_smtp++;
}

/* The end of classification: a parsed segment of class `cls` (OTHER: returned as it is) that is
 * an inbound connection's to a server outside the policy's scope (sl_scope.h) is OTHER, counted
 * as out of scope; any other is counted as SMTP (sl_seq_count_smtp). */
SL_INLINE enum sl_class sl_seq_scope_count(SL_ENV *env, enum sl_class cls, void *data_end,
                                           enum sl_dir dir, const struct sl_policy *pol,
                                           const struct sl_pkt *pkt) {
  struct sl_stats *st;

  if (cls == SL_CLASS_OTHER) return cls;
  st = sl_env_stats(env);
  /* The scope names the operator's own MTAs: a subscriber's remote MTA is never in it. */
  if (SL_UNLIKELY(!sl_server_in_scope(pol, pkt, data_end, dir)) && pkt->outbound == 0) {
    st->out_of_scope++;
    return SL_CLASS_OTHER;
  }
  sl_seq_count_smtp(st, dir, pkt);
  return cls;
}

/* Parse and classify one frame of frame_len bytes (with SL_ENV_FRAME_LEN: the readable part's
 * length, sl_seq_parse), readable in [data, data_end) (sl_parse_frame);
 * fills *pkt. A packet of an inbound connection to a server outside the policy's scope
 * (sl_scope.h) is OTHER. Counts
 * malformed packets, fragments, out-of-scope and SMTP packets (stats.packets is the runner's: it
 * counts whole bursts). */
SL_INLINE enum sl_class sl_seq_classify(SL_ENV *env, void *data, void *data_end, __u32 frame_len,
                                        enum sl_dir dir, const struct sl_policy *pol,
                                        struct sl_pkt *pkt) {
  enum sl_class cls;
  int rc = sl_seq_parse(env, data, data_end, frame_len, pkt);

  if (SL_UNLIKELY(rc != SL_PARSE_OK)) return sl_seq_unparsed(env, rc, data_end, dir, pol, pkt);
#ifdef SL_ENV_OUTBOUND_APART
  {
    int conn = sl_classify_conn(pkt, data_end, dir, pol);
    pkt->outbound = conn == SL_CONN_OUTBOUND;
    if (conn != SL_CONN_INBOUND) return SL_CLASS_OTHER;
    cls = sl_classify_role(pkt, data_end, dir, SL_DIR_FROM_OUTSIDE);
  }
#else
  cls = sl_classify(pkt, data_end, dir, pol);
#endif
  return sl_seq_scope_count(env, cls, data_end, dir, pol, pkt);
}

#ifndef SL_ENV_OUTBOUND_APART
/* sl_seq_classify with the common frame parsed first, into a local (sl_parse_plain: untagged
 * IPv4 without options, whole in [data, data_end), not a fragment): its OTHER is decided on that
 * parse with nothing written to *pkt, and its SMTP segment classified from it with no second
 * parse. Every other frame goes through sl_seq_classify. The class, the counts and, for any class
 * but OTHER, *pkt are sl_seq_classify's (the packet-core fuzzer checks all three); after OTHER,
 * *pkt is unspecified. For a runner that inlines classification into its per-frame loop
 * (sluice-dp): the general parser's zeroed sl_pkt and its stores cost a non-SMTP frame more
 * than the rest of its classification. */
SL_INLINE enum sl_class sl_seq_classify_common_first(SL_ENV *env, void *data, void *data_end,
                                                     __u32 frame_len, enum sl_dir dir,
                                                     const struct sl_policy *pol,
                                                     struct sl_pkt *pkt) {
  struct sl_pkt p; /* only the fields sl_parse_plain sets */
  int conn = sl_classify_plain_conn(data, data_end, dir, pol, &p);

  if (SL_LIKELY(conn == SL_CONN_NONE)) return SL_CLASS_OTHER;
  if (conn == SL_CONN_NOT_PLAIN)
    return sl_seq_classify(env, data, data_end, frame_len, dir, pol, pkt);
  sl_parse_plain_result(&p, pkt);
  return sl_seq_scope_count(env, sl_classify_in_conn(pkt, data_end, dir, conn), data_end, dir, pol,
                            pkt);
}
#endif

#ifdef SL_ENV_OUTBOUND_APART
/* The runner's own path for a packet sl_seq_classify handed back as a subscriber's
 * (pkt->outbound): parsed and classified again with the outbound rules (the policy may have
 * changed in between), counted as SMTP like any other. OTHER when it is no longer outbound SMTP. */
SL_INLINE enum sl_class sl_seq_classify_outbound(SL_ENV *env, void *data, void *data_end,
                                                 __u32 frame_len, enum sl_dir dir,
                                                 const struct sl_policy *pol, struct sl_pkt *pkt) {
  enum sl_class cls;

  if (sl_seq_parse(env, data, data_end, frame_len, pkt) != SL_PARSE_OK) return SL_CLASS_OTHER;
  cls = sl_classify(pkt, data_end, dir, pol);
  if (pkt->outbound == 0 || cls == SL_CLASS_OTHER) return SL_CLASS_OTHER;
  sl_seq_count_smtp(sl_env_stats(env), dir, pkt);
  return cls;
}
#endif

/* UNSEEN: forwarded untouched or dropped, as the policy says. */
SL_INLINE enum sl_verdict sl_seq_unseen(SL_ENV *env, const struct sl_policy *pol) {
  struct sl_stats *st = sl_env_stats(env);
  st->unseen++;
  if (pol->unseen_tcp == SL_UNSEEN_PASS) return SL_VERDICT_PASS;
  st->unseen_dropped++;
  return SL_VERDICT_DROP;
}

/* The generation a level decided now comes from: the table's plus the policy's. */
SL_INLINE __u32 sl_seq_generation(SL_ENV *env, const struct sl_policy *pol) {
  return sl_env_table_gen(env) + pol->generation;
}

/* An observing level's SYN: counted as if the level acted (syns by the caller; dropped or
 * rst_sent for a block level, tarpit_synacks for a stateless tarpit), the flow created with the
 * client's options as they are, and the packet forwarded unchanged. Out of line in user space:
 * observe is a dry run, not a fast path. */
#if defined(__bpf__)
SL_INLINE
#else
static __attribute__((noinline)) inline
#endif
void sl_seq_syn_observe(SL_ENV *env, const struct sl_profile *prof, __u8 block, struct sl_pkt *pkt,
                        void *data_end, struct sl_level_stats *ls, struct sl_flow_state *fs) {
  ls->observed++;
  if (block == SL_BLOCK_RST)
    ls->rst_sent++;
  else if (block == SL_BLOCK_DROP)
    ls->dropped++;
  else if (prof->tarpit == SL_TARPIT_STATELESS)
    sl_env_stats(env)->tarpit_synacks++;
  fs->client_mss = sl_opt_mss_value(pkt, data_end);
  fs->client_wscale = sl_opt_wscale_value(pkt, data_end);
  fs->server_wscale = SL_WSCALE_ABSENT;
}

/* One event of a client's address for the runner's event entries (sl_env_event). */
SL_INLINE void sl_seq_event(SL_ENV *env, const struct sl_flow_key *key, __u8 kind, __u32 level) {
  struct sl_heavy_key k;
  sl_heavy_key_event(key, kind, (__u8)level, &k);
  sl_env_event(env, &k);
}

/* An inbound SYN counted for the heavy hitters: its client's address and network, each once in
 * the runner's sketch (as sl_heavy_count_syn; a runner that hashed them earlier, to prefetch
 * their lines, defines SL_ENV_HEAVY_HASHES and hands the hashes over); a count that reaches a
 * report point is offered to the runner's table, its key built then (one buffer: BPF's stack).
 * Nothing when the runner has no sketch or the policy turned counting off. */
SL_INLINE void sl_seq_heavy(SL_ENV *env, const struct sl_policy *pol,
                            const struct sl_flow_key *key) {
  struct sl_heavy_sketch *sk = sl_env_heavy(env);
  __u32 threshold = pol->heavy_syn_threshold;
  struct sl_heavy_key k;
  __u64 h_host, h_net;
  __u32 epoch, est_host, est_net;
  int report_host, report_net;

  if (sk == 0 || threshold == 0) return;
  epoch = sl_heavy_epoch(sl_env_now(env));
#ifdef SL_ENV_HEAVY_HASHES
  sl_env_heavy_hashes(env, sk, key, &h_host, &h_net);
#else
  sl_heavy_hashes(sk->seed, key, &h_host, &h_net);
#endif
  sl_heavy_count_hashed(sk, h_host, h_net, epoch, &est_host, &est_net);
  report_host = sl_heavy_report_point(est_host, threshold);
  report_net = sl_heavy_report_point(est_net, threshold);
  if (SL_LIKELY((report_host | report_net) == 0)) return;
  sl_heavy_key_host(key, &k);
  if (report_host) sl_env_heavy_report(env, &k, est_host, epoch);
  sl_heavy_key_to_net(&k);
  if (report_net) sl_env_heavy_report(env, &k, est_net, epoch);
}

/* An outbound SYN counted for its subscriber's fan-out (sl_fanout.h): a remote MTA new to it in
 * this window is one SL_HEAVY_KIND_FANOUT event of its address. Nothing when the runner keeps no
 * pair slots. */
SL_INLINE void sl_seq_fanout(SL_ENV *env, const struct sl_flow_key *key) {
  struct sl_fanout_table *t = sl_env_fanout(env);
  if (t == 0) return;
  if (sl_fanout_first(t, sl_fanout_hash(t->seed, key), sl_fanout_window(sl_env_now(env))))
    sl_seq_event(env, key, SL_HEAVY_KIND_FANOUT, 0);
}

/* The aggregate caps of a SYN's level (sl_caps.h), at `now`: SL_SEQ_CAPS_OVER_RATE (over its
 * address's rate), SL_SEQ_CAPS_OVER_FLOWS (over the open flows of its address or network), or
 * the SL_FLOW_CAP_* flags of the entries it counted the new flow in (the rate taken, each
 * entry's count +1 while its bucket is in cache; a caller that then stores no flow releases them
 * with sl_seq_caps_release). An entry the runner has no room for caps nothing. A scalar out, so
 * that BPF verifies this once (SL_SUBPROG). */
#define SL_SEQ_CAPS_OVER_RATE 0x100
#define SL_SEQ_CAPS_OVER_FLOWS 0x200
SL_SUBPROG int sl_seq_caps(SL_SUBPROG_ENV_PARAM const struct sl_caps *caps,
                           const struct sl_flow_key *key, __u64 now) {
  SL_SUBPROG_ENV_INIT
  struct sl_heavy_key k; /* the address's key, then its network's (one buffer: BPF's stack) */
  struct sl_cap_entry *h = 0, *n = 0;
  int counted = 0;

  if (caps == 0 || key == 0) return 0;
  sl_heavy_key_host(key, &k);
  if ((caps->syn_interval_us | caps->max_flows) != 0) h = sl_env_cap_entry(env, &k, 1);
  sl_heavy_key_to_net(&k);
  if (caps->max_flows_net != 0) n = sl_env_cap_entry(env, &k, 1);
  if (h != 0) sl_cap_touch(h, now);
  if (n != 0) sl_cap_touch(n, now);
  if (h != 0 && caps->max_flows != 0 && h->flows >= caps->max_flows) return SL_SEQ_CAPS_OVER_FLOWS;
  if (n != 0 && n->flows >= caps->max_flows_net) return SL_SEQ_CAPS_OVER_FLOWS;
  if (h != 0 && caps->syn_interval_us != 0 && sl_cap_rate_take(h, caps, now))
    return SL_SEQ_CAPS_OVER_RATE;
  if (h != 0 && caps->max_flows != 0) {
    sl_cap_flow_add(h);
    counted |= SL_FLOW_CAP_HOST;
  }
  if (n != 0) {
    sl_cap_flow_add(n);
    counted |= SL_FLOW_CAP_NET;
  }
  return counted;
}

/* A flow released, at `now`, from its sender's entries that `counted` names (SL_FLOW_CAP_*): it
 * ended, is replaced, or was never stored. An entry gone since changes nothing. The caller
 * clears a released flow's flags, so that it happens once. */
SL_SUBPROG int sl_seq_caps_release(SL_SUBPROG_ENV_PARAM const struct sl_flow_key *key, int counted,
                                   __u64 now) {
  SL_SUBPROG_ENV_INIT
  struct sl_heavy_key k; /* the address's key, then its network's */
  struct sl_cap_entry *e;
  int net;

  if (key == 0) return 0;
  sl_heavy_key_host(key, &k);
  for (net = 0; net < 2; net++) {
    if (net) sl_heavy_key_to_net(&k);
    if ((counted & (net ? SL_FLOW_CAP_NET : SL_FLOW_CAP_HOST)) == 0) continue;
    e = sl_env_cap_entry(env, &k, 0);
    if (e == 0) continue;
    sl_cap_flow_release(e);
    e->touched_ns = now;
  }
  return 0;
}

/* The caps step of a SYN at a level with caps (sl_caps_any): the 5-tuple's counted flow, if
 * any, released first (a retransmitted SYN or a reused port replaces it: one connection counts
 * once); then sl_seq_caps, its overs counted. Returns what sl_seq_caps did. */
SL_INLINE int sl_seq_syn_caps(SL_ENV *env, const struct sl_caps *caps,
                              const struct sl_flow_key *key, __u64 now) {
  struct sl_stats *st = sl_env_stats(env);
  SL_ENV_FLOW *old = sl_env_flow_find(env, key);
  int r;

  if (old != 0) {
    struct sl_flow_state *ofs = sl_env_flow_state(old);
    int counted = ofs->flags & (SL_FLOW_CAP_HOST | SL_FLOW_CAP_NET);
    if (counted != 0) {
      sl_seq_caps_release(SL_SUBPROG_ENV_ARG(env) key, counted, now);
      ofs->flags = (__u8)(ofs->flags & ~(SL_FLOW_CAP_HOST | SL_FLOW_CAP_NET));
    }
  }
  r = sl_seq_caps(SL_SUBPROG_ENV_ARG(env) caps, key, now);
  if (r == SL_SEQ_CAPS_OVER_RATE) st->caps_rate++;
  if (r == SL_SEQ_CAPS_OVER_FLOWS) st->caps_flows++;
  return r;
}

/* A SYN at a stateless tarpit level: answered in place with a SYN-ACK whose sequence number is
 * the flow's cookie (sl_cookie.h), window 0 and no options, acknowledging the SYN alone (data on
 * it is not taken); TX with out->tx_len. No flow. A packet the reply cannot be built from is
 * dropped. Out of line in user space: the tarpit is not the clean path. */
#if defined(__bpf__)
SL_INLINE
#else
static __attribute__((noinline)) inline
#endif
enum sl_verdict sl_seq_syn_cookie(SL_ENV *env, const struct sl_policy *pol, struct sl_pkt *pkt,
                                  void *data, void *data_end, const struct sl_flow_key *key,
                                  struct sl_level_stats *ls, struct sl_seq_out *out) {
  __u8 *tcp = (__u8 *)pkt->tcp;
  __u32 tx_len = 0;
  __u32 seq;

  if (tcp == 0 || tcp + SL_TCP_HDR_MIN > (__u8 *)data_end) {
    ls->dropped++;
    return SL_VERDICT_DROP;
  }
  seq = sl_load_be32(tcp + 4);
  if (!sl_build_reply(data, data_end, pkt, sl_cookie_isn(pol, key, seq), seq + 1u,
                      SL_TCP_SYN | SL_TCP_ACK, &tx_len)) {
    ls->dropped++;
    return SL_VERDICT_DROP;
  }
  sl_env_stats(env)->tarpit_synacks++;
  out->tx_len = tx_len;
  return SL_VERDICT_TX;
}

/* CLIENT_SYN. Counted for the heavy hitters first (sl_seq_heavy), whatever its sender's
 * reputation; an outbound SYN (a subscriber's, pkt->outbound) for its subscriber's fan-out
 * instead (sl_seq_fanout), and its level is one of the policy's outbound levels (sl_level_for).
 * An unlisted sender scores 0, and the policy applies to that score like any
 * other (a level-1 threshold <= 0 shapes it; the deny flag gives the highest level). Level 0:
 * PASS, no state. An observing level: counted, flow created, PASS unchanged. A stateless tarpit
 * level: sl_seq_syn_cookie (TX, no flow). A level with caps: a SYN over one is dropped or
 * answered with RST (through sl_act_syn, as a block level); an admitted one's flow is counted in
 * them. Otherwise sl_act_syn: DROP, TX (out->tx_len), or PASS with a new flow at this level.
 * Every inbound SYN at a level that acts is one event of its sender at that level
 * (sl_seq_event): SL_HEAVY_KIND_BLOCKED when dropped or answered with RST, else
 * SL_HEAVY_KIND_SHAPED (an outbound SYN's verdict is no observation of a sender; its level's
 * counters show it). The
 * flow records the generation read before the lookup, so a table change that lands during it is
 * looked up again on the flow's next segment. */
SL_INLINE enum sl_verdict sl_seq_syn(SL_ENV *env, const struct sl_policy *pol, struct sl_pkt *pkt,
                                     void *data, void *data_end, const struct sl_flow_key *key,
                                     struct sl_seq_out *out) {
  struct sl_stats *st = sl_env_stats(env);
  const struct sl_profile *prof;
  const struct sl_caps *caps;
  int counted = 0;
  struct sl_rep_value rep;
  struct sl_level_stats *ls;
  struct sl_flow_state fs;
  enum sl_verdict v;
  __u32 level;
  __u32 tx_len = 0;
  __u32 gen;
  __u64 now = 0;
  __u8 block;

  out->flow = 0;
  out->level = 0;
  if (SL_LIKELY(pkt->outbound == 0))
    sl_seq_heavy(env, pol, key);
  else
    sl_seq_fanout(env, key);
  rep.score = 0;
  rep.flags = 0;
  st->lookups++;
  gen = sl_seq_generation(env, pol);
  sl_env_rep_lookup(env, key, &rep);
  level = sl_level_for(pol, rep.score, rep.flags, pkt->outbound);
  if (level == 0 || level >= SL_MAX_LEVELS) return SL_VERDICT_PASS;
  out->level = level;
  ls = &st->level[level];
  ls->syns++;
  prof = &pol->profiles[level];
  block = prof->block;
  __builtin_memset(&fs, 0, sizeof(fs));
  caps = &pol->caps[level];
  if (SL_UNLIKELY(sl_caps_any(caps))) {
    now = sl_env_now(env);
    counted = sl_seq_syn_caps(env, caps, key, now);
    /* Over a cap, the SYN is blocked as the caps say, through the level's own block path
     * (counted in dropped or rst_sent; at an observing level as if it were). */
    if (counted & (SL_SEQ_CAPS_OVER_RATE | SL_SEQ_CAPS_OVER_FLOWS)) {
      block = caps->over == SL_CAP_RST ? SL_BLOCK_RST : SL_BLOCK_DROP;
      counted = 0;
    }
    fs.flags = (__u8)(fs.flags | (counted & (SL_FLOW_CAP_HOST | SL_FLOW_CAP_NET)));
  }
  if (SL_UNLIKELY(prof->observe)) {
    sl_seq_syn_observe(env, prof, block, pkt, data_end, ls, &fs);
  } else if (SL_UNLIKELY(prof->tarpit == SL_TARPIT_STATELESS && block == SL_BLOCK_NONE)) {
    /* The policy file refuses caps here (no flow to hold them); a policy map written without
     * it must not leak counts. */
    if (SL_UNLIKELY(counted != 0)) sl_seq_caps_release(SL_SUBPROG_ENV_ARG(env) key, counted, now);
    if (pkt->outbound == 0) sl_seq_event(env, key, SL_HEAVY_KIND_SHAPED, level);
    return sl_seq_syn_cookie(env, pol, pkt, data, data_end, key, ls, out);
  } else {
    v = sl_act_syn(prof, block, pkt, data, data_end, &fs, &tx_len);
    if (v != SL_VERDICT_PASS && SL_UNLIKELY(counted != 0))
      sl_seq_caps_release(SL_SUBPROG_ENV_ARG(env) key, counted, now);
    /* The sender's own count (an observing level's is a dry run: none). */
    if (pkt->outbound == 0)
      sl_seq_event(env, key, v == SL_VERDICT_PASS ? SL_HEAVY_KIND_SHAPED : SL_HEAVY_KIND_BLOCKED,
                   level);
    if (v == SL_VERDICT_DROP) {
      ls->dropped++;
      return v;
    }
    if (v == SL_VERDICT_TX) {
      ls->rst_sent++;
      out->tx_len = tx_len;
      return v;
    }
    if (pkt->rewritten) ls->rewritten++;
  }
  if (now == 0) now = sl_env_now(env);
  fs.created_ns = now;
  fs.last_seen_ns = now;
  fs.level = (__u8)level;
  fs.gen = gen;
  if (sl_env_flow_insert(env, key, &fs) == 0) {
    ls->flows++;
  } else {
    st->flow_table_full++;
    /* No flow to close: what sl_seq_caps counted for it goes back now. */
    if (SL_UNLIKELY(counted != 0)) sl_seq_caps_release(SL_SUBPROG_ENV_ARG(env) key, counted, now);
  }
  return SL_VERDICT_PASS; /* sl_act_syn never delays */
}

/* A flow from another generation: its sender looked up once more, the level the table and policy
 * give now (0 when allowlisted or cleared), the generation recorded. Out of line in user space:
 * it runs once per flow and table change. */
#if defined(__bpf__)
SL_INLINE
#else
static __attribute__((noinline)) inline
#endif
void sl_seq_relookup(SL_ENV *env, const struct sl_policy *pol, const struct sl_flow_key *key,
                     int outbound, struct sl_flow_state *fs, __u32 gen) {
  struct sl_stats *st = sl_env_stats(env);
  struct sl_rep_value rep;
  __u32 level;

  rep.score = 0;
  rep.flags = 0;
  st->relookups++;
  sl_env_rep_lookup(env, key, &rep);
  level = sl_level_for(pol, rep.score, rep.flags, outbound);
  if (level != fs->level) {
    st->level_changes++;
    fs->level = (__u8)level;
  }
  fs->gen = gen;
}

/* A segment whose level does not shape: a flow released to level 0 (its sender allowlisted or
 * cleared since the SYN) is forwarded untouched; a stale level (the policy shrank and nothing
 * looked the sender up since) likewise, counted. The flow keeps its entry (touched), so a later
 * change can shape it again. (A SYN whose window scale was stripped gets a SYN-ACK without one:
 * RFC 7323 lets a server send it only in reply to a SYN that had it.) */
#if defined(__bpf__)
SL_INLINE
#else
static __attribute__((noinline)) inline
#endif
enum sl_verdict sl_seq_unshaped(SL_ENV *env, SL_ENV_FLOW *flow, struct sl_flow_state *fs) {
  if (fs->level != 0) sl_env_stats(env)->stale_level++;
  sl_env_flow_touch(env, flow);
  return SL_VERDICT_PASS;
}

/* A segment of a flow at a blocking or observing level. Block (a flow moved to a block level
 * after its SYN passed: escalated, denied): RST answers every segment but an RST (TX, back out
 * of the port it came in on: the client's to the client, the server's to the server), drop
 * drops it; the flow closes. Observe: the level's decision counted as if it acted (dropped for a
 * block or a drop coin, rst_sent), its state recorded, the packet forwarded unchanged. */
#if defined(__bpf__)
SL_INLINE
#else
static __attribute__((noinline)) inline
#endif
enum sl_verdict sl_seq_segment_rare(SL_ENV *env, const struct sl_profile *prof, struct sl_pkt *pkt,
                                    void *data, void *data_end, enum sl_class cls,
                                    SL_ENV_FLOW *flow, struct sl_flow_state *fs,
                                    struct sl_level_stats *ls, struct sl_seq_out *out) {
  __u32 ppm = cls == SL_CLASS_SERVER_SEG ? prof->server_drop_ppm : prof->client_drop_ppm;
  __u32 tx_len = 0;
  int rst = prof->block == SL_BLOCK_RST && (pkt->tcp_flags & SL_TCP_RST) == 0;

  if (cls == SL_CLASS_SERVER_SEG)
    sl_act_server_seg_record(fs, pkt, data_end);
  else if (pkt->tcp_flags & (SL_TCP_FIN | SL_TCP_RST))
    fs->flags = (__u8)(fs->flags | SL_FLOW_CLOSING);
  sl_env_flow_touch(env, flow);
  if (prof->observe) {
    ls->observed++;
    if (rst)
      ls->rst_sent++;
    else if (prof->block != SL_BLOCK_NONE)
      ls->dropped++;
    else if (pkt->payload_len > 0 && ppm != 0 && sl_chance_ppm(sl_env_random(env), ppm))
      ls->dropped++;
    return SL_VERDICT_PASS;
  }
  fs->flags = (__u8)(fs->flags | SL_FLOW_CLOSING);
  if (rst && sl_build_rst(data, data_end, pkt, &tx_len)) {
    ls->rst_sent++;
    out->tx_len = tx_len;
    return SL_VERDICT_TX;
  }
  ls->dropped++;
  return SL_VERDICT_DROP;
}

/* A client segment without a flow while the policy has a stateless tarpit: one of a tarpitted
 * connection when its ACK acknowledges the flow's cookie (sl_cookie_check) and its sender is
 * still at a stateless tarpit level (looked up now: a sender released since goes on to the MTA,
 * which resets the connection it never had, and the sender reconnects to its new level). Such a
 * segment never reaches the MTA: an RST, and the handshake's ACK (no payload, no FIN, at the
 * sequence number the SYN-ACK acknowledged), are dropped unanswered; anything else (a
 * zero-window probe one below it, data sent regardless of the window, a FIN) is answered in
 * place with <SEQ=ISN+1><ACK=the client's next sequence number as the SYN-ACK acknowledged it>,
 * window 0 (TX): the client's probes are answered, so it keeps waiting, and nothing it sent is
 * ever acknowledged. Every other segment: PASS untouched, as any clean segment. Out of line in
 * user space: only a policy with a stateless tarpit gets here, and a clean segment costs one
 * hash. */
#if defined(__bpf__)
SL_INLINE
#else
static __attribute__((noinline)) inline
#endif
enum sl_verdict sl_seq_cookie_seg(SL_ENV *env, const struct sl_policy *pol, struct sl_pkt *pkt,
                                  void *data, void *data_end, const struct sl_flow_key *key,
                                  struct sl_seq_out *out) {
  const struct sl_profile *prof;
  struct sl_stats *st;
  struct sl_rep_value rep;
  __u8 *tcp = (__u8 *)pkt->tcp;
  __u8 flags = pkt->tcp_flags;
  __u32 seq, ack, una, level;
  __u32 tx_len = 0;

  if ((flags & SL_TCP_ACK) == 0) return SL_VERDICT_PASS;
  if (tcp == 0 || tcp + SL_TCP_HDR_MIN > (__u8 *)data_end) return SL_VERDICT_PASS;
  seq = sl_load_be32(tcp + 4);
  ack = sl_load_be32(tcp + 8);
  if (!sl_cookie_check(pol, key, seq, ack, &una)) return SL_VERDICT_PASS;
  st = sl_env_stats(env);
  rep.score = 0;
  rep.flags = 0;
  st->lookups++;
  sl_env_rep_lookup(env, key, &rep);
  level = sl_level_for(pol, rep.score, rep.flags, pkt->outbound);
  if (level == 0 || level >= SL_MAX_LEVELS) return SL_VERDICT_PASS;
  SL_VERIFIER_OPAQUE(level);
  level &= SL_MAX_LEVELS - 1;
  prof = &pol->profiles[level];
  if (prof->tarpit != SL_TARPIT_STATELESS || prof->block != SL_BLOCK_NONE || prof->observe != 0)
    return SL_VERDICT_PASS;
  out->level = level;
  if ((flags & SL_TCP_RST) || (pkt->payload_len == 0 && (flags & SL_TCP_FIN) == 0 && seq == una)) {
    st->tarpit_silent++;
    return SL_VERDICT_DROP;
  }
  if (!sl_build_reply(data, data_end, pkt, ack, una, SL_TCP_ACK, &tx_len)) {
    st->tarpit_silent++;
    return SL_VERDICT_DROP;
  }
  st->tarpit_acks++;
  out->tx_len = tx_len;
  return SL_VERDICT_TX;
}

/* A server segment of a flow at a tarpit level: its pure ACKs after the greeting (the answers
 * to the client's zero-window probes) are kept as they arrived, the newest replacing the last;
 * a FIN or RST forgets the held one (the connection is ending: an old ACK is no release). Out
 * of line in user space, which costs nothing that matters: a tarpitted flow's packets are few. */
#if defined(__bpf__)
SL_INLINE
#else
static __attribute__((noinline)) inline
#endif
void sl_seq_tarpit_keep(SL_ENV *env, const struct sl_pkt *pkt, void *data,
                        const struct sl_flow_key *key, const struct sl_flow_state *fs) {
  __u32 len = (__u32)pkt->l4_off + pkt->tcp_hlen;

  if ((fs->flags & SL_FLOW_GREETED) == 0) return;
  if (pkt->tcp_flags & (SL_TCP_FIN | SL_TCP_RST)) {
    sl_env_tarpit_unhold(env, key);
    return;
  }
  if (pkt->payload_len != 0 || (pkt->tcp_flags & SL_TCP_SYN) != 0 || len > SL_HELD_FRAME_MAX)
    return;
  sl_env_tarpit_hold(env, key, data, len);
  sl_env_stats(env)->tarpit_held++;
}

/* A held ACK sent through again (sl_env_replayed), its flow's level looked up afresh: 1 (drop
 * it, keep holding) while that level still tarpits; else the hold is forgotten, the release
 * counted in `st`, and 0: the ACK goes on at the new level like any server segment (untouched
 * when released, clamped at a shaping level, an RST to the server at a block level). A global
 * function in BPF (verified once, off the server segment's paths). */
SL_SUBPROG int sl_seq_replay_held(SL_SUBPROG_ENV_PARAM struct sl_stats *st,
                                  const struct sl_policy *pol, const struct sl_flow_key *key,
                                  __u32 level) {
  SL_SUBPROG_ENV_INIT
  const struct sl_profile *prof;

  if (st == 0 || pol == 0 || key == 0) return 1;
  if (level != 0 && level < pol->nlevels && level < SL_MAX_LEVELS) {
    /* The mask changes nothing but shows the verifier the bound (as in sl_seq_segment). */
    SL_VERIFIER_OPAQUE(level);
    level &= SL_MAX_LEVELS - 1;
    prof = &pol->profiles[level];
    if (prof->tarpit != SL_TARPIT_NONE && prof->block == SL_BLOCK_NONE && prof->observe == 0)
      return 1;
  }
  sl_env_tarpit_unhold(env, key);
  st->tarpit_released++;
  return 0;
}

/* Pregreet (sl_greet.h), on every inbound SMTP segment, shaped or not, when the policy tests for
 * it (a subscriber's outbound connections are not tested: its observations would be about our
 * own subscriber, which the feed must not carry unasked): a
 * server's SYN-ACK writes its flow's greeting slot; a client segment with payload takes it, and
 * one that acknowledges nothing past the SYN-ACK talked first: counted (stats.pregreet) and handed
 * to the runner with its client's address (sl_env_event). Other segments cost a flag test. */
SL_INLINE void sl_seq_greet(SL_ENV *env, const struct sl_pkt *pkt, void *data_end,
                            enum sl_class cls, const struct sl_flow_key *key) {
  const __u8 *tcp = (const __u8 *)pkt->tcp;
  struct sl_greet_table *g;
  __u64 h;

  if (!sl_greet_touches(pkt, cls)) return;
  g = sl_env_greet(env);
  if (g == 0 || tcp == 0 || tcp + SL_TCP_HDR_MIN > (const __u8 *)data_end) return;
#ifdef SL_ENV_GREET_HASH
  h = sl_env_greet_hash(env, g, key);
#else
  h = sl_greet_hash(g->seed, key);
#endif
  if (cls == SL_CLASS_SERVER_SEG) {
    sl_greet_record(g, h, sl_load_be32(tcp + 4));
    return;
  }
  if (!sl_greet_take(g, h, sl_load_be32(tcp + 8))) return;
  sl_env_stats(env)->pregreet++;
  sl_seq_event(env, key, SL_HEAVY_KIND_PREGREET, 0);
}

/* CLIENT_SEG / SERVER_SEG. No flow: PASS untouched (a client segment, when the policy has a
 * stateless tarpit: sl_seq_cookie_seg). A flow from another generation: its sender
 * looked up again (sl_seq_relookup). A flow at level 0 (released) or at a level the policy no
 * longer has (stale): sl_seq_unshaped. A blocking or observing level: sl_seq_segment_rare.
 * Otherwise the level's current profile acts (what the SYN did is in the flow's flags, so a
 * profile changed mid-flow still strips the window scale the SYN lost). */
SL_INLINE enum sl_verdict sl_seq_segment(SL_ENV *env, const struct sl_policy *pol,
                                         struct sl_pkt *pkt, void *data, void *data_end,
                                         enum sl_class cls, const struct sl_flow_key *key,
                                         struct sl_seq_out *out) {
  SL_ENV_FLOW *flow = sl_env_flow_find(env, key);
  struct sl_flow_state *fs;
  const struct sl_profile *prof;
  struct sl_level_stats *ls;
  enum sl_verdict v;
  __u32 level;
  __u32 coin;
  __u32 gen;

  out->flow = flow;
  out->level = 0;
  if (pol->pregreet != 0 && pkt->outbound == 0) sl_seq_greet(env, pkt, data_end, cls, key);
  if (flow == 0) {                           /* a clean flow: no state, untouched */
    if (SL_UNLIKELY(sl_env_replayed(env))) { /* a held ACK whose connection is gone */
      sl_env_tarpit_unhold(env, key);
      return SL_VERDICT_DROP;
    }
    if (SL_UNLIKELY(pol->tarpit_cookies != 0) && cls == SL_CLASS_CLIENT_SEG)
      return sl_seq_cookie_seg(env, pol, pkt, data, data_end, key, out);
    return SL_VERDICT_PASS;
  }
  fs = sl_env_flow_state(flow);
  if (SL_UNLIKELY((fs->flags & (SL_FLOW_CAP_HOST | SL_FLOW_CAP_NET)) != 0 &&
                  (pkt->tcp_flags & (SL_TCP_FIN | SL_TCP_RST)) != 0)) {
    sl_seq_caps_release(SL_SUBPROG_ENV_ARG(env) key,
                        fs->flags & (SL_FLOW_CAP_HOST | SL_FLOW_CAP_NET), sl_env_now(env));
    fs->flags = (__u8)(fs->flags & ~(SL_FLOW_CAP_HOST | SL_FLOW_CAP_NET));
  }
  gen = sl_seq_generation(env, pol);
  if (SL_UNLIKELY(fs->gen != gen)) sl_seq_relookup(env, pol, key, pkt->outbound, fs, gen);
  level = fs->level;
  out->level = level;
  if (SL_UNLIKELY(sl_env_replayed(env)) &&
      sl_seq_replay_held(SL_SUBPROG_ENV_ARG(env) sl_env_stats(env), pol, key, level) != 0)
    return SL_VERDICT_DROP;
  if (SL_UNLIKELY(level == 0 || level >= pol->nlevels || level >= SL_MAX_LEVELS))
    return sl_seq_unshaped(env, flow, fs);
  /* level < SL_MAX_LEVELS (a power of two): the mask changes nothing, but shows the BPF verifier
   * the bound, which clang may have checked on a copy of the register. */
  SL_VERIFIER_OPAQUE(level);
  level &= SL_MAX_LEVELS - 1;
  prof = &pol->profiles[level];
  ls = &sl_env_stats(env)->level[level];
  if (SL_UNLIKELY((prof->block | prof->observe) != 0))
    return sl_seq_segment_rare(env, prof, pkt, data, data_end, cls, flow, fs, ls, out);
  /* A coin only where the level drops segments (sl_chance_ppm(x, 0) is false for every x). */
  coin = (prof->server_drop_ppm | prof->client_drop_ppm) != 0 ? sl_env_random(env) : 0;
  if (cls == SL_CLASS_SERVER_SEG) {
    /* Held ACKs are replayed as coming from inside (a server of our own): an outbound flow's
     * remote MTA is outside, so its tarpitted subscriber learns of a release at its next
     * zero-window probe instead. */
    if (SL_UNLIKELY(prof->tarpit != SL_TARPIT_NONE) && pkt->outbound == 0)
      sl_seq_tarpit_keep(env, pkt, data, key, fs);
    v = sl_act_server_seg(prof, fs, pkt, data_end, coin);
  } else
    v = sl_act_client_seg(prof, fs, pkt, data_end, coin);
  sl_env_flow_touch(env, flow);
  if (v == SL_VERDICT_DROP)
    ls->dropped++;
  else if (pkt->rewritten)
    ls->rewritten++;
  return v;
}

/* Everything after sl_seq_classify and the key, by class. */
SL_INLINE enum sl_verdict sl_seq_act(SL_ENV *env, const struct sl_policy *pol, struct sl_pkt *pkt,
                                     void *data, void *data_end, enum sl_class cls,
                                     const struct sl_flow_key *key, struct sl_seq_out *out) {
  if (cls == SL_CLASS_CLIENT_SYN) return sl_seq_syn(env, pol, pkt, data, data_end, key, out);
  if (cls == SL_CLASS_CLIENT_SEG || cls == SL_CLASS_SERVER_SEG)
    return sl_seq_segment(env, pol, pkt, data, data_end, cls, key, out);
  out->flow = 0;
  out->level = 0;
  if (cls == SL_CLASS_UNSEEN) return sl_seq_unseen(env, pol);
  return SL_VERDICT_PASS;
}

/* The whole sequence for one frame (stats.packets not counted: the runner's). */
SL_INLINE enum sl_verdict sl_seq_run(SL_ENV *env, void *data, void *data_end, __u32 frame_len,
                                     enum sl_dir dir, const struct sl_policy *pol,
                                     enum sl_class *cls, struct sl_seq_out *out) {
  struct sl_pkt pkt;
  struct sl_flow_key key;

  *cls = sl_seq_classify(env, data, data_end, frame_len, dir, pol, &pkt);
  if (*cls == SL_CLASS_CLIENT_SYN || *cls == SL_CLASS_CLIENT_SEG || *cls == SL_CLASS_SERVER_SEG)
    sl_flow_key_make(&pkt, *cls, &key);
  else
    __builtin_memset(&key, 0, sizeof(key));
  return sl_seq_act(env, pol, &pkt, data, data_end, *cls, &key, out);
}

#endif /* SLUICE_CORE_SL_SEQUENCE_H */
