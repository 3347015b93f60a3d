/* Build-time check that the packet core compiles for `clang -O2 -target bpf`: one plain
 * function shaped like an XDP program (data, data_end) calls every core function along the
 * canonical sequence. Only compiled, never loaded (bpf/ loads the real programs). */
#include "core/sl_core.h"

static const struct sl_policy sl_check_policy = {
    .thresholds = {0, 3, 5, 8, 9, 10, 20, 0},
    .smtp_ports = {0x1900, 0, 0, 0}, /* 25, network order on little-endian */
    .nlevels = 7,
};

__attribute__((noinline)) int sl_core_bpf_compile_check(void *data, void *data_end, __u32 dir,
                                                        __s32 score, __u32 rnd) {
  struct sl_pkt pkt;
  struct sl_flow_key key;
  struct sl_flow_state st;
  const struct sl_profile *prof;
  enum sl_class cls;
  enum sl_verdict v;
  __u32 level;
  __u32 tx_len = 0;
  int ret = 0;

  if (sl_parse(data, data_end, &pkt) != SL_PARSE_OK) return 0;
  cls =
      sl_classify(&pkt, data_end, dir ? SL_DIR_FROM_INSIDE : SL_DIR_FROM_OUTSIDE, &sl_check_policy);
  if (cls == SL_CLASS_OTHER) return 0;
  sl_flow_key_make(&pkt, cls, &key);
  level = sl_level_for(&sl_check_policy, score, 0, key.outbound);
  if (level >= SL_MAX_LEVELS) return 0;
  prof = &sl_check_policy.profiles[level];
  __builtin_memset(&st, 0, sizeof(st));
  st.level = (__u8)level;
  if (cls == SL_CLASS_CLIENT_SYN)
    v = sl_act_syn(prof, prof->block, &pkt, data, data_end, &st, &tx_len);
  else if (cls == SL_CLASS_SERVER_SEG)
    v = sl_act_server_seg(prof, &st, &pkt, data_end, rnd);
  else
    v = sl_act_client_seg(prof, &st, &pkt, data_end, rnd);
  /* The building blocks on their own, as a data plane may call them. */
  ret += sl_tcp_clamp_window(&pkt, data_end, 1024);
  ret += sl_tcp_clamp_mss(&pkt, data_end, 536);
  ret += sl_tcp_nop_option(&pkt, data_end, pkt.opt_sack_perm);
  ret += sl_parse_tcp_options(&pkt, data_end);
  if (sl_chance_ppm(rnd, 500000)) ret += sl_build_rst(data, data_end, &pkt, &tx_len);
  if (pkt.tcp) {
    __u8 *t = (__u8 *)pkt.tcp;
    if (t + 20 <= (__u8 *)data_end) {
      sl_csum_replace32((__be16 *)(void *)(t + 16), 1, 2);
      sl_csum_replace16((__be16 *)(void *)(t + 16), 1, 2);
      sl_csum_replace_byte((__be16 *)(void *)(t + 16), 21, 1, 2);
    }
  }
  return ret + (int)v + (int)tx_len + key.family + st.flags + sl_csum_fold((__u32)rnd);
}

/* The heavy-hitter sketch as sl_seq_syn uses it, on a sketch in a map value (a pointer). */
__attribute__((noinline)) int sl_core_bpf_heavy_check(struct sl_heavy_sketch *s,
                                                      const struct sl_flow_key *fk, __u64 now) {
  struct sl_heavy_key host, net;
  __u32 epoch = sl_heavy_epoch(now);
  __u32 est;
  int ret = 0;

  if (!s || !fk) return 0;
  sl_heavy_keys(fk, &host, &net);
  est = sl_heavy_add(s, &host, epoch);
  ret += sl_heavy_report_point(est, 5);
  est = sl_heavy_add(s, &net, epoch);
  ret += sl_heavy_report_point(est, 5);
  ret += (int)sl_heavy_estimate(s, &host, epoch);
  return ret;
}
