#include "push/pusher.h"

#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "daemon/log.h"

namespace sluice::sluiced {

ClientFactory default_client_factory(std::chrono::milliseconds timeout) {
  return [timeout](const std::string &spec) {
    control::ConnectOptions o;
    o.timeout = timeout;
    return control::connect_dataplane(spec, o);
  };
}

uint64_t file_hash(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw sluice::Error(path + ": cannot read");
  uint64_t h = 1469598103934665603ull;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 1099511628211ull;
    }
  }
  return h;
}

DataplanePusher::DataplanePusher(std::string spec, ClientFactory factory, PushOptions options)
    : spec_(std::move(spec)), factory_(std::move(factory)), options_(options) {
  status_.spec = spec_;
}

void DataplanePusher::fail(const std::string &error) {
  client_.reset();  // a fresh connection next time: the old one may be mid-frame
  const bool first = status_.last_error != error;
  status_.reachable = false;
  status_.in_sync = false;
  status_.last_error = error;
  ++status_.failures;
  backoff_ =
      backoff_.count() == 0 ? options_.backoff_min : std::min(backoff_ * 2, options_.backoff_max);
  retry_at_ = Clock::now() + backoff_;
  if (first)
    log_warning(fmt::format("dataplane {}: {} (retrying, back-off up to {} ms)", spec_, error,
                            options_.backoff_max.count()));
}

std::optional<PushEvent> DataplanePusher::sync(TableState &table, const PolicyTarget *policy,
                                               bool now_regardless) {
  if (!now_regardless && backing_off()) return std::nullopt;
  PushEvent ev;
  ev.dataplane = spec_;
  const auto t0 = Clock::now();
  try {
    if (!client_) client_ = factory_(spec_);
    const control::RunningVersions running = client_->versions();
    const bool was_down = !status_.reachable && status_.failures > 0;
    status_.reachable = true;
    status_.version = running.table_version;
    if (was_down) log_notice("dataplane " + spec_ + ": reachable again");

    // Policy first: a table is only as useful as the thresholds that read it.
    if (policy && !policy->path.empty()) {
      const bool restarted = running.policy_generation != status_.policy_generation;
      if (restarted || policy->hash != policy_hash_) {
        status_.policy_generation = client_->set_policy(policy->path);
        policy_hash_ = policy->hash;
        log_info(fmt::format("dataplane {}: policy {} set (generation {})", spec_, policy->path,
                             status_.policy_generation));
      }
    }

    if (!table.has_table()) {
      backoff_ = std::chrono::milliseconds(0);
      retry_at_ = {};
      status_.last_error.clear();
      return std::nullopt;
    }
    const uint64_t want = table.version();
    if (running.table_version == want) {
      status_.in_sync = true;
      backoff_ = std::chrono::milliseconds(0);
      retry_at_ = {};
      status_.last_error.clear();
      return std::nullopt;
    }
    status_.in_sync = false;
    std::optional<std::string> delta;
    if (running.table_version != 0) delta = table.delta_file_from(running.table_version);
    control::TableChange change;
    if (delta) {
      change = client_->apply_delta(*delta);
      ev.full = false;
    } else {
      change = client_->load_table(table.snapshot_file());
      ev.full = true;
      ++status_.full_loads;
      log_info(fmt::format("dataplane {}: full load of table {:016x} ({} entries; it ran {})",
                           spec_, want, table.entries(),
                           running.table_version ? fmt::format("{:016x}", running.table_version)
                                                 : std::string("no table")));
    }
    if (!change.note.empty()) log_warning("dataplane " + spec_ + ": " + change.note);
    ev.ok = true;
    ev.version = want;
    ev.changes = change.entries;
    status_.version = want;
    status_.in_sync = true;
    ++status_.pushes;
    status_.last_push = WallClock::now();
    status_.last_error.clear();
    backoff_ = std::chrono::milliseconds(0);
    retry_at_ = {};
  } catch (const std::exception &e) {
    ev.ok = false;
    ev.error = e.what();
    fail(e.what());
  }
  ev.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (ev.ok) status_.last_push_seconds = ev.seconds;
  return ev;
}

nlohmann::json DataplanePusher::saved_state() const {
  return {{"policy_generation", status_.policy_generation}, {"policy_hash", policy_hash_}};
}

void DataplanePusher::restore_state(const nlohmann::json &j) {
  if (!j.is_object()) return;
  if (j.contains("policy_generation") && j["policy_generation"].is_number_unsigned())
    status_.policy_generation = j["policy_generation"].get<uint32_t>();
  if (j.contains("policy_hash") && j["policy_hash"].is_number_unsigned())
    policy_hash_ = j["policy_hash"].get<uint64_t>();
}

}  // namespace sluice::sluiced
