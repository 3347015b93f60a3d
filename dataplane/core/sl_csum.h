/* sluice packet core: Internet checksum arithmetic (RFC 1071 sums, RFC 1624 updates).
 *
 * Plain arithmetic, no bpf_csum_diff, so the same code runs in BPF and in DPDK. Words are
 * used "as stored": one's complement addition does not care about byte order as long as every
 * word is taken the same way. */
#ifndef SLUICE_CORE_SL_CSUM_H
#define SLUICE_CORE_SL_CSUM_H

#include "sl_base.h"
#include "sl_bytes.h"

/* Fold a 32-bit accumulator of 16-bit words into 16 bits with end-around carry. Two rounds
 * suffice for any sum of fewer than 65537 words. */
SL_INLINE __u16 sl_csum_fold(__u32 sum) {
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return (__u16)sum;
}

/* RFC 1624 eqn 3: HC' = ~(~HC + ~m + m'). Never yields 0xffff from a checksum that was
 * computed from scratch, so the result is bit-identical to recomputing it. */
SL_INLINE void sl_csum_replace16(__be16 *check, __be16 old_word, __be16 new_word) {
  __u32 sum = (__u32)(__u16)~sl_load16(check);
  sum += (__u32)(__u16) ~(__u16)old_word;
  sum += (__u32)(__u16)new_word;
  sl_store16(check, (__u16)~sl_csum_fold(sum));
}

SL_INLINE void sl_csum_replace32(__be16 *check, __be32 old_word, __be32 new_word) {
  __u32 sum = (__u32)(__u16)~sl_load16(check);
  sum += (__u32)(__u16) ~(__u16)((__u32)old_word >> 16);
  sum += (__u32)(__u16) ~(__u16)((__u32)old_word & 0xffffu);
  sum += (__u32)new_word >> 16;
  sum += (__u32)new_word & 0xffffu;
  sl_store16(check, (__u16)~sl_csum_fold(sum));
}

/* One byte changed at byte offset `off` from the start of the checksummed area (the TCP
 * header: it starts at an even offset of the TCP checksum's word stream). An even offset is
 * the high byte of its 16-bit word, an odd offset the low byte; the other byte of the word is
 * unchanged and cancels out of m' - m. */
SL_INLINE void sl_csum_replace_byte(__be16 *check, __u32 off, __u8 old_byte, __u8 new_byte) {
  /* Branch-free (8 for an even offset, 0 for an odd one): every branch doubles the states
   * the BPF verifier walks. */
  __u32 shift = ((off & 1u) ^ 1u) << 3;
  __u16 old_word = (__u16)((__u32)old_byte << shift);
  __u16 new_word = (__u16)((__u32)new_byte << shift);
  sl_csum_replace16(check, (__be16)sl_htons(old_word), (__be16)sl_htons(new_word));
}

#endif /* SLUICE_CORE_SL_CSUM_H */
