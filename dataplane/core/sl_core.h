/* sluice packet core: the one header a data plane includes.
 *
 * The per-packet sequence is code, once, in sl_sequence.h (parse and classify, flow key,
 * reputation, level, flow, act, count); each runner (sluice-dp, the XDP program, the native
 * test runner) defines its environment (tables, clock, random numbers, counters) and includes
 * it, and this header includes it too when SL_ENV is defined. In short:
 *
 *   sl_parse + sl_classify   L2..L4; inbound SMTP (a client outside, the policy's smtp_ports)
 *                            or, with the policy's [outbound] section, a subscriber's
 *                            outbound SMTP (the client inside, out_ports; pkt->outbound and the
 *                            flow key say which); a client's SYN with malformed options is still
 *                            a CLIENT_SYN (looked up, blocked or shaped, its options left as
 *                            they are); other malformed packets are OTHER -> forward untouched;
 *                            TCP whose header cannot be seen (short or early fragments, long
 *                            IPv6 extension chains) towards a watched port is UNSEEN -> the
 *                            policy's unseen_tcp (drop by default)
 *   CLIENT_SYN  -> look up the client (unlisted: score 0), level = sl_level_for() among the
 *                   inbound levels, or the outbound ones for an outbound SYN; level 0 ->
 *                   forward, no state; a stateless tarpit level -> answered with a cookie
 *                   SYN-ACK (sl_cookie.h), no state; else sl_act_syn(); PASS creates the flow
 *                   (before the lookup, every inbound SYN counts for its client's address and
 *                   network in the runner's heavy-hitter sketch: sl_heavy.h; every outbound
 *                   one for its subscriber's fan-out: sl_fanout.h)
 *                   (a level with aggregate caps first checks the sender's open flows and SYN
 *                   rate: sl_caps.h; a SYN over a cap is dropped or answered with RST)
 *   CLIENT_SEG / SERVER_SEG -> the pregreet test (sl_greet.h: a server's SYN-ACK writes its
 *                   flow's greeting slot, a client's first data takes it; no packet changed);
 *                   find the flow; none -> forward untouched (a client segment
 *                   acknowledging a cookie of a still tarpitted sender: answered or dropped
 *                   here); a level the policy no longer has -> forward untouched
 *                   (stale_level); else sl_act_client_seg / sl_act_server_seg with the level's
 *                   current profile
 *
 * Runners own the state; the core owns every decision and every byte it changes. The rules
 * are in docs/packet-core.md. */
#ifndef SLUICE_CORE_SL_CORE_H
#define SLUICE_CORE_SL_CORE_H

#include "sl_base.h"
#include "sl_limits.h"
#include "sl_wire.h"
#include "sl_shared.h"
#include "sl_csum.h"
#include "sl_parse.h"
#include "sl_classify.h"
#include "sl_scope.h"
#include "sl_rewrite.h"
#include "sl_decide.h"
#include "sl_actions.h"
#include "sl_heavy.h"
#include "sl_greet.h"
#include "sl_fanout.h"
#include "sl_caps.h"
#include "sl_cookie.h"

#if defined(SL_ENV)
#include "sl_sequence.h"
#endif

#endif /* SLUICE_CORE_SL_CORE_H */
