/* sluice XDP data plane: reputation lookup of a client address (exact host, then the longest
 * prefix), in the active set of the double-buffered table. */
#ifndef SLUICE_XDP_REP_BPF_H
#define SLUICE_XDP_REP_BPF_H

#include "sluice_maps.bpf.h"

/* IPv4: host hash, then DIR-24-8 (tbl24, maybe one tbl8 group, then the value). */
#define SLX_REP_LOOKUP_V4(S, ADDR_BE, OUT)                                 \
  ({                                                                       \
    int found_ = 0;                                                        \
    struct sl_rep_value *v_ = bpf_map_lookup_elem(&host4_##S, &(ADDR_BE)); \
    if (v_) {                                                              \
      *(OUT) = *v_;                                                        \
      found_ = 1;                                                          \
    } else {                                                               \
      __u32 a_ = sl_ntohl(ADDR_BE);                                        \
      __u32 k_ = a_ >> 12;                                                 \
      struct slx_tbl24_elem *t24_ = bpf_map_lookup_elem(&tbl24_##S, &k_);  \
      __u32 e_ = t24_ ? t24_->e[(a_ >> 8) & (SLX_TBL24_PER_ELEM - 1)] : 0; \
      if (e_ & SLX_ENTRY_TBL8) {                                           \
        __u32 g_ = e_ & ~SLX_ENTRY_TBL8;                                   \
        struct slx_tbl8_group *t8_ = bpf_map_lookup_elem(&tbl8_##S, &g_);  \
        e_ = t8_ ? t8_->e[a_ & 0xff] : 0;                                  \
      }                                                                    \
      if (e_ != 0) {                                                       \
        __u32 vi_ = e_ - 1;                                                \
        v_ = bpf_map_lookup_elem(&pfxval_##S, &vi_);                       \
        if (v_) {                                                          \
          *(OUT) = *v_;                                                    \
          found_ = 1;                                                      \
        }                                                                  \
      }                                                                    \
    }                                                                      \
    found_;                                                                \
  })

/* IPv6: host hash; then the trie's longest match (any length but the four below), then the
 * hash at /64, /56, /48, /32 (longest first), only at lengths longer than the trie's match. */
static const __u32 slx_v6_lens[SLX_V6_LEVELS] = {64, 56, 48, 32};

#define SLX_REP_LOOKUP_V6(S, ADDR, OUT)                                    \
  ({                                                                       \
    int found_ = 0;                                                        \
    struct sl_rep_value *v_ = bpf_map_lookup_elem(&host6_##S, (ADDR));     \
    if (v_) {                                                              \
      *(OUT) = *v_;                                                        \
      found_ = 1;                                                          \
    } else {                                                               \
      struct slx_v6_lpm_key lk_ = {.prefixlen = 128};                      \
      __builtin_memcpy(lk_.addr, (ADDR), 16);                              \
      struct slx_v6_lpm_value *lv_ = bpf_map_lookup_elem(&lpm6_##S, &lk_); \
      __u32 tlen_ = 0;                                                     \
      if (lv_) {                                                           \
        *(OUT) = lv_->value;                                               \
        tlen_ = lv_->len;                                                  \
        found_ = 1;                                                        \
      }                                                                    \
      struct slx_v6_prefix_key pk_ = {};                                   \
      __builtin_memcpy(pk_.addr, (ADDR), 8);                               \
      _Pragma("unroll") for (int i_ = 0; i_ < SLX_V6_LEVELS; i_++) {       \
        __u32 len_ = slx_v6_lens[i_];                                      \
        if (found_ && len_ <= tlen_) break;                                \
        pk_.len = len_;                                                    \
        /* zero the bits past len_ (len_ is a multiple of 8) */            \
        _Pragma("unroll") for (int b_ = 0; b_ < 8; b_++) {                 \
          if ((__u32)b_ * 8 >= len_) pk_.addr[b_] = 0;                     \
        }                                                                  \
        v_ = bpf_map_lookup_elem(&pfx6_##S, &pk_);                         \
        if (v_) {                                                          \
          *(OUT) = *v_;                                                    \
          found_ = 1;                                                      \
          break;                                                           \
        }                                                                  \
      }                                                                    \
    }                                                                      \
    found_;                                                                \
  })

/* key->client holds the client address (IPv4 in the first 4 bytes). 1 if found. */
static __always_inline int slx_rep_lookup(const struct sl_flow_key *key, struct sl_rep_value *out) {
  __u32 zero = 0;
  __u32 *active = bpf_map_lookup_elem(&rep_active, &zero);
  __u32 set = active ? *active & 1 : 0; /* the low bit; the rest counts replacements */
  if (key->family == SL_AF_INET) {
    __be32 a;
    __builtin_memcpy(&a, key->client, 4);
    if (set == 0) return SLX_REP_LOOKUP_V4(0, a, out);
    return SLX_REP_LOOKUP_V4(1, a, out);
  }
  if (set == 0) return SLX_REP_LOOKUP_V6(0, key->client, out);
  return SLX_REP_LOOKUP_V6(1, key->client, out);
}

#endif /* SLUICE_XDP_REP_BPF_H */
