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

/* Fragments (docs/packet-core.md, "Fragments and long extension chains"): a first fragment
 * (offset 0, more fragments) and an IPv6 atomic fragment (offset 0, no more) that hold the whole
 * TCP header parse as SL_PARSE_OK with pkt->frag set. A later TCP fragment that starts at byte
 * 64 or beyond cannot hold any of a TCP header (at most 60 bytes; receivers discard overlapping
 * fragments, RFC 5722) and is SL_PARSE_FRAGMENT. The rest of TCP is SL_PARSE_UNSEEN. */
enum sl_parse_result {
  SL_PARSE_OK = 0,
  SL_PARSE_NOT_IP = -1,    /* not IPv4/IPv6 (ARP, too many VLAN tags, runt frame) */
  SL_PARSE_NOT_TCP = -2,   /* IP, but not TCP */
  SL_PARSE_FRAGMENT = -3,  /* a later TCP fragment that cannot hold a TCP header (offset >= 64) */
  SL_PARSE_MALFORMED = -4, /* truncated or inconsistent headers */
  SL_PARSE_UNSEEN = -5,    /* TCP (or maybe TCP) whose header is not wholly here: a first
                              fragment too short for it, a later fragment at offset < 64, an
                              IPv6 extension chain longer than SL_MAX_IPV6_EXT_HDRS. pkt->tcp
                              is set when the ports are here (else 0), pkt->l3 and family too */
};

#define SL_FRAG_FIRST 1  /* pkt->frag: a first fragment (offset 0, more fragments follow) */
#define SL_FRAG_ATOMIC 2 /* pkt->frag: an IPv6 atomic fragment (offset 0, no more: RFC 6946) */
/* A later fragment starting below this many bytes may overlap a TCP header (RFC 1858). */
#define SL_FRAG_MIN_LATER_OFF 64u

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
  __u8 frag;          /* 0, SL_FRAG_FIRST or SL_FRAG_ATOMIC */
  __u8 outbound;      /* set by sl_classify: 1 for a segment of a subscriber's outbound SMTP
                         connection (the client inside), else 0 */
};

#define SL_TCP_HDR_MIN 20u
#define SL_TCP_HDR_MAX 60u
#define SL_IPV4_HDR_MIN 20u
#define SL_IPV6_HDR_LEN 40u
#define SL_IPV6_EXT_MIN 8u

/* Every TCP header starts below this offset: 2 VLAN tags, the IPv6 header and
 * SL_MAX_IPV6_EXT_HDRS extension headers of at most 2048 bytes. A bound the verifier needs
 * (it refuses packet offsets beyond 0xffff). */
#define SL_L4_OFF_MASK 0x7fffu
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

/* A first fragment whose TCP header does not fit: SL_PARSE_UNSEEN, with pkt->tcp set when at
 * least the ports are here. */
SL_INLINE int sl_parse_tcp_unseen(__u8 *tcp, __u32 ip_room, struct sl_pkt *pkt) {
  if (ip_room >= 4) pkt->tcp = (struct sl_tcp *)(void *)tcp;
  return SL_PARSE_UNSEEN;
}

/* TCP header at `tcp` inside an IP datagram (or first fragment: `first_frag`) that has
 * `ip_room` bytes after the network headers (by the IP length fields). Fills the TCP part of
 * *pkt. A header inside the datagram but past `end` (the frame goes on in fragments the core
 * cannot read: XDP multi-buffer) is SL_PARSE_UNSEEN; in a frame that is all readable the
 * datagram fits before `end`, so that cannot happen. */
SL_INLINE int sl_parse_tcp_hdr(__u8 *tcp, __u8 *end, __u32 ip_room, struct sl_pkt *pkt,
                               int first_frag) {
  __u32 hlen;

  if (ip_room < SL_TCP_HDR_MIN) {
    if (first_frag) return sl_parse_tcp_unseen(tcp, ip_room, pkt);
    return SL_PARSE_MALFORMED;
  }
  if (tcp + SL_TCP_HDR_MIN > end) return sl_parse_tcp_unseen(tcp, ip_room, pkt);
  hlen = (__u32)(tcp[12] >> 4) * 4u;
  if (hlen < SL_TCP_HDR_MIN) return SL_PARSE_MALFORMED;
  if (hlen > ip_room) {
    if (first_frag) return sl_parse_tcp_unseen(tcp, ip_room, pkt);
    return SL_PARSE_MALFORMED;
  }
  /* The options readable too, or the segment cannot be judged (a SYN's options decide its
   * rewrite). Whoever reads the options still checks its own bounds: the verifier cannot use
   * this one (hlen is variable). */
  if (tcp + hlen > end) return sl_parse_tcp_unseen(tcp, ip_room, pkt);
  pkt->tcp = (struct sl_tcp *)(void *)tcp;
  pkt->tcp_hlen = (__u16)hlen;
  pkt->payload_len = (__u16)(ip_room - hlen);
  pkt->tcp_flags = tcp[13];
  return SL_PARSE_OK;
}

SL_INLINE int sl_parse_ipv4(__u8 *data, __u8 *end, __u32 frame_len, __u32 l3_off,
                            struct sl_pkt *pkt) {
  __u8 *ip = data + l3_off;
  __u32 ihl;
  __u32 tot;
  __u32 frag;
  int rc;

  if (ip + SL_IPV4_HDR_MIN > end) return SL_PARSE_MALFORMED;
  if ((ip[0] >> 4) != 4) return SL_PARSE_MALFORMED;
  ihl = (__u32)(ip[0] & 0x0f) * 4u;
  if (ihl < SL_IPV4_HDR_MIN) return SL_PARSE_MALFORMED;
  tot = (__u32)sl_load_be16(ip + 2);
  if (tot < ihl) return SL_PARSE_MALFORMED;
  /* The frame may carry Ethernet padding after the datagram, never less than it. Compared with
   * the whole frame's length: the readable part may end sooner (sl_parse_frame). */
  if (l3_off + tot > frame_len) return SL_PARSE_MALFORMED;
  if (ip[9] != SL_IPPROTO_TCP) return SL_PARSE_NOT_TCP;
  pkt->l3 = (void *)ip;
  pkt->l3_off = (__u16)l3_off;
  pkt->family = SL_AF_INET;
  frag = sl_load_be16(ip + 6) & 0x3fffu; /* MF and the offset (8-byte units) */
  if (frag & 0x1fffu)
    return (frag & 0x1fffu) * 8u < SL_FRAG_MIN_LATER_OFF ? SL_PARSE_UNSEEN : SL_PARSE_FRAGMENT;
  if (frag) pkt->frag = SL_FRAG_FIRST;
  rc = sl_parse_tcp_hdr(ip + ihl, end, tot - ihl, pkt, frag != 0);
  if (rc != SL_PARSE_OK) return rc;
  pkt->l4_off = (__u16)(l3_off + ihl);
  return SL_PARSE_OK;
}

SL_INLINE int sl_ipv6_is_ext(__u8 nexthdr) {
  return nexthdr == SL_IPPROTO_HOPOPTS || nexthdr == SL_IPPROTO_ROUTING ||
         nexthdr == SL_IPPROTO_DSTOPTS || nexthdr == SL_IPPROTO_FRAGMENT;
}

/* Walks up to SL_MAX_IPV6_EXT_HDRS extension headers (hop-by-hop, routing, destination
 * options, fragment) to TCP. Linux accepts any number, so a longer chain is SL_PARSE_UNSEEN,
 * not "not TCP". */
SL_INLINE int sl_parse_ipv6(__u8 *data, __u8 *end, __u32 frame_len, __u32 l3_off,
                            struct sl_pkt *pkt) {
  __u8 *ip6 = data + l3_off;
  __u32 plen;
  __u32 off = SL_IPV6_HDR_LEN; /* from ip6 to the next header */
  __u8 nexthdr;
  __u8 frag = 0;
  __u32 i;
  int rc;

  if (ip6 + SL_IPV6_HDR_LEN > end) return SL_PARSE_MALFORMED;
  if ((ip6[0] >> 4) != 6) return SL_PARSE_MALFORMED;
  plen = (__u32)sl_load_be16(ip6 + 4);
  if (l3_off + SL_IPV6_HDR_LEN + plen > frame_len) return SL_PARSE_MALFORMED;
  pkt->l3 = (void *)ip6;
  pkt->l3_off = (__u16)l3_off;
  pkt->family = SL_AF_INET6;
  nexthdr = ip6[6];
  for (i = 0; i < SL_MAX_IPV6_EXT_HDRS; i++) {
    __u8 *ext;
    __u32 len;
    if (!sl_ipv6_is_ext(nexthdr)) break;
    ext = ip6 + off;
    /* A header past the datagram: malformed, unless the datagram is a first fragment. One
     * inside it but past the readable part: unseen. */
    if (off + SL_IPV6_EXT_MIN > SL_IPV6_HDR_LEN + plen)
      return frag == SL_FRAG_FIRST ? SL_PARSE_UNSEEN : SL_PARSE_MALFORMED;
    if (ext + SL_IPV6_EXT_MIN > end) return SL_PARSE_UNSEEN;
    if (nexthdr == SL_IPPROTO_FRAGMENT) {
      __u32 fo = (__u32)sl_load_be16(ext + 2); /* offset << 3 | M */
      if (fo & 0xfff8u) {
        if (ext[0] != SL_IPPROTO_TCP && !sl_ipv6_is_ext(ext[0])) return SL_PARSE_NOT_TCP;
        return (fo & 0xfff8u) < SL_FRAG_MIN_LATER_OFF ? SL_PARSE_UNSEEN : SL_PARSE_FRAGMENT;
      }
      frag = (fo & 1u) ? SL_FRAG_FIRST : SL_FRAG_ATOMIC;
      len = SL_IPV6_EXT_MIN;
    } else {
      len = ((__u32)ext[1] + 1u) * 8u;
    }
    nexthdr = ext[0];
    off += len;
    if (off > SL_IPV6_HDR_LEN + plen)
      return frag == SL_FRAG_FIRST ? SL_PARSE_UNSEEN : SL_PARSE_MALFORMED;
  }
  if (sl_ipv6_is_ext(nexthdr)) return SL_PARSE_UNSEEN; /* a chain longer than the walk */
  if (nexthdr != SL_IPPROTO_TCP) return SL_PARSE_NOT_TCP;
  pkt->frag = frag;
  rc = sl_parse_tcp_hdr(ip6 + off, end, SL_IPV6_HDR_LEN + plen - off, pkt, frag == SL_FRAG_FIRST);
  if (rc != SL_PARSE_OK) return rc;
  pkt->l4_off = (__u16)(l3_off + off);
  return SL_PARSE_OK;
}

/* The common frame (sl_parse_ipv4_plain's), by its EtherType `proto`: IPv4 with a version/IHL
 * byte of 0x45, and both fixed headers in [p, end). */
SL_INLINE int sl_is_plain(__u8 *p, __u8 *end, __u16 proto) {
  return proto == SL_ETH_P_IP && p + 14 + SL_IPV4_HDR_MIN + SL_TCP_HDR_MIN <= end && p[14] == 0x45;
}

/* The common frame, untagged IPv4 without options (version/IHL byte 0x45), when the frame
 * holds both fixed headers: the checks of sl_parse_ipv4 and sl_parse_tcp_hdr with the same
 * results, at constant offsets. Every packet pays for the parse, SMTP or not; in BPF this
 * path is a good part shorter (no variable header offsets to add and bound). A fragment
 * returns SL_PARSE_FRAGMENT here whatever it is, and so does a datagram longer than the
 * readable part (malformed, or going on in fragments): the caller parses it again on the
 * general path. The caller has checked sl_is_plain. */
SL_INLINE int sl_parse_ipv4_plain(__u8 *data, __u8 *end, struct sl_pkt *pkt) {
  __u8 *ip = data + 14;
  __u8 *tcp = ip + SL_IPV4_HDR_MIN;
  __u32 tot = (__u32)sl_load_be16(ip + 2);
  __u32 hlen;

  if (tot < SL_IPV4_HDR_MIN) return SL_PARSE_MALFORMED;
  if (ip + tot > end) return SL_PARSE_FRAGMENT;
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

/* The common frame on its own (sl_parse_ipv4_plain): SL_PARSE_OK or SL_PARSE_NOT_TCP when the
 * frame is one and that is what sl_parse_frame finds for it; SL_PARSE_FRAGMENT for every other
 * frame, which only sl_parse_frame's general path can judge (a malformed common frame too: rare,
 * and sl_seq_parse may parse it again with the whole frame's length). On SL_PARSE_OK it sets
 * only the fields sl_parse_ipv4_plain sets, and leaves the rest of *pkt as it was: not zeroing
 * it saved a non-SMTP frame in XDP 1 ns of its 4 over a bare redirect. For sl_classify_plain_other,
 * which reads no other field. */
SL_INLINE int sl_parse_plain(void *data, void *data_end, struct sl_pkt *pkt) {
  __u8 *p = (__u8 *)data;
  __u8 *end = (__u8 *)data_end;
  int rc;

  if (p + sizeof(struct sl_eth) > end || !sl_is_plain(p, end, sl_load_be16(p + 12)))
    return SL_PARSE_FRAGMENT;
  rc = sl_parse_ipv4_plain(p, end, pkt);
  return rc == SL_PARSE_OK || rc == SL_PARSE_NOT_TCP ? rc : SL_PARSE_FRAGMENT;
}

/* *out as sl_parse_frame leaves it for the common frame that sl_parse_plain parsed into *plain
 * (SL_PARSE_OK): the fields sl_parse_plain sets, every other byte zero. */
SL_INLINE void sl_parse_plain_result(const struct sl_pkt *plain, struct sl_pkt *out) {
  __builtin_memset(out, 0, sizeof(*out));
  out->tcp = plain->tcp;
  out->tcp_hlen = plain->tcp_hlen;
  out->payload_len = plain->payload_len;
  out->tcp_flags = plain->tcp_flags;
  out->l3 = plain->l3;
  out->l3_off = plain->l3_off;
  out->l4_off = plain->l4_off;
  out->family = plain->family;
}

/* L2..L4 only (no TCP option walk), over a frame of `frame_len` bytes of which the core can read
 * [data, data_end): all of it, or (XDP multi-buffer: jumbo frames) a linear part with the rest
 * in fragments. The IP length fields are checked against the whole frame, every header against
 * the readable part: a datagram that goes on past data_end is parsed, and a TCP header or IPv6
 * extension header out of reach is SL_PARSE_UNSEEN. The Ethernet header, VLAN tags and the fixed
 * IP header (the first 62 bytes at most) must be readable, or the frame is not IP or malformed:
 * every driver's linear part holds far more. */
SL_INLINE int sl_parse_frame(void *data, void *data_end, __u32 frame_len, struct sl_pkt *pkt) {
  __u8 *p = (__u8 *)data;
  __u8 *end = (__u8 *)data_end;
  __u32 off = (__u32)sizeof(struct sl_eth);
  __u16 proto;
  __u32 i;
  int rc;

  __builtin_memset(pkt, 0, sizeof(*pkt));
  SL_KEEP_IN_MEMORY(pkt);
  if (p + sizeof(struct sl_eth) > end) return SL_PARSE_NOT_IP;
  proto = sl_load_be16(p + 12);
  rc = SL_PARSE_FRAGMENT;
  if (sl_is_plain(p, end, proto)) rc = sl_parse_ipv4_plain(p, end, pkt);
  if (rc == SL_PARSE_FRAGMENT) {
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
      rc = sl_parse_ipv4(p, end, frame_len, off, pkt);
    else if (proto == SL_ETH_P_IPV6)
      rc = sl_parse_ipv6(p, end, frame_len, off, pkt);
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

/* A frame that is all readable. */
SL_INLINE int sl_parse(void *data, void *data_end, struct sl_pkt *pkt) {
  return sl_parse_frame(data, data_end, (__u32)((__u8 *)data_end - (__u8 *)data), pkt);
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
