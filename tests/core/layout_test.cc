// The shared structs' layouts, checked from C++ at compile time: BPF maps, the DPDK tables,
// the control protocol and snapshot files all depend on them. A failing static_assert here
// means an ABI change: bump what must be bumped (map pins, control protocol version).
#include <gtest/gtest.h>

#include <cstddef>
#include <type_traits>

#include "core/sl_core.h"

namespace {

#define SL_CHECK_OFFSET(type, field, off) \
  static_assert(offsetof(type, field) == (off), #type "." #field " offset")

static_assert(std::is_trivially_copyable_v<sl_profile> && std::is_standard_layout_v<sl_profile>);
static_assert(sizeof(sl_profile) == 24 && alignof(sl_profile) == 4);
SL_CHECK_OFFSET(sl_profile, window_clamp, 0);
SL_CHECK_OFFSET(sl_profile, delay_us, 4);
SL_CHECK_OFFSET(sl_profile, client_drop_ppm, 8);
SL_CHECK_OFFSET(sl_profile, server_drop_ppm, 12);
SL_CHECK_OFFSET(sl_profile, mss_clamp, 16);
SL_CHECK_OFFSET(sl_profile, strip_wscale, 18);
SL_CHECK_OFFSET(sl_profile, strip_sack_perm, 19);
SL_CHECK_OFFSET(sl_profile, tarpit, 20);
SL_CHECK_OFFSET(sl_profile, block, 21);
SL_CHECK_OFFSET(sl_profile, observe, 22);
SL_CHECK_OFFSET(sl_profile, pad, 23);

static_assert(std::is_standard_layout_v<sl_policy>);
static_assert(sizeof(sl_policy) == SL_MAX_LEVELS * 4 + SL_MAX_LEVELS * 24 + SL_MAX_SMTP_PORTS * 2 +
                                       12 + 8 + SL_MAX_SERVER_PREFIXES * (8 + 32) + 4 + 4 + 16 +
                                       SL_MAX_LEVELS * 24 + 4 + SL_MAX_SMTP_PORTS * 2 + 4);
// Appended fields follow the older ones: an older layout is a prefix (map_layout.h).
SL_CHECK_OFFSET(sl_policy, caps,
                SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 20 + SL_MAX_SERVER_PREFIXES * 40 + 4 +
                    4 + 16);
SL_CHECK_OFFSET(sl_policy, pregreet,
                SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 20 + SL_MAX_SERVER_PREFIXES * 40 + 4 +
                    4 + 16 + SL_MAX_LEVELS * 24);
SL_CHECK_OFFSET(sl_policy, out_ports,
                SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 20 + SL_MAX_SERVER_PREFIXES * 40 + 4 +
                    4 + 16 + SL_MAX_LEVELS * 24 + 4);
SL_CHECK_OFFSET(sl_policy, out_first,
                SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 4 + 20 + SL_MAX_SERVER_PREFIXES * 40 + 4 +
                    4 + 16 + SL_MAX_LEVELS * 24 + 4);
static_assert(sizeof(sl_caps) == 24);
SL_CHECK_OFFSET(sl_caps, syn_interval_us, 0);
SL_CHECK_OFFSET(sl_caps, syn_tolerance_us, 4);
SL_CHECK_OFFSET(sl_caps, max_flows, 8);
SL_CHECK_OFFSET(sl_caps, max_flows_net, 12);
SL_CHECK_OFFSET(sl_caps, over, 16);
static_assert(sizeof(sl_cap_entry) == 24);
SL_CHECK_OFFSET(sl_cap_entry, tat, 0);
SL_CHECK_OFFSET(sl_cap_entry, touched_ns, 8);
SL_CHECK_OFFSET(sl_cap_entry, flows, 16);
static_assert(alignof(sl_policy) == 4);
SL_CHECK_OFFSET(sl_policy, heavy_syn_threshold,
                SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 20 + SL_MAX_SERVER_PREFIXES * 40);
SL_CHECK_OFFSET(sl_policy, thresholds, 0);
SL_CHECK_OFFSET(sl_policy, profiles, SL_MAX_LEVELS * 4);
SL_CHECK_OFFSET(sl_policy, smtp_ports, SL_MAX_LEVELS * 28);
SL_CHECK_OFFSET(sl_policy, nlevels, SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2);
SL_CHECK_OFFSET(sl_policy, generation, SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 4);
SL_CHECK_OFFSET(sl_policy, unseen_tcp, SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 8);
SL_CHECK_OFFSET(sl_policy, nservers4, SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 12);
SL_CHECK_OFFSET(sl_policy, nservers6, SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 16);
SL_CHECK_OFFSET(sl_policy, servers4, SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 20);
SL_CHECK_OFFSET(sl_policy, servers6,
                SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 20 + SL_MAX_SERVER_PREFIXES * 8);
static_assert(sizeof(sl_prefix4) == 8 && sizeof(sl_prefix6) == 32);
SL_CHECK_OFFSET(sl_prefix4, mask, 4);
SL_CHECK_OFFSET(sl_prefix6, mask, 16);
SL_CHECK_OFFSET(sl_policy, heavy_syn_threshold,
                SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 20 + SL_MAX_SERVER_PREFIXES * 40);
SL_CHECK_OFFSET(sl_policy, tarpit_cookies,
                SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 24 + SL_MAX_SERVER_PREFIXES * 40);
SL_CHECK_OFFSET(sl_policy, cookie_key,
                SL_MAX_LEVELS * 28 + SL_MAX_SMTP_PORTS * 2 + 28 + SL_MAX_SERVER_PREFIXES * 40);

static_assert(sizeof(sl_rep_value) == 8 && alignof(sl_rep_value) == 4);
SL_CHECK_OFFSET(sl_rep_value, score, 0);
SL_CHECK_OFFSET(sl_rep_value, flags, 4);

static_assert(sizeof(sl_flow_key) == 40 && alignof(sl_flow_key) == 8);
SL_CHECK_OFFSET(sl_flow_key, client, 0);
SL_CHECK_OFFSET(sl_flow_key, server, 16);
SL_CHECK_OFFSET(sl_flow_key, client_port, 32);
SL_CHECK_OFFSET(sl_flow_key, server_port, 34);
SL_CHECK_OFFSET(sl_flow_key, family, 36);
SL_CHECK_OFFSET(sl_flow_key, outbound, 37);
SL_CHECK_OFFSET(sl_flow_key, pad, 38);

static_assert(sizeof(sl_flow_state) == 32 && alignof(sl_flow_state) == 8);
SL_CHECK_OFFSET(sl_flow_state, created_ns, 0);
SL_CHECK_OFFSET(sl_flow_state, last_seen_ns, 8);
SL_CHECK_OFFSET(sl_flow_state, client_mss, 16);
SL_CHECK_OFFSET(sl_flow_state, server_mss, 18);
SL_CHECK_OFFSET(sl_flow_state, client_wscale, 20);
SL_CHECK_OFFSET(sl_flow_state, server_wscale, 21);
SL_CHECK_OFFSET(sl_flow_state, level, 22);
SL_CHECK_OFFSET(sl_flow_state, flags, 23);
SL_CHECK_OFFSET(sl_flow_state, gen, 24);

static_assert(sizeof(sl_level_stats) == 56);
SL_CHECK_OFFSET(sl_level_stats, syns, 0);
SL_CHECK_OFFSET(sl_level_stats, flows, 8);
SL_CHECK_OFFSET(sl_level_stats, rewritten, 16);
SL_CHECK_OFFSET(sl_level_stats, delayed, 24);
SL_CHECK_OFFSET(sl_level_stats, dropped, 32);
SL_CHECK_OFFSET(sl_level_stats, rst_sent, 40);
SL_CHECK_OFFSET(sl_level_stats, observed, 48);

static_assert(sizeof(sl_stats) == 8 * 8 + SL_MAX_LEVELS * 56 + 17 * 8);
SL_CHECK_OFFSET(sl_stats, packets, 0);
SL_CHECK_OFFSET(sl_stats, smtp, 16);
SL_CHECK_OFFSET(sl_stats, malformed, 32);
SL_CHECK_OFFSET(sl_stats, lookups, 40);
SL_CHECK_OFFSET(sl_stats, flow_evictions, 48);
SL_CHECK_OFFSET(sl_stats, flow_table_full, 56);
SL_CHECK_OFFSET(sl_stats, level, 64);
SL_CHECK_OFFSET(sl_stats, stale_level, 64 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, frag_smtp, 72 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, frag_later, 80 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, unseen, 88 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, unseen_dropped, 96 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, relookups, 104 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, level_changes, 112 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, out_of_scope, 120 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, tarpit_synacks, 128 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, tarpit_acks, 136 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, tarpit_silent, 144 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, caps_rate, 152 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, caps_flows, 160 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, caps_evicted, 168 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, tarpit_held, 176 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, tarpit_released, 184 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_stats, pregreet, 192 + SL_MAX_LEVELS * 56);
SL_CHECK_OFFSET(sl_held_frame, bytes, 8);

// Wire headers: exact on-the-wire offsets.
SL_CHECK_OFFSET(sl_ipv4, saddr, 12);
SL_CHECK_OFFSET(sl_ipv4, daddr, 16);
SL_CHECK_OFFSET(sl_ipv6, saddr, 8);
SL_CHECK_OFFSET(sl_ipv6, daddr, 24);
SL_CHECK_OFFSET(sl_tcp, doff_res, 12);
SL_CHECK_OFFSET(sl_tcp, window, 14);
SL_CHECK_OFFSET(sl_tcp, check, 16);

// The parse cursor (not shared across processes, but BPF keeps it on the stack: keep it small).
static_assert(sizeof(sl_pkt) == 40);

// Enum values are part of the ABI too (stats indices, verdict codes in maps and logs).
TEST(Layout, EnumValuesAreTheDocumentedOnes) {
  EXPECT_EQ(SL_DIR_FROM_OUTSIDE, 0);
  EXPECT_EQ(SL_DIR_FROM_INSIDE, 1);
  EXPECT_EQ(SL_CLASS_OTHER, 0);
  EXPECT_EQ(SL_CLASS_CLIENT_SYN, 1);
  EXPECT_EQ(SL_CLASS_CLIENT_SEG, 2);
  EXPECT_EQ(SL_CLASS_SERVER_SEG, 3);
  EXPECT_EQ(SL_CLASS_UNSEEN, 4);
  EXPECT_EQ(SL_UNSEEN_DROP, 0);
  EXPECT_EQ(SL_UNSEEN_PASS, 1);
  EXPECT_EQ(SL_VERDICT_PASS, 0);
  EXPECT_EQ(SL_VERDICT_DROP, 1);
  EXPECT_EQ(SL_VERDICT_TX, 2);
  EXPECT_EQ(SL_VERDICT_DELAY, 3);
  EXPECT_EQ(SL_BLOCK_NONE, 0);
  EXPECT_EQ(SL_BLOCK_DROP, 1);
  EXPECT_EQ(SL_BLOCK_RST, 2);
}

}  // namespace
