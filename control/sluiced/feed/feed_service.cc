#include "feed_service.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fmt/format.h"
#include "keys.h"

namespace sluice::feed {

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr size_t kFetchBatch = 256;
constexpr int64_t kFetchWaitMs = 200;

}  // namespace

FeedService::FeedService(FeedConfig cfg)
    : cfg_(std::move(cfg)),
      key_(load_secret_key(cfg_.key_file)),
      verifier_(),
      model_(load_trust_file(cfg_.trust_file)),
      liveness_(model_.config(), wall_ms()) {
  if (!valid_participant(cfg_.participant))
    throw Error(fmt::format("feed: bad participant name '{}'", cfg_.participant));
  if (cfg_.servers.empty()) throw Error("feed: no servers");
  verifier_ = Verifier(model_.config().verifier);
  for (const ParticipantTrust &p : model_.config().participants) verifier_.set_key(p.name, p.key);
  nats_.servers = cfg_.servers;
  nats_.name = "sluiced-" + cfg_.participant;
  if (!cfg_.credentials_file.empty()) load_credentials(cfg_.credentials_file, nats_);
  nats_.tls_ca = cfg_.tls_ca;
  nats_.tls_cert = cfg_.tls_cert;
  nats_.tls_key = cfg_.tls_key;
  if (!cfg_.state_file.empty() && std::filesystem::exists(cfg_.state_file)) {
    std::ifstream in(cfg_.state_file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::map<std::string, uint64_t> seqs;
    model_.restore(text.str(), cfg_.state_file, seqs);
    for (const auto &[p, s] : seqs) verifier_.restore_sequence(p, s);
  }
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw Error("feed: eventfd failed");
}

FeedService::~FeedService() {
  stop();
  if (event_fd_ >= 0) close(event_fd_);
}

void FeedService::start() {
  if (running_) return;
  conn_ = std::make_unique<Connection>(nats_);
  consumer_ = std::make_unique<Consumer>(*conn_, cfg_.participant);
  publisher_ = std::make_unique<Publisher>(*conn_, cfg_.participant, key_);
  running_ = true;
  consume_thread_ = std::thread([this] { consume_loop(); });
  publish_thread_ = std::thread([this] { publish_loop(); });
}

void FeedService::stop() {
  if (!running_.exchange(false)) return;
  out_cv_.notify_all();
  in_cv_.notify_all();
  if (consume_thread_.joinable()) consume_thread_.join();
  if (publish_thread_.joinable()) publish_thread_.join();
  {
    std::lock_guard lock(in_mu_);
    inbox_.clear();  // unacked: redelivered after the ack wait
  }
  publisher_.reset();
  consumer_.reset();
  conn_.reset();
}

void FeedService::consume_loop() {
  while (running_) {
    {
      // Backpressure: while the loop has kMaxInbox messages to get to, the stream keeps the
      // rest (a peer publishing at line rate, a site catching up) instead of this process.
      std::unique_lock lock(in_mu_);
      const auto room = [&] { return !running_ || inbox_.size() + kFetchBatch <= kMaxInbox; };
      if (!room()) {
        ++inbox_full_waits_;
        in_cv_.wait_for(lock, std::chrono::milliseconds(kFetchWaitMs), room);
        continue;
      }
    }
    std::vector<Delivery> got;
    try {
      got = consumer_->fetch(static_cast<int>(kFetchBatch), kFetchWaitMs);
    } catch (const sluice::Error &e) {
      fprintf(stderr, "sluiced: %s\n", e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(kFetchWaitMs));
      continue;
    }
    if (got.empty()) continue;
    {
      std::lock_guard lock(in_mu_);
      for (Delivery &d : got) inbox_.push_back(std::move(d));
    }
    const uint64_t one = 1;
    if (write(event_fd_, &one, sizeof one) < 0) {
      // the counter is full only if the loop stopped reading; it will drain the inbox anyway
    }
  }
}

void FeedService::publish_loop() {
  while (running_) {
    std::vector<Observation> batch;
    {
      std::unique_lock lock(out_mu_);
      out_cv_.wait(lock, [&] { return !running_ || !outbox_.empty(); });
      if (!running_) return;
      // As many as fit one message: at most kMaxObservations, and their encoded sizes within
      // kMaxMessageBytes (one that cannot be encoded goes alone and fails alone).
      size_t n = 0, bytes = kMessageOverhead;
      for (; n < outbox_.size() && n < kMaxObservations; ++n) {
        size_t size = kMaxMessageBytes;
        try {
          size = encoded_size(outbox_[n]) + 1;
        } catch (const sluice::Error &) {
        }
        if (n > 0 && bytes + size > kMaxMessageBytes) break;
        bytes += size;
      }
      batch.assign(std::make_move_iterator(outbox_.begin()),
                   std::make_move_iterator(outbox_.begin() + static_cast<ptrdiff_t>(n)));
      outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<ptrdiff_t>(n));
    }
    const size_t n = batch.size();
    try {
      publisher_->publish(std::move(batch), wall_ms());
      ++published_batches_;
      published_observations_ += n;
    } catch (const sluice::Error &e) {
      ++publish_failures_;
      fprintf(stderr, "sluiced: %s (%zu observations dropped)\n", e.what(), n);
    }
  }
}

bool FeedService::report(Observation o) {
  {
    std::lock_guard lock(out_mu_);
    if (outbox_.size() >= kMaxQueuedReports) {
      ++dropped_reports_;
      return false;
    }
    outbox_.push_back(std::move(o));
  }
  out_cv_.notify_one();
  return true;
}

size_t FeedService::process(int64_t now_ms) {
  uint64_t count;
  if (read(event_fd_, &count, sizeof count) < 0) {
    // nothing signalled: the inbox may still hold messages from an earlier round
  }
  std::deque<Delivery> work;
  {
    std::lock_guard lock(in_mu_);
    work.swap(inbox_);
  }
  in_cv_.notify_one();
  if (work.empty()) return 0;
  const std::string own = subject_for(cfg_.participant);
  size_t accepted = 0;
  for (Delivery &d : work) {
    const std::string subject = d.subject();
    if (subject == own) continue;  // our own batches come back through sluice.obs.>
    const int64_t stored = d.stored_ms();
    auto got = verifier_.check(subject, d.data(), stored > 0 ? stored : now_ms);
    if (auto *b = std::get_if<Batch>(&got)) {
      model_.apply(*b, now_ms);
      liveness_.accepted(b->participant, b->sent_at_ms, b->observations.size(), now_ms);
      ++accepted;
    }
  }
  save_state();  // before the acks: an unsaved batch is redelivered, a saved one is a replay
  for (Delivery &d : work) d.ack();
  return accepted;
}

void FeedService::save_state() {
  if (cfg_.state_file.empty()) return;
  const std::string tmp = cfg_.state_file + ".tmp";
  const std::string text = model_.save(verifier_.sequences());
  FILE *f = fopen(tmp.c_str(), "wb");
  bool ok = f && fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
  if (f) fclose(f);
  ok = ok && rename(tmp.c_str(), cfg_.state_file.c_str()) == 0;
  if (!ok) {
    ++state_save_failures_;
    fprintf(stderr, "sluiced: feed: cannot write %s\n", cfg_.state_file.c_str());
  }
}

FeedStatus FeedService::status() const {
  FeedStatus s;
  s.connected = conn_ && !conn_->connected_url().empty();
  s.published_batches = published_batches_;
  s.published_observations = published_observations_;
  s.publish_failures = publish_failures_;
  {
    std::lock_guard lock(out_mu_);
    s.queued_reports = outbox_.size();
    s.dropped_reports = dropped_reports_;
  }
  {
    std::lock_guard lock(in_mu_);
    s.inbox = inbox_.size();
    s.inbox_full_waits = inbox_full_waits_;
  }
  s.accepted_batches = verifier_.accepted_batches();
  s.accepted_observations = verifier_.accepted_observations();
  for (size_t i = 0; i < kRefusalCount; ++i)
    s.refused[i] = verifier_.refused(static_cast<Refusal>(i));
  for (size_t i = 0; i < kSkipCount; ++i) s.skipped[i] = verifier_.skipped(static_cast<Skip>(i));
  s.full_refusals = model_.full_refusals();
  s.entries = model_.entries();
  s.state_save_failures = state_save_failures_;
  return s;
}

}  // namespace sluice::feed
