// How fast sluiced makes a change effective in a real data plane (issue 12, "Push"):
//
//   sluiced_push_latency --dataplane SPEC [--runs N] [--list-entries N] [--full-entries N]
//
// Two figures, each over N runs, reported as median, min, p90 and max (ms) and the run count:
//   list:  a 10k-entry list file replaced (temporary file + rename, as a downloader does) ->
//          the data plane has acknowledged the delta (its control call returned, so the table
//          it forwards with is the new one). Includes inotify, `settle` (sluiced's default
//          20 ms, shown separately), the read and parse, the compile, the delta and the push.
//          Each run's list lists 10k addresses none of the previous run's (a 20k-entry delta).
//   full:  a data plane running an unknown table (a 1-entry table loaded by hand) -> sluiced's
//          check finds it and the full load of a 1M-entry table is acknowledged. On XDP, one
//          figure per mode of --xdp-full: `reattach`, the instance detached and attached anew
//          before each run (a data plane restart: new, empty maps, no table); `cold`, the
//          standby state dropped before each run, so the inactive set, which holds the 1M-entry
//          table of the run before, is read and brought to the new table as if nothing were
//          known of it (its host hashes read, then the difference written); `warm`, the standby
//          state kept, so only the difference from the table the inactive set holds is written.
//   one:   a 1M-entry table in place; one address added to a second, small list -> delta
//          acknowledged (inotify, settle, the partial recompile, the delta, the push).
//   host:  a 1M-entry table in place; `host set ADDR --deny` on sluiced's command table (what
//          sluicectl's request runs) -> its reply, which comes once every data plane has
//          acknowledged the delta: a dynamic entry's cost on a large table, no settle, no file.
// After every run the data plane's own version (its stats) must equal sluiced's table: a run that
// does not is reported as a failure, not a figure.
//
// The data plane is an already running sluice-dp (dpdk:SOCKET) or XDP instance (xdp:NAME);
// bench/control/run_sluiced_bench.sh starts both and runs this.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "sluice/reputation/compile.h"
#include "sluice/xdp/attach.h"
#include "sluice/xdp/instance_ops.h"

namespace {

namespace sd = sluice::sluiced;
namespace rep = sluice::reputation;
namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

// Address i of the bench's space: the 131072 addresses of 198.18.0.0/15 first, then hosts of
// 2001:2::/48 (nothing is sent to any of them; they are table keys).
constexpr size_t kV4Space = size_t{1} << 17;
std::string address(size_t i) {
  if (i < kV4Space) {
    const uint32_t a = 0xc6120000u + static_cast<uint32_t>(i);
    return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  }
  i -= kV4Space;
  return fmt::format("2001:2::{:x}:{:x}", i >> 16, i & 0xffff);
}

// n distinct addresses starting at index `first`.
std::string addresses(size_t n, size_t first) {
  std::string s;
  s.reserve(n * 24);
  for (size_t i = first; i < first + n; ++i) s += address(i) + "\n";
  return s;
}

void write_file(const std::string &path, const std::string &text) {
  {
    std::ofstream out(path + ".part", std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(path + ".part", path);
}

struct Figures {
  std::vector<double> ms;
  int failures = 0;
  void print(const char *what) const {
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    if (v.empty()) {
      std::cout << what << ": no successful run (" << failures << " failures)\n";
      return;
    }
    const auto at = [&](double q) {
      return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))];
    };
    std::cout << fmt::format(
        "{}: median {:.1f} ms, min {:.1f}, p90 {:.1f}, max {:.1f} ({} runs, {} failures)\n", what,
        at(0.5), v.front(), at(0.9), v.back(), v.size(), failures);
  }
};

class PushClock : public sd::Observer {
 public:
  void on_push(const sd::PushEvent &e) override {
    if (e.ok) {
      last_ok = Clock::now();
      last_version = e.version;
      last_full = e.full;
    }
  }
  Clock::time_point last_ok{};
  uint64_t last_version = 0;
  bool last_full = false;
};

// Rewrites a list (as a downloader does, `write` does it) and times until sluiced has pushed the
// resulting version as a delta and the data plane reports it. Adds the time or a failure.
template <typename Write, typename Version>
void time_list_change(PushClock &clock, Figures &fig, Write write, Version dp_version) {
  const uint64_t before = clock.last_version;
  const auto t0 = Clock::now();
  write();
  // Wait (bounded) for the push of the new version.
  const auto deadline = t0 + std::chrono::seconds(10);
  while (clock.last_version == before && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // settle for the next run
  if (clock.last_version == before || clock.last_full || dp_version() != clock.last_version) {
    ++fig.failures;
    return;
  }
  fig.ms.push_back(std::chrono::duration<double, std::milli>(clock.last_ok - t0).count());
}

}  // namespace

int main(int argc, char **argv) {
  po::options_description desc("Options");
  desc.add_options()("help,h", "show this help")("dataplane", po::value<std::string>()->required(),
                                                 "dpdk:SOCKET or xdp:NAME (running)")(
      "runs", po::value<int>()->default_value(20), "runs per figure")(
      "list-entries", po::value<size_t>()->default_value(10000), "entries of the changed list")(
      "full-entries", po::value<size_t>()->default_value(1000000), "entries of the full table")(
      "full-runs", po::value<int>()->default_value(10), "runs of the full resync (per mode)")(
      "xdp-full", po::value<std::string>()->default_value("cold"),
      "XDP: full resync modes, a comma list of reattach, cold, warm (see the source's head)")(
      "xdp-ports", po::value<std::string>()->default_value(""),
      "XDP: OUTSIDE,INSIDE, the instance's interfaces (for --xdp-full reattach)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << "Usage: sluiced_push_latency --dataplane SPEC [options]\n\n" << desc;
      return 0;
    }
    po::notify(vm);
  } catch (const po::error &e) {
    std::cerr << "sluiced_push_latency: " << e.what() << "\n";
    return 2;
  }
  sd::set_log_sink([](sd::LogLevel l, std::string_view m) {
    if (l <= sd::LogLevel::kWarning) std::cerr << "sluiced: " << m << "\n";
  });
  const std::string spec = vm["dataplane"].as<std::string>();
  const bool xdp = spec.rfind("xdp:", 0) == 0;
  std::vector<std::string> full_modes;
  if (xdp) {
    for (std::string_view rest = vm["xdp-full"].as<std::string>(); !rest.empty();) {
      const size_t comma = std::min(rest.find(','), rest.size());
      full_modes.emplace_back(rest.substr(0, comma));
      rest.remove_prefix(std::min(comma + 1, rest.size()));
    }
  } else {
    full_modes = {"full"};
  }
  std::string outside, inside;
  if (const std::string ports = vm["xdp-ports"].as<std::string>(); ports.find(',') != ports.npos) {
    outside = ports.substr(0, ports.find(','));
    inside = ports.substr(ports.find(',') + 1);
  }
  for (const std::string &m : full_modes) {
    if (xdp && m != "reattach" && m != "cold" && m != "warm") {
      std::cerr << "sluiced_push_latency: unknown --xdp-full mode '" << m << "'\n";
      return 2;
    }
    if (m == "reattach" && (outside.empty() || inside.empty())) {
      std::cerr << "sluiced_push_latency: --xdp-full reattach needs --xdp-ports OUTSIDE,INSIDE\n";
      return 2;
    }
  }
  const int runs = vm["runs"].as<int>();
  const size_t n = vm["list-entries"].as<size_t>();
  std::string dir = (std::filesystem::temp_directory_path() / "sluiced_bench.XXXXXX").string();
  if (!::mkdtemp(dir.data())) return 1;

  auto client = sd::default_client_factory(std::chrono::seconds(10));
  auto dp_version = [&] { return client(spec)->stats().table.version; };

  // ---- list change -> delta effective ----
  Figures list_fig;
  {
    sd::SluicedConfig cfg;
    cfg.state_dir = dir + "/state-list";
    cfg.socket = dir + "/sluiced.sock";
    cfg.sources = dir + "/sources.ini";
    cfg.dataplanes = {spec};
    write_file(cfg.sources, "[bench]\ntype = list\npath = bench.list\nweight = 5\n");
    write_file(dir + "/bench.list", addresses(n, 0));
    PushClock clock;
    sd::Daemon d(cfg, {});
    d.add_observer(clock);
    d.start(false);
    std::thread loop([&] { d.run(); });
    for (int r = 1; r <= runs; ++r) {
      // Each run's list shares no address with the previous run's (IPv4 only while it fits).
      const size_t slots = std::max<size_t>(2, kV4Space / std::max<size_t>(n, 1));
      time_list_change(
          clock, list_fig,
          [&] {
            write_file(dir + "/bench.list", addresses(n, (static_cast<size_t>(r) % slots) * n));
          },
          dp_version);
    }
    d.stop();
    loop.join();
  }

  // ---- full resync of a 1M-entry table, then one entry added beside it ----
  std::vector<Figures> full_figs(full_modes.size());
  Figures one_fig, host_fig;
  {
    sd::SluicedConfig cfg;
    cfg.state_dir = dir + "/state-full";
    cfg.sources = dir + "/sources-full.ini";
    cfg.dataplanes = {spec};
    cfg.dataplane_timeout = std::chrono::seconds(30);  // a 1M-entry load takes longer than 2 s
    write_file(cfg.sources,
               "[big]\ntype = list\npath = big.list\nweight = 5\n"
               "[extra]\ntype = list\npath = extra.list\nweight = 5\n");
    write_file(dir + "/big.list", addresses(vm["full-entries"].as<size_t>(), 0));
    std::string extra = address(kV4Space - 1) + "\n";
    write_file(dir + "/extra.list", extra);
    write_file(dir + "/tiny.list", "198.19.255.255\n");
    rep::SourceConfig tiny_cfg;
    tiny_cfg.name = "tiny";
    tiny_cfg.path = dir + "/tiny.list";
    std::vector<rep::ParsedSource> ps{rep::parse_source(tiny_cfg)};
    std::vector<rep::SourceConfig> cs{tiny_cfg};
    rep::compile(ps, cs, 1).save(dir + "/tiny.snap");
    PushClock clock;
    std::vector<std::unique_ptr<sd::Module>> store;  // for `host set`
    for (auto &m : sd::make_modules())
      if (m->module_name() == "store") store.push_back(std::move(m));
    sd::Daemon d(cfg, std::move(store));
    d.add_observer(clock);
    d.start(false);
    // Modes interleaved run by run, so that a slow phase of the machine falls on all of them.
    for (int r = 1; r <= vm["full-runs"].as<int>(); ++r) {
      for (size_t m = 0; m < full_modes.size(); ++m) {
        const std::string &mode = full_modes[m];
        if (mode == "reattach") {  // a restarted data plane: new maps, no table
          sluice::xdp::detach(spec.substr(4));
          sluice::xdp::attach({spec.substr(4), outside, inside, sluice::xdp::XdpMode::native});
        } else {
          client(spec)->load_table(dir + "/tiny.snap");  // "restarted with another table"
        }
        if (mode == "cold")  // nothing known of the inactive set: it is read and rewritten
          std::filesystem::remove_all(
              std::filesystem::path(sluice::xdp::state_snapshot_path(spec.substr(4)))
                  .parent_path() /
              "standby");
        const auto t0 = Clock::now();
        d.sync_dataplanes(true);
        const auto t1 = Clock::now();
        if (!clock.last_full || dp_version() != d.table().checksum()) {
          ++full_figs[m].failures;
          continue;
        }
        full_figs[m].ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        clock.last_full = false;
      }
    }
    std::thread loop([&] { d.run(); });
    for (int r = 1; r <= runs; ++r) {
      extra += address(kV4Space - 2 - static_cast<size_t>(r)) + "\n";
      time_list_change(
          clock, one_fig, [&] { write_file(dir + "/extra.list", extra); }, dp_version);
    }
    for (int r = 1; r <= runs; ++r) {
      const nlohmann::json req = {{"cmd", "host set"},
                                  {"prefix", address(kV4Space / 2 + static_cast<size_t>(r))},
                                  {"action", "deny"}};
      std::promise<std::pair<nlohmann::json, uint64_t>> done;
      const auto t0 = Clock::now();
      d.loop().post([&] {
        nlohmann::json reply = d.commands().handle(req);
        done.set_value({std::move(reply), d.table().checksum()});
      });
      const auto [reply, version] = done.get_future().get();
      const auto t1 = Clock::now();
      const bool in_sync = reply.contains("dataplanes") && reply["dataplanes"].size() == 1 &&
                           reply["dataplanes"][0].value("in_sync", false);
      if (!in_sync || dp_version() != version) {
        ++host_fig.failures;
        continue;
      }
      host_fig.ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    d.stop();
    loop.join();
  }
  std::filesystem::remove_all(dir);
  std::cout << "data plane " << spec << "\n";
  list_fig.print(
      fmt::format("{}-entry list replaced -> delta acknowledged (settle 20 ms included)", n)
          .c_str());
  for (size_t m = 0; m < full_modes.size(); ++m) {
    const std::string &mode = full_modes[m];
    const char *how = !xdp                 ? ""
                      : mode == "reattach" ? ", XDP instance attached anew (empty maps)"
                      : mode == "cold" ? ", XDP standby state lost (inactive set read, rewritten)"
                                       : ", XDP standby kept (the difference written)";
    full_figs[m].print(fmt::format("{}-entry full resync (version check + load){}",
                                   vm["full-entries"].as<size_t>(), how)
                           .c_str());
  }
  one_fig.print(
      fmt::format("one entry added to a small list beside a {}-entry list -> delta acknowledged "
                  "(settle included)",
                  vm["full-entries"].as<size_t>())
          .c_str());
  host_fig.print(fmt::format("host set --deny beside a {}-entry list -> reply, data plane in sync",
                             vm["full-entries"].as<size_t>())
                     .c_str());
  int failures = list_fig.failures + one_fig.failures + host_fig.failures;
  for (const Figures &f : full_figs) failures += f.failures;
  return failures > 0 ? 1 : 0;
}
