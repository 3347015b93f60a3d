// How fast a heavy SYN sender becomes a table entry in a real data plane (issue 14, "a new
// abusive source ... is shaped <= 2 s after its first SYN"): sluiced's part of that path.
//
//   heavy_hitter_latency --dataplane SPEC [--runs N] [--table-entries N] [--poll-interval MS]
//
// sluiced runs in this process with the heavy-hitter producer and the local score model, and a
// list of --table-entries addresses as its table. Its data-plane client is the real one, but for
// heavy_senders(), which answers what the bench says: in each run one new address at 600 SYN/min
// (a sender the data plane would have counted). Two figures per run, reported as median, min,
// p90 and max (ms) with the run count:
//
//   answer:  heavy_senders() returned the new sender -> the data plane acknowledged the table
//            change that scores it (its apply_delta/load_table returned): the observation, the
//            model, the rebuild (partial recompile), the delta and the push;
//   counted: the bench made the sender appear (what the data plane's counting stands for) ->
//            the same acknowledgement: the above plus the wait for the next poll, uniform over
//            poll_interval (runs start at random phases).
//
// After every run the data plane's own version (its stats) must equal sluiced's table and that
// table must score the sender at a shaping level (>= 3): otherwise the run is a failure, not a
// figure. The daemon's own split of the first figure (its rebuild, its push) is printed too.
// Then, with the daemon stopped and its table still loaded, --version-checks pairs of the two
// ways to ask the data plane which table and policy it runs, alternately: versions() (what the
// pusher calls before each push) and the full stats() (what it called before).
// bench/control/run_heavy_bench.sh starts sluice-dp and the XDP data plane and runs this.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/sluiced_config.h"

namespace {

namespace sd = sluice::sluiced;
namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

void write_file(const std::string &path, const std::string &text) {
  {
    std::ofstream out(path + ".part", std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(path + ".part", path);
}

// n addresses of 198.18.0.0/15 and then 2001:2::/48 (table keys; nothing is sent to them).
std::string addresses(size_t n) {
  std::string s;
  s.reserve(n * 24);
  for (size_t i = 0; i < n; ++i) {
    if (i < 65536) {
      s += fmt::format("198.18.{}.{}\n", i >> 8, i & 255);
    } else {
      const size_t j = i - 65536;
      s += fmt::format("2001:2::{:x}:{:x}\n", j >> 16, j & 0xffff);
    }
  }
  return s;
}

// What one run watches: the sender it made heavy and when things happened.
struct Run {
  std::mutex mu;
  std::string prefix;  // "198.19.x.y/32" while a run is on, "" between runs
  uint32_t addr = 0;   // its address, host order
  Clock::time_point counted{}, answered{}, effective{};
  bool have_answer = false, have_effective = false;
  double last_compile_ms = 0;            // of the last rebuild that changed the table
  double compile_ms = -1, push_ms = -1;  // of the rebuild and the push that scored the sender
};

// The daemon's own split of the effective change: its rebuild (evaluation, recompile, install)
// and its push (version check and delta).
class Split : public sd::Observer {
 public:
  explicit Split(Run &run) : run_(run) {}
  void on_table(const sd::TableEvent &e) override {
    std::lock_guard lock(run_.mu);
    run_.last_compile_ms = e.compile_seconds * 1000;
  }
  void on_push(const sd::PushEvent &e) override {
    std::lock_guard lock(run_.mu);
    if (!e.ok || !run_.have_effective || run_.push_ms >= 0) return;
    run_.push_ms = e.seconds * 1000;
    run_.compile_ms = run_.last_compile_ms;
  }

 private:
  Run &run_;
};

// The real client for everything, the bench's answer for heavy_senders(). Every client the
// daemon makes (the pusher's and the producer's) is one of these.
class BenchClient : public sluice::control::DataplaneClient {
 public:
  BenchClient(std::unique_ptr<sluice::control::DataplaneClient> real, Run &run,
              std::function<bool()> scores)
      : real_(std::move(real)), run_(run), scores_(std::move(scores)) {}
  std::string describe() const override { return real_->describe(); }
  sluice::control::TableChange load_table(const std::string &p) override {
    auto r = real_->load_table(p);
    acknowledged();
    return r;
  }
  sluice::control::TableChange apply_delta(const std::string &p) override {
    auto r = real_->apply_delta(p);
    acknowledged();
    return r;
  }
  uint32_t set_policy(const std::string &p) override { return real_->set_policy(p); }
  sluice::control::DataplaneStats stats() override { return real_->stats(); }
  sluice::control::RunningVersions versions() override { return real_->versions(); }
  std::vector<sluice::control::DataplaneFlow> flows(size_t limit) override {
    return real_->flows(limit);
  }
  std::vector<sluice::control::HeavySender> heavy_senders(size_t) override {
    std::lock_guard lock(run_.mu);
    if (run_.prefix.empty()) return {};
    if (!run_.have_answer) {
      run_.have_answer = true;
      run_.answered = Clock::now();
    }
    sluice::control::HeavySender s;
    s.prefix = run_.prefix;
    s.syns = 600;  // in a one-minute window: 600 SYN/min
    s.window_ns = 60000000000ULL;
    return {s};
  }

 private:
  // On the daemon's loop, after the data plane acknowledged a change: is it the one that scores
  // this run's sender? (The daemon installs a table before pushing it.)
  void acknowledged() {
    const auto now = Clock::now();
    std::lock_guard lock(run_.mu);
    if (run_.prefix.empty() || run_.have_effective || !run_.have_answer) return;
    if (!scores_()) return;
    run_.have_effective = true;
    run_.effective = now;
  }
  std::unique_ptr<sluice::control::DataplaneClient> real_;
  Run &run_;
  std::function<bool()> scores_;
};

struct Figures {
  std::vector<double> ms;
  int failures = 0;
  void print(const std::string &what) const {
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
        "{}: median {:.2f} ms, min {:.2f}, p90 {:.2f}, max {:.2f} ({} runs, {} failures)\n", what,
        at(0.5), v.front(), at(0.9), v.back(), v.size(), failures);
  }
};

}  // namespace

int main(int argc, char **argv) {
  po::options_description desc("Options");
  desc.add_options()("help,h", "show this help")                                                //
      ("dataplane", po::value<std::string>()->required(), "dpdk:SOCKET or xdp:NAME (running)")  //
      ("runs", po::value<int>()->default_value(20), "runs")                                     //
      ("skip", po::value<int>()->default_value(0),
       "runs made first and not counted (a daemon's first changes fill its table history)")  //
      ("version-checks", po::value<int>()->default_value(50),
       "pairs of versions() and stats() calls timed after the runs (0: none)")              //
      ("table-entries", po::value<size_t>()->default_value(100000), "entries of the list")  //
      ("poll-interval", po::value<int>()->default_value(1000), "[heavy_hitters] poll_interval, ms");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << "Usage: heavy_hitter_latency --dataplane SPEC [options]\n\n" << desc;
      return 0;
    }
    po::notify(vm);
  } catch (const po::error &e) {
    std::cerr << "heavy_hitter_latency: " << e.what() << "\n";
    return 2;
  }
  sd::set_log_sink([](sd::LogLevel l, std::string_view m) {
    if (l <= sd::LogLevel::kWarning) std::cerr << "sluiced: " << m << "\n";
  });
  const std::string spec = vm["dataplane"].as<std::string>();
  const int skip = std::max(0, vm["skip"].as<int>());
  const int runs = vm["runs"].as<int>() + skip;
  const int poll_ms = vm["poll-interval"].as<int>();
  std::string dir = (std::filesystem::temp_directory_path() / "heavy_bench.XXXXXX").string();
  if (!::mkdtemp(dir.data())) return 1;

  sd::SluicedConfig cfg;
  std::vector<std::unique_ptr<sd::Module>> mods;
  for (auto &m : sd::make_modules())
    if (m->module_name() == "heavy_hitters" || m->module_name() == "learning")
      mods.push_back(std::move(m));
  std::istringstream ini(fmt::format("[heavy_hitters]\npoll_interval = {}ms\n", poll_ms));
  sd::load_config(ini, "bench.ini", cfg, mods);
  cfg.state_dir = dir + "/state";
  cfg.sources = dir + "/sources.ini";
  cfg.dataplanes = {spec};
  cfg.dataplane_timeout = std::chrono::seconds(30);  // the first load of a large table
  write_file(cfg.sources, "[bench]\ntype = list\npath = bench.list\nweight = 5\n");
  write_file(dir + "/bench.list", addresses(vm["table-entries"].as<size_t>()));

  Run run;
  std::unique_ptr<sd::Daemon> d;
  auto real = sd::default_client_factory(cfg.dataplane_timeout);
  auto scores = [&] {  // on the loop: the table being pushed scores the run's sender
    const auto v = d->table().lookup_v4(htonl(run.addr));
    return v && v->score >= 3;
  };
  sd::ClientFactory factory = [&](const std::string &s) {
    return std::make_unique<BenchClient>(real(s), run, scores);
  };
  d = std::make_unique<sd::Daemon>(cfg, std::move(mods), factory);
  Split split(run);
  d->add_observer(split);
  d->start(false);
  std::thread loop([&] { d->run(); });
  auto dp_version = [&] { return real(spec)->stats().table.version; };
  auto table_version = [&] {
    std::promise<uint64_t> p;
    d->loop().post([&] { p.set_value(d->table().checksum()); });
    return p.get_future().get();
  };

  Figures answer_fig, counted_fig, compile_fig, push_fig;
  std::mt19937 rng(14);
  std::uniform_int_distribution<int> phase(0, poll_ms);
  for (int r = 0; r < runs; ++r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(phase(rng)));
    {
      std::lock_guard lock(run.mu);
      run.addr = 0xc6130000u + static_cast<uint32_t>(r) + 1;  // 198.19.0.r+1
      run.prefix = fmt::format("198.19.{}.{}/32", (r + 1) >> 8, (r + 1) & 255);
      run.have_answer = run.have_effective = false;
      run.compile_ms = run.push_ms = -1;
      run.counted = Clock::now();
    }
    const auto deadline =
        Clock::now() + std::chrono::seconds(10) + 2 * std::chrono::milliseconds(poll_ms);
    bool done = false;
    while (!done && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      std::lock_guard lock(run.mu);
      done = run.have_effective;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    Clock::time_point counted, answered, effective;
    double compile_ms, push_ms;
    {
      std::lock_guard lock(run.mu);
      run.prefix.clear();
      counted = run.counted;
      answered = run.answered;
      effective = run.effective;
      compile_ms = run.compile_ms;
      push_ms = run.push_ms;
    }
    if (r < skip) continue;
    if (!done || dp_version() != table_version()) {
      ++answer_fig.failures;
      ++counted_fig.failures;
      continue;
    }
    answer_fig.ms.push_back(
        std::chrono::duration<double, std::milli>(effective - answered).count());
    counted_fig.ms.push_back(
        std::chrono::duration<double, std::milli>(effective - counted).count());
    if (compile_ms >= 0) compile_fig.ms.push_back(compile_ms);
    if (push_ms >= 0) push_fig.ms.push_back(push_ms);
  }
  d->stop();
  loop.join();
  d.reset();
  Figures versions_fig, stats_fig;
  {
    auto client = real(spec);
    for (int i = 0; i < vm["version-checks"].as<int>(); ++i) {
      const auto t0 = Clock::now();
      const uint64_t a = client->versions().table_version;
      const auto t1 = Clock::now();
      const uint64_t b = client->stats().table.version;
      const auto t2 = Clock::now();
      if (a != b) {
        ++versions_fig.failures;
        continue;
      }
      versions_fig.ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      stats_fig.ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
  }
  std::filesystem::remove_all(dir);
  std::cout << fmt::format("data plane {}, a {}-entry list, poll_interval {} ms{}\n", spec,
                           vm["table-entries"].as<size_t>(), poll_ms,
                           skip > 0 ? fmt::format(", the first {} runs not counted", skip) : "");
  answer_fig.print("heavy_senders() answer -> data plane acknowledged the entry");
  counted_fig.print("sender counted -> data plane acknowledged the entry (poll wait included)");
  compile_fig.print("  of which the rebuild (evaluate, partial recompile, install)");
  push_fig.print("  of which the push (version check, delta acknowledged)");
  if (!versions_fig.ms.empty() || versions_fig.failures > 0) {
    versions_fig.print("version check by versions(), the pusher's call (pairs alternate)");
    stats_fig.print("version check by stats(), the full counters");
  }
  return answer_fig.failures > 0 || versions_fig.failures > 0 ? 1 : 0;
}
