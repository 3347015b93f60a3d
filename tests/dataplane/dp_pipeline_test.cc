// sluice-dp's worker on DPDK virtual ports (net_ring, EAL --no-huge --no-pci): what leaves
// each port for each kind of input, with the per-level profiles of a test policy.
#include <arpa/inet.h>
#include <rte_lcore.h>

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "common/privileged.h"
#include "dp_published.h"
#include "dp_worker.h"
#include "dpdk_env.h"
#include "common/frames.h"
#include "policy_file.h"

namespace sluice::dataplane {
namespace {

using testing::TcpFrame;

constexpr uint64_t kMs = 1'000'000;

const char *kPolicy = R"(
[smtp]
ports = 25
[level.1]
name = throttle
threshold = 3
window_clamp = 2048
mss_clamp = 536
[level.2]
name = slow
threshold = 5
window_clamp = 4096
delay_ms = 200
[level.3]
name = tarpit
threshold = 8
tarpit = true
[level.4]
name = block-rst
threshold = 10
block = rst
[level.5]
name = block-drop
threshold = 20
block = drop
)";

uint32_t v4(const char *s) {
  uint32_t a;
  inet_pton(AF_INET, s, &a);
  return a;
}

std::unique_ptr<PolicyBox> test_policy() {
  std::istringstream in(kPolicy);
  PolicyFile pf = parse_policy(in, "test");
  auto box = std::make_unique<PolicyBox>();
  box->policy = pf.policy;
  box->level_names = pf.level_names;
  return box;
}

// Senders 198.18.1.<score>: host entries whose score is the last octet.
std::unique_ptr<RepTable> test_table(std::initializer_list<int> scores) {
  RepTableInput in;
  for (int s : scores) {
    const std::string a = "198.18.1." + std::to_string(s);
    in.hosts_v4.push_back({v4(a.c_str()), {s, 0}});
  }
  return std::make_unique<RepTable>(in);
}

class DpWorker : public ::testing::Test {
 protected:
  void SetUp() override {
    SLUICE_REQUIRE_PRIVILEGED();
    const std::string err = testing::eal_init_once();
    ASSERT_EQ(err, "");
    static int n = 0;
    ++n;
    outside_ = testing::make_ring_port("out" + std::to_string(n));
    inside_ = testing::make_ring_port("in" + std::to_string(n));
    pub_ = std::make_unique<Published>(RTE_MAX_LCORE);
    pub_->set_policy(test_policy());
    pub_->set_rep(test_table({3, 5, 8, 10, 25}));
    WorkerConfig wc;
    wc.flows.max_flows = 1024;
    wc.pacer.capacity = 1024;
    worker_ = std::make_unique<Worker>(0, outside_.id, inside_.id, 0, wc, *pub_, 0);
  }

  // Sends frames through one poll at time `now` and returns what each port transmitted.
  void step(uint64_t now) { worker_->poll_once(now); }

  TcpFrame syn_from(int score, uint16_t sport = 40000) {
    TcpFrame f;
    f.src = "198.18.1." + std::to_string(score);
    f.sport = sport;
    f.options = testing::linux_syn_options();
    return f;
  }
  TcpFrame server_seg(const TcpFrame &syn, uint8_t flags, size_t payload = 0) {
    TcpFrame f;
    f.src = syn.dst;
    f.dst = syn.src;
    f.sport = syn.dport;
    f.dport = syn.sport;
    f.flags = flags;
    f.seq = 5000;
    f.ack = syn.seq + 1;
    f.window = 65160;
    if (flags & 0x02) f.options = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
    f.payload.assign(payload, 'x');
    return f;
  }

  testing::RingPort outside_, inside_;
  std::unique_ptr<Published> pub_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(DpWorker, NonIpAndCleanTrafficCrossByteIdentical) {
  const auto arp = testing::arp_frame();
  TcpFrame clean = syn_from(0);
  clean.src = "198.18.7.7";  // not in the table
  const auto syn = clean.build();
  TcpFrame web = syn_from(25);
  web.dport = 80;  // a listed sender, but not SMTP
  const auto http = web.build();
  outside_.inject(arp);
  outside_.inject(syn);
  outside_.inject(http);
  inside_.inject(arp);
  step(1 * kMs);
  const auto to_inside = inside_.drain();
  const auto to_outside = outside_.drain();
  ASSERT_EQ(to_inside.size(), 3u);
  EXPECT_EQ(to_inside[0], arp);
  EXPECT_EQ(to_inside[1], syn);
  EXPECT_EQ(to_inside[2], http);
  ASSERT_EQ(to_outside.size(), 1u);
  EXPECT_EQ(to_outside[0], arp);
  EXPECT_EQ(worker_->port_counters(SL_DIR_FROM_OUTSIDE).rx, 3u);
  EXPECT_EQ(worker_->port_counters(SL_DIR_FROM_INSIDE).tx, 3u);
  EXPECT_EQ(worker_->pipeline().flows().size(), 0u) << "clean flows get no state";
  EXPECT_EQ(worker_->pipeline().stats().lookups, 1u) << "one lookup, on the SMTP SYN only";
}

TEST_F(DpWorker, BlockRstAnswersTheSynOnTheOutsidePort) {
  const TcpFrame syn = syn_from(10);
  outside_.inject(syn.build());
  step(1 * kMs);
  EXPECT_TRUE(inside_.drain().empty());
  const auto back = outside_.drain();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(testing::tcp_flags(back[0]), 0x14) << "RST|ACK";
  EXPECT_TRUE(testing::checksums_ok(back[0]));
  EXPECT_EQ(worker_->pipeline().stats().level[4].rst_sent, 1u);
}

TEST_F(DpWorker, BlockDropDropsTheSyn) {
  outside_.inject(syn_from(25).build());
  step(1 * kMs);
  EXPECT_TRUE(inside_.drain().empty());
  EXPECT_TRUE(outside_.drain().empty());
  EXPECT_EQ(worker_->pipeline().stats().level[5].dropped, 1u);
}

TEST_F(DpWorker, ThrottledFlowGetsWscaleStrippedAndWindowAndMssClamped) {
  const TcpFrame syn = syn_from(3);
  outside_.inject(syn.build());
  step(1 * kMs);
  const auto in = inside_.drain();
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(testing::tcp_option(in[0], 3), -1) << "window scale replaced by NOPs";
  EXPECT_EQ(testing::tcp_option(in[0], 2), 1460) << "the client's MSS is left alone";
  EXPECT_TRUE(testing::checksums_ok(in[0]));
  EXPECT_EQ(worker_->pipeline().flows().size(), 1u);

  inside_.inject(server_seg(syn, 0x12).build());  // SYN-ACK
  step(2 * kMs);
  const auto out = outside_.drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_LE(testing::tcp_window(out[0]), 2048);
  EXPECT_EQ(testing::tcp_option(out[0], 2), 536);
  EXPECT_TRUE(testing::checksums_ok(out[0]));
  EXPECT_GE(worker_->pipeline().stats().level[1].rewritten, 2u);
}

TEST_F(DpWorker, DelayLevelHoldsServerSegmentsForTheDelayInOrder) {
  const TcpFrame syn = syn_from(5);
  outside_.inject(syn.build());
  step(1 * kMs);
  ASSERT_EQ(inside_.drain().size(), 1u);
  inside_.inject(server_seg(syn, 0x12).build());
  step(10 * kMs);
  EXPECT_TRUE(outside_.drain().empty()) << "held by the pacer";
  std::vector<std::vector<uint8_t>> sent;
  for (uint32_t i = 0; i < 3; ++i) {
    TcpFrame d = server_seg(syn, 0x18, 10);
    d.seq = 5001 + i * 10;
    inside_.inject(d.build());
  }
  step(20 * kMs);
  EXPECT_EQ(worker_->pacer().depth(), 4u);
  step(209 * kMs);
  EXPECT_TRUE(outside_.drain().empty()) << "not before 200 ms";
  step(211 * kMs);
  auto out = outside_.drain();
  ASSERT_EQ(out.size(), 1u) << "the SYN-ACK, 200 ms after it arrived";
  EXPECT_EQ(testing::tcp_flags(out[0]), 0x12);
  step(221 * kMs);
  out = outside_.drain();
  ASSERT_EQ(out.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    const size_t t = testing::tcp_offset(out[i]);
    const uint32_t seq = uint32_t{out[i][t + 4]} << 24 | uint32_t{out[i][t + 5]} << 16 |
                         uint32_t{out[i][t + 6]} << 8 | out[i][t + 7];
    EXPECT_EQ(seq, 5001 + i * 10) << "flow order kept";
    EXPECT_LE(testing::tcp_window(out[i]), 4096);
  }
  EXPECT_EQ(worker_->pipeline().stats().level[2].delayed, 4u);
}

TEST_F(DpWorker, TarpitZeroWindowAfterGreeting) {
  const TcpFrame syn = syn_from(8);
  outside_.inject(syn.build());
  step(1 * kMs);
  inside_.drain();
  inside_.inject(server_seg(syn, 0x12).build());
  inside_.inject(server_seg(syn, 0x18, 30).build());  // "220 ..." greeting
  inside_.inject(server_seg(syn, 0x10).build());      // a later ACK
  step(2 * kMs);
  const auto out = outside_.drain();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_GT(testing::tcp_window(out[0]), 0) << "SYN-ACK keeps a window";
  EXPECT_EQ(testing::tcp_window(out[2]), 0) << "zero window after the greeting";
}

// Table and policy replaced 200 times while an lcore forwards: every frame arrives (an update
// loses no packet), and the new table takes effect.
TEST_F(DpWorker, RcuUpdatesWhileForwardingLoseNothing) {
  std::atomic<bool> quit{false};
  std::thread lcore([&] { worker_->run(quit); });
  const auto arp = testing::arp_frame();
  size_t received = 0;
  const size_t kFrames = 2000;
  for (size_t i = 0; i < kFrames; ++i) {
    while (true) {
      try {
        outside_.inject(arp);
        break;
      } catch (const std::runtime_error &) {
        received += inside_.drain().size();  // ring full: let the lcore catch up
      }
    }
    if (i % 10 == 0) {
      pub_->set_rep(test_table({3, 5, 8, 10, 25}));
      pub_->set_policy(test_policy());
    }
    received += inside_.drain().size();
  }
  pub_->set_rep(test_table({}));  // 198.18.1.10 is no longer blocked
  outside_.inject(syn_from(10).build());
  for (int spin = 0; spin < 200000 && received < kFrames + 1; ++spin) {
    received += inside_.drain().size();
    std::this_thread::yield();
  }
  quit = true;
  lcore.join();
  EXPECT_EQ(received, kFrames + 1);
  EXPECT_EQ(worker_->port_counters(SL_DIR_FROM_INSIDE).tx_dropped, 0u);
  EXPECT_GE(pub_->table_updates(), 200u);
}

// Two lcores, one queue pair each (what symmetric RSS gives on a NIC; here the test plays RSS
// by choosing the queue): each lcore shapes the flows of its own queue with its own flow table,
// both directions of a flow on the same queue, and the shared policy and table serve both.
TEST(DpTwoLcores, EachQueueHasItsOwnLcoreAndFlowTable) {
  SLUICE_REQUIRE_PRIVILEGED();
  ASSERT_EQ(testing::eal_init_once(), "");
  testing::RingPort outside = testing::make_ring_port("mqo", 2);
  testing::RingPort inside = testing::make_ring_port("mqi", 2);
  Published pub(RTE_MAX_LCORE);
  pub.set_policy(test_policy());
  pub.set_rep(test_table({3}));
  WorkerConfig wc;
  wc.flows.max_flows = 64;
  Worker w0(0, outside.id, inside.id, 0, wc, pub, 0);
  Worker w1(1, outside.id, inside.id, 1, wc, pub, 0);
  TcpFrame syn;
  syn.src = "198.18.1.3";
  syn.options = testing::linux_syn_options();
  outside.inject(syn.build(), 1);
  w0.poll_once(kMs);
  w1.poll_once(kMs);
  EXPECT_TRUE(inside.drain(0).empty());
  const auto in1 = inside.drain(1);
  ASSERT_EQ(in1.size(), 1u) << "forwarded on the queue it arrived on";
  EXPECT_EQ(testing::tcp_option(in1[0], 3), -1) << "shaped by lcore 1";
  EXPECT_EQ(w0.pipeline().flows().size(), 0u);
  EXPECT_EQ(w1.pipeline().flows().size(), 1u);
  TcpFrame synack;
  synack.src = syn.dst;
  synack.dst = syn.src;
  synack.sport = syn.dport;
  synack.dport = syn.sport;
  synack.flags = 0x12;
  synack.options = {2, 4, 0x05, 0xb4};
  inside.inject(synack.build(), 1);
  w0.poll_once(2 * kMs);
  w1.poll_once(2 * kMs);
  const auto out1 = outside.drain(1);
  ASSERT_EQ(out1.size(), 1u);
  EXPECT_LE(testing::tcp_window(out1[0]), 2048);
  EXPECT_EQ(testing::tcp_option(out1[0], 2), 536);
}

}  // namespace
}  // namespace sluice::dataplane
