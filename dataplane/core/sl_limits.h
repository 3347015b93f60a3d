/* sluice packet core: every limit in one place. Each can be overridden at build time
 * (-DSL_MAX_LEVELS=...), for BPF and DPDK alike, as long as the static_asserts still hold. */
#ifndef SLUICE_CORE_SL_LIMITS_H
#define SLUICE_CORE_SL_LIMITS_H

/* Levels: 0 is always "pass"; thresholds[i] opens level i. */
#ifndef SL_MAX_LEVELS
#define SL_MAX_LEVELS 8
#endif
/* 802.1Q / 802.1ad tags walked before the EtherType must be IP. */
#ifndef SL_MAX_VLAN_TAGS
#define SL_MAX_VLAN_TAGS 2
#endif
/* IPv6 extension headers (hop-by-hop, routing, destination options, fragment) walked before
 * TCP. Linux accepts any number; a longer chain is "unseen" (see docs/packet-core.md). Real
 * traffic carries at most two or three (RFC 7045, RFC 9098). */
#ifndef SL_MAX_IPV6_EXT_HDRS
#define SL_MAX_IPV6_EXT_HDRS 8
#endif
/* TCP options area is at most 40 bytes (data offset 15 words minus the fixed 20). */
#define SL_TCP_OPTIONS_MAX 40
/* SMTP ports a data plane watches (25 by default; 465/587 are client submission, usually not). */
#ifndef SL_MAX_SMTP_PORTS
#define SL_MAX_SMTP_PORTS 4
#endif

/* SYN heavy hitters (sl_heavy.h): a count-min sketch of SL_HEAVY_DEPTH rows of
 * 2^SL_HEAVY_WIDTH_LOG2 u32 cells per lcore / CPU, counting per window of
 * 2^SL_HEAVY_WINDOW_SHIFT ns; the plain-memory candidate table holds 2^SL_HEAVY_TABLE_LOG2
 * prefixes. */
#ifndef SL_HEAVY_DEPTH
#define SL_HEAVY_DEPTH 4
#endif
#ifndef SL_HEAVY_WIDTH_LOG2
#define SL_HEAVY_WIDTH_LOG2 16
#endif
#ifndef SL_HEAVY_WINDOW_SHIFT
#define SL_HEAVY_WINDOW_SHIFT 30
#endif
#ifndef SL_HEAVY_TABLE_LOG2
#define SL_HEAVY_TABLE_LOG2 13
#endif

/* Aggregate caps (sl_caps.h): the plain-memory caps table holds 2^SL_CAPS_TABLE_LOG2 sender
 * addresses and networks, in buckets of SL_CAPS_TABLE_WAYS; an entry idle this long forgets its
 * open-flow count (a flow that ended unseen: evicted, expired, its FIN lost). */
#ifndef SL_CAPS_TABLE_LOG2
#define SL_CAPS_TABLE_LOG2 16
#endif
#ifndef SL_CAPS_IDLE_NS
#define SL_CAPS_IDLE_NS (600ull * 1000000000ull)
#endif

/* Pregreet (sl_greet.h): 2^SL_GREET_SLOTS_LOG2 greeting slots of 8 bytes per lcore / in XDP's
 * map, one per connection between the server's SYN-ACK and the client's first payload. */
#ifndef SL_GREET_SLOTS_LOG2
#define SL_GREET_SLOTS_LOG2 16
#endif

/* Fan-out (sl_fanout.h): 2^SL_FANOUT_SLOTS_LOG2 pair slots of 8 bytes per lcore / in XDP's map,
 * one per (subscriber, remote MTA) pair seen in the current window. */
#ifndef SL_FANOUT_SLOTS_LOG2
#define SL_FANOUT_SLOTS_LOG2 16
#endif

/* Server prefixes a policy may scope to ([smtp] servers), per address family. */
#ifndef SL_MAX_SERVER_PREFIXES
#define SL_MAX_SERVER_PREFIXES 16
#endif

#endif /* SLUICE_CORE_SL_LIMITS_H */
