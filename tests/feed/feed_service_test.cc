// The feed inside sluiced, against a real nats-server: a report at site A becomes a contribution
// at site B through B's loop-thread process(); B's state file keeps the contribution and the
// sequence across a restart, so a redelivered batch is a replay; bad files are refused.
#include <gtest/gtest.h>
#include <poll.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "feed/feed_service.h"
#include "feed_site.h"
#include "feed_test_util.h"
#include "nats_harness.h"

namespace sluice::feed {
namespace {
using testing::NatsCluster;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void write(const std::string &path, const std::string &text) {
  std::ofstream(path) << text;
}

// Runs B's side of the loop: waits on the fd (bounded) and processes, until `done`.
template <class Done>
bool run_until(FeedService &s, Done done, int max_waits = 50) {
  for (int i = 0; i < max_waits && !done(); ++i) {
    pollfd p{s.fd(), POLLIN, 0};
    poll(&p, 1, 200);
    s.process(now_ms());
  }
  return done();
}

class FeedServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::find_nats_server().empty()) GTEST_SKIP() << "no nats-server binary";
  }
  KeyPair ka = generate_keypair(), kb = generate_keypair();
};

TEST_F(FeedServiceTest, ReportAtABecomesAContributionAtB) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  FeedService a(testing::site_config(cluster, "isp-a", ka, "isp-b", kb));
  FeedService b(testing::site_config(cluster, "isp-b", kb, "isp-a", ka));
  a.start();
  b.start();
  Observation o = testing::observation("198.18.7.7", Kind::kComplaint, 2, now_ms());
  o.evidence = "ticket-9";
  a.report(o);
  const Prefix addr = *parse_prefix("198.18.7.7");
  ASSERT_TRUE(run_until(b, [&] { return !b.model().explain(addr, now_ms()).empty(); }));
  auto e = b.model().explain(addr, now_ms());
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].participant, "isp-a");
  EXPECT_EQ(e[0].weight, 10);  // complaint 5 points x 2
  EXPECT_EQ(e[0].last_evidence, "ticket-9");
  EXPECT_EQ(b.status().accepted_batches, 1u);
  EXPECT_EQ(a.status().published_batches, 1u);
  // A's own batch came back to A through sluice.obs.> and was skipped, not refused.
  run_until(
      a, [&] { return false; }, 3);
  for (uint64_t r : a.status().refused) EXPECT_EQ(r, 0u);
  EXPECT_EQ(a.model().entries(), 0u);
}

// More observations queued than one message holds (each with long evidence and HELO name): the
// publisher packs them into messages within the size limit, none is dropped.
TEST_F(FeedServiceTest, AQueueLargerThanOneMessageIsPublishedWhole) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  FeedService a(testing::site_config(cluster, "isp-a", ka, "isp-b", kb));
  FeedService b(testing::site_config(cluster, "isp-b", kb, "isp-a", ka));
  constexpr uint32_t kCount = 3000;
  for (uint32_t i = 0; i < kCount; ++i) {  // queued before the publisher runs: one backlog
    Observation o = testing::observation("198.18.0.0", Kind::kComplaint, 1, now_ms());
    o.subject.v4 += i;
    o.evidence = std::string(kMaxEvidence, 'e');
    o.helo = "mail-" + std::string(200, 'x') + ".example";
    ASSERT_TRUE(a.report(o));
  }
  a.start();
  b.start();
  ASSERT_TRUE(run_until(
      b, [&] { return b.status().accepted_observations == kCount; }, 100));
  EXPECT_EQ(a.status().publish_failures, 0u);
  EXPECT_EQ(a.status().published_observations, kCount);
  EXPECT_GT(a.status().published_batches, kCount / kMaxObservations + 1);  // split by size
  EXPECT_EQ(b.model().entries(), kCount);
}

// A backlog larger than kMaxInbox (a site catching up, a peer publishing at line rate): the
// consumer stops fetching while kMaxInbox messages wait for the loop, and nothing is lost.
TEST_F(FeedServiceTest, TheInboxStaysBoundedAndTheBacklogArrivesWhole) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  constexpr uint32_t kBatches = 2 * kMaxInbox;
  {
    Connection conn(cluster.settings("isp-a"));
    Publisher pub(conn, "isp-a", ka);
    for (uint32_t i = 0; i < kBatches; ++i) {
      Observation o = testing::observation("198.18.0.0", Kind::kComplaint, 1, now_ms());
      o.subject.v4 += i;
      pub.publish({o}, now_ms());
    }
  }
  FeedService b(testing::site_config(cluster, "isp-b", kb, "isp-a", ka));
  b.start();
  for (int i = 0; i < 1000 && b.status().inbox_full_waits == 0; ++i)  // 10 s at most
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const FeedStatus waiting = b.status();
  ASSERT_GT(waiting.inbox_full_waits, 0u) << "the consumer never had to wait";
  EXPECT_LE(waiting.inbox, kMaxInbox);
  EXPECT_GE(waiting.inbox + 256, kMaxInbox);  // it filled up to the bound
  ASSERT_TRUE(run_until(
      b, [&] { return b.status().accepted_batches == kBatches; }, 200));
  EXPECT_EQ(b.model().entries(), kBatches);
  EXPECT_LE(b.status().inbox, kMaxInbox);
}

TEST_F(FeedServiceTest, StateFileKeepsContributionsAndSequencesAcrossARestart) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  FeedConfig bcfg = testing::site_config(cluster, "isp-b", kb, "isp-a", ka);
  FeedService a(testing::site_config(cluster, "isp-a", ka, "isp-b", kb));
  a.start();
  const Prefix addr = *parse_prefix("198.18.7.8");
  {
    FeedService b(bcfg);
    b.start();
    a.report(testing::observation("198.18.7.8", Kind::kTrapHit, 1, now_ms()));
    ASSERT_TRUE(run_until(b, [&] { return b.model().entries() == 1; }));
  }
  FeedService b(bcfg);  // restarted: the state file is read
  ASSERT_EQ(b.model().explain(addr, now_ms()).size(), 1u);
  EXPECT_EQ(b.model().explain(addr, now_ms())[0].weight, 10);
  // A batch with a sequence below the one B saved is refused as a replay after the restart.
  b.start();
  Connection aconn(cluster.settings("isp-a"));
  Publisher raw(aconn, "isp-a", ka);
  Connection admin(cluster.settings("admin"));
  ASSERT_EQ(stream_messages(admin), 1u);
  Batch replay;
  replay.participant = "isp-a";
  replay.seq = 1;  // lower than anything the publisher used (microsecond clock)
  replay.sent_at_ms = now_ms();
  replay.observations.push_back(testing::observation("198.18.7.9", Kind::kTrapHit, 1, now_ms()));
  raw.publish_raw(subject_for("isp-a"), seal("isp-a", encode_body(replay), ka.secret), "r-1");
  ASSERT_TRUE(
      run_until(b, [&] { return b.status().refused[static_cast<size_t>(Refusal::kReplay)] == 1; }));
  EXPECT_EQ(b.model().entries(), 1u);
}

TEST_F(FeedServiceTest, BadFilesAreRefusedNamingTheFile) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  FeedConfig cfg = testing::site_config(cluster, "isp-a", ka, "isp-b", kb);
  write(cfg.state_file, "{not json");
  try {
    FeedService s(cfg);
    ADD_FAILURE() << "corrupt state accepted";
  } catch (const sluice::Error &e) {
    EXPECT_NE(std::string(e.what()).find(cfg.state_file), std::string::npos) << e.what();
  }
  std::filesystem::remove(cfg.state_file);
  write(cfg.trust_file, "[isp-b]\n");
  EXPECT_THROW(FeedService s(cfg), sluice::Error);
  cfg = testing::site_config(cluster, "isp-a", ka, "isp-b", kb);
  write(cfg.credentials_file, "user = isp-a\n");
  EXPECT_THROW(FeedService s(cfg), sluice::Error);
}

}  // namespace
}  // namespace sluice::feed
