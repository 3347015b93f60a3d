// Table replacement in the BPF maps: the program reads the new table after replace_table, the
// selector flips, and entries of the previous table no longer match.
#include <gtest/gtest.h>

#include "common/privileged.h"
#include "common/tcp_frame.h"
#include "sluice/xdp/rep_tables.h"
#include "xdp_test_support.h"

namespace sluice::xdp {
namespace {

using sluice::testing::TcpFrame;
using testing::LoadedXdp;

uint32_t be(uint32_t host) {
  return __builtin_bswap32(host);
}

// The level the program chose for a SYN from `src` (0: none), seen through the stats.
int level_of_syn(LoadedXdp &x, const TcpFrame &syn) {
  const sl_stats before = x.stats_sum();
  x.outside(syn.build());
  const sl_stats after = x.stats_sum();
  for (int l = 1; l < SL_MAX_LEVELS; l++)
    if (after.level[l].syns != before.level[l].syns) return l;
  return 0;
}

TcpFrame syn_v4(uint32_t src_host) {
  TcpFrame f;
  const uint32_t a = be(src_host);
  std::memcpy(f.src.data(), &a, 4);
  f.options = {2, 4, 0x05, 0xb4};
  return f;
}

TcpFrame syn_v6(std::array<uint8_t, 16> src) {
  TcpFrame f;
  f.v6 = true;
  f.src = src;
  const uint8_t dst[16] = {0x20, 0x01, 0x00, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25};
  std::memcpy(f.dst.data(), dst, 16);
  f.options = {2, 4, 0x05, 0xb4};
  return f;
}

TEST(XdpRepTables, ProgramSeesReplacedTableHostsAndPrefixes) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  const RepMapFds fds = rep_map_fds(x.obj);
  ASSERT_EQ(active_set(fds), 0u);
  const std::array<uint8_t, 16> v6host{0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
  std::array<uint8_t, 16> v6net{0x20, 0x01, 0x00, 0x02, 0, 0x40};

  RepTable t;
  t.hosts_v4 = {{be(0xc6120505), {3, 0}}};  // 198.18.5.5 -> level 1
  t.prefixes_v4 = {
      reputation::make_prefix_v4(be(0xc6128000), 17, {5, 0}),  // 198.18.128.0/17 -> 2
      reputation::make_prefix_v4(be(0xc612c810), 28, {8, 0}),  // 198.18.200.16/28 -> 3 (tbl8)
      reputation::make_prefix_v4(be(0xc6130000), 16, {3, SL_REP_ALLOW})};  // allowlisted
  t.hosts_v6 = {reputation::make_host_v6(v6host.data(), {9, 0})};          // -> 4
  t.prefixes_v6 = {reputation::make_prefix_v6(v6net.data(), 42, {5, 0})};  // 2001:2:0:40::/42 -> 2
  const ReplaceStats rs = replace_table(fds, t);
  EXPECT_EQ(rs.active_set, 1u);
  EXPECT_EQ(active_set(fds), 1u);

  EXPECT_EQ(level_of_syn(x, syn_v4(0xc6120505)), 1);
  EXPECT_EQ(level_of_syn(x, syn_v4(0xc6120506)), 0);
  EXPECT_EQ(level_of_syn(x, syn_v4(0xc612f001)), 2);
  EXPECT_EQ(level_of_syn(x, syn_v4(0xc612c81f)), 3);
  EXPECT_EQ(level_of_syn(x, syn_v4(0xc612c820)), 2);  // just past the /28: the /17 again
  EXPECT_EQ(level_of_syn(x, syn_v4(0xc6130101)), 0);  // allow flag
  EXPECT_EQ(level_of_syn(x, syn_v6(v6host)), 4);
  auto in42 = v6net;
  in42[5] = 0x7f;  // still inside /42
  in42[15] = 1;
  EXPECT_EQ(level_of_syn(x, syn_v6(in42)), 2);
  auto out42 = v6net;
  out42[5] = 0x80;
  EXPECT_EQ(level_of_syn(x, syn_v6(out42)), 0);

  // A second replacement goes to the other set; the first table's entries are gone.
  RepTable t2;
  t2.hosts_v4 = {{be(0xc6120506), {10, 0}}};
  EXPECT_EQ(replace_table(fds, t2).active_set, 0u);
  EXPECT_EQ(level_of_syn(x, syn_v4(0xc6120505)), 0);
  EXPECT_EQ(level_of_syn(x, syn_v4(0xc612c81f)), 0);
  EXPECT_EQ(level_of_syn(x, syn_v6(v6host)), 0);
  EXPECT_EQ(level_of_syn(x, syn_v4(0xc6120506)), 5);
}

}  // namespace
}  // namespace sluice::xdp
