// sluiced end to end in one process, with in-memory data planes (fake_dataplane.h): start,
// list changes, guards, providers, restart reconciliation, a data plane restarting under it,
// and the control socket with concurrent, stalled and hostile clients.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "reputation/gzip_util.h"
#include "control/run_sluicectl.h"
#include "daemon/daemon.h"
#include "sluice/reputation/address.h"
#include "daemon/log.h"
#include "daemon_client.h"
#include "daemon_fixture.h"
#include "fake_dataplane.h"
#include "test_dir.h"

namespace sluice::sluiced {
namespace {

namespace rep = sluice::reputation;
using nlohmann::json;
using testing::addresses;
using testing::FakeClient;
using testing::FakeDataplane;
using ::testing::HasSubstr;
using testing::TestDir;

class DaemonTest : public testing::DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    write_sources(
        "[local]\ntype = list\npath = local.txt\nweight = 3\n"
        "[ok]\ntype = list\npath = ok.txt\nallow = true\n");
    dir.write("local.txt", addresses(100));
    dir.write("ok.txt", "198.18.0.7\n");
  }

  std::unique_ptr<Daemon> make() {
    return std::make_unique<Daemon>(cfg, std::vector<std::unique_ptr<Module>>{}, fake_clients());
  }
  size_t pushes(const std::string &spec) {
    return dps[spec]->count("load") + dps[spec]->count("delta");
  }
  std::optional<sl_rep_value> lookup(const std::string &spec, const char *addr) {
    return dps[spec]->table.lookup_v4(htonl(*rep::parse_ipv4(addr)));
  }
};

TEST_F(DaemonTest, StartBringsEveryDataplaneToTheTable) {
  auto d = make();
  d->start(false);
  for (const auto &spec : cfg.dataplanes) {
    EXPECT_EQ(dps[spec]->version(), d->table().checksum()) << spec;
    EXPECT_EQ(dps[spec]->count("load"), 1u) << spec;
  }
  const json st = d->status_json();
  EXPECT_EQ(st["table"]["entries"], 100u);
  EXPECT_EQ(st["dataplanes"].size(), 2u);
  EXPECT_TRUE(st["dataplanes"][0]["in_sync"].get<bool>());
  EXPECT_EQ(st["sources"][0]["name"], "local");
  EXPECT_EQ(st["sources"][0]["state"], "ok");
}

TEST_F(DaemonTest, AListChangeIsPushedAsADeltaToEveryDataplane) {
  auto d = make();
  d->start(false);
  dir.write("local.txt", addresses(120));
  EXPECT_TRUE(d->refresh_sources(false));
  for (const auto &spec : cfg.dataplanes) {
    EXPECT_EQ(dps[spec]->count("delta"), 1u) << spec;
    EXPECT_EQ(dps[spec]->version(), d->table().checksum()) << spec;
  }
  EXPECT_FALSE(d->refresh_sources(false));  // nothing changed: nothing pushed
  EXPECT_EQ(pushes("fake:a"), 2u);
}

TEST_F(DaemonTest, AnEmptyDownloadIsRefusedAndTheDataplanesKeepTheirTable) {
  auto d = make();
  d->start(false);
  const uint64_t before = d->table().checksum();
  dir.write("local.txt", "");
  EXPECT_FALSE(d->refresh_sources(false));
  EXPECT_EQ(d->table().checksum(), before);
  EXPECT_EQ(pushes("fake:a"), 1u);
  EXPECT_TRUE(lookup("fake:a", "198.18.0.1"));
  const json list = d->commands().handle({{"cmd", "sources list"}});
  EXPECT_EQ(list["sources"][0]["state"], "rejected");
  EXPECT_EQ(list["sources"][0]["last_rejection"], "lists no entry");
  // sources accept overrides once: the empty list goes live and is pushed.
  const json r = d->commands().handle({{"cmd", "sources accept"}, {"name", "local"}});
  EXPECT_TRUE(r["ok"].get<bool>());
  EXPECT_NE(d->table().checksum(), before);
  EXPECT_FALSE(lookup("fake:a", "198.18.0.1"));
  EXPECT_EQ(dps["fake:a"]->version(), d->table().checksum());
}

// The same for a gzipped download, as DNSBL mirrors serve zones: a valid gzip stream of nothing
// and one cut in half are refused with their reasons, the table and the data planes keep the last
// good version, and a whole one goes live.
TEST_F(DaemonTest, AnEmptyOrTruncatedGzipDownloadIsRefusedAndTheDataplanesKeepTheirTable) {
  using rep::testing::gzip;
  write_sources("[zone]\ntype = list\npath = zone.download\nweight = 3\n");
  dir.write("zone.download", gzip(addresses(100)));
  auto d = make();
  d->start(false);
  const uint64_t before = d->table().checksum();
  ASSERT_TRUE(lookup("fake:a", "198.18.0.1"));
  const std::string whole = gzip(addresses(80));
  for (const auto &[content, reason] :
       {std::pair{gzip(""), "lists no entry"},
        std::pair{whole.substr(0, whole.size() / 2), "truncated gzip stream"}}) {
    SCOPED_TRACE(reason);
    dir.write("zone.download", content);
    EXPECT_FALSE(d->refresh_sources(false));
    EXPECT_EQ(d->table().checksum(), before);
    EXPECT_EQ(pushes("fake:a"), 1u);
    EXPECT_EQ(dps["fake:a"]->version(), before);
    EXPECT_TRUE(lookup("fake:a", "198.18.0.1"));
    const json list = d->commands().handle({{"cmd", "sources list"}});
    EXPECT_EQ(list["sources"][0]["state"], "rejected");
    EXPECT_THAT(list["sources"][0]["last_rejection"].get<std::string>(), HasSubstr(reason));
  }
  dir.write("zone.download", whole);
  EXPECT_TRUE(d->refresh_sources(false));
  EXPECT_NE(d->table().checksum(), before);
  EXPECT_EQ(dps["fake:a"]->version(), d->table().checksum());
  EXPECT_TRUE(lookup("fake:a", "198.18.0.1"));
  EXPECT_FALSE(lookup("fake:a", "198.18.0.90"));  // the 80-address list is live
}

// The state folder stops taking writes while sluiced runs (a full disk, a mount gone read-only;
// here a file where state/push is and a folder where state/table.snap is, which root cannot
// write through either): a change whose push needs a file there fails as a push, the data
// plane keeps its last table whole, the daemon says why; once the folder takes writes again the
// next sync pushes the table it has.
TEST_F(DaemonTest, AStateFolderThatStopsTakingWritesFailsPushesUntilItTakesThemAgain) {
  auto d = make();
  d->start(false);
  const std::string state = dir / "state";
  const uint64_t before = dps["fake:a"]->version();
  ASSERT_EQ(before, d->table().checksum());
  std::filesystem::remove_all(state + "/push");
  dir.write("state/push", "not a folder");
  std::filesystem::remove(state + "/table.snap");
  std::filesystem::create_directories(state + "/table.snap/in-the-way");

  dir.write("local.txt", addresses(80));
  d->refresh_sources(false);
  EXPECT_NE(d->table().checksum(), before) << "the new list is built";
  EXPECT_EQ(dps["fake:a"]->version(), before) << "the data plane keeps its last table whole";
  EXPECT_TRUE(lookup("fake:a", "198.18.0.90"));
  json st = d->commands().handle({{"cmd", "status"}});
  EXPECT_EQ(st["dataplanes"][0]["in_sync"], false);
  EXPECT_THAT(st["dataplanes"][0]["last_error"].get<std::string>(), HasSubstr(state));

  std::filesystem::remove(state + "/push");
  std::filesystem::remove_all(state + "/table.snap");
  d->sync_dataplanes(true);
  EXPECT_EQ(dps["fake:a"]->version(), d->table().checksum());
  EXPECT_FALSE(lookup("fake:a", "198.18.0.90"));
  st = d->commands().handle({{"cmd", "status"}});
  EXPECT_EQ(st["dataplanes"][0]["in_sync"], true);
}

TEST_F(DaemonTest, SourcesAcceptTakesANameNeverAPath) {
  auto d = make();
  d->start(false);
  EXPECT_THROW(d->commands().handle({{"cmd", "sources accept"}, {"name", "/etc/shadow"}}),
               CommandError);
  EXPECT_THROW(d->commands().handle({{"cmd", "sources accept"}}), CommandError);
  EXPECT_THROW(d->commands().handle({{"cmd", "sources accept"}, {"name", 5}}), CommandError);
  EXPECT_THROW(d->commands().handle({{"cmd", "no such verb"}}), CommandError);
}

TEST_F(DaemonTest, ARestartedDaemonPushesNothingToDataplanesAtItsTable) {
  uint64_t version = 0;
  {
    auto d = make();
    d->start(false);
    dir.write("local.txt", addresses(150));
    d->refresh_sources(false);
    version = d->table().checksum();
    // No shutdown(): as after kill -9, only what was written as it went is left.
  }
  dir.write("local.txt", "garbage line\n");  // the list went bad meanwhile
  const size_t before = pushes("fake:a");
  auto d = make();
  d->start(false);
  EXPECT_EQ(d->table().checksum(), version);
  EXPECT_EQ(pushes("fake:a"), before);
  EXPECT_EQ(pushes("fake:b"), before);
  EXPECT_TRUE(d->status_json()["dataplanes"][0]["in_sync"].get<bool>());
}

TEST_F(DaemonTest, ADataplaneThatRestartsGetsAFullLoadAtTheNextCheck) {
  auto d = make();
  d->start(false);
  dps["fake:b"]->restart();
  d->sync_dataplanes(false);
  EXPECT_EQ(dps["fake:b"]->count("load"), 2u);
  EXPECT_EQ(dps["fake:b"]->version(), d->table().checksum());
  EXPECT_EQ(dps["fake:a"]->count("load"), 1u);
}

TEST_F(DaemonTest, ADataplaneDownAtStartDoesNotStopTheOthers) {
  dps["fake:a"]->down = true;
  auto d = make();
  d->start(false);
  EXPECT_EQ(dps["fake:b"]->version(), d->table().checksum());
  const json st = d->status_json();
  EXPECT_FALSE(st["dataplanes"][0]["reachable"].get<bool>());
  EXPECT_THAT(st["dataplanes"][0]["last_error"].get<std::string>(), HasSubstr("down"));
  dps["fake:a"]->down = false;
  d->sync_dataplanes(true);
  EXPECT_EQ(dps["fake:a"]->version(), d->table().checksum());
}

class OneAddress : public ContributionProvider {
 public:
  std::string provider_name() const override { return "one"; }
  std::vector<Contribution> contributions(WallClock::time_point) override {
    if (!on) return {};
    Contribution c;
    c.config.name = "dynamic";
    c.config.weight = 50;
    c.parsed = rep::parse_source_text(c.config, "198.18.1.1\n", "dynamic");
    return {c};
  }
  bool on = false;
};

TEST_F(DaemonTest, ProviderContributionsAreCompiledWithTheSources) {
  auto d = make();
  OneAddress p;
  d->add_provider(p);
  d->start(false);
  EXPECT_FALSE(lookup("fake:a", "198.18.1.1"));
  p.on = true;
  d->rebuild_now("test");
  auto v = lookup("fake:a", "198.18.1.1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->score, 50);
  v = lookup("fake:a", "198.18.0.7");  // the allowlist still wins over the list
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->flags & SL_REP_ALLOW);
  EXPECT_EQ(d->last_build().configs.back().name, "dynamic");
}

// ---- the control socket -----------------------------------------------------------------------

int connect_raw(const std::string &path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A client that sends half a length header and then nothing; -1 if it could not.
int stalled_client(const std::string &path) {
  const int fd = connect_raw(path);
  if (fd >= 0 && ::send(fd, "\0\0", 2, MSG_NOSIGNAL) != 2) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST_F(DaemonTest, ConcurrentClientsAreAnsweredWhileAnotherStallsAndShutdownIsNotDelayed) {
  auto d = make();
  d->start(true);
  std::thread loop([&] { d->run(); });
  const int stalled = stalled_client(cfg.socket);
  ASSERT_GE(stalled, 0);
  // A client that announces more than the limit.
  const int huge = connect_raw(cfg.socket);
  ASSERT_GE(huge, 0);
  ASSERT_EQ(::send(huge, "\x7f\xff\xff\xff", 4, MSG_NOSIGNAL), 4);
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int i = 0; i < 2; ++i)
    clients.emplace_back([&] {
      for (int k = 0; k < 20; ++k) {
        control::DaemonClient c(cfg.socket, std::chrono::seconds(20));
        const json r = c.call({{"cmd", k % 2 ? "status" : "sources list"}});
        if (r["ok"].get<bool>()) ++answered;
      }
    });
  for (auto &t : clients) t.join();
  EXPECT_EQ(answered.load(), 40);
  // A request that names a verb nobody registered, and one that is not JSON.
  control::DaemonClient c(cfg.socket);
  try {
    c.call({{"cmd", "host set"}});
    ADD_FAILURE() << "unknown verb answered";
  } catch (const control::DaemonError &e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown command 'host set'"));
  }
  // Shutdown with the stalled client still connected: run() returns, the socket is removed.
  d->stop();
  loop.join();
  d->shutdown();
  EXPECT_FALSE(std::filesystem::exists(cfg.socket));
  ::close(stalled);
  ::close(huge);
}

// The same with the real CLI: two sluicectl processes at once, each asking ten times, while a
// third client holds a connection with half a request in it. Every run answers.
TEST_F(DaemonTest, TwoSluicectlsAtOnceAreAnsweredWhileAThirdClientStalls) {
  auto d = make();
  d->start(true);
  std::thread loop([&] { d->run(); });
  const int stalled = stalled_client(cfg.socket);
  ASSERT_GE(stalled, 0);
  std::atomic<int> answered{0};
  std::vector<std::thread> clis;
  for (int i = 0; i < 2; ++i)
    clis.emplace_back([&, i] {
      const std::filesystem::path scratch =
          std::filesystem::path(dir.path()) / ("cli" + std::to_string(i));
      std::filesystem::create_directories(scratch);
      for (int k = 0; k < 10; ++k) {
        const auto r = sluice::testing::run_sluicectl(
            {"--daemon", cfg.socket, k % 2 ? "status" : "sources", k % 2 ? "--json" : "list"},
            scratch);
        if (r.exit_code == 0 && !r.out.empty()) ++answered;
      }
    });
  for (auto &t : clis) t.join();
  EXPECT_EQ(answered.load(), 20);
  d->stop();
  loop.join();
  ::close(stalled);
}

TEST_F(DaemonTest, SluicectlStatusAndSourcesTalkToTheSocket) {
  auto d = make();
  d->start(true);
  std::thread loop([&] { d->run(); });
  const std::filesystem::path scratch = dir.path();
  auto r = sluice::testing::run_sluicectl({"--daemon", cfg.socket, "status"}, scratch);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("fake:a"));
  EXPECT_THAT(r.out, HasSubstr("in sync"));
  EXPECT_THAT(r.out, HasSubstr("local"));
  r = sluice::testing::run_sluicectl({"--daemon", cfg.socket, "sources", "list", "--json"},
                                     scratch);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const json list = json::parse(r.out);
  EXPECT_EQ(list[0]["entries"], 100);
  r = sluice::testing::run_sluicectl({"--daemon", cfg.socket, "sources", "accept", "nope"},
                                     scratch);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no source named 'nope'"));
  r = sluice::testing::run_sluicectl({"--daemon", dir / "absent.sock", "status"}, scratch);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot connect to sluiced"));
  r = sluice::testing::run_sluicectl({"--daemon", cfg.socket, "sources", "accept"}, scratch);
  EXPECT_EQ(r.exit_code, 2);
  d->stop();
  loop.join();
}

}  // namespace
}  // namespace sluice::sluiced
