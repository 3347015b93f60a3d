/* sluice XDP data plane: every map of the program. Pinned by the loader under
 * /sys/fs/bpf/sluice/NAME/<map name>, so names are part of the operator interface (<= 15 chars). */
#ifndef SLUICE_XDP_MAPS_BPF_H
#define SLUICE_XDP_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

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
