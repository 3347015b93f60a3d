/* sluice packet core: in-place TCP rewrites with incremental checksum updates.
 *
 * Each rewrite returns 1 if it changed the packet and 0 if not (nothing to do, or the bytes
 * are not where the parse said, which cannot happen after a successful sl_parse but is
 * checked anyway so the verifier sees a bound before every access). A change also sets
 * pkt->rewritten, so a data plane counts rewritten packets without comparing bytes before and
 * after (a checksum compare would also miss a change that leaves the sum as it was). The TCP
 * checksum stays valid after every call. Rewrites are idempotent: a second call finds nothing to
 * change. */
#ifndef SLUICE_CORE_SL_REWRITE_H
#define SLUICE_CORE_SL_REWRITE_H

#include "sl_base.h"
#include "sl_bytes.h"
#include "sl_csum.h"
#include "sl_parse.h"
#include "sl_shared.h"
#include "sl_wire.h"

#define SL_TCP_OFF_WINDOW 14u
#define SL_TCP_OFF_CHECK 16u

SL_INLINE __be16 *sl_tcp_check_ptr(__u8 *tcp) {
  return (__be16 *)(void *)(tcp + SL_TCP_OFF_CHECK);
}

/* Lower the advertised window to max_window if it is above it. */
SL_INLINE int sl_tcp_clamp_window(struct sl_pkt *pkt, void *data_end, __u16 max_window) {
  __u8 *tcp = (__u8 *)pkt->tcp;
  __u8 *end = (__u8 *)data_end;
  __u16 old_raw;
  __u16 new_raw;

  if (tcp == 0) return 0;
  if (tcp + SL_TCP_HDR_MIN > end) return 0;
  old_raw = sl_load16(tcp + SL_TCP_OFF_WINDOW);
  if (sl_ntohs(old_raw) <= max_window) return 0;
  new_raw = (__u16)sl_htons(max_window);
  sl_store16(tcp + SL_TCP_OFF_WINDOW, new_raw);
  sl_csum_replace16(sl_tcp_check_ptr(tcp), (__be16)old_raw, (__be16)new_raw);
  pkt->rewritten = 1;
  return 1;
}

/* Lower the MSS option (found by sl_parse_tcp_options) to max_mss if it is above it. The
 * option may sit at any offset, odd ones included: the checksum is updated byte by byte. */
SL_INLINE int sl_tcp_clamp_mss(struct sl_pkt *pkt, void *data_end, __u16 max_mss) {
  __u8 *tcp = (__u8 *)pkt->tcp;
  __u8 *end = (__u8 *)data_end;
  __u32 off = pkt->opt_mss;
  __u8 *o;
  __u16 old_mss;
  __u8 hi = (__u8)(max_mss >> 8);
  __u8 lo = (__u8)(max_mss & 0xff);

  if (tcp == 0 || off < SL_TCP_HDR_MIN) return 0;
  if (off + 4 > pkt->tcp_hlen) return 0;
  if (tcp + SL_TCP_HDR_MIN > end) return 0;
  o = tcp + off;
  if (o + 4 > end) return 0;
  if (o[0] != SL_TCPOPT_MSS || o[1] != 4) return 0;
  old_mss = (__u16)(((__u16)o[2] << 8) | o[3]);
  if (old_mss <= max_mss) return 0;
  sl_csum_replace_byte(sl_tcp_check_ptr(tcp), off + 2, o[2], hi);
  o[2] = hi;
  sl_csum_replace_byte(sl_tcp_check_ptr(tcp), off + 3, o[3], lo);
  o[3] = lo;
  pkt->rewritten = 1;
  return 1;
}

/* Replace the option at opt_off by NOPs: window scale (3 bytes), SACK-permitted (2), or any
 * other option of 2 to 4 bytes (longer ones are left alone: straight-line code keeps the BPF
 * verifier's work small). Already NOPs (a second call) or EOL: nothing to do. */
SL_INLINE int sl_tcp_nop_option(struct sl_pkt *pkt, void *data_end, __u8 opt_off) {
  __u8 *tcp = (__u8 *)pkt->tcp;
  __u8 *end = (__u8 *)data_end;
  __u32 off = opt_off;
  __u32 len;
  __u8 *o;
  __be16 *check;

  if (tcp == 0 || off < SL_TCP_HDR_MIN) return 0;
  if (tcp + SL_TCP_HDR_MIN > end) return 0;
  check = sl_tcp_check_ptr(tcp);
  o = tcp + off;
  if (o + 4 > end) {
    /* A 2- or 3-byte option can end the frame: check exactly what it needs. */
    if (o + 2 > end) return 0;
  }
  if (o[0] == SL_TCPOPT_EOL || o[0] == SL_TCPOPT_NOP) return 0;
  len = o[1];
  if (len < 2 || len > 4 || off + len > pkt->tcp_hlen) return 0;
  if (len >= 3) {
    __u8 *b2 = o + 2;
    if (b2 + 1 > end) return 0;
    if (len == 4) {
      __u8 *b3 = o + 3;
      if (b3 + 1 > end) return 0;
      sl_csum_replace_byte(check, off + 3, b3[0], SL_TCPOPT_NOP);
      b3[0] = SL_TCPOPT_NOP;
    }
    sl_csum_replace_byte(check, off + 2, b2[0], SL_TCPOPT_NOP);
    b2[0] = SL_TCPOPT_NOP;
  }
  sl_csum_replace_byte(check, off + 1, o[1], SL_TCPOPT_NOP);
  o[1] = SL_TCPOPT_NOP;
  sl_csum_replace_byte(check, off, o[0], SL_TCPOPT_NOP);
  o[0] = SL_TCPOPT_NOP;
  pkt->rewritten = 1;
  return 1;
}

/* Sum of `words` 16-bit words at p (as stored). Caller checked p + 2 * words <= end. */
SL_INLINE __u32 sl_csum_words(const __u8 *p, __u32 words) {
  __u32 sum = 0;
  __u32 i;
  for (i = 0; i < 20; i++) {
    if (i >= words) break;
    sum += sl_load16(p + 2 * i);
  }
  return sum;
}

/* Rewrite the segment in place into a bare reply to its sender: MACs, addresses and ports
 * swapped; VLAN tags kept; IPv4 options and IPv6 extension headers dropped; <SEQ=seq><ACK=ack>
 * with tcp_flags; no options, no payload, window 0, TTL/hop limit 64, IPv4 id 0 with DF;
 * checksums computed from scratch. *frame_len = the reply's length (the caller trims the frame).
 * Returns 1, or 0 if the packet is not a parsed TCP segment (then it is untouched). */
#define SL_RST_TTL 64
SL_INLINE int sl_build_reply(void *data, void *data_end, struct sl_pkt *pkt, __u32 seq, __u32 ack,
                             __u8 tcp_flags, __u32 *frame_len) {
  __u8 *eth = (__u8 *)data;
  __u8 *end = (__u8 *)data_end;
  __u8 *ip = (__u8 *)pkt->l3;
  __u8 *tcp = (__u8 *)pkt->tcp;
  __u8 *ntcp;
  __u32 l3_off = pkt->l3_off;
  __u32 l3_len = pkt->family == SL_AF_INET ? SL_IPV4_HDR_MIN : SL_IPV6_HDR_LEN;
  __u16 sport, dport;
  __u32 sum;
  __u8 mac[6];
  __u8 tmp[16];

  if (ip == 0 || tcp == 0) return 0;
  if (pkt->family != SL_AF_INET && pkt->family != SL_AF_INET6) return 0;
  if (eth + sizeof(struct sl_eth) > end) return 0;
  if (ip + SL_IPV6_HDR_LEN > end && pkt->family == SL_AF_INET6) return 0;
  if (ip + SL_IPV4_HDR_MIN > end) return 0;
  if (tcp + SL_TCP_HDR_MIN > end) return 0;
  ntcp = ip + l3_len;
  if (ntcp + SL_TCP_HDR_MIN > end) return 0;

  /* The ports, before the new header overwrites the old one. */
  sport = sl_load16(tcp + 0);
  dport = sl_load16(tcp + 2);

  __builtin_memcpy(mac, eth, 6);
  __builtin_memcpy(eth, eth + 6, 6);
  __builtin_memcpy(eth + 6, mac, 6);

  if (pkt->family == SL_AF_INET) {
    __builtin_memcpy(tmp, ip + 12, 4);
    __builtin_memcpy(ip + 12, ip + 16, 4);
    __builtin_memcpy(ip + 16, tmp, 4);
    ip[0] = 0x45;
    ip[1] = 0;
    sl_store_be16(ip + 2, (__u16)(SL_IPV4_HDR_MIN + SL_TCP_HDR_MIN));
    sl_store_be16(ip + 4, 0);
    sl_store_be16(ip + 6, 0x4000); /* DF */
    ip[8] = SL_RST_TTL;
    ip[9] = SL_IPPROTO_TCP;
    sl_store16(ip + 10, 0);
    sl_store16(ip + 10, (__u16)~sl_csum_fold(sl_csum_words(ip, SL_IPV4_HDR_MIN / 2)));
  } else {
    if (ip + SL_IPV6_HDR_LEN > end) return 0;
    __builtin_memcpy(tmp, ip + 8, 16);
    __builtin_memcpy(ip + 8, ip + 24, 16);
    __builtin_memcpy(ip + 24, tmp, 16);
    sl_store_be32(ip + 0, 0x60000000u);
    sl_store_be16(ip + 4, (__u16)SL_TCP_HDR_MIN);
    ip[6] = SL_IPPROTO_TCP;
    ip[7] = SL_RST_TTL;
  }

  sl_store16(ntcp + 0, dport);
  sl_store16(ntcp + 2, sport);
  sl_store_be32(ntcp + 4, seq);
  sl_store_be32(ntcp + 8, ack);
  ntcp[12] = (__u8)((SL_TCP_HDR_MIN / 4) << 4);
  ntcp[13] = tcp_flags;
  sl_store16(ntcp + 14, 0); /* window */
  sl_store16(ntcp + 16, 0); /* checksum */
  sl_store16(ntcp + 18, 0); /* urgent pointer */

  /* Pseudo header: addresses, protocol, TCP length; then the 20-byte header. */
  if (pkt->family == SL_AF_INET)
    sum = sl_csum_words(ip + 12, 4);
  else
    sum = sl_csum_words(ip + 8, 16);
  sum += (__u32)(__u16)sl_htons(SL_IPPROTO_TCP);
  sum += (__u32)(__u16)sl_htons(SL_TCP_HDR_MIN);
  sum += sl_csum_words(ntcp, SL_TCP_HDR_MIN / 2);
  sl_store16(ntcp + 16, (__u16)~sl_csum_fold(sum));

  pkt->tcp = (struct sl_tcp *)(void *)ntcp;
  pkt->l4_off = (__u16)(l3_off + l3_len);
  pkt->tcp_hlen = (__u16)SL_TCP_HDR_MIN;
  pkt->payload_len = 0;
  pkt->tcp_flags = ntcp[13];
  pkt->opt_mss = 0;
  pkt->opt_wscale = 0;
  pkt->opt_sack_perm = 0;
  *frame_len = l3_off + l3_len + SL_TCP_HDR_MIN;
  return 1;
}

/* The reply a TCP stack sends to an unwanted segment (RFC 9293 3.10.7.1, as Linux does it),
 * built by sl_build_reply: if the segment had ACK, <SEQ=SEG.ACK><RST>, else
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN(+1 for SYN, +1 for FIN)><RST,ACK>. Returns 1, or 0 if the packet is
 * not a parsed TCP segment (then it is untouched). */
SL_INLINE int sl_build_rst(void *data, void *data_end, struct sl_pkt *pkt, __u32 *frame_len) {
  __u8 *tcp = (__u8 *)pkt->tcp;
  __u8 flags = pkt->tcp_flags;
  __u32 seg_len;

  if (tcp == 0 || tcp + SL_TCP_HDR_MIN > (__u8 *)data_end) return 0;
  if (flags & SL_TCP_ACK)
    return sl_build_reply(data, data_end, pkt, sl_load_be32(tcp + 8), 0, SL_TCP_RST, frame_len);
  seg_len =
      (__u32)pkt->payload_len + ((flags & SL_TCP_SYN) ? 1u : 0u) + ((flags & SL_TCP_FIN) ? 1u : 0u);
  return sl_build_reply(data, data_end, pkt, 0, sl_load_be32(tcp + 4) + seg_len,
                        SL_TCP_RST | SL_TCP_ACK, frame_len);
}

#endif /* SLUICE_CORE_SL_REWRITE_H */
