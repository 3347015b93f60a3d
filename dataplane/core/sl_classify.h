/* sluice packet core: which packets are SMTP segments we may shape, and their flow key. */
#ifndef SLUICE_CORE_SL_CLASSIFY_H
#define SLUICE_CORE_SL_CLASSIFY_H

#include "sl_base.h"
#include "sl_bytes.h"
#include "sl_limits.h"
#include "sl_parse.h"
#include "sl_shared.h"
#include "sl_wire.h"

/* An unused slot holds 0, and port 0 is never watched: one test for it instead of one per
 * slot (the non-SMTP path runs this for every TCP packet). */
SL_INLINE int sl_port_watched(__be16 port, const __be16 ports[SL_MAX_SMTP_PORTS]) {
#if SL_MAX_SMTP_PORTS == 4
  /* All four slots in one word: a slot equals `port` exactly when its 16-bit lane of `lanes`
   * is zero, and (x - 0x0001..) & ~x & 0x8000.. is non-zero exactly when some lane of x is
   * zero (borrows only start at a zero lane). Half the instructions of four compares. */
  __u64 lanes = sl_load64(ports) ^ ((__u64)(__u16)port * 0x0001000100010001ull);
  if (port == 0) return 0;
  return ((lanes - 0x0001000100010001ull) & ~lanes & 0x8000800080008000ull) != 0;
#else
  __u32 i;
  if (port == 0) return 0;
  for (i = 0; i < SL_MAX_SMTP_PORTS; i++) {
    if (ports[i] == port) return 1;
  }
  return 0;
#endif
}

/* Some port is watched (an all-zero policy watches none). */
SL_INLINE int sl_any_port_watched(const __be16 ports[SL_MAX_SMTP_PORTS]) {
  __u32 i;
  __u32 any = 0;
  for (i = 0; i < SL_MAX_SMTP_PORTS; i++) any |= ports[i];
  return any != 0;
}

/* A segment of an SMTP connection whose client arrives from client_dir, at the TCP header
 * `tcp`: the client's SYN (without ACK or RST) -> CLIENT_SYN, the client's other segments ->
 * CLIENT_SEG, the server's -> SERVER_SEG.
 *
 * The options are walked only for an SMTP segment with SYN set (a SYN or a SYN-ACK): the only
 * segments whose options the actions read or rewrite. Malformed options: a SYN-ACK (or other
 * SYN-flagged segment) -> OTHER; a client's SYN stays CLIENT_SYN with every opt_* absent, so
 * its options pass as they are. Other segments keep opt_* absent, and their options, which
 * Linux fills with timestamps on every segment, cost nothing. */
SL_INLINE enum sl_class sl_classify_role(struct sl_pkt *pkt, void *data_end, enum sl_dir dir,
                                         enum sl_dir client_dir) {
  int is_syn =
      dir == client_dir && (pkt->tcp_flags & (SL_TCP_SYN | SL_TCP_ACK | SL_TCP_RST)) == SL_TCP_SYN;
  if ((pkt->tcp_flags & SL_TCP_SYN) && sl_parse_tcp_options(pkt, data_end) != 0) {
    /* A client's SYN is still a SYN: its sender is looked up and blocked or shaped (malformed
     * options must not be a way past a block), but none of its options is read or rewritten.
     * The walk may have noted some before it failed. */
    if (!is_syn) return SL_CLASS_OTHER;
    pkt->opt_mss = 0;
    pkt->opt_wscale = 0;
    pkt->opt_sack_perm = 0;
  }
  if (is_syn) return SL_CLASS_CLIENT_SYN;
  return dir == client_dir ? SL_CLASS_CLIENT_SEG : SL_CLASS_SERVER_SEG;
}

/* Whether a segment is one of a subscriber's outbound SMTP connections, given that the policy
 * controls outbound SMTP (out_ports): from inside towards a watched remote port, or from outside
 * from one. Out of line in user space: a policy without [outbound] never gets here, and the
 * non-SMTP path stays short. */
#if defined(__bpf__)
SL_INLINE
#else
static __attribute__((noinline)) inline
#endif
int sl_classify_outbound(const struct sl_pkt *pkt, void *data_end, enum sl_dir dir,
                         const __be16 out_ports[SL_MAX_SMTP_PORTS]) {
  __u8 *tcp = (__u8 *)pkt->tcp;
  __u8 *pp;

  if (tcp == 0) return 0;
  /* The remote MTA's port: the destination from inside, the source from outside. */
  pp = tcp + (dir == SL_DIR_FROM_INSIDE ? 2 : 0);
  if (pp + 2 > (__u8 *)data_end) return 0;
  return sl_port_watched((__be16)sl_load16(pp), out_ports);
}

/* Which connection a TCP segment belongs to, by its ports (sl_classify below):
 * SL_CONN_INBOUND, SL_CONN_OUTBOUND or SL_CONN_NONE (not SMTP). */
#define SL_CONN_NONE 0
#define SL_CONN_INBOUND 1
#define SL_CONN_OUTBOUND 2

/* Inbound SMTP: from outside to a watched port (the policy's smtp_ports), from inside from one.
 * Otherwise, when the policy has [outbound] ports, a subscriber's outbound SMTP
 * (sl_classify_outbound); so is a SYN without ACK from inside, which is never a server's (a
 * subscriber's source port must not be a way past an outbound block).
 *
 * A subscriber's connection from an inbound SMTP port to an outbound one (25 -> 25) is judged at
 * its SYN (blocked, or its flow made at its outbound level), but its later segments match the
 * inbound rule first and find no flow there: a block holds, a clamp does not
 * (docs/packet-core.md). */
SL_INLINE int sl_classify_conn(const struct sl_pkt *pkt, void *data_end, enum sl_dir dir,
                               const struct sl_policy *pol) {
  __u8 *tcp = (__u8 *)pkt->tcp;
  __u8 *pp;

  if (tcp == 0) return SL_CONN_NONE;
  /* sl_parse() checked the fixed TCP header, but re-derived tcp opaquely; only the port's
   * bytes are read here (the option walk checks its own), so only they are checked again.
   * The port's pointer gets its own bounds check: clang turns the choice into a variable
   * offset, and the verifier forgets a packet pointer's checked range when one is added. */
  pp = tcp + (dir == SL_DIR_FROM_OUTSIDE ? 2 : 0);
  if (pp + 2 > (__u8 *)data_end) return SL_CONN_NONE;
  if (sl_port_watched((__be16)sl_load16(pp), pol->smtp_ports) &&
      SL_LIKELY(dir == SL_DIR_FROM_OUTSIDE || pol->out_ports[0] == 0 ||
                (pkt->tcp_flags & (SL_TCP_SYN | SL_TCP_ACK | SL_TCP_RST)) != SL_TCP_SYN))
    return SL_CONN_INBOUND;
  if (SL_LIKELY(pol->out_ports[0] == 0)) return SL_CONN_NONE;
  return sl_classify_outbound(pkt, data_end, dir, pol->out_ports) ? SL_CONN_OUTBOUND : SL_CONN_NONE;
}

/* The common frame's connection (sl_parse_plain: untagged IPv4 without options, whole in
 * [data, data_end), not a fragment): SL_CONN_NONE when it is not TCP or neither SMTP nor a
 * subscriber's SMTP (sl_seq_classify would find it OTHER and count nothing), else
 * sl_classify_conn's answer. SL_CONN_NOT_PLAIN for every other frame: only sl_seq_classify can
 * judge it. *pkt holds only the fields sl_parse_plain sets. */
#define SL_CONN_NOT_PLAIN (-1)
SL_INLINE int sl_classify_plain_conn(void *data, void *data_end, enum sl_dir dir,
                                     const struct sl_policy *pol, struct sl_pkt *pkt) {
  int rc = sl_parse_plain(data, data_end, pkt);
  if (rc == SL_PARSE_NOT_TCP) return SL_CONN_NONE;
  if (rc != SL_PARSE_OK) return SL_CONN_NOT_PLAIN;
  return sl_classify_conn(pkt, data_end, dir, pol);
}

/* 1 when the frame is the common one and not SMTP (sl_classify_plain_conn: SL_CONN_NONE), 0
 * otherwise: ask sl_seq_classify. For a runner that keeps sl_seq_classify out of line (XDP: a
 * global function, for the verifier's limit), so that most frames are decided without a call.
 * *pkt is scratch, not a parse result. */
SL_INLINE int sl_classify_plain_other(void *data, void *data_end, enum sl_dir dir,
                                      const struct sl_policy *pol, struct sl_pkt *pkt) {
  return sl_classify_plain_conn(data, data_end, dir, pol, pkt) == SL_CONN_NONE;
}

/* sl_classify's second half: the class of a segment whose connection (sl_classify_conn's
 * answer) is `conn`, pkt->outbound set for a subscriber's. */
SL_INLINE enum sl_class sl_classify_in_conn(struct sl_pkt *pkt, void *data_end, enum sl_dir dir,
                                            int conn) {
  pkt->outbound = conn == SL_CONN_OUTBOUND;
  if (conn == SL_CONN_NONE) return SL_CLASS_OTHER;
  return sl_classify_role(pkt, data_end, dir,
                          conn == SL_CONN_OUTBOUND ? SL_DIR_FROM_INSIDE : SL_DIR_FROM_OUTSIDE);
}

/* The class of a TCP segment (sl_classify_conn, then sl_classify_role), pkt->outbound set for
 * a subscriber's connection. Call after sl_parse() returned SL_PARSE_OK. */
SL_INLINE enum sl_class sl_classify(struct sl_pkt *pkt, void *data_end, enum sl_dir dir,
                                    const struct sl_policy *pol) {
  return sl_classify_in_conn(pkt, data_end, dir, sl_classify_conn(pkt, data_end, dir, pol));
}

/* The flow key normalised to client->server (for SERVER_SEG: swap), marked outbound for a
 * subscriber's connection (pkt->outbound): an inbound and an outbound connection between the
 * same two addresses and ports are two flows. Reads only bytes that sl_parse() checked (the
 * fixed IP header and the TCP ports).
 *
 * The key is written as its five 64-bit words, whole: flow tables hash and compare it a word
 * at a time right after this, and a word load that spans several narrower stores cannot be
 * forwarded from the store buffer (it waits for them to reach the cache: about 15 cycles
 * each, measured at a third of sluice-dp's shaped-flow packet cost). */
SL_INLINE void sl_flow_key_make(const struct sl_pkt *pkt, enum sl_class cls,
                                struct sl_flow_key *key) {
  const __u8 *ip = (const __u8 *)pkt->l3;
  const __u8 *tcp = (const __u8 *)pkt->tcp;
  __u8 *k = (__u8 *)key;
  int swap = cls == SL_CLASS_SERVER_SEG;
  __u64 src0, src1 = 0, dst0, dst1 = 0; /* the addresses as words (IPv4: first word only) */
  __u64 w0, w1, w2, w3, w4;
  __u32 ports; /* source port then destination port, as stored */

  if (ip == 0 || tcp == 0) {
    __builtin_memset(key, 0, sizeof(*key));
    key->family = pkt->family;
    return;
  }
  /* Loads at constant offsets only, then a choice by value (see SL_BARRIER_VAR). */
  if (pkt->family == SL_AF_INET) {
    src0 = SL_JOIN64(sl_load32(ip + 12), 0);
    dst0 = SL_JOIN64(sl_load32(ip + 16), 0);
  } else {
    src0 = SL_JOIN64(sl_load32(ip + 8), sl_load32(ip + 12));
    src1 = SL_JOIN64(sl_load32(ip + 16), sl_load32(ip + 20));
    dst0 = SL_JOIN64(sl_load32(ip + 24), sl_load32(ip + 28));
    dst1 = SL_JOIN64(sl_load32(ip + 32), sl_load32(ip + 36));
  }
  ports = sl_load32(tcp + 0);
  SL_BARRIER_VAR(src0);
  SL_BARRIER_VAR(src1);
  SL_BARRIER_VAR(dst0);
  SL_BARRIER_VAR(dst1);
  SL_BARRIER_VAR(ports);
  w0 = swap ? dst0 : src0;
  w1 = swap ? dst1 : src1;
  w2 = swap ? src0 : dst0;
  w3 = swap ? src1 : dst1;
  /* client_port, server_port, family, outbound, then two zero pad bytes. The ports as one word:
   * swapping them exchanges its 16-bit halves, a rotation in either byte order (picking and
   * joining the two halves separately took four times the instructions). */
  w4 = SL_JOIN64(swap ? (ports << 16) | (ports >> 16) : ports,
                 SL_BYTE_AT_START32(pkt->family) | SL_BYTE_SECOND32(pkt->outbound));
  /* Whole words in registers: otherwise GCC's vectoriser may assemble them in a stack
   * temporary with 8-byte stores and copy that with 16-byte loads, the very stall avoided
   * here. */
  SL_BARRIER_VAR(w0);
  SL_BARRIER_VAR(w1);
  SL_BARRIER_VAR(w2);
  SL_BARRIER_VAR(w3);
  SL_BARRIER_VAR(w4);
  sl_store64(k + 0, w0);
  sl_store64(k + 8, w1);
  sl_store64(k + 16, w2);
  sl_store64(k + 24, w3);
  sl_store64(k + 32, w4);
}

#endif /* SLUICE_CORE_SL_CLASSIFY_H */
