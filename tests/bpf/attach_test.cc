// sluice-xdp attach / status / detach on veth pairs in network namespaces this test creates:
// traffic crosses the pair only through the XDP redirect, keeps crossing after the CLI exits
// (fail-static), stops after detach; bad attach requests change nothing.
//
// Rig (names carry the pid):  [ns slxc<pid>: c0 198.18.0.1] <-veth-> slxo<pid>  (outside)
//                             [ns slxs<pid>: s0 198.18.0.2] <-veth-> slxi<pid>  (inside)
// slxo/slxi live in the test's namespace and are not bridged: only sluice connects them.
#include <gtest/gtest.h>
#include <net/if.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <ctime>

#include <bpf/libbpf.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <cstring>

#include "common/packet_builder.h"
#include "common/privileged.h"
#include "sluice/xdp/attach.h"
#include "sluice/xdp/bpffs.h"
#include "sluice/xdp/heavy_maps.h"
#include "common/stats_keys.h"
#include "dataplane_client.h"
#include <fstream>
#include <nlohmann/json.hpp>

#include "sluice/reputation/delta.h"
#include "sluice/reputation/snapshot.h"

#ifndef SLUICE_XDP_BIN
#error "SLUICE_XDP_BIN (path of sluice-xdp) must be defined"
#endif

namespace sluice::xdp {
namespace {

int sh(const std::string &cmd) {
  const int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Output and exit status of a command (stderr included).
std::pair<int, std::string> run(const std::string &cmd) {
  std::string out;
  FILE *p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, out};
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  const int rc = pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

// A scratch folder that holds the instance's saved state ($SLUICE_XDP_STATE_DIR is DIR/state
// while it lives), removed with everything in it at the end of the test.
struct Scratch {
  std::string dir;
  explicit Scratch(std::string d) : dir(std::move(d)) {
    std::filesystem::create_directories(dir);
    setenv("SLUICE_XDP_STATE_DIR", (dir + "/state").c_str(), 1);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  Scratch(const Scratch &) = delete;
  Scratch &operator=(const Scratch &) = delete;
};

class XdpRig : public ::testing::Test {
 protected:
  const std::string id = std::to_string(getpid());
  const std::string nsc = "slxc" + id, nss = "slxs" + id;
  const std::string out_if = "slxo" + id, in_if = "slxi" + id;
  const std::string name = "test-" + id;
  const std::string bin = SLUICE_XDP_BIN;

  void SetUp() override {
    SLUICE_REQUIRE_PRIVILEGED();
    TearDown();  // leftovers of a crashed run with the same pid
    ok_ = sh("ip netns add " + nsc) == 0 && sh("ip netns add " + nss) == 0 &&
          sh("ip link add " + out_if + " type veth peer name c0 netns " + nsc) == 0 &&
          sh("ip link add " + in_if + " type veth peer name s0 netns " + nss) == 0 &&
          sh("ip -n " + nsc + " addr add 198.18.0.1/24 dev c0") == 0 &&
          sh("ip -n " + nss + " addr add 198.18.0.2/24 dev s0") == 0 &&
          sh("ip -n " + nsc + " link set c0 up") == 0 &&
          sh("ip -n " + nss + " link set s0 up") == 0 && sh("ip link set " + out_if + " up") == 0 &&
          sh("ip link set " + in_if + " up") == 0;
    // Real checksums on the wire: native XDP frames lose the skb's partial-checksum state.
    const std::string off = " tx off tso off gso off gro off";
    ok_ = ok_ && sh("ip netns exec " + nsc + " ethtool -K c0" + off) == 0 &&
          sh("ip netns exec " + nss + " ethtool -K s0" + off) == 0 &&
          sh("ethtool -K " + out_if + off) == 0 && sh("ethtool -K " + in_if + off) == 0;
    ASSERT_TRUE(ok_) << "could not build the namespace rig";
  }

  void TearDown() override {
    sh(bin + " detach --name " + name);
    sh("ip link del " + out_if);
    sh("ip link del " + in_if);
    sh("ip netns del " + nsc);
    sh("ip netns del " + nss);
    std::error_code ec;
    std::filesystem::remove_all(pin_dir(name), ec);
  }

  // A TCP exchange c0 -> s0:2525 and back, bounded by timeouts (3 s for all of it).
  bool tcp_exchange() { return tcp_exchange_result() == "EHLO"; }

  // "EHLO" on success, else the Python exception's name (ConnectionRefusedError, timeout...).
  std::string tcp_exchange_result() {
    // The server runs at most 5 s and is ended by its pid (timeout passes SIGTERM on).
    const std::string py =
        "import socket;s=socket.socket();"
        "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('198.18.0.2',2525));"
        "s.listen(1);s.settimeout(4);c,_=s.accept();c.sendall(c.recv(64).upper())";
    const pid_t server = fork();
    if (server == 0) {
      setpgid(0, 0);  // its own group: `ip netns exec` forks, so the server is a grandchild
      execlp("ip", "ip", "netns", "exec", nss.c_str(), "timeout", "5", "python3", "-c", py.c_str(),
             static_cast<char *>(nullptr));
      _exit(127);
    }
    if (server > 0) setpgid(server, server);  // whichever of the two runs first
    // Connect only once the server listens: its socket shows in the namespace's listening
    // sockets (at most 200 checks; if it never does, the connection fails and says why).
    const std::string listening = "ip netns exec " + nss + " ss -Hltn 'sport = :2525'";
    for (int i = 0; i < 200 && run(listening).second.empty(); i++) usleep(20 * 1000);
    const auto [rc, out] = run("ip netns exec " + nsc +
                               " timeout 4 python3 -c \"import socket\n"
                               "try:\n"
                               " c=socket.create_connection(('198.18.0.2',2525),timeout=3)\n"
                               " c.sendall(b'ehlo');print(c.recv(64).decode())\n"
                               "except Exception as e: print(type(e).__name__)\"");
    (void)rc;
    if (server > 0) {
      kill(-server, SIGTERM);  // the whole group, the server itself included
      waitpid(server, nullptr, 0);
      // and its socket gone before the next exchange binds the port again
      for (int i = 0; i < 200 && !run(listening).second.empty(); i++) usleep(20 * 1000);
    }
    std::string r = out;
    while (!r.empty() && (r.back() == '\n' || r.back() == '\r')) r.pop_back();
    return r;
  }

  // Native XDP on both ports, with the pass program on the far ends (a veth delivers a
  // redirected frame only to a peer that runs XDP): sluice-xdp attach's status and output.
  std::pair<int, std::string> attach_native() {
    if (sh("ip netns exec " + nsc + " " + bin + " peer-pass --dev c0") != 0 ||
        sh("ip netns exec " + nss + " " + bin + " peer-pass --dev s0") != 0)
      return {-1, "peer-pass failed"};
    return run(bin + " attach --outside " + out_if + " --inside " + in_if + " --name " + name +
               " --mode native");
  }

  uint32_t xdp_prog(const std::string &ifname) {
    uint32_t id_ = 0;
    bpf_xdp_query_id(static_cast<int>(if_nametoindex(ifname.c_str())), 0, &id_);
    return id_;
  }

  bool ok_ = false;
};

TEST_F(XdpRig, GenericModeForwardsFailStaticAndDetachStops) {
  EXPECT_FALSE(tcp_exchange()) << "the rig must not forward without sluice";
  const auto [rc, out] = run(bin + " attach --outside " + out_if + " --inside " + in_if +
                             " --name " + name + " --mode generic");
  ASSERT_EQ(rc, 0) << out;
  // The CLI has exited: programs and maps live on through the attachment and the pins.
  EXPECT_TRUE(std::filesystem::exists(pin_dir(name) + "/flows"));
  EXPECT_TRUE(tcp_exchange());
  const auto [src, sout] = run(bin + " status --name " + name);
  EXPECT_EQ(src, 0) << sout;
  EXPECT_NE(sout.find("attached"), std::string::npos) << sout;
  const Status s = status(name);
  EXPECT_TRUE(s.outside.attached);
  EXPECT_TRUE(s.inside.attached);
  EXPECT_GT(s.stats.packets[SL_DIR_FROM_OUTSIDE], 0u);
  EXPECT_GT(s.stats.packets[SL_DIR_FROM_INSIDE], 0u);

  const auto [drc, dout] = run(bin + " detach --name " + name);
  ASSERT_EQ(drc, 0) << dout;
  EXPECT_EQ(xdp_prog(out_if), 0u);
  EXPECT_EQ(xdp_prog(in_if), 0u);
  EXPECT_FALSE(std::filesystem::exists(pin_dir(name)));
  EXPECT_FALSE(tcp_exchange());
}

// On a BPF filesystem of its own (SLUICE_BPFFS), so other instances on the machine do not
// matter: attach pins the heavy-hitter maps with the others, and detach leaves nothing behind,
// not even the sluice/ directory the first instance created.
TEST_F(XdpRig, DetachLeavesNothingUnderTheBpfFilesystem) {
  const std::string root = "/tmp/slx-bpffs-" + id;
  std::filesystem::create_directories(root);
  struct Unmount {
    std::string root;
    ~Unmount() {
      sh("umount " + root);
      std::error_code ec;
      std::filesystem::remove(root, ec);
    }
  } unmount{root};
  // What a fresh BPF filesystem holds before anything is pinned (the kernel's maps.debug and
  // progs.debug iterators, when bpf_preload is built).
  ASSERT_EQ(sh("mount -t bpf bpf " + root), 0);
  auto listing = [&] {
    std::vector<std::string> names;
    for (const auto &e : std::filesystem::recursive_directory_iterator(root))
      names.push_back(e.path().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  const std::vector<std::string> fresh = listing();
  const std::string env = "SLUICE_BPFFS=" + root + " ";
  auto [rc, out] = run(env + bin + " attach --outside " + out_if + " --inside " + in_if +
                       " --name " + name + " --mode generic");
  ASSERT_EQ(rc, 0) << out;
  const std::string dir = root + "/sluice/" + name;
  for (const char *map : {"heavy_sketch", "heavy_table", "flows", "meta"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + map)) << map;
  std::tie(rc, out) = run(env + bin + " detach --name " + name);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(xdp_prog(out_if), 0u);
  EXPECT_FALSE(std::filesystem::exists(root + "/sluice")) << "the empty sluice/ directory";
  EXPECT_EQ(listing(), fresh);
}

TEST_F(XdpRig, NativeModeForwardsWithPassProgramsOnThePeers) {
  ASSERT_EQ(sh("ip netns exec " + nsc + " " + bin + " peer-pass --dev c0"), 0);
  ASSERT_EQ(sh("ip netns exec " + nss + " " + bin + " peer-pass --dev s0"), 0);
  const auto [rc, out] = run(bin + " attach --outside " + out_if + " --inside " + in_if +
                             " --name " + name + " --mode native");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(tcp_exchange());
  EXPECT_EQ(status(name).mode, XdpMode::native);
}

// Native XDP on the veth pair: SYNs from the client's namespace are counted on the wire; one
// address above the threshold is listed with its /24, the addresses of one SYN are not.
TEST_F(XdpRig, NativeModeCountsHeavySendersOnTheWire) {
  const Scratch scratch("/tmp/sluice-xdp-heavy-" + id);
  const std::string &tmp = scratch.dir;
  for (int a = 11; a <= 15; a++)
    ASSERT_EQ(sh("ip -n " + nsc + " addr add 198.18.0." + std::to_string(a) + "/24 dev c0"), 0);
  auto [rc, out] = attach_native();
  ASSERT_EQ(rc, 0) << out;
  {
    std::ofstream pf(tmp + "/policy.ini");
    pf << "[smtp]\nports = 2525\nheavy_hitters = on\nheavy_syn_threshold = 8\n"
          "[level.1]\nname = throttle\nthreshold = 3\nwindow_clamp = 2048\n";
  }
  auto dp = control::connect_dataplane("xdp:" + name);
  dp->set_policy(tmp + "/policy.ini");
  // 12 SYNs from 198.18.0.1, one from each of .11 to .15, to a closed port (each answered by
  // an RST, so none is sent again), all in one counting window: the sender waits for a window's
  // start itself (the interpreter's start-up, slow on a loaded machine, is then outside the
  // window) and tries again in the next window if the SYNs straddled two (at most 5 times).
  const std::string py =
      "import socket,time\n"
      "W=" +
      std::to_string(heavy::kWindowNs) +
      "\n"
      "def syn(src):\n"
      " s=socket.socket();s.bind((src,0));s.settimeout(1)\n"
      " try: s.connect(('198.18.0.2',2525))\n"
      " except Exception: pass\n"
      " s.close()\n"
      "for attempt in range(5):\n"
      " time.sleep((W-time.monotonic_ns()%W)/1e9+0.02)\n"
      " e=time.monotonic_ns()//W\n"
      " for i in range(12): syn('198.18.0.1')\n"
      " for a in range(11,16): syn('198.18.0.%d'%a)\n"
      " if time.monotonic_ns()//W==e:\n"
      "  print('one window');break\n";
  {
    std::ofstream sender(tmp + "/syns.py");
    sender << py;
  }
  std::tie(rc, out) = run("ip netns exec " + nsc + " timeout 30 python3 " + tmp + "/syns.py");
  ASSERT_EQ(rc, 0) << out;
  const bool one_window = out.find("one window") != std::string::npos;
  ASSERT_TRUE(one_window) << "the SYNs never fell in one window";
  const auto heavy = dp->heavy_senders(10);
  ASSERT_EQ(heavy.size(), 2u);
  EXPECT_EQ(heavy[0].prefix, "198.18.0.0/24");
  EXPECT_GE(heavy[0].syns, 17u);
  EXPECT_EQ(heavy[1].prefix, "198.18.0.1/32");
  EXPECT_GE(heavy[1].syns, 12u);
}

TEST_F(XdpRig, MissingInterfaceIsRefusedAndChangesNothing) {
  const auto [rc, out] =
      run(bin + " attach --outside " + out_if + " --inside nosuch" + id + " --name " + name);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("does not exist"), std::string::npos) << out;
  EXPECT_EQ(xdp_prog(out_if), 0u);
  EXPECT_FALSE(std::filesystem::exists(pin_dir(name)));
}

// Ports that are the two ends of one veth pair would pass every frame back to each other forever
// (a stray neighbour solicitation was enough to load both CPUs of a bench machine): refused by
// name, in either order, and nothing is attached or pinned.
TEST_F(XdpRig, TwoEndsOfOneVethPairAreRefused) {
  const std::string a = "slxp" + id, b = "slxq" + id;
  ASSERT_EQ(sh("ip link add " + a + " type veth peer name " + b), 0);
  for (const auto &[outside, inside] : {std::pair{a, b}, std::pair{b, a}}) {
    const auto [rc, out] = run(bin + " attach --outside " + outside + " --inside " + inside +
                               " --name " + name + " --mode generic");
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("two ends of one veth pair"), std::string::npos) << out;
    EXPECT_EQ(xdp_prog(outside), 0u);
    EXPECT_EQ(xdp_prog(inside), 0u);
    EXPECT_FALSE(std::filesystem::exists(pin_dir(name)));
  }
  sh("ip link del " + a);
}

TEST_F(XdpRig, ForeignProgramIsNotReplaced) {
  ASSERT_EQ(sh(bin + " peer-pass --mode generic --dev " + in_if), 0);
  const uint32_t foreign = xdp_prog(in_if);
  ASSERT_NE(foreign, 0u);
  const auto [rc, out] = run(bin + " attach --outside " + out_if + " --inside " + in_if +
                             " --name " + name + " --mode generic");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("already has an XDP program"), std::string::npos) << out;
  EXPECT_EQ(xdp_prog(in_if), foreign);
  EXPECT_EQ(xdp_prog(out_if), 0u);
  EXPECT_FALSE(std::filesystem::exists(pin_dir(name)));
}

TEST_F(XdpRig, FailureOnSecondPortRollsBackTheFirst) {
  // A bridge has no native XDP: the outside port attaches, the inside one fails.
  const std::string dummy = "slxb" + id;
  ASSERT_EQ(sh("ip link add " + dummy + " type bridge"), 0);
  const auto [rc, out] = run(bin + " attach --outside " + out_if + " --inside " + dummy +
                             " --name " + name + " --mode native");
  sh("ip link del " + dummy);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("native"), std::string::npos) << out;
  EXPECT_EQ(xdp_prog(out_if), 0u);
  EXPECT_FALSE(std::filesystem::exists(pin_dir(name)));
}

TEST_F(XdpRig, WrongModeAndBadNameAreClearErrors) {
  auto [rc, out] = run(bin + " attach --outside " + out_if + " --inside " + in_if + " --name " +
                       name + " --mode turbo");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("unknown XDP mode"), std::string::npos) << out;
  std::tie(rc, out) =
      run(bin + " attach --outside " + out_if + " --inside " + in_if + " --name ../evil");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("invalid instance name"), std::string::npos) << out;
  EXPECT_EQ(xdp_prog(out_if), 0u);
}

// A table of one host, 198.18.0.1 (the rig's client), with that score.
reputation::Snapshot client_table(int32_t score) {
  reputation::HostV4 h{};
  h.addr_be = __builtin_bswap32(0xc6120001u);
  h.value = {score, 0};
  return reputation::Snapshot::from_entries({h}, {}, {}, {});
}

TEST_F(XdpRig, LiveTableDeltaAndPolicyUpdatesShapeRealConnections) {
  const Scratch scratch("/tmp/sluice-xdp-test-" + id);
  const std::string &tmp = scratch.dir;
  const std::string env = "SLUICE_XDP_STATE_DIR=" + tmp + "/state ";
  // Everything after attach is sluicectl's (sluice-xdp attaches, detaches and shows status).
  const std::string ctl = env + SLUICECTL_BIN + " --dataplane xdp:" + name + " dataplane ";

  auto [rc, out] = run(bin + " attach --outside " + out_if + " --inside " + in_if + " --name " +
                       name + " --mode generic");
  ASSERT_EQ(rc, 0) << out;
  {
    std::ofstream pf(tmp + "/policy.ini");
    pf << "[smtp]\nports = 2525\n"
          "[level.1]\nname = throttle\nthreshold = 3\nwindow_clamp = 2048\n"
          "[level.2]\nname = block\nthreshold = 10\nblock = rst\n";
  }
  std::tie(rc, out) = run(ctl + "policy set " + tmp + "/policy.ini");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("generation 1"), std::string::npos) << out;

  // Blocked: the SYN is answered with RST by the XDP program, the server never sees it.
  client_table(12).save(tmp + "/blocked.snap");
  std::tie(rc, out) = run(ctl + "table load " + tmp + "/blocked.snap");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("(1 entries)"), std::string::npos) << out;
  EXPECT_EQ(tcp_exchange_result(), "ConnectionRefusedError");
  EXPECT_EQ(status(name).stats.level[2].rst_sent, 1u);

  // A delta lowers the score to the throttle level: the connection works, shaped.
  const auto delta = reputation::diff(client_table(12), client_table(4));
  delta.save(tmp + "/throttle.delta");
  std::tie(rc, out) = run(ctl + "table delta " + tmp + "/throttle.delta");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(tcp_exchange_result(), "EHLO");
  const Status st = status(name);
  EXPECT_EQ(st.stats.level[1].flows, 1u);
  EXPECT_GT(st.stats.level[1].rewritten, 0u);
  std::tie(rc, out) = run(ctl + "flows --json");
  ASSERT_EQ(rc, 0) << out;
  const nlohmann::json flows = nlohmann::json::parse(out);
  ASSERT_EQ(flows.size(), 1u) << out;
  EXPECT_EQ(flows[0]["client"], "198.18.0.1");
  EXPECT_EQ(flows[0]["level"], 1);

  // A clean table: no lookup matches, nothing is shaped.
  client_table(0).save(tmp + "/clean.snap");
  std::tie(rc, out) = run(ctl + "table load " + tmp + "/clean.snap");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(tcp_exchange_result(), "EHLO");
  EXPECT_EQ(status(name).stats.level[1].flows, 1u);  // unchanged

  // Detach takes the instance's saved table (and standby) with it: nothing stays in the state
  // directory.
  EXPECT_TRUE(std::filesystem::exists(tmp + "/state/" + name + "/table.snapshot"));
  std::tie(rc, out) = run(env + bin + " detach --name " + name);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_FALSE(std::filesystem::exists(tmp + "/state/" + name)) << "saved table left behind";
}

// A server-side tarpit's held ACK (core/sl_sequence.h, sl_seq_tarpit_keep) goes to the client
// as soon as a table change releases the sender: sluicectl's `table load` sends it through the
// inside program again (release_held, live frames), on native XDP with pass programs on the
// far ends. While the sender is still tarpitted the program drops it and keeps it held.
TEST_F(XdpRig, AHeldTarpitAckReachesTheClientWhenATableReleasesItsSender) {
  const Scratch scratch("/tmp/sluice-xdp-held-" + id);
  const std::string &tmp = scratch.dir;
  const std::string ctl = "SLUICE_XDP_STATE_DIR=" + tmp + "/state " + SLUICECTL_BIN +
                          " --dataplane xdp:" + name + " dataplane ";
  auto [rc, out] = attach_native();
  ASSERT_EQ(rc, 0) << out;
  {
    std::ofstream pf(tmp + "/policy.ini");
    pf << "[smtp]\nports = 2525\n"
          "[level.1]\nname = tarpit\nthreshold = 3\ntarpit = server\n";
  }
  std::tie(rc, out) = run(ctl + "policy set " + tmp + "/policy.ini");
  ASSERT_EQ(rc, 0) << out;

  // The server's ACK (198.18.0.2:2525 -> 198.18.0.1:40000, window 29200) of a tarpitted flow,
  // held, and the flow (greeted) at level 1 from an older generation.
  namespace t = sluice::testing;
  const t::Bytes ack = t::PacketBuilder()
                           .eth_src({0x02, 0, 0x5e, 0, 0, 0x02})
                           .eth_dst({0x02, 0, 0x5e, 0, 0, 0x01})
                           .ipv4("198.18.0.2", "198.18.0.1")
                           .tcp(2525, 40000)
                           .flags(t::kAck)
                           .seq(1000)
                           .ack(2000)
                           .window(29200)
                           .build();
  sl_flow_key key{};
  key.family = SL_AF_INET;
  const uint8_t client[4] = {198, 18, 0, 1}, server[4] = {198, 18, 0, 2};
  std::memcpy(key.client, client, 4);
  std::memcpy(key.server, server, 4);
  key.client_port = htons(40000);
  key.server_port = htons(2525);
  sl_flow_state st{};
  st.level = 1;
  st.flags = SL_FLOW_SYNACK_SEEN | SL_FLOW_GREETED;
  st.client_wscale = st.server_wscale = 0xff;
  sl_held_frame held{};
  held.len = static_cast<uint16_t>(ack.size());
  std::memcpy(held.bytes, ack.data(), ack.size());
  const int flows_fd = bpf_obj_get((pin_dir(name) + "/flows").c_str());
  const int held_fd = bpf_obj_get((pin_dir(name) + "/held").c_str());
  ASSERT_GE(flows_fd, 0);
  ASSERT_GE(held_fd, 0);
  struct Fds {
    int a, b;
    ~Fds() {
      close(a);
      close(b);
    }
  } fds{flows_fd, held_fd};
  ASSERT_EQ(bpf_map_update_elem(flows_fd, &key, &st, BPF_ANY), 0);
  ASSERT_EQ(bpf_map_update_elem(held_fd, &key, &held, BPF_ANY), 0);

  // Still tarpitted (score 5): the table load sends the ACK through, the program drops it.
  client_table(5).save(tmp + "/tarpit.snap");
  std::tie(rc, out) = run(ctl + "table load " + tmp + "/tarpit.snap");
  ASSERT_EQ(rc, 0) << out;
  sl_held_frame still{};
  EXPECT_EQ(bpf_map_lookup_elem(held_fd, &key, &still), 0) << "a tarpitted flow's ACK stays held";
  EXPECT_EQ(status(name).stats.tarpit_released, 0u);
  sl_flow_state after{};
  ASSERT_EQ(bpf_map_lookup_elem(flows_fd, &key, &after), 0);
  EXPECT_EQ(after.level, 1) << "looked up again: still the tarpit";

  // Released (score 0): the ACK leaves by the outside port as it was held; a capture on the
  // client's end (bounded: 10 s) prints the first frame from the server's port.
  const std::string capture = tmp + "/capture.hex", ready = tmp + "/capture.ready";
  const std::string py =
      "import socket,sys\n"
      "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(3))\n"
      "s.bind(('c0',0));s.settimeout(8);open(sys.argv[2],'w').close()\n"
      "while True:\n"
      " f,a=s.recvfrom(4096)\n"
      " if a[2]!=socket.PACKET_OUTGOING and f[12:14]==b'\\x08\\x00' and f[34:36]==b'\\x09\\xdd':\n"
      "  open(sys.argv[1],'w').write(f.hex());break\n";
  const pid_t cap = fork();
  if (cap == 0) {
    execlp("ip", "ip", "netns", "exec", nsc.c_str(), "timeout", "10", "python3", "-c", py.c_str(),
           capture.c_str(), ready.c_str(), static_cast<char *>(nullptr));
    _exit(127);
  }
  ASSERT_GT(cap, 0);
  for (int i = 0; i < 500 && !std::filesystem::exists(ready); i++) usleep(20 * 1000);
  ASSERT_TRUE(std::filesystem::exists(ready)) << "the capture did not start";
  client_table(0).save(tmp + "/clean.snap");
  std::tie(rc, out) = run(ctl + "table load " + tmp + "/clean.snap");
  ASSERT_EQ(rc, 0) << out;
  int wst = 0;
  waitpid(cap, &wst, 0);
  std::string got;
  std::ifstream(capture) >> got;
  static const char *hexd = "0123456789abcdef";
  std::string want;
  for (uint8_t b : ack) {
    want += hexd[b >> 4];
    want += hexd[b & 15];
  }
  EXPECT_EQ(got, want) << "the held ACK, with the server's window, reached the client";
  EXPECT_NE(bpf_map_lookup_elem(held_fd, &key, &still), 0) << "a released ACK is forgotten";
  EXPECT_EQ(status(name).stats.tarpit_released, 1u);
  ASSERT_EQ(bpf_map_lookup_elem(flows_fd, &key, &after), 0);
  EXPECT_EQ(after.level, 0) << "the flow is released";
}

TEST_F(XdpRig, ControlPlaneClientDrivesTheInstance) {
  const Scratch scratch("/tmp/sluice-xdp-client-" + id);
  const std::string &tmp = scratch.dir;
  EXPECT_THROW(control::connect_dataplane("xdp:" + name), control::DataplaneError);
  const auto [rc, out] = run(bin + " attach --outside " + out_if + " --inside " + in_if +
                             " --name " + name + " --mode generic");
  ASSERT_EQ(rc, 0) << out;
  auto dp = control::connect_dataplane("xdp:" + name);
  EXPECT_EQ(dp->describe(), "xdp:" + name);
  {
    std::ofstream pf(tmp + "/policy.ini");
    pf << "[smtp]\nports = 2525\n[level.1]\nname = throttle\nthreshold = 3\n"
          "window_clamp = 2048\n";
  }
  dp->set_policy(tmp + "/policy.ini");
  client_table(4).save(tmp + "/t.snap");
  dp->load_table(tmp + "/t.snap");
  EXPECT_THROW(dp->load_table(tmp + "/missing.snap"), control::DataplaneError);
  EXPECT_EQ(tcp_exchange_result(), "EHLO");
  const control::DataplaneStats st = dp->stats();
  EXPECT_EQ(st.kind, "xdp");
  EXPECT_EQ(st.policy.generation, 1u);
  EXPECT_EQ(st.table.entries, 1u);
  EXPECT_EQ(st.table.version, reputation::Snapshot::load(tmp + "/t.snap").checksum());
  ASSERT_EQ(st.levels.size(), 2u);
  EXPECT_EQ(st.levels[1].threshold, 3);
  EXPECT_EQ(st.totals.level[1].flows, 1u);
  EXPECT_GE(st.totals.level[1].syns, 1u);
  EXPECT_EQ(st.totals.lookups, st.totals.level[1].syns) << "one lookup per SYN";
  EXPECT_GT(st.outside.rx, 0u);

  // The same documented keys as sluice-dp's (tests/dataplane/control_test.cc), through the
  // client's model, sluicectl's --json and sluice-xdp status --json; the values agree.
  const auto keys = sluice::testing::documented_stats_keys(false);
  EXPECT_EQ(sluice::testing::stats_json_keys(stats::to_json(st)), keys);
  const std::string env = "SLUICE_XDP_STATE_DIR=" + tmp + "/state ";
  auto [rc2, out2] =
      run(env + SLUICECTL_BIN + " --dataplane xdp:" + name + " dataplane stats --json");
  ASSERT_EQ(rc2, 0) << out2;
  const nlohmann::json cli = nlohmann::json::parse(out2);
  EXPECT_EQ(sluice::testing::stats_json_keys(cli), keys);
  EXPECT_EQ(cli["levels"][1]["flows"], 1);
  EXPECT_EQ(cli["table"]["version"], st.table.version);
  std::tie(rc2, out2) = run(env + bin + " status --json --name " + name);
  ASSERT_EQ(rc2, 0) << out2;
  const nlohmann::json status_json = nlohmann::json::parse(out2);
  EXPECT_EQ(sluice::testing::stats_json_keys(status_json["stats"]), keys);
  EXPECT_EQ(status_json["outside"]["attached"], true);
  EXPECT_EQ(status_json["stats"]["lookups"], st.totals.lookups);
  // Interface counters move between reads (a late segment of the exchange, the veth's own IPv6
  // router solicitations): sluicectl's read lies between the client's before and after it.
  const uint64_t rx_after = dp->stats().outside.rx;
  EXPECT_GE(cli["outside"]["rx"].get<uint64_t>(), st.outside.rx);
  EXPECT_LE(cli["outside"]["rx"].get<uint64_t>(), rx_after);
  const auto flows = dp->flows(10);
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].client, "198.18.0.1");
  EXPECT_EQ(flows[0].server_port, 2525);
  EXPECT_EQ(flows[0].level, 1u);
}

}  // namespace
}  // namespace sluice::xdp
