/* sluice packet core: SYN heavy hitters (docs/observations.md).
 *
 * Every inbound SYN counts twice in a count-min sketch: once for the client's address (/32 or
 * /128) and once for its network (/24 or /64). Nothing else touches the sketch. Counts are per
 * window of 2^SL_HEAVY_WINDOW_SHIFT ns (about 1.07 s): each cell carries the low bits of the
 * window it counts in, and a cell from another window reads as 0 (reset lazily, on its next
 * update), so memory is fixed and no pass over the sketch ever runs on the packet path.
 *
 * Updates are conservative (Estan and Varghese): a key's cells are raised only up to its new
 * estimate, min over the rows + 1. The estimate never under-counts (within the window and below
 * the cell cap). The layout is blocked (below): addresses and networks each have half the
 * lines, a key's four cells lie in two of its half's lines (two in each), so each cell takes on
 * average N / (SL_HEAVY_DEPTH * SL_HEAVY_WIDTH / 8) of the N SYNs of the window (one address
 * and one network update each), 1/8192 of them at the default geometry. The two lines are
 * independent: the estimate over-counts by more than e times that with probability at most
 * e^-2 (the two rows sharing a line are not independent, so no more is claimed; the old
 * unblocked layout claimed e^-4 for the same excess). Conservative updates only lower it.
 *
 * With conservative updates the updated key's estimate grows by exactly one per update, so the
 * report points below are each hit once per key and window: the estimate reaches the policy's
 * heavy_syn_threshold T, then every point on a grid of 16 steps per doubling above it
 * (sl_heavy_report_point). At each, the sequence calls the runner's sl_env_heavy_report, which
 * offers the prefix to its bounded candidate table (sl_heavy_table_offer below, or an LRU map
 * in XDP). A key reports at most 16 * 20 + 16 times per window, whatever the traffic.
 *
 * The sketch is one runner's (per lcore, per CPU): no atomics; a reader sums a key's estimate
 * over them (sl_heavy_estimate), which is still an upper bound of the key's total. */
#ifndef SLUICE_CORE_SL_HEAVY_H
#define SLUICE_CORE_SL_HEAVY_H

#include "sl_base.h"
#include "sl_bytes.h"
#include "sl_limits.h"
#include "sl_shared.h"

#if defined(__SSE4_1__) && !defined(__bpf__)
#include <smmintrin.h>
#endif

#define SL_HEAVY_WIDTH (1u << SL_HEAVY_WIDTH_LOG2)
SL_STATIC_ASSERT(SL_HEAVY_WIDTH_LOG2 >= 4 && SL_HEAVY_WIDTH_LOG2 <= 20, "16 .. 2^20 cells a row");
SL_STATIC_ASSERT(SL_HEAVY_DEPTH == 1 || SL_HEAVY_DEPTH == 2 || SL_HEAVY_DEPTH == 4,
                 "the rows split a line's 16 cells evenly");

/* The layout is blocked: the sketch's SL_HEAVY_DEPTH x SL_HEAVY_WIDTH cells are
 * SL_HEAVY_LINES lines of 16 cells (64 bytes, one cache line). A key's hash picks
 * SL_HEAVY_KEY_LINES lines, and each row one cell in its own part of one of them (depth 4, two
 * lines: rows 0 and 1 in the first line's halves, rows 2 and 3 in the second's), so an update
 * touches SL_HEAVY_KEY_LINES cache lines, not one per row. */
#ifndef SL_HEAVY_KEY_LINES
#define SL_HEAVY_KEY_LINES 2
#endif
#define SL_HEAVY_LINE_CELLS 16
#define SL_HEAVY_LINE_ROWS (SL_HEAVY_DEPTH / SL_HEAVY_KEY_LINES)
#define SL_HEAVY_ROW_CELLS (SL_HEAVY_LINE_CELLS / SL_HEAVY_LINE_ROWS)
#define SL_HEAVY_LINES (SL_HEAVY_DEPTH * SL_HEAVY_WIDTH / SL_HEAVY_LINE_CELLS)
SL_STATIC_ASSERT(SL_HEAVY_KEY_LINES >= 1 && SL_HEAVY_KEY_LINES <= 2 &&
                     SL_HEAVY_DEPTH % SL_HEAVY_KEY_LINES == 0,
                 "a key's rows split evenly over one or two lines");
SL_STATIC_ASSERT(SL_HEAVY_LINES >= 2 && SL_HEAVY_LINES <= (1u << 17),
                 "a half's line index in 16 bits of the hash");

/* A cell: the window's low SL_HEAVY_EPOCH_BITS bits above a count of SL_HEAVY_COUNT_BITS. The
 * count saturates at SL_HEAVY_COUNT_MAX (a million SYNs a window on one CPU); a window's bits
 * repeat every 2^12 windows (73 minutes): a cell untouched for exactly a multiple of that reads
 * its old count, an over-estimate like any collision. */
#define SL_HEAVY_COUNT_BITS 20
#define SL_HEAVY_EPOCH_BITS (32 - SL_HEAVY_COUNT_BITS)
#define SL_HEAVY_COUNT_MAX ((1u << SL_HEAVY_COUNT_BITS) - 1)
#define SL_HEAVY_EPOCH_MASK ((1u << SL_HEAVY_EPOCH_BITS) - 1)

/* The window a time falls in (nanoseconds of the runner's clock). */
SL_INLINE __u32 sl_heavy_epoch(__u64 now_ns) {
  return (__u32)(now_ns >> SL_HEAVY_WINDOW_SHIFT);
}

/* One runner's sketch. seed keys the hash: drawn at random by the runner when it creates the
 * sketch (a sender who cannot predict the lines cannot aim collisions at someone else). The
 * cells start on a cache line of their own (the struct is 64-byte aligned). */
struct sl_heavy_sketch {
  __u64 seed;
  __u64 pad[7];
  __u32 line[SL_HEAVY_LINES][SL_HEAVY_LINE_CELLS];
} __attribute__((aligned(64)));
SL_STATIC_ASSERT(sizeof(struct sl_heavy_sketch) ==
                     64 + SL_HEAVY_DEPTH * SL_HEAVY_WIDTH * sizeof(__u32),
                 "sl_heavy_sketch layout");

/* What a candidate entry counts (sl_heavy_key.kind). SYN entries come from the sketch's report
 * points (per prefix, per window); event entries count one event at a time, per address: a
 * pregreet (sl_greet.h) is one connection whose client talked before the greeting; a shaped or
 * blocked one is one inbound SYN the sequence shaped (a flow at a shaping level, or a stateless
 * tarpit's SYN-ACK) or blocked (dropped or answered with RST, by the level or by its caps), per
 * level (sl_heavy_key.level); a fan-out one is one remote MTA new to a subscriber in the
 * current fan-out window (sl_fanout.h). */
#define SL_HEAVY_KIND_SYN 0
#define SL_HEAVY_KIND_PREGREET 1
#define SL_HEAVY_KIND_SHAPED 2
#define SL_HEAVY_KIND_BLOCKED 3
#define SL_HEAVY_KIND_FANOUT 4

/* A counted prefix: the address with the bits past prefix_len zero (IPv4 in the first 4 bytes),
 * and what is counted for it (the sketch counts SYN keys only). */
struct sl_heavy_key {
  __u8 addr[16];
  __u8 family;     /* SL_AF_INET or SL_AF_INET6 */
  __u8 prefix_len; /* 32 or 24; 128 or 64 */
  __u8 kind;       /* SL_HEAVY_KIND_* */
  __u8 level;      /* SHAPED and BLOCKED: the level; else 0 */
};
SL_STATIC_ASSERT(sizeof(struct sl_heavy_key) == 20, "sl_heavy_key layout");

/* A candidate: the prefix, its estimate at its last report and that report's window, and the
 * estimate it had reached in the window before (0 when it did not report then). */
struct sl_heavy_entry {
  struct sl_heavy_key key;
  __u32 estimate;
  __u32 epoch;
  __u32 prev_estimate;
};
SL_STATIC_ASSERT(sizeof(struct sl_heavy_entry) == 32, "sl_heavy_entry layout");

/* The keyed hash of a prefix, 64 bits, in two stages: the first mixes the seed with the
 * address's network part (IPv4: the first 3 bytes; IPv6: the first 8), the second mixes that
 * with the rest of the address and the prefix length, so every prefix length hashes apart. An
 * address and its network share the first stage (one multiply less for a runner that wants
 * both). */
SL_INLINE __u64 sl_heavy_hash_net(__u64 seed, const struct sl_heavy_key *k) {
  __u64 a = sl_load64(k->addr);
  if (k->family == SL_AF_INET) a &= SL_JOIN64(sl_htonl(0xffffff00u), 0);
  return ((a ^ seed) * 0x9e3779b97f4a7c15ull) ^ k->family;
}

SL_INLINE __u64 sl_heavy_hash_mix(__u64 hn, __u64 rest, __u32 prefix_len) {
  __u64 h = hn ^ (hn >> 31) ^ rest;
  h = (h ^ ((__u64)prefix_len << 56)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 29)) * 0x94d049bb133111ebull;
  return h ^ (h >> 32);
}

/* The address's bits past its network part (0 for a network key). */
SL_INLINE __u64 sl_heavy_hash_rest(const struct sl_heavy_key *k) {
  return k->family == SL_AF_INET ? sl_load64(k->addr) & SL_JOIN64(sl_htonl(0xffu), 0)
                                 : sl_load64(k->addr + 8);
}

SL_INLINE __u64 sl_heavy_hash(__u64 seed, const struct sl_heavy_key *k) {
  return sl_heavy_hash_mix(sl_heavy_hash_net(seed, k), sl_heavy_hash_rest(k), k->prefix_len);
}

/* Whether a key is a network (/24, /64) rather than an address (/32, /128). */
SL_INLINE __u32 sl_heavy_is_net(const struct sl_heavy_key *k) {
  return k->prefix_len != 32 && k->prefix_len != 128;
}

/* A key's line j (j < SL_HEAVY_KEY_LINES): addresses in the first half of the lines, networks
 * in the second (so the thousands of heavy networks a big botnet brings never share a line with
 * an address), the line in that half from 16 bits of the hash's upper half; row r's cell in its
 * line from bits 4r.. of the lower half. */
SL_INLINE __u32 sl_heavy_line_index(__u64 h, __u32 net, __u32 j) {
  return (net * (SL_HEAVY_LINES / 2)) | ((__u32)(h >> (32 + 16 * j)) & (SL_HEAVY_LINES / 2 - 1));
}

SL_INLINE __u32 sl_heavy_slot(__u64 h, __u32 row) {
  return (row % SL_HEAVY_LINE_ROWS) * SL_HEAVY_ROW_CELLS +
         ((__u32)(h >> (4 * row)) & (SL_HEAVY_ROW_CELLS - 1));
}

/* A cell's count in window `epoch`: with the window's tag xor-ed away, a cell of that window is
 * its count (<= SL_HEAVY_COUNT_MAX) and a cell of any other window has tag bits left: it reads
 * as 0 through a mask, not a branch (which cells are stale depends on the data). */
SL_INLINE __u32 sl_heavy_cell_count(__u32 cell, __u32 epoch) {
  __u32 x = cell ^ ((epoch & SL_HEAVY_EPOCH_MASK) << SL_HEAVY_COUNT_BITS);
  return x & ((__u32)((x >> SL_HEAVY_COUNT_BITS) != 0) - 1u);
}

/* A prefix's estimate in one sketch for window `epoch` (0 when it has no count there), from its
 * hash and half (sl_heavy_hash, sl_heavy_is_net). */
SL_INLINE __u32 sl_heavy_estimate_h(const struct sl_heavy_sketch *s, __u64 h, __u32 net,
                                    __u32 epoch) {
  __u32 est = SL_HEAVY_COUNT_MAX;
  __u32 r;
  for (r = 0; r < SL_HEAVY_DEPTH; r++) {
    const __u32 *line = s->line[sl_heavy_line_index(h, net, r / SL_HEAVY_LINE_ROWS)];
    __u32 c = sl_heavy_cell_count(line[sl_heavy_slot(h, r)], epoch);
    est = c < est ? c : est;
  }
  return est;
}

/* A key's estimate in one sketch for window `epoch` (0 when it has no count there). */
SL_INLINE __u32 sl_heavy_estimate(const struct sl_heavy_sketch *s, const struct sl_heavy_key *k,
                                  __u32 epoch) {
  return sl_heavy_estimate_h(s, sl_heavy_hash(s->seed, k), sl_heavy_is_net(k), epoch);
}

/* Counts one SYN for the prefix hashed to h (in half `net`) in window `epoch`; returns its new
 * estimate. The reference, and BPF's: one cell at a time. A cell raised by the conservative
 * update holds the new estimate, any other keeps its count, so every cell is written
 * tag | max(count, estimate): a stale cell (count 0) takes the estimate, a current one its
 * larger count back (its old word): every cell is written the same way, raised or not. */
SL_INLINE __u32 sl_heavy_add_h_scalar(struct sl_heavy_sketch *s, __u64 h, __u32 net, __u32 epoch) {
  __u32 *cell[SL_HEAVY_DEPTH];
  __u32 counts[SL_HEAVY_DEPTH];
  __u32 est = SL_HEAVY_COUNT_MAX;
  __u32 tag = (epoch & SL_HEAVY_EPOCH_MASK) << SL_HEAVY_COUNT_BITS;
  __u32 r;

  for (r = 0; r < SL_HEAVY_DEPTH; r++) {
    cell[r] = &s->line[sl_heavy_line_index(h, net, r / SL_HEAVY_LINE_ROWS)][sl_heavy_slot(h, r)];
    counts[r] = sl_heavy_cell_count(*cell[r], epoch);
    est = counts[r] < est ? counts[r] : est;
  }
  est += est < SL_HEAVY_COUNT_MAX;
  for (r = 0; r < SL_HEAVY_DEPTH; r++) *cell[r] = tag | (counts[r] > est ? counts[r] : est);
  return est;
}

/* The same update with the four cells in one SSE4.1 register: the window check, the minimum
 * and the raise are a handful of vector operations instead of about twenty scalar ones per
 * cell. sluice-dp is built for DPDK's CPU baseline, which has SSE4.1; tests/core/heavy_test.cc
 * checks that both forms leave the same sketch and return the same estimates. */
#if defined(__SSE4_1__) && !defined(__bpf__) && SL_HEAVY_DEPTH == 4
#define SL_HEAVY_SSE4 1
SL_INLINE __u32 sl_heavy_add_h_sse4(struct sl_heavy_sketch *s, __u64 h, __u32 net, __u32 epoch) {
  __u32 *l0 = s->line[sl_heavy_line_index(h, net, 0)];
  __u32 *l1 = s->line[sl_heavy_line_index(h, net, 1)];
  __u32 *c0 = &l0[sl_heavy_slot(h, 0)], *c1 = &l0[sl_heavy_slot(h, 1)];
  __u32 *c2 = &l1[sl_heavy_slot(h, 2)], *c3 = &l1[sl_heavy_slot(h, 3)];
  const __m128i tag = _mm_set1_epi32((int)((epoch & SL_HEAVY_EPOCH_MASK) << SL_HEAVY_COUNT_BITS));
  const __m128i max = _mm_set1_epi32((int)SL_HEAVY_COUNT_MAX);
  __m128i x, counts, m;
  __u32 est;

  x = _mm_cvtsi32_si128((int)*c0);
  x = _mm_insert_epi32(x, (int)*c1, 1);
  x = _mm_insert_epi32(x, (int)*c2, 2);
  x = _mm_insert_epi32(x, (int)*c3, 3);
  x = _mm_xor_si128(x, tag); /* a cell of this window: its count; of another: above max */
  counts = _mm_and_si128(x, _mm_cmpeq_epi32(_mm_min_epu32(x, max), x));
  m = _mm_min_epu32(counts, _mm_shuffle_epi32(counts, 0x4e));
  m = _mm_min_epu32(m, _mm_shuffle_epi32(m, 0xb1));
  est = (__u32)_mm_cvtsi128_si32(m);
  est += est < SL_HEAVY_COUNT_MAX;
  x = _mm_or_si128(_mm_max_epu32(counts, _mm_set1_epi32((int)est)), tag);
  *c0 = (__u32)_mm_cvtsi128_si32(x);
  *c1 = (__u32)_mm_extract_epi32(x, 1);
  *c2 = (__u32)_mm_extract_epi32(x, 2);
  *c3 = (__u32)_mm_extract_epi32(x, 3);
  return est;
}
#endif

SL_INLINE __u32 sl_heavy_add_h(struct sl_heavy_sketch *s, __u64 h, __u32 net, __u32 epoch) {
#ifdef SL_HEAVY_SSE4
  return sl_heavy_add_h_sse4(s, h, net, epoch);
#else
  return sl_heavy_add_h_scalar(s, h, net, epoch);
#endif
}

/* Counts one SYN for the key in window `epoch`; returns its new estimate. */
SL_INLINE __u32 sl_heavy_add(struct sl_heavy_sketch *s, const struct sl_heavy_key *k, __u32 epoch) {
  return sl_heavy_add_h(s, sl_heavy_hash(s->seed, k), sl_heavy_is_net(k), epoch);
}

/* The hashes of a client's address and network (sl_heavy_hash of sl_heavy_keys' host and net),
 * the first stage shared, without building the keys: the counting path builds a key only when
 * it has one to report. */
SL_INLINE void sl_heavy_hashes(__u64 seed, const struct sl_flow_key *fk, __u64 *h_host,
                               __u64 *h_net) {
  __u64 a = sl_load64(fk->client);
  __u64 hn, rest;
  __u32 host_len, net_len;
  if (fk->family == SL_AF_INET) {
    hn = ((a & SL_JOIN64(sl_htonl(0xffffff00u), 0)) ^ seed) * 0x9e3779b97f4a7c15ull;
    rest = a & SL_JOIN64(sl_htonl(0xffu), 0);
    host_len = 32;
    net_len = 24;
  } else {
    hn = (a ^ seed) * 0x9e3779b97f4a7c15ull;
    rest = sl_load64(fk->client + 8);
    host_len = 128;
    net_len = 64;
  }
  hn ^= fk->family;
  *h_host = sl_heavy_hash_mix(hn, rest, host_len);
  *h_net = sl_heavy_hash_mix(hn, 0, net_len);
}

/* One SYN counted for a client's address and network, hashed to h_host and h_net
 * (sl_heavy_hashes), in window `epoch`: their new estimates in *est_host and *est_net. */
SL_INLINE void sl_heavy_count_hashed(struct sl_heavy_sketch *s, __u64 h_host, __u64 h_net,
                                     __u32 epoch, __u32 *est_host, __u32 *est_net) {
  *est_host = sl_heavy_add_h(s, h_host, 0, epoch);
  *est_net = sl_heavy_add_h(s, h_net, 1, epoch);
}

/* One inbound SYN counted for its client's address and network in window `epoch`: their new
 * estimates in *est_host and *est_net. */
SL_INLINE void sl_heavy_count_syn(struct sl_heavy_sketch *s, const struct sl_flow_key *fk,
                                  __u32 epoch, __u32 *est_host, __u32 *est_net) {
  __u64 h_host, h_net;
  sl_heavy_hashes(s->seed, fk, &h_host, &h_net);
  sl_heavy_count_hashed(s, h_host, h_net, epoch, est_host, est_net);
}

/* Whether an estimate just reached (<= SL_HEAVY_COUNT_MAX) is a report point for threshold
 * T (> 0): T itself, then every multiple of 2^(floor(log2 est) - 4) above it (16 per doubling,
 * each within 1/16 of the last). An estimate is on that grid when its significant bits span at
 * most five, that is when it is below 32 times its lowest set bit: no log2 (BPF has no
 * count-leading-zeros instruction, and clang 14's BPF backend crashed expanding
 * __builtin_clz), the same test in every runner. SL_HEAVY_COUNT_MAX is odd and above 32, so off
 * the grid: a saturated count was reported on the way up. */
SL_INLINE int sl_heavy_report_point(__u32 est, __u32 threshold) {
  return est >= threshold && (est == threshold || est < 32u * (est & (0u - est)));
}

/* The two keys of a client address (the flow key's client, IPv4 in its first 4 bytes). */
SL_INLINE void sl_heavy_keys(const struct sl_flow_key *fk, struct sl_heavy_key *host,
                             struct sl_heavy_key *net) {
  __u64 a = sl_load64(fk->client);
  __u64 b = sl_load64(fk->client + 8);
  __builtin_memset(host, 0, sizeof(*host));
  __builtin_memset(net, 0, sizeof(*net));
  host->family = fk->family;
  net->family = fk->family;
  if (fk->family == SL_AF_INET) {
    /* bytes 0..3 are the address, 4..15 zero in the flow key already */
    sl_store64(host->addr, a & SL_JOIN64(0xffffffffu, 0));
    sl_store64(net->addr, a & SL_JOIN64(sl_htonl(0xffffff00u), 0));
    host->prefix_len = 32;
    net->prefix_len = 24;
  } else {
    sl_store64(host->addr, a);
    sl_store64(host->addr + 8, b);
    sl_store64(net->addr, a);
    host->prefix_len = 128;
    net->prefix_len = 64;
  }
}

/* The address key of a client alone (sl_heavy_keys' `host`), and that key turned into its
 * network's in place: for a runner that needs one at a time in one buffer. */
SL_INLINE void sl_heavy_key_host(const struct sl_flow_key *fk, struct sl_heavy_key *k) {
  __builtin_memset(k, 0, sizeof(*k));
  k->family = fk->family;
  if (fk->family == SL_AF_INET) {
    sl_store64(k->addr, sl_load64(fk->client) & SL_JOIN64(0xffffffffu, 0));
    k->prefix_len = 32;
  } else {
    sl_store64(k->addr, sl_load64(fk->client));
    sl_store64(k->addr + 8, sl_load64(fk->client + 8));
    k->prefix_len = 128;
  }
}

/* The event key of a flow's client: its address (/32, /128) with kind `kind` at level `level`
 * (0 for a kind without levels). */
SL_INLINE void sl_heavy_key_event(const struct sl_flow_key *fk, __u8 kind, __u8 level,
                                  struct sl_heavy_key *k) {
  sl_heavy_key_host(fk, k);
  k->kind = kind;
  k->level = level;
}

SL_INLINE void sl_heavy_key_to_net(struct sl_heavy_key *k) {
  if (k->family == SL_AF_INET) {
    sl_store64(k->addr, sl_load64(k->addr) & SL_JOIN64(sl_htonl(0xffffff00u), 0));
    k->prefix_len = 24;
  } else {
    sl_store64(k->addr + 8, 0);
    k->prefix_len = 64;
  }
}

/* ---- a bounded candidate table for runners that keep one in plain memory ----------------- */

/* SL_HEAVY_TABLE_BUCKETS buckets of SL_HEAVY_TABLE_WAYS entries; a prefix lives in the bucket its
 * hash picks. An offer updates the prefix's entry, or takes an empty slot or the slot of an
 * entry of neither this window nor the last, or replaces the bucket's smallest entry
 * (sl_heavy_entry_value) when the offer is larger. Bounded work (one bucket) and memory (the
 * array). */
#define SL_HEAVY_TABLE_WAYS 8
#define SL_HEAVY_TABLE_BUCKETS (1u << (SL_HEAVY_TABLE_LOG2 - 3))
SL_STATIC_ASSERT(SL_HEAVY_TABLE_LOG2 >= 5 && SL_HEAVY_TABLE_LOG2 <= 24, "4..2^21 buckets");

/* A table's seed from its sketch's (the bucket hash must not pick the sketch's columns). */
#define SL_HEAVY_TABLE_SEED_XOR 0x5bd1e9955bd1e995ull

struct sl_heavy_table {
  __u64 seed;     /* for the bucket hash */
  __u64 replaced; /* current entries pushed out by a larger offer */
  __u64 refused;  /* offers smaller than every current entry of a full bucket */
  struct sl_heavy_entry e[SL_HEAVY_TABLE_BUCKETS][SL_HEAVY_TABLE_WAYS];
};

/* An event entry stays readable, and its count goes on, while its last event is less than this
 * many windows old (about 69 s): a reader that polls more often than that sees every event. */
#define SL_HEAVY_EVENT_WINDOWS 64u

SL_INLINE int sl_heavy_event_live(__u32 last, __u32 epoch) {
  return last <= epoch && epoch - last < SL_HEAVY_EVENT_WINDOWS;
}

/* What an entry says at window `epoch`: for a SYN entry the larger of its count in that window
 * so far and its count in the window before (a whole window), 0 when it reported in neither; for
 * an event entry its count while live (sl_heavy_event_live), else 0. */
SL_INLINE __u32 sl_heavy_entry_value(const struct sl_heavy_entry *e, __u32 epoch) {
  if (SL_UNLIKELY(e->key.kind != SL_HEAVY_KIND_SYN))
    return sl_heavy_event_live(e->epoch, epoch) ? e->estimate : 0;
  if (e->epoch == epoch) return e->estimate > e->prev_estimate ? e->estimate : e->prev_estimate;
  if (e->epoch + 1 == epoch) return e->estimate;
  return 0;
}

/* Records a report in an entry that holds the key (or is being given to it). */
SL_INLINE void sl_heavy_entry_set(struct sl_heavy_entry *e, __u32 estimate, __u32 epoch) {
  if (e->epoch != epoch) {
    e->prev_estimate = e->epoch + 1 == epoch ? e->estimate : 0;
    e->epoch = epoch;
  }
  e->estimate = estimate;
}

SL_INLINE int sl_heavy_key_eq(const struct sl_heavy_key *a, const struct sl_heavy_key *b) {
  return sl_load64(a->addr) == sl_load64(b->addr) &&
         sl_load64(a->addr + 8) == sl_load64(b->addr + 8) &&
         sl_load32(&a->family) == sl_load32(&b->family);
}

/* The bucket a prefix lives in: addresses (/32, /128) in the first half of the table, networks
 * in the second, so a crowd of heavy networks cannot push the addresses out, nor the reverse. */
SL_INLINE __u32 sl_heavy_table_bucket(const struct sl_heavy_table *t,
                                      const struct sl_heavy_key *k) {
  return (sl_heavy_is_net(k) << (SL_HEAVY_TABLE_LOG2 - 4)) |
         (__u32)(sl_heavy_hash(t->seed, k) >> (64 - (SL_HEAVY_TABLE_LOG2 - 4)));
}

/* An event (an event kind's key) in the entry that holds its key: one more, or 1 again when the
 * entry is no longer live (sl_heavy_event_live: a reader no longer sees it then, so a reader
 * that adds up what an entry grew by since its last read counts every event once).
 * prev_estimate stays 0: the count is the value. */
SL_INLINE void sl_heavy_entry_event(struct sl_heavy_entry *e, __u32 epoch) {
  __u32 n = sl_heavy_event_live(e->epoch, epoch) ? e->estimate : 0;
  e->estimate = n != 0xffffffffu ? n + 1 : n;
  e->epoch = epoch;
  e->prev_estimate = 0;
}

/* The entry of bucket b that holds k, or 0. Walks the whole bucket, comparing keys only: most
 * offers are of a prefix the table holds. */
SL_INLINE struct sl_heavy_entry *sl_heavy_bucket_find(struct sl_heavy_entry *b,
                                                      const struct sl_heavy_key *k) {
  __u32 i;
  for (i = 0; i < SL_HEAVY_TABLE_WAYS; i++)
    if (b[i].estimate != 0 && sl_heavy_key_eq(&b[i].key, k)) return &b[i];
  return 0;
}

/* The entry of bucket b a new key may take when its value is `value`: the first of the smallest
 * sl_heavy_entry_value (an empty slot or an entry of neither window counts as 0: taken first), if
 * that is below `value` (counted in t->replaced when it held a current entry); else 0, counted
 * in t->refused. */
SL_INLINE struct sl_heavy_entry *sl_heavy_bucket_victim(struct sl_heavy_table *t,
                                                        struct sl_heavy_entry *b, __u32 value,
                                                        __u32 epoch) {
  struct sl_heavy_entry *victim = 0;
  __u32 victim_value = 0xffffffffu;
  __u32 i;

  for (i = 0; i < SL_HEAVY_TABLE_WAYS; i++) {
    __u32 v = sl_heavy_entry_value(&b[i], epoch);
    if (v < victim_value) {
      victim_value = v;
      victim = &b[i];
    }
  }
  if (victim == 0) return 0;
  if (victim_value != 0) {
    if (victim_value >= value) {
      t->refused++;
      return 0;
    }
    t->replaced++;
  }
  return victim;
}

/* An offer to bucket `bucket`, sl_heavy_table_bucket's for k (a runner that computed it already,
 * for the bucket's lock, passes it): the prefix's own entry raised, or a victim given to it. */
SL_INLINE void sl_heavy_table_offer_in(struct sl_heavy_table *t, __u32 bucket,
                                       const struct sl_heavy_key *k, __u32 estimate, __u32 epoch) {
  struct sl_heavy_entry *b = t->e[bucket];
  struct sl_heavy_entry *e = sl_heavy_bucket_find(b, k);

  if (e != 0) {
    sl_heavy_entry_set(e, estimate, epoch);
    return;
  }
  e = sl_heavy_bucket_victim(t, b, estimate, epoch);
  if (e == 0) return;
  e->key = *k;
  e->epoch = epoch;
  e->prev_estimate = 0;
  e->estimate = estimate;
}

/* An event of an event kind's key k (sl_heavy_entry_event) in bucket `bucket`. A new key takes
 * an empty or stale entry only (its value, 1, is below no current entry's): under a flood of
 * heavy hitters that fills the bucket, events are refused and counted, not the hitters pushed
 * out. */
SL_INLINE void sl_heavy_table_event_in(struct sl_heavy_table *t, __u32 bucket,
                                       const struct sl_heavy_key *k, __u32 epoch) {
  struct sl_heavy_entry *b = t->e[bucket];
  struct sl_heavy_entry *e = sl_heavy_bucket_find(b, k);

  if (e == 0) {
    e = sl_heavy_bucket_victim(t, b, 1, epoch);
    if (e == 0) return;
    __builtin_memset(e, 0, sizeof(*e));
    e->key = *k;
  }
  sl_heavy_entry_event(e, epoch);
}

SL_INLINE void sl_heavy_table_offer(struct sl_heavy_table *t, const struct sl_heavy_key *k,
                                    __u32 estimate, __u32 epoch) {
  sl_heavy_table_offer_in(t, sl_heavy_table_bucket(t, k), k, estimate, epoch);
}

#endif /* SLUICE_CORE_SL_HEAVY_H */
