// The feed over real nats-server processes on loopback (one node, and a three-node cluster with
// the stream replicated three times): what participant A publishes reaches B, the server refuses
// a participant publishing as another, a replayed batch is refused by the consumer, a consumer
// that was down catches up from its durable position, and killing a node while publishing loses
// nothing. No timing is asserted; every wait is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "feed/nats_feed.h"
#include "feed/verifier.h"
#include "feed_test_util.h"
#include "nats_harness.h"

namespace sluice::feed {
namespace {
using testing::NatsCluster;
using testing::observation;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A participant's side: connection, key, publisher, consumer, verifier knowing the others.
struct Site {
  Site(NatsCluster &cluster, const std::string &name, KeyPair k, int only = -1)
      : name(name), key(k), conn(cluster.settings(name, only)), pub(conn, name, key) {}
  std::string name;
  KeyPair key;
  Connection conn;
  Publisher pub;
};

// What B's consumer loop does: fetch, verify, ack; collects accepted and refused batches, until
// `want` batches were accepted (or handled, with `count_refused`) or `rounds` fetches came back
// empty.
struct Received {
  std::vector<Batch> accepted;
  std::vector<Refusal> refused;
};
Received drain(Consumer &c, Verifier &v, const std::string &self, size_t want, int rounds = 20,
               bool count_refused = false) {
  Received r;
  int empty = 0;
  auto done = [&] { return r.accepted.size() + (count_refused ? r.refused.size() : 0) >= want; };
  while (!done() && empty < rounds) {
    auto got = c.fetch(256, 500);
    if (got.empty()) {
      ++empty;
      continue;
    }
    for (Delivery &d : got) {
      if (d.subject() != subject_for(self)) {
        auto res = v.check(d.subject(), d.data(), d.stored_ms());
        if (auto *b = std::get_if<Batch>(&res))
          r.accepted.push_back(std::move(*b));
        else
          r.refused.push_back(std::get<Refusal>(res));
      }
      d.ack();
    }
  }
  return r;
}

class FeedNats : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::find_nats_server().empty()) GTEST_SKIP() << "no nats-server binary";
    for (auto *k : {&ka, &kb}) *k = generate_keypair();
    verifier.set_key("isp-a", ka.pub);
    verifier.set_key("isp-b", kb.pub);
  }
  KeyPair ka, kb;
  Verifier verifier;
};

TEST_F(FeedNats, ObservationPublishedByAIsConsumedByB) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  Site a(cluster, "isp-a", ka), b(cluster, "isp-b", kb);
  Consumer consumer(b.conn, "isp-b");
  Observation o = observation("198.18.3.4", Kind::kComplaint, 2, now_ms());
  o.evidence = "ticket-1";
  const uint64_t seq = a.pub.publish({o}, now_ms());
  Received got = drain(consumer, verifier, "isp-b", 1);
  ASSERT_EQ(got.accepted.size(), 1u);
  EXPECT_TRUE(got.refused.empty());
  EXPECT_EQ(got.accepted[0].participant, "isp-a");
  EXPECT_EQ(got.accepted[0].seq, seq);
  ASSERT_EQ(got.accepted[0].observations.size(), 1u);
  EXPECT_EQ(format_prefix(got.accepted[0].observations[0].subject), "198.18.3.4");
  EXPECT_EQ(got.accepted[0].observations[0].evidence, "ticket-1");
}

TEST_F(FeedNats, ServerRefusesAParticipantPublishingOnAnothersSubject) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  NatsSettings quick = cluster.settings("isp-a");
  quick.timeout_ms = 500;  // a refused publish gets no acknowledgement: wait less for it
  Connection aconn(quick);
  Publisher apub(aconn, "isp-a", ka);
  Connection admin(cluster.settings("admin"));
  // A signs a batch in B's name with its own key and tries B's subject: the server refuses.
  Batch forged = testing::batch("isp-b", 1, now_ms());
  const std::string msg = seal("isp-b", encode_body(forged), ka.secret);
  EXPECT_THROW(apub.publish_raw(subject_for("isp-b"), msg), NatsError);
  EXPECT_THROW(apub.publish_raw("sluice.obs.isp-b.x", msg), NatsError);
  EXPECT_EQ(stream_messages(admin), 0u);
  // The server said why (asynchronously): a permissions violation, once per attempt.
  for (int i = 0; i < 50 && aconn.permission_errors() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(aconn.permission_errors(), 2u);
  // A's own subject still works on the same connection.
  apub.publish({observation("198.18.0.1", Kind::kComplaint, 1, now_ms())}, now_ms());
  EXPECT_EQ(stream_messages(admin), 1u);
}

TEST_F(FeedNats, ReplayedBatchIsRefusedByTheConsumer) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  Site a(cluster, "isp-a", ka), b(cluster, "isp-b", kb);
  Connection admin(cluster.settings("admin"));
  Consumer consumer(b.conn, "isp-b");
  Batch bt = testing::batch("isp-a", 1000, now_ms());
  bt.observations[0].observed_at_ms = now_ms();
  const std::string msg = seal("isp-a", encode_body(bt), ka.secret);
  a.pub.publish_raw(subject_for("isp-a"), msg, "isp-a:1000");
  // The same id again: JetStream's de-duplication drops it.
  a.pub.publish_raw(subject_for("isp-a"), msg, "isp-a:1000");
  EXPECT_EQ(stream_messages(admin), 1u);
  // The same bytes under a new id (a replay into the stream): stored, but refused on receipt.
  a.pub.publish_raw(subject_for("isp-a"), msg, "replay-1");
  EXPECT_EQ(stream_messages(admin), 2u);
  Received got = drain(consumer, verifier, "isp-b", 2, 20, /*count_refused=*/true);
  ASSERT_EQ(got.accepted.size(), 1u);
  ASSERT_EQ(got.refused.size(), 1u);
  EXPECT_EQ(got.refused[0], Refusal::kReplay);
  EXPECT_EQ(verifier.refused(Refusal::kReplay), 1u);
}

TEST_F(FeedNats, ConsumerThatWasDownCatchesUpFromItsDurablePosition) {
  NatsCluster cluster(1, {"isp-a", "isp-b"});
  cluster.create_stream();
  Site a(cluster, "isp-a", ka);
  a.pub.publish({observation("198.18.0.1", Kind::kComplaint, 1, now_ms())}, now_ms());
  {
    Connection bconn(cluster.settings("isp-b"));
    Consumer consumer(bconn, "isp-b");
    Received first = drain(consumer, verifier, "isp-b", 1);
    ASSERT_EQ(first.accepted.size(), 1u);
  }  // B goes down
  std::set<uint64_t> sent;
  for (int i = 0; i < 5; ++i)
    sent.insert(a.pub.publish({observation("198.18.1.1", Kind::kTrapHit, 1, now_ms())}, now_ms()));
  Connection bconn(cluster.settings("isp-b"));
  Consumer consumer(bconn, "isp-b");
  Received rest = drain(consumer, verifier, "isp-b", 5, 4);
  std::set<uint64_t> got;
  for (const Batch &bt : rest.accepted) got.insert(bt.seq);
  EXPECT_EQ(got, sent);  // exactly the ones published while down, not the first again
  EXPECT_TRUE(rest.refused.empty());
}

TEST_F(FeedNats, ClusterNodeKilledWhilePublishingLosesNothing) {
  NatsCluster cluster(3, {"isp-a", "isp-b"});
  cluster.create_stream();
  // Both list every node (for failover); the node A is connected to is killed.
  Site a(cluster, "isp-a", ka);
  int victim = -1;
  for (int i = 0; i < cluster.nodes(); ++i)
    if (a.conn.connected_url() == cluster.url(i)) victim = i;
  ASSERT_GE(victim, 0) << a.conn.connected_url();
  Connection bconn(cluster.settings("isp-b"));
  Consumer consumer(bconn, "isp-b");
  constexpr int kBatches = 120;
  std::set<uint64_t> sent;
  for (int i = 0; i < kBatches; ++i) {
    if (i == kBatches / 3) cluster.kill(victim);
    Observation o = observation("198.18.0.0", Kind::kComplaint, 1, now_ms());
    o.subject.v4 += static_cast<uint32_t>(i);
    sent.insert(a.pub.publish({o}, now_ms(), /*retry_ms=*/30000));
  }
  Received got = drain(consumer, verifier, "isp-b", kBatches);
  std::set<uint64_t> seqs;
  std::set<uint32_t> addrs;
  for (const Batch &bt : got.accepted) {
    seqs.insert(bt.seq);
    addrs.insert(bt.observations.at(0).subject.v4);
  }
  EXPECT_EQ(seqs, sent);
  EXPECT_EQ(got.accepted.size(), static_cast<size_t>(kBatches));  // none applied twice
  EXPECT_EQ(addrs.size(), static_cast<size_t>(kBatches));
  for (Refusal r : got.refused) EXPECT_EQ(r, Refusal::kReplay);  // a duplicate, if any, refused
}

}  // namespace
}  // namespace sluice::feed
