// sluice-dp's control socket end to end in one process: the control server and handler of
// sluice-dp, an lcore forwarding on net_ring ports in a thread, and the control plane's
// DpdkClient. Every request is checked for its effect on forwarding.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <thread>

#include "common/privileged.h"
#include "common/stats_keys.h"
#include "control_proto.h"
#include "control_server.h"
#include "dataplane_client.h"
#include "dpdk_client.h"
#include "dp_control.h"
#include "dpdk_env.h"
#include "frames.h"
#include "sluice/reputation/delta.h"

namespace sluice::dataplane {
namespace {

namespace fs = std::filesystem;
using testing::TcpFrame;

uint32_t v4(const char *s) {
  uint32_t a;
  inet_pton(AF_INET, s, &a);
  return a;
}

class Control : public ::testing::Test {
 protected:
  void SetUp() override {
    SLUICE_REQUIRE_PRIVILEGED();
    ASSERT_EQ(testing::eal_init_once(), "");
    static int n = 0;
    ++n;
    outside_ = testing::make_ring_port("cout" + std::to_string(n));
    inside_ = testing::make_ring_port("cin" + std::to_string(n));
    dir_ = fs::temp_directory_path() /
           ("sluice_ctl_" + std::to_string(getpid()) + "_" + std::to_string(n));
    fs::create_directories(dir_);
    pub_ = std::make_unique<Published>(RTE_MAX_LCORE);
    WorkerConfig wc;
    wc.flows.max_flows = 256;
    wc.pacer.capacity = 256;
    worker_ = std::make_unique<Worker>(0, outside_.id, inside_.id, 0, wc, *pub_, tsc_now_ns());
    ctl_ = std::make_unique<DpControl>(*pub_, std::vector<Worker *>{worker_.get()}, std::nullopt);
    sock_ = (dir_ / "dp.sock").string();
    server_ = std::make_unique<ControlServer>(
        sock_, [this](const nlohmann::json &r) { return ctl_->handle(r); });
    lcore_ = std::thread([this] { worker_->run(quit_); });
  }
  void TearDown() override {
    quit_ = true;
    if (lcore_.joinable()) lcore_.join();
    server_.reset();
    ctl_.reset();
    worker_.reset();
    pub_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Injects a SYN from `src` and waits for what comes out: 'I' forwarded inside, 'R' RST
  // back outside, '-' nothing within the wait.
  char syn_fate(const char *src, uint16_t sport) {
    TcpFrame f;
    f.src = src;
    f.sport = sport;
    f.options = testing::linux_syn_options();
    outside_.inject(f.build());
    for (int i = 0; i < 2000; ++i) {
      if (!inside_.drain().empty()) return 'I';
      const auto back = outside_.drain();
      if (!back.empty()) return testing::tcp_flags(back[0]) == 0x14 ? 'R' : '?';
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return '-';
  }

  std::string write(const std::string &name, const std::string &text) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }

  testing::RingPort outside_, inside_;
  fs::path dir_;
  std::string sock_;
  std::unique_ptr<Published> pub_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<DpControl> ctl_;
  std::unique_ptr<ControlServer> server_;
  std::atomic<bool> quit_{false};
  std::thread lcore_;
};

TEST_F(Control, TableLoadDeltaAndPolicyTakeEffectWhileForwarding) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  EXPECT_EQ(syn_fate("198.18.1.10", 40001), 'I') << "empty table, pass-only policy";

  client->set_policy(write("p.ini", "[level.1]\nname = block\nthreshold = 10\nblock = rst\n"));
  EXPECT_EQ(syn_fate("198.18.1.10", 40002), 'I') << "policy alone: sender still unknown";

  const reputation::Snapshot t1 =
      reputation::Snapshot::from_entries({{v4("198.18.1.10"), {10, 0}}}, {}, {}, {});
  t1.save((dir_ / "t1.snap").string());
  client->load_table((dir_ / "t1.snap").string());
  EXPECT_EQ(syn_fate("198.18.1.10", 40003), 'R');
  EXPECT_EQ(syn_fate("198.18.1.11", 40004), 'I');

  // A delta that adds .11 and removes .10.
  const reputation::Snapshot t2 =
      reputation::Snapshot::from_entries({{v4("198.18.1.11"), {12, 0}}}, {}, {}, {});
  reputation::diff(t1, t2).save((dir_ / "d.delta").string());
  client->apply_delta((dir_ / "d.delta").string());
  EXPECT_EQ(syn_fate("198.18.1.10", 40005), 'I');
  EXPECT_EQ(syn_fate("198.18.1.11", 40006), 'R');

  const control::DataplaneStats s = client->stats();
  EXPECT_EQ(s.outside.rx, 6u);
  EXPECT_EQ(s.inside.tx, 4u);
  EXPECT_EQ(s.outside.tx, 2u);
  EXPECT_EQ(s.kind, "dpdk");
  EXPECT_EQ(s.table.entries, 1u);
  EXPECT_EQ(s.table.updates, 2u) << "a load and a delta";
  EXPECT_EQ(s.table.version, reputation::apply(t1, reputation::diff(t1, t2)).checksum());
  EXPECT_NE(s.table.version, 0u);
  EXPECT_EQ(s.table.compiled_unix, t1.created_unix()) << "a delta keeps the table's build time";
  ASSERT_EQ(s.levels.size(), 2u);
  EXPECT_EQ(s.levels[1].name, "block");
  EXPECT_EQ(s.levels[1].threshold, 10);
  EXPECT_EQ(s.totals.level[1].rst_sent, 2u);
  EXPECT_EQ(s.totals.level[1].syns, 2u);
  EXPECT_EQ(s.totals.lookups, 6u);
  EXPECT_EQ(s.totals.smtp[SL_DIR_FROM_OUTSIDE], 6u);
  // One lcore: its row carries everything the totals do.
  ASSERT_EQ(s.lcores.size(), 1u);
  EXPECT_EQ(s.lcores[0].queue, 0u);
  EXPECT_EQ(s.lcores[0].rx_outside, s.outside.rx);
  EXPECT_EQ(s.lcores[0].rx_inside, s.inside.rx);
  EXPECT_EQ(s.lcores[0].flow_capacity, s.flow_table.flow_capacity);
  EXPECT_EQ(s.lcores[0].smtp, 6u) << "six SMTP SYNs";
}

TEST_F(Control, FlowsListsShapedFlows) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  client->set_policy(write("p.ini", "[level.1]\nthreshold = 3\nwindow_clamp = 2048\n"));
  reputation::Snapshot::from_entries({{v4("198.18.1.3"), {3, 0}}}, {}, {}, {})
      .save((dir_ / "t.snap").string());
  client->load_table((dir_ / "t.snap").string());
  EXPECT_EQ(syn_fate("198.18.1.3", 41234), 'I');
  EXPECT_EQ(syn_fate("198.18.7.7", 41235), 'I');  // clean: no flow
  const auto flows = client->flows(100);
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].client, "198.18.1.3");
  EXPECT_EQ(flows[0].client_port, 41234);
  EXPECT_EQ(flows[0].server_port, 25);
  EXPECT_EQ(flows[0].level, 1u);
}

TEST_F(Control, BadRequestsGetErrorsAndChangeNothing) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  client->set_policy(write("good.ini", "[level.1]\nthreshold = 10\nblock = rst\n"));
  const std::string bad = write("bad.ini", "[level.1]\nthreshold = 10\nblock = maybe\n");
  try {
    client->set_policy(bad);
    ADD_FAILURE() << "malformed policy accepted";
  } catch (const control::DataplaneError &e) {
    EXPECT_NE(std::string(e.what()).find(bad + ":3: "), std::string::npos) << e.what();
  }
  EXPECT_THROW(client->load_table((dir_ / "missing.snap").string()), control::DataplaneError);
  write("corrupt.snap", "garbage");
  EXPECT_THROW(client->load_table((dir_ / "corrupt.snap").string()), control::DataplaneError);

  // Raw malformed messages on the same socket: error replies, the connection stays usable.
  auto *dpdk = dynamic_cast<control::DpdkClient *>(client.get());
  ASSERT_NE(dpdk, nullptr);
  EXPECT_THROW(dpdk->call({{"cmd", "no.such"}}), control::DataplaneError);
  EXPECT_THROW(dpdk->call({{"nocmd", 1}}), control::DataplaneError);
  EXPECT_THROW(dpdk->call({{"cmd", "flows"}, {"limit", "x"}}), control::DataplaneError);
  const auto reply = nlohmann::json::parse(server_->handle_body("{not json"));
  EXPECT_EQ(reply["ok"], false);
  EXPECT_NE(reply["error"].get<std::string>().find("parse error"), std::string::npos);

  EXPECT_EQ(client->stats().policy.generation, 1u) << "only the good policy was applied";
  // Forwarding unaffected: the good policy still works with a table.
  reputation::Snapshot::from_entries({{v4("198.18.1.10"), {10, 0}}}, {}, {}, {})
      .save((dir_ / "t.snap").string());
  client->load_table((dir_ / "t.snap").string());
  EXPECT_EQ(syn_fate("198.18.1.10", 40100), 'R');
  EXPECT_THROW(control::connect_dataplane("dpdk:" + (dir_ / "nobody.sock").string()),
               control::DataplaneError);
  EXPECT_THROW(control::connect_dataplane("nosuch:x"), control::DataplaneError);
}

// The stats reply, the client's model of it and `sluicectl dataplane stats --json` show the
// documented keys (the XDP data plane's test, tests/bpf/attach_test.cc, checks the same list).
TEST_F(Control, StatsJsonHasTheDocumentedKeysThroughEveryReader) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  client->set_policy(write("p.ini", "[level.1]\nname = block\nthreshold = 10\nblock = rst\n"));
  EXPECT_EQ(syn_fate("198.18.1.10", 40201), 'I');
  auto *dpdk = dynamic_cast<control::DpdkClient *>(client.get());
  ASSERT_NE(dpdk, nullptr);
  const nlohmann::json reply = dpdk->call({{"cmd", "stats"}});
  EXPECT_EQ(sluice::testing::stats_json_keys(reply), sluice::testing::documented_stats_keys(true));
  const stats::DataplaneStats model = client->stats();
  EXPECT_EQ(sluice::testing::stats_json_keys(stats::to_json(model)),
            sluice::testing::documented_stats_keys(true));
  EXPECT_EQ(model.totals.lookups, 1u);
  EXPECT_EQ(model.levels.size(), 2u);
#ifdef SLUICECTL_BIN
  client.reset();  // the server answers one client at a time
  const std::string out = (dir_ / "stats.json").string();
  const std::string cmd = std::string(SLUICECTL_BIN) + " --dataplane dpdk:" + sock_ +
                          " dataplane stats --json > " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(out);
  const nlohmann::json cli = nlohmann::json::parse(in);
  EXPECT_EQ(sluice::testing::stats_json_keys(cli), sluice::testing::documented_stats_keys(true));
  EXPECT_EQ(cli["kind"], "dpdk");
  EXPECT_EQ(cli["lookups"], 1u);
  EXPECT_EQ(cli["levels"][1]["name"], "block");
#endif
}

}  // namespace
}  // namespace sluice::dataplane
