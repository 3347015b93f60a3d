/* sluice packet core: parsing Ethernet / VLAN / IPv4 / IPv6 / TCP over [data, data_end).
 *
 * Written for the BPF verifier as much as for C++: every read is preceded by an explicit
 * `p + n > end` check on the very pointer that is read, every loop has a constant bound, and
 * offsets stay bounded integers. Anything that does not add up (lengths, versions, header
 * sizes) is SL_PARSE_MALFORMED; the caller forwards such packets untouched. */
#ifndef SLUICE_CORE_SL_PARSE_H
#define SLUICE_CORE_SL_PARSE_H

#include "sl_base.h"
#include "sl_bytes.h"
#include "sl_limits.h"
#include "sl_shared.h"
#include "sl_wire.h"

enum sl_parse_result {
  SL_PARSE_OK = 0,
  SL_PARSE_NOT_IP = -1,    /* not IPv4/IPv6 (ARP, too many VLAN tags, runt frame) */
  SL_PARSE_NOT_TCP = -2,   /* IP, but not TCP (or too many IPv6 extension headers) */
  SL_PARSE_FRAGMENT = -3,  /* any IPv4 fragment, any IPv6 fragment header */
  SL_PARSE_MALFORMED = -4, /* truncated or inconsistent headers */
};

struct sl_pkt {
  struct sl_tcp *tcp; /* TCP header (never dereference directly: may be 2 mod 4 aligned) */
  void *l3;           /* IPv4 or IPv6 header */
  __u16 l3_off;       /* bytes from frame start to l3 */
  __u16 l4_off;       /* bytes from frame start to TCP header */
  __u16 tcp_hlen;     /* data offset * 4 */
  __u16 payload_len;  /* TCP payload bytes according to the IP length fields */
  __u8 family;        /* SL_AF_INET or SL_AF_INET6 */
  __u8 vlan_tags;     /* 0..2 */
  __u8 tcp_flags;
  __u8 opt_mss;       /* offset of the MSS option from the TCP header start; 0 = absent */
  __u8 opt_wscale;    /* same for window scale; filled by sl_classify for SMTP segments */
  __u8 opt_sack_perm; /* same for SACK-permitted */
  __u8 rewritten;     /* 1 once a rewrite of sl_rewrite.h has changed the segment */
  __u8 pad[1];
};

#define SL_TCP_HDR_MIN 20u
#define SL_TCP_HDR_MAX 60u
#define SL_IPV4_HDR_MIN 20u
#define SL_IPV6_HDR_LEN 40u
#define SL_IPV6_EXT_MIN 8u

/* Every TCP header starts below this offset: 2 VLAN tags, the IPv6 header and
 * SL_MAX_IPV6_EXT_HDRS extension headers of at most 2048 bytes. A bound the verifier needs
 * (it refuses packet offsets beyond 0xffff). */
#define SL_L4_OFF_MASK 0x3fffu
SL_STATIC_ASSERT(14 + 4 * SL_MAX_VLAN_TAGS + 40 + SL_MAX_IPV6_EXT_HDRS * 2048 <= SL_L4_OFF_MASK,
                 "TCP header offsets must fit SL_L4_OFF_MASK");

/* p - base, computed so that neither clang nor the BPF verifier knows the value (the verifier
 * turns a pointer difference into an unknown scalar; this needs a loader with CAP_PERFMON or
 * root, as sluice's is). Option offsets recorded this way look alike to the verifier on every
 * path, so it can prune the states of the option walk instead of following each layout of
 * options separately through the rewrites. */
SL_INLINE __u32 sl_opaque_off(__u8 *p, __u8 *base) {
  SL_BARRIER_VAR(p);
  return (__u32)(p - base);
}

/* TCP header at `tcp` inside an IP datagram that has `ip_room` bytes after the network
 * headers (by the IP length fields). Fills the TCP part of *pkt. */
SL_INLINE int sl_parse_tcp_hdr(__u8 *tcp, __u8 *end, __u32 ip_room, struct sl_pkt *pkt) {
  __u32 hlen;

  if (tcp + SL_TCP_HDR_MIN > end) return SL_PARSE_MALFORMED;
  if (ip_room < SL_TCP_HDR_MIN) return SL_PARSE_MALFORMED;
  hlen = (__u32)(tcp[12] >> 4) * 4u;
  if (hlen < SL_TCP_HDR_MIN) return SL_PARSE_MALFORMED;
  if (hlen > ip_room) return SL_PARSE_MALFORMED;
  /* No `tcp + hlen > end` check: the callers checked that the datagram (which ends at
   * tcp + ip_room) fits the frame, and hlen <= ip_room. Whoever reads the options checks
   * its own bounds (the verifier could not use this one anyway: hlen is variable). */
  pkt->tcp = (struct sl_tcp *)(void *)tcp;
  pkt->tcp_hlen = (__u16)hlen;
  pkt->payload_len = (__u16)(ip_room - hlen);
  pkt->tcp_flags = tcp[13];
  return SL_PARSE_OK;
}

SL_INLINE int sl_parse_ipv4(__u8 *data, __u8 *end, __u32 l3_off, struct sl_pkt *pkt) {
  __u8 *ip = data + l3_off;
  __u32 ihl;
  __u32 tot;
  int rc;

  if (ip + SL_IPV4_HDR_MIN > end) return SL_PARSE_MALFORMED;
  if ((ip[0] >> 4) != 4) return SL_PARSE_MALFORMED;
  ihl = (__u32)(ip[0] & 0x0f) * 4u;
  if (ihl < SL_IPV4_HDR_MIN) return SL_PARSE_MALFORMED;
  tot = (__u32)sl_load_be16(ip + 2);
  if (tot < ihl) return SL_PARSE_MALFORMED;
  /* The frame may carry Ethernet padding after the datagram, never less than it. This also
   * covers ip + ihl (ihl <= tot). */
  if (ip + tot > end) return SL_PARSE_MALFORMED;
  /* MF set or a non-zero offset: first fragments too, their TCP header may be cut. */
  if (sl_load_be16(ip + 6) & 0x3fffu) return SL_PARSE_FRAGMENT;
  if (ip[9] != SL_IPPROTO_TCP) return SL_PARSE_NOT_TCP;
  rc = sl_parse_tcp_hdr(ip + ihl, end, tot - ihl, pkt);
  if (rc != SL_PARSE_OK) return rc;
  pkt->l3 = (void *)ip;
  pkt->l3_off = (__u16)l3_off;
  pkt->l4_off = (__u16)(l3_off + ihl);
  pkt->family = SL_AF_INET;
  return SL_PARSE_OK;
}

SL_INLINE int sl_parse_ipv6(__u8 *data, __u8 *end, __u32 l3_off, struct sl_pkt *pkt) {
  __u8 *ip6 = data + l3_off;
  __u32 plen;
  __u32 off = SL_IPV6_HDR_LEN; /* from ip6 to the next header */
  __u8 nexthdr;
  __u32 i;
  int rc;

  if (ip6 + SL_IPV6_HDR_LEN > end) return SL_PARSE_MALFORMED;
  if ((ip6[0] >> 4) != 6) return SL_PARSE_MALFORMED;
  plen = (__u32)sl_load_be16(ip6 + 4);
  if (ip6 + SL_IPV6_HDR_LEN + plen > end) return SL_PARSE_MALFORMED;
  nexthdr = ip6[6];
  for (i = 0; i < SL_MAX_IPV6_EXT_HDRS; i++) {
    __u8 *ext;
    if (nexthdr != SL_IPPROTO_HOPOPTS && nexthdr != SL_IPPROTO_ROUTING &&
        nexthdr != SL_IPPROTO_DSTOPTS)
      break;
    ext = ip6 + off;
    if (ext + SL_IPV6_EXT_MIN > end) return SL_PARSE_MALFORMED;
    nexthdr = ext[0];
    off += ((__u32)ext[1] + 1u) * 8u;
    if (off > SL_IPV6_HDR_LEN + plen) return SL_PARSE_MALFORMED;
  }
  if (nexthdr == SL_IPPROTO_FRAGMENT) return SL_PARSE_FRAGMENT;
  if (nexthdr != SL_IPPROTO_TCP) return SL_PARSE_NOT_TCP;
  rc = sl_parse_tcp_hdr(ip6 + off, end, SL_IPV6_HDR_LEN + plen - off, pkt);
  if (rc != SL_PARSE_OK) return rc;
  pkt->l3 = (void *)ip6;
  pkt->l3_off = (__u16)l3_off;
  pkt->l4_off = (__u16)(l3_off + off);
  pkt->family = SL_AF_INET6;
  return SL_PARSE_OK;
}

/* The common frame, untagged IPv4 without options (version/IHL byte 0x45), when the frame
 * holds both fixed headers: the checks of sl_parse_ipv4 and sl_parse_tcp_hdr in the same
 * order, with the same results, at constant offsets. Every packet pays for the parse, SMTP
 * or not; in BPF this path is a good part shorter (no variable header offsets to add and
 * bound). The caller has checked data + 54 <= end and the 0x45 byte. */
SL_INLINE int sl_parse_ipv4_plain(__u8 *data, __u8 *end, struct sl_pkt *pkt) {
  __u8 *ip = data + 14;
  __u8 *tcp = ip + SL_IPV4_HDR_MIN;
  __u32 tot = (__u32)sl_load_be16(ip + 2);
  __u32 hlen;

  if (tot < SL_IPV4_HDR_MIN) return SL_PARSE_MALFORMED;
  if (ip + tot > end) return SL_PARSE_MALFORMED;
  if (sl_load_be16(ip + 6) & 0x3fffu) return SL_PARSE_FRAGMENT;
  if (ip[9] != SL_IPPROTO_TCP) return SL_PARSE_NOT_TCP;
  if (tot < SL_IPV4_HDR_MIN + SL_TCP_HDR_MIN) return SL_PARSE_MALFORMED;
  hlen = (__u32)(tcp[12] >> 4) * 4u;
  if (hlen < SL_TCP_HDR_MIN) return SL_PARSE_MALFORMED;
  if (hlen > tot - SL_IPV4_HDR_MIN) return SL_PARSE_MALFORMED;
  pkt->tcp = (struct sl_tcp *)(void *)tcp;
  pkt->tcp_hlen = (__u16)hlen;
  pkt->payload_len = (__u16)(tot - SL_IPV4_HDR_MIN - hlen);
  pkt->tcp_flags = tcp[13];
  pkt->l3 = (void *)ip;
  pkt->l3_off = 14;
  pkt->l4_off = 14 + SL_IPV4_HDR_MIN;
  pkt->family = SL_AF_INET;
  return SL_PARSE_OK;
}

/* L2..L4 only (no TCP option walk). */
SL_INLINE int sl_parse(void *data, void *data_end, struct sl_pkt *pkt) {
  __u8 *p = (__u8 *)data;
  __u8 *end = (__u8 *)data_end;
  __u32 off = (__u32)sizeof(struct sl_eth);
  __u16 proto;
  __u32 i;
  int rc;

  __builtin_memset(pkt, 0, sizeof(*pkt));
  if (p + sizeof(struct sl_eth) > end) return SL_PARSE_NOT_IP;
  proto = sl_load_be16(p + 12);
  if (proto == SL_ETH_P_IP && p + 14 + SL_IPV4_HDR_MIN + SL_TCP_HDR_MIN <= end && p[14] == 0x45) {
    rc = sl_parse_ipv4_plain(p, end, pkt);
  } else {
    for (i = 0; i < SL_MAX_VLAN_TAGS; i++) {
      __u8 *tag;
      if (proto != SL_ETH_P_8021Q && proto != SL_ETH_P_8021AD) break;
      tag = p + off;
      if (tag + sizeof(struct sl_vlan) > end) return SL_PARSE_NOT_IP;
      proto = sl_load_be16(tag + 2);
      off += (__u32)sizeof(struct sl_vlan);
      pkt->vlan_tags++;
    }
    if (proto == SL_ETH_P_IP)
      rc = sl_parse_ipv4(p, end, off, pkt);
    else if (proto == SL_ETH_P_IPV6)
      rc = sl_parse_ipv6(p, end, off, pkt);
    else
      return SL_PARSE_NOT_IP;
  }
  if (rc != SL_PARSE_OK) return rc;
  /* Re-derive the TCP pointer from an offset the verifier cannot see through: every parse
   * path (VLAN tags, IPv4 options, IPv6 extension headers) then leaves the same state behind,
   * so the verifier walks the option parser and the rewrites once instead of once per path.
   * Every later access checks its own bound anyway. */
  pkt->tcp = (struct sl_tcp *)(void *)(p + (sl_opaque_off((__u8 *)pkt->tcp, p) & SL_L4_OFF_MASK));
  return SL_PARSE_OK;
}

/* Walk TCP options (bounded, 40 bytes): fills opt_*; returns 0, or -1 if malformed (length
 * 0/1, overrunning the header). EOL ends the walk. Options of a known kind with the wrong
 * length are ignored, as receivers ignore them; a duplicate MSS, window-scale or
 * SACK-permitted option is malformed.
 *
 * Shaped for the BPF verifier: NOP and other options advance by one computed step instead of
 * taking different branches, so the states the verifier tracks per iteration stay few (a
 * branchy walk over 40 bytes exceeds its 1M-instruction budget). */
SL_INLINE int sl_parse_tcp_options(struct sl_pkt *pkt, void *data_end) {
  __u8 *tcp = (__u8 *)pkt->tcp;
  __u8 *end = (__u8 *)data_end;
  __u64 hlen = pkt->tcp_hlen;
  __u64 off = SL_TCP_HDR_MIN;
  __u32 dup = 0; /* non-zero once an option we act on is seen twice (no branch: see above) */
  __u32 i;

  pkt->opt_mss = 0;
  pkt->opt_wscale = 0;
  pkt->opt_sack_perm = 0;
  if (tcp == 0) return -1;
  if (hlen > SL_TCP_HDR_MAX) return -1;
  for (i = 0; i < SL_TCP_OPTIONS_MAX; i++) {
    __u8 *o;
    __u64 kind;
    __u64 len;
    __u64 is_opt;
    __u64 step;
    __u64 key;
    if (off >= hlen) break;
    if (off >= SL_TCP_HDR_MAX) return -1; /* a constant bound the verifier can see */
    o = tcp + off;
    if (o + 1 > end) return -1;
    kind = o[0];
    if (kind == SL_TCPOPT_EOL) break;
    if (o + 2 > end) {
      /* Only the header's last byte can end the frame: fine for a NOP, else no length. */
      if (kind == SL_TCPOPT_NOP) break;
      return -1;
    }
    len = o[1];
    /* is_opt = kind > NOP, computed without a branch (the barrier keeps clang from turning
     * it back into a compare and select). step = NOP ? 1 : len. */
    SL_BARRIER_VAR(kind);
    is_opt = ((kind & 0xffu) + 254u) >> 8;
    step = len * is_opt + (1u - is_opt);
    if (step < 1u + is_opt) return -1; /* an option's length below 2 */
    if (off + step > hlen) return -1;  /* overruns the header */
    /* Match kind and length through one derived key: a comparison on `step` itself would
     * pin it to a constant on that path, and constant offsets multiply the verifier's
     * states. */
    key = (kind << 8) | step;
    SL_BARRIER_VAR(key);
    if (key == ((SL_TCPOPT_MSS << 8) | 4u)) {
      dup |= pkt->opt_mss;
      pkt->opt_mss = (__u8)sl_opaque_off(o, tcp);
    } else if (key == ((SL_TCPOPT_WSCALE << 8) | 3u)) {
      dup |= pkt->opt_wscale;
      pkt->opt_wscale = (__u8)sl_opaque_off(o, tcp);
    } else if (key == ((SL_TCPOPT_SACK_PERM << 8) | 2u)) {
      dup |= pkt->opt_sack_perm;
      pkt->opt_sack_perm = (__u8)sl_opaque_off(o, tcp);
    }
    off += step;
  }
  /* A second MSS, window scale or SACK-permitted option: receivers honour any window scale
   * option, so neutralising one of two would not stop scaling, and the packet would change
   * again on a second pass. Treated as malformed (forwarded untouched) instead. */
  if (dup != 0) return -1;
  return 0;
}

#endif /* SLUICE_CORE_SL_PARSE_H */
