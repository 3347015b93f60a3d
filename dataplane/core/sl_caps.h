/* sluice packet core: aggregate caps per level (docs/packet-core.md#aggregate-caps).
 *
 * A level may cap how many flows one sender holds open (per address, and per /24 or /64) and
 * how fast one sender address opens them. Without caps, a throttled sender that opens 50
 * connections gets 50 clamped windows, and each slow connection holds one of the MTA's smtpd
 * processes for as long as it lasts.
 *
 * The state is one entry per sender address or network, in a table of the runner's (bounded:
 * a plain-memory table of buckets below, or an LRU map in XDP); nothing else touches it, and
 * only SYNs of a capped level and the closing segments of flows they counted reach it.
 *
 *   rate   GCRA (the virtual-scheduling form of a token bucket): the entry holds the
 *          theoretical arrival time `tat` of the sender's next SYN; a SYN at `now` is over the
 *          rate when max(tat, now) - now > the tolerance ((burst - 1) intervals), and else
 *          moves tat one interval on. One 64-bit word, no division on the packet path.
 *   flows  a count: +1 when a SYN of the level is admitted (-1 at once when no flow is
 *          stored for it), -1 when its flow first shows a FIN or RST (either side). A flow
 *          that ends unseen (evicted, expired, its FIN lost) stays counted until its entry
 *          has been idle (no SYN, no close) for SL_CAPS_IDLE_NS: the count then starts at 0
 *          again. Only a sender that keeps connecting while its flows vanish unseen is held
 *          by such stale counts.
 *
 * A runner with several lcores or CPUs: sluice-dp keeps a table per lcore (a sender's flows
 * spread over the lcores by RSS are capped per lcore); XDP keeps one map for all CPUs, its
 * counts updated atomically, its rate word not (two CPUs taking the same instant's token may
 * both pass). */
#ifndef SLUICE_CORE_SL_CAPS_H
#define SLUICE_CORE_SL_CAPS_H

#include "sl_base.h"
#include "sl_heavy.h"
#include "sl_limits.h"
#include "sl_shared.h"

/* One sender address's or network's state. A new entry is all zero. */
struct sl_cap_entry {
  __u64 tat;        /* GCRA: theoretical arrival time of the next SYN, runner clock ns */
  __u64 touched_ns; /* last SYN or close that used the entry */
  __u32 flows;      /* open flows counted (SL_FLOW_CAP_HOST / SL_FLOW_CAP_NET) */
  __u32 pad;
};
SL_STATIC_ASSERT(sizeof(struct sl_cap_entry) == 24, "sl_cap_entry layout");

/* The count of an entry shared by CPUs is updated atomically in BPF; a runner's own table is
 * one lcore's and needs no atomics. */
#if defined(__bpf__)
#define SL_CAP_ADD(p, v) __sync_fetch_and_add((p), (v))
#else
#define SL_CAP_ADD(p, v) (*(p) += (v))
#endif

/* Whether a level has any cap. */
SL_INLINE int sl_caps_any(const struct sl_caps *c) {
  return (c->syn_interval_us | c->max_flows | c->max_flows_net) != 0;
}

/* The rate and burst a level's caps keep (max_syn_per_min, syn_burst as the policy file writes
 * them back): derived from the GCRA interval and tolerance, the only form the core keeps. */
SL_INLINE __u32 sl_caps_syn_per_min(const struct sl_caps *c) {
  return c->syn_interval_us != 0 ? 60000000u / c->syn_interval_us : 0;
}

SL_INLINE __u32 sl_caps_syn_burst(const struct sl_caps *c) {
  return c->syn_interval_us != 0 ? c->syn_tolerance_us / c->syn_interval_us + 1 : 0;
}

/* An entry used at `now`: an entry idle for SL_CAPS_IDLE_NS forgets its count first. */
SL_INLINE void sl_cap_touch(struct sl_cap_entry *e, __u64 now) {
  if (now > e->touched_ns + SL_CAPS_IDLE_NS) e->flows = 0;
  e->touched_ns = now;
}

/* Whether a SYN at `now` is over the rate; when not, the rate is taken (tat moves on). */
SL_INLINE int sl_cap_rate_take(struct sl_cap_entry *e, const struct sl_caps *c, __u64 now) {
  __u64 tat = e->tat > now ? e->tat : now;
  if (tat - now > (__u64)c->syn_tolerance_us * 1000) return 1;
  e->tat = tat + (__u64)c->syn_interval_us * 1000;
  return 0;
}

/* A flow counted in (or released from) an entry. Never below 0: an entry evicted and created
 * again while its flows were open starts at 0, and their closes find nothing to release. */
SL_INLINE void sl_cap_flow_add(struct sl_cap_entry *e) {
  SL_CAP_ADD(&e->flows, 1);
}

SL_INLINE void sl_cap_flow_release(struct sl_cap_entry *e) {
  if (e->flows > 0) SL_CAP_ADD(&e->flows, (__u32)-1);
}

/* ---- a bounded caps table for runners that keep one in plain memory ---------------------- */

/* 2^SL_CAPS_TABLE_LOG2 entries in buckets of SL_CAPS_TABLE_WAYS; a key lives in the bucket its
 * keyed hash picks (sl_heavy_hash: a sender who cannot predict the buckets cannot aim at
 * someone else's). A key not found takes a free slot of its bucket, or the slot touched least
 * recently (counted: that sender starts afresh). Bounded work (one bucket) and memory. */
#define SL_CAPS_TABLE_WAYS 4
#define SL_CAPS_TABLE_BUCKETS (1u << (SL_CAPS_TABLE_LOG2 - 2))
SL_STATIC_ASSERT(SL_CAPS_TABLE_LOG2 >= 4 && SL_CAPS_TABLE_LOG2 <= 24, "4..2^22 buckets");

struct sl_cap_slot {
  struct sl_heavy_key key;
  __u32 used;
  struct sl_cap_entry e;
};

/* Buckets first, the table aligned to a cache line: a bucket (4 slots of 48 bytes) is then three
 * whole lines, not parts of four. */
struct sl_caps_table {
  struct sl_cap_slot s[SL_CAPS_TABLE_BUCKETS][SL_CAPS_TABLE_WAYS];
  __u64 seed; /* the bucket hash's key: drawn at random by the runner */
} __attribute__((aligned(64)));
SL_STATIC_ASSERT(sizeof(struct sl_cap_slot) * SL_CAPS_TABLE_WAYS % 64 == 0, "whole lines");

/* The bucket a key lives in. */
SL_INLINE struct sl_cap_slot *sl_caps_table_bucket(struct sl_caps_table *t,
                                                   const struct sl_heavy_key *k) {
  return t->s[(__u32)(sl_heavy_hash(t->seed, k) >> (64 - (SL_CAPS_TABLE_LOG2 - 2)))];
}

/* The key's entry, or with `create` a new (zero) one; 0 when absent and not created. A slot
 * taken from another key adds 1 to *evicted. */
SL_INLINE struct sl_cap_entry *sl_caps_table_get(struct sl_caps_table *t,
                                                 const struct sl_heavy_key *k, int create,
                                                 __u64 *evicted) {
  struct sl_cap_slot *b = sl_caps_table_bucket(t, k);
  struct sl_cap_slot *victim = &b[0];
  __u32 i;

  for (i = 0; i < SL_CAPS_TABLE_WAYS; i++)
    if (b[i].used && sl_heavy_key_eq(&b[i].key, k)) return &b[i].e;
  if (!create) return 0;
  for (i = 0; i < SL_CAPS_TABLE_WAYS; i++) {
    if (!b[i].used) {
      victim = &b[i];
      break;
    }
    if (b[i].e.touched_ns < victim->e.touched_ns) victim = &b[i];
  }
  if (victim->used) (*evicted)++;
  __builtin_memset(victim, 0, sizeof(*victim));
  victim->key = *k;
  victim->used = 1;
  return &victim->e;
}

#endif /* SLUICE_CORE_SL_CAPS_H */
