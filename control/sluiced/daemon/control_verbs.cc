// sluiced's control socket and its built-in verbs: help, status, sources list, sources accept.
#include <fmt/format.h>

#include <future>

#include "control_server.h"
#include "daemon_client.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

namespace sluice::sluiced {
namespace {

using nlohmann::json;

// How long the socket's thread waits for the loop to answer one request.
constexpr std::chrono::seconds kLoopAnswerTimeout{30};

json opt_time(const std::optional<WallClock::time_point> &t) {
  return t ? json(unix_s(*t)) : json(nullptr);
}

json source_json(const SourceStatus &s, WallClock::time_point now) {
  json j = {{"name", s.name},
            {"type", s.type},
            {"path", s.path},
            {"state", to_string(s.state)},
            {"entries", s.entries},
            {"live_mtime_unix", opt_time(s.live_mtime)},
            {"last_read_unix", opt_time(s.last_read)},
            {"stale", s.stale},
            {"max_age_s", s.max_age.count() / 1000},
            {"max_shrink", s.max_shrink},
            {"rejections", s.rejections},
            {"last_rejection", s.last_rejection},
            {"last_rejection_unix", opt_time(s.last_rejection_at)}};
  j["age_s"] =
      s.live_mtime
          ? json(std::chrono::duration_cast<std::chrono::seconds>(now - *s.live_mtime).count())
          : json(nullptr);
  return j;
}

}  // namespace

json Daemon::control_counters() const {
  return control_ ? control_->counters_json() : json::object();
}

json Daemon::status_json() const {
  const DaemonStatus s = status();
  const auto now = WallClock::now();
  json j;
  j["table"] = {{"version", fmt::format("{:016x}", s.table.version)},
                {"entries", s.table.entries},
                {"built_unix", opt_time(s.table.built)},
                {"builds", s.table.builds},
                {"contributions", s.table.contributions}};
  json dps = json::array();
  for (const auto &d : s.dataplanes)
    dps.push_back({{"spec", d.spec},
                   {"reachable", d.reachable},
                   {"in_sync", d.in_sync},
                   {"version", fmt::format("{:016x}", d.version)},
                   {"pushes", d.pushes},
                   {"full_loads", d.full_loads},
                   {"failures", d.failures},
                   {"last_push_unix", opt_time(d.last_push)},
                   {"last_push_ms", d.last_push_seconds * 1000},
                   {"last_error", d.last_error},
                   {"policy_generation", d.policy_generation}});
  j["dataplanes"] = dps;
  json srcs = json::array();
  for (const auto &src : s.sources) srcs.push_back(source_json(src, now));
  j["sources"] = srcs;
  json mods = json::object();
  for (const auto &m : modules_)
    if (json ms = m->status(); !ms.is_null()) mods[m->module_name()] = ms;
  if (!mods.empty()) j["modules"] = mods;
  return j;
}

void Daemon::register_builtin_commands() {
  commands_.add("help", "list the verbs of this socket", [this](const json &) {
    json verbs = json::object();
    for (const auto &[v, s] : commands_.verbs()) verbs[v] = s;
    return json{{"verbs", verbs}};
  });
  commands_.add("status", "table, data planes, sources",
                [this](const json &) { return status_json(); });
  commands_.add("sources list", "every source: entries, age, state, last rejection",
                [this](const json &) {
                  const auto now = WallClock::now();
                  json srcs = json::array();
                  for (const auto &s : sources_.status(now)) srcs.push_back(source_json(s, now));
                  return json{{"sources", srcs}};
                });
  commands_.add(
      "sources accept", "read a source once with its guards off (by NAME)",
      [this](const json &req) {
        const std::string name = arg_string(req, "name");
        if (!sources_.has(name))
          throw CommandError("no source named '" + name.substr(0, 200) + "'");
        const auto d = sources_.refresh(name, true, true);
        if (d && !d->accepted()) throw CommandError("source " + name + ": " + d->reason);
        if (sources_.take_changed()) rebuild("sources accept " + name);
        return json{{"name", name}, {"table_version", fmt::format("{:016x}", table_.version())}};
      });
}

json Daemon::handle_request(const json &req) {
  return commands_.handle(req);
}

void Daemon::open_control_socket() {
  dataplane::ControlAccess access;
  access.mode = cfg_.socket_mode;
  access.group = cfg_.socket_group;
  const std::string dir = std::filesystem::path(cfg_.socket).parent_path().string();
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
  }
  auto handler = [this](const json &req, int file_fd) -> json {
    if (file_fd >= 0) throw CommandError("sluiced takes no files over its socket");
    auto done = std::make_shared<std::promise<json>>();
    std::future<json> reply = done->get_future();
    const bool posted = loop_.post([this, req, done] {
      try {
        done->set_value(handle_request(req));
      } catch (...) {
        done->set_exception(std::current_exception());
      }
    });
    if (!posted) throw CommandError("sluiced is shutting down");
    if (reply.wait_for(kLoopAnswerTimeout) != std::future_status::ready)
      throw CommandError("sluiced is busy (no answer within 30 s)");
    try {
      return reply.get();
    } catch (const std::future_error &) {
      throw CommandError("sluiced is shutting down");
    }
  };
  dataplane::ControlLimits limits;
  limits.max_request = control::kMaxDaemonRequest;  // a report mail in base64 (`report arf`)
  control_ = std::make_unique<dataplane::ControlServer>(cfg_.socket, handler, access, limits);
  log_info("control socket " + cfg_.socket);
}

}  // namespace sluice::sluiced
