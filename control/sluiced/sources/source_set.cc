#include "sources/source_set.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/log.h"
#include "sluice/reputation/error.h"

namespace sluice::sluiced {
namespace rep = sluice::reputation;
namespace fs = std::filesystem;

size_t entry_count(const rep::ParsedSource &p) {
  return p.v4.size() + p.v6.size();
}

namespace {

// A source name as a file name: [A-Za-z0-9_-] and inner dots kept, everything else %XX.
std::string file_name_for(const std::string &name) {
  std::string out;
  for (const unsigned char c : name) {
    if (std::isalnum(c) || c == '_' || c == '-' || (c == '.' && !out.empty()))
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string replace_all(std::string s, const std::string &from, const std::string &to) {
  if (from.empty()) return s;
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

WallClock::time_point from_ns(int64_t ns) {
  return WallClock::time_point(
      std::chrono::duration_cast<WallClock::duration>(std::chrono::nanoseconds(ns)));
}

FileIdentity identity_of(const struct stat &st) {
  return {st.st_dev, st.st_ino, st.st_size,
          int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
}

// The settings that change what a file parses to.
nlohmann::json settings_of(const rep::SourceConfig &c) {
  nlohmann::json codes = nlohmann::json::object();
  for (const auto &[code, w] : c.code_weights) codes[std::to_string(code)] = w;
  return {{"type", std::string(rep::to_string(c.type))},
          {"path", c.path},
          {"weight", c.weight},
          {"allow", c.allow},
          {"codes", codes},
          {"max_malformed", c.max_malformed}};
}

// One copy of `from` to `to` (created 0600, truncated): the identity of the file read before
// and after, and the bytes copied. Throws sluice::Error.
struct CopyPass {
  FileIdentity before, after;
  uint64_t bytes = 0;
};
CopyPass copy_once(const std::string &from, const std::string &to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (in < 0) throw sluice::Error(from + ": cannot read: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(in);
    throw sluice::Error(from + ": not a regular file");
  }
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0) {
    const int e = errno;
    ::close(in);
    throw sluice::Error(to + ": cannot write: " + std::strerror(e));
  }
  std::vector<char> buf(1 << 20);
  CopyPass pass;
  pass.before = identity_of(st);
  for (;;) {
    const ssize_t r = ::read(in, buf.data(), buf.size());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int e = errno;
      ::close(in);
      ::close(out);
      throw sluice::Error(from + ": read error: " + std::strerror(e));
    }
    if (r == 0) break;
    for (ssize_t done = 0; done < r;) {
      const ssize_t w = ::write(out, buf.data() + done, static_cast<size_t>(r - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        const int e = errno;
        ::close(in);
        ::close(out);
        throw sluice::Error(to + ": write error: " + std::strerror(e));
      }
      done += w;
    }
    pass.bytes += static_cast<uint64_t>(r);
  }
  struct stat end {};
  const int stat_rc = ::fstat(in, &end);
  ::close(in);
  if (::close(out) != 0) throw sluice::Error(to + ": write error: " + std::strerror(errno));
  pass.after = stat_rc == 0 ? identity_of(end) : FileIdentity{};
  return pass;
}

// Copies `from` to `to` and returns the identity of the file read. A file written in place while
// it is copied (its size or time changed during the read, or it read as more or fewer bytes than
// its size) is copied again, up to three times, and then refused: a copy taken mid-write could
// parse as a shorter list and go live. A list replaced by rename needs none of this (the open
// file stays the old one). Throws sluice::Error.
FileIdentity copy_file(const std::string &from, const std::string &to) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const CopyPass p = copy_once(from, to);
    if (p.after == p.before && p.bytes == static_cast<uint64_t>(p.before.size)) return p.before;
  }
  throw sluice::Error(from +
                      ": changed while it was read, three times in a row (or does not read as "
                      "the size it says); read again at its next change");
}

}  // namespace

SourceSet::SourceSet(const SluicedConfig &cfg) : cfg_(cfg) {}

std::string SourceSet::store_path(const std::string &name, const char *suffix) const {
  return cfg_.state_dir + "/sources/" + file_name_for(name) + suffix;
}

bool SourceSet::load_config() {
  std::vector<rep::SourceConfig> configs;
  if (!cfg_.sources.empty()) configs = rep::load_sources_file(cfg_.sources).sources;
  fs::create_directories(cfg_.state_dir + "/sources");
  bool changed = false;
  std::vector<std::string> order;
  std::map<std::string, State> next;
  for (auto &c : configs) {
    order.push_back(c.name);
    auto old = states_.find(c.name);
    if (old != states_.end() && settings_of(old->second.config) == settings_of(c)) {
      next.emplace(c.name, std::move(old->second));
      continue;
    }
    changed = true;
    State st;
    st.config = std::move(c);
    restore(st);
    next.emplace(st.config.name, std::move(st));
  }
  if (order != order_) changed = true;
  for (const auto &[name, st] : states_)
    if (!next.count(name)) log_notice("source " + name + ": removed from " + cfg_.sources);
  for (const auto &[name, g] : cfg_.per_source)
    if (!next.count(name))
      log_warning(cfg_.config_path + ": [source." + name + "] names no source of " +
                  (cfg_.sources.empty() ? std::string("the (unset) sources file") : cfg_.sources));
  order_ = std::move(order);
  states_ = std::move(next);
  changed_ = changed_ || changed;
  return changed;
}

void SourceSet::restore(State &st) {
  const std::string good = store_path(st.config.name, ".good");
  const std::string meta = store_path(st.config.name, ".meta");
  std::ifstream m(meta);
  if (!m) return;
  try {
    const nlohmann::json j = nlohmann::json::parse(m);
    if (j.at("settings") != settings_of(st.config)) return;  // made for other settings
    rep::SourceConfig c = st.config;
    c.path = good;
    c.allow_empty = true;  // a last good version may be an accepted empty one
    st.parsed = std::make_shared<const rep::ParsedSource>(rep::parse_source(c));
    st.live_mtime = from_ns(j.at("mtime_ns").get<int64_t>());
    log_info(fmt::format("source {}: restored its last good version ({} entries) from {}",
                         st.config.name, entry_count(*st.parsed), good));
  } catch (const std::exception &e) {
    log_warning("source " + st.config.name + ": cannot restore " + good + ": " + e.what());
    st.parsed.reset();
    st.live_mtime.reset();
  }
}

GuardDecision SourceSet::read(State &st, bool accept_once) {
  const std::string fresh = store_path(st.config.name, ".new");
  const std::string good = store_path(st.config.name, ".good");
  const auto now = WallClock::now();
  st.read_at = now;
  GuardInput in;
  in.max_shrink = cfg_.max_shrink_for(st.config.name);
  in.force = accept_once;
  if (st.parsed) in.live_entries = entry_count(*st.parsed);
  std::shared_ptr<const rep::ParsedSource> parsed;
  FileIdentity id{};
  try {
    id = copy_file(st.config.path, fresh);
    st.last_read = id;
    rep::SourceConfig c = st.config;
    c.path = fresh;
    // An empty version is the guard's to judge (kEmpty, and `sources accept` may pass it once),
    // not the reader's: read it as zero entries. A truncated or corrupt one still throws.
    c.allow_empty = true;
    rep::ParsedSource p = rep::parse_source(c);
    for (auto &problem : p.problems) problem = replace_all(problem, fresh, st.config.path);
    parsed = std::make_shared<const rep::ParsedSource>(std::move(p));
    in.new_entries = entry_count(*parsed);
  } catch (const std::exception &e) {
    in.parse_error = replace_all(e.what(), fresh, st.config.path);
  }
  GuardDecision d = judge(in);
  SourceEvent ev;
  ev.name = st.config.name;
  ev.entries = in.new_entries.value_or(0);
  if (!d.accepted()) {
    ::unlink(fresh.c_str());
    ++st.rejections;
    st.rejected = true;
    st.last_rejection = d.reason;
    st.rejected_at = now;
    log_warning("source " + st.config.name + ": " + st.config.path + " refused, " + d.reason +
                (st.parsed ? fmt::format("; its last good version ({} entries) stays live",
                                         entry_count(*st.parsed))
                           : std::string("; it has no good version and contributes nothing")));
    ev.reason = d.reason;
    if (on_event) on_event(ev);
    return d;
  }
  // Accepted: the copy becomes the last good version, its metadata says what it was made from.
  std::error_code ec;
  fs::rename(fresh, good, ec);
  if (ec) log_warning("source " + st.config.name + ": cannot keep " + good + ": " + ec.message());
  const nlohmann::json meta = {{"settings", settings_of(st.config)},
                               {"mtime_ns", id.mtime_ns},
                               {"entries", in.new_entries.value_or(0)}};
  const std::string meta_path = store_path(st.config.name, ".meta");
  {
    std::ofstream m(meta_path + ".tmp", std::ios::trunc);
    m << meta.dump() << "\n";
  }
  fs::rename(meta_path + ".tmp", meta_path, ec);
  st.parsed = std::move(parsed);
  st.live_mtime = from_ns(id.mtime_ns);
  st.rejected = false;
  changed_ = true;
  const size_t n = entry_count(*st.parsed);
  log_info(fmt::format("source {}: {} accepted{}, {} entries{}", st.config.name, st.config.path,
                       accept_once ? " by sources accept (guards off)" : "", n,
                       st.parsed->malformed()
                           ? fmt::format(", {} malformed lines skipped", st.parsed->malformed())
                           : std::string()));
  ev.accepted = true;
  ev.forced = accept_once;
  if (on_event) on_event(ev);
  return d;
}

std::optional<GuardDecision> SourceSet::refresh(const std::string &name, bool force,
                                                bool accept_once) {
  State &st = states_.at(name);
  if (!force && !accept_once && st.last_read) {
    struct stat s {};
    if (::stat(st.config.path.c_str(), &s) == 0 && identity_of(s) == *st.last_read)
      return std::nullopt;
  }
  return read(st, accept_once);
}

bool SourceSet::refresh_all(bool force) {
  for (const auto &name : order_) refresh(name, force);
  return changed_;
}

bool SourceSet::take_changed() {
  const bool c = changed_;
  changed_ = false;
  return c;
}

std::vector<std::string> SourceSet::list_paths() const {
  std::set<std::string> paths;
  for (const auto &[name, st] : states_) paths.insert(st.config.path);
  return {paths.begin(), paths.end()};
}

std::vector<std::string> SourceSet::sources_at(const std::string &path) const {
  std::vector<std::string> out;
  for (const auto &name : order_)
    if (states_.at(name).config.path == path) out.push_back(name);
  return out;
}

std::vector<SourceSet::Live> SourceSet::live() const {
  std::vector<Live> out;
  for (const auto &name : order_) {
    const State &st = states_.at(name);
    out.push_back({&st.config, st.parsed});
  }
  return out;
}

const char *to_string(SourceState s) {
  switch (s) {
    case SourceState::kOk:
      return "ok";
    case SourceState::kRejected:
      return "rejected";
    case SourceState::kMissing:
      return "missing";
  }
  return "?";
}

std::vector<SourceStatus> SourceSet::status(WallClock::time_point now) const {
  std::vector<SourceStatus> out;
  for (const auto &name : order_) {
    const State &st = states_.at(name);
    SourceStatus s;
    s.name = name;
    s.type = std::string(rep::to_string(st.config.type));
    s.path = st.config.path;
    s.state = !st.parsed ? SourceState::kMissing
                         : (st.rejected ? SourceState::kRejected : SourceState::kOk);
    s.entries = st.parsed ? entry_count(*st.parsed) : 0;
    s.live_mtime = st.live_mtime;
    s.last_read = st.read_at;
    s.max_age = cfg_.max_age_for(name);
    s.max_shrink = cfg_.max_shrink_for(name);
    s.stale = s.max_age.count() > 0 && (!st.live_mtime || now - *st.live_mtime > s.max_age);
    s.rejections = st.rejections;
    s.last_rejection = st.last_rejection;
    s.last_rejection_at = st.rejected_at;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace sluice::sluiced
