/* sluice packet core: pregreet, a client that talks before the server's greeting
 * (docs/observations.md#pregreet).
 *
 * An SMTP client must wait for the server's 220 greeting before it sends a command; mass-mailing
 * engines that do not give themselves away (Postfix postscreen's pregreet test). The sign on the
 * wire needs no timing: a client segment that carries payload and acknowledges the server's SYN
 * and nothing more (its acknowledgement number is the server's ISN + 1) was sent before the
 * client had received a byte of the greeting, since a TCP stack acknowledges in every segment
 * everything it has received. After the greeting every client segment acknowledges it.
 *
 * Clean flows have no state in the data plane, so the runner keeps a bounded table of greeting
 * slots for the test: the server's SYN-ACK writes its flow's slot (a tag from the flow key's
 * keyed hash and the ISN + 1, one 64-bit word), the client's first segment with payload takes
 * the slot (clears it) and compares. Direct-mapped: a later SYN-ACK whose flow picks the same
 * slot takes it over, and the earlier connection goes untested (a miss, never a false report:
 * a report needs the tag and the server's random ISN + 1 to match). Nothing expires: a slot
 * lives until it is taken or taken over. The hash is keyed with a seed the runner draws, so a
 * sender cannot aim its connections at another connection's slot. */
#ifndef SLUICE_CORE_SL_GREET_H
#define SLUICE_CORE_SL_GREET_H

#include "sl_base.h"
#include "sl_bytes.h"
#include "sl_limits.h"
#include "sl_parse.h"
#include "sl_shared.h"

#define SL_GREET_SLOTS (1u << SL_GREET_SLOTS_LOG2)
SL_STATIC_ASSERT(SL_GREET_SLOTS_LOG2 >= 4 && SL_GREET_SLOTS_LOG2 <= 24, "16 .. 2^24 slots");

/* One runner's slots (per lcore in sluice-dp; one shared array in XDP, where a SYN-ACK and its
 * client's segments may be seen by different CPUs: each slot is one aligned 64-bit word, written
 * and read whole). A slot: the tag in the high 32 bits (never 0), the server's ISN + 1 in the
 * low; 0 is empty. */
struct sl_greet_table {
  __u64 seed;
  __u64 slot[SL_GREET_SLOTS];
};

/* A runner that draws one seed for its sketch and its slots gives the slots this variant. */
#define SL_GREET_SEED_XOR 0xa0761d6478bd642full

/* The keyed hash of a flow key (its five words). */
SL_INLINE __u64 sl_greet_hash(__u64 seed, const struct sl_flow_key *k) {
  const __u8 *p = (const __u8 *)k;
  __u64 h = (sl_load64(p) ^ seed) * 0x9e3779b97f4a7c15ull;
  h = (h ^ sl_load64(p + 8)) * 0xc2b2ae3d27d4eb4full;
  h = (h ^ sl_load64(p + 16)) * 0x165667b19e3779f9ull;
  h = (h ^ sl_load64(p + 24)) * 0x9e3779b97f4a7c15ull;
  h = (h ^ sl_load64(p + 32)) * 0xc2b2ae3d27d4eb4full;
  return h ^ (h >> 32);
}

/* A runner that has a keyed 32-bit hash of the flow key already (sluice-dp's flow table's) takes
 * the slot's hash from it: the tag is that hash, the slot index its product with an odd
 * constant (a tag and an ISN + 1 must both match, so 32 bits of tag are plenty). */
SL_INLINE __u64 sl_greet_hash_from32(__u32 h) {
  return ((__u64)h << 32) | (__u32)(h * 0x9e3779b1u);
}

SL_INLINE __u64 *sl_greet_slot(struct sl_greet_table *g, __u64 h) {
  return &g->slot[(__u32)h & (SL_GREET_SLOTS - 1)];
}

SL_INLINE __u32 sl_greet_tag(__u64 h) {
  return (__u32)(h >> 32) | 1u;
}

/* Whether a segment of class cls (SL_CLASS_CLIENT_SEG or SL_CLASS_SERVER_SEG) reaches its flow's
 * slot: a server's SYN-ACK writes it, a client segment with payload takes it; every other
 * segment leaves the slots alone. */
SL_INLINE int sl_greet_touches(const struct sl_pkt *pkt, int cls) {
  if (cls == SL_CLASS_SERVER_SEG)
    return (pkt->tcp_flags & (SL_TCP_SYN | SL_TCP_ACK | SL_TCP_RST)) == (SL_TCP_SYN | SL_TCP_ACK);
  return pkt->payload_len != 0;
}

/* The server's SYN-ACK of the flow hashed to h: seq is its sequence number (the ISN). */
SL_INLINE void sl_greet_record(struct sl_greet_table *g, __u64 h, __u32 seq) {
  *sl_greet_slot(g, h) = ((__u64)sl_greet_tag(h) << 32) | (__u32)(seq + 1);
}

/* A client segment with payload of the flow hashed to h, acknowledging `ack`: 1 when it talked
 * before the greeting. The flow's slot is cleared either way, so only the first segment with
 * payload is tested; a slot another flow holds is left alone. */
SL_INLINE int sl_greet_take(struct sl_greet_table *g, __u64 h, __u32 ack) {
  __u64 *s = sl_greet_slot(g, h);
  __u64 v = *s;
  if ((__u32)(v >> 32) != sl_greet_tag(h)) return 0;
  *s = 0;
  return (__u32)v == ack;
}

#endif /* SLUICE_CORE_SL_GREET_H */
