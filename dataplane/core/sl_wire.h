/* sluice packet core: on-the-wire header layouts.
 *
 * Our own definitions rather than <linux/ip.h>, <netinet/ip.h> or DPDK's rte_ip.h: the kernel
 * uapi and glibc headers collide when both are included (struct in6_addr), bitfields differ by
 * byte order, and BPF cannot include glibc at all. Plain bytes and __be fields, no bitfields. */
#ifndef SLUICE_CORE_SL_WIRE_H
#define SLUICE_CORE_SL_WIRE_H

#include "sl_base.h"

#define SL_ETH_P_IP 0x0800
#define SL_ETH_P_IPV6 0x86DD
#define SL_ETH_P_8021Q 0x8100
#define SL_ETH_P_8021AD 0x88A8
#define SL_IPPROTO_TCP 6
#define SL_IPPROTO_HOPOPTS 0
#define SL_IPPROTO_ROUTING 43
#define SL_IPPROTO_FRAGMENT 44
#define SL_IPPROTO_DSTOPTS 60

#define SL_TCP_FIN 0x01
#define SL_TCP_SYN 0x02
#define SL_TCP_RST 0x04
#define SL_TCP_PSH 0x08
#define SL_TCP_ACK 0x10
#define SL_TCP_URG 0x20

#define SL_TCPOPT_EOL 0
#define SL_TCPOPT_NOP 1
#define SL_TCPOPT_MSS 2
#define SL_TCPOPT_WSCALE 3
#define SL_TCPOPT_SACK_PERM 4

struct sl_eth {
  __u8 dst[6];
  __u8 src[6];
  __be16 proto;
};

struct sl_vlan {
  __be16 tci;
  __be16 proto; /* the EtherType that follows the tag */
};

struct sl_ipv4 {
  __u8 ver_ihl; /* version << 4 | header length in 32-bit words */
  __u8 tos;
  __be16 tot_len;
  __be16 id;
  __be16 frag_off; /* flags (3 bits) and fragment offset (13 bits) */
  __u8 ttl;
  __u8 protocol;
  __be16 check;
  __be32 saddr;
  __be32 daddr;
};

struct sl_ipv6 {
  __be32 ver_tc_flow;
  __be16 payload_len;
  __u8 nexthdr;
  __u8 hop_limit;
  __u8 saddr[16];
  __u8 daddr[16];
};

/* Hop-by-hop, routing and destination options share this prefix; length in 8-octet units,
 * not counting the first 8. */
struct sl_ipv6_ext {
  __u8 nexthdr;
  __u8 hdrlen;
};

struct sl_ipv6_frag {
  __u8 nexthdr;
  __u8 reserved;
  __be16 frag_off; /* offset << 3 | M flag */
  __be32 id;
};

struct sl_tcp {
  __be16 source;
  __be16 dest;
  __be32 seq;
  __be32 ack_seq;
  __u8 doff_res; /* data offset (32-bit words) << 4 */
  __u8 flags;    /* CWR ECE URG ACK PSH RST SYN FIN */
  __be16 window;
  __be16 check;
  __be16 urg_ptr;
};

SL_STATIC_ASSERT(sizeof(struct sl_eth) == 14, "ethernet header is 14 bytes");
SL_STATIC_ASSERT(sizeof(struct sl_vlan) == 4, "vlan tag is 4 bytes");
SL_STATIC_ASSERT(sizeof(struct sl_ipv4) == 20, "ipv4 header is 20 bytes");
SL_STATIC_ASSERT(sizeof(struct sl_ipv6) == 40, "ipv6 header is 40 bytes");
SL_STATIC_ASSERT(sizeof(struct sl_ipv6_frag) == 8, "ipv6 fragment header is 8 bytes");
SL_STATIC_ASSERT(sizeof(struct sl_tcp) == 20, "tcp header is 20 bytes");

#endif /* SLUICE_CORE_SL_WIRE_H */
