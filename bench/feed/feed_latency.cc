// How long an observation reported at site A takes to reach site B's table, over a real
// nats-server (one node, or a three-node cluster with the stream replicated three times) on
// loopback: A's FeedService.report() -> publish -> stream -> B's durable consumer -> B's loop
// (eventfd, process: verify, apply, state file) -> the trust model's table sources compiled into
// a table in which the address scores > 0. Prints median, spread and the extremes.
//
//   feed_latency [--reports N] [--nodes 1|3]
#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
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

int main(int argc, char **argv) {
  int reports = 30, nodes = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--reports"))
      reports = std::max(1, atoi(argv[i + 1]));
    else if (!strcmp(argv[i], "--nodes"))
      nodes = atoi(argv[i + 1]) == 3 ? 3 : 1;
  }
  testing::NatsCluster cluster(nodes, {"isp-a", "isp-b"});
  cluster.create_stream();
  KeyPair ka = generate_keypair(), kb = generate_keypair();
  FeedService a(testing::site_config(cluster, "isp-a", ka, "isp-b", kb));
  FeedService b(testing::site_config(cluster, "isp-b", kb, "isp-a", ka));
  a.start();
  b.start();
  std::vector<double> ms;
  int lost = 0;
  for (int i = 0; i < reports; ++i) {
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
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  auto q = [&](double f) { return ms.empty() ? 0 : ms[static_cast<size_t>(f * (ms.size() - 1))]; };
  printf("feed_latency: %d-node cluster, %d reports, %zu reached B's table, %d not within 10 s\n",
         nodes, reports, ms.size(), lost);
  printf("report -> B's table (ms): median %.2f  p10 %.2f  p90 %.2f  min %.2f  max %.2f\n", q(0.5),
         q(0.1), q(0.9), q(0), q(1));
  return lost == 0 ? 0 : 1;
}
