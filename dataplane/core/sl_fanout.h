/* sluice packet core: fan-out, the distinct remote MTAs a subscriber opens SMTP connections to
 * (outbound abuse control, docs/observations.md#fan-out).
 *
 * An infected subscriber's spam engine delivers straight to many recipients' MTAs; a subscriber
 * who sends its own mail talks to a few. Each outbound SYN (sl_seq_syn, pkt->outbound) asks
 * whether its (subscriber, remote MTA) pair is new in the current window, about a minute
 * (2^SL_FANOUT_WINDOW_SHIFT ns); a new pair is one event of the subscriber (SL_HEAVY_KIND_FANOUT
 * through sl_env_event), so a subscriber's fan-out events per window count the distinct MTAs it
 * reached. Ports do not count: a second connection to the same MTA is not a new one.
 *
 * The runner keeps a bounded, direct-mapped table of pair slots, one 64-bit word each: a tag
 * from the pair's keyed hash and the window's number. A pair whose slot holds its tag in the
 * current window is not new; anything else (empty, another pair, an older window) is, and the
 * slot becomes the pair's. So a pair counts at most once per window per table, and a collision
 * can only make a pair count again (an overcount, never a miss: a subscriber cannot hide
 * destinations behind other pairs' slots). The hash is keyed with a seed the runner draws, so a
 * sender cannot aim its pairs at other pairs' slots. Runners with one table per core (sluice-dp's
 * lcores) count a pair once per core that sees it. */
#ifndef SLUICE_CORE_SL_FANOUT_H
#define SLUICE_CORE_SL_FANOUT_H

#include "sl_base.h"
#include "sl_bytes.h"
#include "sl_limits.h"
#include "sl_shared.h"

#define SL_FANOUT_SLOTS (1u << SL_FANOUT_SLOTS_LOG2)
SL_STATIC_ASSERT(SL_FANOUT_SLOTS_LOG2 >= 4 && SL_FANOUT_SLOTS_LOG2 <= 24, "16 .. 2^24 slots");

/* A window of 2^36 ns, 68.7 s: "per minute", in a shift. */
#define SL_FANOUT_WINDOW_SHIFT 36
/* A slot: the tag in the high 40 bits (never 0), the window's number in the low 24; 0 is
 * empty. */
#define SL_FANOUT_WINDOW_BITS 24
#define SL_FANOUT_WINDOW_MASK ((1u << SL_FANOUT_WINDOW_BITS) - 1)

struct sl_fanout_table {
  __u64 seed;
  __u64 slot[SL_FANOUT_SLOTS];
};

/* A runner that draws one seed for several tables gives this one this variant. */
#define SL_FANOUT_SEED_XOR 0x8ebc6af09c88c6e3ull

SL_INLINE __u32 sl_fanout_window(__u64 now_ns) {
  return (__u32)(now_ns >> SL_FANOUT_WINDOW_SHIFT) & SL_FANOUT_WINDOW_MASK;
}

/* The keyed hash of a connection's pair of addresses (the flow key's first four words and its
 * family; not the ports). */
SL_INLINE __u64 sl_fanout_hash(__u64 seed, const struct sl_flow_key *k) {
  const __u8 *p = (const __u8 *)k;
  __u64 h = (sl_load64(p) ^ seed) * 0x9e3779b97f4a7c15ull;
  h = (h ^ sl_load64(p + 8)) * 0xc2b2ae3d27d4eb4full;
  h = (h ^ sl_load64(p + 16)) * 0x165667b19e3779f9ull;
  h = (h ^ sl_load64(p + 24) ^ k->family) * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

/* 1 when the pair hashed to h is new in window `window` (the slot is now the pair's), else 0. */
SL_INLINE int sl_fanout_first(struct sl_fanout_table *t, __u64 h, __u32 window) {
  __u64 *s = &t->slot[(__u32)h & (SL_FANOUT_SLOTS - 1)];
  __u64 v = ((h | (1ull << 63)) & ~(__u64)SL_FANOUT_WINDOW_MASK) | (window & SL_FANOUT_WINDOW_MASK);
  if (*s == v) return 0;
  *s = v;
  return 1;
}

#endif /* SLUICE_CORE_SL_FANOUT_H */
