/* sluice packet core: the policy's server scope ([smtp] servers). With no prefix listed every
 * server is watched; with some, only packets of connections to an address inside one of them
 * are SMTP (a perimeter carries other people's MTAs too: docs/tuning.md). */
#ifndef SLUICE_CORE_SL_SCOPE_H
#define SLUICE_CORE_SL_SCOPE_H

#include "sl_base.h"
#include "sl_bytes.h"
#include "sl_limits.h"
#include "sl_parse.h"
#include "sl_shared.h"

/* Some prefix of either family is listed. */
SL_INLINE int sl_scope_set(const struct sl_policy *pol) {
  return (pol->nservers4 | pol->nservers6) != 0;
}

/* The IPv4 address (raw, as loaded from the packet) lies in a listed prefix. A loop of constant
 * bound that stops at the count: the verifier sees the bound, user space stops early. */
SL_INLINE int sl_scope_match4(const struct sl_policy *pol, __u32 addr) {
  __u32 n = pol->nservers4;
  __u32 i;
  for (i = 0; i < SL_MAX_SERVER_PREFIXES; i++) {
    if (i >= n) break;
    if ((addr & pol->servers4[i].mask) == pol->servers4[i].addr) return 1;
  }
  return 0;
}

/* The IPv6 address, as its two raw 64-bit halves, lies in a listed prefix. */
SL_INLINE int sl_scope_match6(const struct sl_policy *pol, __u64 hi, __u64 lo) {
  __u32 n = pol->nservers6;
  __u32 i;
  for (i = 0; i < SL_MAX_SERVER_PREFIXES; i++) {
    const struct sl_prefix6 *p = &pol->servers6[i];
    if (i >= n) break;
    if ((((hi & sl_load64(&p->mask[0])) ^ sl_load64(&p->addr[0])) |
         ((lo & sl_load64(&p->mask[2])) ^ sl_load64(&p->addr[2]))) == 0)
      return 1;
  }
  return 0;
}

/* 1 when the packet's server is in the policy's scope (always, when the policy lists none), 0
 * when it is outside. The server is the destination of a packet from outside and the source of
 * one from inside, read from the IP header sl_parse() checked (pkt->l3 and family are set for
 * SL_PARSE_OK and SL_PARSE_UNSEEN alike). The address's pointer gets its own bounds check, as
 * the port's in sl_classify() (a choice of offsets becomes a variable offset in BPF); the check
 * never fails for a parsed header, and a header the core could not read stays in scope, so it
 * is judged as it would be without a scope. */
SL_INLINE int sl_server_in_scope(const struct sl_policy *pol, const struct sl_pkt *pkt,
                                 void *data_end, enum sl_dir dir) {
  const __u8 *ip = (const __u8 *)pkt->l3;
  const __u8 *end = (const __u8 *)data_end;
  const __u8 *a;

  if (!sl_scope_set(pol)) return 1;
  if (ip == 0) return 1;
  if (pkt->family == SL_AF_INET) {
    a = ip + (dir == SL_DIR_FROM_OUTSIDE ? 16 : 12); /* daddr : saddr */
    if (a + 4 > end) return 1;
    return sl_scope_match4(pol, sl_load32(a));
  }
  a = ip + (dir == SL_DIR_FROM_OUTSIDE ? 24 : 8); /* daddr : saddr */
  if (a + 16 > end) return 1;
  return sl_scope_match6(pol, sl_load64(a), sl_load64(a + 8));
}

#endif /* SLUICE_CORE_SL_SCOPE_H */
