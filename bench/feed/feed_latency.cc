// How long an observation reported at site A takes to reach site B's table, over a real
// nats-server (one node, or a three-node cluster with the stream replicated three times) on
// loopback: A's FeedService.report() -> publish -> stream -> B's durable consumer -> B's loop
// (eventfd, process: verify, apply, state file) -> the trust model's table sources compiled into
// a table in which the address scores > 0. Prints median, spread and the extremes.
//
//   feed_latency [--reports N] [--nodes 1|3] [--interval-ms MS] [--kill-node K --kill-at I]
//
// --interval-ms: a report every MS ms (a steady publish; default 0, each as soon as the last
// arrived). --kill-node K --kill-at I (three nodes): node K is killed (SIGKILL) just before
// report I; the reports sent in the 5 s after the kill and those sent later are then summed up
// apart (issue 13: "p99 latency back under goal within 5 s"). Which node A and B are connected
// to is not known here: run it for K = 0, 1 and 2.
#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "feed/feed_service.h"
#include "feed/keys.h"
#include "feed/nats_feed.h"
#include "feed/feed_site.h"
#include "feed/nats_harness.h"
#include "sluice/reputation/compile.h"

namespace {
using namespace sluice::feed;
using Clock = std::chrono::steady_clock;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int score(const FeedService &s, uint32_t addr_host) {
  TableSources t = s.model().table_sources(wall_ms(), 0);
  auto table = sluice::reputation::compile(t.sources, t.configs);
  auto v = table.lookup_v4(htonl(addr_host));
  return v ? v->score : 0;
}

}  // namespace

// Median, p10, p90, p99 and the extremes of `ms` (sorted here), on one line after `what`.
void summary(const char *what, std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto q = [&](double f) { return ms.empty() ? 0 : ms[static_cast<size_t>(f * (ms.size() - 1))]; };
  printf("%s (%zu reports, ms): median %.2f  p10 %.2f  p90 %.2f  p99 %.2f  min %.2f  max %.2f\n",
         what, ms.size(), q(0.5), q(0.1), q(0.9), q(0.99), q(0), q(1));
}

int main(int argc, char **argv) {
  int reports = 30, nodes = 1, interval_ms = 0, kill_node = -1, kill_at = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--reports"))
      reports = std::max(1, atoi(argv[i + 1]));
    else if (!strcmp(argv[i], "--nodes"))
      nodes = atoi(argv[i + 1]) == 3 ? 3 : 1;
    else if (!strcmp(argv[i], "--interval-ms"))
      interval_ms = std::clamp(atoi(argv[i + 1]), 0, 60000);
    else if (!strcmp(argv[i], "--kill-node"))
      kill_node = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--kill-at"))
      kill_at = atoi(argv[i + 1]);
  }
  if (kill_node >= 0 && (nodes != 3 || kill_node > 2 || kill_at < 0 || kill_at >= reports)) {
    fprintf(stderr, "feed_latency: --kill-node 0..2 needs --nodes 3 and --kill-at 0..reports-1\n");
    return 2;
  }
  testing::NatsCluster cluster(nodes, {"isp-a", "isp-b"});
  cluster.create_stream();
  KeyPair ka = generate_keypair(), kb = generate_keypair();
  FeedService a(testing::site_config(cluster, "isp-a", ka, "isp-b", kb));
  FeedService b(testing::site_config(cluster, "isp-b", kb, "isp-a", ka));
  a.start();
  b.start();
  std::vector<double> ms, soon_after, later;  // all; sent < 5 s after the kill; sent later
  int lost = 0;
  Clock::time_point killed{};
  const auto start = Clock::now();
  for (int i = 0; i < reports; ++i) {
    if (interval_ms > 0)
      std::this_thread::sleep_until(start + std::chrono::milliseconds(int64_t{interval_ms} * i));
    if (i == kill_at && kill_node >= 0) {
      cluster.kill(kill_node);
      killed = Clock::now();
    }
    Observation o;
    o.subject = *parse_prefix("198.18.0.0");
    o.subject.v4 += static_cast<uint32_t>(i + 1);
    o.kind = Kind::kComplaint;
    o.ttl_s = 3600;
    o.window_s = 60;
    o.observed_at_ms = wall_ms();
    const auto t0 = Clock::now();
    a.report(o);
    bool seen = false;
    while (!seen && Clock::now() - t0 < std::chrono::seconds(10)) {
      pollfd p{b.fd(), POLLIN, 0};
      poll(&p, 1, 100);
      if (b.process(wall_ms()) > 0) seen = score(b, o.subject.v4) > 0;
    }
    if (!seen) {
      ++lost;
      continue;
    }
    const double took = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    ms.push_back(took);
    if (killed != Clock::time_point{})
      (t0 - killed < std::chrono::seconds(5) ? soon_after : later).push_back(took);
  }
  printf("feed_latency: %d-node cluster, %d reports, %zu reached B's table, %d not within 10 s\n",
         nodes, reports, ms.size(), lost);
  summary("report -> B's table", ms);
  if (kill_node >= 0) {
    printf("node %d killed before report %d\n", kill_node, kill_at);
    summary("  sent within 5 s of the kill", soon_after);
    summary("  sent later", later);
  }
  return lost == 0 ? 0 : 1;
}
