// How long a new site takes to catch up on what the stream retains (#13's bootstrap goal: 1M
// observations in <= 10 s). Site A publishes N observations about distinct addresses through
// its FeedService (packed into messages of at most 64 KiB); then site B starts with no state
// and its loop (eventfd, process: verify, apply, state file, ack) runs until its trust model
// holds all N. Prints the fill and catch-up times and the state file's size. Real nats-server on
// loopback, one node or a three-node cluster.
//
//   feed_bootstrap [--observations N] [--nodes 1|3]
#include <poll.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "feed/feed_service.h"
#include "feed/keys.h"
#include "feed/feed_site.h"
#include "feed/nats_harness.h"

namespace {
using namespace sluice::feed;
using Clock = std::chrono::steady_clock;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

FeedConfig site(const testing::NatsCluster &c, const std::string &me, const KeyPair &mine,
                const std::string &peer, const KeyPair &theirs) {
  return testing::site_config(c, me, mine, peer, theirs, "max_entries = 10000000\n");
}

}  // namespace

int main(int argc, char **argv) {
  uint32_t n = 1000000;
  int nodes = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--observations"))
      n = static_cast<uint32_t>(std::max(1, atoi(argv[i + 1])));
    else if (!strcmp(argv[i], "--nodes"))
      nodes = atoi(argv[i + 1]) == 3 ? 3 : 1;
  }
  testing::NatsCluster cluster(nodes, {"isp-a", "isp-b"});
  cluster.create_stream();
  KeyPair ka = generate_keypair(), kb = generate_keypair();
  FeedService a(site(cluster, "isp-a", ka, "isp-b", kb));
  a.start();
  const auto fill0 = Clock::now();
  uint32_t queued = 0;
  while (queued < n) {
    // Keep the publisher's queue within its bound.
    if (a.status().queued_reports > kMaxQueuedReports / 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    Observation o;
    o.subject.v4 = 0x0a000000 + queued;  // 10.0.0.0 + i: distinct addresses
    o.kind = Kind::kComplaint;
    o.ttl_s = 86400;
    o.window_s = 60;
    o.observed_at_ms = wall_ms();
    a.report(o);
    ++queued;
  }
  while (a.status().published_observations + a.status().publish_failures < n &&
         seconds_since(fill0) < 600)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto sa = a.status();
  printf(
      "feed_bootstrap: %d-node cluster; A published %llu observations in %llu batches "
      "(%llu failures) in %.2f s\n",
      nodes, static_cast<unsigned long long>(sa.published_observations),
      static_cast<unsigned long long>(sa.published_batches),
      static_cast<unsigned long long>(sa.publish_failures), seconds_since(fill0));

  FeedService b(site(cluster, "isp-b", kb, "isp-a", ka));
  const auto t0 = Clock::now();
  b.start();
  size_t rounds = 0;
  double in_process = 0;  // seconds inside process(): verify, apply, state file, acks
  while (b.status().accepted_observations < sa.published_observations && seconds_since(t0) < 600) {
    pollfd p{b.fd(), POLLIN, 0};
    poll(&p, 1, 100);
    const auto p0 = Clock::now();
    if (b.process(wall_ms()) > 0) ++rounds;
    in_process += seconds_since(p0);
  }
  const double catch_up = seconds_since(t0);
  const auto sb = b.status();
  std::error_code ec;
  const auto state_bytes = std::filesystem::file_size(cluster.dir() + "/isp-b/feed.state", ec);
  printf(
      "B caught up on %llu observations (%llu batches) in %.2f s (%.0f observations/s), "
      "%zu rounds that applied batches, %.2f s inside them; trust model %zu entries; state file "
      "%.1f MB\n",
      static_cast<unsigned long long>(sb.accepted_observations),
      static_cast<unsigned long long>(sb.accepted_batches), catch_up,
      static_cast<double>(sb.accepted_observations) / catch_up, rounds, in_process,
      b.model().entries(), ec ? 0.0 : static_cast<double>(state_bytes) / 1e6);
  a.stop();
  b.stop();
  return sb.accepted_observations == sa.published_observations && sa.publish_failures == 0 ? 0 : 1;
}
