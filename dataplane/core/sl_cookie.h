/* sluice packet core: the stateless tarpit's cookies (SL_TARPIT_STATELESS).
 *
 * A tarpit level's SYN is answered by the data plane itself with a SYN-ACK of window 0 whose
 * sequence number (our ISN) is a cookie; the connection never reaches the MTA and no state is
 * kept. The sender's stack is then established with nothing to read (an SMTP client waits for
 * the greeting) and no window to write into, and holds the connection until its own timeout.
 * Its later segments carry ACK = ISN + 1, which is how a client segment without a flow is
 * recognised as one of these connections (sl_seq_cookie_seg in sl_sequence.h).
 *
 * The cookie: the upper 24 bits are a keyed hash of the flow key (both addresses and ports), the
 * lower 8 bits are the low byte of the client's next sequence number (its ISN + 1, our ACK). A
 * later segment's sequence number lies within a few bytes of that value (the handshake's ACK,
 * zero-window probes one below it, data a client sends regardless of the window), so the low
 * byte gives back the exact value to acknowledge without storing it: an ACK that answers a
 * probe must carry it, or the client counts the probe unanswered and gives up.
 *
 * The key (sl_policy.cookie_key) is the data plane's secret. What a forged cookie buys an
 * attacker is small by construction: a zero-window ACK towards a sender that is at a stateless
 * tarpit level anyway (the data plane checks the sender's level before answering), the same
 * reflection any SYN to that sender's address already gets. So the hash is a keyed
 * multiply-xorshift mix (fast, and the same in BPF), not a MAC. A client segment whose ACK
 * happens to match a cookie but whose sender is not at such a level goes on to the MTA. */
#ifndef SLUICE_CORE_SL_COOKIE_H
#define SLUICE_CORE_SL_COOKIE_H

#include "sl_base.h"
#include "sl_limits.h"
#include "sl_shared.h"

#define SL_COOKIE_LOW_MASK 0xffu

/* 1 when some level of the policy (in use) answers SYNs with cookies: what the policy parser
 * stores in sl_policy.tarpit_cookies. */
SL_INLINE __u32 sl_policy_tarpit_cookies(const struct sl_policy *pol) {
  __u32 i;
  for (i = 1; i < SL_MAX_LEVELS; i++)
    if (i < pol->nlevels && pol->profiles[i].tarpit == SL_TARPIT_STATELESS) return 1;
  return 0;
}

SL_INLINE __u64 sl_cookie_round(__u64 h, __u64 word, __u64 key) {
  h ^= word ^ key;
  h *= 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

/* The keyed hash of a flow key (five 64-bit words, padding zero: sl_flow_key_make). */
SL_INLINE __u32 sl_cookie_hash(const struct sl_policy *pol, const struct sl_flow_key *key) {
  const __u64 *w = (const __u64 *)(const void *)key;
  __u64 k0 = ((__u64)pol->cookie_key[1] << 32) | pol->cookie_key[0];
  __u64 k1 = ((__u64)pol->cookie_key[3] << 32) | pol->cookie_key[2];
  __u64 h = k1;

  h = sl_cookie_round(h, w[0], k0);
  h = sl_cookie_round(h, w[1], k1);
  h = sl_cookie_round(h, w[2], k0);
  h = sl_cookie_round(h, w[3], k1);
  h = sl_cookie_round(h, w[4], k0);
  h *= 0xff51afd7ed558ccdull;
  return (__u32)(h >> 32);
}

/* Our ISN for the SYN of this flow whose sequence number is syn_seq. */
SL_INLINE __u32 sl_cookie_isn(const struct sl_policy *pol, const struct sl_flow_key *key,
                              __u32 syn_seq) {
  return (sl_cookie_hash(pol, key) & ~SL_COOKIE_LOW_MASK) | ((syn_seq + 1u) & SL_COOKIE_LOW_MASK);
}

/* A client segment (seq, ack) of this flow: 1 when ack acknowledges a cookie ISN of ours, with
 * *una = the client's next sequence number as the SYN-ACK acknowledged it (the value nearest
 * to seq whose low byte the cookie carries: from seq - 128 to seq + 127); else 0. */
SL_INLINE int sl_cookie_check(const struct sl_policy *pol, const struct sl_flow_key *key, __u32 seq,
                              __u32 ack, __u32 *una) {
  __u32 isn = ack - 1u;
  __s8 diff;

  if (((isn ^ sl_cookie_hash(pol, key)) & ~SL_COOKIE_LOW_MASK) != 0) return 0;
  diff = (__s8)(__u8)((isn & SL_COOKIE_LOW_MASK) - (seq & SL_COOKIE_LOW_MASK));
  *una = seq + (__u32)(__s32)diff;
  return 1;
}

#endif /* SLUICE_CORE_SL_COOKIE_H */
