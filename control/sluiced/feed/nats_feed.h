// The feed's NATS JetStream transport (cnats): a connection as one participant, the stream,
// a publisher of signed batches and a durable pull consumer (docs/feed.md sections 3-5).
//
// Threads: cnats runs its own threads for I/O and callbacks. Nothing here calls back into the
// caller; a Consumer is used from one thread (its fetch blocks up to a timeout), acks may be sent
// from any thread. The daemon runs fetch on a feed thread and hands deliveries to its loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codec.h"
#include "keys.h"
#include "observation.h"
#include "sluice_error.h"

struct __natsConnection;
struct __jsCtx;
struct __natsSubscription;
struct __natsMsg;

namespace sluice::feed {

class NatsError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

inline constexpr const char *kStreamName = "SLUICE_OBS";
inline constexpr const char *kStreamSubjects = "sluice.obs.*";
inline constexpr const char *kConsumeFilter = "sluice.obs.>";

struct NatsSettings {
  std::vector<std::string> servers;  // "nats://127.0.0.1:4222", ...
  std::string user;                  // empty: no authentication
  std::string password;
  std::string name = "sluiced-feed";  // shown in the server's connection list
  int64_t timeout_ms = 2000;          // connect and request timeout
  // TLS (docs/feed.md section 4): with a CA file the connection requires TLS and the server's
  // certificate must chain to it (and name the server's host or address); a certificate and key
  // (both or neither) are presented to a server that verifies its clients.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  bool tls() const { return !tls_ca.empty(); }
};

// Reads a credentials file: "user = NAME" and "password = SECRET" (INI, no sections); throws
// sluice::Error ("FILE: reason").
void load_credentials(const std::string &path, NatsSettings &into);

class Connection {
 public:
  // Connects (and keeps reconnecting forever while open); throws NatsError.
  explicit Connection(const NatsSettings &s);
  ~Connection();
  Connection(const Connection &) = delete;
  Connection &operator=(const Connection &) = delete;

  __natsConnection *nc() const { return nc_; }
  __jsCtx *js() const { return js_; }
  const NatsSettings &settings() const { return settings_; }
  std::string connected_url() const;  // "" while disconnected
  // Permission violations the server reported on this connection (counted on a cnats thread).
  uint64_t permission_errors() const { return permission_errors_.load(); }

 private:
  NatsSettings settings_;
  __natsConnection *nc_ = nullptr;
  __jsCtx *js_ = nullptr;
  std::atomic<uint64_t> permission_errors_{0};
  friend struct ConnectionCallbacks;
};

struct StreamSettings {
  int replicas = 1;               // 3 on a cluster
  int64_t max_age_ms = 86400000;  // 24 h
  int64_t duplicate_window_ms = 120000;
  bool memory = false;  // file storage unless set (tests may use memory)
};
// Creates the stream SLUICE_OBS, or checks that the existing one has the same subjects. Needs a
// user with the JetStream API (the exchange's administrator). Throws NatsError.
void ensure_stream(Connection &c, const StreamSettings &s);
// Messages stored in the stream (for tests and status).
uint64_t stream_messages(Connection &c);

class Publisher {
 public:
  Publisher(Connection &c, std::string participant, KeyPair key);
  // Seals and publishes one batch; waits for the stream's acknowledgement, retrying with the
  // same Nats-Msg-Id (so a retry is de-duplicated) for up to `retry_ms` (a node failing over,
  // a stream electing a leader). Returns the batch sequence. Throws NatsError when no attempt
  // succeeded in time, or at once when the server does not permit the subject.
  uint64_t publish(std::vector<Observation> observations, int64_t now_ms, int64_t retry_ms = 5000);
  // Publishes raw bytes to a subject (tests: spoofing, replays, garbage). Throws NatsError.
  void publish_raw(const std::string &subject, const std::string &data,
                   const std::string &msg_id = {});
  uint64_t last_seq() const { return seq_; }

 private:
  Connection &c_;
  std::string participant_;
  KeyPair key_;
  uint64_t seq_ = 0;
};

// One message fetched from the stream; owns the cnats message until acked or destroyed.
class Delivery {
 public:
  Delivery() = default;
  explicit Delivery(__natsMsg *m);
  ~Delivery();
  Delivery(Delivery &&o) noexcept : msg_(o.msg_) { o.msg_ = nullptr; }
  Delivery &operator=(Delivery &&o) noexcept;
  Delivery(const Delivery &) = delete;
  Delivery &operator=(const Delivery &) = delete;

  std::string subject() const;
  std::string_view data() const;
  int64_t stored_ms() const;  // the stream's timestamp; 0 if the message has no metadata
  uint64_t stream_seq() const;
  void ack();  // acknowledges (once); thread-safe against the connection

 private:
  __natsMsg *msg_ = nullptr;
};

class Consumer {
 public:
  // Binds to (creating if needed) the durable pull consumer "sluice-<participant>" on
  // sluice.obs.>, explicit ack, ack wait `ack_wait_ms`. Throws NatsError.
  Consumer(Connection &c, const std::string &participant, int64_t ack_wait_ms = 30000);
  ~Consumer();
  Consumer(const Consumer &) = delete;
  Consumer &operator=(const Consumer &) = delete;

  // Up to `max` messages, waiting at most `timeout_ms` for the first; empty on timeout or while
  // disconnected. Throws NatsError on other failures.
  std::vector<Delivery> fetch(int max, int64_t timeout_ms);

 private:
  __natsSubscription *sub_ = nullptr;
};

}  // namespace sluice::feed
