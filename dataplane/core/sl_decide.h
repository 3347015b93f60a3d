/* sluice packet core: score -> level, and the drop-rate coin. */
#ifndef SLUICE_CORE_SL_DECIDE_H
#define SLUICE_CORE_SL_DECIDE_H

#include "sl_base.h"
#include "sl_limits.h"
#include "sl_shared.h"

/* Highest i in [1, nlevels) with score >= thresholds[i]; 0 if none or the allow flag is set.
 * The deny flag (an operator's decision) gives the highest level, nlevels - 1, whatever the
 * score, and beats the allow flag. Scans every level rather than stopping at the first miss,
 * so a policy whose thresholds are not sorted still picks the most severe level it matches. */
SL_INLINE __u32 sl_level_for(const struct sl_policy *pol, __s32 score, __u32 rep_flags) {
  __u32 level = 0;
  __u32 n = pol->nlevels;
  __u32 deny = rep_flags & SL_REP_DENY;
  __u32 i;

  if (!deny && (rep_flags & SL_REP_ALLOW)) return 0;
  /* The deny flag matches every level; the loop keeps the result visibly below SL_MAX_LEVELS
   * (for the BPF verifier) rather than computing nlevels - 1. */
  for (i = 1; i < SL_MAX_LEVELS; i++) {
    if (i < n && (deny || score >= pol->thresholds[i])) level = i;
  }
  return level;
}

/* True with probability ppm/1e6 for a uniformly random rnd. ppm >= 1e6: always; 0: never. */
SL_INLINE int sl_chance_ppm(__u32 rnd, __u32 ppm) {
  return (__u32)(((__u64)rnd * 1000000u) >> 32) < ppm;
}

#endif /* SLUICE_CORE_SL_DECIDE_H */
