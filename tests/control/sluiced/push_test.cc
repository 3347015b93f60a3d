// Pushing to a data plane exactly once: a data plane at the current table gets nothing, one at
// a version sluiced knows gets one delta from that version (in order), one at an unknown
// version (restarted, loaded by hand) a full load; a data plane that is down or answers
// garbage is retried with back-off and never left with half a table.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/log.h"
#include "fake_dataplane.h"
#include "push/pusher.h"
#include "push/table_state.h"
#include "sluice/reputation/compile.h"
#include "test_dir.h"

namespace sluice::sluiced {
namespace {

namespace rep = sluice::reputation;
using testing::FakeClient;
using testing::FakeDataplane;
using testing::TestDir;

// A table listing 198.18.0.1 .. 198.18.0.n with `score`, compiled in `lineage`.
rep::Snapshot table_of(size_t n, int32_t score, uint64_t lineage) {
  rep::SourceConfig c;
  c.name = "t";
  c.weight = score;
  rep::ParsedSource p = rep::parse_source_text(c, testing::addresses(n), "t");
  std::vector<rep::ParsedSource> ps{p};
  std::vector<rep::SourceConfig> cs{c};
  return rep::compile(ps, cs, lineage);
}

class PushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([](LogLevel, std::string_view) {});
    dp = std::make_shared<FakeDataplane>();
    factory = [this](const std::string &spec) { return std::make_unique<FakeClient>(spec, dp); };
  }
  void TearDown() override { set_log_sink(nullptr); }
  TestDir dir;
  std::shared_ptr<FakeDataplane> dp;
  ClientFactory factory;
  PushOptions fast{std::chrono::milliseconds(1), std::chrono::milliseconds(4)};
};

TEST_F(PushTest, FirstPushIsAFullLoadThenDeltasThenNothing) {
  TableState ts(dir.path());
  DataplanePusher p("fake:a", factory, fast);
  ts.install(table_of(10, 3, ts.lineage_created()));
  auto ev = p.sync(ts, nullptr);
  ASSERT_TRUE(ev && ev->ok);
  EXPECT_TRUE(ev->full);
  EXPECT_EQ(dp->version(), ts.version());

  ASSERT_GT(ts.install(table_of(12, 3, ts.lineage_created())), 0u);
  ev = p.sync(ts, nullptr);
  ASSERT_TRUE(ev && ev->ok);
  EXPECT_FALSE(ev->full);
  // The table the data plane built from the delta is the one sluiced compiled, byte for byte.
  EXPECT_EQ(dp->version(), ts.version());
  EXPECT_EQ(dp->count("load"), 1u);
  EXPECT_EQ(dp->count("delta"), 1u);

  EXPECT_FALSE(p.sync(ts, nullptr));  // in sync: nothing pushed
  EXPECT_EQ(dp->count("load") + dp->count("delta"), 2u);
  EXPECT_TRUE(p.status().in_sync);
}

TEST_F(PushTest, ADataplaneSeveralVersionsBehindGetsOneDeltaFromItsOwnVersion) {
  TableState ts(dir.path());
  DataplanePusher p("fake:a", factory, fast);
  ts.install(table_of(10, 3, ts.lineage_created()));
  p.sync(ts, nullptr);
  dp->down = true;  // misses three versions
  for (int n : {11, 12, 13}) {
    ts.install(table_of(static_cast<size_t>(n), 3, ts.lineage_created()));
    auto ev = p.sync(ts, nullptr, true);
    ASSERT_TRUE(ev);
    EXPECT_FALSE(ev->ok);
  }
  dp->down = false;
  auto ev = p.sync(ts, nullptr, true);
  ASSERT_TRUE(ev && ev->ok);
  EXPECT_FALSE(ev->full);
  EXPECT_EQ(dp->count("delta"), 1u);
  EXPECT_EQ(dp->version(), ts.version());
}

TEST_F(PushTest, ARestartedDataplaneGetsAFullLoad) {
  TableState ts(dir.path());
  DataplanePusher p("fake:a", factory, fast);
  ts.install(table_of(10, 3, ts.lineage_created()));
  p.sync(ts, nullptr);
  dp->restart();
  auto ev = p.sync(ts, nullptr);
  ASSERT_TRUE(ev && ev->ok);
  EXPECT_TRUE(ev->full);
  EXPECT_EQ(dp->count("load"), 2u);
  EXPECT_EQ(dp->version(), ts.version());
}

TEST_F(PushTest, AnUnknownVersionGetsAFullLoadNotADelta) {
  TableState ts(dir.path());
  DataplanePusher p("fake:a", factory, fast);
  ts.install(table_of(10, 3, ts.lineage_created()));
  dp->table = table_of(5, 9, 1234);  // loaded by hand
  dp->has_table = true;
  auto ev = p.sync(ts, nullptr);
  ASSERT_TRUE(ev && ev->ok);
  EXPECT_TRUE(ev->full);
  EXPECT_EQ(dp->count("delta"), 0u);
  EXPECT_EQ(dp->version(), ts.version());
}

TEST_F(PushTest, GarbageAndDownAreRetriedWithBackoffAndNothingIsApplied) {
  TableState ts(dir.path());
  PushOptions slow{std::chrono::milliseconds(60000), std::chrono::milliseconds(60000)};
  DataplanePusher p("fake:a", factory, slow);
  ts.install(table_of(10, 3, ts.lineage_created()));
  dp->garbage = true;
  auto ev = p.sync(ts, nullptr);
  ASSERT_TRUE(ev);
  EXPECT_FALSE(ev->ok);
  EXPECT_THAT(ev->error, ::testing::HasSubstr("not JSON"));
  EXPECT_FALSE(dp->has_table);
  EXPECT_TRUE(p.backing_off());
  EXPECT_FALSE(p.sync(ts, nullptr));  // skipped while backing off
  dp->garbage = false;
  ev = p.sync(ts, nullptr, true);
  ASSERT_TRUE(ev && ev->ok);
  EXPECT_FALSE(p.backing_off());
  EXPECT_EQ(p.status().failures, 1u);
}

TEST_F(PushTest, ADeltaThatFailsIsFollowedByAVersionCheckNotARepeat) {
  TableState ts(dir.path());
  DataplanePusher p("fake:a", factory, fast);
  ts.install(table_of(10, 3, ts.lineage_created()));
  p.sync(ts, nullptr);
  ts.install(table_of(11, 3, ts.lineage_created()));
  // The data plane applied the delta but the reply was lost: it already runs the new table.
  dp->table = ts.current();
  auto ev = p.sync(ts, nullptr);
  EXPECT_FALSE(ev);  // its version says it is in sync: nothing is applied twice
  EXPECT_EQ(dp->count("delta"), 0u);
}

TEST_F(PushTest, PolicyIsSetOnceAndAgainAfterARestartOrAChange) {
  TableState ts(dir.path());
  DataplanePusher p("fake:a", factory, fast);
  PolicyTarget pol{dir.write("policy.ini", "x"), 1};
  p.sync(ts, &pol);
  p.sync(ts, &pol);
  EXPECT_EQ(dp->count("policy"), 1u);
  dp->restart();
  p.sync(ts, &pol);
  EXPECT_EQ(dp->count("policy"), 2u);
  pol.hash = 2;
  p.sync(ts, &pol);
  EXPECT_EQ(dp->count("policy"), 3u);
  // Restored state: a restarted sluiced does not set the policy again.
  DataplanePusher q("fake:a", factory, fast);
  q.restore_state(p.saved_state());
  q.sync(ts, &pol);
  EXPECT_EQ(dp->count("policy"), 3u);
}

TEST_F(PushTest, TheLineageSurvivesARestartSoAnInSyncDataplaneGetsNothing) {
  uint64_t version = 0;
  {
    TableState ts(dir.path());
    DataplanePusher p("fake:a", factory, fast);
    ts.install(table_of(10, 3, ts.lineage_created() - 100));
    p.sync(ts, nullptr);
    ts.install(table_of(20, 3, ts.lineage_created()));
    p.sync(ts, nullptr);
    ts.persist();
    version = ts.version();
  }
  TableState ts(dir.path());
  ASSERT_TRUE(ts.restore());
  EXPECT_EQ(ts.install(table_of(20, 3, ts.lineage_created())), 0u);
  EXPECT_EQ(ts.version(), version);
  DataplanePusher p("fake:a", factory, fast);
  EXPECT_FALSE(p.sync(ts, nullptr));
  EXPECT_EQ(dp->count("load") + dp->count("delta"), 2u);
}

}  // namespace
}  // namespace sluice::sluiced
