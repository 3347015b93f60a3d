/* sluice packet core: the one header a data plane includes.
 *
 * The canonical per-packet sequence, identical in sluice-dp (DPDK) and sluice_xdp (BPF):
 *
 *   sl_parse(data, end, &pkt)                 L2..L4, no options; < 0: not ours -> forward
 *   cls = sl_classify(&pkt, end, dir, ports)  walks TCP options of SMTP segments only;
 *                                             malformed -> SL_CLASS_OTHER
 *   OTHER        -> forward untouched
 *   INBOUND_SYN  -> sl_flow_key_make(), look up the client (exact host, then longest prefix),
 *                   level = sl_level_for(policy, score, flags); level 0 -> forward, no state;
 *                   else v = sl_act_syn(profile, &pkt, data, end, &state, &tx_len);
 *                   PASS -> create the flow with `state`; DROP/TX as the verdict says
 *   CLIENT_SEG / SERVER_SEG -> sl_flow_key_make(), look up the flow; none -> forward untouched;
 *                   else v = sl_act_client_seg / sl_act_server_seg(profile, &state, &pkt, end, rnd)
 *
 * Data planes own the state (tables, maps, clocks, random numbers); the core owns every
 * decision and every byte it changes. */
#ifndef SLUICE_CORE_SL_CORE_H
#define SLUICE_CORE_SL_CORE_H

#include "sl_base.h"
#include "sl_limits.h"
#include "sl_wire.h"
#include "sl_shared.h"
#include "sl_csum.h"
#include "sl_parse.h"
#include "sl_classify.h"
#include "sl_rewrite.h"
#include "sl_decide.h"
#include "sl_actions.h"

#endif /* SLUICE_CORE_SL_CORE_H */
