// sluice-dp's control socket end to end in one process: the control server and handler of
// sluice-dp, an lcore forwarding on net_ring ports in a thread, and the control plane's
// DpdkClient. Every request is checked for its effect on forwarding.
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <fstream>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "common/pregreet_frames.h"
#include "common/privileged.h"
#include "common/stats_keys.h"
#include "control_proto.h"
#include "control_server.h"
#include "dataplane_client.h"
#include "dpdk_client.h"
#include "dp_control.h"
#include "heavy_merge.h"
#include "dpdk_env.h"
#include "common/frame_fields.h"
#include "common/tcp_frame.h"
#include "sluice/reputation/delta.h"

namespace sluice::dataplane {
namespace {

namespace fs = std::filesystem;
using sluice::testing::linux_syn;
using sluice::testing::tcp_flags;
using sluice::testing::TcpFrame;

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
    wc.flows.max_flows = 8192;
    wc.pacer.capacity = 256;
    worker_ = std::make_unique<Worker>(0, outside_.id, inside_.id, 0, wc, *pub_, tsc_now_ns());
    ctl_ = std::make_unique<DpControl>(*pub_, std::vector<Worker *>{worker_.get()}, std::nullopt);
    sock_ = (dir_ / "dp.sock").string();
    server_ = std::make_unique<ControlServer>(
        sock_, [this](const nlohmann::json &r, int fd) { return ctl_->handle(r, fd); });
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

  // Frames the lcore has finished with: sent either way, refused by TX, or dropped by a level.
  uint64_t frames_done() const {
    uint64_t n = 0;
    for (int d = 0; d < 2; ++d)
      n += worker_->port_counters(d).tx + worker_->port_counters(d).tx_dropped;
    for (const auto &l : worker_->pipeline().stats().level) n += l.dropped;
    return n;
  }

  // Injects a SYN from `src` and reports what the lcore did with it once it has handled it:
  // 'I' forwarded inside, 'R' RST back outside, '-' dropped. No time limit decides the answer:
  // the loop waits for the lcore's own counters to account for the frame.
  char syn_fate(const char *src, uint16_t sport) {
    TcpFrame f = linux_syn(src, "198.18.0.2");
    f.sport = sport;
    const uint64_t before = frames_done();
    outside_.inject(f.build());
    while (frames_done() == before) std::this_thread::sleep_for(std::chrono::microseconds(200));
    if (!inside_.drain().empty()) return 'I';
    const auto back = outside_.drain();
    if (!back.empty()) return tcp_flags(back[0]) == 0x14 ? 'R' : '?';
    return '-';
  }

  void syn_burst(const char *src, int n, uint16_t first_port);

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

// A level name with a Latin-1 byte (from a policy file in Latin-1) used to make `stats` abort
// sluice-dp (the reply's dump() threw outside any handler). The policy parser now refuses such a
// name; the refusal is a clear error reply, the old policy stays, and stats and forwarding go on.
// (Replies with invalid UTF-8 in them are repaired: control_server_test.)
TEST_F(Control, ALatinOneLevelNameIsRefusedAndStatsStillAnswer) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  try {
    client->set_policy(write("l1.ini", "[level.1]\nname = bl\xe9\nthreshold = 10\nblock = rst\n"));
    FAIL() << "a Latin-1 level name was accepted";
  } catch (const control::DataplaneError &e) {
    EXPECT_NE(std::string(e.what()).find("l1.ini:2:"), std::string::npos) << e.what();
  }
  const control::DataplaneStats s = client->stats();
  EXPECT_EQ(s.policy.generation, 0u) << "the old policy stays";
  EXPECT_EQ(syn_fate("198.18.1.10", 40200), 'I') << "forwarding goes on";
}

// A loaded table used to stay mmap'ed from the operator's file: `cp` over it (truncate and
// rewrite in place) and the next delta, which reads the loaded table, died of SIGBUS.
TEST_F(Control, ATableFileRewrittenInPlaceAfterLoadingChangesNothing) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  client->set_policy(write("p.ini", "[level.1]\nname = block\nthreshold = 10\nblock = rst\n"));
  std::vector<reputation::HostV4> hosts;
  for (uint32_t i = 0; i < 20000; ++i) hosts.push_back({htonl(0xC6130000u + i), {10, 0}});
  const reputation::Snapshot t1 = reputation::Snapshot::from_entries(hosts, {}, {}, {});
  const std::string table = (dir_ / "t1.snap").string();
  t1.save(table);
  client->load_table(table);
  {  // as `cp small.snap t1.snap` does: same inode, truncated, rewritten
    const int fd = ::open(table.c_str(), O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "short", 5), 5);
    ::close(fd);
  }
  hosts.erase(hosts.begin());  // 198.19.0.0 leaves
  reputation::diff(t1, reputation::Snapshot::from_entries(hosts, {}, {}, {}))
      .save((dir_ / "d.delta").string());
  client->apply_delta((dir_ / "d.delta").string());
  EXPECT_EQ(client->stats().table.entries, 19999u);
  EXPECT_EQ(syn_fate("198.19.0.0", 40300), 'I');
  EXPECT_EQ(syn_fate("198.19.0.1", 40301), 'R');
}

// A file descriptor sent straight over the socket (what a hostile client can do).
nlohmann::json raw_call(control::DataplaneClient &c, const nlohmann::json &req, int fd) {
  auto *dpdk = dynamic_cast<control::DpdkClient *>(&c);
  try {
    return dpdk->call(req, fd);
  } catch (const control::DataplaneError &e) {
    return {{"ok", false}, {"error", e.what()}};
  }
}

// /dev/zero as a delta used to be read until the OOM killer came; a FIFO blocked the control
// thread for good. Both are refused at once, and nothing changes.
TEST_F(Control, NonRegularFilesAreRefusedWithoutReadingThem) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  reputation::Snapshot::from_entries({{v4("198.18.1.10"), {10, 0}}}, {}, {}, {})
      .save((dir_ / "t.snap").string());
  client->load_table((dir_ / "t.snap").string());
  const int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
  const auto r1 = raw_call(*client, {{"cmd", "table.delta"}, {"name", "/dev/zero"}}, zero);
  EXPECT_EQ(r1["ok"], false);
  EXPECT_NE(r1["error"].get<std::string>().find("not a regular file"), std::string::npos);
  ::close(zero);
  const std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int f = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);  // no writer will ever write
  const auto r2 = raw_call(*client, {{"cmd", "table.load"}, {"name", "fifo"}}, f);
  EXPECT_EQ(r2["ok"], false);
  ::close(f);
  EXPECT_THROW(client->apply_delta("/dev/zero"), control::DataplaneError) << "client refuses too";
  EXPECT_THROW(client->load_table(fifo), control::DataplaneError);
  EXPECT_EQ(client->stats().table.entries, 1u);
}

// A path in a request used to be opened with sluice-dp's (root's) rights: policy.set with
// /etc/shadow answered with its first line. Paths are refused now; only sent files are read.
TEST_F(Control, PathsInRequestsAreNeverOpened) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  const std::string secret = write("secret.ini", "root:$6$hash:20228:0:99999:7:::\n");
  ::chmod(secret.c_str(), 0600);
  for (const char *cmd : {"policy.set", "table.load", "table.delta"}) {
    const auto r = raw_call(*client, {{"cmd", cmd}, {"path", secret}}, -1);
    EXPECT_EQ(r["ok"], false) << cmd;
    const std::string err = r["error"];
    EXPECT_NE(err.find("does not open paths"), std::string::npos) << err;
    EXPECT_EQ(err.find("root:"), std::string::npos) << err;
  }
  EXPECT_EQ(client->stats().policy.generation, 0u) << "no policy was set";
}

// Over ~5000 flows the reply passed the 1 MiB limit and was dropped ("no reply"). A reply now
// stops short of the limit and says there is more; the client pages through every flow.
TEST_F(Control, ManyFlowsArePagedNotDropped) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  client->set_policy(write("p.ini", "[level.1]\nthreshold = 3\nwindow_clamp = 2048\n"));
  std::vector<reputation::HostV4> hosts;
  for (uint32_t i = 0; i < 6000; ++i) hosts.push_back({htonl(0xC6120000u + i), {3, 0}});
  reputation::Snapshot::from_entries(hosts, {}, {}, {}).save((dir_ / "t.snap").string());
  client->load_table((dir_ / "t.snap").string());
  char ip[INET_ADDRSTRLEN];
  for (uint32_t i = 0; i < 6000; i += 500) {
    const uint64_t before = frames_done();
    for (uint32_t j = i; j < i + 500; ++j) {
      const uint32_t a = htonl(0xC6120000u + j);
      inet_ntop(AF_INET, &a, ip, sizeof ip);
      TcpFrame f = linux_syn(ip, "198.18.0.2");
      f.sport = 20000;
      outside_.inject(f.build());
    }
    while (frames_done() < before + 500) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    inside_.drain();
  }
  auto *dpdk = dynamic_cast<control::DpdkClient *>(client.get());
  const nlohmann::json page = dpdk->call({{"cmd", "flows"}, {"limit", 7000}});
  EXPECT_EQ(page["more"], true);
  const size_t first = page["flows"].size();
  EXPECT_GT(first, 1000u);
  EXPECT_LT(first, 6000u);
  EXPECT_EQ(page["next"], first);
  const auto all = client->flows(7000);
  EXPECT_EQ(all.size(), 6000u);
  std::set<std::string> clients;
  for (const auto &f : all) clients.insert(f.client);
  EXPECT_EQ(clients.size(), 6000u) << "every flow once";
  EXPECT_EQ(client->flows(1).size(), 1u);
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

// ---- Pregreet: clients that talk before the greeting, shaped and clean, through the lcore ----

TEST_F(Control, PregreetClientsAreCountedAndListedShapedOrNot) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  client->set_policy(write("p.ini", "[level.1]\nthreshold = 5\nwindow_clamp = 2048\n"));
  reputation::Snapshot::from_entries({{v4("198.18.7.7"), {10, 0}}}, {}, {}, {})
      .save((dir_ / "t.snap").string());
  client->load_table((dir_ / "t.snap").string());
  // One frame at a time, each waited for: the lcore handles them in this order.
  auto pass = [&](testing::RingPort &port, const std::vector<uint8_t> &frame) {
    const uint64_t before = frames_done();
    port.inject(frame);
    while (frames_done() == before) std::this_thread::sleep_for(std::chrono::microseconds(200));
    inside_.drain();
    outside_.drain();
  };
  auto conn = [&](const char *src, uint16_t port, bool pregreet) {
    ::sluice::testing::PregreetConn c;
    c.client = src;
    c.server = "198.18.0.2";
    c.client_port = port;
    TcpFrame syn = linux_syn(src, "198.18.0.2");
    syn.sport = port;
    syn.seq = c.client_isn;
    pass(outside_, syn.build());
    pass(inside_, c.syn_ack());
    if (!pregreet) pass(inside_, c.greeting(30));
    pass(outside_, c.client_data(pregreet ? 0 : 30));
  };
  conn("198.18.7.7", 45000, true);  // listed: a shaped flow
  conn("198.18.8.8", 45001, true);  // unlisted: no flow
  conn("198.18.8.8", 45002, true);
  conn("198.18.9.9", 45003, false);  // waits for the greeting
  EXPECT_EQ(worker_->pipeline().stats().pregreet, 3u);
  EXPECT_EQ(worker_->pipeline().stats().level[1].flows, 1u) << "the listed sender was shaped";
  const auto got = client->pregreet_senders(10);
  std::vector<std::pair<std::string, uint64_t>> seen;
  for (const auto &p : got) seen.emplace_back(p.address, p.connections);
  const std::vector<std::pair<std::string, uint64_t>> want = {{"198.18.8.8", 2}, {"198.18.7.7", 1}};
  EXPECT_EQ(seen, want);
  EXPECT_EQ(client->pregreet_senders(1).size(), 1u);
  EXPECT_TRUE(client->heavy_senders(10).empty()) << "a pregreet is no SYN heavy hitter";

  client->set_policy(write("off.ini", "[smtp]\npregreet = off\n"));
  EXPECT_TRUE(client->pregreet_senders(10).empty()) << "off: not reported";
  conn("198.18.8.8", 45004, true);
  EXPECT_EQ(worker_->pipeline().stats().pregreet, 3u) << "off: not tested";
}

// ---- Verdicts: SYNs shaped and blocked per sender and level, through the lcore ----

TEST_F(Control, ShapedAndBlockedSynsAreListedPerSenderAndLevel) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  client->set_policy(write("p.ini",
                           "[level.1]\nthreshold = 5\nwindow_clamp = 2048\n"
                           "[level.2]\nthreshold = 20\nblock = drop\n"));
  reputation::Snapshot::from_entries({{v4("198.18.7.7"), {10, 0}}, {v4("198.18.7.8"), {30, 0}}}, {},
                                     {}, {})
      .save((dir_ / "t.snap").string());
  client->load_table((dir_ / "t.snap").string());
  syn_burst("198.18.7.7", 3, 46000);  // shaped at level 1
  syn_burst("198.18.7.8", 5, 46100);  // dropped at level 2
  syn_burst("198.18.9.9", 4, 46200);  // unlisted: level 0, no event
  EXPECT_EQ(worker_->pipeline().stats().level[2].dropped, 5u);
  const auto got = client->verdict_senders(10);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].address, "198.18.7.8");
  EXPECT_EQ(got[0].level, 2u);
  EXPECT_EQ(got[0].shaped, 0u);
  EXPECT_EQ(got[0].blocked, 5u);
  EXPECT_EQ(got[1].address, "198.18.7.7");
  EXPECT_EQ(got[1].level, 1u);
  EXPECT_EQ(got[1].shaped, 3u);
  EXPECT_EQ(got[1].blocked, 0u);
  EXPECT_EQ(client->verdict_senders(1).size(), 1u);
  EXPECT_TRUE(client->pregreet_senders(10).empty()) << "a verdict is no pregreet";
}

// ---- Fan-out: a subscriber's outbound SYNs to remote MTAs, through the lcore ----

TEST_F(Control, SubscribersFanOutIsCountedPerRemoteMtaAndTheirOutboundLevelApplies) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  client->set_policy(write("p.ini",
                           "[level.1]\nthreshold = 5\nwindow_clamp = 2048\n"
                           "[outbound.level.1]\nname = out-throttle\nthreshold = 8\n"
                           "window_clamp = 1024\n"));
  reputation::Snapshot::from_entries({{v4("198.18.3.3"), {10, 0}}}, {}, {}, {})
      .save((dir_ / "t.snap").string());
  client->load_table((dir_ / "t.snap").string());
  // Outbound SYNs arrive from inside: the subscriber is their client, port 25 the remote's.
  auto outbound = [&](const char *subscriber, const std::string &mta, uint16_t port) {
    const uint64_t before = frames_done();
    TcpFrame f = linux_syn(subscriber, mta.c_str());
    f.sport = port;
    inside_.inject(f.build());
    while (frames_done() == before) std::this_thread::sleep_for(std::chrono::microseconds(200));
    inside_.drain();
    outside_.drain();
  };
  for (int i = 1; i <= 4; ++i)  // four remote MTAs ...
    outbound("198.18.3.3", "198.18.200." + std::to_string(i), static_cast<uint16_t>(47000 + i));
  for (int i = 0; i < 3; ++i)  // ... and the first one three times more: still four
    outbound("198.18.3.3", "198.18.200.1", static_cast<uint16_t>(47100 + i));
  outbound("198.18.4.4", "198.18.200.1", 47200);  // an unlisted subscriber, one MTA
  const auto got = client->fanout_senders(10);
  std::vector<std::pair<std::string, uint64_t>> seen;
  for (const auto &f : got) seen.emplace_back(f.address, f.destinations);
  const std::vector<std::pair<std::string, uint64_t>> want = {{"198.18.3.3", 4}, {"198.18.4.4", 1}};
  EXPECT_EQ(seen, want);
  // The listed subscriber's 7 SYNs took the outbound level (2: after the inbound level 1), and
  // gave no inbound verdict events.
  EXPECT_EQ(worker_->pipeline().stats().level[2].syns, 7u);
  EXPECT_EQ(worker_->pipeline().stats().level[2].flows, 7u);
  EXPECT_EQ(worker_->pipeline().stats().level[1].syns, 0u);
  EXPECT_TRUE(client->verdict_senders(10).empty());
  EXPECT_TRUE(client->heavy_senders(10).empty()) << "outbound SYNs are no inbound heavy hitters";

  client->set_policy(write("in.ini", "[level.1]\nthreshold = 5\n"));
  EXPECT_TRUE(client->fanout_senders(10).empty()) << "no [outbound]: not reported";
}

// ---- SYN heavy hitters: the "heavy" command over a real SYN stream through the lcore ----

// Waits until the current heavy-hitter window has at least 600 ms left (bounded: at most about
// one window), so that a burst injected now is counted in one window. Not a timed assertion:
// it only picks when to send.
void start_early_in_a_window() {
  const uint64_t w = heavy::kWindowNs;
  const uint64_t left = w - (tsc_now_ns() & (w - 1));
  if (left < 600'000'000) std::this_thread::sleep_for(std::chrono::nanoseconds(left + 1'000'000));
}

// Injects `n` SYNs from `src` (ports first_port..) at once and waits until the lcore has
// handled every one (its counters, not a clock, decide).
void Control::syn_burst(const char *src, int n, uint16_t first_port) {
  const uint64_t before = frames_done();
  for (int i = 0; i < n; ++i) {
    TcpFrame f = linux_syn(src, "198.18.0.2");
    f.sport = static_cast<uint16_t>(first_port + i);
    outside_.inject(f.build());
  }
  while (frames_done() < before + static_cast<uint64_t>(n))
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  inside_.drain();
  outside_.drain();
}

std::vector<std::pair<std::string, uint64_t>> pairs(const std::vector<control::HeavySender> &v) {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto &h : v) out.emplace_back(h.prefix, h.syns);
  return out;
}

TEST_F(Control, AHeavySynSenderIsReportedThroughTheHeavyCommand) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  client->set_policy(write("p.ini", "[smtp]\nheavy_syn_threshold = 5\n"));
  start_early_in_a_window();
  syn_burst("198.18.5.7", 20, 42000);
  for (int i = 1; i <= 4; ++i)  // four senders of one /24, one SYN each: below the threshold
    syn_burst(("198.18.6." + std::to_string(i)).c_str(), 1, 43000);
  const auto got = client->heavy_senders(10);
  const std::vector<std::pair<std::string, uint64_t>> want = {{"198.18.5.0/24", 20},
                                                              {"198.18.5.7/32", 20}};
  EXPECT_EQ(pairs(got), want) << "the sender and its /24, nothing below the threshold";
  for (const auto &h : got) {
    EXPECT_EQ(h.window_ns, heavy::kWindowNs);
    EXPECT_EQ(h.syns_per_minute(),
              static_cast<uint64_t>(20.0 * 60e9 / static_cast<double>(heavy::kWindowNs)));
  }
  EXPECT_EQ(pairs(client->heavy_senders(1)), (decltype(want){want[0]})) << "limit 1";
  EXPECT_TRUE(client->heavy_senders(0).empty());
  // Above the reply's bound the client asks for the bound (sluiced may ask for more).
  EXPECT_EQ(client->heavy_senders(1'000'000).size(), 2u);

  auto *dpdk = dynamic_cast<control::DpdkClient *>(client.get());
  const nlohmann::json r = dpdk->call({{"cmd", "heavy"}, {"limit", 10}});
  EXPECT_EQ(r["enabled"], true);
  EXPECT_EQ(r["threshold"], 5);
  EXPECT_EQ(r["window_ns"], heavy::kWindowNs);
  EXPECT_EQ(r["skipped_buckets"], 0);
  ASSERT_EQ(r["senders"].size(), 2u);
  EXPECT_EQ(r["senders"][1]["prefix"], "198.18.5.7/32");
  EXPECT_EQ(r["senders"][1]["syns"], 20);
  EXPECT_EQ(dpdk->call({{"cmd", "heavy"}, {"limit", DpControl::kMaxHeavyLimit}})["senders"].size(),
            2u)
      << "the largest limit is accepted";
#ifdef SLUICECTL_BIN
  client.reset();  // the server answers one client at a time
  const std::string ctl = std::string(SLUICECTL_BIN) + " --dataplane dpdk:" + sock_;
  const std::string js = (dir_ / "heavy.json").string(), txt = (dir_ / "heavy.txt").string();
  ASSERT_EQ(std::system((ctl + " dataplane heavy --limit 5 --json > " + js).c_str()), 0);
  const nlohmann::json cli = nlohmann::json::parse(std::ifstream(js));
  ASSERT_EQ(cli.size(), 2u);
  EXPECT_EQ(cli[1]["prefix"], "198.18.5.7/32");
  EXPECT_EQ(cli[1]["syns"], 20);
  EXPECT_EQ(cli[1]["window_ns"], heavy::kWindowNs);
  ASSERT_EQ(std::system((ctl + " dataplane heavy > " + txt).c_str()), 0);
  std::stringstream text;
  text << std::ifstream(txt).rdbuf();
  EXPECT_NE(text.str().find("198.18.5.7/32"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("2 heavy sender(s)"), std::string::npos) << text.str();
  // A bad --limit is a usage error (exit 2), refused before anything is asked.
  for (const char *bad : {"0", "-1", "x", "10001", "99999999999999999999", "1.5"}) {
    const std::string cmd = ctl + " dataplane heavy --limit " + bad + " > /dev/null 2> " + txt;
    const int rc = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 2) << cmd;
    std::stringstream err;
    err << std::ifstream(txt).rdbuf();
    EXPECT_NE(err.str().find("--limit must be an integer 1..10000"), std::string::npos)
        << bad << ": " << err.str();
  }
#endif
}

// heavy_hitters = off: the command answers an empty list, and says counting is off, even while
// the candidate tables still hold what was counted before the switch.
TEST_F(Control, WithHeavyHittersOffTheHeavyCommandAnswersAnEmptyList) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  client->set_policy(write("on.ini", "[smtp]\nheavy_syn_threshold = 5\n"));
  start_early_in_a_window();
  syn_burst("198.18.5.9", 8, 44000);
  ASSERT_EQ(client->heavy_senders(10).size(), 2u) << "counted while on";
  client->set_policy(write("off.ini", "[smtp]\nheavy_hitters = off\n"));
  EXPECT_TRUE(client->heavy_senders(10).empty());
  auto *dpdk = dynamic_cast<control::DpdkClient *>(client.get());
  const nlohmann::json r = dpdk->call({{"cmd", "heavy"}, {"limit", 10}});
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["enabled"], false);
  EXPECT_EQ(r["threshold"], 0);
  EXPECT_TRUE(r["senders"].is_array());
  EXPECT_TRUE(r["senders"].empty());
  syn_burst("198.18.5.10", 8, 45000);
  EXPECT_TRUE(client->heavy_senders(10).empty()) << "nothing counted while off";
}

TEST_F(Control, HostileHeavyLimitsAreRefusedClearly) {
  auto client = control::connect_dataplane("dpdk:" + sock_);
  const std::vector<nlohmann::json> bad = {
      {{"cmd", "heavy"}},                 // missing
      {{"cmd", "heavy"}, {"limit", -1}},  // negative
      {{"cmd", "heavy"}, {"limit", 0}},   // below the range
      {{"cmd", "heavy"}, {"limit", DpControl::kMaxHeavyLimit + 1}},
      {{"cmd", "heavy"}, {"limit", UINT64_MAX}},  // huge
      {{"cmd", "heavy"}, {"limit", 1e300}},       // huge, not an integer
      {{"cmd", "heavy"}, {"limit", 2.5}},         // fractional
      {{"cmd", "heavy"}, {"limit", "10"}},        // a string
      {{"cmd", "heavy"}, {"limit", "x"}},         // not a number
      {{"cmd", "heavy"}, {"limit", true}},        // a boolean
      {{"cmd", "heavy"}, {"limit", nullptr}},     // null
      {{"cmd", "heavy"}, {"limit", nlohmann::json::array({5})}},
  };
  for (const nlohmann::json &req : bad) {
    const nlohmann::json r = raw_call(*client, req, -1);
    EXPECT_EQ(r["ok"], false) << req.dump();
    const std::string err = r.value("error", "");
    EXPECT_NE(err.find("\"limit\""), std::string::npos) << req.dump() << ": " << err;
    EXPECT_NE(err.find("1..10000"), std::string::npos) << req.dump() << ": " << err;
  }
  // Numbers past 64 bits and odd encodings, as bytes on the wire.
  for (const char *body :
       {R"({"cmd":"heavy","limit":18446744073709551616})", R"({"cmd":"heavy","limit":-0})",
        R"({"cmd":"heavy","limit":1e3})", R"({"cmd":"heavy","limit":{}})"}) {
    const auto r = nlohmann::json::parse(server_->handle_body(body));
    EXPECT_EQ(r["ok"], false) << body;
  }
  // The socket and the data plane go on.
  EXPECT_TRUE(client->heavy_senders(5).empty());
  EXPECT_EQ(syn_fate("198.18.1.10", 46000), 'I');
}

}  // namespace
}  // namespace sluice::dataplane
