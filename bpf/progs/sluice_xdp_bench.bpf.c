/* Benchmark object: the real sluice program, plus the references it is measured against:
 *  - bench_redirect: the same devmap redirect and nothing else (the floor for every packet);
 *  - the real program with the IPv4 prefix lookup done in a BPF_MAP_TYPE_LPM_TRIE instead of
 *    DIR-24-8, selected by the read-only use_lpm, which the verifier resolves at load time so
 *    the unused path is removed from the program;
 *  - bench_lookup_dir24 / bench_lookup_lpm: the bare prefix lookups of the source address. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "core/sl_base.h"
#include "core/sl_shared.h"
#include "sluice_maps.bpf.h"
#include "sluice_rep.bpf.h"

struct slx_lpm4_key {
  __u32 prefixlen;
  __be32 addr;
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 2 * 1024 * 1024);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct slx_lpm4_key);
  __type(value, struct sl_rep_value);
} lpm4 SEC(".maps");

const volatile __u32 use_lpm = 0;

static __always_inline int slx_rep_lookup_lpm(const struct sl_flow_key *key,
                                              struct sl_rep_value *out) {
  __be32 a;
  __builtin_memcpy(&a, key->client, 4);
  struct sl_rep_value *v = bpf_map_lookup_elem(&host4_0, &a);
  if (!v) {
    struct slx_lpm4_key k = {.prefixlen = 32, .addr = a};
    v = bpf_map_lookup_elem(&lpm4, &k);
  }
  if (!v) return 0;
  *out = *v;
  return 1;
}

#define SLX_REP_LOOKUP(key, out) \
  (use_lpm && (key)->family == SL_AF_INET ? slx_rep_lookup_lpm(key, out) : slx_rep_lookup(key, out))

#include "sluice_xdp.bpf.c"

/* The references are xdp.frags programs like the real ones: they share the tx_port devmap, and
 * the kernel (6.18) refuses to load a program without frags support that uses a map a frags
 * program uses (EINVAL on bench_redirect). */

SEC("xdp.frags")
int bench_redirect(struct xdp_md *ctx __attribute__((unused))) {
  return bpf_redirect_map(&tx_port, SLX_PORT_INSIDE, XDP_PASS);
}

/* Source address of an untagged IPv4 frame (offset 26), or 0. */
static __always_inline int bench_saddr(struct xdp_md *ctx, __be32 *a) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if (data + 34 > end) return 0;
  __builtin_memcpy(a, data + 26, 4);
  return 1;
}

SEC("xdp.frags")
int bench_lookup_dir24(struct xdp_md *ctx) {
  __be32 a;
  struct sl_rep_value v;
  __u32 zero = 0;
  if (!bench_saddr(ctx, &a)) return XDP_ABORTED;
  __u32 *active = bpf_map_lookup_elem(&rep_active, &zero);
  if (active && *active) return SLX_REP_LOOKUP_V4(1, a, &v) ? XDP_PASS : XDP_DROP;
  return SLX_REP_LOOKUP_V4(0, a, &v) ? XDP_PASS : XDP_DROP;
}

SEC("xdp.frags")
int bench_lookup_lpm(struct xdp_md *ctx) {
  struct slx_lpm4_key k = {.prefixlen = 32};
  if (!bench_saddr(ctx, &k.addr)) return XDP_ABORTED;
  return bpf_map_lookup_elem(&lpm4, &k) ? XDP_PASS : XDP_DROP;
}
