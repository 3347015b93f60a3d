/* sluice XDP data plane: every map of the program. Pinned by the loader under
 * /sys/fs/bpf/sluice/NAME/<map name>, so names are part of the operator interface (<= 15 chars). */
#ifndef SLUICE_XDP_MAPS_BPF_H
#define SLUICE_XDP_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "core/sl_caps.h"
#include "core/sl_fanout.h"
#include "core/sl_greet.h"
#include "core/sl_heavy.h"
#include "core/sl_shared.h"
#include "sluice/xdp/sl_xdp_layout.h"

/* The policy (thresholds, level profiles, ports). The outer "policy" map holds one inner
 * single-element array; the control plane fills a new inner map and swaps it in, and never
 * writes a map a packet may be reading, so a packet sees one whole policy (slx_policy(), read
 * once per packet). An inner map dropped by a swap is freed by the kernel after every program
 * that could hold it has returned. policy_init is the first inner map: all zero, which watches
 * no port, so a freshly loaded program forwards everything. */
struct slx_policy_slot {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sl_policy);
} policy_init SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 1);
  __type(key, __u32);
  __array(values, struct slx_policy_slot);
} policy SEC(".maps") = {
    .values = {[0] = &policy_init},
};

/* The policy in force now; read once per packet and passed along. */
static __always_inline const struct sl_policy *slx_policy(void) {
  __u32 zero = 0;
  void *inner = bpf_map_lookup_elem(&policy, &zero);
  if (!inner) return 0;
  return bpf_map_lookup_elem(inner, &zero);
}

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sl_stats);
} stats SEC(".maps");

/* Shaped flows only; LRU so a SYN flood evicts old flows instead of failing. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, SLX_MAX_FLOWS);
  __type(key, struct sl_flow_key);
  __type(value, struct sl_flow_state);
} flows SEC(".maps");

/* Aggregate caps (core/sl_caps.h): one entry per sender address (/32, /128) and network (/24,
 * /64) of a capped level, shared by every CPU (open-flow counts updated atomically). LRU: a full
 * map pushes out the entry used least recently, whose sender starts afresh (not counted: the
 * kernel does not say). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, SLX_MAX_CAPS);
  __type(key, struct sl_heavy_key);
  __type(value, struct sl_cap_entry);
} caps SEC(".maps");

/* One all-zero entry, never written: the value a new caps entry is created from. (The caps
 * steps run as global functions at the end of the deepest call chain, where 24 bytes of stack
 * for a zero value would pass the verifier's 512.) */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sl_cap_entry);
} caps_zero SEC(".maps");

/* Server-side tarpits' held ACKs by flow (core/sl_sequence.h, sl_seq_tarpit_keep), LRU; the
 * loader sends them through sluice_inside again after every table or policy change. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, SLX_MAX_HELD);
  __type(key, struct sl_flow_key);
  __type(value, struct sl_held_frame);
} held SEC(".maps");

/* Where a held ACK is assembled before it goes into `held` (168 bytes: too many for the stack
 * of the server-segment function). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sl_held_frame);
} held_scratch SEC(".maps");

/* Index SLX_PORT_OUTSIDE / SLX_PORT_INSIDE -> the ifindex of that port. */
struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
} tx_port SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct slx_meta);
} meta SEC(".maps");

/* SYN heavy hitters (core/sl_heavy.h, docs/dataplane-xdp.md#heavy-hitter-maps).
 *
 * heavy_sketch: one struct sl_heavy_sketch per possible CPU, at index bpf_get_smp_processor_id();
 * the loader sets max_entries to the number of possible CPUs before load and draws each CPU's
 * seed at random. An array indexed by CPU rather than a PERCPU_ARRAY: the sketch is 1 MiB
 * (4 rows of 65536 cells) and the kernel refuses per-CPU values over 32 KiB (PCPU_MIN_UNIT_SIZE;
 * even one row is 256 KiB), and splitting it into per-CPU chunks would make the core reach its
 * cells through a map lookup per chunk instead of through one struct. A CPU's entry is written
 * by that CPU only, with preemption and migration off, as a per-CPU map's would be. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1); /* set by the loader: libbpf_num_possible_cpus() */
  __type(key, __u32);
  __type(value, struct sl_heavy_sketch);
} heavy_sketch SEC(".maps");

/* heavy_table: the candidates, prefix -> this CPU's last report (estimate, window, the window
 * before's estimate), 2^SL_HEAVY_TABLE_LOG2 prefixes. A prefix enters when one CPU's sketch
 * estimate reaches the policy's heavy_syn_threshold; a full table evicts the least recently
 * reported. Per-CPU values, each CPU's own count (a reader sums them, as it sums lcores). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
  __uint(max_entries, 1u << SL_HEAVY_TABLE_LOG2);
  __type(key, struct sl_heavy_key);
  __type(value, struct sl_heavy_entry);
} heavy_table SEC(".maps");

/* verdict_table: the SYNs each sender had shaped or blocked, per level (event entries,
 * SL_HEAVY_KIND_SHAPED and SL_HEAVY_KIND_BLOCKED): one struct sl_heavy_table per possible CPU, at
 * index bpf_get_smp_processor_id(), the bounded bucketed table sluice-dp's lcores keep
 * (sl_heavy_table_event_in: a new sender takes an empty or stale slot, or is refused and
 * counted). An array indexed by CPU, as heavy_sketch (256 KiB a CPU, over the per-CPU value
 * limit), written by its CPU only; the loader sizes it and draws each CPU's seed. A map of its
 * own, apart from heavy_table: a flood of SYNs from many blocked addresses (cheap to forge)
 * fills only this one, and an update costs one bucket of one array, no hash-map lookup. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1); /* set by the loader: libbpf_num_possible_cpus() */
  __type(key, __u32);
  __type(value, struct sl_heavy_table);
} verdict_table SEC(".maps");

/* Pregreet (core/sl_greet.h): the greeting slots, one array shared by every CPU (a server's
 * SYN-ACK and its client's first data may arrive on different CPUs; each slot is one aligned
 * 64-bit word, written and read whole). The loader draws the seed at attach. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sl_greet_table);
} greet SEC(".maps");

/* Outbound abuse control ([outbound]): a subscriber's connections are handled by programs of
 * their own, reached by tail call from sluice_inside (the subscriber's SYN and segments) and
 * sluice_outside (its remote MTA's segments), so that no program's verification has to walk
 * every path: each main program keeps only its inbound side's (one program walking both went
 * past the verifier's million instructions). The loader fills both slots after load
 * (SLX_OUTBOUND_FROM_INSIDE, SLX_OUTBOUND_FROM_OUTSIDE in sl_xdp_layout.h). */
struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
} outbound_progs SEC(".maps");

/* Fan-out (core/sl_fanout.h): the (subscriber, remote MTA) pair slots, one array shared by every
 * CPU (a subscriber's connections to one MTA spread over CPUs by port; each slot is one aligned
 * 64-bit word, written and read whole, so a pair counts once whichever CPU sees it). The loader
 * draws the seed at attach. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sl_fanout_table);
} fanout SEC(".maps");

/* Reputation table, double buffered: the loader fills the inactive set, then flips rep_active.
 * A SYN reads rep_active once and uses one set throughout, so it never sees half a table. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} rep_active SEC(".maps");

#define SLX_REP_SET_MAPS(S)                   \
  struct {                                    \
    __uint(type, BPF_MAP_TYPE_HASH);          \
    __uint(max_entries, SLX_MAX_HOSTS_V4);    \
    __uint(map_flags, BPF_F_NO_PREALLOC);     \
    __type(key, __be32);                      \
    __type(value, struct sl_rep_value);       \
  } host4_##S SEC(".maps");                   \
  struct {                                    \
    __uint(type, BPF_MAP_TYPE_HASH);          \
    __uint(max_entries, SLX_MAX_HOSTS_V6);    \
    __uint(map_flags, BPF_F_NO_PREALLOC);     \
    __type(key, __u8[16]);                    \
    __type(value, struct sl_rep_value);       \
  } host6_##S SEC(".maps");                   \
  struct {                                    \
    __uint(type, BPF_MAP_TYPE_ARRAY);         \
    __uint(max_entries, SLX_TBL24_ELEMS);     \
    __uint(map_flags, BPF_F_MMAPABLE);        \
    __type(key, __u32);                       \
    __type(value, struct slx_tbl24_elem);     \
  } tbl24_##S SEC(".maps");                   \
  struct {                                    \
    __uint(type, BPF_MAP_TYPE_ARRAY);         \
    __uint(max_entries, SLX_TBL8_GROUPS);     \
    __uint(map_flags, BPF_F_MMAPABLE);        \
    __type(key, __u32);                       \
    __type(value, struct slx_tbl8_group);     \
  } tbl8_##S SEC(".maps");                    \
  struct {                                    \
    __uint(type, BPF_MAP_TYPE_ARRAY);         \
    __uint(max_entries, SLX_PFX_VALUES);      \
    __uint(map_flags, BPF_F_MMAPABLE);        \
    __type(key, __u32);                       \
    __type(value, struct sl_rep_value);       \
  } pfxval_##S SEC(".maps");                  \
  struct {                                    \
    __uint(type, BPF_MAP_TYPE_HASH);          \
    __uint(max_entries, SLX_MAX_PREFIXES_V6); \
    __uint(map_flags, BPF_F_NO_PREALLOC);     \
    __type(key, struct slx_v6_prefix_key);    \
    __type(value, struct sl_rep_value);       \
  } pfx6_##S SEC(".maps");                    \
  struct {                                    \
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);      \
    __uint(max_entries, SLX_MAX_PREFIXES_V6); \
    __uint(map_flags, BPF_F_NO_PREALLOC);     \
    __type(key, struct slx_v6_lpm_key);       \
    __type(value, struct slx_v6_lpm_value);   \
  } lpm6_##S SEC(".maps");

SLX_REP_SET_MAPS(0)
SLX_REP_SET_MAPS(1)

#endif /* SLUICE_XDP_MAPS_BPF_H */
