/* sluice packet core: what a level's profile does to each packet of a shaped flow.
 *
 * The data plane looks up reputation and flow state, then calls exactly one of these per
 * packet (see sl_core.h). They change the packet in place, update the flow state and return
 * the verdict; timestamps, stats and storing the state are the data plane's job. */
#ifndef SLUICE_CORE_SL_ACTIONS_H
#define SLUICE_CORE_SL_ACTIONS_H

#include "sl_base.h"
#include "sl_bytes.h"
#include "sl_decide.h"
#include "sl_parse.h"
#include "sl_rewrite.h"
#include "sl_shared.h"
#include "sl_wire.h"

#define SL_WSCALE_ABSENT 0xff

/* Value bytes of the options found by the walk; 0 / SL_WSCALE_ABSENT when absent. */
SL_INLINE __u16 sl_opt_mss_value(const struct sl_pkt *pkt, void *data_end) {
  __u8 *o;
  if (pkt->tcp == 0 || pkt->opt_mss == 0) return 0;
  o = (__u8 *)pkt->tcp + pkt->opt_mss;
  if (o + 4 > (__u8 *)data_end) return 0;
  if (o[0] != SL_TCPOPT_MSS) return 0;
  return (__u16)(((__u16)o[2] << 8) | o[3]);
}

SL_INLINE __u8 sl_opt_wscale_value(const struct sl_pkt *pkt, void *data_end) {
  __u8 *o;
  if (pkt->tcp == 0 || pkt->opt_wscale == 0) return SL_WSCALE_ABSENT;
  o = (__u8 *)pkt->tcp + pkt->opt_wscale;
  if (o + 3 > (__u8 *)data_end) return SL_WSCALE_ABSENT;
  if (o[0] != SL_TCPOPT_WSCALE) return SL_WSCALE_ABSENT;
  return o[2];
}

/* Inbound SYN of a sender at a level > 0 with profile prof. `block` is the profile's block
 * mode, or the one an aggregate cap imposes on this SYN (sl_caps.h): one path for both. Block ->
 * DROP or (RST) TX with *tx_len set. Otherwise strips wscale / sack-perm as the profile says,
 * records the client's MSS/wscale and flags in *st (which the caller zeroes first, fills
 * st->level, and stores as the new flow), PASS. */
SL_INLINE enum sl_verdict sl_act_syn(const struct sl_profile *prof, __u8 block, struct sl_pkt *pkt,
                                     void *data, void *data_end, struct sl_flow_state *st,
                                     __u32 *tx_len) {
  if (block == SL_BLOCK_RST) {
    if (sl_build_rst(data, data_end, pkt, tx_len)) return SL_VERDICT_TX;
    return SL_VERDICT_DROP;
  }
  if (block == SL_BLOCK_DROP) return SL_VERDICT_DROP;

  st->client_mss = sl_opt_mss_value(pkt, data_end);
  st->client_wscale = sl_opt_wscale_value(pkt, data_end);
  st->server_wscale = SL_WSCALE_ABSENT;
  if (prof->strip_wscale && pkt->opt_wscale != 0) {
    if (sl_tcp_nop_option(pkt, data_end, pkt->opt_wscale))
      st->flags = (__u8)(st->flags | SL_FLOW_WSCALE_STRIP);
  }
  if (prof->strip_sack_perm && pkt->opt_sack_perm != 0)
    sl_tcp_nop_option(pkt, data_end, pkt->opt_sack_perm);
  return SL_VERDICT_PASS;
}

/* What a server->client segment tells the flow, whatever the level does with it: a SYN-ACK's
 * MSS and window scale (before any clamp) and SL_FLOW_SYNACK_SEEN; the first segment with
 * payload sets SL_FLOW_GREETED; FIN/RST -> SL_FLOW_CLOSING. */
SL_INLINE void sl_act_server_seg_record(struct sl_flow_state *st, const struct sl_pkt *pkt,
                                        void *data_end) {
  __u8 flags = pkt->tcp_flags;
  if ((flags & (SL_TCP_SYN | SL_TCP_ACK)) == (SL_TCP_SYN | SL_TCP_ACK)) {
    st->server_mss = sl_opt_mss_value(pkt, data_end);
    st->server_wscale = sl_opt_wscale_value(pkt, data_end);
    st->flags = (__u8)(st->flags | SL_FLOW_SYNACK_SEEN);
  }
  if (pkt->payload_len > 0) st->flags = (__u8)(st->flags | SL_FLOW_GREETED);
  if (flags & (SL_TCP_FIN | SL_TCP_RST)) st->flags = (__u8)(st->flags | SL_FLOW_CLOSING);
}

/* Server->client segment of a shaped flow: sl_act_server_seg_record; payload segments dropped
 * with server_drop_ppm (before any rewrite: a dropped segment is not worth changing); SYN-ACK:
 * clamp MSS, strip wscale if the SYN's was stripped; tarpit && greeted -> window 0 (the
 * greeting itself included), else the window clamped; DELAY if delay_us > 0, else PASS. */
SL_INLINE enum sl_verdict sl_act_server_seg(const struct sl_profile *prof, struct sl_flow_state *st,
                                            struct sl_pkt *pkt, void *data_end, __u32 rnd) {
  __u8 flags = pkt->tcp_flags;
  int is_synack = (flags & (SL_TCP_SYN | SL_TCP_ACK)) == (SL_TCP_SYN | SL_TCP_ACK);

  sl_act_server_seg_record(st, pkt, data_end);
  if (pkt->payload_len > 0 && sl_chance_ppm(rnd, prof->server_drop_ppm)) return SL_VERDICT_DROP;

  if (is_synack) {
    if (prof->mss_clamp != 0) sl_tcp_clamp_mss(pkt, data_end, prof->mss_clamp);
    if ((st->flags & SL_FLOW_WSCALE_STRIP) && pkt->opt_wscale != 0)
      sl_tcp_nop_option(pkt, data_end, pkt->opt_wscale);
  }
  if (prof->tarpit && (st->flags & SL_FLOW_GREETED)) {
    sl_tcp_clamp_window(pkt, data_end, 0);
  } else if (prof->window_clamp != 0) {
    sl_tcp_clamp_window(pkt, data_end,
                        prof->window_clamp > 0xffffu ? (__u16)0xffff : (__u16)prof->window_clamp);
  }
  if (prof->delay_us > 0) return SL_VERDICT_DELAY;
  return SL_VERDICT_PASS;
}

/* Client->server segment of a shaped flow: FIN/RST -> SL_FLOW_CLOSING; segments with payload
 * dropped with client_drop_ppm; else PASS (client segments are never rewritten). */
SL_INLINE enum sl_verdict sl_act_client_seg(const struct sl_profile *prof, struct sl_flow_state *st,
                                            struct sl_pkt *pkt, void *data_end, __u32 rnd) {
  (void)data_end;
  if (pkt->tcp_flags & (SL_TCP_FIN | SL_TCP_RST)) st->flags = (__u8)(st->flags | SL_FLOW_CLOSING);
  if (pkt->payload_len > 0 && sl_chance_ppm(rnd, prof->client_drop_ppm)) return SL_VERDICT_DROP;
  return SL_VERDICT_PASS;
}

#endif /* SLUICE_CORE_SL_ACTIONS_H */
