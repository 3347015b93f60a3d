// sluice-dp: the DPDK data plane. `sluice-dp [EAL options] -- [options]` forwards between two
// ports and shapes abusive SMTP senders; `sluice-dp replay ...` runs the same pipeline over a
// capture file (replay.h). Every start-up error (ports, table, policy, control socket) is
// reported and exits before forwarding starts.
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "control_server.h"
#include "dp_control.h"
#include "dp_link.h"
#include "dp_options.h"
#include "dp_ports.h"
#include "dp_published.h"
#include "dp_telemetry.h"
#include "dp_worker.h"
#include "replay.h"

namespace sluice::dataplane {
namespace {

std::atomic<bool> g_quit{false};
std::atomic<int> g_signal{0}, g_signal_pid{0};

void on_signal(int sig, siginfo_t *info, void *) {
  g_signal.store(sig);
  g_signal_pid.store(info != nullptr ? info->si_pid : 0);
  g_quit.store(true);
}

struct LaunchArg {
  std::vector<std::unique_ptr<Worker>> *workers;
};

int lcore_main(void *arg) {
  auto *la = static_cast<LaunchArg *>(arg);
  const unsigned idx = rte_lcore_index(rte_lcore_id());
  if (idx < la->workers->size()) (*la->workers)[idx]->run(g_quit);
  return 0;
}

// The CPUs for sluice-dp's own non-lcore thread (the control server): those the process may
// use that no lcore runs on, or, when the lcores take them all, every CPU it may use (as
// DPDK does for its own control threads). `initial` is the process's affinity before EAL
// pinned the main thread.
cpu_set_t control_cpus(const cpu_set_t &initial) {
  cpu_set_t ctrl = initial;
  unsigned lcore;
  RTE_LCORE_FOREACH(lcore) {
    const rte_cpuset_t lc = rte_lcore_cpuset(lcore);
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &lc)) CPU_CLR(c, &ctrl);
  }
  return CPU_COUNT(&ctrl) == 0 ? initial : ctrl;
}

// --table-if-present: fail-static. A data plane that refused to start over a missing or stale
// snapshot (first boot before sluiced ran, a snapshot of an older layout after an upgrade) would
// leave the wire forwarding nothing; an empty table forwards everything unshaped until
// sluiced's next check loads one.
void load_table_if_present(DpControl &control, const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    std::fprintf(stderr, "sluice-dp: no %s yet: starting with an empty table\n", path.c_str());
    return;
  }
  try {
    control.load_table(path);
    std::fprintf(stderr, "sluice-dp: table loaded from %s\n", path.c_str());
  } catch (const std::exception &e) {
    std::fprintf(stderr,
                 "sluice-dp: warning: --table-if-present: %s; starting with an empty table\n",
                 e.what());
  }
}

// --help or --version anywhere answers without starting EAL.
bool wants(int argc, char **argv, const char *flag, const char *alt = nullptr) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0 || (alt != nullptr && std::strcmp(argv[i], alt) == 0))
      return true;
  return false;
}

constexpr int kExitUsage = 2;

// sluice-dp's own options (after "--") are checked before EAL starts, so a usage error costs
// no EAL start-up and exits 2. False (after saying why) for a usage error.
bool app_options_ok(int argc, char **argv) {
  int dashdash = 1;
  while (dashdash < argc && std::strcmp(argv[dashdash], "--") != 0) ++dashdash;
  if (dashdash == argc) {
    std::fprintf(stderr,
                 "sluice-dp: no '--': EAL options, then '--', then sluice-dp's options (at least "
                 "--outside and --inside)\nTry 'sluice-dp --help'.\n");
    return false;
  }
  std::vector<char *> app{argv[0]};
  app.insert(app.end(), argv + dashdash + 1, argv + argc);
  try {
    parse_dp_options(static_cast<int>(app.size()), app.data());
  } catch (const std::invalid_argument &e) {
    std::fprintf(stderr, "sluice-dp: %s\nTry 'sluice-dp --help'.\n", e.what());
    return false;
  }
  return true;
}

int run(int argc, char **argv) {
  if (wants(argc, argv, "--help", "-h")) {
    char *args[] = {argv[0], const_cast<char *>("--help")};
    std::fputs(parse_dp_options(2, args).help_text.c_str(), stdout);
    return 0;
  }
  if (wants(argc, argv, "--version")) {
    std::printf("sluice-dp %s\n", SLUICE_VERSION);
    return 0;
  }
  if (!app_options_ok(argc, argv)) return kExitUsage;
  cpu_set_t initial_cpus;
  CPU_ZERO(&initial_cpus);
  if (sched_getaffinity(0, sizeof(initial_cpus), &initial_cpus) != 0)
    for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &initial_cpus);
  const int eal = rte_eal_init(argc, argv);
  if (eal < 0) {
    // EINVAL: EAL refused its arguments (it has printed which); anything else is the system.
    const bool usage = rte_errno == EINVAL;
    std::fprintf(stderr, "sluice-dp: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return usage ? kExitUsage : 1;
  }
  // rte_eal_init consumed argv[1..eal]; what follows "--" is ours (argv[eal] is "--").
  int app_argc = argc - eal;
  char **app_argv = argv + eal;
  app_argv[0] = argv[0];
  int rc = 0;
  try {
    DpOptions opt = parse_dp_options(app_argc, app_argv);
    if (opt.help) {
      std::fputs(opt.help_text.c_str(), stdout);
      rte_eal_cleanup();
      return 0;
    }
    const uint16_t outside = resolve_port(opt.outside);
    const uint16_t inside = resolve_port(opt.inside);
    if (outside == inside) throw std::invalid_argument("--outside and --inside are the same port");
    check_ports_not_one_veth_pair(outside, inside);
    const unsigned lcores = rte_lcore_count();

    Published pub(RTE_MAX_LCORE);
    std::vector<std::unique_ptr<Worker>> workers;
    WorkerConfig wc;
    wc.flows.max_flows = opt.flow_table_size;
    wc.flows.idle_timeout_ns = uint64_t{opt.idle_timeout_s} * 1'000'000'000;
    wc.flows.closing_timeout_ns = uint64_t{opt.closing_timeout_s} * 1'000'000'000;
    wc.pacer.capacity = opt.pacer_size;
    wc.burst = opt.burst;
    wc.idle_sleep_us = opt.idle_sleep_us;
    wc.busy_poll_us = opt.busy_poll_us;

    // Mbufs: RX rings and TX rings of both ports, every pacer, bursts in flight, per lcore.
    const uint32_t nb_mbufs =
        lcores * (2u * opt.rx_desc + 2u * opt.tx_desc + opt.pacer_size + 4u * Worker::kMaxBurst) +
        1024;
    // One mbuf holds a whole frame of the MTU (no scattered RX: the packet core sees every
    // frame whole).
    const uint32_t room =
        std::max(port_data_room(outside, opt.mtu), port_data_room(inside, opt.mtu));
    rte_mempool *pool = rte_pktmbuf_pool_create("sluice_mbufs", nb_mbufs, 256, 0,
                                                static_cast<uint16_t>(room), rte_socket_id());
    if (pool == nullptr)
      throw std::runtime_error(std::string("mbuf pool of ") + std::to_string(nb_mbufs) +
                               " mbufs of " + std::to_string(room) +
                               " bytes: " + rte_strerror(rte_errno) +
                               " (lower --pacer-size, or give EAL more memory with -m)");
    wc.replay_pool = pool;  // held tarpit ACKs sent on after a change come from the same pool

    std::vector<Worker *> raw;
    for (unsigned i = 0; i < lcores; ++i) {
      workers.push_back(std::make_unique<Worker>(i, outside, inside, static_cast<uint16_t>(i), wc,
                                                 pub, tsc_now_ns()));
      raw.push_back(workers.back().get());
    }
    DpControl control(pub, raw, opt.smtp_ports);
    // Table and policy first: a bad file stops us before any port forwards a packet.
    if (!opt.table.empty()) control.load_table(opt.table);
    if (!opt.table_if_present.empty()) load_table_if_present(control, opt.table_if_present);
    if (!opt.policy.empty())
      control.load_policy(opt.policy);
    else
      control.set_policy_text("", "(built-in pass-only policy)");

    std::unique_ptr<ControlServer> server;
    ControlAccess access;
    access.mode = static_cast<mode_t>(opt.control_mode);
    if (opt.control_group) access.group = static_cast<gid_t>(*opt.control_group);
    std::atomic<const ControlServer *> server_ptr{nullptr};
    // The default socket's folder (/run/sluice) is the unit's RuntimeDirectory under systemd;
    // run by hand it may not exist yet. Only that one folder is made, never a path given.
    if (opt.control == kDefaultControlSocket && ::mkdir("/run/sluice", 0755) != 0 &&
        errno != EEXIST)
      throw std::runtime_error(std::string("cannot make /run/sluice for the control socket: ") +
                               std::strerror(errno));
    if (!opt.control.empty())
      server = std::make_unique<ControlServer>(
          opt.control,
          [&control, &server_ptr](const nlohmann::json &req, int file_fd) {
            nlohmann::json reply = control.handle(req, file_fd);
            const ControlServer *srv = server_ptr.load();
            if (srv != nullptr && req["cmd"] == "stats") reply["control"] = srv->counters_json();
            return reply;
          },
          access, ControlLimits{},
          [cpus = control_cpus(initial_cpus)] {
            // Inherited from the main thread, which EAL pinned to the main lcore's CPU.
            pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
          });
    server_ptr = server.get();
    register_telemetry(&control);
    struct TelemetryOff {  // before `control` goes, on every path out of this block
      ~TelemetryOff() { register_telemetry(nullptr); }
    } telemetry_off;
    // Ports last: every start-up error above leaves them stopped.
    setup_port(outside, static_cast<uint16_t>(lcores), pool, opt.rx_desc, opt.tx_desc, opt.mtu);
    setup_port(inside, static_cast<uint16_t>(lcores), pool, opt.rx_desc, opt.tx_desc, opt.mtu);
    std::unique_ptr<PortLinks> links;
    if (opt.link_propagation) {
      links = std::make_unique<PortLinks>(
          outside, inside, opt.link_settle_ms,
          [](const std::string &m) { std::fprintf(stderr, "sluice-dp: %s\n", m.c_str()); });
      links->start(control_cpus(initial_cpus));
    }

    struct sigaction sa {};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::fprintf(stderr,
                 "sluice-dp: forwarding between port %u (outside) and %u (inside) on %u lcore(s), "
                 "MTU %u, link propagation %s\n",
                 outside, inside, lcores, opt.mtu, opt.link_propagation ? "on" : "off");
    LaunchArg la{&workers};
    rte_eal_mp_remote_launch(lcore_main, &la, CALL_MAIN);
    rte_eal_mp_wait_lcore();
    if (links) links->stop();
    register_telemetry(nullptr);
    server.reset();
    std::fprintf(stderr, "sluice-dp: signal %d from pid %d\n", g_signal.load(),
                 g_signal_pid.load());
    const nlohmann::json s = control.stats();
    std::fprintf(stderr, "sluice-dp: stopping; outside %s inside %s\n", s["outside"].dump().c_str(),
                 s["inside"].dump().c_str());
    workers.clear();  // frees held packets before the ports go
    for (uint16_t p : {outside, inside}) {
      rte_eth_dev_stop(p);
      rte_eth_dev_close(p);
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "sluice-dp: %s\n", e.what());
    rc = 1;
  }
  rte_eal_cleanup();
  return rc;
}

}  // namespace
}  // namespace sluice::dataplane

int main(int argc, char **argv) {
  if (argc > 1 && std::strcmp(argv[1], "replay") == 0)
    return sluice::dataplane::replay_main(argc - 1, argv + 1);
  return sluice::dataplane::run(argc, argv);
}
