/* sluice packet core: score -> level, and the drop-rate coin. */
#ifndef SLUICE_CORE_SL_DECIDE_H
#define SLUICE_CORE_SL_DECIDE_H

#include "sl_base.h"
#include "sl_limits.h"
#include "sl_shared.h"

/* The level of a client with this score and these SL_REP_* flags: the highest i of its levels
 * with score >= thresholds[i]; 0 if none or the allow flag is set. A client's levels: for an
 * inbound connection [1, out_first), or [1, nlevels) when the policy has no outbound levels
 * (out_first 0, or not below nlevels); for a subscriber's outbound one (`outbound` nonzero)
 * [out_first, nlevels), none without outbound levels. The deny flag (an operator's decision) gives
 * the highest of them, whatever the score, and beats the allow flag. Scans every level rather than
 * stopping at the first miss, so a policy whose thresholds are not sorted still picks the most
 * severe level it matches. */
SL_INLINE __u32 sl_level_for(const struct sl_policy *pol, __s32 score, __u32 rep_flags,
                             int outbound) {
  __u32 level = 0;
  __u32 lo = 1;
  __u32 hi = pol->nlevels;
  __u32 first = pol->out_first;
  __u32 deny = rep_flags & SL_REP_DENY;
  __u32 i;

  if (!deny && (rep_flags & SL_REP_ALLOW)) return 0;
  /* out_first outside (0, nlevels) (none, or a policy map written without the parser): no
   * outbound levels. */
  if (first != 0 && first < hi) {
    if (outbound)
      lo = first;
    else
      hi = first;
  } else if (outbound) {
    return 0;
  }
  /* The deny flag matches every level; the loop keeps the result visibly below SL_MAX_LEVELS
   * (for the BPF verifier) rather than computing hi - 1. */
  for (i = 1; i < SL_MAX_LEVELS; i++) {
    if (i >= lo && i < hi && (deny || score >= pol->thresholds[i])) level = i;
  }
  return level;
}

/* True with probability ppm/1e6 for a uniformly random rnd. ppm >= 1e6: always; 0: never. */
SL_INLINE int sl_chance_ppm(__u32 rnd, __u32 ppm) {
  return (__u32)(((__u64)rnd * 1000000u) >> 32) < ppm;
}

#endif /* SLUICE_CORE_SL_DECIDE_H */
