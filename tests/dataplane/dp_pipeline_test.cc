// sluice-dp's worker on DPDK virtual ports (net_ring, EAL --no-huge --no-pci): what leaves
// each port for each kind of input, with the per-level profiles of a test policy.
#include <arpa/inet.h>
#include <rte_lcore.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/privileged.h"
#include "dp_published.h"
#include "dp_worker.h"
#include "dpdk_env.h"
#include "common/frame_fields.h"
#include "common/tcp_frame.h"
#include "policy_file.h"

namespace sluice::dataplane {
namespace {

using sluice::testing::address;
using sluice::testing::arp_frame;
using sluice::testing::checksums_ok;
using sluice::testing::linux_syn;
using sluice::testing::tcp_flags;
using sluice::testing::tcp_offset;
using sluice::testing::tcp_option;
using sluice::testing::tcp_window;
using sluice::testing::TcpFrame;

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
    TcpFrame f = linux_syn("198.18.1." + std::to_string(score), "198.18.0.2");
    f.sport = sport;
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
  const auto arp = arp_frame();
  TcpFrame clean = syn_from(0);
  clean.src = address("198.18.7.7");  // not in the table
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
  EXPECT_EQ(tcp_flags(back[0]), 0x14) << "RST|ACK";
  EXPECT_TRUE(checksums_ok(back[0]));
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
  EXPECT_EQ(tcp_option(in[0], 3), -1) << "window scale replaced by NOPs";
  EXPECT_EQ(tcp_option(in[0], 2), 1460) << "the client's MSS is left alone";
  EXPECT_TRUE(checksums_ok(in[0]));
  EXPECT_EQ(worker_->pipeline().flows().size(), 1u);

  inside_.inject(server_seg(syn, 0x12).build());  // SYN-ACK
  step(2 * kMs);
  const auto out = outside_.drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_LE(tcp_window(out[0]), 2048);
  EXPECT_EQ(tcp_option(out[0], 2), 536);
  EXPECT_TRUE(checksums_ok(out[0]));
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
  EXPECT_EQ(tcp_flags(out[0]), 0x12);
  step(221 * kMs);
  out = outside_.drain();
  ASSERT_EQ(out.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    const size_t t = tcp_offset(out[i]);
    const uint32_t seq = uint32_t{out[i][t + 4]} << 24 | uint32_t{out[i][t + 5]} << 16 |
                         uint32_t{out[i][t + 6]} << 8 | out[i][t + 7];
    EXPECT_EQ(seq, 5001 + i * 10) << "flow order kept";
    EXPECT_LE(tcp_window(out[i]), 4096);
  }
  EXPECT_EQ(worker_->pipeline().stats().level[2].delayed, 4u);
}

// A pacer with room for two packets: the third and fourth delayed segments of a "slow" flow
// are refused, dropped (never forwarded early) and counted; the two held ones leave on time.
TEST_F(DpWorker, AFullPacerDropsAndCountsADelayedPacket) {
  WorkerConfig wc;
  wc.flows.max_flows = 64;
  wc.pacer.capacity = 2;
  Worker w(1, outside_.id, inside_.id, 0, wc, *pub_, 0);
  const TcpFrame syn = syn_from(5);  // level 2, "slow": delay_ms = 200
  outside_.inject(syn.build());
  w.poll_once(1 * kMs);
  ASSERT_EQ(inside_.drain().size(), 1u);
  for (uint32_t i = 0; i < 4; ++i) {
    TcpFrame d = server_seg(syn, 0x18, 10);
    d.seq = 5001 + i * 10;
    inside_.inject(d.build());
  }
  w.poll_once(2 * kMs);
  EXPECT_TRUE(outside_.drain().empty()) << "a refused packet must not be forwarded early";
  EXPECT_EQ(w.pacer().depth(), 2u);
  EXPECT_EQ(w.pacer().counters().refused, 2u);
  EXPECT_EQ(w.pipeline().extra().pacer_drops, 2u);
  EXPECT_EQ(w.pipeline().stats().level[2].dropped, 2u);
  EXPECT_EQ(w.pipeline().stats().level[2].delayed, 2u);
  w.poll_once(201 * kMs);
  EXPECT_TRUE(outside_.drain().empty()) << "not before 200 ms";
  w.poll_once(203 * kMs);
  const auto out = outside_.drain();
  ASSERT_EQ(out.size(), 2u) << "the two held segments, and only them";
  for (uint32_t i = 0; i < 2; ++i) {
    const size_t t = tcp_offset(out[i]);
    const uint32_t seq = uint32_t{out[i][t + 4]} << 24 | uint32_t{out[i][t + 5]} << 16 |
                         uint32_t{out[i][t + 6]} << 8 | out[i][t + 7];
    EXPECT_EQ(seq, 5001 + i * 10);
  }
  w.poll_once(1000 * kMs);
  EXPECT_TRUE(outside_.drain().empty()) << "a refused packet came out later";
  EXPECT_EQ(w.pacer().depth(), 0u);
}

// A shaped flow nobody uses is removed once the idle timeout has passed (clock given by the
// test): still there just before, gone just after, and the sender's next segment then passes
// untouched (no state, no clamp).
TEST_F(DpWorker, AnIdleFlowExpiresAfterTheIdleTimeout) {
  WorkerConfig wc;
  wc.flows.max_flows = 64;
  wc.flows.idle_timeout_ns = 30'000 * kMs;
  Worker w(1, outside_.id, inside_.id, 0, wc, *pub_, 0);
  const TcpFrame syn = syn_from(3);  // level 1, throttle: window clamped to 2048
  outside_.inject(syn.build());
  w.poll_once(1 * kMs);
  ASSERT_EQ(inside_.drain().size(), 1u);
  inside_.inject(server_seg(syn, 0x12).build());
  const uint64_t last = 2 * kMs;
  w.poll_once(last);
  auto out = outside_.drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(tcp_window(out[0]), 2048) << "shaped while the flow exists";
  ASSERT_EQ(w.pipeline().flows().size(), 1u);

  w.control_tick(last + wc.flows.idle_timeout_ns - 1 * kMs);
  EXPECT_EQ(w.pipeline().flows().size(), 1u) << "expired before its idle timeout";
  EXPECT_EQ(w.pipeline().flows().counters().expired, 0u);
  w.control_tick(last + wc.flows.idle_timeout_ns + 1 * kMs);
  EXPECT_EQ(w.pipeline().flows().size(), 0u) << "still there after its idle timeout";
  EXPECT_EQ(w.pipeline().flows().counters().expired, 1u);

  TcpFrame greeting = server_seg(syn, 0x18, 30);
  greeting.seq = 5001;
  inside_.inject(greeting.build());
  w.poll_once(last + wc.flows.idle_timeout_ns + 2 * kMs);
  out = outside_.drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], greeting.build()) << "a segment of an expired flow is forwarded as is";
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
  EXPECT_GT(tcp_window(out[0]), 0) << "SYN-ACK keeps a window";
  EXPECT_EQ(tcp_window(out[2]), 0) << "zero window after the greeting";
}

// Two versions of the table and of the policy, swapped by a second thread while the lcore
// forwards SMTP SYNs and shaped segments that read both. Every combination gives a SYN a
// different verdict, and every policy a shaped segment a different window, so each packet says
// which table and policy it saw:
//   table A: the sender scores 3 (level 1)        table B: it scores 12 (level 2)
//   policy A: level 1 clamps the window to 2048   policy B: level 1 clamps to 1024 and strips
//             (wscale stripped, SACK kept);                 SACK too; level 2 drops the SYN
//             level 2 answers RST
// A version published (set_* returned) before a packet was sent must be the one it sees or a
// later one; a version whose publication started after its outcome was seen cannot be. So the
// version each packet saw must have the parity its verdict says, within [published before,
// started before the outcome]. A marker frame sent after each packet (ARP, forwarded as is)
// says when the lcore is done with it, including when it was dropped.
class RcuVersions {
 public:
  static constexpr int kSender = 100;  // 198.18.1.100
  explicit RcuVersions(Published &pub) : pub_(pub) { publish(0); }

  void publish(uint32_t v) {
    table_started_ = v;
    pub_.set_rep(v % 2 == 0 ? table_a() : table_b());
    table_done_ = v;
    policy_started_ = v;
    pub_.set_policy(v % 2 == 0 ? policy_of(kPolicyA) : policy_of(kPolicyB));
    policy_done_ = v;
  }
  // [lowest, highest] version of the table / policy a packet can have seen.
  uint32_t table_done() const { return table_done_; }
  uint32_t table_started() const { return table_started_; }
  uint32_t policy_done() const { return policy_done_; }
  uint32_t policy_started() const { return policy_started_; }

  // True if a version of `parity` lies in [lo, hi].
  static bool possible(uint32_t lo, uint32_t hi, uint32_t parity) {
    for (uint32_t v = lo; v <= hi; ++v)
      if (v % 2 == parity) return true;
    return false;
  }

 private:
  static constexpr const char *kPolicyA =
      "[level.1]\nthreshold = 3\nwindow_clamp = 2048\n[level.2]\nthreshold = 10\nblock = rst\n";
  static constexpr const char *kPolicyB =
      "[level.1]\nthreshold = 3\nwindow_clamp = 1024\nstrip_sack_perm = true\n"
      "[level.2]\nthreshold = 10\nblock = drop\n";
  static std::unique_ptr<PolicyBox> policy_of(const char *text) {
    std::istringstream in(text);
    PolicyFile pf = parse_policy(in, "rcu");
    auto box = std::make_unique<PolicyBox>();
    box->policy = pf.policy;
    box->level_names = pf.level_names;
    return box;
  }
  static std::unique_ptr<RepTable> table_a() { return sender_scoring(3); }
  static std::unique_ptr<RepTable> table_b() { return sender_scoring(12); }
  static std::unique_ptr<RepTable> sender_scoring(int score) {
    RepTableInput in;
    in.hosts_v4.push_back({v4("198.18.1.100"), {score, 0}});
    return std::make_unique<RepTable>(in);
  }

  Published &pub_;
  std::atomic<uint32_t> table_started_{0}, table_done_{0}, policy_started_{0}, policy_done_{0};
};

TEST_F(DpWorker, RcuUpdatesWhileForwardingLoseNothing) {
  RcuVersions versions(*pub_);
  std::atomic<bool> quit{false}, stop_swapping{false};
  std::atomic<uint32_t> published{0};
  std::thread lcore([&] { worker_->run(quit); });
  // Swaps as fast as RCU lets it, with a short pause now and then so that some packets see
  // one settled version (their check is then exact) and others race a swap.
  std::thread swapper([&] {
    for (uint32_t v = 1; !stop_swapping.load(); ++v) {
      versions.publish(v);
      published = v;
      if (v % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto stop = [&] {
    stop_swapping = true;
    if (swapper.joinable()) swapper.join();
    quit = true;
    if (lcore.joinable()) lcore.join();
  };
  struct OnExit {
    std::function<void()> f;
    ~OnExit() { f(); }
  } joins{stop};  // also when an ASSERT leaves early
  const auto arp = arp_frame();
  // Sends `frame` then a marker into `port` and waits until the marker has crossed to `peer`:
  // returns what `port`'s peer and `port` itself transmitted meanwhile (without the marker).
  auto send = [&](testing::RingPort &from, testing::RingPort &to, const std::vector<uint8_t> &f) {
    from.inject(f);
    from.inject(arp);
    std::vector<std::vector<uint8_t>> forwarded, answered;
    for (int spin = 0; spin < 2'000'000; ++spin) {
      for (auto &x : to.drain()) forwarded.push_back(std::move(x));
      for (auto &x : from.drain()) answered.push_back(std::move(x));
      if (!forwarded.empty() && forwarded.back() == arp) {
        forwarded.pop_back();
        return std::make_pair(forwarded, answered);
      }
      std::this_thread::yield();
    }
    ADD_FAILURE() << "the marker never came out";
    return std::make_pair(forwarded, answered);
  };

  enum Outcome { kShapedA, kShapedB, kRst, kDropped };
  int outcomes[4] = {};
  size_t exact_table = 0, exact_policy = 0, exact_seg = 0, segments = 0, escalated = 0;
  const int kSyns = 400;
  for (int i = 0; i < kSyns && !HasFatalFailure(); ++i) {
    SCOPED_TRACE("SYN " + std::to_string(i));
    TcpFrame syn = syn_from(RcuVersions::kSender, static_cast<uint16_t>(20000 + i));
    const uint32_t t_lo = versions.table_done(), p_lo = versions.policy_done();
    auto [fwd, back] = send(outside_, inside_, syn.build());
    const uint32_t t_hi = versions.table_started(), p_hi = versions.policy_started();
    Outcome o;
    if (fwd.size() == 1 && back.empty()) {
      const bool wscale = tcp_option(fwd[0], 3) != -1;
      const bool sack = tcp_option(fwd[0], 4) != -1;
      ASSERT_FALSE(wscale) << "a level-1 SYN keeps its window scale";
      ASSERT_TRUE(checksums_ok(fwd[0]));
      o = sack ? kShapedA : kShapedB;
    } else if (fwd.empty() && back.size() == 1) {
      ASSERT_EQ(tcp_flags(back[0]) & 0x04, 0x04) << "the answer is not a RST";
      o = kRst;
    } else {
      ASSERT_TRUE(fwd.empty() && back.empty())
          << fwd.size() << " forwarded, " << back.size() << " answered";
      o = kDropped;
    }
    ++outcomes[o];
    // Table A <=> level 1 (shaped); policy A <=> SACK kept or RST.
    const uint32_t table_parity = (o == kShapedA || o == kShapedB) ? 0 : 1;
    const uint32_t policy_parity = (o == kShapedA || o == kRst) ? 0 : 1;
    EXPECT_TRUE(RcuVersions::possible(t_lo, t_hi, table_parity))
        << "outcome " << o << " needs table " << (table_parity ? "B" : "A") << ", versions " << t_lo
        << ".." << t_hi;
    EXPECT_TRUE(RcuVersions::possible(p_lo, p_hi, policy_parity))
        << "outcome " << o << " needs policy " << (policy_parity ? "B" : "A") << ", versions "
        << p_lo << ".." << p_hi;
    exact_table += t_lo == t_hi;
    exact_policy += p_lo == p_hi;
    if (o != kShapedA && o != kShapedB) continue;

    // The flow is shaped at level 1. A server segment that sees the table and policy of the
    // SYN, or a later version with table A, is shaped by the level-1 profile of the policy it
    // reads. One that sees table B after a swap looks the sender up again, finds level 2 and
    // blocks: answered with a RST to the server under policy A, dropped under policy B. The flow
    // then closes, so the connection's later segments are no longer checked.
    for (const uint8_t flags : {uint8_t{0x12}, uint8_t{0x18}}) {
      const uint32_t t_lo = versions.table_done(), lo = versions.policy_done();
      auto [out, echoed] =
          send(inside_, outside_, server_seg(syn, flags, flags == 0x18 ? 40 : 0).build());
      const uint32_t t_hi = versions.table_started(), hi = versions.policy_started();
      if (out.empty()) {
        ASSERT_LE(echoed.size(), 1u);
        const bool rst = echoed.size() == 1;
        if (rst) {
          ASSERT_EQ(tcp_flags(echoed[0]) & 0x04, 0x04) << "not a RST";
        }
        EXPECT_TRUE(RcuVersions::possible(t_lo, t_hi, 1))
            << "a segment blocked without table B, versions " << t_lo << ".." << t_hi;
        EXPECT_TRUE(RcuVersions::possible(lo, hi, rst ? 0 : 1))
            << (rst ? "RST" : "drop") << ", policy versions " << lo << ".." << hi;
        ++escalated;
        break;
      }
      ASSERT_EQ(out.size(), 1u) << "a shaped server segment was duplicated";
      ASSERT_TRUE(echoed.empty());
      const uint16_t window = tcp_window(out[0]);
      ASSERT_TRUE(window == 2048 || window == 1024) << "window " << window;
      EXPECT_TRUE(RcuVersions::possible(t_lo, t_hi, 0))
          << "a segment shaped without table A, versions " << t_lo << ".." << t_hi;
      EXPECT_TRUE(RcuVersions::possible(lo, hi, window == 2048 ? 0 : 1))
          << "window " << window << ", policy versions " << lo << ".." << hi;
      EXPECT_TRUE(checksums_ok(out[0]));
      exact_seg += lo == hi;
      ++segments;
    }
  }
  stop();
  // Every kind of verdict happened, swaps really raced the traffic, and some packets were
  // checked against one settled version.
  for (int o = 0; o < 4; ++o) EXPECT_GT(outcomes[o], 0) << "outcome " << o << " never seen";
  EXPECT_GE(published.load(), 200u);
  EXPECT_GT(exact_table, 0u);
  EXPECT_GT(exact_policy, 0u);
  EXPECT_GT(exact_seg, 0u);
  EXPECT_GT(segments, 0u);
  EXPECT_EQ(worker_->port_counters(SL_DIR_FROM_INSIDE).tx_dropped, 0u);
  EXPECT_EQ(worker_->port_counters(SL_DIR_FROM_OUTSIDE).tx_dropped, 0u);
  std::cout << "[ info ] " << published.load() << " swaps; outcomes A/B/rst/drop " << outcomes[0]
            << "/" << outcomes[1] << "/" << outcomes[2] << "/" << outcomes[3] << "; exact checks "
            << exact_table << " SYNs' tables, " << exact_policy << " SYNs' policies, " << exact_seg
            << " of " << segments << " segments, " << escalated << " flows escalated\n";
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
  TcpFrame syn = linux_syn("198.18.1.3", "198.18.0.2");
  outside.inject(syn.build(), 1);
  w0.poll_once(kMs);
  w1.poll_once(kMs);
  EXPECT_TRUE(inside.drain(0).empty());
  const auto in1 = inside.drain(1);
  ASSERT_EQ(in1.size(), 1u) << "forwarded on the queue it arrived on";
  EXPECT_EQ(tcp_option(in1[0], 3), -1) << "shaped by lcore 1";
  EXPECT_EQ(w0.pipeline().flows().size(), 0u);
  EXPECT_EQ(w1.pipeline().flows().size(), 1u);
  TcpFrame synack;
  synack.src = syn.dst;
  synack.dst = syn.src;
  synack.sport = syn.dport;
  synack.dport = syn.sport;
  synack.flags = 0x12;
  synack.window = 64240;
  synack.options = {2, 4, 0x05, 0xb4};
  inside.inject(synack.build(), 1);
  w0.poll_once(2 * kMs);
  w1.poll_once(2 * kMs);
  const auto out1 = outside.drain(1);
  ASSERT_EQ(out1.size(), 1u);
  EXPECT_LE(tcp_window(out1[0]), 2048);
  EXPECT_EQ(tcp_option(out1[0], 2), 536);
}

}  // namespace
}  // namespace sluice::dataplane
