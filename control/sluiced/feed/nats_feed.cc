#include "nats_feed.h"

#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "fmt/format.h"

namespace sluice::feed {

namespace {

[[noreturn]] void fail(const std::string &what, natsStatus s,
                       jsErrCode jerr = static_cast<jsErrCode>(0)) {
  std::string text = fmt::format("feed: {}: {}", what, natsStatus_GetText(s));
  if (const char *last = nats_GetLastError(nullptr); last && *last)
    text += fmt::format(" ({})", last);
  if (jerr != 0) text += fmt::format(" [JetStream error {}]", static_cast<int>(jerr));
  throw NatsError(text);
}

void check(natsStatus s, const std::string &what) {
  if (s != NATS_OK) fail(what, s);
}

constexpr int64_t kNsPerMs = 1000000;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

}  // namespace

void load_credentials(const std::string &path, NatsSettings &into) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{}: cannot read", path));
  std::string line, user, password;
  bool has_user = false, has_password = false;
  for (unsigned n = 1; std::getline(in, line); ++n) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) throw Error(fmt::format("{}:{}: expected KEY = VALUE", path, n));
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    bool &seen = key == "user" ? has_user : has_password;
    if (key != "user" && key != "password")
      throw Error(fmt::format("{}:{}: unknown key (user, password)", path, n));
    if (seen) throw Error(fmt::format("{}:{}: duplicate {}", path, n, key));
    if (value.empty()) throw Error(fmt::format("{}:{}: empty {}", path, n, key));
    seen = true;
    (key == "user" ? user : password) = value;
  }
  if (!has_user || !has_password) throw Error(fmt::format("{}: needs user and password", path));
  into.user = user;
  into.password = password;
}

// cnats calls these on its own threads: they only touch atomics.
struct ConnectionCallbacks {
  static void on_error(natsConnection *, natsSubscription *, natsStatus err, void *closure) {
    if (err == NATS_NOT_PERMITTED)
      static_cast<Connection *>(closure)->permission_errors_.fetch_add(1);
  }
};

Connection::Connection(const NatsSettings &s) : settings_(s) {
  if (s.servers.empty()) throw NatsError("feed: no servers configured");
  natsOptions *opts = nullptr;
  check(natsOptions_Create(&opts), "options");
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> guard(opts, natsOptions_Destroy);
  std::vector<const char *> urls;
  for (const auto &u : s.servers) urls.push_back(u.c_str());
  check(natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size())), "servers");
  if (!s.user.empty())
    check(natsOptions_SetUserInfo(opts, s.user.c_str(), s.password.c_str()), "user");
  check(natsOptions_SetName(opts, s.name.c_str()), "name");
  check(natsOptions_SetTimeout(opts, s.timeout_ms), "timeout");
  check(natsOptions_SetMaxReconnect(opts, -1), "reconnect");
  check(natsOptions_SetReconnectWait(opts, 100), "reconnect wait");
  check(natsOptions_SetPingInterval(opts, 2000), "ping interval");
  check(natsOptions_SetMaxPingsOut(opts, 2), "pings out");
  check(natsOptions_SetErrorHandler(opts, &ConnectionCallbacks::on_error, this), "error handler");
  if (s.tls()) {
    check(natsOptions_SetSecure(opts, true), "tls");
    if (natsStatus st = natsOptions_LoadCATrustedCertificates(opts, s.tls_ca.c_str());
        st != NATS_OK)
      fail(fmt::format("{}: cannot load the CA certificates", s.tls_ca), st);
    if (!s.tls_cert.empty())
      if (natsStatus st =
              natsOptions_LoadCertificatesChain(opts, s.tls_cert.c_str(), s.tls_key.c_str());
          st != NATS_OK)
        fail(fmt::format("{} / {}: cannot load the client certificate and key", s.tls_cert,
                         s.tls_key),
             st);
  }
  if (natsStatus st = natsConnection_Connect(&nc_, opts); st != NATS_OK)
    fail(fmt::format("cannot connect to {}", s.servers.front()), st);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = s.timeout_ms;
  if (natsStatus st = natsConnection_JetStream(&js_, nc_, &jo); st != NATS_OK) {
    natsConnection_Destroy(nc_);
    fail("JetStream context", st);
  }
}

Connection::~Connection() {
  jsCtx_Destroy(js_);
  natsConnection_Destroy(nc_);
}

std::string Connection::connected_url() const {
  char buf[256] = {0};
  if (natsConnection_GetConnectedUrl(nc_, buf, sizeof buf) != NATS_OK) return "";
  return buf;
}

void ensure_stream(Connection &c, const StreamSettings &s) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char *subjects[] = {kStreamSubjects};
  cfg.Name = kStreamName;
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Retention = js_LimitsPolicy;
  cfg.MaxAge = s.max_age_ms * kNsPerMs;
  cfg.MaxMsgSize = static_cast<int32_t>(kMaxMessageBytes);
  cfg.Duplicates = s.duplicate_window_ms * kNsPerMs;
  cfg.Storage = s.memory ? js_MemoryStorage : js_FileStorage;
  cfg.Replicas = s.replicas;
  cfg.Discard = js_DiscardOld;
  jsStreamInfo *si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus st = js_AddStream(&si, c.js(), &cfg, nullptr, &jerr);
  if (st == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return;
  }
  // Already there (JSStreamNameExistErr): it must carry the feed's subjects.
  st = js_GetStreamInfo(&si, c.js(), kStreamName, nullptr, &jerr);
  if (st != NATS_OK) fail("create stream " + std::string(kStreamName), st, jerr);
  const bool same =
      si->Config->SubjectsLen == 1 && std::string(si->Config->Subjects[0]) == kStreamSubjects;
  jsStreamInfo_Destroy(si);
  if (!same)
    throw NatsError(fmt::format("feed: stream {} exists with other subjects", kStreamName));
}

uint64_t stream_messages(Connection &c) {
  jsStreamInfo *si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus st = js_GetStreamInfo(&si, c.js(), kStreamName, nullptr, &jerr);
  if (st != NATS_OK) fail("stream info", st, jerr);
  uint64_t n = si->State.Msgs;
  jsStreamInfo_Destroy(si);
  return n;
}

Publisher::Publisher(Connection &c, std::string participant, KeyPair key)
    : c_(c), participant_(std::move(participant)), key_(key) {
  if (!valid_participant(participant_))
    throw Error(fmt::format("feed: bad participant name '{}'", participant_));
}

uint64_t Publisher::publish(std::vector<Observation> observations, int64_t now_ms,
                            int64_t retry_ms) {
  Batch b;
  b.participant = participant_;
  const auto now_us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  b.seq = std::max(seq_ + 1, now_us);
  b.sent_at_ms = now_ms;
  b.observations = std::move(observations);
  const std::string message = seal(participant_, encode_body(b), key_.secret);
  const std::string msg_id = fmt::format("{}:{}", participant_, b.seq);
  const std::string subject = subject_for(participant_);
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = msg_id.c_str();
  po.ExpectStream = kStreamName;
  po.MaxWait = c_.settings().timeout_ms;
  natsStatus st = NATS_OK;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(retry_ms);
  for (;;) {
    jsPubAck *ack = nullptr;
    st = js_Publish(&ack, c_.js(), subject.c_str(), message.data(),
                    static_cast<int>(message.size()), &po, &jerr);
    jsPubAck_Destroy(ack);
    if (st == NATS_OK) {
      seq_ = b.seq;
      return b.seq;
    }
    if (st == NATS_NOT_PERMITTED || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  fail(fmt::format("publish to {}", subject), st, jerr);
}

void Publisher::publish_raw(const std::string &subject, const std::string &data,
                            const std::string &msg_id) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  if (!msg_id.empty()) po.MsgId = msg_id.c_str();
  po.MaxWait = c_.settings().timeout_ms;
  jsPubAck *ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus st = js_Publish(&ack, c_.js(), subject.c_str(), data.data(),
                             static_cast<int>(data.size()), &po, &jerr);
  jsPubAck_Destroy(ack);
  if (st != NATS_OK) fail(fmt::format("publish to {}", subject), st, jerr);
}

Delivery::Delivery(natsMsg *m) : msg_(m) {}
Delivery::~Delivery() {
  natsMsg_Destroy(msg_);
}
Delivery &Delivery::operator=(Delivery &&o) noexcept {
  if (this != &o) {
    natsMsg_Destroy(msg_);
    msg_ = o.msg_;
    o.msg_ = nullptr;
  }
  return *this;
}

std::string Delivery::subject() const {
  return msg_ ? natsMsg_GetSubject(msg_) : "";
}

std::string_view Delivery::data() const {
  if (!msg_) return {};
  return {natsMsg_GetData(msg_), static_cast<size_t>(natsMsg_GetDataLength(msg_))};
}

int64_t Delivery::stored_ms() const {
  jsMsgMetaData *meta = nullptr;
  if (!msg_ || natsMsg_GetMetaData(&meta, msg_) != NATS_OK) return 0;
  const int64_t ms = meta->Timestamp / kNsPerMs;
  jsMsgMetaData_Destroy(meta);
  return ms;
}

uint64_t Delivery::stream_seq() const {
  jsMsgMetaData *meta = nullptr;
  if (!msg_ || natsMsg_GetMetaData(&meta, msg_) != NATS_OK) return 0;
  const uint64_t s = meta->Sequence.Stream;
  jsMsgMetaData_Destroy(meta);
  return s;
}

void Delivery::ack() {
  if (msg_) natsMsg_Ack(msg_, nullptr);  // a lost ack means a redelivery, refused as a replay
}

Consumer::Consumer(Connection &c, const std::string &participant, int64_t ack_wait_ms) {
  const std::string durable = "sluice-" + participant;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = kStreamName;
  so.ManualAck = true;
  so.Config.Durable = durable.c_str();
  so.Config.AckPolicy = js_AckExplicit;
  so.Config.DeliverPolicy = js_DeliverAll;
  so.Config.AckWait = ack_wait_ms * kNsPerMs;
  so.Config.MaxAckPending = 20000;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus st =
      js_PullSubscribe(&sub_, c.js(), kConsumeFilter, durable.c_str(), nullptr, &so, &jerr);
  if (st != NATS_OK) fail("consumer " + durable, st, jerr);
}

Consumer::~Consumer() {
  natsSubscription_Destroy(sub_);
}

std::vector<Delivery> Consumer::fetch(int max, int64_t timeout_ms) {
  natsMsgList list{nullptr, 0};
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus st = natsSubscription_Fetch(&list, sub_, max, timeout_ms, &jerr);
  std::vector<Delivery> out;
  if (st == NATS_TIMEOUT || st == NATS_CONNECTION_DISCONNECTED || st == NATS_NO_RESPONDERS) {
    natsMsgList_Destroy(&list);
    return out;
  }
  if (st != NATS_OK) {
    natsMsgList_Destroy(&list);
    fail("fetch", st, jerr);
  }
  out.reserve(static_cast<size_t>(list.Count));
  for (int i = 0; i < list.Count; ++i) {
    out.emplace_back(list.Msgs[i]);
    list.Msgs[i] = nullptr;
  }
  natsMsgList_Destroy(&list);
  return out;
}

}  // namespace sluice::feed
