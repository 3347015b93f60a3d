/* sluice packet core: every struct that crosses a boundary (BPF maps, the DPDK tables, the
 * control protocol, snapshot files) is defined here, once. C++ code checks sizes with
 * static_assert (see tests/core/layout_test.cc); BPF maps use these types directly.
 *
 * Conventions: addresses and ports in network byte order, as on the wire; everything else in
 * host byte order. Explicit padding so layouts are identical for every compiler and target.
 *
 * sl_policy and sl_stats grow only by appending fields, and a new field's 0 must mean "off" (or
 * "none counted"): sluice-xdp attach --upgrade carries an older build's pinned policy and
 * counters over as a prefix of the new layout (bpf/include/sluice/xdp/map_layout.h). */
#ifndef SLUICE_CORE_SL_SHARED_H
#define SLUICE_CORE_SL_SHARED_H

#include "sl_base.h"
#include "sl_limits.h"

/* ---- directions, classes, verdicts -------------------------------------------------------- */

/* The port a packet arrived on. */
enum sl_dir {
  SL_DIR_FROM_OUTSIDE = 0, /* the Internet side: senders, and the remote MTAs of subscribers */
  SL_DIR_FROM_INSIDE = 1,  /* the MTA side, and the operator's own subscribers */
};

/* The client of a connection is the side that sent the SYN. Inbound SMTP (the usual case): a
 * client outside, the server inside on one of the policy's smtp_ports. Outbound SMTP (the
 * policy's [outbound] section, sl_pkt.outbound): a subscriber inside is the client, a remote MTA
 * outside on one of out_ports the server. The classes name the role, not the direction. */
enum sl_class {
  SL_CLASS_OTHER = 0,      /* not ours: forwarded untouched (also every malformed packet) */
  SL_CLASS_CLIENT_SYN = 1, /* the client's SYN without ACK */
  SL_CLASS_CLIENT_SEG = 2, /* any other segment of the client */
  SL_CLASS_SERVER_SEG = 3, /* the server's SYN-ACK and every later segment */
  SL_CLASS_UNSEEN = 4,     /* from outside, TCP whose header the core cannot see (a fragment
                              that starts too short or too early, or an IPv6 extension chain
                              longer than the walk) towards a watched port, or towards a port
                              it cannot read: the policy's unseen_tcp decides (docs/packet-core.md) */
};

enum sl_verdict {
  SL_VERDICT_PASS = 0,  /* forward (possibly rewritten in place) */
  SL_VERDICT_DROP = 1,  /* drop: a blocked SYN, or a segment chosen by a drop rate */
  SL_VERDICT_TX = 2,    /* the packet was rewritten into a reply (RST): send back out the port
                           it arrived on, with the frame length the core reports */
  SL_VERDICT_DELAY = 3, /* forward after the profile's delay (DPDK pacer); XDP forwards now */
};

enum sl_block_mode {
  SL_BLOCK_NONE = 0,
  SL_BLOCK_DROP = 1, /* drop the SYN: the sender retries with back-off */
  SL_BLOCK_RST = 2,  /* answer the SYN with RST|ACK: the sender gives up at once */
};

/* A level's tarpit (sl_profile.tarpit). */
enum sl_tarpit_mode {
  SL_TARPIT_NONE = 0,
  SL_TARPIT_SERVER = 1,    /* the MTA's own window zeroed from its greeting on: the connection
                              reaches the MTA, which holds it until its own timeout */
  SL_TARPIT_STATELESS = 2, /* the data plane answers the SYN itself (a SYN-ACK whose sequence
                              number is a keyed cookie, window 0) and every later segment of the
                              connection with a zero-window ACK: nothing reaches the MTA, no
                              state is kept (sl_cookie.h). A flow already open when its sender
                              moves to such a level is tarpitted as SL_TARPIT_SERVER. */
};

/* What happens to an SL_CLASS_UNSEEN packet. */
enum sl_unseen_mode {
  SL_UNSEEN_DROP = 0, /* the default: a TCP header the core cannot see is never let through */
  SL_UNSEEN_PASS = 1, /* forward untouched (counted) */
};

/* What a SYN over one of its level's aggregate caps gets (sl_caps.over). */
enum sl_cap_over {
  SL_CAP_DROP = 0, /* dropped: the sender's own SYN back-off slows it further */
  SL_CAP_RST = 1,  /* answered with RST|ACK: the sender gives up on this attempt at once */
};

/* ---- policy: thresholds and level profiles --------------------------------------------------- */

/* What a level does to a flow. A zero field means "leave alone". */
struct sl_profile {
  __u32 window_clamp;    /* max window (bytes) advertised to the client in server->client
                            segments; 0 = no clamp. Scaling is stripped with it, so <= 65535. */
  __u32 delay_us;        /* hold each server->client segment this long (DPDK pacer) */
  __u32 client_drop_ppm; /* drop this many per million client->server data segments */
  __u32 server_drop_ppm; /* drop this many per million server->client segments (XDP's
                            loss-induced slowing, where it cannot hold packets) */
  __u16 mss_clamp;       /* max MSS option in the server's SYN-ACK; 0 = no clamp */
  __u8 strip_wscale;     /* replace the window-scale option with NOPs in the client's SYN */
  __u8 strip_sack_perm;  /* replace SACK-permitted with NOPs in the client's SYN */
  __u8 tarpit;           /* enum sl_tarpit_mode */
  __u8 block;            /* enum sl_block_mode: the SYN, and every segment of a flow moved to
                            this level after it started (docs/packet-core.md) */
  __u8 observe;          /* decide, count and keep flow state, but forward every packet of this
                            level unchanged (policy `mode = observe`) */
  __u8 pad;
};
SL_STATIC_ASSERT(sizeof(struct sl_profile) == 24, "sl_profile layout");

/* A server prefix of the policy's scope ([smtp] servers): an address is in it when
 * (address & mask) == addr. Raw bytes as on the wire (network order), host bits of addr zero.
 * IPv6 as four 32-bit words so the policy keeps its 4-byte alignment; the core reads them as two
 * 64-bit halves (sl_scope.h). */
struct sl_prefix4 {
  __be32 addr;
  __be32 mask;
};
SL_STATIC_ASSERT(sizeof(struct sl_prefix4) == 8, "sl_prefix4 layout");

struct sl_prefix6 {
  __be32 addr[4];
  __be32 mask[4];
};
SL_STATIC_ASSERT(sizeof(struct sl_prefix6) == 32, "sl_prefix6 layout");

/* A level's aggregate caps (sl_caps.h): how many flows one sender may hold open and how fast
 * it may open them. Only for a level that creates flows (not a block or a stateless tarpit). A
 * zero field means "no cap". */
struct sl_caps {
  __u32 syn_interval_us;  /* new connections per sender address: one per this many us on average
                             (GCRA; policy max_syn_per_min); 0 = no rate cap */
  __u32 syn_tolerance_us; /* the burst: (syn_burst - 1) * syn_interval_us */
  __u32 max_flows;        /* open flows per sender address (/32, /128) */
  __u32 max_flows_net;    /* open flows per sender network (/24, /64) */
  __u32 over;             /* enum sl_cap_over */
  __u32 pad;
};
SL_STATIC_ASSERT(sizeof(struct sl_caps) == 24, "sl_caps layout");

/* Thresholds map a score to a level: the level is the highest i >= 1 with
 * score >= thresholds[i] (i < nlevels), else 0. An allow-flagged sender is always level 0.
 * Thresholds must be non-decreasing. Ports are the server ports watched (network order). */
struct sl_policy {
  __s32 thresholds[SL_MAX_LEVELS]; /* thresholds[0] is unused (level 0 = pass) */
  struct sl_profile profiles[SL_MAX_LEVELS];
  __be16 smtp_ports[SL_MAX_SMTP_PORTS]; /* 0 = unused slot */
  __u32 nlevels;                        /* levels in use, 1..SL_MAX_LEVELS */
  __u32 generation;                     /* bumped by the control plane on every change */
  __u32 unseen_tcp;                     /* enum sl_unseen_mode */
  /* Appended (older fields keep their offsets): the server scope ([smtp] servers). Both counts 0:
   * every server is watched. Otherwise only connections to an address inside one of the
   * prefixes are SMTP; the rest (an IPv6 server when only IPv4 prefixes are listed, too) pass as
   * OTHER, counted in sl_stats.out_of_scope (docs/packet-core.md). */
  __u32 nservers4; /* IPv4 prefixes in servers4[], 0..SL_MAX_SERVER_PREFIXES */
  __u32 nservers6; /* IPv6 prefixes in servers6[], 0..SL_MAX_SERVER_PREFIXES */
  struct sl_prefix4 servers4[SL_MAX_SERVER_PREFIXES];
  struct sl_prefix6 servers6[SL_MAX_SERVER_PREFIXES];
  __u32 heavy_syn_threshold; /* SYN heavy hitters (sl_heavy.h): a prefix with this many SYNs in a
                                window is reported; 0 = not counted (policy heavy_hitters = off) */
  /* Appended: the stateless tarpit (SL_TARPIT_STATELESS, sl_cookie.h). */
  __u32 tarpit_cookies; /* 1 when a level of the policy answers SYNs with cookies: client
                           segments without a flow are then checked for one (set by the policy
                           parser, sl_policy_tarpit_cookies()) */
  __u32 cookie_key[4];  /* the cookies' secret: drawn at random by the data plane that runs the
                           policy and kept across policy changes, never written in a policy
                           file; zero in replays, so their output is reproducible */
  /* Appended: aggregate caps per level (sl_caps.h); caps[0] is unused. */
  struct sl_caps caps[SL_MAX_LEVELS];
  /* Appended: 1 when clients are tested for talking before the greeting (sl_greet.h; policy
   * pregreet = on, the default). */
  __u32 pregreet;
  /* Appended: outbound abuse control (the policy's [outbound] section; docs/packet-core.md).
   * out_ports: the remote ports of the subscribers' outbound SMTP connections (0 = unused slot;
   * out_ports[0] == 0: no outbound control, the parser fills the slots in order). out_first: the
   * first outbound level; levels [out_first, nlevels) are outbound and [1, out_first) inbound
   * (sl_level_for); 0 when the policy has no outbound levels. */
  __be16 out_ports[SL_MAX_SMTP_PORTS];
  __u32 out_first;
};
SL_STATIC_ASSERT(sizeof(struct sl_policy) == SL_MAX_LEVELS * 4 + SL_MAX_LEVELS * 24 +
                                                 SL_MAX_SMTP_PORTS * 2 + 12 + 8 +
                                                 SL_MAX_SERVER_PREFIXES * (8 + 32) + 4 + 4 + 16 +
                                                 SL_MAX_LEVELS * 24 + 4 + SL_MAX_SMTP_PORTS * 2 + 4,
                 "sl_policy layout");

/* ---- reputation table -------------------------------------------------------------------- */

#define SL_REP_ALLOW 0x1u /* allowlisted: never shaped, whatever the score */
/* denied by an operator's decision (sluicectl host set --deny): the policy's highest level,
 * whatever the score; it beats SL_REP_ALLOW, since an operator's explicit decision on an address
 * is later and more specific than a standing allowlist */
#define SL_REP_DENY 0x2u

/* The value of every host and prefix entry of the compiled table. */
struct sl_rep_value {
  __s32 score;
  __u32 flags; /* SL_REP_* */
};
SL_STATIC_ASSERT(sizeof(struct sl_rep_value) == 8, "sl_rep_value layout");

/* ---- flows ------------------------------------------------------------------------------- */

#define SL_AF_INET 4
#define SL_AF_INET6 6

/* 5-tuple normalised to the client->server direction, so both directions of a connection find
 * the same entry. IPv4 addresses sit in the first 4 bytes, the rest zero. */
struct sl_flow_key {
  __u8 client[16];
  __u8 server[16];
  __be16 client_port;
  __be16 server_port;
  __u8 family;   /* SL_AF_INET or SL_AF_INET6 */
  __u8 outbound; /* 1: a subscriber's outbound connection (client inside); else 0 */
  __u8 pad[2];
} __attribute__((aligned(8))); /* five whole words: built, hashed and compared as such */
SL_STATIC_ASSERT(sizeof(struct sl_flow_key) == 40, "sl_flow_key layout");

#define SL_FLOW_GREETED 0x01      /* the server has sent payload (its 220 greeting) */
#define SL_FLOW_WSCALE_STRIP 0x02 /* window scale was removed from the client's SYN */
#define SL_FLOW_CLOSING 0x04      /* FIN or RST seen: short timeout */
#define SL_FLOW_SYNACK_SEEN 0x08
#define SL_FLOW_CAP_HOST 0x10 /* counted in its sender address's open flows (sl_caps.h) */
#define SL_FLOW_CAP_NET 0x20  /* counted in its sender network's open flows */

/* A server-side tarpit's last pure ACK to its client, kept as it arrived (window untouched) so
 * that the data plane can send it on when the sender is released (sl_sequence.h,
 * sl_seq_tarpit_keep): the client learns its window at once instead of at its next zero-window
 * probe, which may be two minutes away. Headers only: a pure ACK is l4_off + tcp_hlen bytes, at
 * most 14 + 2 VLAN tags + a 60-byte IPv4 header + 60 bytes of TCP; longer ones are not kept. */
#define SL_HELD_FRAME_MAX 160
struct sl_held_frame {
  __u16 len; /* bytes[0, len) is the frame */
  __u8 pad[6];
  __u8 bytes[SL_HELD_FRAME_MAX];
};
SL_STATIC_ASSERT(sizeof(struct sl_held_frame) == 168, "sl_held_frame layout");

/* State of a shaped flow. Clean flows have none. */
struct sl_flow_state {
  __u64 created_ns;
  __u64 last_seen_ns;
  __u16 client_mss;   /* as the client's SYN offered it; 0 = absent */
  __u16 server_mss;   /* as the server's SYN-ACK offered it (before clamping); 0 = absent */
  __u8 client_wscale; /* 0xff = absent */
  __u8 server_wscale; /* 0xff = absent */
  __u8 level;
  __u8 flags; /* SL_FLOW_* */
  __u32 gen;  /* the generation (table + policy, sl_seq_generation) `level` came from; another
                 generation means one re-lookup of the sender before the packet is acted on */
};
SL_STATIC_ASSERT(sizeof(struct sl_flow_state) == 32, "sl_flow_state layout");

/* ---- statistics -------------------------------------------------------------------------- */

/* Per level counters. Data planes keep one set per lcore / per CPU and sum on read. */
struct sl_level_stats {
  __u64 syns;      /* inbound SYNs classified at this level */
  __u64 flows;     /* flows created at this level */
  __u64 rewritten; /* packets modified (window, MSS, options) */
  __u64 delayed;   /* packets held by the pacer */
  __u64 dropped;   /* packets dropped by a block or a drop rate */
  __u64 rst_sent;  /* SYNs (and segments of flows moved to a block level) answered with RST */
  __u64 observed;  /* packets of an observing level forwarded unchanged (the counters above
                      count what the level decided, as if it enforced) */
};

struct sl_stats {
  __u64 packets[2]; /* by enum sl_dir */
  __u64 smtp[2];    /* classified as anything but OTHER, by enum sl_dir */
  __u64 malformed;  /* failed a sanity check (forwarded untouched) */
  __u64 lookups;    /* reputation lookups (one per inbound SYN) */
  __u64 flow_evictions;
  __u64 flow_table_full; /* shaped flows that found no room and went unshaped */
  struct sl_level_stats level[SL_MAX_LEVELS];
  /* Appended (older fields keep their offsets): */
  __u64 stale_level;    /* segments of flows whose level the policy no longer has (forwarded
                           untouched) */
  __u64 frag_smtp;      /* SMTP packets that were a first fragment or an IPv6 atomic fragment
                           with the whole TCP header: classified like any other */
  __u64 frag_later;     /* non-first TCP fragments that cannot hold a TCP header: forwarded */
  __u64 unseen;         /* SL_CLASS_UNSEEN packets */
  __u64 unseen_dropped; /* of which dropped (policy unseen_tcp = drop) */
  __u64 relookups;      /* flows whose sender was looked up again: the table or the policy
                           changed since the flow's level was decided */
  __u64 level_changes;  /* of which the level moved (allowlisted, cleared, escalated, denied) */
  __u64 out_of_scope;   /* packets towards (or, from inside, from) a watched port of a server
                           outside the policy's server scope: classified OTHER, forwarded */
  /* The stateless tarpit (sl_cookie.h); its SYNs count in their level's syns too. */
  __u64 tarpit_synacks; /* SYNs answered with a cookie SYN-ACK (window 0) */
  __u64 tarpit_acks;    /* client segments of tarpitted connections answered with a
                           zero-window ACK (probes, data, FIN) */
  __u64 tarpit_silent;  /* client segments of tarpitted connections dropped unanswered (the
                           handshake's ACK, RST) */
  /* Aggregate caps (sl_caps.h): SYNs over a cap, also counted in their level's syns and in its
   * dropped or rst_sent (as if they acted, at an observing level). */
  __u64 caps_rate;    /* over the sender address's new-connection rate */
  __u64 caps_flows;   /* over the open flows of the sender's address or network */
  __u64 caps_evicted; /* caps entries pushed out of a full bucket of a runner's caps table
                         (their senders start afresh); the XDP map's LRU evicts uncounted */
  /* The server-side tarpit's held ACKs (sl_held_frame). */
  __u64 tarpit_held;     /* server ACKs kept to release their client later */
  __u64 tarpit_released; /* held ACKs sent on because their sender's level moved off the
                            tarpit (allowlisted, cleared, another level) */
  __u64 pregreet;        /* connections whose client sent payload before the server's greeting
                            (sl_greet.h), shaped or not */
};
SL_STATIC_ASSERT(sizeof(struct sl_stats) == 8 * 8 + SL_MAX_LEVELS * 56 + 17 * 8, "sl_stats layout");

#endif /* SLUICE_CORE_SL_SHARED_H */
