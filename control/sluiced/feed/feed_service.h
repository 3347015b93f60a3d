// The feed inside sluiced: publishes this site's observations and turns the other participants'
// into table contributions (docs/feed.md).
//
// Threads: cnats has its own; this class adds a consumer thread (fetches from the durable
// consumer; at most kMaxInbox messages wait for the loop) and a publisher thread (batches and
// publishes reports). Neither touches the trust model, the verifier or anything of the daemon:
// fetched messages go into a queue and the eventfd `fd()` becomes readable; the daemon's loop
// calls `process()`, which verifies, applies, saves the state file and only then acks. So the
// model is only ever used from the loop thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "liveness.h"
#include "nats_feed.h"
#include "trust.h"
#include "verifier.h"

namespace sluice::feed {

struct FeedConfig {
  std::vector<std::string> servers;  // nats://HOST:PORT
  std::string credentials_file;      // "user = ..." / "password = ..." ("" = no authentication)
  std::string participant;           // this site's name
  std::string key_file;              // this site's Ed25519 seed
  std::string trust_file;            // the participants it listens to
  std::string state_file;            // sequences and trust records, rewritten atomically
  std::string tls_ca;                // TLS to the servers: the CA file ("" = no TLS)
  std::string tls_cert, tls_key;     // this site's client certificate and key (optional)
};

inline constexpr size_t kMaxQueuedReports = 100000;
// Fetched messages waiting for the loop, at most (each at most 64 KiB, so 128 MiB): the consumer
// thread fetches no more until the loop has taken them.
inline constexpr size_t kMaxInbox = 2048;

struct FeedStatus {
  bool connected = false;
  uint64_t published_batches = 0;
  uint64_t published_observations = 0;
  uint64_t publish_failures = 0;
  uint64_t queued_reports = 0;
  uint64_t dropped_reports = 0;   // queued while kMaxQueuedReports waited
  size_t inbox = 0;               // fetched messages waiting for the loop
  uint64_t inbox_full_waits = 0;  // fetches put off because kMaxInbox waited
  uint64_t accepted_batches = 0;
  uint64_t accepted_observations = 0;
  std::array<uint64_t, kRefusalCount> refused{};
  std::array<uint64_t, kSkipCount> skipped{};
  uint64_t full_refusals = 0;
  size_t entries = 0;
  uint64_t state_save_failures = 0;
};

class FeedService {
 public:
  // Reads the key, trust and credentials files and the state file (if present); throws
  // sluice::Error naming the file. Does not connect yet.
  explicit FeedService(FeedConfig cfg);
  ~FeedService();
  FeedService(const FeedService &) = delete;
  FeedService &operator=(const FeedService &) = delete;

  // Connects and starts the threads; throws NatsError when the servers cannot be reached.
  void start();
  void stop();

  // Readable when fetched messages wait for process().
  int fd() const { return event_fd_; }
  // Loop thread: verifies, applies, saves the state and acks what the consumer thread fetched.
  // Returns the batches accepted (a caller recompiles its table when > 0).
  size_t process(int64_t now_ms);

  // Loop thread: queues an observation about this site's subject for publishing (the publisher
  // thread sends it within a few milliseconds, batched with others queued meanwhile). While the
  // feed is down reports wait, up to kMaxQueuedReports; beyond that one is dropped, counted,
  // and false returned.
  bool report(Observation o);

  const TrustModel &model() const { return model_; }
  // Loop thread: per participant, its last batch, lag, rate and whether it is silent.
  std::vector<ParticipantLiveness> liveness(int64_t now_ms) const { return liveness_.view(now_ms); }
  TrustModel &model() { return model_; }
  FeedStatus status() const;
  const FeedConfig &config() const { return cfg_; }

 private:
  void consume_loop();
  void publish_loop();
  void save_state();

  FeedConfig cfg_;
  KeyPair key_;
  NatsSettings nats_;
  Verifier verifier_;
  TrustModel model_;
  Liveness liveness_;

  std::unique_ptr<Connection> conn_;
  std::unique_ptr<Consumer> consumer_;
  std::unique_ptr<Publisher> publisher_;
  std::thread consume_thread_, publish_thread_;
  std::atomic<bool> running_{false};
  int event_fd_ = -1;

  mutable std::mutex in_mu_;
  std::deque<Delivery> inbox_;  // fetched, not yet processed; at most kMaxInbox
  std::condition_variable in_cv_;
  uint64_t inbox_full_waits_ = 0;  // under in_mu_

  mutable std::mutex out_mu_;
  std::condition_variable out_cv_;
  std::vector<Observation> outbox_;
  uint64_t dropped_reports_ = 0;  // under out_mu_

  std::atomic<uint64_t> published_batches_{0}, published_observations_{0}, publish_failures_{0};
  uint64_t state_save_failures_ = 0;
};

}  // namespace sluice::feed
