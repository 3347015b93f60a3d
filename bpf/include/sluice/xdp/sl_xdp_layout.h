/* sluice XDP data plane: map layouts shared by the BPF programs and the C++ loader.
 *
 * Plain C with kernel types only, so it compiles for `clang -target bpf` and from C++. The
 * packet-core structs (policy, flows, stats, reputation values) come from dataplane/core; this
 * header only adds what is specific to the XDP maps: the DIR-24-8 IPv4 prefix table, the IPv6
 * prefix keys and the double-buffer selector. */
#ifndef SLUICE_XDP_SL_XDP_LAYOUT_H
#define SLUICE_XDP_SL_XDP_LAYOUT_H

#include <linux/types.h>

#include "core/sl_shared.h"

/* Capacities. The prefix tables are preallocated arrays; the hashes grow up to these sizes. */
#ifndef SLX_MAX_HOSTS_V4
#define SLX_MAX_HOSTS_V4 (2u * 1024 * 1024)
#endif
#ifndef SLX_MAX_HOSTS_V6
#define SLX_MAX_HOSTS_V6 (1024u * 1024)
#endif
#ifndef SLX_MAX_PREFIXES_V6
#define SLX_MAX_PREFIXES_V6 (1024u * 1024)
#endif
#ifndef SLX_MAX_FLOWS
#define SLX_MAX_FLOWS (256u * 1024)
#endif
/* Caps entries (core/sl_caps.h): sender addresses and networks of capped levels, LRU. */
#ifndef SLX_MAX_CAPS
#define SLX_MAX_CAPS (64u * 1024)
#endif
/* Held ACKs of server-side tarpits (sl_held_frame), LRU: a connection whose ACK was pushed out
 * is released at its client's next zero-window probe instead. */
#ifndef SLX_MAX_HELD
#define SLX_MAX_HELD (16u * 1024)
#endif
/* A held ACK sent through the inside program again (instance_ops: release_held) carries these
 * two words as XDP metadata in front of the frame; nothing off the wire has metadata. */
#define SLX_REPLAY_META_LEN 8u
#define SLX_REPLAY_MAGIC0 0x534c5250u /* "SLRP" */
#define SLX_REPLAY_MAGIC1 0x68656c64u /* "held" */
/* outbound_progs' slots: the programs of a subscriber's connections, tail-called from the inside
 * and the outside program (bpf/progs/sluice_maps.bpf.h); the loader fills them after load. */
#define SLX_OUTBOUND_FROM_INSIDE 0u
#define SLX_OUTBOUND_FROM_OUTSIDE 1u

/* tbl8 groups: one per /24 that holds a prefix longer than /24. */
#ifndef SLX_TBL8_GROUPS
#define SLX_TBL8_GROUPS 16384u
#endif
/* Distinct reputation values referenced by prefixes (values are deduplicated). */
#ifndef SLX_PFX_VALUES
#define SLX_PFX_VALUES 65536u
#endif

/* DIR-24-8 for IPv4 prefixes. tbl24 has one u32 entry per /24: 0 = no prefix covers it;
 * SLX_ENTRY_TBL8 | g = look at tbl8 group g (indexed by the last octet); otherwise the index + 1
 * of the value in the value array. tbl8 entries use the same value encoding (never TBL8).
 * tbl24 entries are packed 16 to a 64-byte array element: an array map rounds every element
 * up to 8 bytes, so one u32 per element would double the memory. */
#define SLX_ENTRY_TBL8 0x80000000u
#define SLX_TBL24_PER_ELEM 16u
#define SLX_TBL24_ELEMS ((1u << 24) / SLX_TBL24_PER_ELEM)

struct slx_tbl24_elem {
  __u32 e[SLX_TBL24_PER_ELEM];
};

struct slx_tbl8_group {
  __u32 e[256];
};

/* IPv6 prefixes of the four common lengths (/32, /48, /56, /64) sit in an exact-match hash,
 * one key per prefix; every other length (/0../31, /33../47, ..., /65../128) sits in an LPM trie
 * whose value repeats the prefix length. A lookup takes the trie's longest match (length L),
 * then probes the hash at the stored lengths longer than L, longest first: the first hit is the
 * longest prefix overall. No length is expanded or skipped. */
#define SLX_V6_LEVELS 4
struct slx_v6_prefix_key {
  __u32 len;    /* 32, 48, 56 or 64 */
  __u8 addr[8]; /* the first 64 bits, bits past len zero */
};

struct slx_v6_lpm_key {
  __u32 prefixlen; /* 0..128, as BPF_MAP_TYPE_LPM_TRIE wants it */
  __u8 addr[16];   /* bits past prefixlen zero */
};

struct slx_v6_lpm_value {
  struct sl_rep_value value;
  __u32 len; /* = the key's prefixlen (an LPM lookup does not say which prefix matched) */
  __u32 pad;
};

/* Where the program forwards: the devmap index of the other port. */
#define SLX_PORT_OUTSIDE 0u
#define SLX_PORT_INSIDE 1u

/* The attachment, recorded in the pinned "meta" array so `status` and `detach` work from a new
 * process without any state file. */
#define SLX_META_MAGIC 0x534c5844u /* "SLXD" */
struct slx_meta {
  __u32 magic;
  __u32 outside_ifindex;
  __u32 inside_ifindex;
  __u32 xdp_flags; /* XDP_FLAGS_* used for both ports */
  __u32 table_set; /* copy of rep_active, for status */
  __u32 pad;
  __u64 table_loads; /* full table replacements so far */
  __u64 instance_id; /* random, drawn at attach: ties saved table state to this attachment */
};

#endif /* SLUICE_XDP_SL_XDP_LAYOUT_H */
